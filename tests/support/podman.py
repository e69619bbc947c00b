"""podman for the test session: no daemon, its storage (vfs) and runtime state in a
temporary directory, cgroupfs and file events so it needs neither systemd nor journald.
Each test gets its own REGISTRY_AUTH_FILE. podman 4.3 does not treat 127.0.0.1 as an
insecure registry, so registry commands pass --tls-verify=false."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

RUN_DIRS = [Path("/run/containers/networks"), Path("/run/containers")]  # innermost first


class Podman:
    def __init__(self, podman: str):
        self.podman = podman
        self.dir = Path(tempfile.mkdtemp(prefix="distr-podman-"))
        (self.dir / "tmp").mkdir()
        # podman 4.3 creates netavark's run directory there whatever the flags say.
        self._stray_dirs = [p for p in RUN_DIRS if not p.exists()]
        self.global_flags = [
            "--root", str(self.dir / "root"),
            "--runroot", str(self.dir / "runroot"),
            "--tmpdir", str(self.dir / "libpod"),
            "--network-config-dir", str(self.dir / "networks"),
            "--storage-driver=vfs",
            "--cgroup-manager=cgroupfs",
            "--events-backend=file",
        ]  # fmt: skip

    def stop(self) -> None:
        """Nothing runs between commands; `system reset` would be slower than rmtree."""
        shutil.rmtree(self.dir, ignore_errors=True)
        for path in self._stray_dirs:  # only if this session made them and left them empty
            try:
                path.rmdir()
            except OSError:
                pass


class PodmanCLI:
    """podman with one auth file (the test's logins); every command's output is kept."""

    def __init__(self, podman: Podman, auth_file: Path):
        self.podman = podman
        self.auth_file = auth_file
        self.transcript: list[str] = []

    def run(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "REGISTRY_AUTH_FILE": str(self.auth_file),
            "TMPDIR": str(self.podman.dir / "tmp"),
        }
        result = subprocess.run(
            [self.podman.podman, *self.podman.global_flags, *args],
            env=env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        output = f"$ podman {' '.join(args)}\n{result.stdout}{result.stderr}"
        self.transcript.append(output)
        if check and result.returncode != 0:
            raise AssertionError(f"exit {result.returncode}\n{output}")
        return result

    def login(self, host: str, user: str, secret: str) -> subprocess.CompletedProcess:
        return self.run(
            "login", "--tls-verify=false", "-u", user, "--password-stdin", host, input=secret
        )
