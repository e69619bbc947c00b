"""`?format=csv`: the same table as the JSON `results`, as CSV."""

from rest_framework import renderers

from analytics.exports import rows_to_csv


class CSVRenderer(renderers.BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, dict) and "results" in data:
            return rows_to_csv(data["results"], data.get("columns"))
        return rows_to_csv([data] if isinstance(data, dict) else [])
