"""Shared by the WSGI entry point's tests."""

import pytest
from django.conf import settings
from django.test import Client

from distr import wsgi
from tests.conftest import basic


@pytest.fixture
def django_handler_calls(monkeypatch):
    """The paths of the requests that reached Django's registry (short-chain) handler."""
    calls = []
    real = wsgi._registry

    def counting(environ, start_response):
        calls.append(environ["PATH_INFO"])
        return real(environ, start_response)

    monkeypatch.setattr(wsgi, "_registry", counting)
    return calls


def jwt_for(secret: str, scope: str = "repository:acme/app:pull") -> str:
    """A registry JWT for the token `secret` (Basic at /v2/token)."""
    response = Client().get(
        "/v2/token",
        {"service": settings.REGISTRY_SERVICE, "scope": scope},
        HTTP_AUTHORIZATION=basic(secret),
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]
