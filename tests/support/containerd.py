"""A private containerd for the test session, reached the way the kubelet reaches it.

containerd runs with its own config (root, state and the gRPC socket in a temporary
directory, the CRI plugin without cgroups on the native snapshotter) and a `certs.d` host
entry that sends the live registry's host to plain HTTP. Two clients use it:

- `pull_image`: the CRI call `runtime.v1.ImageService/PullImage`, as the kubelet makes it
  for a pod with an imagePullSecret: an `AuthConfig` with the secret's username and
  password (the kubelet's keyring sets no server_address for them; containerd 1.6 would
  reject a schemeless one such as `127.0.0.1:PORT` with "parse server address");
- `ctr`: containerd's own CLI.

The CRI messages are hand-encoded protobuf instead of code generated from a .proto: the
request is three nested messages of string fields and the answer one string, so a few
lines of the wire format replace grpcio-tools and a generated module. Field numbers are
those of kubernetes/cri-api `pkg/apis/runtime/v1/api.proto`:

    PullImageRequest  { ImageSpec image = 1; AuthConfig auth = 2; PodSandboxConfig sandbox_config = 3; }
    ImageSpec         { string image = 1; ... }
    AuthConfig        { string username = 1; string password = 2; string auth = 3;
                        string server_address = 4; ... }
    PullImageResponse { string image_ref = 1; }
"""  # noqa: E501

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

PULL_IMAGE = "/runtime.v1.ImageService/PullImage"


# --- protobuf wire format: length-delimited fields (wire type 2) only --------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def pull_image_request(image: str, username: str, password: str) -> bytes:
    spec = _field(1, image)  # ImageSpec.image
    auth = _field(1, username) + _field(2, password)  # AuthConfig.username, .password
    return _field(1, spec) + _field(2, auth)  # no sandbox_config: the kubelet's is optional


def string_fields(message: bytes) -> dict[int, str]:
    """The length-delimited fields of a message, as strings (PullImageResponse has one)."""
    fields, at = {}, 0
    while at < len(message):
        key, at = _read_varint(message, at)
        if key & 7 != 2:
            raise ValueError(f"unexpected wire type {key & 7} in {message!r}")
        size, at = _read_varint(message, at)
        fields[key >> 3] = message[at : at + size].decode()
        at += size
    return fields


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


# --- the daemon -----------------------------------------------------------------------------


CONFIG = """\
version = 2
root = "{dir}/root"
state = "{dir}/state"
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]

[grpc]
  address = "{dir}/containerd.sock"

[ttrpc]
  address = "{dir}/containerd.sock.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "{dir}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  disable_cgroup = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{dir}/cni/bin"
    conf_dir = "{dir}/cni/conf"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{dir}/certs.d"
"""

HOSTS_TOML = """\
server = "http://{host}"

[host."http://{host}"]
  capabilities = ["pull", "resolve", "push"]
"""


class Containerd:
    def __init__(self, containerd: str, ctr: str, registry_host: str):
        self.ctr_path = ctr
        self.dir = Path(tempfile.mkdtemp(prefix="distr-containerd-"))
        self.socket = self.dir / "containerd.sock"
        self.log_path = self.dir / "containerd.log"
        hosts = self.dir / "certs.d" / registry_host / "hosts.toml"
        hosts.parent.mkdir(parents=True)
        hosts.write_text(HOSTS_TOML.format(host=registry_host))
        config = self.dir / "config.toml"
        config.write_text(CONFIG.format(dir=self.dir))
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [containerd, "--config", str(config)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._channel = None
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def _wait_ready(self, timeout: float = 30) -> None:
        """Ready when ctr answers and the CRI plugin has registered (it logs a line)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"containerd exited {self.process.returncode}:\n{self.log_tail()}"
                )
            if self.socket.exists() and self.ctr("version", check=False).returncode == 0:
                if "containerd successfully booted" in self.log_tail(100_000):
                    return
            time.sleep(0.2)
        raise RuntimeError(f"containerd not ready after {timeout} s:\n{self.log_tail()}")

    def ctr(self, *args: str, check: bool = True, timeout: float = 120):
        result = subprocess.run(
            [self.ctr_path, "--address", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"ctr {' '.join(args)} exit {result.returncode}:\n{result.stdout}{result.stderr}"
            )
        return result

    def pull_image(self, image: str, username: str, password: str) -> str:
        """The kubelet's CRI PullImage with an imagePullSecret's credentials; the image_ref
        containerd answers. A refusal raises grpc.RpcError."""
        import grpc

        if self._channel is None:
            self._channel = grpc.insecure_channel(f"unix://{self.socket}")
        call = self._channel.unary_unary(PULL_IMAGE)  # bytes in, bytes out
        request = pull_image_request(image, username, password)
        answer = call(request, timeout=120)
        return string_fields(answer).get(1, "")

    def stop(self) -> None:
        if self._channel is not None:
            self._channel.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # anything it left in its group
        except ProcessLookupError:
            pass
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
