"""Two gunicorn instances on different ports, each with its own DATA_DIR, sharing only
PostgreSQL, Redis and the S3 bucket: whatever one does, the other sees at once.

They need PostgreSQL and Redis (SQLite would be shared through the file system, which
proves nothing). CI sets DATABASE_URL and REDIS_URL; locally, run for example
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/distr_wt7 \\
    REDIS_URL=redis://127.0.0.1:6379/12 .venv/bin/pytest tests/production
"""

import os
import re
import tempfile

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from customers.models import AccessToken
from customers.services import token_mint
from customers.tokens import secret_prefix
from tests.support import requirements
from tests.support.moto import MIB
from tests.support.oci_layout import image_layout
from tests.support.server import LiveRegistry
from tests.support.skopeo import skopeo
from tests.support.uploads import OCTETS, sha256

pytestmark = pytest.mark.django_db(transaction=True)


def _shared_services_missing() -> str | None:
    if not connection.vendor == "postgresql":
        return "DATABASE_URL is not PostgreSQL"
    if not settings.REDIS_URL:
        return "REDIS_URL is not set"
    return None


@pytest.fixture(scope="module")
def instances(django_db_setup, django_db_blocker, moto):
    with django_db_blocker.unblock():
        missing = _shared_services_missing()
    if missing:
        requirements.missing(f"two-instance tests need PostgreSQL and Redis: {missing}")
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    bucket = moto.bucket_create()
    servers = []
    with django_db_blocker.unblock():
        for _ in range(2):
            servers.append(
                LiveRegistry(
                    extra_env={
                        **moto.env(bucket),
                        "DATA_DIR": tempfile.mkdtemp(prefix="distr-instance-"),
                        "REGISTRY_TOKEN_KEY": key.decode(),
                        "REDIS_URL": settings.REDIS_URL,
                    }
                )
            )
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def secret(vendor) -> str:
    return token_mint(vendor=vendor, kind="push", name="two instances").secret


def http(secret: str) -> requests.Session:
    session = requests.Session()
    session.auth = ("ci", secret)
    return session


def test_chunked_upload_started_on_one_is_finished_on_the_other(instances, repo_name, secret):
    a, b = instances
    client = http(secret)
    data = os.urandom(13 * MIB + 77)
    digest = sha256(data)
    started = client.post(f"{a.url}/v2/{repo_name}/blobs/uploads/", timeout=10)
    assert started.status_code == 202, started.text
    location = started.headers["Location"]

    first = client.patch(
        a.url + location,
        data=data[: 6 * MIB],
        headers={**OCTETS, "Content-Range": f"0-{6 * MIB - 1}"},
        timeout=60,
    )
    assert first.status_code == 202, first.text
    # B never saw the first bytes: it continues from the parts and tail recorded in S3/PG.
    second = client.patch(
        b.url + location,
        data=data[6 * MIB :],
        headers={**OCTETS, "Content-Range": f"{6 * MIB}-{len(data) - 1}"},
        timeout=60,
    )
    assert second.status_code == 202, second.text
    assert second.headers["Range"] == f"0-{len(data) - 1}"
    assert client.get(a.url + location, timeout=10).headers["Range"] == f"0-{len(data) - 1}"

    finished = client.put(f"{b.url}{location}?digest={digest}", timeout=60)
    assert finished.status_code == 201, finished.text
    pulled = client.get(f"{a.url}/v2/{repo_name}/blobs/{digest}", timeout=60)
    assert pulled.status_code == 200 and pulled.content == data
    assert pulled.history[0].status_code == 307  # served by the bucket, not by A


def test_wrong_digest_on_the_other_instance_stores_nothing(instances, repo_name, secret, moto):
    a, b = instances
    client = http(secret)
    data = os.urandom(7 * MIB)
    location = client.post(f"{a.url}/v2/{repo_name}/blobs/uploads/", timeout=10).headers["Location"]
    assert client.patch(a.url + location, data=data, headers=OCTETS, timeout=60).status_code == 202
    wrong = sha256(b"wrong")
    response = client.put(f"{b.url}{location}?digest={wrong}", timeout=60)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "DIGEST_INVALID"
    assert client.head(f"{a.url}/v2/{repo_name}/blobs/{sha256(data)}").status_code == 404


