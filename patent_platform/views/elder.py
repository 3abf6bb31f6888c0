"""长辈版 (elder mode): larger text and targets, high contrast, a simpler layout (docs/ACCESSIBILITY.md).

A visitor, signed in or not, switches it on or off with the header's button; the choice is kept in a
cookie for a year and read by the server when it renders each page (templates/base.html puts the class
`elder` on <html>), so the page never flashes in the normal style first. Nothing is stored about the
visitor; the cookie holds "1" or nothing.
"""

from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

COOKIE = "elder"
MAX_AGE = 365 * 24 * 3600


def is_on(request: HttpRequest) -> bool:
    return request.COOKIES.get(COOKIE) == "1"


class ElderModeView(View):
    scope_policy: ClassVar[str] = "public"
    http_method_names = ["post"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseRedirect:
        target = request.POST.get("next") or "/"
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
            target = "/"
        response = HttpResponseRedirect(target)
        if request.POST.get("on") == "1":
            response.set_cookie(COOKIE, "1", max_age=MAX_AGE, samesite="Lax", secure=request.is_secure(), httponly=True)
        else:
            response.delete_cookie(COOKIE, samesite="Lax")
        return response
