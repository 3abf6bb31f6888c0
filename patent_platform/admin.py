"""Permissions of every ModelAdmin of the platform (separation of duties, see patent_platform/duties.py).

- deploy-team superusers: Django's own rules (each ModelAdmin still refuses what it refuses, e.g. a
  filing's status is never edited here);
- the system administrator: views everything registered, adds and changes reference data only
  (`reference_data = True`: product classes), never deletes; business records are read-only and the
  contacts in them are masked (patent_platform.masking);
- anyone else: nothing (the site itself answers with its login page, patent_platform.adminsite).
"""

from typing import Any, TypeVar

from django.contrib.admin.options import BaseModelAdmin, ModelAdmin
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.db.models import ForeignObjectRel, Model
from django.http import HttpRequest

from patent_platform.adminsite import may_use_admin
from patent_platform.choices import Role
from patent_platform.models import User

_M = TypeVar("_M", bound=Model)


def is_system_admin(user: User | AnonymousUser) -> bool:
    return isinstance(user, User) and may_use_admin(user) and not user.is_superuser and user.role == Role.SYSTEM_ADMIN


class DutyAdminMixin(BaseModelAdmin[_M]):
    """First base of every ModelAdmin and inline: role-based permissions on top of the class's own rules.
    (A BaseModelAdmin to the type checker and at run time: first in the bases, its methods come before the
    ModelAdmin's or the inline's own, whatever else the class derives from.)"""

    reference_data = False

    def has_module_permission(self, request: HttpRequest) -> bool:
        if request.user.is_superuser:
            return super().has_module_permission(request)
        return is_system_admin(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if request.user.is_superuser:
            return super().has_view_permission(request, obj)
        return is_system_admin(request.user)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        if request.user.is_superuser:
            return super().has_add_permission(request, *args)
        return self.reference_data and is_system_admin(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if request.user.is_superuser:
            return super().has_change_permission(request, obj)
        return self.reference_data and is_system_admin(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if request.user.is_superuser:
            return super().has_delete_permission(request, obj)
        return False


class MaskedContactsAdminMixin(ModelAdmin[_M]):
    """Shows the listed contact fields masked to anyone but a superuser, in lists and on the record (a
    ModelAdmin, first in the bases, as DutyAdminMixin)."""

    masked_fields: tuple[str, ...] = ()

    def get_list_display(self, request: HttpRequest) -> Any:
        from patent_platform.masking import masked_column

        columns = list(super().get_list_display(request))
        if request.user.is_superuser:
            return columns
        return [masked_column(c, self._label(c)) if c in self.masked_fields else c for c in columns]

    def _label(self, name: str) -> Any:
        field = self.model._meta.get_field(name)
        if isinstance(field, ForeignObjectRel):  # a reverse relation: no column of this model, no label
            raise ImproperlyConfigured(f"{type(self).__name__}.masked_fields: {name} is not a field of the model")
        return field.verbose_name

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        exclude = list(super().get_exclude(request, obj) or [])
        if request.user.is_superuser:
            return exclude
        return [*exclude, *self.masked_fields]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_fields(request, obj))
        if request.user.is_superuser:
            return fields
        return [f for f in fields if f not in self.masked_fields]


# ---------------------------------------------------------------------------------------------
# The outbox (patent_platform/outbox.py): read-only records of delivery; "重新发送" requeues.


def _register_outbox() -> None:
    from django.contrib import admin, messages
    from django.utils.translation import gettext as _
    from django.utils.translation import gettext_lazy

    from patent_platform import outbox
    from patent_platform.masking import mask_email
    from patent_platform.models import Notice, NoticeStatus

    @admin.register(Notice)
    class NoticeAdmin(DutyAdminMixin[Notice], admin.ModelAdmin[Notice]):
        list_display = ("created_at", "kind", "to", "status", "attempts", "due_at", "sent_at", "last_error")
        list_filter = ("status", "kind")
        date_hierarchy = "created_at"
        actions = ("requeue",)

        @admin.display(description=gettext_lazy("收件人"))
        def to(self, obj: Notice) -> str:
            return obj.recipient if self._superuser else mask_email(obj.recipient)

        def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
            self._superuser = request.user.is_superuser
            return super().changelist_view(request, extra_context)

        def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
            self._superuser = request.user.is_superuser
            fields = ["kind", "to", "status", "attempts", "created_at", "due_at", "sent_at", "last_error"]
            # the message itself is business data: superusers (the deploy team) only
            return [*fields, "subject", "body"] if request.user.is_superuser else fields

        def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
            return self.get_fields(request, obj)

        def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
            return False

        def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
            return False

        def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
            return False

        @admin.action(description=gettext_lazy("重新发送所选通知"))
        def requeue(self, request: HttpRequest, queryset: Any) -> None:
            count = outbox.retry(queryset.exclude(status=NoticeStatus.SENT).values_list("pk", flat=True))
            self.message_user(request, _("已将 %(n)s 条通知重新加入发送队列。") % {"n": count}, messages.SUCCESS)


_register_outbox()


# ---------------------------------------------------------------------------------------------
# TOTP devices: django-otp's admin, with its QR code drawn by segno, the platform's one QR library
# (django-otp draws it with `qrcode` whenever that is installed). Superusers only, as before: the class
# keeps Django's own permissions (no DutyAdminMixin), so the system administrator never sees a secret.


def _register_totp_devices() -> None:
    import io

    import segno
    from django.contrib import admin
    from django.core.exceptions import PermissionDenied
    from django.http import HttpResponse
    from django.shortcuts import get_object_or_404
    from django_otp.conf import settings as otp_settings
    from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin  # registers itself: replaced below
    from django_otp.plugins.otp_totp.models import TOTPDevice

    class PlatformTOTPDeviceAdmin(TOTPDeviceAdmin):  # type: ignore[misc]  # django-otp has no types: Any to mypy
        def get_urls(self) -> list[Any]:
            # django-otp's two views with the platform's bounded id (`<id:pk>`, patent_platform/params.py)
            # instead of `<int:pk>`, which a 20-digit number would overflow
            from django.urls import path

            own = [
                path(
                    "<id:pk>/config/", self.admin_site.admin_view(self.config_view), name="otp_totp_totpdevice_config"
                ),
                path(
                    "<id:pk>/qrcode/", self.admin_site.admin_view(self.qrcode_view), name="otp_totp_totpdevice_qrcode"
                ),
            ]
            result: list[Any] = own + super(TOTPDeviceAdmin, self).get_urls()
            return result

        def qrcode_view(self, request: HttpRequest, pk: int) -> HttpResponse:
            if otp_settings.OTP_ADMIN_HIDE_SENSITIVE_DATA:
                raise PermissionDenied
            device = get_object_or_404(TOTPDevice, pk=pk)
            if not self.has_view_or_change_permission(request, device):
                raise PermissionDenied
            svg = io.BytesIO()
            segno.make(device.config_url, error="m").save(svg, kind="svg", scale=4, border=2)
            return HttpResponse(svg.getvalue(), content_type="image/svg+xml")

    if admin.site.is_registered(TOTPDevice):
        admin.site.unregister(TOTPDevice)
    admin.site.register(TOTPDevice, PlatformTOTPDeviceAdmin)


_register_totp_devices()
