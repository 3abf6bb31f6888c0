"""Serializers of the filing API: read shapes (flattened, documented) and the write bodies the services take.

The write serializers only check types and shapes; the rules (patent numbers, figures, patent lists,
workflow states) are the services' and the workflow's, whose field messages the views pass through.
"""

import datetime
import decimal
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any, ClassVar

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from filings import services, workflow
from filings.choices import FilingStatus, LegalStatus, LicenceKind, PatentKind, RightKind
from filings.models import (
    FilingUnit,
    Patent,
    PatentLink,
    PatentRight,
    Product,
    ProductClass,
    ProductVersion,
    ReturnReason,
)
from patent_platform.api.fields import CodeRelatedField, ModelSerializer
from patent_platform.choices import Role
from patent_platform.masking import mask_email, mask_name, mask_phone
from patent_platform.params import ID_MAX

# ---------------------------------------------------------------------------------------------
# Filing units


class FilingUnitSerializer(ModelSerializer):
    class Meta:
        model = FilingUnit
        fields: ClassVar[list[str]] = [
            "id",
            "uscc",
            "name",
            "kind",
            "region",
            "province_code",
            "city_code",
            "county_code",
            "industry",
            "scale",
            "contact_name",
            "contact_phone",
            "contact_email",
            "created_at",
        ]
        read_only_fields = fields

    # Port and national administrators read units as statistics (patent_platform/masking.py): contacts
    # masked, as in the dashboards' unit lists. The unit's own users and the reviewers (who call the filer
    # about a filing) see them in full.
    MASKED_FOR_ROLES = frozenset({Role.PORT_ADMIN, Role.NATIONAL_ADMIN})

    def to_representation(self, instance: FilingUnit) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None and getattr(request.user, "role", None) in self.MASKED_FOR_ROLES:
            data["contact_name"] = mask_name(data["contact_name"])
            data["contact_phone"] = mask_phone(data["contact_phone"])
            data["contact_email"] = mask_email(data["contact_email"])
        return data


# ---------------------------------------------------------------------------------------------
# Patent rights


class PatentRightSerializer(ModelSerializer):
    """A filing unit's right to a patent, with the patent's own fields flattened in."""

    number = serializers.CharField(source="patent.number", read_only=True, help_text=_("规范化申请号"))
    patent_number = serializers.CharField(source="patent.patent_number", read_only=True, help_text=_("专利号（ZL…）"))
    title = serializers.CharField(source="patent.title", read_only=True)
    kind = serializers.ChoiceField(source="patent.kind", choices=PatentKind.choices, read_only=True)
    pct = serializers.BooleanField(source="patent.pct", read_only=True)
    legal_status = serializers.ChoiceField(source="patent.legal_status", choices=LegalStatus.choices, read_only=True)
    application_date = serializers.DateField(source="patent.application_date", read_only=True, allow_null=True)
    grant_date = serializers.DateField(source="patent.grant_date", read_only=True, allow_null=True)
    right_kind = serializers.ChoiceField(source="kind", choices=RightKind.choices, read_only=True)
    # blank when the right is not a licence (the schema must allow "")
    licence_kind = serializers.ChoiceField(choices=LicenceKind.choices, allow_blank=True, read_only=True)

    class Meta:
        model = PatentRight
        fields: ClassVar[list[str]] = [
            "id",
            "number",
            "patent_number",
            "title",
            "kind",
            "pct",
            "legal_status",
            "application_date",
            "grant_date",
            "right_kind",
            "licence_kind",
            "recordal_number",
            "valid_until",
            "unit",
            "created_at",
        ]
        read_only_fields = fields


class PatentRightUpdateSerializer(serializers.Serializer):
    """The right's own fields (the patent record is shared between units and is not edited here)."""

    right_kind = serializers.ChoiceField(choices=RightKind.choices, required=False)
    licence_kind = serializers.ChoiceField(choices=LicenceKind.choices, required=False, allow_blank=True)
    recordal_number = serializers.CharField(max_length=50, required=False, allow_blank=True)
    valid_until = serializers.DateField(required=False, allow_null=True)

    def service_data(self) -> dict[str, Any]:
        """The validated body in the shape `services.patent_right_create`/`patent_right_update` take."""
        data = dict(self.validated_data)
        if "right_kind" in data:
            data["kind"] = data.pop("right_kind")
        return data


