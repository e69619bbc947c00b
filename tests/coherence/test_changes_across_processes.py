"""One truth in every process: a change made by one process is honoured by every gunicorn
worker from the first request sent after the change returned.

Each install is started the way `make run` starts it (distr.settings, the default worker
count, gunicorn's config), once on the embedded default (SQLite, no Redis) and once on
PostgreSQL with Redis. Changes are made by a management command in its own process, by
the vendor console over HTTP, or through the registry (served by one of the workers);
then at least 30 requests, each on a new connection, must all give the new answer (the
first of them sent alone, right after the change returned), and the server's request log
must show that more than one worker answered them.
"""

import json
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from customers.tokens import secret_prefix
from tests.support.install import HttpClient, Install, portal_sign_in, postgres_available
from tests.support.registry_client import OCI_MANIFEST, image_manifest, put_manifest, sha256
from tests.support.requirements import require

ROUNDS = 30
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
        install.admin_password = re.search(r" / (\S+)$", seeded.stderr.strip()).group(1)
        install.start()
        yield install
    finally:
        install.stop()


@pytest.fixture
def world(install):
    """A fresh repository with tags 1.0 and 2.0, a customer licensed for `1.*` only, and
    its pull token; plus a JWT for it obtained before any change."""
    repo = f"acme/c{uuid.uuid4().hex[:10]}"
    vendor = HttpClient(install.url, ("ci", install.push_secret))
    pushed = {tag: push_image(vendor, repo, tag) for tag in ("1.0", "2.0")}
    customer = f"cust{uuid.uuid4().hex[:8]}"
    made = json.loads(
        install.python(
            "import json\n"
            "from customers.models import Vendor\n"
            "from customers.services import customer_create, token_mint\n"
            "from licensing.services import grant_add, license_create\n"
            "vendor = Vendor.objects.get(slug='acme')\n"
            f"customer, _ = customer_create(vendor=vendor, slug={customer!r})\n"
            "license = license_create(vendor=vendor, customer=customer, name='Support 1.x')\n"
            f"grant_add(license=license, repository_name={repo!r}, tag_rule='glob:1.*')\n"
            "token = token_mint(vendor=vendor, customer=customer, kind='pull', name='cluster')\n"
            "print(json.dumps({'license': license.pk, 'secret': token.secret,"
            " 'prefix': token.token.prefix}))\n"
        )
        .strip()
        .splitlines()[-1]
    )
    world = {"repo": repo, "customer": customer, "pushed": pushed, "vendor": vendor, **made}
    world["jwt"] = jwt(install, made["secret"], repo)
    return world


def push_image(client, repo: str, tag: str, label: str = "") -> dict:
    manifest, raw = image_manifest(client, repo, annotations={"label": label or tag})
    response = put_manifest(client, repo, tag, raw)
    assert response.status_code == 201, response.text
    return {"digest": sha256(raw), "layer": manifest["layers"][0]["digest"], "raw": raw}


