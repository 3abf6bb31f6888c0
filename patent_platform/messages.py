"""Rule messages that know which rule and which item they are about.

A service's message is text a person reads (the page shows it beside the field) and, for the API, a stable
machine code and the place in the request it points at. `RuleMessage` is that text (a `str`, so every page,
import report and audit line uses it unchanged) carrying:

- `code`: the rule, stable across languages (`contribution_range`);
- `index`: the 0-based item of a list field the message is about (the 2nd patent link: 1), or None;
- `item_field`: the member of that item (`contribution`), or None.

The API's problem details (patent_platform/api/problems.py) turn them into `{pointer, code, message}`:
the field `patents` of the service, named `links` in the request, item 1, member `contribution` →
`/links/1/contribution`.

Also the refusals that the API answers with a code of their own: `Duplicate` (409 `duplicate`) and `Conflict`
(409 `conflict`: a lost race, patent_platform/concurrency.py).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError


class RuleMessage(str):
    code: str
    index: int | None  # type: ignore[assignment]  # shadows str.index: the item, as the API's pointer reads it
    item_field: str | None

    def __new__(cls, text: Any, code: str, *, index: int | None = None, item_field: str | None = None) -> RuleMessage:
        message = super().__new__(cls, str(text))
        message.code = code
        message.index = index
        message.item_field = item_field
        return message

    def __reduce__(self) -> Any:  # pickled by the cache and the task queue like any str, attributes kept
        return (RuleMessage, (str(self), self.code), {"index": self.index, "item_field": self.item_field})


def rule(text: Any, code: str, *, index: int | None = None, item_field: str | None = None) -> RuleMessage:
    """A message of the rule `code` (about item `index` of a list, member `item_field`)."""
    return RuleMessage(text, code, index=index, item_field=item_field)


class Duplicate(ValidationError):
    """What the caller asked to create exists already: `existing_id` names it (the API answers 409 `duplicate`
    with it, so that a system re-syncing its data can take the existing object instead of failing)."""

    def __init__(self, message: Any, *, existing_id: int, field: str | None = None) -> None:
        error = ValidationError(message, code="duplicate")
        super().__init__({field: [error]} if field else error)
        self.existing_id = existing_id


class Conflict(ValidationError):
    """The action lost a race: under the row lock, the state shows that another action already happened.

    A ValidationError, so every page that shows a service's errors shows this one too; the API answers 409.
    Domains subclass it together with their own error (`workflow.TransitionConflict(Conflict, WorkflowError)`)."""

    def __init__(self, message: Any, code: str = "conflict", params: dict[str, Any] | None = None) -> None:
        super().__init__(message, code=code, params=params)
