"""Run Debian's skopeo against a plain-HTTP registry on loopback."""

import base64
import json
import os
import shutil
import subprocess
import tempfile

from tests.support.requirements import require_command

SKOPEO = shutil.which("skopeo")


# {registry host: (user, secret)} written to the auth file of every run; the
# `live_credentials` fixture puts the live registry's push token here.
default_auth: dict[str, tuple[str, str]] = {}


def skopeo(
    *args: str, timeout: float = 600, auth: dict | None = None
) -> subprocess.CompletedProcess:
    """Run skopeo with an isolated blob-info cache and policy, so earlier runs on this
    machine cannot make it reuse or mount blobs instead of uploading them."""
    require_command("skopeo")
    home = tempfile.mkdtemp(prefix="skopeo-home-")
    policy = os.path.join(home, "policy.json")
    with open(policy, "w") as handle:
        json.dump({"default": [{"type": "insecureAcceptAnything"}]}, handle)
    env = {
        **os.environ,
        "HOME": home,
        "XDG_RUNTIME_DIR": home,
        "REGISTRY_AUTH_FILE": os.path.join(home, "auth.json"),
    }
    auth_file = os.path.join(home, "auth.json")
    entries = default_auth if auth is None else auth
    with open(auth_file, "w") as handle:
        json.dump(
            {
                "auths": {
                    host: {"auth": base64.b64encode(f"{user}:{secret}".encode()).decode()}
                    for host, (user, secret) in entries.items()
                }
            },
            handle,
        )
    command = [SKOPEO, "--policy", policy, *args]
    # --registries-conf / blob cache: a per-run cache directory via TMPDIR and HOME.
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    shutil.rmtree(home, ignore_errors=True)
    if result.returncode != 0:
        raise AssertionError(f"skopeo {' '.join(args)} failed:\n{result.stderr}")
    return result
