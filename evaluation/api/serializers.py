"""Serializers of the evaluation API: read shapes (flattened, documented) and the write bodies the services take.

The write serializers only check types and shapes; the rules (stages, dates, percentiles, benchmark values)
are those of `evaluation.methods` and `evaluation.rounds`, whose field messages the views pass through.

Expert scores on a result depend on who asks (`expert_scores`): national administrators see every expert's
scores with their names; an expert sees only their own; everyone else who may see the result (the filer,
ports of its region, reviewers) sees the list of totals, without who gave them, once the industry
evaluation is closed.
"""

from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from evaluation.choices import STAGE_ORDER, CandidateStatus, CertificateStatus, Stage, Trait
from evaluation.models import (
    CRITERIA,
    Assignment,
    Benchmark,
    BenchmarkSet,
    Candidate,
    Indicator,
    IndicatorResult,
    MethodVersion,
    Round,
)
from filings.models import ProductClass
from patent_platform.api.fields import CodeRelatedField, IdRelatedField, ModelSerializer
from patent_platform.choices import Role
from patent_platform.params import SMALL_MAX

if TYPE_CHECKING:
    from patent_platform.scoping import Reader

# ---------------------------------------------------------------------------------------------
# Methods


class IndicatorSerializer(ModelSerializer):
    formula_text = serializers.CharField(read_only=True, help_text=_("计算公式的文字说明"))

    class Meta:
        model = Indicator
        fields: ClassVar[list[str]] = [
            "id",
            "code",
            "name",
            "name_en",
            "trait",
            "unit",
            "unit_en",
            "formula",
            "formula_text",
            "clause",
            "direction",
            "order",
        ]
        read_only_fields = fields


class MethodSerializer(ModelSerializer):
    based_on_code = serializers.CharField(
        source="based_on.code", read_only=True, allow_null=True, default=None, help_text=_("修订自的版本号")
    )
    indicators = IndicatorSerializer(many=True, read_only=True)

    class Meta:
        model = MethodVersion
        fields: ClassVar[list[str]] = [
            "id",
            "code",
            "name",
            "statement",
            "status",
            "standard",
            "standard_other",
            "edition",
            "clauses_required",
            "min_passed_per_trait",
            "min_passed_total",
            "default_percentile",
            "score_rule",
            "expert_pass_score",
            "based_on",
            "based_on_code",
            "created_at",
            "indicators",
        ]
        read_only_fields = fields


# ---------------------------------------------------------------------------------------------
# Benchmark sets


class BenchmarkValueSerializer(ModelSerializer):
    code = serializers.CharField(source="indicator.code", read_only=True, help_text=_("指标代码"))
    name = serializers.CharField(source="indicator.name", read_only=True)

    class Meta:
        model = Benchmark
        fields: ClassVar[list[str]] = ["indicator", "code", "name", "value", "suggested"]
        read_only_fields = fields


class BenchmarkSetSerializer(ModelSerializer):
    method_code = serializers.CharField(source="method.code", read_only=True)
    product_class: serializers.SlugRelatedField[ProductClass] = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text=_("产品分类代码")
    )
    product_class_name = serializers.CharField(source="product_class.name", read_only=True)
    values = BenchmarkValueSerializer(many=True, read_only=True)

    class Meta:
        model = BenchmarkSet
        fields: ClassVar[list[str]] = [
            "id",
            "method",
            "method_code",
            "product_class",
            "product_class_name",
            "data_year",
            "number",
            "status",
            "percentile",
            "sample_size",
            "note",
            "created_at",
            "fixed_at",
            "values",
        ]
        read_only_fields = fields


class BenchmarkSetCreateSerializer(serializers.Serializer):
    method = IdRelatedField(
        queryset=MethodVersion.objects.all(), required=False, help_text=_("评价方法版本 id，默认现行版本")
    )
    product_class = CodeRelatedField(
        slug_field="code", queryset=ProductClass.objects.all(), help_text=_("产品分类代码")
    )
    data_year = serializers.IntegerField(min_value=2000, max_value=2100)
    percentile = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=100,
        help_text=_("建议值使用的百分位数（1–99），默认方法版本的设定"),
    )


