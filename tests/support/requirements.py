"""One skip policy for tests that need a real client or service (skopeo, kubectl, nginx,
chromium, the container engines, PostgreSQL, Redis).

A missing one skips the test locally, with the reason and how to get it; under CI
(`CI=true`), where .ci/run installs and starts them all, it fails the test instead, so a
broken CI image cannot pass by skipping.

    require_command("skopeo")                      # in a test or fixture: the path
    @pytest.mark.requires_command("skopeo")        # on a test, class or module
    require(postgres_available(), "PostgreSQL on 127.0.0.1:5432")
"""

import os
import shutil
from typing import NoReturn

import pytest

# How to get each command on Debian; what .ci/run installs.
INSTALL = {
    "skopeo": "apt-get install skopeo",
    "kubectl": "kubectl from the Kubernetes apt repository",
    "nginx": "apt-get install nginx",
    "chromium": "apt-get install chromium",
    "dockerd": "apt-get install docker.io",
    "docker": "apt-get install docker.io",
    "containerd": "apt-get install containerd runc",
    "ctr": "apt-get install containerd runc",
    "podman": "apt-get install podman",
}


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def missing(reason: str) -> NoReturn:
    """Skip with `reason` locally; fail under CI, which must have everything."""
    if in_ci():
        pytest.fail(f"{reason}; CI must have it (.ci/run provides it)", pytrace=False)
    pytest.skip(reason)


def require(available: bool, what: str) -> None:
    """`what` (a service, described for a human) must be available."""
    if not available:
        missing(f"{what} is not available")


def require_command(name: str, *paths: str) -> str:
    """The path of command `name` (on PATH, else the first of `paths` that exists)."""
    found = shutil.which(name) or next((p for p in paths if os.path.exists(p)), None)
    if found:
        return found
    hint = INSTALL.get(name)
    missing(f"{name} is not installed" + (f" ({hint})" if hint else ""))


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers",
        "requires_command(name): the test needs command `name` (tests/support/requirements.py)",
    )


def pytest_runtest_setup(item) -> None:
    for marker in item.iter_markers("requires_command"):
        require_command(*marker.args)
