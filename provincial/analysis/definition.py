"""The analysis request: the dimensions and measures (declared once), and a `Definition` validated the same way
for the page, the export and a saved analysis."""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filings.choices import PatentKind, UnitKind, UnitScale
from filings.industries import industries
from provincial import dashboards, periods
from provincial.models import SummaryKind

MAX_DIMENSIONS = 3

TOTAL = object()  # a dimension summed over (the totals row and column)

GROUP, PATENT, TIME = "group", "patent", "time"

REGION_DIMS = ("province", "city", "county")

CELL_KEYS = {"class": SummaryKind.CLASS, "section": SummaryKind.SECTION, "scale": SummaryKind.SCALE}

UNIT_DIMS = frozenset({*REGION_DIMS, "section", "scale", "kind"})

APPROVED, NOT_APPROVED = "approved", "pending"

YES, NO = "yes", "no"


class DefinitionError(ValueError):
    """A definition the engine refuses; `errors` maps a field to its messages (for the form)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


@dataclass(frozen=True)
class Dimension:
    key: str
    label: Any
    kind: str = GROUP
    field: str = ""  # the at_* annotation grouped on (products; units too for UNIT_DIMS)
    filterable: bool = True


DIMENSIONS: dict[str, Dimension] = {
    d.key: d
    for d in (
        Dimension("province", gettext_lazy("省份"), field="at_province_code"),
        Dimension("city", gettext_lazy("城市"), field="at_city_code"),
        Dimension("county", gettext_lazy("区县"), field="at_county_code"),
        Dimension("class", gettext_lazy("产品分类"), field="at_class"),
        Dimension("section", gettext_lazy("行业门类"), field="at_industry"),
        Dimension("scale", gettext_lazy("企业规模"), field="at_scale"),
        Dimension("kind", gettext_lazy("单位类型"), field="at_kind"),
        Dimension("patent", gettext_lazy("专利类型"), kind=PATENT),
        Dimension("month", gettext_lazy("月份"), kind=TIME, filterable=False),
        Dimension("quarter", gettext_lazy("季度"), kind=TIME, filterable=False),
        Dimension("year", gettext_lazy("年度"), kind=TIME, filterable=False),
        Dimension("status", gettext_lazy("备案状态"), field="at_status"),
        Dimension("certified", gettext_lazy("是否认定"), field="at_certified_key"),
    )
}


@dataclass(frozen=True)
class Measure:
    key: str
    label: Any
    money: bool = False
    cells: str = ""  # the summary cells' column that holds it ("" : not in the cells)


MEASURES: dict[str, Measure] = {
    m.key: m
    for m in (
        Measure("products", gettext_lazy("通过备案产品"), cells="approved"),
        Measure("units", gettext_lazy("备案单位"), cells="units"),
        Measure("sales", gettext_lazy("上年度销售额（万元）"), money=True, cells="sales"),
        Measure("exports", gettext_lazy("年度出口额（万元）"), money=True, cells="exports"),
        Measure("output", gettext_lazy("产值（万元）"), money=True),
        Measure("patents", gettext_lazy("关联专利"), cells=""),
        Measure("certified", gettext_lazy("认定产品"), cells="certified"),
    )
}

PRODUCT_MEASURES = ("products", "sales", "exports", "output", "patents", "certified")


@dataclass(frozen=True)
class Definition:
    rows: tuple[str, ...] = ()
    cols: tuple[str, ...] = ()
    measures: tuple[str, ...] = ("products",)
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    period: str = ""  # "" : the current state
    compare: bool = False
    chart: str = "bar"

    @property
    def dims(self) -> tuple[str, ...]:
        return self.rows + self.cols

    @functools.cached_property
    def group_dims(self) -> list[str]:
        return [d for d in self.dims if DIMENSIONS[d].kind == GROUP]

    @functools.cached_property
    def time_dim(self) -> str | None:
        return next((d for d in self.dims if DIMENSIONS[d].kind == TIME), None)

    @property
    def filter_map(self) -> dict[str, tuple[str, ...]]:
        return dict(self.filters)

    def to_data(self) -> dict[str, Any]:
        """The JSON a saved analysis stores (and `from_data` reads back)."""
        return {
            "rows": list(self.rows),
            "cols": list(self.cols),
            "measures": list(self.measures),
            "filters": {k: list(v) for k, v in self.filters},
            "period": self.period,
            "compare": self.compare,
            "chart": self.chart,
        }

    def params(self) -> list[tuple[str, str]]:
        """The page's query parameters that reproduce it."""
        out = [("rows", d) for d in self.rows] + [("cols", d) for d in self.cols]
        out += [("measures", m) for m in self.measures]
        out += [(f"f_{k}", v) for k, values in self.filters for v in values]
        if self.period:
            out.append(("period", self.period))
        if self.compare:
            out.append(("compare", "1"))
        if self.chart != "bar":
            out.append(("chart", self.chart))
        return out

    @classmethod
    def from_query(cls, query: Any) -> Definition:
        """From the page's GET parameters (a QueryDict)."""
        return cls.from_data(
            {
                "rows": query.getlist("rows"),
                "cols": query.getlist("cols"),
                "measures": query.getlist("measures") or ["products"],
                "filters": {k[2:]: query.getlist(k) for k in query if k.startswith("f_")},
                "period": query.get("period", ""),
                "compare": query.get("compare", "") in ("1", "on", "true"),
                "chart": query.get("chart", "bar"),
            }
        )

    @classmethod
    def from_data(cls, data: Any) -> Definition:
        """Validate a definition (from the page or a saved analysis); DefinitionError with messages per field."""
        errors: dict[str, list[str]] = defaultdict(list)
        if not isinstance(data, dict):
            raise DefinitionError({"__all__": [_("分析定义格式不正确。")]})

        def strings(name: str) -> list[str]:
            value = data.get(name) or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                errors[name].append(_("格式不正确。"))
                return []
            return [v.strip() for v in value if v.strip()]

        rows, cols = strings("rows"), strings("cols")
        measures = strings("measures") if data.get("measures") is not None else ["products"]
        dims = rows + cols
        _check_dimensions(rows, cols, errors)
        _check_measures(measures, errors)
        filters = _clean_filters(data.get("filters") or {}, errors)
        period = _clean_period(data.get("period") or "", errors)
        compare = bool(data.get("compare"))
        if compare and not period:
            errors["compare"].append(_("与上年同期比较需要先选择期间。"))
        if any(DIMENSIONS[d].kind == TIME for d in dims if d in DIMENSIONS) and not period:
            errors["period"].append(_("按月份、季度或年度分析需要先选择期间。"))
        if "units" in measures:
            product_dims = sorted({*dims, *filters} - UNIT_DIMS - {"month", "quarter", "year"})
            if product_dims:
                errors["measures"].append(
                    _("备案单位只能按单位自身的维度（地区、行业门类、企业规模、单位类型）分析，不能按%(dims)s。")
                    % {"dims": "、".join(str(DIMENSIONS[d].label) for d in product_dims if d in DIMENSIONS)}
                )
        chart = data.get("chart") or "bar"
        if chart not in ("bar", "line"):
            errors["chart"].append(_("图表类型无效。"))
        if errors:
            raise DefinitionError(dict(errors))
        return cls(
            rows=tuple(rows),
            cols=tuple(cols),
            measures=tuple(dict.fromkeys(measures)),
            filters=tuple(sorted(filters.items())),
            period=period,
            compare=compare,
            chart=chart,
        )


