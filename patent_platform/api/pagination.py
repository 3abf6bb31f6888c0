"""Cursor pagination on the primary key: no COUNT(*) on every page, stable under inserts.

Each page gives the `next` and `previous` links and, for a program that builds its own requests (a client
generated from the schema passes parameters, not URLs), the same positions as `next_cursor` and
`previous_cursor`: the value of the `cursor` parameter for that page, null at either end.
"""

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from patent_platform.api.problems import invalid_parameter
from patent_platform.api.renderers import RawJSON


def cursor_of(link: str | None, name: str) -> str | None:
    if not link:
        return None
    values = parse_qs(urlsplit(link).query).get(name)
    return values[0] if values else None


class IdCursorPagination(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request: Any) -> Any:
        """An invalid cursor is a bad parameter (400 naming `cursor`), not a missing page (DRF: 404)."""
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise invalid_parameter(
                self.cursor_query_param, _("游标无效：请使用上一页给出的 next_cursor。"), "invalid_cursor"
            ) from exc

    def _links(self) -> dict[str, Any]:
        next_link, previous_link = self.get_next_link(), self.get_previous_link()
        return {
            "next": next_link,
            "previous": previous_link,
            "next_cursor": cursor_of(next_link, self.cursor_query_param),
            "previous_cursor": cursor_of(previous_link, self.cursor_query_param),
        }

    def get_paginated_response(self, data: Any) -> Response:
        return Response({**self._links(), "results": data})

    def get_paginated_json_response(self, results: str) -> Response:
        """The same page as `get_paginated_response` for results that are a JSON array's text already (a list
        its database rendered): the envelope is encoded here and the text spliced in, not parsed again."""
        envelope = json.dumps(self._links(), ensure_ascii=False, separators=(",", ":"))
        return Response(RawJSON(f'{envelope[:-1]},"results":{results}}}'))

    def get_paginated_response_schema(self, schema: Any) -> dict[str, Any]:
        answer = super().get_paginated_response_schema(schema)
        cursor = {
            "type": "string",
            "nullable": True,
            "description": "the value of the `cursor` parameter for that page; null at the end",
        }
        answer["properties"] = {
            "next": answer["properties"]["next"],
            "previous": answer["properties"]["previous"],
            "next_cursor": cursor,
            "previous_cursor": dict(cursor),
            "results": answer["properties"]["results"],
        }
        answer["required"] = ["next", "previous", "next_cursor", "previous_cursor", "results"]
        return answer

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return parameters
