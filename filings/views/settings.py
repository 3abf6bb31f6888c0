"""Platform settings of the filing programme, for national administrators.

Which patents may back a filing (types, pending applications, licence recordal) is not fixed by any
public source (DOMAIN.md §2, unknown): it is therefore a platform setting, `FilingPolicy`, that the
national office changes here. Every save is written to the audit log with before → after.
"""

from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponse
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView

from filings.choices import PENDING_STATUSES
from filings.models import FilingPolicy, FilingUnit, ProductVersion
from patent_platform import audit
from patent_platform.choices import Role
from patent_platform.views.base import ScopedViewMixin

POLICY_FIELDS = ["allow_invention", "allow_utility_model", "allow_design", "allow_pending", "require_licence_recordal"]


class FilingPolicyForm(forms.ModelForm):
    class Meta:
        model = FilingPolicy
        fields = POLICY_FIELDS
        help_texts: ClassVar[dict[str, Any]] = {
            "allow_pending": _("不勾选时，只有法律状态为“有效”的专利可以用于备案；勾选后，审查中的专利申请也可以。"),
            "require_licence_recordal": _("勾选后，被许可人登记专利时须填写许可备案号，未备案的许可不能用于备案。"),
        }

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if not any(cleaned.get(f) for f in ("allow_invention", "allow_utility_model", "allow_design")):
            raise forms.ValidationError(
                _("请至少允许一种专利类型用于备案，否则任何产品都无法提交。"), code="no_patent_type"
            )
        return cleaned


class FilingPolicyView(ScopedViewMixin, FormView):
    """The filing policy (备案规则设置): one row, edited by the national office, audited."""

    roles = frozenset({Role.NATIONAL_ADMIN})
    model = FilingUnit
    form_class = FilingPolicyForm
    template_name = "filings/settings/policy.html"
    success_url = reverse_lazy("filing_settings:policy")

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["instance"] = FilingPolicy.current()
        return kwargs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["policy"] = FilingPolicy.current()
        pending = ProductVersion.objects.visible_to(self.request.user).filter(status__in=PENDING_STATUSES)
        context["pending_count"] = pending.aggregate(n=Count("id"))["n"]
        context["type_fields"] = [context["form"][f] for f in POLICY_FIELDS[:3]]
        context["other_fields"] = [context["form"][f] for f in POLICY_FIELDS[3:]]
        return context

    def form_valid(self, form: FilingPolicyForm) -> HttpResponse:
        with transaction.atomic():
            policy = FilingPolicy.objects.select_for_update().get(pk=form.instance.pk)
            before = audit.snapshot(policy)
            changed = [f for f in POLICY_FIELDS if getattr(policy, f) != form.cleaned_data[f]]
            for field in changed:
                setattr(policy, field, form.cleaned_data[field])
            if changed:
                policy.save()
                audit.audit_change(obj=policy, before=before, ignore=frozenset({"updated_at"}), message="filing policy")
        if not changed:
            messages.info(self.request, _("设置没有变化。"))
        else:
            messages.success(self.request, _("备案规则已保存，自即日起对提交和审核通过生效。"))
        return super().form_valid(form)
