"""What every app's forms share: Bootstrap's classes on the widgets of a form built in code."""

from __future__ import annotations

from django import forms


def style_widgets(form: forms.BaseForm) -> None:
    """Give each widget its Bootstrap class (`form-check-input`, `form-select` or `form-control`) and mark the
    fields of a bound form that carry errors `is-invalid`, so that the page shows them by field."""
    for name, field in form.fields.items():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select"
        else:
            css = "form-control"
        if form.is_bound and name in form.errors:
            css += " is-invalid"
        widget.attrs["class"] = css
