"""A private Docker engine for the test session: Debian's dockerd on a unix socket in a
temporary directory, without iptables, bridge or overlayfs (vfs), trusting the live
registry's plain-HTTP port. The `docker` CLI reaches it through DOCKER_HOST, with a
DOCKER_CONFIG of its own per test (so logins never leak between tests)."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path


class DockerEngine:
    def __init__(self, dockerd: str, docker: str, insecure_registry: str):
        self.docker = docker
        self.dir = Path(tempfile.mkdtemp(prefix="distr-dockerd-"))
        self.socket = self.dir / "docker.sock"
        self.log_path = self.dir / "dockerd.log"
        config = self.dir / "daemon.json"
        config.write_text("{}")  # so /etc/docker/daemon.json is never read
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                dockerd,
                "--config-file",
                str(config),
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
                "--storage-driver=vfs",
                "--data-root",
                str(self.dir / "data"),
                "--exec-root",
                str(self.dir / "exec"),
                "-H",
                f"unix://{self.socket}",
                "--pidfile",
                str(self.dir / "dockerd.pid"),
                "--insecure-registry",
                insecure_registry,
            ],  # fmt: skip
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its managed containerd shares the group: stopped with it
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": f"unix://{self.socket}"}

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dockerd exited {self.process.returncode}:\n{self.log_tail()}")
            probe = subprocess.run(
                [self.docker, "version"], env=self.env, capture_output=True, timeout=10
            )
            if probe.returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"dockerd not ready after {timeout} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM, wait, then SIGKILL what is left of its process group; remove the dir."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # a managed containerd left behind
        except ProcessLookupError:
            pass
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class DockerCLI:
    """The docker CLI with its own DOCKER_CONFIG; every command's output is kept."""

    def __init__(self, engine: DockerEngine, config_dir: Path, forbidden: tuple[str, ...] = ()):
        self.engine = engine
        self.config_dir = config_dir
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "config.json").write_text(json.dumps({"auths": {}}))
        self.forbidden = forbidden
        self.transcript: list[str] = []

    def run(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        """Run `docker ARGS`; with `check` a non-zero exit fails the test with the output.
        Any `forbidden` text in the output (stdout or stderr) fails it in every case."""
        result = subprocess.run(
            [self.engine.docker, *args],
            env={**self.engine.env, "DOCKER_CONFIG": str(self.config_dir)},
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        output = f"$ docker {' '.join(args)}\n{result.stdout}{result.stderr}"
        self.transcript.append(output)
        for text in self.forbidden:
            assert text not in result.stdout + result.stderr, output
        if check and result.returncode != 0:
            raise AssertionError(f"exit {result.returncode}\n{output}")
        return result

    def login(self, host: str, user: str, secret: str) -> subprocess.CompletedProcess:
        return self.run("login", host, "-u", user, "--password-stdin", input=secret)
