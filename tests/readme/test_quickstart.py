"""The README's Quickstart, run as written: `make run` in one process, then the rest of
the block, in order, in a shell in another directory that holds `myimage.tar`.

The only edits are the ones a reader makes: the token `make run` printed is pasted in, and
the port is a free one instead of 8000 (exported as PORT, as the README allows)."""

import os
import re
import shutil
import signal
import subprocess
import time

from tests.support.oci_layout import image_layout
from tests.support.requirements import require_command
from tests.support.server import ROOT, free_port

README = ROOT / "README.md"


def quickstart_block() -> list[str]:
    text = README.read_text()
    section = text[text.index("## Quickstart") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return block.splitlines()


def test_quickstart_block_runs_as_written(tmp_path):
    skopeo = require_command("skopeo")
    lines = quickstart_block()
    assert lines[0].split("#")[0].strip() == "make run"
    assert lines[1].startswith("export TOKEN=distr_push_…")
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DISTR_PUBLIC_URL")
    }
    env.update({"PORT": str(port), "DATA_DIR": str(tmp_path / "data")})

    # ./myimage.tar: an image saved as a docker archive, next to a checkout's .venv and manage.py
    work = tmp_path / "work"
    work.mkdir()
    layout = image_layout(tmp_path / "layout", [2048, 4096], tag="1.0")
    subprocess.run(
        [skopeo, "copy", "--insecure-policy", f"oci:{layout.path}:1.0",
         f"docker-archive:{work / 'myimage.tar'}:myimage:1.0"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    (work / ".venv").symlink_to(ROOT / ".venv")
    (work / "manage.py").symlink_to(ROOT / "manage.py")

    server = subprocess.Popen(
        ["make", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    try:
        token = _printed_token(server)
        script = "\n".join(
            ["set -euo pipefail", f"export TOKEN={token}"]
            + [line.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for line in lines[2:]]
        )
        result = subprocess.run(
            ["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        assert '"1.0"' in result.stdout  # list-tags
        index = (work / "pulled" / "index.json").read_text()
        assert '"org.opencontainers.image.ref.name":"1.0"' in index.replace(" ", "")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(tmp_path, ignore_errors=True)


def _printed_token(server: subprocess.Popen, timeout: float = 180) -> str:
    """The push token `make run` prints before it starts serving; then wait until it serves."""
    deadline = time.monotonic() + timeout
    token = None
    for line in server.stdout:
        match = re.fullmatch(r"\s*(distr_push_\w+)\s*", line)
        if match:
            token = match.group(1)
        if token and "Booting worker" in line:
            time.sleep(1)
            return token
        assert time.monotonic() < deadline, "make run did not start serving"
    raise AssertionError(f"make run exited: {server.wait()}")
