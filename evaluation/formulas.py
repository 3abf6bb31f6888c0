"""Indicator formulas: each one an SQL expression over a product-year (a `ProductVersion`).

An indicator of a method version names one of these formulas by key. Every formula is a database
expression, so the patent evaluation of a whole round is one INSERT … SELECT per indicator, and the
self-assessment of one draft runs the very same expression on one row. Values are rounded to 4
decimal places in the database (the same rounding for the stored value and the pass test).

`build(key, path)` returns the expression for a queryset whose rows reach the version at `path`
("" on ProductVersion itself, "version__" on a round candidate).

Figures are in 万元 (10,000 yuan); 1 亿元 = 10,000 万元.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import (
    Avg,
    Case,
    Count,
    DecimalField,
    Expression,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast, Coalesce, ExtractYear, NullIf, Round, Substr
from django.utils.translation import gettext_lazy as _

from filings.choices import FilingStatus, LegalStatus, PatentKind
from filings.models import PatentLink, ProductVersion
from patent_platform.typenames import StrOrPromise

DECIMAL = DecimalField(max_digits=24, decimal_places=4)
# Design patents applied for from 2021-06-01 are protected 15 years (Patent Law 2020, art. 42), 10 before.
DESIGN_15_YEARS_FROM = date(2021, 6, 1)


class Numeric(Func):
    """CAST(x AS NUMERIC): exact decimal arithmetic on PostgreSQL, numeric affinity on SQLite."""

    template = "CAST(%(expressions)s AS NUMERIC)"
    output_field = DECIMAL

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # SQLite's NUMERIC keeps integers integral (1 / 2 = 0); REAL divides as a person expects
        return self.as_sql(compiler, connection, template="CAST(%(expressions)s AS REAL)", **extra)


def _num(expression: Combinable) -> Expression:
    return Numeric(expression)


def _rounded(expression: Combinable) -> Expression:
    return Round(_num(expression), 4, output_field=DECIMAL)


@dataclass(frozen=True)
class Formula:
    key: str
    label: StrOrPromise
    unit: StrOrPromise
    text: StrOrPromise  # the formula as a person reads it
    build: Callable[[str], Expression]


def _version_ref(path: str) -> OuterRef:
    return OuterRef("pk") if not path else OuterRef(path.rstrip("_") + "_id")


def _link_aggregate(path: str, aggregate: Expression, condition: Q | None = None) -> Subquery:
    links = PatentLink.objects.filter(version_id=_version_ref(path))
    if condition is not None:
        links = links.filter(condition)
    return Subquery(
        links.order_by().values("version_id").annotate(result=aggregate).values("result")[:1],
        output_field=DECIMAL,
    )


def _count(path: str, condition: Q | None = None) -> Expression:
    return Coalesce(_link_aggregate(path, Count("pk"), condition), Value(0), output_field=DECIMAL)


VALID_INVENTION = Q(right__patent__kind=PatentKind.INVENTION, right__patent__legal_status=LegalStatus.VALID)


def valid_invention_patents(path: str) -> Expression:
    return _rounded(_count(path, VALID_INVENTION))


VALID_CORE = Q(is_core=True, right__patent__legal_status=LegalStatus.VALID)


def core_patents(path: str) -> Expression:
    """Core patents that are valid (as P1 counts valid inventions): a lapsed, expired or invalidated core
    patent no longer protects the product (the platform's own legal-status data, docs/PATENT_STATUS.md)."""
    return _rounded(_count(path, VALID_CORE))


def number_year() -> Expression:
    """The year in the application number: digits 1–4 of a 12-digit number (since 2003); of an 8-digit
    one (1985–2003) 19 + digits 1–2 for 85–99 and 20 + digits 1–2 for 00–03 (filings.identifiers)."""
    number = "right__patent__number"
    yy = Cast(Substr(number, 1, 2), IntegerField())
    return Case(
        When(Q(**{f"{number}__regex": r"^[0-9]{12}"}), then=Cast(Substr(number, 1, 4), IntegerField())),
        When(Q(**{f"{number}__regex": r"^(8[5-9]|9[0-9])"}), then=Value(1900) + yy),
        default=Value(2000) + yy,
        output_field=IntegerField(),
    )


def application_year() -> Expression:
    """The year of application: from the application date, else from the application number itself."""
    return Coalesce(ExtractYear("right__patent__application_date"), number_year(), output_field=IntegerField())


def core_remaining_years(path: str) -> Expression:
    design = Q(right__patent__kind=PatentKind.DESIGN)
    term = Case(
        When(right__patent__kind=PatentKind.INVENTION, then=Value(20)),
        When(right__patent__kind=PatentKind.UTILITY_MODEL, then=Value(10)),
        When(design & Q(right__patent__application_date__gte=DESIGN_15_YEARS_FROM), then=Value(15)),
        # no application date: only a number of 2022 or later is surely applied for from 2021-06-01
        When(
            design & Q(right__patent__application_date__isnull=True, number_year__gte=DESIGN_15_YEARS_FROM.year + 1),
            then=Value(15),
        ),
        default=Value(10),
        output_field=IntegerField(),
    )
    remaining = ExpressionWrapper(
        application_year() + term - F("version__data_year"),
        output_field=IntegerField(),
    )
    links = (
        PatentLink.objects.filter(version_id=_version_ref(path), is_core=True)
        .annotate(number_year=number_year())
        .annotate(remaining=remaining)
        .order_by()
        .values("version_id")
        .annotate(result=Avg(_num(F("remaining"))))
        .values("result")[:1]
    )
    return _rounded(Subquery(links, output_field=DECIMAL))


def total_contribution(path: str) -> Expression:
    return _rounded(Coalesce(_link_aggregate(path, Sum("contribution")), Value(0), output_field=DECIMAL))


def invention_share(path: str) -> Expression:
    inventions = _count(path, Q(right__patent__kind=PatentKind.INVENTION))
    everything = NullIf(_count(path), Value(0), output_field=DECIMAL)
    return _rounded(_num(inventions) * Value(100, output_field=DECIMAL) / _num(everything))


def patent_sales(path: str) -> Expression:
    contribution = Coalesce(_link_aggregate(path, Sum("contribution")), Value(0), output_field=DECIMAL)
    return _rounded(_num(F(f"{path}sales")) * _num(contribution) / Value(100, output_field=DECIMAL))


def patents_per_100m(path: str) -> Expression:
    sales = NullIf(F(f"{path}sales"), Value(0), output_field=DECIMAL)
    return _rounded(_num(_count(path)) * Value(10000, output_field=DECIMAL) / _num(sales))


def sales(path: str) -> Expression:
    return _rounded(F(f"{path}sales"))


def exports(path: str) -> Expression:
    return _rounded(F(f"{path}exports"))


def growth(path: str) -> Expression:
    previous = Subquery(
        ProductVersion.objects.filter(
            product_id=OuterRef(f"{path}product_id"),
            data_year=OuterRef(f"{path}data_year") - 1,
            status=FilingStatus.APPROVED,
        ).values("sales")[:1],
        output_field=DECIMAL,
    )
    previous_or_null = NullIf(previous, Value(0), output_field=DECIMAL)
    return _rounded(
        (_num(F(f"{path}sales")) - _num(previous_or_null)) * Value(100, output_field=DECIMAL) / _num(previous_or_null)
    )


FORMULAS: dict[str, Formula] = {
    f.key: f
    for f in [
        Formula(
            "valid_invention_patents",
            _("有效发明专利数"),
            _("件"),
            _("关联专利中类型为发明、法律状态为有效的件数"),
            valid_invention_patents,
        ),
        Formula(
            "core_patents", _("核心专利数"), _("件"), _("标记为核心专利、法律状态为有效的关联专利件数"), core_patents
        ),
        Formula(
            "core_remaining_years",
            _("核心专利平均剩余保护期"),
            _("年"),
            _(
                "各核心专利（申请年 + 法定保护期 − 数据年度）的平均值；申请年取申请日，未填申请日时取申请号中的年份；"
                "法定保护期：发明 20 年，实用新型 10 年，外观设计 2021-06-01 起申请的 15 年、之前 10 年"
                "（未填申请日时按申请号年份，2022 年起为 15 年）"
            ),
            core_remaining_years,
        ),
        Formula(
            "total_contribution",
            _("专利贡献度合计"),
            "%",
            _("各关联专利对产品贡献度之和"),
            total_contribution,
        ),
        Formula(
            "patent_sales",
            _("专利贡献销售额"),
            _("万元"),
            _("上年度销售额 × 专利贡献度合计 ÷ 100"),
            patent_sales,
        ),
        Formula(
            "invention_share",
            _("发明专利占比"),
            "%",
            _("关联专利中发明专利件数 ÷ 关联专利总件数 × 100"),
            invention_share,
        ),
        Formula(
            "patents_per_100m",
            _("每亿元销售额关联专利数"),
            _("件/亿元"),
            _("关联专利总件数 ÷（上年度销售额 ÷ 10000）；销售额为 0 时无法计算"),
            patents_per_100m,
        ),
        Formula("sales", _("上年度销售额"), _("万元"), _("备案所填上年度销售额"), sales),
        Formula("exports", _("年度出口额"), _("万元"), _("备案所填年度出口额"), exports),
        Formula(
            "growth",
            _("销售额增长率"),
            "%",
            _("（本年度销售额 − 上一数据年度已通过备案的销售额）÷ 上一数据年度销售额 × 100；无上年度备案时无法计算"),
            growth,
        ),
    ]
}


def build(key: str, path: str = "") -> Expression:
    return FORMULAS[key].build(path)


FORMULA_CHOICES = [(f.key, f.label) for f in FORMULAS.values()]
