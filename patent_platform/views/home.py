"""The landing page: anonymous visitors see the public entry, users go to their role's home."""

from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch
from django.views.generic import TemplateView

from patent_platform.choices import Role

ROLE_HOMES: dict[str, str] = {
    Role.ENTERPRISE: "enterprise:home",
    Role.REVIEWER: "review:queue",
    Role.PORT_ADMIN: "port:home",
    Role.NATIONAL_ADMIN: "national:home",
    Role.EXPERT: "certification:expert_home",
    Role.SYSTEM_ADMIN: "admin:index",
    Role.SECURITY_ADMIN: "security-accounts",
    Role.AUDIT_ADMIN: "audit-log",
}


class HomeView(TemplateView):
    """Public landing page; a logged-in user is sent on to the home page of their role."""

    scope_policy: ClassVar[str] = "public"
    template_name = "home.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            target = ROLE_HOMES.get(request.user.role)
            if target:
                try:
                    return redirect(target)
                except NoReverseMatch:
                    pass
        return super().get(request, *args, **kwargs)
