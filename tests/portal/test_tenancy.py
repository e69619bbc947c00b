"""Which vendor a request is for: the host (VendorDomain) or the /p/<slug>/ prefix; links
follow the route the page was opened on; the registry is not part of any portal."""

import json
import re

import pytest
from django.test import Client

from tests.portal.conftest import ACME_HOST, UMBRELLA_HOST, login, sign_in, with_theme

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    ["/overview/", "/console/", "/accounts/login/", "/tokens/", "/brand/logo", "/invite/abc/"],
)
def test_portal_pages_404_on_a_bare_host(acme, path):
    response = Client().get(path)
    assert response.status_code == 404
    assert b"Acme Software" not in response.content


def test_bare_root_says_there_is_no_portal(acme):
    response = Client().get("/")
    assert response.status_code == 404
    assert b"Acme Software" not in response.content


@pytest.mark.parametrize("path", ["/p/nope/", "/p/nope/accounts/login/", "/p/nope/overview/"])
def test_unknown_vendor_prefix_is_404(acme, path):
    response = Client().get(path)
    assert response.status_code == 404
    assert b"Acme Software" not in response.content


def test_login_page_on_prefix_route_is_branded_and_links_keep_the_prefix(acme):
    response = Client().get("/p/acme/accounts/login/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Acme Software" in body
    assert "--brand-primary:#aa1111" in with_theme(body)
    actions = re.findall(r'<form[^>]*action="([^"]+)"', body)
    assert actions, body
    assert all(a.startswith("/p/acme/") for a in actions if a.startswith("/")), actions


def test_login_page_on_vendor_host_has_no_prefix(acme):
    response = Client(HTTP_HOST=ACME_HOST).get("/accounts/login/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Acme Software" in body
    assert "/p/acme/" not in body


def test_console_links_carry_the_prefix_only_on_the_prefix_route(acme, acme_admin):
    on_prefix = sign_in(acme_admin, acme).get("/p/acme/console/")
    assert on_prefix.status_code == 200
    assert 'href="/p/acme/console/customers/"' in on_prefix.content.decode()

    on_host = sign_in(acme_admin, acme, HTTP_HOST=ACME_HOST).get("/console/")
    assert on_host.status_code == 200
    body = on_host.content.decode()
    assert 'href="/console/customers/"' in body
    assert "/p/acme/" not in body


def test_root_redirects_to_login_with_the_right_prefix(acme):
    assert Client().get("/p/acme/")["Location"] == "/p/acme/accounts/login/"
    assert Client(HTTP_HOST=ACME_HOST).get("/")["Location"] == "/accounts/login/"


def test_login_redirect_keeps_the_prefix(acme, globex_admin):
    response = login(Client(), "acme", "boss@globex.test")
    assert response.status_code == 302
    assert response["Location"] == "/p/acme/"


def test_script_prefix_does_not_leak_into_the_next_request(acme, acme_admin):
    sign_in(acme_admin, acme).get("/p/acme/console/")
    # A later request on the vendor host reverses without the prefix.
    response = Client(HTTP_HOST=ACME_HOST).get("/")
    assert response["Location"] == "/accounts/login/"


def test_host_port_is_ignored(acme):
    response = Client(HTTP_HOST=ACME_HOST + ":8443").get("/accounts/login/")
    assert response.status_code == 200
    assert b"Acme Software" in response.content


def test_each_host_serves_its_own_vendor(acme, umbrella):
    acme_page = Client(HTTP_HOST=ACME_HOST).get("/accounts/login/").content.decode()
    umbrella_page = Client(HTTP_HOST=UMBRELLA_HOST).get("/accounts/login/").content.decode()
    assert "Acme Software" in acme_page and "Umbrella Cloud" not in acme_page
    assert "Umbrella Cloud" in umbrella_page and "Acme Software" not in umbrella_page


def test_registry_is_unaffected_by_portal_routing(acme, client, pushed):
    # /v2/ on a vendor host and on the bare host answers as the registry.
    for c in (
        client,
        Client(HTTP_HOST=ACME_HOST, HTTP_AUTHORIZATION=client.defaults["HTTP_AUTHORIZATION"]),
    ):
        assert c.get("/v2/").status_code == 200
        tags = c.get("/v2/acme/app/tags/list")
        assert tags.status_code == 200
        assert sorted(tags.json()["tags"]) == ["1.1", "2.0"]
    anonymous = Client().get("/v2/")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer realm=")
    assert anonymous.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_account_pages_work_under_the_prefix(acme, globex_admin):
    c = sign_in(globex_admin, acme)
    for path in ("/p/acme/accounts/password/change/", "/p/acme/accounts/2fa/"):
        response = c.get(path)
        assert response.status_code == 200, path
        assert b"Acme Software" in response.content
    response = c.post("/p/acme/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/p/acme/accounts/login/"
    assert c.get("/p/acme/overview/").status_code == 302


# A domain added in the console serves only once verified: tests/portal/test_domains.py.


def test_a_host_taken_by_another_vendor_cannot_be_added(acme, acme_admin, umbrella):
    from portal.models import VendorDomain

    response = sign_in(acme_admin, acme).post(
        "/p/acme/console/branding/domains/add", {"host": UMBRELLA_HOST}, follow=True
    )
    assert "already in use" in " ".join(str(m) for m in response.context["messages"])
    assert VendorDomain.objects.get(host=UMBRELLA_HOST).vendor == umbrella


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/p/acme%00/", "/p/acme%00/accounts/login/", "/p/" + "a" * 300 + "/"]
)
def test_a_prefix_that_is_no_slug_is_an_ordinary_404(vendor, path):
    response = Client().get(path)
    assert response.status_code == 404


@pytest.mark.django_db
def test_machine_clients_get_json_errors_that_say_what_happened():
    api = Client().get("/api/v1/no-such-endpoint/")
    assert api.status_code == 404
    assert api["Content-Type"] == "application/problem+json"
    assert api.json() == {
        "type": "about:blank",
        "title": "Not found",
        "status": 404,
        "detail": "not found",
    }
    registry = Client().get("/v2/no/such/endpoint/x")
    assert registry.status_code == 404
    assert registry.json() == {
        "errors": [{"code": "NOT_FOUND", "message": "no such registry endpoint"}]
    }


def test_a_registry_500_names_its_request_not_a_template(rf):
    from portal.views.public import error_500

    request = rf.get("/v2/acme/app/manifests/1.0")
    request.request_id = "rid-42"
    response = error_500(request)
    assert response.status_code == 500
    assert json.loads(response.content) == {
        "errors": [{"code": "UNKNOWN", "message": "internal server error (request rid-42)"}]
    }
