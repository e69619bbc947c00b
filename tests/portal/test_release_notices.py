"""Release emails: a customer user who opted in on the Artifacts page gets one email per
release their licenses cover, in the vendor's brand, with the pull command."""

import time

import pytest
from django.conf import settings
from django.core import mail

from customers.models import AuditEvent, CustomerMember
from customers.services import customer_create, customer_set_suspended
from portal.notices import release_notices_send
from portal.tenancy import portal_base_url
from tests.conftest import license_grant
from tests.portal.conftest import customer_user, sign_in
from tests.support.registry_client import image_manifest, put_manifest

pytestmark = pytest.mark.django_db


def push(client, repository: str, tag: str, note: str = "") -> str:
    _, raw = image_manifest(client, repository, annotations={"t": tag + note})
    response = put_manifest(client, repository, tag, raw)
    assert response.status_code == 201
    return response["Docker-Content-Digest"]


def opted_in(customer, email: str):
    user = customer_user(customer, email, "member")
    CustomerMember.objects.filter(user=user).update(release_notices=True)
    return user


def send(repository: str, tag: str, vendor) -> int:
    return release_notices_send(vendor_id=vendor.id, repository_name=repository, tag=tag)


def test_the_artifacts_page_turns_release_emails_on_and_off(acme, customer, globex_admin):
    page = sign_in(globex_admin, acme)
    assert 'name="release_notices">' in page.get("/p/acme/artifacts/").content.decode()
    response = page.post("/p/acme/artifacts/notices", {"release_notices": "on"})
    assert (response.status_code, response["Location"]) == (302, "/p/acme/artifacts/")
    assert CustomerMember.objects.get(user=globex_admin).release_notices is True
    assert 'name="release_notices" checked>' in page.get("/p/acme/artifacts/").content.decode()
    page.post("/p/acme/artifacts/notices", {})
    assert CustomerMember.objects.get(user=globex_admin).release_notices is False
    changes = AuditEvent.objects.filter(action="member.notices_changed").order_by("pk")
    assert [e.details["release_notices"] for e in changes] == [True, False]


def test_a_covered_release_is_emailed_once_with_its_pull_command(acme, customer, client):
    license_grant(customer, "acme/app", "semver:>=1.0,<2")
    user = opted_in(customer, "dev@globex.test")
    digest = push(client, "acme/app", "1.2.0")
    assert send("acme/app", "1.2.0", acme) == 1
    (message,) = mail.outbox
    assert message.to == [user.email]
    assert message.subject == "[Acme Software] New release: acme/app:1.2.0"
    assert f"docker pull {settings.REGISTRY_SERVICE}/acme/app:1.2.0" in message.body
    assert digest in message.body
    assert f"{portal_base_url(vendor=acme)}/artifacts/\n" in message.body  # its verified domain
    push(client, "acme/app", "1.2.0", note="rebuilt")  # the same release pushed again
    assert send("acme/app", "1.2.0", acme) == 0
    assert len(mail.outbox) == 1


def test_nobody_is_told_of_what_they_may_not_pull(acme, customer, client):
    license_grant(customer, "acme/app", "semver:>=1.0,<2")
    opted_in(customer, "dev@globex.test")
    customer_user(customer, "quiet@globex.test", "member")  # not opted in
    other, _ = customer_create(vendor=acme, slug="initech")
    opted_in(other, "dev@initech.test")  # no license
    push(client, "acme/app", "2.0.0")
    push(client, "acme/app", "latest")
    assert send("acme/app", "2.0.0", acme) == 0  # outside the semver range
    assert send("acme/app", "latest", acme) == 0  # not a release
    push(client, "acme/app", "1.3.0")
    customer_set_suspended(customer=customer, suspended=True)
    assert send("acme/app", "1.3.0", acme) == 0
    assert mail.outbox == []


def test_the_push_schedules_the_notice_after_commit(
    acme, customer, client, django_capture_on_commit_callbacks
):
    license_grant(customer, "acme/app", "glob:*")
    opted_in(customer, "dev@globex.test")
    with django_capture_on_commit_callbacks() as callbacks:
        push(client, "acme/app", "3.1.0")
    notices = [c for c in callbacks if getattr(c, "__qualname__", "").startswith("on_audit")]
    assert len(notices) == 1
    with django_capture_on_commit_callbacks() as callbacks:
        push(client, "acme/app", "nightly")
    assert [c for c in callbacks if getattr(c, "__qualname__", "").startswith("on_audit")] == []


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_a_thread_sends_it_after_the_push(acme, customer, client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    license_grant(customer, "acme/app", "glob:*")
    opted_in(customer, "dev@globex.test")
    push(client, "acme/app", "4.0.0")
    deadline = time.monotonic() + 10
    while not mail.outbox and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [m.subject for m in mail.outbox] == ["[Acme Software] New release: acme/app:4.0.0"]
