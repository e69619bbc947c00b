"""schemathesis against the live OpenAPI schema: generated requests (valid and invalid)
to every REST endpoint never get a 500, and every answer matches the schema: its status
is documented, its content type is the documented one and its body has the documented
shape; and chained calls (stateful, links inferred from the schema) with the identifiers
earlier answers returned. Runs on the suite's database (SQLite locally, PostgreSQL in
CI)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from customers.services import customer_create, token_mint
from licensing.services import grant_add, license_create


@pytest.fixture
def api_headers(vendor):
    """A write token and a little of everything for the generated requests to find."""
    customer, _ = customer_create(vendor=vendor, slug="globex", name="Globex")
    license = license_create(vendor=vendor, customer=customer, name="Gold")
    grant_add(license=license, repository_name="acme/app", tag_rule="glob:*")
    secret = token_mint(vendor=vendor, kind="api", name="fuzz", scopes=["write"]).secret
    return {"Authorization": f"Bearer {secret}"}


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_every_endpoint_answers_as_its_schema_says(live_registry, api_headers):
    # schemathesis' pytest loader (from_fixture) does not run on pytest 9; hypothesis
    # drives each operation's strategy directly instead.
    schema = schemathesis.openapi.from_url(f"{live_registry.url}/api/schema/").include(
        path_regex=r"^/api/v1/(?!analytics/)"
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30  # the whole API, not an empty or broken schema

    for operation in operations:

        @settings(
            max_examples=30,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate(headers=api_headers, checks=CHECKS, timeout=30)

        check()


def test_chained_calls_answer_as_the_schema_says(live_registry, api_headers, vendor):
    """Stateful: schemathesis links operations from the schema (a created customer's slug
    into its detail, update, suspend, delete; a license's id into its grants...) and runs
    call sequences with real identifiers, which reach what random ones 404 on."""
    schema = schemathesis.openapi.from_url(f"{live_registry.url}/api/schema/").include(
        path_regex=r"^/api/v1/(?!analytics/)"
    )
    base = schema.as_state_machine()
    assert base.bundles  # links were found: there are resources to chain

    marks = _row_marks(vendor)

    class Machine(base):
        def setup(self):
            # Every example starts from the same server state. Hypothesis replays choice
            # sequences and requires the same sequence to draw the same way; a customer
            # slug taken by an earlier example (409, nothing in the bundle) breaks that.
            _rows_since_marks_delete(vendor, marks)

        def get_call_kwargs(self, case):
            return {"headers": api_headers, "timeout": 30}

        def validate_response(self, response, case, **kwargs):
            case.validate_response(response, checks=CHECKS)

    Machine.run(
        settings=settings(
            max_examples=40,
            stateful_step_count=6,
            deadline=None,
            database=None,
            # The server keeps state between examples, so a replay is not the same run:
            # shrinking would report hypothesis' Flaky instead of the failing call.
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )


# Rows the generated calls may create are deleted between examples; audit and pull history
# stay: nothing the generated calls decide depends on them.
_KEEP = {"customers.AuditEvent", "analytics.PullEvent", "analytics.PullRollup"}


def _vendor_models():
    from django.apps import apps

    from customers.models import Vendor

    return [
        model
        for model in apps.get_models()
        if model._meta.label not in _KEEP
        and any(f.is_relation and f.related_model is Vendor for f in model._meta.fields)
    ]


def _row_marks(vendor) -> dict:
    return {
        m: set(m.objects.filter(vendor=vendor).values_list("pk", flat=True))
        for m in _vendor_models()
    }


def _rows_since_marks_delete(vendor, marks: dict) -> None:
    for model, kept in marks.items():
        model.objects.filter(vendor=vendor).exclude(pk__in=kept).delete()
