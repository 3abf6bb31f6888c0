"""The Django admin of the filings app (the system administrator and deploy-team superusers only).

Permissions come from patent_platform.admin.DutyAdminMixin: the system administrator edits reference
data (product classes) and reads the rest; contacts are masked to it (MaskedContactsAdminMixin).

The admin is a window for looking things up and for correcting master data. It never changes the
state of a filing: a version's status, its review fields and a product's filing number are read-only
here, because every state change must go through `filings.workflow` (locks, rules, audit, e-mail).
The review trail (transitions, return reasons) and import jobs are read-only records.
"""

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse

from filings.choices import EDITABLE_STATUSES
from filings.models import (
    FilingPolicy,
    FilingUnit,
    IdentityRequest,
    ImportJob,
    Patent,
    PatentLink,
    PatentRight,
    Product,
    ProductClass,
    ProductImage,
    ProductVersion,
    ReturnReason,
    ReviewOverride,
    Transition,
    UnitMembership,
)
from patent_platform import audit
from patent_platform.admin import DutyAdminMixin, MaskedContactsAdminMixin
from patent_platform.choices import AuditAction
from patent_platform.roles import signed_in


class AuditedAdmin(DutyAdminMixin, admin.ModelAdmin):
    """Every save and delete made in the admin, and in its inlines, goes to the audit log (before → after).

    Models whose saves are already audited by a signal (units, memberships, classes) do not use it."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = _stored_snapshot(obj) if change else None
        super().save_model(request, obj, form, change)
        audit.audit_change(obj=obj, before=before, message="admin")

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        audit.audit_event(action=AuditAction.DELETE, obj=obj, changes=audit.snapshot(obj), message="admin")
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            audit.audit_event(action=AuditAction.DELETE, obj=obj, changes=audit.snapshot(obj), message="admin")
        super().delete_queryset(request, queryset)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        befores = {f.instance.pk: _stored_snapshot(f.instance) for f in formset.forms if f.instance.pk}
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            audit.audit_event(action=AuditAction.DELETE, obj=obj, changes=audit.snapshot(obj), message="admin")
            obj.delete()
        for obj in instances:
            before = befores.get(obj.pk)
            obj.save()
            audit.audit_change(obj=obj, before=before, message="admin")
        formset.save_m2m()


def _stored_snapshot(obj: models.Model) -> dict[str, Any] | None:
    """The row as stored now (the form has already changed the instance in memory)."""
    stored = type(obj)._default_manager.filter(pk=obj.pk).first()
    return audit.snapshot(stored) if stored is not None else None


class ReadOnlyAdminMixin:
    """Rows that are records of what happened: viewable, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ProductClass)
class ProductClassAdmin(DutyAdminMixin, admin.ModelAdmin):
    reference_data = True  # the system administrator adds and corrects product classes
    list_display = ("code", "name", "scheme", "is_active")
    list_filter = ("scheme", "is_active")
    search_fields = ("code", "name")


class UnitMembershipInline(DutyAdminMixin, admin.TabularInline):
    model = UnitMembership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(FilingUnit)
class FilingUnitAdmin(MaskedContactsAdminMixin, DutyAdminMixin, admin.ModelAdmin):
    masked_fields = ("contact_name", "contact_phone", "contact_email")
    list_display = ("name", "uscc", "province_code", "city_code", "industry", "scale", "verified_at")
    list_filter = ("kind", "scale", "verified_via")
    search_fields = ("name", "uscc")
    raw_id_fields = ("region",)
    # verification only through filings.identity (a reviewer's decision, a claim, an identity provider): a unit
    # added here is unverified and cannot submit, like a registered one
    readonly_fields = ("province_code", "city_code", "county_code", "created_at", "verified_at", "verified_via")
    inlines = (UnitMembershipInline,)


