"""Where a delivery may go (the SSRF rule) and how it gets there.

At registration: only http(s) URLs with a host and no credentials. At delivery: the host
is resolved once; if any answer is loopback, link-local, private, multicast, unspecified,
reserved or otherwise not globally routable, the delivery is refused (recorded as failed,
not retried) unless the operator set WEBHOOK_ALLOW_PRIVATE_TARGETS. The connection then
goes to the address that was checked, with the original Host header (and TLS SNI and
certificate check against the host name), so a second DNS answer cannot rebind it."""

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import dns.exception
import dns.nameserver
import dns.resolver
from django.conf import settings

from core.dns import dns_resolver


class TargetInvalid(ValueError):
    """A URL that can never be a webhook target (message is safe to show)."""


class TargetRefused(Exception):
    """This delivery may not go there: permanent, not retried."""


class TransportError(Exception):
    """Could not get an answer (DNS failure, connect, timeout, TLS): retried."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query


def target_parse(url: str) -> Target:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise TargetInvalid("the URL must start with http:// or https://")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise TargetInvalid("the URL must not contain credentials")
    if not parts.hostname:
        raise TargetInvalid("the URL needs a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetInvalid("the port is not a number between 0 and 65535") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme=parts.scheme, host=parts.hostname.lower(), port=port, path=path)


def address_refused(address: str) -> str:
    """Why `address` may not be a target ("" when it may)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for flag in (  # most specific first: 0.0.0.0 and 240/4 are "private" too
        "is_unspecified",
        "is_loopback",
        "is_link_local",
        "is_multicast",
        "is_reserved",
        "is_private",
    ):
        if getattr(ip, flag):
            return f"{address} is {flag.removeprefix('is_').replace('_', '-')}"
    if not ip.is_global:
        return f"{address} is not globally routable"
    return ""


def resolve(host: str) -> list[str]:
    """Every address `host` resolves to (one lookup per delivery)."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    if settings.DISTR_DNS_NAMESERVERS:
        addresses: list[str] = []
        resolver = dns_resolver()
        for rdtype in ("A", "AAAA"):
            try:
                answer = resolver.resolve(host, rdtype, search=False)
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                continue
            except dns.exception.DNSException as error:
                raise TransportError(
                    f"DNS lookup of {host} failed ({type(error).__name__})"
                ) from None
            addresses += [r.address for r in answer]
    else:
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except OSError as error:
            raise TransportError(f"DNS lookup of {host} failed ({error})") from None
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise TransportError(f"{host} has no address")
    return addresses


def addresses_checked(target: Target) -> list[str]:
    addresses = resolve(target.host)
    if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        for address in addresses:
            if why := address_refused(address):
                raise TargetRefused(f"refused: {target.host} resolves to {why}")
    return addresses


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str
    address: str


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to a given address; Host stays the URL's host."""

    def __init__(self, host, port, *, address: str, connect_timeout: float, **kwargs):
        super().__init__(host, port, timeout=connect_timeout, **kwargs)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    default_port = 443

    def connect(self):
        super().connect()
        context = ssl.create_default_context(cafile=settings.WEBHOOK_CA_FILE or None)
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)  # SNI + check


def send(*, target: Target, addresses: list[str], body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to the first of `addresses` that accepts a connection, within
    WEBHOOK_CONNECT_TIMEOUT_SECONDS to connect and WEBHOOK_TIMEOUT_SECONDS in all."""
    deadline = time.monotonic() + settings.WEBHOOK_TIMEOUT_SECONDS
    errors = []
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        connection = cls(
            target.host,
            target.port,
            address=address,
            connect_timeout=min(settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS, remaining),
        )
        try:
            connection.connect()
        except (OSError, ssl.SSLError) as error:
            errors.append(f"{address}: {error}")
            connection.close()
            continue
        return _exchange(connection, target, address, body, headers, deadline)
    raise TransportError("connect failed: " + "; ".join(errors) if errors else "timed out")


def _exchange(connection, target, address, body, headers, deadline) -> Answer:
    # The total timeout holds even against a server that answers one byte at a time: at
    # the deadline the socket is shut down under the reader.
    timer = threading.Timer(max(deadline - time.monotonic(), 0), _shutdown, [connection])
    timer.daemon = True
    timer.start()
    try:
        connection.sock.settimeout(max(deadline - time.monotonic(), 0.001))
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(500).decode("utf-8", "replace")
        return Answer(status=response.status, excerpt=excerpt, address=address)
    except (OSError, http.client.HTTPException, ssl.SSLError) as error:
        if time.monotonic() >= deadline - 0.01:
            raise TransportError(
                f"timed out after {settings.WEBHOOK_TIMEOUT_SECONDS:g} s"
            ) from None
        raise TransportError(f"{type(error).__name__}: {error}") from None
    finally:
        timer.cancel()
        connection.close()


def _shutdown(connection) -> None:
    try:
        connection.sock.shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError):
        pass
