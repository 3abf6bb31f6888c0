"""Serializers of the provincial statistics API (read-only: they describe what `provincial.dashboards` returns)."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from patent_platform.typenames import Digits

MONEY: Digits = {"max_digits": 18, "decimal_places": 2}


class PortSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=_("端口代码：省级为 GB/T 2260 省级代码，兵团为 XPCC"))
    name = serializers.CharField()
    kind = serializers.CharField(help_text=_("province（省级）、xpcc（兵团）或 city（副省级城市）"))


class TotalsSerializer(serializers.Serializer):
    units = serializers.IntegerField(help_text=_("备案单位数"))
    filed = serializers.IntegerField(help_text=_("已提交备案的产品数（至少一个年度版本曾提交审核）"))
    approved = serializers.IntegerField(help_text=_("通过备案的产品数（有已公开的通过版本）"))
    growth = serializers.IntegerField(help_text=_("近 12 个月首次通过备案的产品数"))
    sales = serializers.DecimalField(**MONEY, help_text=_("通过备案产品的上年度销售额合计（万元）"))
    exports = serializers.DecimalField(**MONEY, help_text=_("通过备案产品的年度出口额合计（万元）"))
    certified = serializers.IntegerField(help_text=_("认定产品数：持有已公布认定结果的批次所发证书的产品"))
    certified_note = serializers.CharField()
    flagged = serializers.IntegerField(
        help_text=_("关联专利已失效、期限届满或被宣告无效（提示未处理）的通过备案产品数")
    )


class PeriodTotalsSerializer(TotalsSerializer):
    new = serializers.IntegerField(help_text=_("期间内首次通过备案（期末仍通过）的产品数；当前：本月至今"))


PERCENT_HELP = _("增减百分比（一位小数）；上年同期为 0 时为 null")


class ChangeSerializer(serializers.Serializer):
    difference = serializers.IntegerField(allow_null=True, help_text=_("与上年同期相比的增减"))
    percent = serializers.FloatField(allow_null=True, help_text=PERCENT_HELP)


class MoneyChangeSerializer(serializers.Serializer):
    difference = serializers.DecimalField(**MONEY, allow_null=True, help_text=_("与上年同期相比的增减（万元）"))
    percent = serializers.FloatField(allow_null=True, help_text=PERCENT_HELP)


class ComparedSerializer(serializers.Serializer):
    """A row's count a year before and its change (issue 20)."""

    before = serializers.IntegerField(help_text=_("上年同期的数值"))
    difference = serializers.IntegerField(allow_null=True)
    percent = serializers.FloatField(allow_null=True, help_text=PERCENT_HELP)


class PeriodSerializer(serializers.Serializer):
    key = serializers.CharField(help_text=_("期间参数值，如 2025-11、2025Q4、2025、2025-01..2025-06、current"))
    kind = serializers.CharField(help_text=_("month、quarter、year、range 或 current"))
    label: Any = serializers.CharField()  # a declared field (Any: the stubs take it for Field.label)
    start = serializers.DateTimeField(help_text=_("期间开始（含，北京时间）"))
    end = serializers.DateTimeField(help_text=_("期间结束（不含）"))
    as_of = serializers.DateTimeField(help_text=_("存量数字所描述的时刻"))


class ChangesSerializer(serializers.Serializer):
    units = ChangeSerializer()
    filed = ChangeSerializer()
    approved = ChangeSerializer()
    new = ChangeSerializer()
    growth = ChangeSerializer()
    sales = MoneyChangeSerializer()
    exports = MoneyChangeSerializer()
    certified = ChangeSerializer()
    flagged = ChangeSerializer()


class ComparisonSerializer(serializers.Serializer):
    period = PeriodSerializer(help_text=_("上年同期"))
    totals = PeriodTotalsSerializer()
    change = ChangesSerializer()


class TrendPointStateSerializer(serializers.Serializer):
    month = serializers.CharField(help_text=_("月份 YYYY-MM（北京时间）"))
    count = serializers.IntegerField(help_text=_("该月首次通过备案的产品数"))


class TrendPointSerializer(ComparedSerializer, TrendPointStateSerializer):
    pass


class BreakdownRowStateSerializer(serializers.Serializer):
    key = serializers.CharField(help_text=_("分组值（地区代码、产品分类 id、行业门类字母或企业规模）；“-”表示未填写"))
    label: Any = serializers.CharField()  # a declared field (Any: the stubs take it for Field.label)
    count = serializers.IntegerField(help_text=_("通过备案的产品数"))


class BreakdownRowSerializer(ComparedSerializer, BreakdownRowStateSerializer):
    pass


RANK_HELP = _("名次：标准竞赛排名，并列者名次相同，其后名次顺延（1、1、3）")
TIED_HELP = _("是否与其他行并列该名次")


class RegionRankingStateSerializer(serializers.Serializer):
    rank = serializers.IntegerField(help_text=RANK_HELP)
    tied = serializers.BooleanField(help_text=TIED_HELP)
    code = serializers.CharField(help_text=_("地区代码；“-”表示未细分到该级"))
    name = serializers.CharField()
    units = serializers.IntegerField()
    filed = serializers.IntegerField()
    approved = serializers.IntegerField()
    growth = serializers.IntegerField()
    sales = serializers.DecimalField(**MONEY)


class RegionRankingSerializer(ComparedSerializer, RegionRankingStateSerializer):
    pass


class RegionStatisticsSerializer(serializers.Serializer):
    """A region's figures at one moment, without a period or a comparison: the verification API's statistics
    (an outside office's contract, the same figures as the region's port dashboard at that moment)."""

    as_of = serializers.DateTimeField(help_text=_("数据截至"))
    port = PortSerializer(allow_null=True, help_text=_("所看的端口；无端口的用户（国家局）为 null"))
    level = serializers.CharField(help_text=_("按地区分组的级别：province、city 或 county"))
    totals = TotalsSerializer()
    trend = TrendPointStateSerializer(many=True)
    by_region = BreakdownRowStateSerializer(many=True)
    by_class = BreakdownRowStateSerializer(many=True)
    by_section = BreakdownRowStateSerializer(many=True)
    by_scale = BreakdownRowStateSerializer(many=True)
    ranking = RegionRankingStateSerializer(many=True)


class DashboardSerializer(serializers.Serializer):
    as_of = serializers.DateTimeField(help_text=_("数据截至"))
    period = PeriodSerializer(help_text=_("统计期间"))
    comparison = ComparisonSerializer(help_text=_("上年同期及增减"))
    port = PortSerializer(allow_null=True, help_text=_("所看的端口；无端口的用户（国家局）为 null"))
    level = serializers.CharField(help_text=_("按地区分组的级别：province、city 或 county"))
    totals = PeriodTotalsSerializer()
    trend = TrendPointSerializer(many=True)
    by_region = BreakdownRowSerializer(many=True)
    by_class = BreakdownRowSerializer(many=True)
    by_section = BreakdownRowSerializer(many=True)
    by_scale = BreakdownRowSerializer(many=True)
    ranking = RegionRankingSerializer(many=True)


class PortRankingSerializer(serializers.Serializer):
    rank = serializers.IntegerField(help_text=RANK_HELP)
    tied = serializers.BooleanField(help_text=TIED_HELP)
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField(help_text=_("province（省级）、xpcc（兵团）或 city（副省级城市）"))
    is_open = serializers.BooleanField()
    units = serializers.IntegerField()
    filed = serializers.IntegerField()
    approved = serializers.IntegerField()
    growth = serializers.IntegerField()
    sales = serializers.DecimalField(**MONEY)
