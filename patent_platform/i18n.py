"""Names of reference data in the active language: the one place that picks `name` or `name_en`.

Reference rows (regions, product classes, indicators, management units) keep their Chinese name in
`name` and may carry an English one in `name_en` (indicators also `unit_en`). `localized_name(obj)`
gives the English name while English is active and it is filled, else the Chinese name. Templates use
the filter `{{ obj|localized }}` / `{{ indicator|localized:"unit" }}` (templatetags/lang.py); code
(exports, choices) calls the function. The API keeps its Chinese fields and adds `name_en` where cheap.
"""

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import get_language, gettext


def english() -> bool:
    """Whether the active language is English."""
    return (get_language() or "").startswith("en")


def localized_name(obj: Any, field: str = "name") -> str:
    """`obj.<field>_en` when English is active and it is filled, else `obj.<field>`; dicts (values() rows) too."""
    if obj is None:
        return ""

    def get(name: str) -> Any:
        return obj.get(name, "") if isinstance(obj, dict) else getattr(obj, name, "")

    if english():
        name_en = get(f"{field}_en")
        if name_en:
            return str(name_en)
    value = get(field)
    return "" if value is None else str(value)


def language_options() -> list[tuple[str, str, str]]:
    """(code, name in its own script, its HTML lang): the selector shows 中文 / English in every language."""
    own = {"zh-hans": ("中文", "zh-CN"), "en": ("English", "en")}
    return [(code, *own.get(code, (str(name), code))) for code, name in settings.LANGUAGES]


class Deferred(str):
    """A message in the active language that remembers its msgid and parameters, so that the stored row can
    be shown again in the reader's language (`render_stored`) — messages written by a task or in another
    user's language. `translated` names the parameters that are msgids themselves (a figure's label)."""

    msgid: str
    params: dict[str, Any]
    translated: tuple[str, ...]

    def __new__(cls, msgid: str, params: dict[str, Any], translated: tuple[str, ...] = ()) -> "Deferred":
        shown = {k: (gettext(v) if k in translated else v) for k, v in params.items()}
        message = super().__new__(cls, gettext(msgid) % shown)
        message.msgid, message.params, message.translated = msgid, params, translated
        return message

    def stored(self) -> dict[str, Any]:
        return {"msgid": self.msgid, "params": self.params, "translated": list(self.translated)}


def render_stored(stored: dict[str, Any] | None, fallback: str) -> str:
    """A stored message (`Deferred.stored()`) in the active language; `fallback` (the text as written) for
    rows written before the message was kept, or should the catalogue's format not fit the parameters."""
    if not stored or "msgid" not in stored:
        return fallback
    try:
        return str(Deferred(stored["msgid"], stored.get("params", {}), tuple(stored.get("translated", ()))))
    except (KeyError, TypeError, ValueError):
        return fallback


class UserDataSelect(forms.Select):
    """A select whose options (not the empty one) are data users typed (patents, rounds, method versions):
    marked translate="no", like every other piece of typed data on the pages."""

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        if option["value"] not in ("", None):
            option["attrs"]["translate"] = "no"
        return option
