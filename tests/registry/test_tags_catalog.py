"""Tag listing and the catalog: lexical order, n/last pagination, Link headers."""

import pytest

from tests.support.registry_client import errors, image_manifest, put_manifest

pytestmark = pytest.mark.django_db
REPO = "acme/app"
TAGS = ["1.0", "1.1", "2.0", "B-upper", "a-lower", "latest"]


@pytest.fixture
def tagged(client):
    _, raw = image_manifest(client, REPO)
    for tag in TAGS:
        assert put_manifest(client, REPO, tag, raw).status_code == 201


def test_tags_list_is_lexical(client, tagged):
    response = client.get(f"/v2/{REPO}/tags/list")
    assert response.status_code == 200
    assert response.json() == {"name": REPO, "tags": sorted(TAGS)}  # byte order: B < a
    assert "Link" not in response


def test_tags_pagination_walks_every_tag_once(client, tagged):
    seen, url = [], f"/v2/{REPO}/tags/list?n=2"
    while url:
        response = client.get(url)
        page = response.json()["tags"]
        assert len(page) <= 2
        seen += page
        link = response.get("Link")
        url = link[1 : link.index(">")] if link else None
        if link:
            assert link.endswith('; rel="next"')
    assert seen == sorted(TAGS)


def test_tags_last_and_n(client, tagged):
    response = client.get(f"/v2/{REPO}/tags/list?n=3&last=1.1")
    assert response.json()["tags"] == ["2.0", "B-upper", "a-lower"]
    assert response["Link"] == f'</v2/{REPO}/tags/list?n=3&last=a-lower>; rel="next"'
    tail = client.get(f"/v2/{REPO}/tags/list?n=3&last=a-lower")
    assert tail.json()["tags"] == ["latest"]
    assert "Link" not in tail


def test_tags_n_zero_is_empty_without_link(client, tagged):
    response = client.get(f"/v2/{REPO}/tags/list?n=0")
    assert response.json() == {"name": REPO, "tags": []}
    assert "Link" not in response


@pytest.mark.parametrize("n", ["-1", "abc"])
def test_tags_invalid_n(client, tagged, n):
    response = client.get(f"/v2/{REPO}/tags/list?n={n}")
    assert response.status_code == 400
    assert errors(response) == ["PAGINATION_NUMBER_INVALID"]


def test_tags_of_unknown_repository(client):
    response = client.get("/v2/acme/none/tags/list")
    assert response.status_code == 404
    assert errors(response) == ["NAME_UNKNOWN"]


def test_repository_without_tags_lists_none(client):
    _, raw = image_manifest(client, REPO)
    from tests.support.registry_client import sha256

    put_manifest(client, REPO, sha256(raw), raw)
    assert client.get(f"/v2/{REPO}/tags/list").json() == {"name": REPO, "tags": []}


def test_catalog_lists_and_paginates(client):
    names = ["acme/a", "acme/b/c", "acme/b", "acme/zeta/x"]
    for name in names:
        _, raw = image_manifest(client, name)
        put_manifest(client, name, "v1", raw)
    assert client.get("/v2/_catalog").json() == {"repositories": sorted(names)}
    first = client.get("/v2/_catalog?n=2")
    assert first.json() == {"repositories": ["acme/a", "acme/b"]}
    assert first["Link"] == '</v2/_catalog?n=2&last=acme%2Fb>; rel="next"'
    second = client.get("/v2/_catalog?n=2&last=acme/b")
    assert second.json() == {"repositories": ["acme/b/c", "acme/zeta/x"]}
    assert "Link" not in second
