"""What the national office's certification pages share: the role set, the provinces' names, a service's
errors on a form, and the Bootstrap-styled form.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from filings.forms import BootstrapFormMixin
from patent_platform.choices import RegionLevel, Role
from patent_platform.models import Region

NATIONAL = frozenset({Role.NATIONAL_ADMIN})


def province_names() -> dict[str, str]:
    return dict(Region.objects.filter(level=RegionLevel.PROVINCE).names())


def error_dict(exc: ValidationError) -> dict[str, list[str]]:
    """A service's ValidationError as {field: [messages]}; field-less messages under "__all__"."""
    if hasattr(exc, "error_dict"):
        return {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
    return {NON_FIELD_ERRORS: [str(m) for m in exc.messages]}


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    for field, messages_ in error_dict(exc).items():
        for message in messages_:
            form.add_error(field if field in form.fields else None, message)


class StyledForm(BootstrapFormMixin, forms.Form):
    """Bootstrap classes on every widget; radio and checkbox lists get the check-input class."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()
        for field in self.fields.values():
            if isinstance(field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
                field.widget.attrs["class"] = "form-check-input"
