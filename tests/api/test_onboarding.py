"""The onboarding flow of docs/api.md over HTTP against a live server, with an API token:
create the customer, a license with a semver grant, invite its admin, mint a pull token;
skopeo pulls what the grant covers and is refused the rest; revoked, the token pulls
nothing from the next request."""

import pytest
import requests

from customers.services import token_mint
from tests.licensing.test_skopeo_license import pull, push


@pytest.fixture
def api(live_registry, vendor):
    secret = token_mint(vendor=vendor, kind="api", name="crm", scopes=["write"]).secret
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {secret}"

    def call(method: str, path: str, **kwargs):
        return session.request(method, f"{live_registry.url}/api/v1{path}", timeout=30, **kwargs)

    return call


def test_onboarding_a_customer_end_to_end(
    api, live_registry, live_credentials, repo_name, tmp_path
):
    entitled = push(live_registry, repo_name, tmp_path, "1.4.0", [300])
    push(live_registry, repo_name, tmp_path, "2.0.0", [200])

    customer = api(
        "POST",
        "/customers/",
        json={"slug": "globex", "name": "Globex"},
        headers={"Idempotency-Key": "deal-1"},
    )
    assert customer.status_code == 201, customer.text
    retried = api(
        "POST",
        "/customers/",
        json={"slug": "globex", "name": "Globex"},
        headers={"Idempotency-Key": "deal-1"},
    )
    assert (retried.status_code, retried.headers["Idempotent-Replayed"]) == (201, "true")
    license = api(
        "POST",
        "/licenses/",
        json={
            "customer": "globex",
            "name": "Enterprise",
            "grants": [{"repository": repo_name, "rule": "semver:>=1.0,<2"}],
        },
    )
    assert license.status_code == 201, license.text
    invited = api("POST", "/customers/globex/invitations/", json={"email": "ops@globex.test"})
    assert invited.status_code == 201, invited.text
    assert invited.json()["email"] == "ops@globex.test"
    minted = api("POST", "/tokens/", json={"kind": "pull", "name": "cluster", "customer": "globex"})
    assert minted.status_code == 201, minted.text
    creds = f"globex:{minted.json()['secret']}"

    pulled = pull(live_registry, repo_name, "1.4.0", creds, tmp_path / "ok")
    assert pulled.returncode == 0
    assert entitled.top_digest in (tmp_path / "ok" / "index.json").read_text()
    with pytest.raises(AssertionError) as refused:
        pull(live_registry, repo_name, "2.0.0", creds, tmp_path / "no")
    assert f"tag '2.0.0' of {repo_name} is not covered by your license" in str(refused.value)

    assert api("DELETE", f"/tokens/{minted.json()['prefix']}").status_code == 204
    with pytest.raises(AssertionError) as revoked:
        pull(live_registry, repo_name, "1.4.0", creds, tmp_path / "revoked")
    assert "unable to retrieve auth token: invalid username/password" in str(revoked.value)

    events = api("GET", "/audit-events/", params={"actor": "crm"}).json()["results"]
    assert sorted(e["action"] for e in events) == sorted(
        [
            "customer.created",
            "license.created",
            "grant.added",
            "invitation.sent",
            "token.created",
            "token.revoked",
        ]
    )
