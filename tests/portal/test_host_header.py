"""Host header poisoning (issue 12, items A and 2): an unknown Host is refused with 400
before any view runs, and links in mail come from configuration (the public URL, or the
vendor's verified domain), never from the request's Host or X-Forwarded-Host."""

import re

import pytest
from django.core import mail
from django.test import Client, override_settings

from tests.portal.conftest import ACME_HOST, PASSWORD, login, sign_in

pytestmark = pytest.mark.django_db

PUBLIC = "http://127.0.0.1:8000"  # DISTR_PUBLIC_URL of the test settings
RESET = "/p/acme/accounts/password/reset/"
KEY_LINK = re.compile(r"https?://[^\s\"'<>]+/password/reset/key/[^\s\"'<>]+")


def reset_links(email="admin@acme.test", **client_kwargs):
    mail.outbox.clear()
    response = Client(**client_kwargs).post(RESET, {"email": email})
    links = [link for m in mail.outbox for link in KEY_LINK.findall(m.body)]
    return response, links


@pytest.mark.parametrize(
    "path", [RESET, "/p/acme/accounts/login/", "/", "/v2/", "/v2/token", "/admin/login/"]
)
def test_an_unknown_host_is_refused_before_any_view(acme, path):
    response = Client(HTTP_HOST="attacker.example").get(path)
    assert response.status_code == 400
    assert response.content == b"Unknown host.\n"
    assert "WWW-Authenticate" not in response


def test_password_reset_with_a_forged_host_is_refused_and_mails_nothing(acme, acme_admin):
    response, links = reset_links(HTTP_HOST="attacker.example")
    assert response.status_code == 400
    assert response.content == b"Unknown host.\n"
    assert mail.outbox == []
    response, links = reset_links(HTTP_HOST="attacker.example:8000")
    assert response.status_code == 400 and mail.outbox == []


def test_a_malformed_host_is_refused(acme):
    assert Client(HTTP_HOST="bad host!").get(RESET).status_code == 400


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_HOST": "localhost"},  # an accepted alias that is not the public URL
        {"HTTP_HOST": "localhost:9999"},
        {"HTTP_HOST": "127.0.0.1:8000", "HTTP_X_FORWARDED_HOST": "attacker.example"},
        {},  # testserver
    ],
)
def test_reset_link_uses_the_public_url_on_any_accepted_host(acme, acme_admin, headers):
    response, links = reset_links(**headers)
    assert response.status_code == 302
    assert len(links) == 1, [m.body for m in mail.outbox]
    assert links[0].startswith(f"{PUBLIC}/p/acme/accounts/password/reset/key/"), links


@override_settings(DISTR_ALLOWED_HOSTS=["127.0.0.1", "portal-alias.example.net", "testserver"])
def test_an_operator_listed_alias_is_served_but_links_still_use_the_public_url(acme, acme_admin):
    response, links = reset_links(HTTP_HOST="portal-alias.example.net")
    assert response.status_code == 302
    assert links and links[0].startswith(f"{PUBLIC}/p/acme/"), links


def test_reset_link_on_a_verified_domain_uses_that_domain(acme, acme_admin):
    mail.outbox.clear()
    response = Client(HTTP_HOST=ACME_HOST).post(
        "/accounts/password/reset/", {"email": "admin@acme.test"}
    )
    assert response.status_code == 302
    links = KEY_LINK.findall(mail.outbox[0].body)
    # The domain is the verified VendorDomain; scheme and port are the public URL's.
    assert links[0].startswith(f"http://{ACME_HOST}:8000/accounts/password/reset/key/"), links


def test_the_reset_key_is_only_in_the_mail_and_works_only_on_the_configured_url(acme, acme_admin):
    response, links = reset_links(HTTP_HOST="localhost", HTTP_X_FORWARDED_HOST="attacker.example")
    assert response.status_code == 302
    key_path = links[0][len(PUBLIC) :]
    key = key_path.rstrip("/").rsplit("/", 1)[1]
    # Nothing the requester sees holds the key: not the redirect, not the page after it.
    assert key not in response["Location"]
    done = Client().get(response["Location"])
    assert key not in done.content.decode()
    # The attacker's host cannot even be used to open the key link.
    assert Client(HTTP_HOST="attacker.example").get(key_path).status_code == 400
    # The real recipient, on the configured URL, sets a new password and signs in.
    c = Client()
    form = c.get(key_path, follow=True)
    assert form.status_code == 200
    action = form.redirect_chain[-1][0] if form.redirect_chain else key_path
    new = "a brand new password 42"
    changed = c.post(action, {"password1": new, "password2": new})
    assert changed.status_code == 302, changed.content
    assert login(Client(), "acme", "admin@acme.test", new).status_code == 302
    assert login(Client(), "acme", "admin@acme.test", PASSWORD).status_code == 200


def test_invitation_with_a_forged_host_is_refused_and_mails_nothing(acme, acme_admin, customer):
    c = sign_in(acme_admin, acme, HTTP_HOST="attacker.example")
    mail.outbox.clear()
    response = c.post(
        "/p/acme/console/customers/globex/invite", {"email": "x@globex.test", "role": "admin"}
    )
    assert response.status_code == 400
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"HTTP_HOST": "localhost"}, f"{PUBLIC}/p/acme/invite/"),
        ({"HTTP_X_FORWARDED_HOST": "attacker.example"}, f"{PUBLIC}/p/acme/invite/"),
    ],
)
def test_invitation_link_uses_the_configured_url(acme, acme_admin, customer, headers, expected):
    c = sign_in(acme_admin, acme, **headers)
    mail.outbox.clear()
    response = c.post(
        "/p/acme/console/customers/globex/invite", {"email": "x@globex.test", "role": "admin"}
    )
    assert response.status_code == 302
    links = re.findall(r"https?://\S+/invite/[\w-]+/", mail.outbox[0].body)
    assert len(links) == 1 and links[0].startswith(expected), links
    assert "attacker" not in mail.outbox[0].body and "localhost" not in mail.outbox[0].body


def test_bearer_realm_comes_from_configuration_not_the_host(acme):
    for host in ("localhost:5000", "testserver", ACME_HOST):
        response = Client(HTTP_HOST=host).get("/v2/", HTTP_X_FORWARDED_HOST="attacker.example")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == (
            f'Bearer realm="{PUBLIC}/v2/token",service="127.0.0.1:8000"'
        )


def test_probes_answer_on_any_host(acme):
    for path in ("/healthz", "/readyz"):
        assert Client(HTTP_HOST="10.1.2.3:8000").get(path).status_code == 200


def test_the_gate_reads_the_domain_once_and_only_for_vendor_domains(acme):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def domain_queries(host, path):
        with CaptureQueriesContext(connection) as queries:
            Client(HTTP_HOST=host).get(path)
        return [q["sql"] for q in queries.captured_queries if "portal_vendordomain" in q["sql"]]

    assert domain_queries("127.0.0.1:8000", "/v2/") == []  # configured hosts: no query
    assert domain_queries("127.0.0.1:8000", "/p/acme/accounts/login/") == []
    (query,) = domain_queries(ACME_HOST, "/accounts/login/")  # gate and tenancy share it
    assert "verified_at" in query
    assert len(domain_queries("unknown.example", "/accounts/login/")) == 1
