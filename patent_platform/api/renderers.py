"""The API's JSON renderer: DRF's, plus a body that is already JSON text (`RawJSON`) passed through as it is.

A list that its database renders to JSON (the product list, filings/api/rendered.py) answers with the text it
got, instead of parsing it back into Python objects for the renderer to encode again. Any other data is
rendered by DRF's JSONRenderer unchanged.
"""

from typing import Any

from rest_framework import renderers


class RawJSON(str):
    """A response body that is JSON text already (valid JSON; the view that makes one vouches for it)."""

    __slots__ = ()


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, RawJSON):
            return data.encode()
        return super().render(data, accepted_media_type, renderer_context)
