"""The customers app's management commands: createvendor, createcustomer, createtoken,
revoketoken."""

import datetime
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from customers.models import AccessToken, Customer, Vendor
from customers.selectors import token_authenticate
from customers.tokens import secret_prefix
from tests.conftest import basic

SECRET = re.compile(r"distr_(push|pull)_[A-Za-z0-9]{43}")


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_createvendor_and_createcustomer_are_idempotent():
    assert run("createvendor", "initech", "--name", "Initech") == "created: vendor initech\n"
    assert run("createvendor", "initech") == "exists: vendor initech\n"
    assert Vendor.objects.get(slug="initech").name == "Initech"
    assert run("createcustomer", "initech", "globex") == "created: customer globex of initech\n"
    assert run("createcustomer", "initech", "globex") == "exists: customer globex of initech\n"
    assert Customer.objects.filter(vendor__slug="initech", slug="globex").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [
        ("createvendor", "Not A Slug"),
        ("createvendor", "a/b"),
        ("createcustomer", "nobody", "globex"),
        ("createcustomer", "acme", "UPPER"),
    ],
)
def test_create_commands_refuse_bad_input(vendor, args):
    with pytest.raises(CommandError):
        run(*args)
    assert Vendor.objects.count() == 1
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_createtoken_prints_only_a_secret_that_authenticates(vendor):
    output = run("createtoken", "--vendor", "acme", "--kind", "push", "--name", "ci")
    secret = output.strip()
    assert output == secret + "\n"
    assert SECRET.fullmatch(secret)
    token = token_authenticate(secret=secret)
    assert token is not None
    assert (token.kind, token.vendor_id, token.name, token.expires_at) == (
        "push",
        vendor.pk,
        "ci",
        None,
    )
    response = Client(HTTP_AUTHORIZATION=basic(secret)).get("/v2/_catalog")
    assert response.status_code == 200


@pytest.mark.django_db
def test_createtoken_pull_token_for_a_customer(customer):
    secret = run(
        "createtoken", "--vendor", "acme", "--customer", "globex", "--kind", "pull", "--name", "g"
    ).strip()
    assert secret.startswith("distr_pull_")
    token = token_authenticate(secret=secret)
    assert (token.kind, token.customer_id) == ("pull", customer.pk)


@pytest.mark.django_db
def test_createtoken_expires(vendor):
    secret = run(
        "createtoken", "--vendor", "acme", "--kind", "push", "--name", "x", "--expires", "1"
    ).strip()
    expires_at = AccessToken.objects.get(prefix=secret_prefix(secret)).expires_at
    expected = timezone.now() + datetime.timedelta(days=1)
    assert abs(expires_at - expected) < datetime.timedelta(minutes=1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [
        ("--vendor", "nobody", "--kind", "push", "--name", "x"),
        ("--vendor", "acme", "--kind", "pull", "--name", "x"),  # a pull token needs a customer
        ("--vendor", "acme", "--customer", "nobody", "--kind", "pull", "--name", "x"),
        ("--vendor", "acme", "--kind", "push", "--name", "x", "--expires", "0"),
        ("--vendor", "acme", "--kind", "push", "--name", "  "),
        ("--vendor", "acme", "--customer", "globex", "--kind", "push", "--name", "x"),
        (
            "--vendor",
            "acme",
            "--customer",
            "globex",
            "--kind",
            "pull",
            "--name",
            "x",
            "--repository",
            "app",
        ),
    ],
)
def test_createtoken_refuses_bad_input(customer, args):
    with pytest.raises(CommandError):
        run("createtoken", *args)
    assert AccessToken.objects.count() == 0


@pytest.mark.django_db
def test_revoketoken_by_prefix(push_secret):
    prefix = secret_prefix(push_secret)
    assert run("revoketoken", prefix) == f"revoked {prefix}\n"
    assert token_authenticate(secret=push_secret) is None
    assert run("revoketoken", prefix) == f"{prefix} was already revoked\n"


@pytest.mark.django_db
def test_revoketoken_by_whole_secret(push_secret):
    assert run("revoketoken", push_secret) == f"revoked {secret_prefix(push_secret)}\n"
    assert AccessToken.objects.get(prefix=secret_prefix(push_secret)).revoked_at is not None


@pytest.mark.django_db
def test_revoketoken_with_right_prefix_but_wrong_rest_revokes_nothing(push_secret):
    prefix = secret_prefix(push_secret)
    forged = prefix + "".join("a" if c != "a" else "b" for c in push_secret[len(prefix) :])
    assert secret_prefix(forged) == prefix
    with pytest.raises(CommandError):
        run("revoketoken", forged)
    assert token_authenticate(secret=push_secret) is not None


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["distr_push_00000000", "", "nonsense"])
def test_revoketoken_unknown(push_secret, value):
    with pytest.raises(CommandError):
        run("revoketoken", value)
    assert token_authenticate(secret=push_secret) is not None
