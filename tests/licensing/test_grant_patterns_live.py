"""Grants before the first push and pattern grants on a real install (gunicorn started the
way `make run` starts it, several workers), on SQLite without Redis and on PostgreSQL
with Redis: the grant is made by `manage.py grant` in its own process, the repository is
pushed afterwards, and the next requests, on new connections to any worker, are covered.
"""

import json
import re
import uuid

import pytest

from tests.coherence.test_changes_across_processes import all_answer, jwt
from tests.support.install import HttpClient, Install, postgres_available
from tests.support.oci_layout import image_layout
from tests.support.registry_client import image_manifest, put_manifest, sha256
from tests.support.requirements import require
from tests.support.skopeo import skopeo

SHAPES = ["embedded", "postgres+redis"]


@pytest.fixture(scope="module", params=SHAPES)
def install(request):
    if request.param == "postgres+redis":
        require(postgres_available(), "PostgreSQL on 127.0.0.1:5432 (the postgres+redis shape)")
    install = Install(request.param)
    try:
        install.prepare()
        seeded = install.manage("seeddemo")
        install.push_secret = seeded.stdout.strip().splitlines()[-1]
        install.start()
        yield install
    finally:
        install.stop()


@pytest.fixture
def customer(install):
    """A customer with an empty license and a pull token (made in another process)."""
    slug = f"cust{uuid.uuid4().hex[:8]}"
    made = json.loads(
        install.python(
            "import json\n"
            "from customers.models import Vendor\n"
            "from customers.services import customer_create, token_mint\n"
            "from licensing.services import license_create\n"
            "vendor = Vendor.objects.get(slug='acme')\n"
            f"customer, _ = customer_create(vendor=vendor, slug={slug!r})\n"
            "license = license_create(vendor=vendor, customer=customer, name='Charts')\n"
            "token = token_mint(vendor=vendor, customer=customer, kind='pull', name='cluster')\n"
            "print(json.dumps({'license': license.pk, 'secret': token.secret}))\n"
        )
        .strip()
        .splitlines()[-1]
    )
    return {"slug": slug, **made}


def grant(install, customer, repository: str, rule: str) -> None:
    result = install.manage("grant", str(customer["license"]), repository, rule)
    assert result.stdout == f"granted {rule} on {repository}\n"


def test_grant_before_first_push_then_push_then_pull_with_skopeo(install, customer, tmp_path):
    repo = f"acme/later{uuid.uuid4().hex[:8]}"
    grant(install, customer, repo, "glob:1.*")
    pull_auth = {install.host: (customer["slug"], customer["secret"])}
    with pytest.raises(AssertionError, match="(?i)name unknown|repository name not known"):
        skopeo(
            "copy",
            "--src-tls-verify=false",
            f"docker://{install.host}/{repo}:1.0",
            f"oci:{tmp_path / 'before'}:1.0",
            auth=pull_auth,
        )
    layout = image_layout(tmp_path / "src", [256, 512], tag="1.0")
    skopeo(
        "copy",
        "--preserve-digests",
        "--dest-tls-verify=false",
        layout.ref,
        f"docker://{install.host}/{repo}:1.0",
        auth={install.host: ("ci", install.push_secret)},
    )
    skopeo(
        "copy",
        "--preserve-digests",
        "--src-tls-verify=false",
        f"docker://{install.host}/{repo}:1.0",
        f"oci:{tmp_path / 'after'}:1.0",
        auth=pull_auth,
    )
    index = json.loads((tmp_path / "after" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == layout.top_digest
    listed = skopeo(
        "list-tags", "--tls-verify=false", f"docker://{install.host}/{repo}", auth=pull_auth
    )
    assert json.loads(listed.stdout)["Tags"] == ["1.0"]


def test_pattern_grant_covers_a_new_repository_on_the_next_request(install, customer):
    charts = f"acme/charts{uuid.uuid4().hex[:8]}"
    grant(install, customer, f"{charts}/*", "glob:*")
    repo = f"{charts}/db"
    token = jwt(install, customer["secret"], repo)
    path = f"/v2/{repo}/manifests/1.0"
    # Every worker answers before the repository exists, so each holds a memo for it.
    all_answer(install, path, token, 404, "NAME_UNKNOWN")
    vendor = HttpClient(install.url, ("ci", install.push_secret))
    _, raw = image_manifest(vendor, repo)  # blobs first: the repository exists now...
    all_answer(install, path, token, 404, "MANIFEST_UNKNOWN")
    assert put_manifest(vendor, repo, "1.0", raw).status_code == 201  # ...then its first tag
    all_answer(install, path, token, 200, json.loads(raw)["config"]["digest"])
    all_answer(install, f"/v2/{repo}/manifests/{sha256(raw)}", token, 200)
    # Outside the pattern: refused, though the token's scope reaches the whole namespace.
    for other in (f"{charts}-evil/x", f"{charts}x", f"{charts}/db/deeper"):
        _, other_raw = image_manifest(vendor, other)
        assert put_manifest(vendor, other, "1.0", other_raw).status_code == 201
        all_answer(
            install,
            f"/v2/{other}/manifests/1.0",
            jwt(install, customer["secret"], other),
            403,
            f"no license of yours covers {other}",
        )
    catalog = jwt_catalog(install, customer["secret"])
    all_answer(install, "/v2/_catalog", catalog, 200, json.dumps({"repositories": [repo]}))


def jwt_catalog(install: Install, secret: str) -> str:
    import requests

    challenge = requests.get(f"{install.url}/v2/", timeout=10).headers["WWW-Authenticate"]
    realm, service = re.search(r'realm="([^"]+)",service="([^"]+)"', challenge).groups()
    response = requests.get(
        realm,
        params={"service": service, "scope": "registry:catalog:*"},
        auth=("customer", secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["token"]
