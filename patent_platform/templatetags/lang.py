"""`{{ obj|localized }}`, `{{ indicator|localized:"unit" }}`: reference names in the active language;
`{% language_options as options %}`: the language selector's entries, each in its own script."""

import re
from typing import Any

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from patent_platform import i18n

register = template.Library()

_IDEOGRAPHS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
HAN = re.compile(f"([{_IDEOGRAPHS}][\u3000-\u303f{_IDEOGRAPHS}\uff00-\uffef]*)")


@register.filter(needs_autoescape=True)
def mark_chinese(value: Any, autoescape: bool = True) -> SafeString:
    """Wrap each run of Chinese characters in `<span lang="zh-CN">`: for English texts that quote what a user
    must type in Chinese (the column names and status words of an import file). Only there: elsewhere an
    untranslated string must stay visible to the English walk (tests/browser/test_english.py)."""
    text = str(conditional_escape(value) if autoescape else value)
    return mark_safe(HAN.sub(r'<span lang="zh-CN">\1</span>', text))  # noqa: S308 (escaped above)


@register.filter
def localized(obj: object, field: str = "name") -> str:
    return i18n.localized_name(obj, field)


@register.simple_tag
def language_options() -> list[tuple[str, str, str]]:
    return i18n.language_options()


@register.filter
def notranslate(value: object) -> SafeString:
    """`<span translate="no">value</span>`: data a user typed inside a translated sentence
    (`{% blocktranslate with name=version.name|notranslate %}`), exempt from the English walk."""
    return format_html('<span translate="no">{}</span>', "" if value is None else value)
