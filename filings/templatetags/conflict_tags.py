"""`{% open_conflicts version as conflicts %}`: the open conflicts on a version's patents, as the user sees them."""

from typing import Any

from django import template

from filings import conflicts

register = template.Library()


@register.simple_tag(takes_context=True)
def open_conflicts(context: Any, version: Any) -> list[Any]:
    request = context.get("request")
    if request is None or version is None or not getattr(version, "pk", None):
        return []
    return conflicts.conflict_open_for_version(version=version, user=request.user)
