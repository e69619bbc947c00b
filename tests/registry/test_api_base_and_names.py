"""The version check, unknown routes, unsupported methods and repository-name grammar."""

import pytest

from registry.models import Repository
from tests.support.registry_client import errors, sha256

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/v2/", "/v2"])
def test_base_endpoint(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"
    assert response.json() == {}


def test_unknown_registry_route_is_an_oci_404(client):
    response = client.get("/v2/acme/app/nonsense/x")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert errors(response) == ["NOT_FOUND"]


def test_unsupported_method_is_405_unsupported(client):
    response = client.post("/v2/acme/app/tags/list")
    assert response.status_code == 405
    assert errors(response) == ["UNSUPPORTED"]


@pytest.mark.parametrize(
    "name",
    [
        "Acme/App",  # upper case
        "acme//app",
        "acme/app/",
        "-acme/app",
        "acme/app-",
        "acme/../etc",
        "acme/..",
        "a" * 256,
        "acme/app_.x",
    ],
)
def test_invalid_names_are_refused_before_storage(client, name):
    for method, path in [
        ("post", f"/v2/{name}/blobs/uploads/"),
        ("get", f"/v2/{name}/tags/list"),
        ("get", f"/v2/{name}/manifests/v1"),
        ("get", f"/v2/{name}/blobs/{sha256(b'x')}"),
    ]:
        response = getattr(client, method)(path)
        assert response.status_code == 400, (method, path)
        assert errors(response) == ["NAME_INVALID"], (method, path)
    assert not Repository.objects.exists()


@pytest.mark.parametrize(
    "name", ["acme/app", "acme/b/c/d", "acme/my-app", "acme/my__app", "acme/c_d-e.f"]
)
def test_valid_names_are_accepted(client, name):
    response = client.post(f"/v2/{name}/blobs/uploads/")
    assert response.status_code == 202
    assert Repository.objects.filter(name=name).exists()