@pytest.mark.requires_command("skopeo")
def test_push_through_one_pull_through_the_other(instances, repo_name, secret, tmp_path):
    a, b = instances
    auth = {a.host: ("ci", secret), b.host: ("ci", secret)}
    source = image_layout(tmp_path / "src", [6 * MIB + 3, 4096])
    skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--preserve-digests",
        source.ref,
        f"docker://{a.host}/{repo_name}:v1",
        auth=auth,
    )
    skopeo(
        "copy",
        "--src-tls-verify=false",
        "--preserve-digests",
        f"docker://{b.host}/{repo_name}:v1",
        f"oci:{tmp_path / 'back'}:v1",
        auth=auth,
    )
    back = tmp_path / "back" / "blobs" / "sha256"
    assert {f"sha256:{p.name}": p.read_bytes() for p in back.iterdir()} == {
        digest: path.read_bytes() for digest, path in source.blobs.items()
    }


def test_tag_moved_on_one_is_served_moved_by_the_other(instances, repo_name, secret, tmp_path):
    a, b = instances
    client = http(secret)
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    digests = []
    for n in (1, 2):
        layout = image_layout(tmp_path / f"img{n}", [1000 + n])
        for digest, path in layout.blobs.items():
            if digest != layout.top_digest:
                response = client.post(
                    f"{a.url}/v2/{repo_name}/blobs/uploads/?digest={digest}",
                    data=path.read_bytes(),
                    headers=OCTETS,
                    timeout=30,
                )
                assert response.status_code == 201, response.text
        raw = layout.blobs[layout.top_digest].read_bytes()
        response = client.put(
            f"{a.url}/v2/{repo_name}/manifests/stable",
            data=raw,
            headers={"Content-Type": accept["Accept"]},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        digests.append(layout.top_digest)
        served = client.get(f"{b.url}/v2/{repo_name}/manifests/stable", headers=accept)
        assert served.status_code == 200
        assert served.headers["Docker-Content-Digest"] == layout.top_digest
        assert served.content == raw
    assert digests[0] != digests[1]


def test_token_revoked_on_one_is_refused_by_the_other(instances, repo_name, secret):
    a, b = instances
    client = http(secret)
    jwt = client.get(
        f"{a.url}/v2/token",
        params={"scope": f"repository:{repo_name}:pull,push"},
        timeout=10,
    ).json()["token"]
    bearer = {"Authorization": f"Bearer {jwt}"}
    # Both instances have seen the token (and cached it as live in Redis).
    assert client.post(f"{b.url}/v2/{repo_name}/blobs/uploads/").status_code == 202
    assert (
        requests.post(
            f"{b.url}/v2/{repo_name}/blobs/uploads/", headers=bearer, timeout=10
        ).status_code
        == 202
    )

    admin = _admin_session(a)
    token = AccessToken.objects.get(prefix=secret_prefix(secret))
    page = admin.get(f"{a.url}/admin/customers/accesstoken/", timeout=10)
    response = admin.post(
        f"{a.url}/admin/customers/accesstoken/",
        data={
            "action": "revoke_tokens",
            "_selected_action": str(token.pk),
            "csrfmiddlewaretoken": _csrf(page.text),
        },
        timeout=10,
    )
    assert response.status_code == 200
    assert '<li class="success">Revoked 1 token(s)</li>' in response.text
    token.refresh_from_db()
    assert token.revoked_at is not None

    refused = client.post(f"{b.url}/v2/{repo_name}/blobs/uploads/")
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["code"] == "UNAUTHORIZED"
    refused = requests.post(f"{b.url}/v2/{repo_name}/blobs/uploads/", headers=bearer, timeout=10)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["errors"][0]["message"]


def _admin_session(instance) -> requests.Session:
    get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    session = requests.Session()
    page = session.get(f"{instance.url}/admin/login/", timeout=10)
    response = session.post(
        f"{instance.url}/admin/login/?next=/admin/",
        data={
            "username": "root",
            "password": "pw-for-tests-only",
            "csrfmiddlewaretoken": _csrf(page.text),
            "next": "/admin/",
        },
        timeout=10,
    )
    assert response.status_code == 200 and "Log out" in response.text, response.text[:500]
    return session


def _csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
