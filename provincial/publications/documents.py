"""The files of a publication, written from its figures (`figures.py`) and nothing else.

- XLSX: openpyxl in write-only mode (rows are streamed, so a national list of a month's new approvals stays
  flat in memory); Chinese headers, numbers as numbers (amounts in 万元 as decimals).
- PDF: WeasyPrint from `templates/provincial/publications/documents/*.html`, A4. As for the filing receipt
  (filings/receipts.py) the CSS names "Noto Sans CJK SC" (fonts-noto-cjk), found through fontconfig and
  embedded in the PDF; the renderer may fetch nothing but data: URIs. Charts are inline SVG drawn here in
  Python (no JavaScript).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from patent_platform.ranking import rank_label
from provincial.models import ManagementUnit
from provincial.publications.figures import SCORE_WEIGHTS, card_for

MONTHLY_TEMPLATE = "provincial/publications/documents/monthly.html"
YEAREND_TEMPLATE = "provincial/publications/documents/yearend.html"
FONT = "Noto Sans CJK SC"
BAR = "#2f6fb5"
BAR_LIGHT = "#9dbbe0"
CHART_ROWS = 15  # the longest bar chart in the PDF; the XLSX holds every row


# ---------------------------------------------------------------------------------------------
# Formatting


def as_of_label(value: str | None) -> str:
    """An ISO instant as the reader reads it (Asia/Shanghai, to the minute)."""
    if not value:
        return ""
    return timezone.localtime(dt.datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M")


def signed_percent(value: str | None) -> str:
    if value is None:
        return "—"
    number = Decimal(value)
    return f"+{number}%" if number > 0 else f"{number}%"


def signed(value: int) -> str:
    return f"+{value}" if value > 0 else str(value)


def _percent_cell(value: str | None) -> Any:
    return Decimal(value) if value is not None else ""


# ---------------------------------------------------------------------------------------------
# SVG charts


def _text(x: float, y: float, text: Any, *, size: float = 9, anchor: str = "start", fill: str = "#222") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}">{escape(str(text))}</text>'
    )


def hbar_svg(rows: Sequence[tuple[str, int]], *, title: str = "", width: int = 640) -> SafeString:
    """Horizontal bars, one per (label, value), largest first as given; an empty note without rows."""
    rows = list(rows)[:CHART_ROWS]
    row_height, label_width, top = 18, 190, 22 if title else 6
    height = top + max(1, len(rows)) * row_height + 6
    top_value = max((v for _label, v in rows), default=0)
    bar_space = width - label_width - 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">'
    ]
    if title:
        parts.append(_text(0, 14, title, size=10, fill="#111"))
    if not rows:
        parts.append(_text(0, top + 12, _("暂无数据"), fill="#666"))
    for index, (label, value) in enumerate(rows):
        y = top + index * row_height
        length = bar_space * value / top_value if top_value else 0
        short = label if len(label) <= 16 else label[:15] + "…"
        parts.append(_text(label_width - 6, y + 12, short, anchor="end"))
        parts.append(
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row_height - 6}" fill="{BAR}"/>'
        )
        parts.append(_text(label_width + length + 4, y + 12, value))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text node is escaped above


def vbar_svg(
    rows: Sequence[tuple[str, int]], *, title: str = "", width: int = 640, height: int = 170, highlight: int = -1
) -> SafeString:
    """Vertical bars (a monthly trend): label under each bar, value above; `highlight` is drawn darker."""
    rows = list(rows)
    top, bottom = (22 if title else 8) + 12, 30  # room for the title and the tallest bar's value
    chart_height = height - top - bottom
    slot = width / max(1, len(rows))
    top_value = max((v for _label, v in rows), default=0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">'
    ]
    if title:
        parts.append(_text(0, 14, title, size=10, fill="#111"))
    baseline = top + chart_height
    parts.append(f'<line x1="0" y1="{baseline}" x2="{width}" y2="{baseline}" stroke="#999" stroke-width="0.6"/>')
    for index, (label, value) in enumerate(rows):
        bar = chart_height * value / top_value if top_value else 0
        x = index * slot + slot * 0.15
        colour = BAR if index == highlight or highlight < 0 else BAR_LIGHT
        parts.append(
            f'<rect x="{x:.1f}" y="{baseline - bar:.1f}" width="{slot * 0.7:.1f}" height="{bar:.1f}" fill="{colour}"/>'
        )
        parts.append(_text(x + slot * 0.35, baseline - bar - 3, value, size=8, anchor="middle"))
        parts.append(_text(x + slot * 0.35, baseline + 12, label, size=7.5, anchor="middle"))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text node is escaped above


# ---------------------------------------------------------------------------------------------
# Workbooks


def _sheet(workbook: Any, title: str, headers: Sequence[Any], rows: Iterable[Sequence[Any]]) -> None:
    sheet = workbook.create_sheet(title[:31])
    sheet.append([str(h) for h in headers])
    for row in rows:
        sheet.append(list(row))


def _label_rows(rows: Sequence[dict[str, Any]], total: int) -> list[list[Any]]:
    return [[r["label"], r["count"], _percent_cell(_share(r["count"], total))] for r in rows]


def _share(part: int, whole: int) -> str | None:
    return str((Decimal(100) * part / whole).quantize(Decimal("0.1"))) if whole else None


def monthly_summary_rows(figures: dict[str, Any]) -> list[list[Any]]:
    """The 概况 sheet: label, value rows (also what the PDF's summary table shows)."""
    t = figures["totals"]
    c = figures["comparison"]
    return [
        [_("端口"), figures["scope_name"]],
        [_("期间"), figures["period_label"]],
        [_("数据截至"), as_of_label(figures["data_as_of"])],
        [_("备案单位"), t["units"]],
        [_("已提交备案产品"), t["filed"]],
        [_("通过备案产品"), t["approved"]],
        [_("近12个月新增通过"), t["growth"]],
        [_("上年度销售额（万元）"), Decimal(t["sales"])],
        [_("年度出口额（万元）"), Decimal(t["exports"])],
        [_("认定的专利密集型产品"), t["certified"]],
        [_("本月新增通过备案产品"), c["current"]["count"]],
        [_("上月（%(month)s）新增") % {"month": c["previous"]["label"]}, c["previous"]["count"]],
        [_("环比增减"), c["previous"]["change"]],
        [_("环比增长（%）"), _percent_cell(c["previous"]["change_percent"])],
        [_("上年同月（%(month)s）新增") % {"month": c["last_year"]["label"]}, c["last_year"]["count"]],
        [_("同比增减"), c["last_year"]["change"]],
        [_("同比增长（%）"), _percent_cell(c["last_year"]["change_percent"])],
    ]


def edition_rows(figures: dict[str, Any]) -> list[list[Any]]:
    """The build's own rows (a build through `services` stamps them: `figures.stamp`): its edition, when it
    was built, and whether the figures changed since the edition before."""
    if not figures.get("edition_label"):
        return []
    rows: list[list[Any]] = [[_("版次"), figures["edition_label"]], [_("生成时间"), as_of_label(figures["built_at"])]]
    if figures.get("previous_edition"):
        changes = figures.get("changes") or []
        rows.append(
            [
                _("与上一版相比"),
                _("%(n)s 项数据有更正，见“更正说明”") % {"n": len(changes)} if changes else _("数据无变化"),
            ]
        )
    return rows


def _changes_sheet(workbook: Any, figures: dict[str, Any]) -> None:
    """更正说明: every figure a rebuild changed, before and after and by how much (only when something changed;
    a snapshot stamped before the difference was recorded has none)."""
    if figures.get("changes"):
        _sheet(
            workbook,
            _("更正说明"),
            [_("项目"), _("上一版"), _("本版"), _("增减")],
            ([c["item"], c["before"], c["after"], c.get("delta", "")] for c in figures["changes"]),
        )


def write_monthly_xlsx(figures: dict[str, Any], fileobj: IO[bytes]) -> None:
    """The monthly publication's workbook, written to `fileobj`."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    _sheet(workbook, _("概况"), [_("项目"), _("数值")], [*monthly_summary_rows(figures), *edition_rows(figures)])
    sheet = workbook.create_sheet(_("近12个月"))
    sheet.append([_("月份"), _("新增通过备案产品")])
    for row in figures["trend"]:
        sheet.append([row["month"], row["count"]])
    _sheet(
        workbook,
        _("按地区"),
        [
            _("排名"),
            _("区划代码"),
            figures["level_label"],
            _("备案单位"),
            _("已提交备案产品"),
            _("通过备案产品"),
            _("本月新增通过"),
            _("近12个月新增通过"),
            _("上年度销售额（万元）"),
        ],
        (
            [
                r["rank"],
                r["code"],
                r["name"],
                r["units"],
                r["filed"],
                r["approved"],
                r["new"],
                r["growth"],
                Decimal(r["sales"]),
            ]
            for r in figures["by_region"]
        ),
    )
    approved = figures["totals"]["approved"]
    headers = [_("通过备案产品"), _("占比（%）")]
    _sheet(workbook, _("按产品分类"), [_("产品分类"), *headers], _label_rows(figures["by_class"], approved))
    _sheet(workbook, _("按行业"), [_("行业门类"), *headers], _label_rows(figures["by_section"], approved))
    sheet = workbook.create_sheet(_("按企业规模及类别"))
    sheet.append([_("分组"), _("类别"), *headers])
    for row in _label_rows(figures["by_scale"], approved):
        sheet.append([_("企业规模"), *row])
    for row in _label_rows(figures.get("by_unit_kind", []), approved):
        sheet.append([_("单位类型"), *row])
    coverage = figures["coverage"]
    sheet = workbook.create_sheet(_("名单覆盖"))
    sheet.append([_("名单类别"), _("名单年度"), _("名单企业"), _("已备案企业"), _("未备案企业"), _("覆盖率（%）")])
    rows = [*coverage["categories"], *([coverage["total"]] if coverage["total"] else [])]
    for row in rows:
        sheet.append(
            [
                row["label"],
                coverage["year"],
                row["entries"],
                row["covered"],
                row["missing"],
                "" if row["percent"] is None else row["percent"],
            ]
        )
    sheet = workbook.create_sheet(_("本月新增"))
    sheet.append([_("产品备案号"), _("产品名称"), _("备案单位"), _("产品分类"), _("所在地区"), _("通过日期")])
    for row in figures["new"]["rows"]:
        approved_on = dt.date.fromisoformat(row["approved_on"])
        sheet.append(
            [row["filing_number"], row["product"], row["unit"], row["product_class"], row["region"], approved_on]
        )
    _changes_sheet(workbook, figures)
    workbook.save(fileobj)


# ---------------------------------------------------------------------------------------------
# The monthly PDF


def html_to_pdf(html: str) -> bytes:
    """A PDF of `html` rendered as the publications' are (local fonts through fontconfig, data: URIs only,
    never the network); the subscriptions' PDF files use it too (provincial/subscriptions.py)."""
    import weasyprint

    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"})
    return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()


