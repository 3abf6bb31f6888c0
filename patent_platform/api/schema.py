"""drf-spectacular extensions: the schema says the ranges the API enforces (patent_platform/params.py)."""

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension

from patent_platform.params import ID_MAX


class IdRelatedFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "patent_platform.api.fields.IdRelatedField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {"type": "integer", "minimum": 1, "maximum": ID_MAX}


def document_edge_errors(result: dict[str, Any], generator: Any, request: Any, public: Any) -> dict[str, Any]:
    """Every operation may answer 400 (a query string with a NUL, patent_platform/middleware.py); every one
    that takes a body may also answer 415 (a body the parsers cannot read as the media type it
    names, e.g. a broken multipart form): say so in the schema, as the API does (`{"detail": "…"}`)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            # any request may carry a query string, and one with a NUL is refused (RefuseNulInQueryMiddleware)
            operation.setdefault("responses", {}).setdefault(
                "400",
                {
                    "description": str(_('请求无效，如查询参数含空字符（NUL）：{"detail": "…"}')),
                    "content": {"application/json": {"schema": {"type": "object", "additionalProperties": {}}}},
                },
            )
            if "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault(
                    "415",
                    {
                        "description": str(_('请求体的媒体类型不受支持或无法按其解析：{"detail": "…"}')),
                        "content": {"application/json": {"schema": {"type": "object", "additionalProperties": {}}}},
                    },
                )
    return result
