"""Grants that name a repository before its first push, or a pattern of repositories
(licensing/rules.py): what they cover, on the next request after a push, and what a
customer cannot reach by bending the repository name."""

import pytest
from django.test import Client

from customers.services import customer_create, token_mint, vendor_create
from licensing.rules import repository_pattern_matches
from licensing.selectors import license_coverage, licensed_repository_names
from tests.conftest import basic, license_grant
from tests.support.licensing import denied
from tests.support.registry_client import image_manifest, put_manifest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "pattern, name, matches",
    [
        ("acme/charts/*", "acme/charts/web", True),
        ("acme/charts/*", "acme/charts/web-2.x_y", True),
        ("acme/charts/*", "acme/charts-evil/x", False),
        ("acme/charts/*", "acme/chartsx", False),
        ("acme/charts/*", "acme/charts", False),
        ("acme/charts/*", "umbrella/charts/x", False),
        ("acme/charts/*", "acme/charts/a/b", False),  # one component only
        ("acme/charts/*", "ACME/charts/x", False),
        ("acme/charts/*", "acme/Charts/x", False),
        ("acme/charts/*", "acme/charts/..", False),
        ("acme/charts/*", "acme/charts/../../umbrella", False),
        ("acme/charts/*", "acme/charts/%2e%2e", False),
        ("acme/charts/*", "acme/charts%2Fx", False),
        ("acme/charts/*", "acme/charts/x/", False),
        ("acme/charts/*", "acme/charts//x", False),
        ("acme/charts/*", "acme/charts/x\n", False),
        ("acme/charts/?", "acme/charts/a", True),
        ("acme/charts/?", "acme/charts/ab", False),
        ("acme/charts/**", "acme/charts/a", True),
        ("acme/charts/**", "acme/charts/a/b/c", True),
        ("acme/charts/**", "acme/charts", False),
        ("acme/charts/**", "acme/charts-evil/a", False),
        ("acme/charts/**", "acme/charts/../evil", False),
        ("acme/**", "acme/anything/at/all", True),
        ("acme/**", "acmex/a", False),
        ("acme/*-chart", "acme/web-chart", True),
        ("acme/*-chart", "acme/web-chart/x", False),
        ("acme/app", "acme/app", True),
        ("acme/app", "acme/app/x", False),
        ("acme/app", "acme/ap", False),
        ("acme/a.p", "acme/axp", False),  # "." is literal, not a regex dot
    ],
)
def test_repository_pattern_matching(pattern, name, matches):
    assert repository_pattern_matches(pattern, name) is matches


def push(client, repo: str, tag: str = "1.0") -> None:
    _, raw = image_manifest(client, repo)
    assert put_manifest(client, repo, tag, raw).status_code == 201


@pytest.fixture
def globex(customer, pull_secret) -> Client:
    return Client(HTTP_AUTHORIZATION=basic(pull_secret))


def test_grant_before_the_first_push_covers_it_once_pushed(client, customer, globex):
    license_grant(customer, "acme/later", "glob:1.*")
    # Before the push: covered, but there is no such repository yet.
    before = globex.get("/v2/acme/later/manifests/1.0")
    assert before.status_code == 404
    assert before.json()["errors"][0]["code"] == "NAME_UNKNOWN"
    assert globex.get("/v2/_catalog").json() == {"repositories": []}
    push(client, "acme/later", "1.0")
    push(client, "acme/later", "2.0")
    # Same process, its memo built before the push: the push's generation retires it.
    after = globex.get("/v2/acme/later/manifests/1.0")
    assert after.status_code == 200, after.content
    denied(
        globex.get("/v2/acme/later/manifests/2.0"),
        "tag '2.0' of acme/later is not covered by your license",
    )
    assert globex.get("/v2/acme/later/tags/list").json() == {
        "name": "acme/later",
        "tags": ["1.0"],
    }
    assert globex.get("/v2/_catalog").json() == {"repositories": ["acme/later"]}