class PatentRightCreateSerializer(PatentRightUpdateSerializer):
    number = serializers.CharField(
        max_length=40, help_text=_("申请号或专利号，任何可接受的写法：CN/ZL 前缀、空格、缺少小数点均可")
    )
    title = serializers.CharField(
        max_length=300, required=False, allow_blank=True, help_text=_("专利名称（首次登记该专利时必填）")
    )
    application_date = serializers.DateField(required=False, allow_null=True)
    grant_date = serializers.DateField(required=False, allow_null=True)
    legal_status = serializers.ChoiceField(choices=LegalStatus.choices, required=False)


# ---------------------------------------------------------------------------------------------
# Products and their versions


class PatentLinkSerializer(ModelSerializer):
    patent_number = serializers.CharField(source="right.patent.patent_number", read_only=True)

    class Meta:
        model = PatentLink
        fields: ClassVar[list[str]] = ["right", "patent_number", "is_core", "contribution", "embodiment"]
        read_only_fields = fields


class PatentLinkInputSerializer(serializers.Serializer):
    right = serializers.IntegerField(
        min_value=1, max_value=ID_MAX, help_text=_("本单位专利权利的 id（/api/v1/patents/ 中的 id）")
    )
    is_core = serializers.BooleanField(required=False, default=False)
    contribution = serializers.DecimalField(max_digits=5, decimal_places=2, help_text=_("贡献度（%），0–100"))
    embodiment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class VersionSummarySerializer(ModelSerializer):
    class Meta:
        model = ProductVersion
        fields: ClassVar[list[str]] = ["id", "data_year", "status"]
        read_only_fields = fields


class VersionSerializer(ModelSerializer):
    product_class: serializers.SlugRelatedField[ProductClass] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    links = PatentLinkSerializer(many=True, read_only=True)
    return_reasons = serializers.SerializerMethodField(
        help_text=_("最近一次退回的理由，按字段（空字符串表示整体；patents 表示专利清单）")
    )
    allowed_actions = serializers.SerializerMethodField(help_text=_("当前用户现在可以执行的流程操作"))

    class Meta:
        model = ProductVersion
        fields: ClassVar[list[Any]] = [
            "id",
            "data_year",
            "status",
            *services.VERSION_FIELDS,
            "submitted_at",
            "decided_at",
            "links",
            "return_reasons",
            "allowed_actions",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.DictField(child=serializers.ListField(child=serializers.CharField()), read_only=True)
    )
    def get_return_reasons(self, version: ProductVersion) -> dict[str, list[str]]:
        return workflow.current_return_reasons(version)

    @extend_schema_field(serializers.ListField(child=serializers.CharField(), read_only=True))
    def get_allowed_actions(self, version: ProductVersion) -> list[str]:
        request = self.context.get("request")
        return workflow.allowed_actions(version, getattr(request, "user", None))


def current_version(product: Product) -> ProductVersion | None:
    """The version of the latest data year (from the prefetched, newest-first list when there is one)."""
    if "versions" in getattr(product, "_prefetched_objects_cache", {}):
        versions = list(product.versions.all())
        return max(versions, key=lambda v: (v.data_year, v.pk)) if versions else None
    return product.versions.order_by("-data_year", "-id").first()


def public_path(product: Product) -> str:
    """The public product page, by filing number."""
    return reverse("public:product", kwargs={"filing_number": product.filing_number})


