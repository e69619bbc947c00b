"""Set-up shared by the browser tests: users, domains and content on the live server."""

import re

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from customers.models import CustomerMember, VendorMember
from portal.models import Branding, VendorDomain
from tests.support.oci_layout import image_layout
from tests.support.skopeo import skopeo

PASSWORD = "correct horse battery staple"  # noqa: S105 - test accounts


def portal_url(live_registry, host: str, path: str = "/") -> str:
    return f"http://{host}:{live_registry.port}{path}"


def make_user(email: str):
    user = get_user_model().objects.create_user(
        username=email.split("@")[0] + "-" + email.split("@")[1], email=email, password=PASSWORD
    )
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def staff(vendor, email: str, role: str = "admin"):
    user = make_user(email)
    VendorMember.objects.create(vendor=vendor, user=user, role=role)
    return user


def customer_user(customer, email: str, role: str = "admin"):
    user = make_user(email)
    CustomerMember.objects.create(customer=customer, user=user, role=role)
    return user


def brand(vendor, host: str, **fields):
    VendorDomain.objects.create(vendor=vendor, host=host, verified_at=timezone.now())
    Branding.objects.update_or_create(vendor=vendor, defaults=fields)


def push_image(live_registry, repo_name: str, tmp_path, tag: str, sizes=(300, 700)):
    layout = image_layout(tmp_path / f"src-{tag}", list(sizes), tag=tag)
    skopeo(
        "copy",
        "--preserve-digests",
        "--dest-tls-verify=false",
        layout.ref,
        f"docker://{live_registry.host}/{repo_name}:{tag}",
    )
    return layout


def pull_image(live_registry, repo_name: str, tag: str, creds: str, target):
    return skopeo(
        "copy",
        "--preserve-digests",
        "--src-tls-verify=false",
        f"--src-creds={creds}",
        f"docker://{live_registry.host}/{repo_name}:{tag}",
        f"oci:{target}:{tag}",
        auth={},
    )


def sign_in(page, url: str, email: str, password: str = PASSWORD):
    page.goto(url)
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_load_state()


def link_in(message) -> str:
    body = message.get_payload(decode=True).decode()
    return re.search(r"https?://\S+/invite/\S+/", body).group(0)
