"""Patent-status flags where people look: `{% version_flags version %}` on a version page (the filer's and
the reviewer's) and `{% open_flags_summary %}` on the enterprise home. Read through `FilingFlag.objects.
visible_to(request.user)`, so each sees only the flags of versions in scope."""

from typing import Any

from django import template

from filings.models import FilingFlag

register = template.Library()
SUMMARY_SHOWN = 5


def _user(context: Any) -> Any:
    request = context.get("request")
    return getattr(request, "user", None)


@register.inclusion_tag("filings/drift/_version_flags.html", takes_context=True)
def version_flags(context: Any, version: Any, audience: str = "filer") -> dict[str, Any]:
    user = _user(context)
    flags: list[FilingFlag] = []
    if user is not None and version is not None and getattr(version, "pk", None):
        flags = list(
            FilingFlag.objects.visible_to(user)
            .filter(version_id=version.pk)
            .select_related("patent", "change", "resolved_by")
            .order_by("-raised_at", "-id")
        )
    return {
        "version": version,
        "audience": audience,
        "open_flags": [f for f in flags if f.is_open],
        "resolved_flags": [f for f in flags if not f.is_open],
        "can_withdraw": context.get("can_withdraw", False),
        "can_yearly_update": context.get("can_yearly_update", False),
    }


@register.inclusion_tag("filings/drift/_flags_summary.html", takes_context=True)
def open_flags_summary(context: Any) -> dict[str, Any]:
    user = _user(context)
    if user is None:
        return {"count": 0, "flags": []}
    flags = FilingFlag.objects.visible_to(user).open()
    return {
        "count": flags.count(),
        "flags": list(flags.select_related("version", "patent").order_by("-raised_at", "-id")[:SUMMARY_SHOWN]),
    }
