"""The values of the analysis dimensions: the choices offered (inside the area), their labels and their order."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from filings.choices import PatentKind, UnitKind, UnitScale
from filings.industries import industries
from filings.models import ProductClass
from patent_platform.i18n import localized_name
from patent_platform.models import Region
from provincial import dashboards
from provincial.analysis.definition import APPROVED, NO, NOT_APPROVED, REGION_DIMS, TOTAL, YES


def choices(area: dashboards.Area) -> dict[str, list[tuple[str, str]]]:
    """The filter choices of every filterable dimension inside the area (for the form)."""
    scope = area.regions_scope
    regions = Region.objects.all()
    if not scope.everything:
        regions = regions.filter(
            Q(province_code__in=scope.province_codes)
            | Q(city_code__in=scope.city_codes)
            | Q(code__in=scope.county_codes)
            | Q(code__in=scope.city_codes | scope.province_codes)
        )
    by_level: dict[str, list[tuple[str, str]]] = {"province": [], "city": [], "county": []}
    for region in regions.order_by("code"):
        if region.level in by_level:
            by_level[region.level].append((region.code, localized_name(region)))
    sections = sorted({sec for _n, sec in industries().values()})
    return {
        **by_level,
        "class": [(str(c.pk), f"{c.code} {localized_name(c)}") for c in ProductClass.objects.order_by("code")],
        "section": [(s, dashboards.section_label(s)) for s in sections] + [(dashboards.BLANK, _("未填写"))],
        "scale": [(s, str(label)) for s, label in UnitScale.choices] + [(dashboards.BLANK, _("未填写"))],
        "kind": [(k, str(label)) for k, label in UnitKind.choices],
        "patent": [(k, str(label)) for k, label in PatentKind.choices],
        "status": [(APPROVED, _("已通过备案")), (NOT_APPROVED, _("已提交未通过"))],
        "certified": [(YES, _("已认定")), (NO, _("未认定"))],
    }


def make_labeller(dim: str, values: Iterable[Any]) -> Callable[[Any], str]:
    values = [v for v in values if v is not TOTAL]
    if dim in REGION_DIMS:
        names = dict(Region.objects.filter(code__in=[v for v in values if v and v != dashboards.BLANK]).names())
        return lambda v: names.get(v, v) if v and v != dashboards.BLANK else _("未细分到该级")
    if dim == "class":
        classes = {
            str(c.pk): f"{c.code} {localized_name(c)}"
            for c in ProductClass.objects.filter(pk__in=[int(v) for v in values if str(v).isdigit()])
        }
        return lambda v: classes.get(str(v), str(v)) if v != dashboards.BLANK else _("未填写")
    if dim == "section":
        return dashboards.section_label
    if dim == "scale":
        return dashboards.scale_label
    if dim == "kind":
        return lambda v: str(UnitKind(v).label) if v in UnitKind.values else (v or _("未填写"))
    if dim == "patent":
        return lambda v: str(PatentKind(v).label)
    if dim == "status":
        return lambda v: _("已通过备案") if v == APPROVED else _("已提交未通过")
    if dim == "certified":
        return lambda v: _("已认定") if v == YES else _("未认定")
    return str  # time buckets carry their labels


def sort_key(dim: str) -> Callable[[Any], Any]:
    if dim == "scale":
        order = {v: i for i, v in enumerate(UnitScale.values)}
        return lambda v: order.get(v, 99)
    if dim == "patent":
        order = {v: i for i, v in enumerate(PatentKind.values)}
        return lambda v: order.get(v, 99)
    if dim == "class":
        return lambda v: int(v) if str(v).isdigit() else 0
    return lambda v: (v == dashboards.BLANK or v == "", str(v))