def test_pattern_grant_covers_repositories_pushed_later(client, customer, globex):
    license = license_grant(customer, "acme/charts/*", "glob:*")
    push(client, "acme/charts/web")
    assert globex.get("/v2/acme/charts/web/manifests/1.0").status_code == 200
    assert globex.head("/v2/acme/charts/web/manifests/1.0").status_code == 200  # memo warm
    push(client, "acme/charts/db")  # a new repository after the memo was built
    assert globex.get("/v2/acme/charts/db/manifests/1.0").status_code == 200
    assert licensed_repository_names(customer_id=customer.id) == {
        "acme/charts/db",
        "acme/charts/web",
    }
    assert license_coverage(license=license) == {
        "acme/charts/*": ["acme/charts/db:1.0", "acme/charts/web:1.0"]
    }


def test_pattern_grant_cannot_be_bent_to_other_repositories(client, customer, globex):
    license_grant(customer, "acme/charts/*", "glob:*")
    for repo in ("acme/charts/web", "acme/charts-evil/x", "acme/chartsx", "acme/charts/a/b"):
        push(client, repo)
    umbrella = vendor_create(slug="umbrella", name="Umbrella")[0]
    theirs = Client(
        HTTP_AUTHORIZATION=basic(token_mint(vendor=umbrella, kind="push", name="ci").secret)
    )
    push(theirs, "umbrella/charts/x")
    assert globex.get("/v2/acme/charts/web/manifests/1.0").status_code == 200
    for repo in ("acme/charts-evil/x", "acme/chartsx", "acme/charts/a/b"):
        denied(
            globex.get(f"/v2/{repo}/manifests/1.0"),
            f"no license of yours covers {repo}",
        )
    denied(
        globex.get("/v2/umbrella/charts/x/manifests/1.0"),
        "pull token may not pull umbrella/charts/x",
    )
    assert globex.get("/v2/_catalog").json() == {"repositories": ["acme/charts/web"]}


def invalid_name(name: str) -> dict:
    return {
        "errors": [
            {
                "code": "NAME_INVALID",
                "message": f"invalid repository name {name!r}",
                "detail": {"name": name},
            }
        ]
    }


@pytest.mark.parametrize(
    "path, status, body",
    [
        ("/v2/ACME/charts/web/manifests/1.0", 400, invalid_name("ACME/charts/web")),
        ("/v2/acme/Charts/web/manifests/1.0", 400, invalid_name("acme/Charts/web")),
        (
            "/v2/acme/charts/%2e%2e/charts-evil/x/manifests/1.0",
            400,
            invalid_name("acme/charts/../charts-evil/x"),
        ),
        (
            "/v2/acme/charts/../charts-evil/x/manifests/1.0",
            400,
            invalid_name("acme/charts/../charts-evil/x"),
        ),
        # An encoded "/" is a "/": the name is acme/charts/a/b, two levels down.
        ("/v2/acme/charts%2Fa/b/manifests/1.0", 403, None),
        ("/v2/acme/charts/a%2Fb/manifests/1.0", 403, None),
    ],
)
def test_bent_names_reach_nothing(client, customer, globex, path, status, body):
    license_grant(customer, "acme/charts/*", "glob:*")
    for repo in ("acme/charts/web", "acme/charts-evil/x", "acme/charts/a/b"):
        push(client, repo)
    response = globex.get(path)
    assert response.status_code == status
    if body is None:
        denied(response, "no license of yours covers acme/charts/a/b")
    else:
        assert response.json() == body


def test_deep_pattern_and_another_customers_pattern(client, customer, globex):
    license_grant(customer, "acme/charts/**", "exact:1.0")
    initial = customer_create(vendor=customer.vendor, slug="initial", name="Initial")[0]
    license_grant(initial, "acme/**", "glob:*")
    push(client, "acme/charts/a/b/c")
    push(client, "acme/other")
    assert globex.get("/v2/acme/charts/a/b/c/manifests/1.0").status_code == 200
    denied(globex.get("/v2/acme/other/manifests/1.0"), "no license of yours covers acme/other")
    assert globex.get("/v2/_catalog").json() == {"repositories": ["acme/charts/a/b/c"]}