def monthly_context(figures: dict[str, Any]) -> dict[str, Any]:
    comparison = figures["comparison"]
    trend = figures["trend"]
    return {
        "f": figures,
        "title": _("%(name)s专利产品备案月度数据（%(period)s）")
        % {"name": figures["scope_name"], "period": figures["period_label"]},
        "as_of": as_of_label(figures["data_as_of"]),
        "edition": edition_rows(figures),
        "changes": figures.get("changes") or [],
        "summary": monthly_summary_rows(figures)[3:10],
        "previous_percent": signed_percent(comparison["previous"]["change_percent"]),
        "last_year_percent": signed_percent(comparison["last_year"]["change_percent"]),
        "previous_change": signed(comparison["previous"]["change"]),
        "last_year_change": signed(comparison["last_year"]["change"]),
        "comparison_chart": vbar_svg(
            [
                (comparison["last_year"]["label"], comparison["last_year"]["count"]),
                (comparison["previous"]["label"], comparison["previous"]["count"]),
                (comparison["current"]["label"], comparison["current"]["count"]),
            ],
            title=_("本月新增通过备案产品：与上月、上年同月比较"),
            width=420,
            height=150,
            highlight=2,
        ),
        "trend_chart": vbar_svg(
            [(row["month"][2:], row["count"]) for row in trend],
            title=_("近12个月新增通过备案产品（按首次通过月份）"),
            highlight=len(trend) - 1,
        ),
        "region_chart": hbar_svg(
            [(r["name"], r["approved"]) for r in figures["by_region"] if r["approved"]],
            title=_("通过备案产品（按%(level)s）") % {"level": figures["level_label"]},
        ),
        "class_chart": hbar_svg(
            [(r["label"], r["count"]) for r in figures["by_class"]], title=_("通过备案产品（按产品分类）")
        ),
        "section_chart": hbar_svg(
            [(r["label"], r["count"]) for r in figures["by_section"]], title=_("通过备案产品（按行业门类）")
        ),
        "new_rows": figures["new"]["rows"][:30],
        "new_more": max(0, len(figures["new"]["rows"]) - 30),
    }


