"""Base views: every view declares how it treats scope, and scoped views read through `visible_to`.

`scope_policy` is checked by tests/test_scoping_coverage.py for every URL pattern:
- "scoped": reads scoped data, and must subclass ScopedViewMixin (or ScopedViewSetMixin);
- "public": shows only published data (approved filings, published lists) to anyone;
- "account": the user's own account (login, logout, password), no scoped data.
"""

from typing import Any, ClassVar, TypeVar

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.http import Http404, HttpRequest
from django.views.generic import DetailView, ListView, TemplateView

from patent_platform.roles import require_role
from patent_platform.scoping import ScopedQuerySet

_M = TypeVar("_M", bound=models.Model)  # the model a list or detail page shows


class ScopedViewMixin(LoginRequiredMixin):
    """Reads `model.objects.visible_to(request.user)`; anything else answers 404."""

    scope_policy: ClassVar[str] = "scoped"
    # Roles that may open the page at all; others get 404, the same answer as out of scope.
    roles: ClassVar[frozenset[str] | None] = None
    # The model whose scoped rows the page reads (a Model class, set by each page). Any: django-stubs declares
    # it `type[M] | None` on the list views and `type[M]` on the detail views, which no one type here agrees with.
    model: Any = None
    request: HttpRequest

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        user = request.user
        if user.is_authenticated and self.roles is not None:
            require_role(user, *self.roles, error=Http404)
        return super().dispatch(request, *args, **kwargs)

    def scoped_queryset(self, model: type[models.Model] | None = None) -> Any:
        model = model or self.model
        if model is None:
            raise ImproperlyConfigured(f"{type(self).__name__} has no model")
        qs = model._default_manager.all()
        if not isinstance(qs, ScopedQuerySet):
            raise ImproperlyConfigured(f"{model._meta.label} has no scoped manager")
        return qs.visible_to(self.request.user)

    def get_queryset(self) -> Any:
        return self.scoped_queryset()


class ScopedListView(ScopedViewMixin, ListView[_M]):
    paginate_by = 50


class ScopedDetailView(ScopedViewMixin, DetailView[_M]):
    pass


class ScopedTemplateView(ScopedViewMixin, TemplateView):
    """A page that reads scoped data itself (through `scoped_queryset(Model)`)."""


class PublicTemplateView(TemplateView):
    scope_policy: ClassVar[str] = "public"
