"""Domain ownership: the DNS TXT lookup behind `domain_verify` (portal/services.py).

A vendor proves it controls a host by publishing its domain's token in a TXT record at
`_distr-challenge.<host>`, as ACME's DNS-01 does. DNS rather than a file served over HTTP:
a claimed host already pointing at this install would serve whatever distr serves there,
so an HTTP token would prove only that the host reaches distr, not who owns it.
"""

import dns.exception
import dns.nameserver
import dns.resolver

from core.dns import dns_resolver


class DomainCheckError(Exception):
    """The lookup itself failed (timeout, SERVFAIL): try again later."""


def txt_values(name: str) -> list[str]:
    """The TXT strings at `name` (each record's character-strings joined); [] if none."""
    try:
        answer = dns_resolver().resolve(name, "TXT", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as error:
        raise DomainCheckError(f"DNS lookup of {name} failed ({type(error).__name__})") from error
    return [b"".join(record.strings).decode("utf-8", "replace").strip() for record in answer]