@admin.register(IdentityRequest)
class IdentityRequestAdmin(DutyAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Decided on the reviewers' pages (`/review/identity/`, filings.identity.identity_request_decide), never here."""

    list_display = ("submitted_at", "kind", "unit", "applicant", "status", "decided_by", "decided_at")
    list_filter = ("kind", "status")
    search_fields = ("unit__name", "unit__uscc", "=applicant__email")  # "=": the e-mail is encrypted
    exclude = ("letter", "licence")  # the scans are read on the reviewers' page, audited


class PatentRightInline(DutyAdminMixin, admin.TabularInline):
    """The units' rights to this patent: licence details may be corrected; rights are recorded by the units."""

    model = PatentRight
    extra = 0
    readonly_fields = ("unit", "created_by", "created_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Patent)
class PatentAdmin(AuditedAdmin):
    list_display = ("number", "title", "kind", "legal_status", "application_date", "grant_date")
    list_filter = ("kind", "legal_status", "pct")
    search_fields = ("number", "title")
    readonly_fields = ("status_updated_at", "status_checked_at", "created_at")
    inlines = (PatentRightInline,)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """A legal status changed here is applied the way the import applies it (`drift.legal_status_apply`: the
        patent's history, the flags on the filings, the certificates that rest on it), not written as a bare field."""
        from filings import drift

        stored = Patent.objects.filter(pk=obj.pk).values_list("legal_status", flat=True).first() if change else None
        new_status = obj.legal_status
        if stored is not None and stored != new_status:
            obj.legal_status = stored  # the other fields are saved as edited; the status goes through apply
            super().save_model(request, obj, form, change)
            drift.legal_status_apply(
                rows=[drift.Row(number=0, patent=obj.number, status=new_status)], source=None, user=signed_in(request)
            )
            obj.refresh_from_db()
            # the correction itself, as every admin change is audited (the import's bulk record names no change)
            audit.audit_event(
                action=AuditAction.UPDATE,
                obj=obj,
                actor=request.user,
                changes={"legal_status": [stored, new_status]},
                message="admin",
            )
            return
        super().save_model(request, obj, form, change)


@admin.register(PatentRight)
class PatentRightAdmin(AuditedAdmin):
    list_display = ("patent", "unit", "kind", "licence_kind", "recordal_number", "valid_until")
    list_filter = ("kind", "licence_kind")
    search_fields = ("patent__number", "patent__title", "unit__name", "unit__uscc")
    # A right belongs to its unit and patent for good (products link to it): only its terms are corrected.
    readonly_fields = ("unit", "patent", "created_by", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # units record their rights (services.patent_right_create checks the number and the policy)


class VersionInline(DutyAdminMixin, admin.TabularInline):
    """A product's yearly versions, for orientation only: open a version to see its details."""

    model = ProductVersion
    extra = 0
    fields = ("data_year", "name", "status", "submitted_at", "decided_at")
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Product)
class ProductAdmin(AuditedAdmin):
    list_display = ("__str__", "unit", "filing_number", "province_code", "created_at")
    search_fields = ("filing_number", "unit__name", "unit__uscc", "versions__name")
    list_filter = ("province_code",)
    raw_id_fields = ("unit",)
    # The filing number is allocated by approval and never reused; the published version follows
    # from the approved versions. Neither is edited by hand.
    readonly_fields = (
        "filing_number",
        "published_version",
        "province_code",
        "city_code",
        "county_code",
        "created_at",
        "created_by",
    )
    inlines = (VersionInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # products are created by their units (services.product_create)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        return fields if obj is None else [*fields, "unit"]


def _editable(obj: Any) -> bool:
    """Whether a version's content may be corrected here: only while its filer could edit it too."""
    return obj is None or obj.status in EDITABLE_STATUSES


class VersionContentInline(DutyAdminMixin, admin.TabularInline):
    """Links and images of a version: read-only once it is submitted (corrections go through a return)."""

    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj) and super().has_delete_permission(request, obj)


class PatentLinkInline(VersionContentInline):
    model = PatentLink
    raw_id_fields = ("right",)


class ProductImageInline(VersionContentInline):
    model = ProductImage
    readonly_fields = ("content_type", "uploaded_at")


class ReturnReasonInline(DutyAdminMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = ReturnReason
    extra = 0
    fields = ("review_round", "field", "message", "created_by", "created_at")
    readonly_fields = fields


class ReviewOverrideInline(DutyAdminMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = ReviewOverride
    extra = 0
    fields = ("created_at", "code", "message", "conflict", "reason", "created_by")
    readonly_fields = fields


class TransitionInline(DutyAdminMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = Transition
    extra = 0
    fields = ("at", "action", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields


@admin.register(ProductVersion)
class ProductVersionAdmin(AuditedAdmin):
    list_display = ("name", "product", "data_year", "status", "submitted_at", "decided_at")
    list_filter = ("status", "data_year", "certification_opt_in")
    search_fields = ("name", "model", "product__filing_number", "product__unit__name")
    raw_id_fields = ("product",)
    # The status and everything the workflow sets are read-only: state changes only through
    # filings.workflow (submit, return, approve, withdraw, revoke), never by editing the row.
    readonly_fields = (
        "status",
        "filing_number",
        "certification_opt_in",
        "review_round",
        "submitted_at",
        "decided_at",
        "decided_by",
        "created_at",
        "updated_at",
    )
    inlines = (PatentLinkInline, ProductImageInline, ReturnReasonInline, ReviewOverrideInline, TransitionInline)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from services.product_create / workflow.product_yearly_update_start

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a filer deletes a never-submitted draft; anything else is withdrawn or revoked

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is None:
            return fields
        if not _editable(obj):  # submitted, approved, withdrawn, revoked: the record as reviewed
            content = [f.name for f in ProductVersion._meta.fields if not f.primary_key and f.name not in fields]
            return [*fields, *content]
        return [*fields, "product", "data_year"]

    @admin.display(description=Product._meta.get_field("filing_number").verbose_name)
    def filing_number(self, obj: ProductVersion) -> str:
        return obj.product.filing_number or "—"


@admin.register(Transition)
class TransitionAdmin(DutyAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "version", "action", "from_status", "to_status", "actor")
    list_filter = ("action", "to_status")
    search_fields = ("version__name", "version__product__filing_number", "reason")
    date_hierarchy = "at"


@admin.register(ReturnReason)
class ReturnReasonAdmin(DutyAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "version", "review_round", "field", "message", "created_by")
    search_fields = ("version__name", "message")


@admin.register(ImportJob)
class ImportJobAdmin(DutyAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "unit", "kind", "status", "original_name", "total_rows", "created_count")
    list_filter = ("kind", "status")
    search_fields = ("unit__name", "original_name")


@admin.register(FilingPolicy)
class FilingPolicyAdmin(AuditedAdmin):
    """One row: the admin opens it directly and never adds a second or deletes it."""

    list_display = ("__str__", "allow_invention", "allow_utility_model", "allow_design", "allow_pending")
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not FilingPolicy.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        policy = FilingPolicy.current()
        return redirect(reverse("admin:filings_filingpolicy_change", args=[policy.pk]))
