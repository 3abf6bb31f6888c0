"""drf-spectacular extensions: the schema says the ranges the API enforces (patent_platform/params.py)."""

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension

from patent_platform.params import ID_MAX


class IdRelatedFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "patent_platform.api.fields.IdRelatedField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {"type": "integer", "minimum": 1, "maximum": ID_MAX}
