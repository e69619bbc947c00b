"""Cursor pagination with `Link` headers (RFC 8288): a page never skips or repeats rows
when others are inserted meanwhile, and a client follows `rel="next"` without parsing
the body. `?ordering=` picks among the view's `ordering_fields` (DRF's OrderingFilter);
the cursor encodes the position in that order."""

from rest_framework.pagination import CursorPagination
from rest_framework.response import Response


class LinkCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500
    ordering = "-id"

    def get_paginated_response(self, data):
        links = []
        if (nxt := self.get_next_link()) is not None:
            links.append(f'<{nxt}>; rel="next"')
        if (prev := self.get_previous_link()) is not None:
            links.append(f'<{prev}>; rel="prev"')
        headers = {"Link": ", ".join(links)} if links else None
        return Response(
            {"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data},
            headers=headers,
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }
