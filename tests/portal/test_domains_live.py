"""Domain verification and the host gate on a live install (gunicorn workers, with
`manage.py verifydomains` and the console's services run in other processes): a pending
domain is refused, the documented DNS TXT record verifies it, every worker serves it from
the next request on, mail links use it, and its removal stops it. A forged Host never
reaches a view, so a reset requested with one mails nothing."""

import re

import pytest
import requests

from tests.support.dns_server import TxtDnsServer
from tests.support.install import Install, postgres_available
from tests.support.requirements import require

HOST = "downloads.acme.test"
EMAIL, PASSWORD = "admin@acme.test", "a long test password 7"
ROUNDS = 12  # requests per check: gunicorn spreads them over its workers


@pytest.fixture(params=["embedded", "postgres+redis"])
def live(request):
    if request.param == "postgres+redis":
        require(postgres_available(), "PostgreSQL on 127.0.0.1:5432 (the postgres+redis shape)")
    with TxtDnsServer() as dns:
        install = Install(
            request.param,
            extra_env={"DISTR_DNS_NAMESERVERS": dns.address, "WEB_CONCURRENCY": "2"},
        )
        try:
            install.prepare()
            install.token = install.python(
                "from allauth.account.models import EmailAddress\n"
                "from django.contrib.auth import get_user_model\n"
                "from customers.models import VendorMember\n"
                "from customers.services import vendor_create\n"
                "from portal.models import Branding\n"
                "from portal.services import domain_add\n"
                "vendor = vendor_create(slug='acme', name='Acme Corp')[0]\n"
                "Branding.objects.create(vendor=vendor, display_name='Acme Software')\n"
                f"user = get_user_model().objects.create_user({EMAIL!r}, {EMAIL!r}, {PASSWORD!r})\n"
                f"EmailAddress.objects.create(user=user, email={EMAIL!r}, verified=True,"
                " primary=True)\n"
                "VendorMember.objects.create(vendor=vendor, user=user, role='admin')\n"
                f"print(domain_add(vendor=vendor, host={HOST!r}, added_by=user).token)\n"
            ).split()[-1]
            install.dns = dns
            install.start()
            yield install
        finally:
            install.stop()


def statuses(install, host: str, path: str = "/accounts/login/") -> set[int]:
    return {
        requests.get(f"{install.url}{path}", headers={"Host": host}, timeout=10).status_code
        for _ in range(ROUNDS)
    }


def reset(install, host: str, path: str):
    session = requests.Session()
    url = f"{install.url}{path}"
    page = session.get(url, headers={"Host": host}, timeout=10)
    assert page.status_code == 200, page.text[:300]
    return session.post(
        url,
        data={"email": EMAIL, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Host": host},
        allow_redirects=False,
        timeout=10,
    )


def test_a_domain_serves_only_once_verified_across_processes(live):
    domain_host = f"{HOST}:{live.port}"
    assert statuses(live, domain_host) == {400}  # pending: inert

    # A forged Host never reaches allauth: no reset mail at all.
    forged = requests.post(
        f"{live.url}/p/acme/accounts/password/reset/",
        data={"email": EMAIL},
        headers={"Host": "attacker.example"},
        timeout=10,
    )
    assert (forged.status_code, forged.text) == (400, "Unknown host.\n")

    result = live.manage("verifydomains", HOST, check=False)
    assert result.returncode == 1 and f"no TXT record at _distr-challenge.{HOST}" in result.stdout
    assert statuses(live, domain_host) == {400}

    live.dns.txt[f"_distr-challenge.{HOST}"] = [live.token]
    result = live.manage("verifydomains")  # another process, as cron or Celery beat would
    assert f"{HOST} (acme): verified" in result.stdout
    assert statuses(live, domain_host) == {200}  # every worker, from the next request on
    page = requests.get(f"{live.url}/accounts/login/", headers={"Host": domain_host}, timeout=10)
    assert "Acme Software" in page.text

    assert reset(live, domain_host, "/accounts/password/reset/").status_code == 302
    assert reset(live, "localhost", "/p/acme/accounts/password/reset/").status_code == 302

    live.python(
        "from portal.models import VendorDomain\n"
        "from portal.services import domain_remove\n"
        f"domain_remove(domain=VendorDomain.objects.get(host={HOST!r}))\n"
    )
    assert statuses(live, domain_host) == {400}

    live.stop_server()
    mail = live.log_path.read_text()
    links = re.findall(r"https?://[^\s\"'<>]+/password/reset/key/[^\s\"'<>]+", mail)
    assert len(links) == 2, links
    # Requested on the verified domain: that domain (with the public URL's scheme and
    # port); requested on a loopback alias: the public URL. Never the attacker's host.
    assert links[0].startswith(f"http://{HOST}:{live.port}/accounts/password/reset/key/")
    assert links[1].startswith(f"{live.url}/p/acme/accounts/password/reset/key/")
    assert not re.search(r"https?://attacker\.example", mail)
