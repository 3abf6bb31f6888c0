"""The Django admin of the provincial app (the system administrator and deploy-team superusers): read-only.

Permissions: patent_platform.admin.DutyAdminMixin; contacts are masked to the system administrator.

Ports are opened, administrators granted and applications decided only through
`provincial.applications` (one transaction, audit, e-mails); rosters are uploaded through their
pages. The admin is a window for looking things up; nothing here changes these records.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from patent_platform.admin import DutyAdminMixin, MaskedContactsAdminMixin
from provincial.models import (
    FollowUp,
    ManagementUnit,
    PortApplication,
    PortContact,
    PortMembership,
    Roster,
    RosterEntry,
)


class ReadOnlyAdmin(DutyAdminMixin, admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ManagementUnit)
class ManagementUnitAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "kind", "parent", "separately_planned", "is_open")
    list_filter = ("kind", "is_open", "separately_planned")
    search_fields = ("code", "name")


@admin.register(PortMembership)
class PortMembershipAdmin(ReadOnlyAdmin):
    list_display = ("user", "unit")
    list_filter = ("unit",)
    # "=": e-mails are encrypted, searched as whole addresses through their blind index
    search_fields = ("=user__email", "user__full_name", "unit__name")


@admin.register(PortContact)
class PortContactAdmin(MaskedContactsAdminMixin, ReadOnlyAdmin):
    masked_fields = ("office_phone", "mobile", "email")
    list_display = ("name", "unit", "post", "office_phone", "mobile", "email", "is_admin")
    list_filter = ("is_admin", "unit")
    # names and e-mails are encrypted: an e-mail is searched as a whole address, a name not at all
    search_fields = ("=email", "unit__name")


@admin.register(PortApplication)
class PortApplicationAdmin(MaskedContactsAdminMixin, ReadOnlyAdmin):
    masked_fields = ("person_phone", "applicant_email", "contacts")
    list_display = ("unit", "office_name", "person_in_charge", "applicant_email", "status", "submitted_at")
    list_filter = ("status",)
    search_fields = ("office_name", "unit__name", "=applicant_email")
    exclude = ("form_scan",)  # the scan is downloaded through the scoped, audited national page


class RosterEntryInline(DutyAdminMixin, admin.TabularInline):
    model = RosterEntry
    extra = 0
    can_delete = False
    fields = ("uscc", "name", "province_code", "city_code", "county_code")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Roster)
class RosterAdmin(ReadOnlyAdmin):
    list_display = ("title", "category", "year", "owner", "entry_count", "uploaded_at")
    list_filter = ("category", "year")
    search_fields = ("title",)
    inlines = (RosterEntryInline,)


@admin.register(RosterEntry)
class RosterEntryAdmin(MaskedContactsAdminMixin, ReadOnlyAdmin):
    masked_fields = ("contact_name", "contact_phone", "contact_email")
    list_display = ("name", "uscc", "roster", "province_code", "city_code", "contact_phone", "contact_email")
    list_filter = ("roster__category",)
    search_fields = ("name", "uscc")


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyAdmin):
    """Reminders and invitations sent to roster enterprises (the addresses are stored masked)."""

    list_display = ("sent_at", "kind", "uscc", "name", "port", "recipients_masked")
    list_filter = ("kind",)
    search_fields = ("=uscc", "name")
