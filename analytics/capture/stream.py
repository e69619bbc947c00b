"""The Redis stream pull events travel through, and the clients that talk to it.

The web side (capture) uses a client with short socket timeouts behind a circuit breaker:
after one failure it stops trying Redis for ANALYTICS_REDIS_RETRY_SECONDS, so a dead Redis
costs one timeout per process per period, not one per pull. The worker side (ingestion)
uses ordinary timeouts: it may wait, a pull may not.
"""

import os
import socket
import threading
import time

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

GROUP = "ingest"


def analytics_redis_enabled() -> bool:
    return bool(settings.ANALYTICS_REDIS_URL)


def stream_key() -> str:
    return settings.ANALYTICS_STREAM


class CircuitBreaker:
    def __init__(self) -> None:
        self._open_until = 0.0

    def allows(self) -> bool:
        return time.monotonic() >= self._open_until

    def trip(self, seconds: float) -> None:
        self._open_until = time.monotonic() + seconds

    def reset(self) -> None:
        self._open_until = 0.0


capture_breaker = CircuitBreaker()
_clients: dict[tuple, redis.Redis] = {}
_clients_lock = threading.Lock()


def _client(url: str, timeout: float) -> redis.Redis:
    key = (url, timeout, os.getpid())  # a forked process builds its own pool
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key) or redis.Redis.from_url(
                url,
                socket_connect_timeout=timeout,
                socket_timeout=timeout,
                retry=Retry(NoBackoff(), 0),  # one attempt: the fallback is the retry
                health_check_interval=0,
            )
            _clients[key] = client
    return client


def capture_client() -> redis.Redis:
    return _client(settings.ANALYTICS_REDIS_URL, settings.ANALYTICS_REDIS_TIMEOUT_SECONDS)


def worker_client() -> redis.Redis:
    return _client(settings.ANALYTICS_REDIS_URL, 10.0)


def consumer_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def group_ensure(client: redis.Redis) -> None:
    """Create the consumer group (from the stream's start, so nothing already appended is
    skipped) unless it exists."""
    try:
        client.xgroup_create(stream_key(), GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
