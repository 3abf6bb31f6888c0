"""The dashboard of a period as shown: the figure cards beside the year before, the changes as a page shows
them, the 47 ports ranked, and the whole dashboard as one sheet (the export view's and a subscription's
attachment, provincial/subscriptions.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patent_platform.choices import Role
from patent_platform.ranking import rank_label
from provincial import comparison, dashboards
from provincial.models import ManagementUnit

if TYPE_CHECKING:
    from patent_platform.models import User
    from patent_platform.scoping import Reader


def _signed(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:+,.2f}" if value else "0.00"
    return f"{value:+,}" if value else "0"


def shown_change(change: dict[str, Any]) -> dict[str, Any]:
    """`change` with how a page shows it: "+2（+20.0%）", "+5（—）" with nothing to compare the percentage with,
    "—" with nothing to compare at all (formatted here: a template include per row costs the page ~30 ms)."""
    difference, percent = change["difference"], change["percent"]
    if difference is None:
        return {**change, "text": "—", "css": "text-body-secondary"}
    ratio = f"{percent:+.1f}%" if percent else ("0.0%" if percent is not None else "—")
    css = "text-success-emphasis" if difference > 0 else "text-danger-emphasis" if difference < 0 else ""
    return {**change, "text": f"{_signed(difference)}（{ratio}）", "css": css or "text-body-secondary"}


def shown_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        row["change"] = shown_change(row["change"])
    return rows


def period_cards(figures: comparison.PeriodFigures) -> list[dict[str, Any]]:
    """The figure cards: each with the year before's value and the change (links added by the view)."""
    period = figures.period
    if period.is_current:
        new_label = _("本月新增通过（截至目前）")
    else:
        new_label = _("本期新增通过（%(period)s）") % {"period": period.label}
    labels = [
        ("units", _("备案单位"), False),
        ("filed", _("已提交备案产品"), False),
        ("approved", _("通过备案产品"), False),
        ("new", new_label, False),
        ("growth", _("近12个月新增通过"), False),
        ("sales", _("通过备案产品上年度销售额（万元）"), True),
        ("exports", _("通过备案产品年度出口额（万元）"), True),
        ("certified", _("认定产品"), False),
        ("flagged", _("关联专利失效待处理的备案产品"), False),
    ]
    now, then, changes = figures.totals, figures.before_totals, figures.changes()
    return [
        {
            "key": key,
            "label": label,
            "money": money,
            "value": now[key],
            "before": then[key],
            "change": shown_change(changes[key]),
        }
        for key, label, money in labels
    ]


def open_port_codes() -> set[str]:
    """The ports open now (a write of the national office; the rankings of a closed period show it too)."""
    return set(ManagementUnit.objects.filter(is_open=True).values_list("code", flat=True))


def port_rankings_for(user: Reader, area: dashboards.Area, figures: comparison.PeriodFigures) -> list[dict[str, Any]]:
    if figures.period.is_current:
        ports = dashboards.national_ranking(user)
    else:
        ports = comparison.national_ranking_at(user, area, figures.moment)
        opened = open_port_codes()  # the figures are as of the period's end; the state is today's
        ports = [{**row, "is_open": row["code"] in opened} for row in ports]
    before = comparison.national_ranking_at(user, area, figures.before_moment)
    return shown_rows(comparison.compare_rows(ports, before, key="code", value="approved"))


def _percent(change: dict[str, Any]) -> Any:
    return change["percent"] if change["percent"] is not None else "—"


def _compared(title: Any, label: Any, value: Any, before: Any, change: dict[str, Any]) -> list[Any]:
    return [title, label, value, before, change["difference"], _percent(change)]


def _ranking_row(title: str, r: dict[str, Any]) -> list[Any]:
    return [
        *_compared(title, f"{rank_label(r)}. {r['name']}", r["approved"], r["before"], r["change"]),
        r["filed"],
        r["units"],
        r["growth"],
        r["sales"],
    ]


DASHBOARD_SHEET_HEADERS = (
    gettext_lazy("统计表"),
    gettext_lazy("项目"),
    gettext_lazy("本期数值"),
    gettext_lazy("上年同期"),
    gettext_lazy("增减"),
    gettext_lazy("增减（%）"),
    gettext_lazy("已提交备案产品"),
    gettext_lazy("备案单位"),
    gettext_lazy("近12个月新增"),
    gettext_lazy("销售额（万元）"),
)


def dashboard_sheet(user: User, area: dashboards.Area, figures: comparison.PeriodFigures) -> list[list[Any]]:
    """The rows of the dashboard's export for `user` in `area` (the export view's and the subscriptions'):
    every table of the dashboard for the period beside the year before (the 47 ports for the national view)."""
    data, before = figures.state, figures.before
    rows: list[list[Any]] = [
        [_("统计期间"), _("本期"), figures.period.label, figures.moment],
        [_("统计期间"), _("上年同期"), figures.before_label, figures.before_moment],
    ]
    rows += [
        _compared(_("总体"), card["label"], card["value"], card["before"], card["change"])
        for card in period_cards(figures)
    ]
    rows += [
        _compared(_("按月通过备案"), r["month"], r["count"], r["before"], r["change"])
        for r in comparison.compare_trend(data["trend"], before["trend"])
    ]
    for key, title in (
        ("by_region", _("按地区")),
        ("by_class", _("按产品分类")),
        ("by_section", _("按行业门类")),
        ("by_scale", _("按企业规模")),
    ):
        compared = comparison.compare_rows(data[key], before[key], key="key", value="count", add_missing=True)
        rows += [_compared(title, r["label"], r["count"], r["before"], r["change"]) for r in compared]
    ranking = comparison.compare_rows(data["ranking"], before["ranking"], key="code", value="approved")
    rows += [_ranking_row(_("地区排名"), r) for r in ranking]
    if user.role == Role.NATIONAL_ADMIN and not area.port_code:
        rows += [_ranking_row(_("端口排名"), r) for r in port_rankings_for(user, area, figures)]
    return rows