def jwt(install: Install, secret: str, repo: str) -> str:
    """A JWT fetched the way clients fetch one: realm and service from the challenge."""
    challenge = requests.get(f"{install.url}/v2/", timeout=10).headers["WWW-Authenticate"]
    realm, service = re.search(r'realm="([^"]+)",service="([^"]+)"', challenge).groups()
    response = requests.get(
        realm,
        params={"service": service, "scope": f"repository:{repo}:pull"},
        auth=("customer", secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["token"]


def answers(install: Install, path: str, token: str) -> list[tuple[int, str]]:
    """At least ROUNDS GETs of `path`, each on a new connection: the first alone, the rest
    five at a time so both workers take some; more batches (up to 10) until the request
    log shows more than one worker answered. Returns (status, body) of each."""

    def get(_=None) -> tuple[str, int, str]:
        request_id = uuid.uuid4().hex
        response = requests.get(
            install.url + path,
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id},
            timeout=10,
        )
        return request_id, response.status_code, response.text

    seen = [get()]
    with ThreadPoolExecutor(max_workers=5) as pool:
        while len(seen) < ROUNDS:
            seen.extend(pool.map(get, range(5)))
        for _ in range(10):
            workers = install.served_by({request_id for request_id, _, _ in seen})
            if len(workers) >= 2:
                break
            seen.extend(pool.map(get, range(5)))
    assert len(workers) >= 2, f"only worker(s) {workers} answered; cannot show coherence"
    return [(status, body) for _, status, body in seen]


def all_answer(install, path, token, status: int, text: str = "") -> None:
    seen = answers(install, path, token)
    wrong = [(s, body[:200]) for s, body in seen if s != status or text not in body]
    assert not wrong, f"{len(wrong)} of {len(seen)} answers were not {status} {text!r}: {wrong[:3]}"


def warm(install, world, path: str, status: int = 200) -> None:
    """Every worker answers once before the change, so each holds its memos."""
    all_answer(install, path, world["jwt"], status)


def manifest_path(world, reference: str) -> str:
    return f"/v2/{world['repo']}/manifests/{reference}"


# --- changes made by a management command in another process ------------------------------


def test_license_suspended_and_reactivated_by_command(install, world):
    path = manifest_path(world, "1.0")
    warm(install, world, path)
    install.manage("suspendlicense", str(world["license"]))
    all_answer(install, path, world["jwt"], 403, "license 'Support 1.x' is suspended")
    install.manage("suspendlicense", str(world["license"]), "--resume")
    all_answer(install, path, world["jwt"], 200)


def test_customer_suspended_and_resumed_by_command(install, world):
    path = manifest_path(world, "1.0")
    warm(install, world, path)
    install.manage("suspendcustomer", "acme", world["customer"])
    all_answer(install, path, world["jwt"], 403, "your account is suspended")
    install.manage("suspendcustomer", "acme", world["customer"], "--resume")
    all_answer(install, path, world["jwt"], 200)


def test_grant_added_and_removed_by_command(install, world):
    path = manifest_path(world, "2.0")
    warm(install, world, path, status=403)
    install.manage("grant", str(world["license"]), world["repo"], "exact:2.0")
    all_answer(install, path, world["jwt"], 200)
    digest = world["pushed"]["2.0"]["digest"]
    all_answer(install, manifest_path(world, digest), world["jwt"], 200)
    install.manage("grant", str(world["license"]), world["repo"], "exact:2.0", "--remove")
    all_answer(install, path, world["jwt"], 403, "tag '2.0' of")


def test_token_revoked_by_command(install, world):
    path = manifest_path(world, "1.0")
    warm(install, world, path)
    install.manage("revoketoken", world["prefix"])
    all_answer(install, path, world["jwt"], 401, "token revoked or expired")


# --- changes made through the registry (by one of the workers) --------------------------


def test_new_entitled_tag_pushed(install, world):
    warm(install, world, manifest_path(world, "1.0"))
    warm(install, world, f"/v2/{world['repo']}/tags/list")
    new = push_image(world["vendor"], world["repo"], "1.1")
    all_answer(install, manifest_path(world, new["digest"]), world["jwt"], 200)
    all_answer(install, f"/v2/{world['repo']}/blobs/{new['layer']}", world["jwt"], 200)
    all_answer(install, f"/v2/{world['repo']}/tags/list", world["jwt"], 200, '"1.1"')


def test_tag_moved(install, world):
    warm(install, world, manifest_path(world, "1.0"))
    moved = push_image(world["vendor"], world["repo"], "1.0", label="1.0 rebuilt")
    seen = answers(install, manifest_path(world, "1.0"), world["jwt"])
    assert {status for status, _ in seen} == {200}
    assert {body.encode() for _, body in seen} == {moved["raw"]}


def test_manifest_deleted(install, world):
    digest = world["pushed"]["1.0"]["digest"]
    warm(install, world, manifest_path(world, digest))
    warm(install, world, f"/v2/{world['repo']}/tags/list")
    response = world["vendor"].delete(manifest_path(world, digest))
    assert response.status_code == 202, response.text
    all_answer(install, manifest_path(world, digest), world["jwt"], 404, "MANIFEST_UNKNOWN")
    seen = answers(install, f"/v2/{world['repo']}/tags/list", world["jwt"])
    assert {body for _, body in seen} == {json.dumps({"name": world["repo"], "tags": []})}


# --- changes made in the vendor console (a browser's requests) --------------------------


def console_session(install) -> requests.Session:
    session, response = portal_sign_in(install.url, "admin@acme.example", install.admin_password)
    assert response.status_code == 200 and "/p/acme/console/" in response.url, response.url
    return session


def console_post(session, install, path: str, data: dict) -> None:
    url = f"{install.url}/p/acme/console/{path}"
    response = session.post(
        url,
        data={**data, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": url},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, (response.status_code, response.text[:500])


def test_console_suspends_license_and_customer(install, world):
    path = manifest_path(world, "1.0")
    warm(install, world, path)
    session = console_session(install)
    console_post(
        session,
        install,
        f"licenses/{world['license']}/status",
        {"status": "suspended", "confirmed": "1"},
    )
    all_answer(install, path, world["jwt"], 403, "license 'Support 1.x' is suspended")
    console_post(session, install, f"licenses/{world['license']}/status", {"status": "active"})
    all_answer(install, path, world["jwt"], 200)
    console_post(
        session,
        install,
        f"customers/{world['customer']}/suspend",
        {"suspend": "1", "confirmed": "1"},
    )
    all_answer(install, path, world["jwt"], 403, "your account is suspended")
    console_post(session, install, f"customers/{world['customer']}/suspend", {"suspend": "0"})
    all_answer(install, path, world["jwt"], 200)


def test_console_deletes_a_customer(install, world):
    """A JWT issued before the delete is refused by every worker from the next request:
    its token no longer exists (the registry says revoked), and so does its customer."""
    path = manifest_path(world, "1.0")
    warm(install, world, path)
    session = console_session(install)
    suspend = f"customers/{world['customer']}/suspend"
    console_post(session, install, suspend, {"suspend": "1", "confirmed": "1"})
    console_post(session, install, f"customers/{world['customer']}/delete", {"confirmed": "1"})
    all_answer(install, path, world["jwt"], 401, "token revoked or expired")


def test_console_revokes_an_api_token(install):
    """An API token minted by `manage.py apitoken` in its own process reads the API in
    every worker; revoked in the console (one worker), every worker refuses it at once."""
    secret = install.manage("apitoken", "acme", f"crm{uuid.uuid4().hex[:6]}").stdout.strip()
    path = "/api/v1/analytics/customers/top"
    all_answer(install, path, secret, 200, '"vendor":"acme"')
    token_id = install.python(
        "from customers.models import AccessToken\n"
        f"print(AccessToken.objects.get(prefix={secret_prefix(secret)!r}).pk)\n"
    ).splitlines()[-1]
    session = console_session(install)
    console_post(session, install, f"api-tokens/{token_id}/revoke", {"confirmed": "1"})
    all_answer(install, path, secret, 401, "invalid, revoked or expired API token")


# --- limits counted in the shared cache (last: they lock 127.0.0.1 out of logins) -------


def login_attempt(install, email: str, password: str) -> str:
    """One sign-in on a new session (and connection); the page it ends on."""
    return portal_sign_in(install.url, email, password)[1].text


LOCKED = "Too many failed login attempts. Try again later."


def test_zz_login_lock_out_counts_across_workers(install):
    """5 failed logins for one account lock it, whichever worker counted them; the 6th
    attempt is refused even with the right password."""
    email, password = f"lock{uuid.uuid4().hex[:6]}@acme.example", "the right password 42"
    install.python(
        "from allauth.account.models import EmailAddress\n"
        "from django.contrib.auth import get_user_model\n"
        "from customers.models import Vendor, VendorMember\n"
        f"user = get_user_model().objects.create_user({email!r}, {email!r}, {password!r})\n"
        f"EmailAddress.objects.create(user=user, email={email!r}, verified=True, primary=True)\n"
        "VendorMember.objects.create(vendor=Vendor.objects.get(slug='acme'), user=user,"
        " role='viewer')\n"
    )
    for attempt in range(5):
        page = login_attempt(install, email, f"wrong {attempt}")
        assert LOCKED not in page, f"locked after {attempt} failures"
    assert LOCKED in login_attempt(install, email, password)


def test_zz_per_address_login_limit_counts_across_workers(install):
    """At most 30 failed logins a minute from one address, on any accounts, then refusal.
    The attempts go six at a time so that all of them fall inside one minute even on a
    busy machine (each costs a password hash); the lock-out test above already failed
    5 or 6 times from this address."""

    def attempt(n: int) -> bool:
        page = login_attempt(install, f"nobody{n}@{uuid.uuid4().hex[:6]}.example", "x")
        return LOCKED in page

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=6) as pool:
        refused = list(pool.map(attempt, range(30)))
    assert time.monotonic() - started < 50, "too slow to stay inside the one-minute window"
    assert refused.count(True) <= 7, f"{refused.count(True)} of 30 refused too early"
    assert attempt(30), "more than 30 failed logins in a minute from one address, not refused"


# --- immutable-tag rules (registry/immutability.py) ---------------------------------------


def test_immutable_rule_added_by_another_process_refuses_in_every_worker(install, world):
    """A rule created by a process outside the server refuses, from the first push after
    it returned, every move of the tag in every worker; deleting it allows moves again."""
    repo, vendor = world["repo"], world["vendor"]
    candidates = []  # manifests stored by digest, each a move of tag 1.0 waiting to happen
    for i in range(ROUNDS + 20):
        _, raw = image_manifest(vendor, repo, annotations={"label": f"candidate {i}"})
        assert put_manifest(vendor, repo, sha256(raw), raw).status_code == 201
        candidates.append(raw)
    rule_id = (
        install.python(
            "from customers.models import Vendor\n"
            "from registry.services.guards import immutable_rule_create\n"
            f"rule = immutable_rule_create(vendor=Vendor.objects.get(slug='acme'),"
            f" repository_pattern={repo.partition('/')[2]!r}, tag_rule='exact:1.0')\n"
            "print(rule.id)\n"
        )
        .strip()
        .splitlines()[-1]
    )

    def move(raw: bytes) -> tuple[str, int, str]:
        request_id = uuid.uuid4().hex
        response = requests.put(
            f"{install.url}/v2/{repo}/manifests/1.0",
            data=raw,
            headers={
                "Content-Type": "application/vnd.oci.image.manifest.v1+json",
                "X-Request-ID": request_id,
            },
            auth=vendor.auth,
            timeout=30,
        )
        return request_id, response.status_code, response.text

    seen = [move(candidates[0])]  # the first alone, right after the rule was made
    with ThreadPoolExecutor(max_workers=5) as pool:
        seen.extend(pool.map(move, candidates[1:ROUNDS]))
    workers = install.served_by({request_id for request_id, _, _ in seen})
    assert len(workers) >= 2, f"only worker(s) {workers} answered; cannot show coherence"
    expected = f"is immutable and cannot be moved (rule {rule_id}: "
    wrong = [(s, body[:200]) for _, s, body in seen if s != 403 or expected not in body]
    assert not wrong, f"{len(wrong)} of {len(seen)} moves were not refused: {wrong[:3]}"
    original = world["pushed"]["1.0"]["raw"]
    assert vendor.put(f"/v2/{repo}/manifests/1.0", original, OCI_MANIFEST).status_code == 201

    install.python(
        "from registry.models import ImmutableTagRule\n"
        "from registry.services.guards import immutable_rule_delete\n"
        f"immutable_rule_delete(rule=ImmutableTagRule.objects.get(pk={rule_id}))\n"
    )
    assert move(candidates[ROUNDS])[1] == 201