class BenchmarkValuesSerializer(serializers.Serializer):
    values = serializers.DictField(
        child=serializers.CharField(allow_blank=True, allow_null=True, max_length=40),
        required=False,
        help_text=_('按指标代码给出基准值，如 {"P1": "3.5"}；空字符串或 null 清空该值；未给出的指标不变'),
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class PercentileSerializer(serializers.Serializer):
    percentile = serializers.IntegerField(min_value=0, max_value=100, help_text=_("百分位数（1–99）"))


# ---------------------------------------------------------------------------------------------
# Rounds


class RoundSerializer(ModelSerializer):
    method_code = serializers.CharField(source="method.code", read_only=True)
    evaluating = serializers.BooleanField(read_only=True, help_text=_("已请求专利性评价且尚未完成（任务排队或运行中）"))
    counts = serializers.SerializerMethodField(
        help_text=_("本人数据范围内的参评产品数，按状态（只列出有产品的状态）；total 为合计")
    )

    class Meta:
        model = Round
        fields: ClassVar[list[str]] = [
            "id",
            "name",
            "data_year",
            "method",
            "method_code",
            "deadline",
            "stage",
            "evaluation_requested_at",
            "evaluating",
            "evaluated_at",
            "evaluation_runs",
            "info_due",
            "scoring_due",
            "publicity_days",
            "objections_due",
            "experts_per_product",
            "publicity_start",
            "publicity_end",
            "finalized_at",
            "created_at",
            "counts",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField(), read_only=True))
    def get_counts(self, rnd: Round) -> dict[str, int]:
        by_status = dict(self.context.get("counts", {}).get(rnd.pk, {}))
        return {**by_status, "total": sum(by_status.values())}


class RoundCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    data_year = serializers.IntegerField(min_value=2000, max_value=2100)
    deadline = serializers.DateField(
        help_text=_("申报截止日：截至该日（含）已通过审核、且选择参与认定的备案参与本批次；此后不再接受参与认定")
    )
    info_due = serializers.DateField(required=False, allow_null=True, help_text=_("补充材料截止日"))
    scoring_due = serializers.DateField(required=False, allow_null=True, help_text=_("专家评分截止日"))
    publicity_days = serializers.IntegerField(
        required=False, default=5, min_value=1, max_value=30, help_text=_("公示期（工作日，1–30）")
    )
    objections_due = serializers.DateField(required=False, allow_null=True, help_text=_("异议处理截止日"))
    method = IdRelatedField(
        queryset=MethodVersion.objects.all(), required=False, help_text=_("评价方法版本 id，默认现行版本")
    )
    experts_per_product = serializers.IntegerField(
        required=False, default=3, min_value=1, max_value=SMALL_MAX, help_text=_("每个产品评审专家数")
    )


class EarlySerializer(serializers.Serializer):
    """The office's confirmation of a stage move before the previous stage's deadline has passed."""

    confirm = serializers.BooleanField(
        required=False, default=False, help_text=_("确认在上一阶段截止日前提前进入下一阶段")
    )
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=1000, help_text=_("提前进入下一阶段的理由（与 confirm 一起填写）")
    )

    def early_reason(self) -> str:
        data = self.validated_data
        return data.get("reason", "") if data.get("confirm") else ""


class InformationRequestSerializer(EarlySerializer):
    info_due = serializers.DateField(required=False, allow_null=True, help_text=_("补充材料截止日，默认批次日程中的"))


class PublicitySerializer(EarlySerializer):
    days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=SMALL_MAX,
        help_text=_("公示期（工作日，1–30），默认批次日程中的"),
    )
    start = serializers.DateField(required=False, allow_null=True, help_text=_("公示开始日，默认今天"))
    confirm_listed = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_("拟公示名单中有备案单位在信用名单中时，确认已核实（否则返回 400，code 为 listed_unconfirmed）"),
    )


# ---------------------------------------------------------------------------------------------
# Results (candidates)


class IndicatorResultSerializer(ModelSerializer):
    code = serializers.CharField(source="indicator.code", read_only=True)
    name = serializers.CharField(source="indicator.name", read_only=True)
    trait = serializers.ChoiceField(source="indicator.trait", choices=Trait.choices, read_only=True)
    unit = serializers.CharField(source="indicator.unit", read_only=True)
    name_en = serializers.CharField(source="indicator.name_en", read_only=True, help_text=_("英文名称（可能为空）"))
    unit_en = serializers.CharField(source="indicator.unit_en", read_only=True, help_text=_("英文单位（可能为空）"))
    direction = serializers.CharField(source="indicator.direction", read_only=True, help_text=_("higher 或 lower"))

    class Meta:
        model = IndicatorResult
        fields: ClassVar[list[str]] = [
            "code",
            "name",
            "name_en",
            "trait",
            "unit",
            "unit_en",
            "value",
            "benchmark",
            "direction",
            "passed",
        ]
        read_only_fields = fields


