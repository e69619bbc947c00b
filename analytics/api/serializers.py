"""Input filters and output shapes of the analytics API (the output serializers document
the OpenAPI schema; views return the selectors' dicts as they are)."""

from rest_framework import serializers

from analytics.selectors import MAX_RANGE_DAYS, QUIET_DAYS


class PeriodFilterSerializer(serializers.Serializer):
    days = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_RANGE_DAYS, help_text="last N days (30)"
    )
    start = serializers.DateField(required=False, help_text="first day (UTC), inclusive")
    end = serializers.DateField(required=False, help_text="last day (UTC), inclusive")
    repository = serializers.CharField(required=False, help_text="e.g. acme/app")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=10)
    vendor = serializers.CharField(
        required=False, help_text="vendor slug, for staff of several vendors (session only)"
    )


class QuietFilterSerializer(serializers.Serializer):
    days = serializers.IntegerField(required=False, min_value=1, max_value=365, default=QUIET_DAYS)
    vendor = serializers.CharField(required=False)


class _Period(serializers.Serializer):
    vendor = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()


class DailyPullsSerializer(serializers.Serializer):
    day = serializers.DateField()
    pulls = serializers.IntegerField()


class TopCustomerSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField()
    customer = serializers.CharField()
    customer_name = serializers.CharField()
    pulls = serializers.IntegerField()
    last_pull = serializers.DateField()


class TopRepositorySerializer(serializers.Serializer):
    repository = serializers.CharField()
    pulls = serializers.IntegerField()


class TopTagSerializer(serializers.Serializer):
    repository = serializers.CharField()
    tag = serializers.CharField()
    pulls = serializers.IntegerField()


class AdoptionSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField()
    customer = serializers.CharField()
    customer_name = serializers.CharField()
    repository = serializers.CharField()
    newest_tag = serializers.CharField()
    latest_tag = serializers.CharField(
        allow_null=True, help_text="newest release the customer's licenses cover"
    )
    behind = serializers.IntegerField(
        allow_null=True, help_text="covered releases newer than newest_tag"
    )
    last_pull = serializers.DateField()


class QuietCustomerSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField()
    customer = serializers.CharField()
    customer_name = serializers.CharField()
    last_pull = serializers.DateField(allow_null=True)
    licenses = serializers.ListField(child=serializers.CharField())


class HistorySerializer(serializers.Serializer):
    day = serializers.DateField()
    repository = serializers.CharField()
    tag = serializers.CharField()
    pulls = serializers.IntegerField()


class RollupSerializer(serializers.Serializer):
    day = serializers.DateField()
    customer = serializers.CharField()
    repository = serializers.CharField()
    tag = serializers.CharField()
    digest = serializers.CharField()
    pulls = serializers.IntegerField()
    distinct_tokens = serializers.IntegerField()
    distinct_addresses = serializers.IntegerField()


def envelope(name: str, row: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """{vendor, start, end, results: [row]}: every analytics response."""
    return type(name, (_Period,), {"results": row(many=True), "__module__": __name__})
