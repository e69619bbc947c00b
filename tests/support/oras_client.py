"""oras-py (the `oras` PyPI SDK) against the live registry over plain HTTP."""

import oras.client
import oras.provider


class FailFastOrasClient(oras.client.OrasClient):
    """An OrasClient without oras-py's retry decorator on `do_request`: that decorator sleeps
    3+5+11+29+83 s on connection errors *and on HTTP 500*, so a registry bug would turn
    into a two-minute hang instead of an immediate failure."""

    do_request = oras.provider.Registry.do_request.__wrapped__


def oras_client(monkeypatch, tmp_path, credentials=None) -> FailFastOrasClient:
    """A client that reads no real docker config and may push files under `tmp_path`
    (oras-py only pushes files below the current directory, so this chdirs there).

    oras-py reads `~/.docker/config.json` (it ignores DOCKER_CONFIG), so HOME moves too."""
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DOCKER_CONFIG", str(home / ".docker"))
    monkeypatch.delenv("ORAS_USER", raising=False)
    monkeypatch.delenv("ORAS_PASS", raising=False)
    monkeypatch.chdir(tmp_path)
    client = FailFastOrasClient(insecure=True)
    if credentials:
        # Token flow: on a 401 the client fetches a JWT from our /v2/token with Basic
        # credentials. oras-py would re-send a cached pull-only token to a push challenge
        # (it ignores the challenge's scope), so make it refresh on every challenge.
        client.auth.set_basic_auth(*credentials)
        authenticate = client.auth.authenticate_request

        def authenticate_fresh(original, headers=None, refresh=False):
            return authenticate(original, headers=headers, refresh=True)

        client.auth.authenticate_request = authenticate_fresh
    return client
