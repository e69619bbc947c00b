"""Pages that show a newly minted token secret (the customer's pull tokens, the console's
CI push tokens and API tokens): never cacheable, the secret in that one answer only (not
in the database, the session, a URL or a later page), and a re-submitted form (a reload
of the answer, a double click) mints nothing."""

import base64
import pickle

import pytest
from django.contrib.sessions.models import Session
from django.db import connection

from customers.models import AccessToken
from tests.portal.conftest import mint_nonce, post_mint, sign_in

pytestmark = pytest.mark.django_db

PAGES = {
    "pull": ("/p/acme/tokens/", "globex_admin", {"name": "prod cluster", "expires_in_days": "90"}),
    "push": ("/p/acme/console/tokens/", "acme_admin", {"name": "CI", "expires_in_days": "30"}),
    "api": (
        "/p/acme/console/api-tokens/",
        "acme_admin",
        {"name": "CRM", "expires_in_days": "30", "scopes": ["read"]},
    ),
}


@pytest.fixture(params=sorted(PAGES))
def page(request, acme, customer):
    path, user, data = PAGES[request.param]
    c = sign_in(request.getfixturevalue(user), acme)
    return c, path, data


def assert_not_cacheable(response):
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def database_text() -> str:
    """Every row of every table, with sessions decoded and cache values unpickled."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (our own table names)
            parts.extend(repr(row) for row in cursor.fetchall())
    parts.extend(repr(session.get_decoded()) for session in Session.objects.all())
    if "distr_cache" in connection.introspection.table_names():
        with connection.cursor() as cursor:
            cursor.execute("SELECT value FROM distr_cache")
            for (value,) in cursor.fetchall():
                parts.append(repr(pickle.loads(base64.b64decode(value))))  # noqa: S301 (our own cache)
    return "\n".join(parts)


def test_the_page_showing_a_secret_is_not_cacheable(page):
    c, path, data = page
    response = post_mint(c, path, data)
    assert response.status_code == 201
    assert response.context["minted"].secret in response.content.decode()
    assert_not_cacheable(response)
    assert_not_cacheable(c.get(path))


def test_the_secret_is_shown_exactly_once(page):
    c, path, data = page
    responses = [post_mint(c, path, data)]
    secret = responses[0].context["minted"].secret
    responses += [c.get(path), c.get(path)]
    assert [secret in r.content.decode() for r in responses] == [True, False, False]


def test_a_reload_of_the_answer_mints_no_second_token(page):
    c, path, data = page
    form = {**data, "mint_nonce": mint_nonce(c, path)}
    first = c.post(path, form)
    assert first.status_code == 201
    secret = first.context["minted"].secret
    again = c.post(path, form)  # what a browser sends when the answer is reloaded
    assert again.status_code == 409
    assert again.context["minted"] is None and secret not in again.content.decode()
    assert "already submitted" in again.content.decode()
    assert_not_cacheable(again)
    assert AccessToken.objects.filter(name=data["name"]).count() == 1


def test_a_form_without_its_nonce_mints_nothing(page):
    c, path, data = page
    for nonce in ("", "forged", mint_nonce(c, path)[:-2] + "xx"):
        response = c.post(path, {**data, "mint_nonce": nonce})
        assert response.status_code == 400
        assert response.context["minted"] is None
    assert not AccessToken.objects.filter(name=data["name"]).exists()


def test_a_nonce_of_another_user_mints_nothing(acme, customer, globex_admin, globex_member):
    nonce = mint_nonce(sign_in(globex_member, acme), "/p/acme/tokens/")
    response = sign_in(globex_admin, acme).post(
        "/p/acme/tokens/", {"name": "borrowed", "expires_in_days": "30", "mint_nonce": nonce}
    )
    assert response.status_code == 400
    assert not AccessToken.objects.filter(name="borrowed").exists()


def test_each_page_carries_a_fresh_nonce(page):
    c, path, data = page
    nonces = {mint_nonce(c, path) for _ in range(3)}
    assert len(nonces) == 3 and "" not in nonces
    first = post_mint(c, path, data)
    second = post_mint(c, path, {**data, "name": "another"})  # a new form, a new token
    assert (first.status_code, second.status_code) == (201, 201)


def test_the_secret_is_never_in_the_database_or_a_location(page):
    c, path, data = page
    responses = [post_mint(c, path, data, follow=True)]
    secret = responses[0].context["minted"].secret
    responses.append(c.get(path, follow=True))
    hops = [r for response in responses for r in [*response.redirect_chain, response]]
    assert all(secret not in str(getattr(r, "headers", r)) for r in hops)
    assert all(secret not in url for response in responses for url, _ in response.redirect_chain)
    assert secret not in database_text()
    assert secret[:20] not in database_text()  # the stored prefix is shorter than that
    token = AccessToken.objects.get(name=data["name"])
    assert secret.startswith(token.prefix) and len(token.prefix) < 20
