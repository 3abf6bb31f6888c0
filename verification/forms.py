"""The form the national office registers and edits a verification client with."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from filings.forms import BootstrapFormMixin
from patent_platform.choices import RegionLevel
from patent_platform.clock import china_today
from patent_platform.models import Region
from verification.choices import ClientScope
from verification.models import MAX_PER_DAY, MAX_PER_MINUTE


def region_choices() -> list[tuple[str, str]]:
    rows = Region.objects.filter(level__in=[RegionLevel.PROVINCE, RegionLevel.CITY]).select_related("parent")
    choices = [("", str(_("全国")))]
    for region in rows.order_by("code"):
        if region.level == RegionLevel.PROVINCE:
            choices.append((region.code, f"{region.code} {region.name}"))
        elif region.name not in {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}:
            choices.append((region.code, f"{region.code} {region.parent.name if region.parent else ''}{region.name}"))
    return choices


class ClientForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("客户端名称"), max_length=100, help_text=_("如：浙江省财政厅专项资金系统"))
    organisation = forms.CharField(label=_("使用单位"), max_length=200)
    contact = forms.CharField(label=_("联系人及联系方式"), max_length=200, required=False)
    scopes = forms.MultipleChoiceField(
        label=_("权限范围"), choices=ClientScope.choices, widget=forms.CheckboxSelectMultiple
    )
    region = forms.ChoiceField(
        label=_("数据范围"), required=False, help_text=_("全国，或一个省级、地级行政区：范围外的数据一律答“不存在”")
    )
    per_minute = forms.IntegerField(label=_("每分钟请求上限"), min_value=1, max_value=MAX_PER_MINUTE, initial=60)
    per_day = forms.IntegerField(label=_("每日请求上限"), min_value=1, max_value=MAX_PER_DAY, initial=10_000)
    valid_until = forms.DateField(
        label=_("有效期至"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("该日（北京时间）结束后不再接受其令牌"),
    )
    note = forms.CharField(label=_("备注"), max_length=500, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("forms.ChoiceField", self.fields["region"]).choices = region_choices()
        if not self.is_bound and "valid_until" not in self.initial:
            self.initial["valid_until"] = china_today().replace(year=china_today().year + 1, day=1)
        self._style_widgets()
        self.fields["scopes"].widget.attrs["class"] = "form-check-input"

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        code = data.get("region") or ""
        data["region"] = Region.objects.get(code=code) if code else None
        return data


class ConfirmForm(forms.Form):
    reason = forms.CharField(label=_("说明"), max_length=500, required=False)
