"""Portal rough edges (issue 12, item 12), server side: the favicon, ids, wording,
the commands offered per kind of content."""

import json
import re

import pytest
from django.test import Client, override_settings

from portal.models import Branding
from tests.conftest import license_grant
from tests.portal.conftest import ACME_HOST, sign_in
from tests.support.registry_client import push_blob, put_manifest

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


# --- /favicon.ico ------------------------------------------------------------------------


def test_favicon_ico_is_distrs_icon_where_no_vendor_has_one(acme):
    for client, path in ((Client(), "/favicon.ico"), (Client(HTTP_HOST=ACME_HOST), "/favicon.ico")):
        response = client.get(path)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/x-icon"
        assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO header
        assert response["Cache-Control"] == "public, max-age=86400"


def test_favicon_ico_is_the_vendors_on_its_portal(acme, umbrella):
    Branding.objects.filter(vendor=acme).update(favicon=PNG, favicon_type="image/png")
    for client, path in (
        (Client(HTTP_HOST=ACME_HOST), "/favicon.ico"),
        (Client(), "/p/acme/favicon.ico"),
    ):
        response = client.get(path)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png" and response.content == PNG
    # Another vendor's portal keeps the default.
    assert Client().get("/p/umbrella/favicon.ico")["Content-Type"] == "image/x-icon"
    assert Client().head("/favicon.ico").status_code == 200


# --- ids, wording ------------------------------------------------------------------------


def test_customer_page_has_no_duplicate_ids(acme, acme_admin, customer):
    page = sign_in(acme_admin, acme).get("/p/acme/console/customers/globex/").content.decode()
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert sorted({i for i in ids if ids.count(i) > 1}) == []
    assert 'id="license_name"' in page and 'id="id_name"' in page


def test_sign_in_page_does_not_send_people_to_a_closed_sign_up(acme):
    page = Client().get("/p/acme/accounts/login/").content.decode()
    assert "sign up" not in page.lower()
    assert "/accounts/signup/" not in page
    assert "Accounts are by invitation" in page


def test_sign_up_from_an_invitation_says_who_invited_whom_to_what(acme, acme_admin, customer):
    from portal.invitations import invitation_create

    _, key = invitation_create(
        vendor=acme, customer=customer, email="new@globex.test", role="admin", invited_by=acme_admin
    )
    c = Client()
    response = c.get(f"/p/acme/invite/{key}/", follow=True)
    page = " ".join(response.content.decode().split())
    assert response.status_code == 200 and "/accounts/signup/" in response.redirect_chain[-1][0]
    assert "<h1> Join Acme Software </h1>" in page
    assert (
        "admin@acme.test invited <strong>new@globex.test</strong> to the Globex team on the "
        "Acme Software portal as admin." in page
    )
    assert "Accept and create account" in page
    # Without an invitation, sign-up stays closed.
    assert "Join Acme Software" not in Client().get("/p/acme/accounts/signup/").content.decode()


@pytest.mark.parametrize("slug", ["Big-Co", "big_co", "-big", "big--co"])
def test_slug_error_matches_the_help_text(acme, acme_admin, slug):
    response = sign_in(acme_admin, acme).post(
        "/p/acme/console/customers/", {"name": "Big Co", "slug": slug}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Use only lower-case letters, digits and dashes" in page
    assert "underscore" not in page.lower() and "&#x27;_&#x27;" not in page


# --- commands per kind of content --------------------------------------------------------


def _push(client, repo, tag, config_type, artifact_type=None):
    config = push_blob(client, repo, json.dumps({"name": tag}).encode())
    layer = push_blob(client, repo, f"{repo}-{tag}".encode() * 20)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": config_type, **config},
        "layers": [{"mediaType": "application/octet-stream", **layer}],
    }
    if artifact_type:
        manifest["artifactType"] = artifact_type
    response = put_manifest(client, repo, tag, json.dumps(manifest).encode())
    assert response.status_code == 201, response.content
    return response["Docker-Content-Digest"]


@pytest.fixture
def mixed(client, customer):
    """An image, a Helm chart and an OCI artifact, all licensed to Globex."""
    _push(client, "acme/app", "1.0", "application/vnd.oci.image.config.v1+json")
    _push(client, "acme/charts/app", "0.3.0", "application/vnd.cncf.helm.config.v1+json")
    sbom = _push(
        client, "acme/docs", "1.0", "application/vnd.oci.empty.v1+json", "application/spdx+json"
    )
    for repo in ("acme/app", "acme/charts/app", "acme/docs"):
        license_grant(customer, repo, "glob:*", name=repo)
    return sbom


def test_each_kind_gets_its_own_client_and_login(acme, customer, globex_admin, mixed):
    page = sign_in(globex_admin, acme).get("/p/acme/artifacts/").content.decode()
    host = "127.0.0.1:8000"
    # Logins, one per tool the content needs; the embedded default is plain HTTP.
    assert f"docker login {host} -u globex</code>" in page
    assert f"helm registry login {host} -u globex --plain-http</code>" in page
    assert f"oras login {host} -u globex --plain-http</code>" in page
    assert 'id="plain-http"' in page and "served over plain HTTP" in page
    # The chart: helm, never docker.
    assert f"helm pull oci://{host}/acme/charts/app --version 0.3.0 --plain-http</code>" in page
    assert f"docker pull {host}/acme/charts/app" not in page
    # The artifact: oras, never docker.
    assert f"oras pull {host}/acme/docs:1.0 --plain-http</code>" in page
    assert f"oras pull {host}/acme/docs@{mixed} --plain-http</code>" in page
    assert f"docker pull {host}/acme/docs" not in page
    # The image: docker, as before.
    assert f"docker pull {host}/acme/app:1.0</code>" in page


@override_settings(DISTR_PUBLIC_URL="https://registry.example.com")
def test_no_plain_http_flags_behind_https(acme, customer, globex_admin, mixed):
    page = sign_in(globex_admin, acme).get("/p/acme/artifacts/").content.decode()
    assert "--plain-http" not in page and 'id="plain-http"' not in page
    assert "helm registry login 127.0.0.1:8000 -u globex</code>" in page


def test_only_charts_means_no_docker_login_or_kubectl(acme, client, customer, globex_admin):
    _push(client, "acme/charts/app", "0.3.0", "application/vnd.cncf.helm.config.v1+json")
    license_grant(customer, "acme/charts/app", "glob:*")
    page = sign_in(globex_admin, acme).get("/p/acme/artifacts/").content.decode()
    assert "docker login" not in page and "kubectl create secret" not in page
    assert "helm registry login" in page
