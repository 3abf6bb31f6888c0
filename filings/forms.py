"""Forms of the enterprise pages: registration, the unit, members, patent rights, product versions.

Forms only shape and check the input; the writes go through `filings.services`, whose
ValidationErrors (a dict keyed by field) are put back onto these forms with `apply_service_errors`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, cast

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.forms.formsets import DELETION_FIELD_NAME
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from filings import rules, services
from filings.choices import LegalStatus, LicenceKind, RightKind, UnitKind, UnitScale
from filings.identifiers import parse_patent_number, validate_uscc
from filings.industries import industry_choices
from filings.models import FilingUnit, PatentRight, ProductClass
from patent_platform.choices import RegionLevel
from patent_platform.i18n import UserDataSelect
from patent_platform.models import Region, User
from patent_platform.uploads import validate_upload

# ---------------------------------------------------------------------------------------------
# Bootstrap styling and service errors


class BootstrapFormMixin:
    """Bootstrap classes on every widget, and `is-invalid` on the fields that carry errors."""

    fields: dict[str, forms.Field]
    _errors: Any

    def _style_widgets(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            existing = widget.attrs.get("class", "")
            if css not in existing.split():
                widget.attrs["class"] = f"{existing} {css}".strip()

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)  # type: ignore[misc]
        for name in self._errors or {}:
            if name in self.fields:
                widget = self.fields[name].widget
                classes = widget.attrs.get("class", "")
                if "is-invalid" not in classes.split():
                    widget.attrs["class"] = f"{classes} is-invalid".strip()


def apply_service_errors(
    form: forms.BaseForm, exc: ValidationError, field_map: Mapping[str, str] | None = None
) -> list[str]:
    """Put a service ValidationError onto the form; return the messages about the patent list.

    Keys that name a form field go onto that field (through `field_map` if the names differ);
    "patents" is returned for the formset; anything else becomes a non-field error."""
    field_map = field_map or {}
    patent_errors: list[str] = []
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return patent_errors
    for key, errors in exc.error_dict.items():
        messages = [m for e in errors for m in ValidationError(e).messages]
        if key == "patents":
            patent_errors.extend(messages)
            continue
        name = field_map.get(key, key)
        if name in form.fields and name not in (form.errors or {}):
            form.add_error(name, messages)
        elif name in form.fields:
            form.errors[name].extend(messages)
        else:
            form.add_error(None, messages)
    return patent_errors


# ---------------------------------------------------------------------------------------------
# Region selection (province → city → county)


def region_options(parent_code: str | None) -> list[tuple[str, str]]:
    """Children of a region (provinces for None), as (code, name) choices."""
    where = {"parent_id": parent_code} if parent_code else {"level": RegionLevel.PROVINCE}
    qs = Region.objects.filter(**where)
    return list(qs.order_by("code").names())


class RegionFieldsMixin:
    """Three selects; the region saved is the most specific one chosen (a county where there is one)."""

    fields: dict[str, forms.Field]
    data: Any
    initial: MutableMapping[str, Any]
    prefix: str | None

    def _setup_region_fields(self, current: Region | None = None) -> None:
        if current is not None:
            province, city, county = Region.codes_for(current.code)
            self.initial.setdefault("province", province)
            self.initial.setdefault("city", city)
            self.initial.setdefault("county", county)
        province = self._region_value("province")
        city = self._region_value("city")
        cast(forms.ChoiceField, self.fields["province"]).choices = [("", _("请选择省份")), *region_options(None)]
        cities = region_options(province) if province else []
        counties = region_options(city) if city else []
        cast(forms.ChoiceField, self.fields["city"]).choices = [("", _("请选择地市")), *cities]
        cast(forms.ChoiceField, self.fields["county"]).choices = [("", _("请选择区县")), *counties]
        # htmx loads the next level's options on change; filing-form.js clears the level below that.
        url = reverse("enterprise:regions")
        self.fields["province"].widget.attrs.update(
            {"hx-get": url, "hx-target": "#id_city", "hx-trigger": "change", "data-region-reset": "#id_county"}
        )
        self.fields["city"].widget.attrs.update({"hx-get": url, "hx-target": "#id_county", "hx-trigger": "change"})

    def _region_value(self, name: str) -> str:
        if self.data:
            key = f"{self.prefix}-{name}" if self.prefix else name
            return str(self.data.get(key) or "")
        return str(self.initial.get(name) or "")

    def clean_region(self, cleaned: dict[str, Any]) -> Region | None:
        province, city, county = cleaned.get("province"), cleaned.get("city"), cleaned.get("county")
        if not province:
            return None
        if not city and Region.objects.filter(parent_id=province).exists():
            self.add_error("city", _("请选择所在地市。"))  # type: ignore[attr-defined]
            return None
        if city and not county and Region.objects.filter(parent_id=city).exists():
            self.add_error("county", _("请选择所在区县。"))  # type: ignore[attr-defined]
            return None
        code = county or city or province
        return Region.objects.filter(code=code).first()


def _region_select(level: str) -> forms.ChoiceField:
    labels = {"province": _("省份"), "city": _("地市"), "county": _("区县")}
    return forms.ChoiceField(label=labels[level], required=level == "province", choices=[])


# ---------------------------------------------------------------------------------------------
# Registration and the unit


UNIT_FIELDS = (
    "uscc",
    "name",
    "kind",
    "address",
    "industry",
    "scale",
    "contact_name",
    "contact_phone",
    "contact_email",
)


class RegistrationForm(BootstrapFormMixin, RegionFieldsMixin, forms.Form):
    # the unit
    uscc = forms.CharField(
        label=_("统一社会信用代码"), max_length=30, help_text=_("18 位，见营业执照或事业单位法人证书")
    )
    name = forms.CharField(label=_("单位名称"), max_length=200)
    kind = forms.ChoiceField(label=_("单位类型"), choices=UnitKind.choices, initial=UnitKind.COMPANY)
    province = _region_select("province")
    city = _region_select("city")
    county = _region_select("county")
    address = forms.CharField(label=_("地址"), max_length=300, required=False)
    industry = forms.ChoiceField(label=_("所属行业"), required=False, help_text=_("GB/T 4754-2017 门类或大类"))
    scale = forms.ChoiceField(label=_("企业规模"), choices=[("", "—"), *UnitScale.choices], required=False)
    contact_name = forms.CharField(label=_("联系人"), max_length=50)
    contact_phone = forms.CharField(label=_("联系电话"), max_length=30)
    contact_email = forms.EmailField(label=_("联系邮箱"), required=False)
    # the user
    email = forms.EmailField(label=_("登录邮箱"), help_text=_("用于登录和接收备案通知"))
    full_name = forms.CharField(label=_("姓名"), max_length=100)
    phone = forms.CharField(label=_("手机号码"), max_length=30)
    password1 = forms.CharField(label=_("密码"), strip=False, widget=forms.PasswordInput(render_value=False))
    password2 = forms.CharField(label=_("确认密码"), strip=False, widget=forms.PasswordInput(render_value=False))

    unit_field_names = ("uscc", "name", "kind", "province", "city", "county", "address", "industry", "scale")
    contact_field_names = ("contact_name", "contact_phone", "contact_email")
    user_field_names = ("email", "full_name", "phone", "password1", "password2")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["industry"]).choices = [("", "—"), *industry_choices()]
        self.fields["password1"].help_text = password_validation.password_validators_help_text_html()
        self._setup_region_fields()
        self._style_widgets()

    def clean_uscc(self) -> str:
        return validate_uscc(self.cleaned_data["uscc"])

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError(_("该电子邮箱已注册，请直接登录。"), code="email_taken")
        return email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        region = self.clean_region(cleaned)
        if region is not None:
            cleaned["region"] = region
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("两次输入的密码不一致。"))
        elif p1:
            probe = User(email=cleaned.get("email", ""), full_name=cleaned.get("full_name", ""))
            try:
                password_validation.validate_password(p1, probe)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned

    def unit_data(self) -> dict[str, Any]:
        data = {name: self.cleaned_data.get(name) or "" for name in UNIT_FIELDS}
        data["region"] = self.cleaned_data["region"]
        return data

    def user_data(self) -> dict[str, Any]:
        return {
            "email": self.cleaned_data["email"],
            "full_name": self.cleaned_data["full_name"],
            "phone": self.cleaned_data["phone"],
            "password": self.cleaned_data["password1"],
        }

    def section(self, names: Iterable[str]) -> list[forms.BoundField]:
        return [self[name] for name in names]

    def unit_fields(self) -> list[forms.BoundField]:
        return self.section(self.unit_field_names)

    def contact_fields(self) -> list[forms.BoundField]:
        return self.section(self.contact_field_names)

    def user_fields(self) -> list[forms.BoundField]:
        return self.section(self.user_field_names)


class UnitForm(BootstrapFormMixin, RegionFieldsMixin, forms.ModelForm):
    """The unit manager edits the unit's profile; the USCC is fixed."""

    province = _region_select("province")
    city = _region_select("city")
    county = _region_select("county")
    industry = forms.ChoiceField(label=_("所属行业"), required=False)

    class Meta:
        model = FilingUnit
        fields = tuple(f for f in UNIT_FIELDS if f != "uscc")  # the USCC never changes

    field_order = ("name", "kind", "province", "city", "county", "address", "industry", "scale")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["industry"]).choices = [("", "—"), *industry_choices()]
        self._setup_region_fields(self.instance.region if self.instance.region_id else None)
        self._style_widgets()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        region = self.clean_region(cleaned)
        if region is not None:
            self.instance.region = region
        return cleaned