def render_monthly_html(figures: dict[str, Any]) -> str:
    return render_to_string(MONTHLY_TEMPLATE, monthly_context(figures))


def render_monthly_pdf(figures: dict[str, Any]) -> bytes:
    """The monthly publication's PDF (A4, a few pages of summary with SVG charts)."""
    return html_to_pdf(render_monthly_html(figures))


# ---------------------------------------------------------------------------------------------
# The year-end evaluation


def weight_rows(cards: dict[str, Any]) -> list[list[Any]]:
    return [[cards["weight_labels"][key], Decimal(cards["weights"][key])] for key in SCORE_WEIGHTS]


RANKING_HEADERS = (
    "排名",
    "端口",
    "类型",
    "端口已开通",
    "综合得分",
    "年末通过备案产品",
    "年度新增通过",
    "上年新增通过",
    "新增增长（%）",
    "名单覆盖率（%）",
    "含发明专利产品占比（%）",
    "认定的专利密集型产品",
    "工作报送（篇）",
    "典型案例",
)


def _ranking_row(card: dict[str, Any]) -> list[Any]:
    return [
        card["rank"] if card["rank"] is not None else "",
        card["name"],
        card["kind_label"],
        _("是") if card["is_open"] else _("否"),
        _percent_cell(card["score"]),
        card["approved"],
        card["new"],
        card["new_previous"],
        _percent_cell(card["new_growth_percent"]),
        _percent_cell(card["coverage_total"]["percent"]),
        _percent_cell(card["invention_percent"]),
        card["certified"],
        card["reports"],
        card["typical"],
    ]


