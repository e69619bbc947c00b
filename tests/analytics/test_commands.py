"""manage.py ingestpulls, pullreport and apitoken."""

import datetime
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from analytics.models import PullEventOutbox, PullRollup
from customers.models import AccessToken, AuditEvent
from customers.tokens import secret_prefix
from tests.analytics.conftest import pull_client


def test_ingestpulls_prints_how_many_it_stored(embedded_mode, licensed, customer, capsys):
    client = pull_client(customer)
    for _ in range(3):
        assert client.get("/v2/acme/app/manifests/1.0").status_code == 200
    assert PullEventOutbox.objects.count() == 3
    call_command("ingestpulls")
    assert capsys.readouterr().out == "stored 3 pull events\n"
    assert PullRollup.objects.get().pulls == 3
    call_command("ingestpulls")
    assert capsys.readouterr().out == "stored 0 pull events\n"


def test_pullreport_csv_and_json(embedded_mode, history, capsys):
    call_command("pullreport", "acme", "--days", "7")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "day,customer,repository,tag,digest,pulls,distinct_tokens,distinct_addresses"
    assert [line.split(",")[1:4] + line.split(",")[5:] for line in lines[1:]] == [
        ["globex", "acme/app", "1.0", "3", "1", "1"],
        ["globex", "acme/app", "2.0", "1", "1", "1"],
    ]
    call_command("pullreport", "acme", "--days", "90", "--format", "json")
    rows = json.loads(capsys.readouterr().out)
    assert sum(r["pulls"] for r in rows) == 7
    assert {r["customer"] for r in rows} == {"globex", "initech"}


def test_pullreport_refuses_unknown_vendor_and_bad_days(db):
    with pytest.raises(CommandError, match="no vendor 'nope'"):
        call_command("pullreport", "nope")


def test_apitoken_mints_a_working_token(embedded_mode, history, capsys):
    call_command("apitoken", "acme", "dashboards")
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("distr_api_")
    response = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/analytics/rollups")
    assert response.status_code == 200
    token = AccessToken.objects.get(prefix=secret_prefix(secret))
    assert (token.kind, token.scopes, token.expires_at) == ("api", ["read"], None)


def test_apitoken_scopes_and_expiry(db, vendor, capsys):
    call_command("apitoken", "acme", "crm", "--scope", "customers:write", "--expires", "30")
    secret = capsys.readouterr().out.strip()
    token = AccessToken.objects.get(prefix=secret_prefix(secret))
    assert token.scopes == ["customers:write"] and token.name == "crm"
    left = token.expires_at - timezone.now()
    assert datetime.timedelta(days=29, hours=23) < left <= datetime.timedelta(days=30)
    assert AuditEvent.objects.filter(
        action="token.created", target=f"token:{token.prefix}", actor="command:apitoken"
    ).exists()
    # customers:write does not read analytics.
    response = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/analytics/rollups")
    assert response.status_code == 403
    with pytest.raises(CommandError, match="1 or more"):
        call_command("apitoken", "acme", "crm", "--expires", "0")
    with pytest.raises(CommandError, match="no vendor"):
        call_command("apitoken", "nope", "crm")
