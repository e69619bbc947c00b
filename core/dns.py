"""The DNS resolver distr's own lookups use (domain ownership checks, webhook targets):
the nameservers in DISTR_DNS_NAMESERVERS (`host` or `host:port`), else the system's, with
DISTR_DNS_TIMEOUT_SECONDS for the whole lookup."""

import dns.nameserver
import dns.resolver
from django.conf import settings


def dns_resolver() -> dns.resolver.Resolver:
    configured = settings.DISTR_DNS_NAMESERVERS
    resolver = dns.resolver.Resolver(configure=not configured)
    if configured:
        servers = []
        for entry in configured:
            address, _, port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
            servers.append(dns.nameserver.Do53Nameserver(address, int(port or 53)))
        resolver.nameservers = servers
    resolver.lifetime = settings.DISTR_DNS_TIMEOUT_SECONDS
    return resolver
