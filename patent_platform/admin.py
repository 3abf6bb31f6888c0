"""Permissions of every ModelAdmin of the platform (separation of duties, see patent_platform/duties.py).

- deploy-team superusers: Django's own rules (each ModelAdmin still refuses what it refuses, e.g. a
  filing's status is never edited here);
- the system administrator: views everything registered, adds and changes reference data only
  (`reference_data = True`: product classes), never deletes; business records are read-only and the
  contacts in them are masked (patent_platform.masking);
- anyone else: nothing (the site itself answers with its login page, patent_platform.adminsite).
"""

from typing import Any

from django.http import HttpRequest

from patent_platform.adminsite import may_use_admin
from patent_platform.choices import Role


def is_system_admin(user: Any) -> bool:
    return may_use_admin(user) and not user.is_superuser and user.role == Role.SYSTEM_ADMIN


class DutyAdminMixin:
    """First base of every ModelAdmin and inline: role-based permissions on top of the class's own rules."""

    reference_data = False

    def has_module_permission(self, request: HttpRequest) -> bool:
        if request.user.is_superuser:
            return super().has_module_permission(request)  # type: ignore[misc]
        return is_system_admin(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if request.user.is_superuser:
            return super().has_view_permission(request, obj)  # type: ignore[misc]
        return is_system_admin(request.user)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        if request.user.is_superuser:
            return super().has_add_permission(request, *args)  # type: ignore[misc]
        return self.reference_data and is_system_admin(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if request.user.is_superuser:
            return super().has_change_permission(request, obj)  # type: ignore[misc]
        return self.reference_data and is_system_admin(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if request.user.is_superuser:
            return super().has_delete_permission(request, obj)  # type: ignore[misc]
        return False


class MaskedContactsAdminMixin:
    """Shows the listed contact fields masked to anyone but a superuser, in lists and on the record."""

    masked_fields: tuple[str, ...] = ()

    def get_list_display(self, request: HttpRequest) -> Any:
        from patent_platform.masking import masked_column

        columns = list(super().get_list_display(request))  # type: ignore[misc]
        if request.user.is_superuser:
            return columns
        meta = self.model._meta  # type: ignore[attr-defined]
        return [masked_column(c, meta.get_field(c).verbose_name) if c in self.masked_fields else c for c in columns]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        exclude = list(super().get_exclude(request, obj) or [])  # type: ignore[misc]
        if request.user.is_superuser:
            return exclude
        return [*exclude, *self.masked_fields]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_fields(request, obj))  # type: ignore[misc]
        if request.user.is_superuser:
            return fields
        return [f for f in fields if f not in self.masked_fields]
