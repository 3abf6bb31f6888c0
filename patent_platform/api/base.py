"""The base API viewsets: the scoping rule applied once, for every list, detail and action."""

from typing import Any, ClassVar, TypeVar

from django.db.models import Model
from rest_framework import viewsets

from patent_platform.params import ID_REGEX
from patent_platform.scoping import ScopedQuerySet

_M = TypeVar("_M", bound=Model)  # the model the viewset serves


class ScopedViewSetMixin:
    # `get_queryset()` is `queryset.visible_to(request.user)`: out of scope answers 404. (A comment, not a
    # docstring: drf-spectacular publishes a view's docstring as its operations' description.)

    scope_policy: ClassVar[str] = "scoped"
    # ids of at most 18 digits: a longer number matches no route (404) instead of overflowing the database
    lookup_value_regex = ID_REGEX
    queryset: Any
    request: Any

    def get_queryset(self) -> Any:
        qs = self.queryset.all()
        if not isinstance(qs, ScopedQuerySet):
            raise TypeError(f"{type(self).__name__}.queryset is not scoped")
        return qs.visible_to(self.request.user)


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[_M]):
    pass


class ScopedModelViewSet(ScopedViewSetMixin, viewsets.ModelViewSet[_M]):
    pass
