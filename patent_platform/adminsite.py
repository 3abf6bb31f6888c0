"""The Django admin site of the platform: open to the system administrator (and deploy-team superusers) only.

Separation of duties (patent_platform/duties.py): the admin site is the system administrator's tool for
the technical side (reference data such as product classes; business records read-only, contacts
masked). National administrators, reviewers, the security and the audit administrator do not use it,
even if an account carries `is_staff`: the site asks for the role, not only for the staff flag.
Every ModelAdmin takes its permissions from `patent_platform.admin.DutyAdminMixin`.

Installed in place of `django.contrib.admin` by `PlatformAdminConfig` (INSTALLED_APPS).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from patent_platform.choices import Role

if TYPE_CHECKING:  # (this module is loaded with the apps, before the models are ready: types only)
    from django.contrib.auth.models import AnonymousUser

    from patent_platform.models import User


def may_use_admin(user: User | AnonymousUser) -> bool:
    """Superusers (created by the deploy team) and active system administrators."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.role == Role.SYSTEM_ADMIN


_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


class PlatformAdminSite(AdminSite):
    """A signed-in user of another role gets 404 on every admin page (as on any page not for its role);
    a visitor who is not signed in gets the admin's login page."""

    def has_permission(self, request: HttpRequest) -> bool:
        return may_use_admin(request.user)

    def _refuse_other_roles(self, request: HttpRequest) -> None:
        if request.user.is_authenticated and not self.has_permission(request):
            raise Http404

    def admin_view(self, view: _View, cacheable: bool = False) -> _View:
        inner = super().admin_view(view, cacheable)

        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            self._refuse_other_roles(request)
            return inner(request, *args, **kwargs)

        return cast("_View", update_wrapper(wrapper, view))

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        self._refuse_other_roles(request)
        return super().login(request, extra_context)


class PlatformAdminConfig(AdminConfig):
    default_site = "patent_platform.adminsite.PlatformAdminSite"
