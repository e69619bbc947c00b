"""Run Debian's skopeo against a plain-HTTP registry on loopback."""

import json
import os
import shutil
import subprocess
import tempfile

SKOPEO = shutil.which("skopeo")


def skopeo(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run skopeo with an isolated blob-info cache and policy, so earlier runs on this
    machine cannot make it reuse or mount blobs instead of uploading them."""
    if SKOPEO is None:
        raise RuntimeError("skopeo is not installed (apt-get install skopeo; .ci/run does)")
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
    command = [SKOPEO, "--policy", policy, *args]
    # --registries-conf / blob cache: a per-run cache directory via TMPDIR and HOME.
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    shutil.rmtree(home, ignore_errors=True)
    if result.returncode != 0:
        raise AssertionError(f"skopeo {' '.join(args)} failed:\n{result.stderr}")
    return result
