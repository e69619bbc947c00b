"""`PORT=… make run` with no DISTR_PUBLIC_URL: the token service in the challenge, the JWT
audience, the commands the portal shows and the links in mail all name that port."""

import base64
import json
import re

import requests

from tests.coherence.test_changes_across_processes import push_image
from tests.support.install import HttpClient, Install, portal_sign_in

USER, PASSWORD = "dev@globex.example", "a long test password 1"


def test_port_is_the_public_address_everywhere():
    install = Install("embedded")  # Install sets PORT only, as `PORT=… make run` does
    try:
        install.prepare()
        push_secret = install.manage("seeddemo").stdout.strip().splitlines()[-1]
        install.python(
            "from allauth.account.models import EmailAddress\n"
            "from django.contrib.auth import get_user_model\n"
            "from customers.models import CustomerMember, Vendor\n"
            "from customers.services import customer_create\n"
            "vendor = Vendor.objects.get(slug='acme')\n"
            "customer, _ = customer_create(vendor=vendor, slug='globex')\n"
            f"user = get_user_model().objects.create_user({USER!r}, {USER!r}, {PASSWORD!r})\n"
            f"EmailAddress.objects.create(user=user, email={USER!r}, verified=True, primary=True)\n"
            "CustomerMember.objects.create(customer=customer, user=user, role='admin')\n"
        )
        install.start()
        port = str(install.port)
        host = f"127.0.0.1:{port}"

        challenge = requests.get(f"{install.url}/v2/", timeout=10).headers["WWW-Authenticate"]
        assert challenge == f'Bearer realm="http://{host}/v2/token",service="{host}"'
        token = requests.get(
            f"{install.url}/v2/token",
            params={"service": host},
            auth=("ci", push_secret),
            timeout=10,
        ).json()["token"]
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        assert claims["aud"] == host

        repo = "acme/app"
        push_image(HttpClient(install.url, ("ci", push_secret)), repo, "1.0")
        install.python(
            "from customers.models import Customer\n"
            "from licensing.services import grant_add, license_create\n"
            "customer = Customer.objects.get(slug='globex')\n"
            "license = license_create(vendor=customer.vendor, customer=customer, name='L')\n"
            f"grant_add(license=license, repository_name={repo!r}, tag_rule='glob:*')\n"
        )
        session, _ = portal_sign_in(install.url, USER, PASSWORD)
        page = session.get(f"{install.url}/p/acme/artifacts/", timeout=10)
        assert page.status_code == 200
        commands = re.findall(r"(?:docker|helm|kubectl) [^<\n]*", page.text)
        assert any(f"docker pull {host}/{repo}:1.0" in c for c in commands), commands
        assert any(f"docker login {host}" in c for c in commands), commands
        assert "127.0.0.1:8000" not in page.text

        reset = f"{install.url}/p/acme/accounts/password/reset/"
        anonymous = requests.Session()
        anonymous.get(reset, timeout=10)
        response = anonymous.post(
            reset,
            data={"email": USER, "csrfmiddlewaretoken": anonymous.cookies["csrftoken"]},
            headers={"Referer": reset},
            timeout=10,
        )
        assert response.status_code == 200
        install.stop_server()
        mail = install.log_path.read_text()
        links = re.findall(r"http://[^\s\"']+/password/reset/key/[^\s\"']+", mail)
        assert links and all(link.startswith(f"http://{host}/p/acme/") for link in links), links
    finally:
        install.stop()
