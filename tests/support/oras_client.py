"""oras-py (the `oras` PyPI SDK) against the live registry over plain HTTP.

The client runs the SDK's own authentication code: `oras.auth.TokenAuth` as installed,
with Basic credentials for the token endpoint and nothing patched (see "oras-py" in
docs/authentication.md for why an unmodified client pushes to distr)."""

import oras.client
import oras.provider


class FailFastOrasClient(oras.client.OrasClient):
    """An OrasClient without oras-py's retry decorator on `do_request`: that decorator sleeps
    3+5+11+29+83 s on connection errors *and on HTTP 500*, so a registry bug would turn
    into a two-minute hang instead of an immediate failure.

    This is not an authentication change: the undecorated `do_request` is the SDK's own
    (401/403 handling included), only the retries with their sleeps are gone."""

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
        # Token flow: on its first 401 the SDK fetches a JWT from /v2/token with these
        # Basic credentials, caches it and re-sends it on later challenges.
        client.auth.set_basic_auth(*credentials)
    return client
