"""Which Host headers this install answers, checked before any view runs.

Accepted: the hosts of `DISTR_ALLOWED_HOSTS` (the public URL's host, the loopback aliases,
the operator's ALLOWED_HOSTS; no database read) and vendors' *verified* portal domains
(one indexed query, read per request, so a domain verified or removed in any process
counts from the next request on: docs/coherence.md). Anything else is a 400, so nothing
downstream (redirects, CSRF, allauth, the registry) ever sees a forged Host.

The vendor a verified domain belongs to is kept on the request (`host_vendor`, with the
domain as `host_domain`), so the portal's tenancy middleware does not read it again.
"""

import ipaddress
import logging

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpResponseBadRequest
from django.http.request import split_domain_port, validate_host

from portal.tenancy import vendor_for_host

logger = logging.getLogger("django.security.DisallowedHost")


def host_is_reserved(host: str) -> bool:
    """A host the operator configured (the public URL's, a loopback alias, an ALLOWED_HOSTS
    entry or pattern): never a vendor's domain. A bare `*` reserves nothing."""
    patterns = [p for p in settings.DISTR_ALLOWED_HOSTS if p and p != "*"]
    return validate_host(host, patterns)


def host_is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class HostGateMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.host_vendor = request.host_domain = None
        try:
            domain, _ = split_domain_port(request.get_host())
        except DisallowedHost:  # malformed (ALLOWED_HOSTS is "*", so nothing else)
            domain = ""
        if domain and validate_host(domain, settings.DISTR_ALLOWED_HOSTS):
            return self.get_response(request)
        vendor = vendor_for_host(domain) if domain else None
        if vendor is None:
            logger.warning("Refused a request for unknown host %r", domain or "(malformed)")
            return HttpResponseBadRequest(b"Unknown host.\n", content_type="text/plain")
        request.host_vendor, request.host_domain = vendor, domain
        return self.get_response(request)