class ExpertScoreSerializer(ModelSerializer):
    """One expert's scores; only the total (the rest null) for those who see totals without identities."""

    expert = serializers.SerializerMethodField()
    expert_name = serializers.SerializerMethodField()
    # null on the totals-only view (score_view), like the criteria
    comments = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Assignment
        fields: ClassVar[list[Any]] = [
            "expert",
            "expert_name",
            *(name for name, _label, _points in CRITERIA),
            "total",
            "comments",
            "scored_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_expert(self, assignment: Assignment) -> int | None:
        return assignment.expert_id

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_expert_name(self, assignment: Assignment) -> str | None:
        return assignment.expert.full_name or assignment.expert.email


PASSED_FIELDS = {trait: f"passed_{trait}" for trait in Trait.values}


def score_view(user: "Reader") -> str:
    """How much of the expert scores `user` sees: "named", "own" or "totals"."""
    role = getattr(user, "role", None)
    if role == Role.NATIONAL_ADMIN:
        return "named"
    if role == Role.EXPERT:
        return "own"
    return "totals"


class CertificateStandingSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=CertificateStatus.choices, help_text=_("证书今天的状态"))
    reasons = serializers.ListField(child=serializers.CharField(), help_text=_("暂停或撤销的原因"))
    valid_from = serializers.DateField(allow_null=True)
    valid_until = serializers.DateField(allow_null=True)


class ResultSerializer(ModelSerializer):
    round_name = serializers.CharField(source="round.name", read_only=True)
    method_code = serializers.CharField(
        source="round.method.code", read_only=True, help_text=_("产生该结果的评价方法版本（批次所用版本）")
    )
    standard = serializers.CharField(
        source="round.method.standard_designation", read_only=True, help_text=_("该方法版本所依据的标准")
    )
    stage = serializers.CharField(source="round.stage", read_only=True, help_text=_("批次当前阶段"))
    data_year = serializers.IntegerField(source="round.data_year", read_only=True)
    product_name = serializers.CharField(source="version.name", read_only=True)
    filing_number = serializers.CharField(source="product.filing_number", read_only=True, allow_null=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    product_class: serializers.SlugRelatedField[ProductClass] = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text=_("产品分类代码")
    )
    product_class_name = serializers.CharField(source="product_class.name", read_only=True)
    status = serializers.ChoiceField(
        source="current_status",
        choices=CandidateStatus.choices,
        read_only=True,
        help_text=_("今天的状态：补充材料逾期的，即使每日任务尚未运行，也显示为未按期补充材料"),
    )
    passed = serializers.SerializerMethodField(help_text=_("各特征的达标指标数"))
    indicators = IndicatorResultSerializer(source="results", many=True, read_only=True)
    certificate = serializers.SerializerMethodField(
        help_text=_("证书今天的状态（有效、暂停、撤销、有效期届满）、原因和有效期；未颁发证书的为 null")
    )
    expert_scores = serializers.SerializerMethodField(
        help_text=_(
            "专家评分：国家局管理员看到每位专家的评分和姓名；专家只看到自己的评分；"
            "备案单位、管理端口和审核员在产业性评价结束后看到各位专家的总分（不含专家身份）"
        )
    )

    class Meta:
        model = Candidate
        fields: ClassVar[list[str]] = [
            "id",
            "round",
            "round_name",
            "method_code",
            "standard",
            "stage",
            "data_year",
            "product",
            "product_name",
            "filing_number",
            "unit",
            "unit_name",
            "product_class",
            "product_class_name",
            "province_code",
            "city_code",
            "status",
            "passed",
            "passed_total",
            "patent_passed",
            "expert_score",
            "certificate_number",
            "certified_at",
            "certificate",
            "indicators",
            "expert_scores",
        ]
        read_only_fields = fields

    @extend_schema_field(CertificateStandingSerializer(allow_null=True))
    def get_certificate(self, candidate: Candidate) -> dict[str, Any] | None:
        from evaluation import lifecycle

        if not (candidate.certificate_number and candidate.status == CandidateStatus.CERTIFIED):
            return None
        if candidate.round.stage != Stage.FINAL:
            return None
        state = lifecycle.standing(candidate)
        return {
            "status": state.status,
            "reasons": [str(r) for r in state.reasons],
            "valid_from": candidate.valid_from,
            "valid_until": candidate.valid_until,
        }

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField(), read_only=True))
    def get_passed(self, candidate: Candidate) -> dict[str, int]:
        return {trait: getattr(candidate, field) for trait, field in PASSED_FIELDS.items()}

    @extend_schema_field(ExpertScoreSerializer(many=True))
    def get_expert_scores(self, candidate: Candidate) -> list[dict[str, Any]]:
        request = self.context.get("request")
        view = score_view(getattr(request, "user", None))
        assignments = list(candidate.assignments.all())  # prefetched for the asker (see ResultViewSet)
        if view == "totals":
            closed = STAGE_ORDER.index(Stage(candidate.round.stage)) > STAGE_ORDER.index(Stage.INDUSTRY)
            if not closed:
                return []
            totals = sorted((a.total for a in assignments if a.total is not None), reverse=True)
            return [dict.fromkeys(ExpertScoreSerializer.Meta.fields) | {"total": str(t)} for t in totals]
        # many=True makes a ListSerializer, whose data is a list: drf-stubs type it as the child's
        return ExpertScoreSerializer(assignments, many=True).data  # type: ignore[return-value]