class MemberForm(BootstrapFormMixin, forms.Form):
    email = forms.EmailField(label=_("电子邮箱"), help_text=_("同事将收到设置密码的链接"))
    full_name = forms.CharField(label=_("姓名"), max_length=100)
    phone = forms.CharField(label=_("手机号码"), max_length=30, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()


# ---------------------------------------------------------------------------------------------
# Patent rights


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class RightFieldsForm(BootstrapFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("权利类型"), choices=RightKind.choices, initial=RightKind.OWNER)
    licence_kind = forms.ChoiceField(
        label=_("许可类型"),
        choices=[("", "—"), *LicenceKind.choices],
        required=False,
        help_text=_("仅被许可人填写"),
    )
    recordal_number = forms.CharField(label=_("许可备案号"), max_length=50, required=False)
    valid_until = forms.DateField(
        label=_("许可/权利期限至"), required=False, widget=DateInput(), help_text=_("许可合同或权利的截止日期")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()


class PatentRightForm(RightFieldsForm):
    """A new right; the patent is created on first mention (number in any accepted form)."""

    number = forms.CharField(
        label=_("专利申请号"),
        max_length=40,
        help_text=_("如 201710601862.3，可带 CN 或 ZL 前缀、空格，小数点可省略"),
    )
    title = forms.CharField(label=_("专利名称"), max_length=300, required=False, help_text=_("首次登记该专利时必填"))
    application_date = forms.DateField(label=_("申请日"), required=False, widget=DateInput())
    grant_date = forms.DateField(label=_("授权公告日"), required=False, widget=DateInput())
    legal_status = forms.ChoiceField(label=_("法律状态"), choices=LegalStatus.choices, initial=LegalStatus.VALID)

    field_order = (
        "number",
        "title",
        "application_date",
        "grant_date",
        "legal_status",
        "kind",
        "licence_kind",
        "recordal_number",
        "valid_until",
    )

    def clean_number(self) -> str:
        return parse_patent_number(self.cleaned_data["number"]).normalized


# ---------------------------------------------------------------------------------------------
# Product versions


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleImageField, self).clean(f, initial) for f in files]


class VersionForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("产品名称"), max_length=200)
    model = forms.CharField(label=_("型号规格"), max_length=200, required=False)
    product_class = forms.ModelChoiceField(
        label=_("产品分类"), queryset=ProductClass.objects.none(), empty_label=_("请选择产品分类")
    )
    description = forms.CharField(
        label=_("产品简介"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "translate": "no"}),  # what the unit typed (docs/I18N.md)
    )
    first_sale_date = forms.DateField(label=_("首次销售日期"), required=False, widget=DateInput())
    sales = forms.DecimalField(label=_("上年度销售额（万元）"), min_value=0, max_digits=14, decimal_places=2)
    exports = forms.DecimalField(
        label=_("年度出口额（万元）"),
        min_value=0,
        max_digits=14,
        decimal_places=2,
        required=False,  # blank is 0: the rule of rules.figure_errors, as the API and the Excel import
        help_text=_("没有出口的留空或填 0"),
    )
    output_value = forms.DecimalField(label=_("产值（万元）"), min_value=0, max_digits=14, decimal_places=2)
    certification_opt_in = forms.BooleanField(
        label=_("参与专利密集型产品认定"),
        required=False,
        help_text=_("勾选后，本年度的备案数据将用于专利密集型产品认定"),
    )
    images = MultipleImageField(
        label=_("产品图片"), required=False, help_text=_("JPG 或 PNG，可一次选择多张；出错时需重新选择文件")
    )

    def __init__(self, *args: Any, current_class: ProductClass | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        classes = ProductClass.objects.filter(is_active=True)
        if current_class is not None:
            classes = ProductClass.objects.filter(pk=current_class.pk) | classes
        cast(forms.ModelChoiceField, self.fields["product_class"]).queryset = classes.order_by("code")
        self._style_widgets()
        self.image_kinds: list[str] = []

    def clean_images(self) -> list[Any]:
        files = self.cleaned_data.get("images") or []
        errors: list[str] = []
        kinds: list[str] = []
        for f in files:
            try:
                kinds.append(validate_upload(f, allowed=("jpg", "png")))
            except ValidationError as exc:
                errors.extend(f"{f.name}：{m}" for m in exc.messages)
        if errors:
            raise ValidationError(errors)
        self.image_kinds = kinds
        return files

    def service_data(self) -> dict[str, Any]:
        data = {n: self.cleaned_data.get(n) for n in services.VERSION_FIELDS}
        data["model"] = data["model"] or ""
        data["description"] = data["description"] or ""
        return data


class NewVersionForm(VersionForm):
    data_year = forms.TypedChoiceField(
        label=_("数据年度"), coerce=int, help_text=_("销售额等数据所属的年度，默认为上一年度")
    )

    field_order = ("data_year",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        first, latest = rules.data_year_window()  # the one rule every path applies
        cast(forms.ChoiceField, self.fields["data_year"]).choices = [(y, str(y)) for y in range(latest, first - 1, -1)]
        self.fields["data_year"].initial = latest


class PatentRightChoiceField(forms.ModelChoiceField):
    """A patent right shown as its patent's number and title."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.patent.number} {obj.patent.title}"


class PatentLinkForm(BootstrapFormMixin, forms.Form):
    right = PatentRightChoiceField(
        label=_("专利"), queryset=PatentRight.objects.none(), empty_label=_("请选择专利"), widget=UserDataSelect
    )
    is_core = forms.BooleanField(label=_("核心专利"), required=False)
    contribution = forms.DecimalField(
        label=_("贡献度（%）"), min_value=0, max_value=100, max_digits=5, decimal_places=2
    )
    embodiment = forms.CharField(label=_("专利在产品中的体现"), max_length=500, required=False)

    def __init__(self, *args: Any, rights: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if rights is not None:
            cast(forms.ModelChoiceField, self.fields["right"]).queryset = rights
        self._style_widgets()


class BasePatentLinkFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, rights: Any = None, **kwargs: Any) -> None:
        self.rights = rights
        super().__init__(*args, **kwargs)

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = _("移除")
            form.fields["DELETE"].widget.attrs["class"] = "form-check-input"

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "rights": self.rights}

    def links(self) -> list[dict[str, Any]]:
        """The filled-in rows, not marked for deletion, in the shape the services take."""
        rows = []
        for form in self.forms:
            # BaseFormSet._should_delete_form (not in django-stubs): the row's DELETE box
            if form.cleaned_data.get(DELETION_FIELD_NAME, False) or not form.cleaned_data.get("right"):
                continue
            data = form.cleaned_data
            rows.append(
                {
                    "right": data["right"].pk,
                    "is_core": bool(data.get("is_core")),
                    "contribution": data["contribution"],
                    "embodiment": data.get("embodiment") or "",
                }
            )
        return rows


def link_formset(extra: int = 1) -> type[BasePatentLinkFormSet]:
    """The patent-link formset; rows are added in the browser by static/js/filing-form.js."""
    formset = forms.formset_factory(
        PatentLinkForm, formset=BasePatentLinkFormSet, extra=extra, can_delete=True, max_num=200
    )
    # a subclass of `formset=` (django-stubs type it as the base formset)
    return cast(type[BasePatentLinkFormSet], formset)


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("撤回理由"), max_length=1000, required=False)


# ---------------------------------------------------------------------------------------------
# Identity: proof of a unit's identity, claims (filings/identity.py)

PROOF_ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"


class ProofFieldsMixin(forms.Form):
    letter = forms.FileField(
        label=_("授权委托书（加盖单位公章）"),
        help_text=_("扫描件，PDF、JPG 或 PNG；由单位法定代表人授权经办人办理专利产品备案。"),
        widget=forms.ClearableFileInput(attrs={"accept": PROOF_ACCEPT}),
    )
    licence = forms.FileField(
        label=_("营业执照"),
        help_text=_("营业执照或事业单位法人证书的扫描件，PDF、JPG 或 PNG。"),
        widget=forms.ClearableFileInput(attrs={"accept": PROOF_ACCEPT}),
    )
    note = forms.CharField(label=_("说明"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))


class VerificationForm(BootstrapFormMixin, ProofFieldsMixin):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()


class ClaimForm(BootstrapFormMixin, ProofFieldsMixin):
    uscc = forms.CharField(label=_("统一社会信用代码"), max_length=30)
    email = forms.EmailField(label=_("登录邮箱"), help_text=_("认领通过后，该账号成为单位管理员"))
    full_name = forms.CharField(label=_("姓名"), max_length=100)
    phone = forms.CharField(label=_("手机号码"), max_length=30)
    password1 = forms.CharField(label=_("密码"), strip=False, widget=forms.PasswordInput(render_value=False))
    password2 = forms.CharField(label=_("确认密码"), strip=False, widget=forms.PasswordInput(render_value=False))

    field_order = ("uscc", "email", "full_name", "phone", "password1", "password2", "letter", "licence", "note")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password1"].help_text = password_validation.password_validators_help_text_html()
        self._style_widgets()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("两次输入的密码不一致。"))
        return cleaned

    def user_data(self) -> dict[str, Any]:
        return {
            "email": self.cleaned_data["email"],
            "full_name": self.cleaned_data["full_name"],
            "phone": self.cleaned_data["phone"],
            "password": self.cleaned_data["password1"],
        }


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", _("通过")), ("reject", _("不通过"))])
    reason = forms.CharField(required=False, max_length=1000)