class ProductSerializer(ModelSerializer):
    public_url = serializers.SerializerMethodField(help_text=_("公开产品页（已通过备案时）"))
    current_version = serializers.SerializerMethodField(help_text=_("最新数据年度的版本"))
    versions = serializers.SerializerMethodField(help_text=_("各数据年度的版本，新在前"))

    class Meta:
        model = Product
        fields: ClassVar[list[str]] = [
            "id",
            "filing_number",
            "unit",
            "public_url",
            "current_version",
            "versions",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_public_url(self, product: Product) -> str | None:
        if not (product.published_version_id and product.filing_number):
            return None
        path = public_path(product)
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    @extend_schema_field(VersionSerializer(allow_null=True))
    def get_current_version(self, product: Product) -> dict[str, Any] | None:
        version = current_version(product)
        return VersionSerializer(version, context=self.context).data if version is not None else None

    @extend_schema_field(VersionSummarySerializer(many=True))
    def get_versions(self, product: Product) -> list[dict[str, Any]]:
        versions = sorted(product.versions.all(), key=lambda v: (v.data_year, v.pk), reverse=True)
        # many=True makes a ListSerializer, whose data is a list: drf-stubs type it as the child's
        return VersionSummarySerializer(versions, many=True).data  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# The product list: the same JSON as ProductSerializer(many=True), built from a few value queries

# VersionSerializer's fields that are not a column of the version itself
_VERSION_COMPUTED = ("product_class", "links", "return_reasons", "allowed_actions")
_SUMMARY_FIELDS = tuple(VersionSummarySerializer.Meta.fields)  # id, data_year, status
_LINK_COLUMNS = ("is_core", "contribution", "embodiment")
# the columns of a product the list reads (`values()`: a page of dicts, no model instance per product)
PRODUCT_LIST_COLUMNS = ("id", "unit_id", "filing_number", "published_version_id", "created_at")


class _PatentNumber:
    """Just enough of a Patent for `Patent.patent_number` (the property itself, not a copy of its rule)."""

    __slots__ = ("number",)

    def __init__(self, number: str) -> None:
        self.number = number


_patent_number = Patent.patent_number.fget  # type: ignore[attr-defined]
_PLAIN_FILING_NUMBER = re.compile(r"[A-Z0-9]+")  # needs no quoting in a URL
FILING_NUMBER_PLACEHOLDER = "FILINGNUMBER0"

# (name, the field's to_representation, the value type it gives back unchanged)
Formatter = tuple[str, Callable[[Any], Any], type]
# Fields whose to_representation returns a value of this exact type as it is (str(s), int(i), a bool, a
# choice's own code): the list skips the call for such values, the others go through the field.
_UNCHANGED = {
    serializers.CharField: str,
    serializers.ChoiceField: str,
    serializers.IntegerField: int,
    serializers.BooleanField: bool,
}


@functools.cache
def _list_format(tz: Any) -> dict[str, tuple[Formatter, ...]]:
    """The serializers' own fields, built once per process and time zone (building them per product was
    half the list's time): each value is formatted by the very field ProductSerializer would use, a
    DateTimeField with the time zone its `default_timezone()` would look up for every value fixed."""
    columns = [n for n in VersionSerializer.Meta.fields if n not in _VERSION_COMPUTED]
    version, link, product = VersionSerializer().fields, PatentLinkSerializer().fields, ProductSerializer().fields

    def formatters(fields: Any, names: Sequence[str]) -> tuple[Formatter, ...]:
        result = []
        for name in names:
            field = fields[name]
            if isinstance(field, serializers.DateTimeField) and not hasattr(field, "timezone"):
                field.timezone = tz  # these field objects serve this cache entry only
            result.append((name, representation_of(field), _UNCHANGED.get(type(field), type(None))))
        return tuple(result)

    return {
        "version": formatters(version, columns),
        "link": formatters(link, _LINK_COLUMNS),
        "product": formatters(product, ("id", "filing_number", "created_at")),
    }


def representation_of(field: serializers.Field) -> Callable[[Any], Any]:
    """`field.to_representation`, or an equal and quicker function for the two kinds the list formats most
    (four decimals and two moments per product): a DecimalField's quantum and context built once instead
    of per value (DRF copies the thread's decimal context and raises 0.1 to the power of the places for
    every value; nothing in the platform changes that context), a DateTimeField's ISO 8601 text in its
    fixed time zone. Any other value (a naive moment, one out of range, a float) goes through the field
    itself; tests/filings/test_api_queries.py checks both against the fields on random values."""
    to_repr = field.to_representation
    if (
        type(field) is serializers.DecimalField
        and field.decimal_places is not None
        and getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
        and not field.localize
        and not field.normalize_output
    ):
        quantum = decimal.Decimal(".1") ** field.decimal_places
        context = decimal.getcontext().copy()
        if field.max_digits is not None:
            context.prec = field.max_digits
        rounding = field.rounding

        def decimal_text(value: Any) -> Any:
            if type(value) is not decimal.Decimal:
                return to_repr(value)
            return f"{value.quantize(quantum, rounding=rounding, context=context):f}"

        return decimal_text
    if (
        type(field) is serializers.DateTimeField
        and getattr(field, "timezone", None) is not None
        and str(getattr(field, "format", api_settings.DATETIME_FORMAT)).lower() == ISO_8601
    ):
        zone = field.timezone

        def moment_text(value: Any) -> Any:
            if type(value) is not datetime.datetime or value.tzinfo is None:
                return to_repr(value)
            try:
                text = value.astimezone(zone).isoformat()
            except OverflowError:
                return to_repr(value)  # the field's own error
            return text[:-6] + "Z" if text.endswith("+00:00") else text

        return moment_text
    return to_repr


def _formatted(formatters: tuple[Formatter, ...], values: Sequence[Any]) -> dict[str, Any]:
    # as Serializer.to_representation: None stays None, any other value goes through its field
    return {
        name: v if v is None or type(v) is unchanged else to_repr(v)
        for (name, to_repr, unchanged), v in zip(formatters, values, strict=True)
    }


def product_list_data(products: Sequence[dict[str, Any]], context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`ProductSerializer(products, many=True, context=context).data` for a page of products read as
    `values(*PRODUCT_LIST_COLUMNS)`, without a serializer per product or a model instance per product,
    version or link (the list endpoint's cost, issue 7).

    The products come from a scoped queryset; their versions and links are read through `visible_to`
    too, in at most three more queries for any number of products: every version (newest first), the
    current versions' links with the patent numbers and, when a current version is returned, its return
    reasons. tests/filings/test_api_queries.py checks that every row equals ProductSerializer's and pins
    the query count.
    """
    if not products:
        return []
    request = context.get("request")
    user = getattr(request, "user", None)
    fmt = _list_format(timezone.get_current_timezone() if settings.USE_TZ else None)
    version_format, link_format = fmt["version"], fmt["link"]
    (_, id_repr, _), (_, number_repr, _), (_, created_repr, _) = fmt["product"]
    columns = [name for name, _repr, _type in version_format]
    # a version row: product_id, review_round, class code, then the columns
    id_at, status_at = 3 + columns.index("id"), 3 + columns.index("status")
    summary_at = [3 + columns.index(name) for name in _SUMMARY_FIELDS]

    # 1. every version of these products, newest first (as current_version()): the first is the current
    versions: dict[int, list[tuple[Any, ...]]] = {}
    for row in (
        ProductVersion.objects.visible_to(user)
        .filter(product_id__in=[p["id"] for p in products])
        .order_by("product_id", "-data_year", "-id")
        .values_list("product_id", "review_round", "product_class__code", *columns)
    ):
        versions.setdefault(row[0], []).append(row)
    current = {rows[0][id_at]: rows[0] for rows in versions.values()}

    # 2. the current versions' patent links, in the model's order
    links: dict[int, list[dict[str, Any]]] = {}
    if current:
        for version_id, right_id, number, *values in (
            PatentLink.objects.visible_to(user)
            .filter(version_id__in=list(current))
            .values_list("version_id", "right_id", "right__patent__number", *_LINK_COLUMNS)
        ):
            link = {"right": right_id, "patent_number": _patent_number(_PatentNumber(number))}
            link.update(_formatted(link_format, values))
            links.setdefault(version_id, []).append(link)

    # 3. the reasons of the latest return (as workflow.current_return_reasons), for returned versions only;
    # ReturnReason is not a scoped model: these version ids were read through visible_to above
    reasons: dict[int, dict[str, list[str]]] = {}
    rounds = {vid: row[1] for vid, row in current.items() if row[status_at] == FilingStatus.RETURNED}
    if rounds:
        for version_id, review_round, field, message in ReturnReason.objects.filter(
            version_id__in=list(rounds)
        ).values_list("version_id", "review_round", "field", "message"):  # ordered by round and id
            if review_round == rounds[version_id]:
                reasons.setdefault(version_id, {}).setdefault(field, []).append(message)

    # allowed actions depend on the version's status and the user's role only (workflow.RULES): once per status
    actions: dict[str, list[str]] = {}
    # the public page's URL, reversed and made absolute once (a filing number is letters and digits:
    # nothing in it to quote); any other number goes the long way, as get_public_url does
    template = reverse("public:product", kwargs={"filing_number": FILING_NUMBER_PLACEHOLDER})
    if request is not None:
        template = request.build_absolute_uri(template)
    head, _, tail = template.partition(FILING_NUMBER_PLACEHOLDER)

    data = []
    for product in products:
        rows = versions.get(product["id"], [])
        version_data = None
        if rows:
            row = rows[0]
            values = _formatted(version_format, row[3:])
            values["product_class"] = row[2]
            values["links"] = links.get(row[id_at], [])
            values["return_reasons"] = reasons.get(row[id_at], {})
            status = values["status"]
            if status not in actions:
                actions[status] = workflow.allowed_actions(ProductVersion(status=status), user)
            values["allowed_actions"] = list(actions[status])
            version_data = {name: values[name] for name in VersionSerializer.Meta.fields}  # the serializer's order
        filing_number = product["filing_number"]
        public_url = None
        if product["published_version_id"] and filing_number:
            if _PLAIN_FILING_NUMBER.fullmatch(filing_number):
                public_url = head + filing_number + tail
            else:
                path = public_path(SimpleNamespace(filing_number=filing_number))  # type: ignore[arg-type]
                public_url = request.build_absolute_uri(path) if request is not None else path
        data.append(
            {
                "id": id_repr(product["id"]),
                "filing_number": None if filing_number is None else number_repr(filing_number),
                "unit": product["unit_id"],
                "public_url": public_url,
                "current_version": version_data,
                # ints and a status code: VersionSummarySerializer's fields give them back as they are
                "versions": [dict(zip(_SUMMARY_FIELDS, [r[i] for i in summary_at], strict=True)) for r in rows],
                "created_at": None if product["created_at"] is None else created_repr(product["created_at"]),
            }
        )
    return data


class ProductUpdateSerializer(serializers.Serializer):
    """The editable fields of the current version; `links`, when given, replaces the whole patent list."""

    name = serializers.CharField(max_length=200, required=False)
    model = serializers.CharField(max_length=200, required=False, allow_blank=True)
    product_class = CodeRelatedField(
        slug_field="code",
        queryset=ProductClass.objects.filter(is_active=True),
        required=False,
        help_text=_("产品分类代码"),
    )
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    first_sale_date = serializers.DateField(required=False, allow_null=True)
    sales = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, help_text=_("上年度销售额（万元）")
    )
    exports = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, help_text=_("年度出口额（万元）")
    )
    output_value = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, help_text=_("产值（万元）")
    )
    links = PatentLinkInputSerializer(many=True, required=False)

    def service_data(self) -> tuple[dict[str, Any], list[Mapping[str, Any]] | None]:
        data = dict(self.validated_data)
        links = data.pop("links", None)
        return data, ([dict(link) for link in links] if links is not None else None)


class ProductCreateSerializer(ProductUpdateSerializer):
    data_year = serializers.IntegerField(
        min_value=2000, max_value=2100, required=False, help_text=_("数据年度，默认上一年")
    )
    name = serializers.CharField(max_length=200)
    product_class = CodeRelatedField(
        slug_field="code", queryset=ProductClass.objects.filter(is_active=True), help_text=_("产品分类代码")
    )
    links = PatentLinkInputSerializer(many=True, help_text=_("关联专利清单（可为空，提交审核前须至少一项核心专利）"))


class ReturnSerializer(serializers.Serializer):
    reasons = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=1000),
        help_text=_(
            "退回理由，按字段：name、model、product_class、description、images、first_sale_date、sales、exports、"
            "output_value、patents；空字符串表示整体"
        ),
    )


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ApproveSerializer(serializers.Serializer):
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=workflow.OVERRIDE_REASON_MAX,
        help_text=_("审核员说明理由通过：备案的专利存在未处理的权属冲突时必填，记录在备案上并写入审计日志"),
    )


class YearlyUpdateSerializer(serializers.Serializer):
    data_year = serializers.IntegerField(
        min_value=2000, max_value=2100, required=False, allow_null=True, help_text=_("默认最新版本的下一年")
    )


class OptInSerializer(serializers.Serializer):
    opt_in = serializers.BooleanField(help_text=_("是否参与本数据年度的专利密集型产品认定"))
