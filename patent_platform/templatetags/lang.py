"""`{{ obj|localized }}`, `{{ indicator|localized:"unit" }}`: reference names in the active language;
`{% language_options as options %}`: the language selector's entries, each in its own script."""

from django import template

from patent_platform import i18n

register = template.Library()


@register.filter
def localized(obj: object, field: str = "name") -> str:
    return i18n.localized_name(obj, field)


@register.simple_tag
def language_options() -> list[tuple[str, str, str]]:
    return i18n.language_options()