def card_rows(card: dict[str, Any], total: int) -> list[list[Any]]:
    """A card as label, value rows (the port's own sheet and the PDF's card)."""
    rows: list[list[Any]] = [
        [_("端口"), card["name"]],
        [_("全国排名"), f"{rank_label(card)} / {total}" if card["rank"] is not None else "—"],
        [_("综合得分"), _percent_cell(card["score"])],
        [_("年末通过备案产品"), card["approved"]],
        [_("上年末通过备案产品"), card["approved_previous"]],
        [_("年度新增通过"), card["new"]],
        [_("上年新增通过"), card["new_previous"]],
        [_("新增增长（%）"), _percent_cell(card["new_growth_percent"])],
        [_("含发明专利产品"), card["invention"]],
        [_("含发明专利产品占比（%）"), _percent_cell(card["invention_percent"])],
        [_("认定的专利密集型产品"), card["certified"]],
        [_("名单覆盖率（去重合计，%）"), _percent_cell(card["coverage_total"]["percent"])],
    ]
    for row in card["coverage"]:
        if row["entries"]:
            rows.append([_("名单覆盖率：%(label)s（%%）") % {"label": row["label"]}, _percent_cell(row["percent"])])
    rows.append([_("年度工作报送（篇）"), card["reports"]])
    for row in card["reports_by_category"]:
        rows.append([_("工作报送：%(label)s（篇）") % {"label": row["label"]}, row["count"]])
    rows.append([_("报送被列为典型案例"), card["typical"]])
    return rows


