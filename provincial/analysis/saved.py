"""Saved analyses: a definition kept by its owner, shared with the owner's port or the national office."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from provincial.analysis.definition import Definition, DefinitionError

if TYPE_CHECKING:
    from patent_platform.models import User


def port_of(user: User) -> Any:
    """The management unit a port administrator belongs to (None for the national office)."""
    from provincial.models import PortMembership

    membership = PortMembership.objects.filter(user=user).select_related("unit").first()
    return membership.unit if membership is not None else None


def saved_visible_to(user: User) -> QuerySet[Any]:
    """The user's own saved analyses and those shared within the user's port (national administrators: those
    shared by national administrators): the scoping rule of the model (`SavedAnalysisQuerySet.visible_to`).
    Anything else answers 404 where it is asked for."""
    from provincial.models import SavedAnalysis

    return SavedAnalysis.objects.visible_to(user).select_related("owner")


def analysis_save(*, user: User, name: str, definition: Definition, shared: bool) -> Any:
    """A new saved analysis of `definition` (already validated) for `user`, in the user's port."""
    from provincial.models import SavedAnalysis

    name = (name or "").strip()
    if not name:
        raise DefinitionError({"name": [_("请填写名称。")]})
    if len(name) > 100:
        raise DefinitionError({"name": [_("名称最长 100 个字符。")]})
    return SavedAnalysis.objects.create(
        owner=user, unit=port_of(user), name=name, definition=definition.to_data(), shared=shared
    )