def _check_dimensions(rows: list[str], cols: list[str], errors: dict[str, list[str]]) -> None:
    """The rows and columns of a definition: known dimensions, none twice, at most one time dimension."""
    for name, keys in (("rows", rows), ("cols", cols)):
        for key in keys:
            if key not in DIMENSIONS:
                errors[name].append(_("没有这个维度：%(key)s") % {"key": key})
    dims = rows + cols
    if len(set(dims)) != len(dims):
        errors["cols"].append(_("同一维度不能既作行又作列，也不能重复选择。"))
    if len(dims) > MAX_DIMENSIONS:
        errors["rows"].append(_("行和列合计最多选择 %(n)s 个维度。") % {"n": MAX_DIMENSIONS})
    if sum(DIMENSIONS[d].kind == TIME for d in dims if d in DIMENSIONS) > 1:
        errors["cols"].append(_("月份、季度、年度只能选择其中一个。"))


def _check_measures(measures: list[str], errors: dict[str, list[str]]) -> None:
    """The measures of a definition: at least one, each known."""
    if not measures:
        errors["measures"].append(_("请至少选择一个指标。"))
    for key in measures:
        if key not in MEASURES:
            errors["measures"].append(_("没有这个指标：%(key)s") % {"key": key})


def _clean_filters(raw_filters: Any, errors: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
    """The chosen values of each filterable dimension (sorted, blanks dropped); errors per field."""
    filters: dict[str, tuple[str, ...]] = {}
    if not isinstance(raw_filters, dict):
        errors["filters"].append(_("格式不正确。"))
        return filters
    for key, values in sorted(raw_filters.items()):
        dim = DIMENSIONS.get(key)
        if dim is None or not dim.filterable:
            errors["filters"].append(_("不能按此条件筛选：%(key)s") % {"key": key})
            continue
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            errors["filters"].append(_("格式不正确。"))
            continue
        chosen = tuple(sorted({v.strip() for v in values if v.strip()}))
        if chosen:
            filters[key] = chosen
            bad = [v for v in chosen if not _valid_value(key, v)]
            if bad:
                errors[f"f_{key}"].append(
                    _("%(dim)s 的取值无效：%(values)s") % {"dim": dim.label, "values": "、".join(bad)}
                )
    return filters


def _clean_period(period: Any, errors: dict[str, list[str]]) -> str:
    """A definition's period key ("" for none or the current one); errors per field."""
    if not isinstance(period, str):
        errors["period"].append(_("格式不正确。"))
        period = ""
    period = period.strip()
    if period:
        try:
            parsed = periods.parse(period)
            period = "" if parsed.is_current else parsed.key  # `current` (the dashboards' word): no period
        except periods.PeriodError as error:
            errors["period"].append(str(error))
    return period


def _valid_value(dim: str, value: str) -> bool:
    if value == dashboards.BLANK:
        return dim in (*REGION_DIMS, "section", "scale")
    if dim in REGION_DIMS:
        return value.isdigit() and len(value) == 6
    if dim == "class":
        return value.isdigit()
    if dim == "section":
        return value in {sec for _n, sec in industries().values()}
    if dim == "scale":
        return value in UnitScale.values
    if dim == "kind":
        return value in UnitKind.values
    if dim == "patent":
        return value in PatentKind.values
    if dim == "status":
        return value in (APPROVED, NOT_APPROVED)
    if dim == "certified":
        return value in (YES, NO)
    return False
