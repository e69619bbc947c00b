"""Offline verification: `manage.py kit build` writes the kit; with the published public
key both `openssl pkeyutl -verify` (Ed25519, OpenSSL 3) and Python `cryptography` verify
kit.json.sig; one flipped byte in a blob fails SHA256SUMS; an edited kit.json fails the
signature (`manage.py kit verify` and openssl alike)."""

import hashlib
import io
import json
import subprocess
import tarfile

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.core.management import CommandError, call_command

from customers.models import AuditEvent
from signing.selectors import key_public_view, verification_key
from tests.support.requirements import require_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def kit_file(tmp_path, vendor, customer, license):
    path = tmp_path / "kit.tar"
    call_command("kit", "build", "acme", "globex", "-o", str(path))
    return path


def extract(path, tmp_path, *names):
    with tarfile.open(path) as archive:
        for name in names:
            (tmp_path / name).write_bytes(archive.extractfile(name).read())


def public_pem(vendor, path) -> str:
    described = json.loads(path.read_bytes())
    key = verification_key(vendor=vendor, kid=described["signature"]["kid"])
    return key_public_view(key)["pem"]


def openssl_verify(tmp_path, pem: str) -> subprocess.CompletedProcess:
    (tmp_path / "key.pem").write_text(pem)
    return subprocess.run(
        [
            require_command("openssl"),
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            str(tmp_path / "key.pem"),
            "-rawin",
            "-in",
            str(tmp_path / "kit.json"),
            "-sigfile",
            str(tmp_path / "kit.json.sig"),
        ],  # fmt: skip
        capture_output=True,
        text=True,
    )


def test_openssl_and_cryptography_verify_the_signature(kit_file, tmp_path, vendor, capsys):
    extract(kit_file, tmp_path, "kit.json", "kit.json.sig")
    pem = public_pem(vendor, tmp_path / "kit.json")
    result = openssl_verify(tmp_path, pem)
    assert result.returncode == 0, result.stderr
    assert "Signature Verified Successfully" in result.stdout
    load_pem_public_key(pem.encode()).verify(
        (tmp_path / "kit.json.sig").read_bytes(), (tmp_path / "kit.json").read_bytes()
    )
    call_command("kit", "verify", str(kit_file))
    assert "verifies: SHA256SUMS and signature" in capsys.readouterr().out
    event = AuditEvent.objects.get(action=AuditEvent.Action.KIT_CREATED)
    assert event.actor == "command:kit"


def rewrite(path, out, change):
    """Copy the tar member by member, passing each member's bytes through `change`."""
    with tarfile.open(path) as source, tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as dest:
        for member in source:
            data = source.extractfile(member).read() if member.isfile() else None
            if data is not None:
                data = change(member.name, data)
                member.size = len(data)
                dest.addfile(member, io.BytesIO(data))
            else:
                dest.addfile(member)


def test_a_flipped_byte_in_a_blob_fails_sha256sums(kit_file, tmp_path):
    flipped = []

    def flip(name, data):
        if name.startswith("blobs/") and len(data) > 100 and not flipped:
            flipped.append(name)
            return data[:50] + bytes([data[50] ^ 1]) + data[51:]
        return data

    rewrite(kit_file, tmp_path / "bad.tar", flip)
    with pytest.raises(CommandError, match=f"{flipped[0]}: does not match SHA256SUMS"):
        call_command("kit", "verify", str(tmp_path / "bad.tar"))
    # import.sh refuses it too, before copying anything.
    extract(tmp_path / "bad.tar", tmp_path, "import.sh")
    result = subprocess.run(
        ["sh", str(tmp_path / "import.sh"), str(tmp_path / "bad.tar"), "127.0.0.1:1"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "KIT_WORKDIR": str(tmp_path / "work"), "SKOPEO": "false"},
    )
    assert result.returncode == 2
    assert "SHA256SUMS does not match: this kit is damaged; download it again" in result.stderr


def test_an_edited_kit_json_fails_the_signature(kit_file, tmp_path, vendor):
    def edit(name, data):
        if name == "kit.json":
            return data.replace(b'"kind":"full"', b'"kind":"fule"')
        return data

    rewrite(kit_file, tmp_path / "edited.tar", edit)

    # SHA256SUMS would catch it first; an attacker would rewrite that too:
    def edit_and_resum(name, data):
        data = edit(name, data)
        if name == "SHA256SUMS":
            with tarfile.open(tmp_path / "edited.tar") as archive:
                new = hashlib.sha256(archive.extractfile("kit.json").read()).hexdigest()
            lines = [
                f"{new}  kit.json" if line.endswith("  kit.json") else line
                for line in data.decode().splitlines()
            ]
            return ("\n".join(lines) + "\n").encode()
        return data

    rewrite(kit_file, tmp_path / "forged.tar", edit_and_resum)
    with pytest.raises(CommandError, match="kit.json: does not match SHA256SUMS"):
        call_command("kit", "verify", str(tmp_path / "edited.tar"))
    with pytest.raises(CommandError, match="kit.json does not match its signature"):
        call_command("kit", "verify", str(tmp_path / "forged.tar"))
    extract(tmp_path / "forged.tar", tmp_path, "kit.json", "kit.json.sig")
    result = openssl_verify(tmp_path, public_pem(vendor, tmp_path / "kit.json"))
    assert result.returncode != 0
    assert "Signature Verification Failure" in result.stdout + result.stderr