def write_yearend_xlsx(cards: dict[str, Any], fileobj: IO[bytes], unit: ManagementUnit | None = None) -> None:
    """The year-end workbook: a port's own card and the national ranking (for `unit`), or every card (None)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    ranked = cards["cards"]
    if unit is not None:
        _sheet(workbook, _("本端口"), [_("项目"), _("数值")], card_rows(card_for(cards, unit), len(ranked)))
    sheet = workbook.create_sheet(_("全国排名"))
    sheet.append([_(h) for h in RANKING_HEADERS])
    for card in ranked:
        sheet.append(_ranking_row(card))
    if unit is None:
        sheet.append(_ranking_row(cards["national"]))
        sheet = workbook.create_sheet(_("名单覆盖"))
        sheet.append([_("端口"), _("名单类别"), _("名单企业"), _("已备案企业"), _("覆盖率（%）")])
        for card in [*ranked, cards["national"]]:
            for row in card["coverage"]:
                sheet.append(
                    [card["name"], row["label"], row["entries"], row["covered"], _percent_cell(row["percent"])]
                )
        sheet = workbook.create_sheet(_("工作报送"))
        sheet.append([_("端口"), *(c["label"] for c in cards["report_categories"]), _("合计"), _("典型案例")])
        for card in [*ranked, cards["national"]]:
            by_category = [row["count"] for row in card["reports_by_category"]]
            sheet.append([card["name"], *by_category, card["reports"], card["typical"]])
    sheet = workbook.create_sheet(_("评分方法"))
    sheet.append([_("指标"), _("权重")])
    for row in weight_rows(cards):
        sheet.append(row)
    _changes_sheet(workbook, cards)
    workbook.save(fileobj)


def yearend_context(cards: dict[str, Any], unit: ManagementUnit | None) -> dict[str, Any]:
    ranked = cards["cards"]
    card = card_for(cards, unit) if unit is not None else None
    name = card["name"] if card else _("全国")
    return {
        "c": cards,
        "card": card,
        "card_rows": card_rows(card, len(ranked)) if card else [],
        "title": _("%(name)s专利产品备案工作成效评价（%(year)s年度）") % {"name": name, "year": cards["year"]},
        "as_of": as_of_label(cards["data_as_of"]),
        "edition": edition_rows(cards),
        "changes": cards.get("changes") or [],
        "weights": [(label, f"{Decimal(weight) * 100:.0f}%") for label, weight in weight_rows(cards)],
        "ranking": ranked,
        "national": cards["national"],
        "score_chart": hbar_svg(
            [(c["name"], round(Decimal(c["score"]))) for c in ranked if Decimal(c["score"]) > 0],
            title=_("综合得分前 15 名"),
        ),
    }


def render_yearend_pdf(cards: dict[str, Any], unit: ManagementUnit | None = None) -> bytes:
    """A port's card with its rank (for `unit`), or the national ranking (None)."""
    return html_to_pdf(render_to_string(YEAREND_TEMPLATE, yearend_context(cards, unit)))
