"""The content of the monthly publications and of the year-end evaluation: figures, XLSX and PDF.

On the demo data (tests/conftest.py `demo`), with approvals moved to hand-chosen months: the workbook's
figures equal the dashboard's for the same port (the service `dashboards.dashboard` and the page itself), the
month's new approvals are exactly the chosen ones (Asia/Shanghai month boundaries), the comparison with the
previous month and the same month last year, a city port's publication never holds its province's other
cities; the PDF read back with poppler (text, embedded CJK font, a rendered page); the year-end cards on
hand-built data (growth, coverage, invention share, certified), the weights and the ranking.
"""

import datetime as dt
import json
import shutil
import subprocess
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from evaluation.models import Round
from filings.choices import PatentKind
from filings.identifiers import build_uscc
from filings.models import Patent, Product, ProductVersion
from patent_platform import clock
from patent_platform.models import User
from provincial import dashboards, rosters
from provincial.choices import RosterCategory
from provincial.models import ManagementUnit, PortMembership, Roster, RosterEntry
from provincial.publications import documents, figures

pytestmark = pytest.mark.django_db

CHINA = clock.CHINA_TZ
WHO = ["guangdong", "shenzhen", "zhejiang", "national"]
PORT_NAMES = {"guangdong": "广东省", "shenzhen": "深圳市", "zhejiang": "浙江省", "national": "全国"}


# ---------------------------------------------------------------------------------------------
# Helpers


def shift(start: dt.datetime, months: int) -> dt.datetime:
    index = start.year * 12 + start.month - 1 + months
    return clock.month_start(index // 12, index % 12 + 1)


def this_month() -> dt.datetime:
    return dashboards.trend_months()[-1]


def approve_at(name: str, moment: dt.datetime) -> None:
    """Move the approvals of the demo product `name` to `moment`: the demo's history (a version per data year,
    load_demo `HISTORY`) collapses into that moment, so the product is first approved then."""
    product = Product.objects.get(published_version__name=name)
    assert ProductVersion.objects.filter(product=product, status="approved").count() >= 1
    ProductVersion.objects.filter(product=product, status="approved").update(decided_at=moment)


def unit_of(user: User) -> ManagementUnit | None:
    membership = PortMembership.objects.filter(user=user).select_related("unit").first()
    return membership.unit if membership else None


def page_data(user: User, **params: str) -> dict[str, Any]:
    client = Client()
    client.force_login(user)
    name = "national:home" if unit_of(user) is None else "port:home"
    answer = client.get(reverse(name), params)
    assert answer.status_code == 200
    return answer.context["data"]


def workbook(figs: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]]:
    buffer = BytesIO()
    documents.write_monthly_xlsx(figs, buffer)
    book = load_workbook(BytesIO(buffer.getvalue()), read_only=True)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def run(tool: str, *args: str) -> subprocess.CompletedProcess[Any]:
    return subprocess.run([shutil.which(tool) or tool, *args], capture_output=True, check=True)


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return run("pdftotext", "-layout", str(path), "-").stdout.decode()


def pdf_fonts(pdf: bytes, tmp_path: Path) -> list[dict[str, str]]:
    """pdffonts' table as rows of {column: value} (columns cut by the widths of its dashed rule)."""
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    header, rule, *lines = run("pdffonts", str(path)).stdout.decode().splitlines()
    spans, start = [], 0
    for dashes in rule.split(" "):
        spans.append((start, start + len(dashes)))
        start += len(dashes) + 1
    names = [header[a:b].strip() for a, b in spans]
    return [{n: line[a:b].strip() for n, (a, b) in zip(names, spans, strict=True)} for line in lines if line.strip()]


def squeeze(text: str) -> str:
    return "".join(text.split())


# ---------------------------------------------------------------------------------------------
# The monthly publication


@pytest.fixture
def months(demo_users: dict[str, User]) -> dict[str, Any]:
    """Demo approvals moved: the publication's month P is three months ago.

    In P: 工业协作机器人 (广州) and 车规级微控制器 (深圳). The month before: 电源管理芯片 (深圳), and 高速接口芯片
    (深圳) at 23:59:59 on P's eve in Beijing (15:59:59 UTC, so a UTC month would put it in P). At the first
    instant of the month after P: 智能巡检机器人 (广州, not in P). The same month a year before: 石墨烯导热膜 (杭州).
    高阻隔包装膜 (杭州) stays approved today.
    """
    period = shift(this_month(), -3)
    approve_at("工业协作机器人", period + dt.timedelta(days=2, hours=10))
    approve_at("车规级微控制器", clock.next_month(period) - dt.timedelta(hours=2))
    approve_at("电源管理芯片", shift(period, -1) + dt.timedelta(days=5))
    approve_at("高速接口芯片", period - dt.timedelta(seconds=1))
    approve_at("智能巡检机器人", clock.next_month(period))
    approve_at("石墨烯导热膜", shift(period, -12) + dt.timedelta(days=14))
    approve_at("高阻隔包装膜", timezone.now())
    return {"period": period, "users": demo_users}


EXPECTED_NEW = {
    "guangdong": {"工业协作机器人", "车规级微控制器"},
    "shenzhen": {"车规级微控制器"},
    "zhejiang": set(),
    "national": {"工业协作机器人", "车规级微控制器"},
}
# (previous month, change %, same month last year, change %)
EXPECTED_COMPARISON = {
    "guangdong": (2, "0.0", 0, None),
    "shenzhen": (2, "-50.0", 0, None),
    "zhejiang": (0, None, 1, "-100.0"),
    "national": (2, "0.0", 1, "100.0"),
}


@pytest.mark.parametrize("who", WHO)
def test_the_workbook_figures_equal_the_dashboard_of_the_same_port(months: dict[str, Any], who: str) -> None:
    """The publication of month P and the dashboard as of P's end (`?as_of=`, `dashboards.state_at`: the same
    function) agree; approvals after P (智能巡检机器人 at the first instant after it, 高阻隔包装膜 today) are in
    neither."""
    user = months["users"][who]
    figs = figures.monthly_figures(unit_of(user), months["period"].date())
    json.dumps(figs)  # the snapshot stored in Publication.figures
    sheets = workbook(figs)
    service = dashboards.state_at(dashboards.area_for(user), clock.next_month(months["period"]))
    page = page_data(user, as_of=months["period"].strftime("%Y-%m"))
    assert list(sheets) == [
        "概况",
        "近12个月",
        "按地区",
        "按产品分类",
        "按行业",
        "按企业规模及类别",
        "名单覆盖",
        "本月新增",
    ]

    summary = {row[0]: row[1] for row in sheets["概况"]}
    assert summary["端口"] == PORT_NAMES[who]
    for data in (service, page):
        t = data["totals"]
        assert summary["备案单位"] == t["units"]
        assert summary["已提交备案产品"] == t["filed"]
        assert summary["通过备案产品"] == t["approved"]
        assert summary["近12个月新增通过"] == t["growth"]
        assert Decimal(str(summary["上年度销售额（万元）"])) == t["sales"]
        assert Decimal(str(summary["年度出口额（万元）"])) == t["exports"]
        assert summary["认定的专利密集型产品"] == t["certified"]

        region_rows = [(r[0], r[1], r[2], r[3], r[4], r[5], r[7], Decimal(str(r[8]))) for r in sheets["按地区"][1:]]
        assert region_rows == [
            (r["rank"], r["code"], str(r["name"]), r["units"], r["filed"], r["approved"], r["growth"], r["sales"])
            for r in data["ranking"]
        ]
        assert [(r[0], r[1]) for r in sheets["按产品分类"][1:]] == [(r["label"], r["count"]) for r in data["by_class"]]
        assert [(r[0], r[1]) for r in sheets["按行业"][1:]] == [
            (str(r["label"]), r["count"]) for r in data["by_section"]
        ]
        scale_rows = [(r[1], r[2]) for r in sheets["按企业规模及类别"][1:] if r[0] == "企业规模"]
        assert scale_rows == [(str(r["label"]), r["count"]) for r in data["by_scale"]]
    assert sum(r[2] for r in sheets["按企业规模及类别"][1:] if r[0] == "单位类型") == service["totals"]["approved"]
    # the sales are numbers in the workbook, not text
    assert isinstance(summary["上年度销售额（万元）"], int | float)

    categories, total = rosters.coverage_by_category(user, year=figs["coverage"]["year"])
    expected = [(r.label, r.entries, r.covered, r.missing, r.percent) for r in [*categories, total]]
    assert [(r[0], r[2], r[3], r[4], r[5] if r[5] != "" else None) for r in sheets["名单覆盖"][1:]] == expected
    assert total.entries > 0  # the demo roster of this year is there


@pytest.mark.parametrize("who", WHO)
def test_the_months_new_approvals_and_the_comparison(months: dict[str, Any], who: str) -> None:
    user = months["users"][who]
    period = months["period"]
    figs = figures.monthly_figures(unit_of(user), period.date())
    sheets = workbook(figs)
    new = sheets["本月新增"]
    assert new[0] == ("产品备案号", "产品名称", "备案单位", "产品分类", "所在地区", "通过日期")
    assert {row[1] for row in new[1:]} == EXPECTED_NEW[who]
    assert figs["new"]["count"] == len(new) - 1 == len(EXPECTED_NEW[who])
    for row in new[1:]:
        product = Product.objects.get(published_version__name=row[1])
        assert row[0] == product.filing_number
        decided = product.published_version.decided_at.astimezone(CHINA).date()
        assert row[5].date() == decided and decided.replace(day=1) == period.date()

    previous, previous_pct, last_year, last_year_pct = EXPECTED_COMPARISON[who]
    comparison = figs["comparison"]
    assert comparison["previous"]["count"] == previous and comparison["previous"]["change_percent"] == previous_pct
    assert comparison["last_year"]["count"] == last_year and comparison["last_year"]["change_percent"] == last_year_pct
    summary = {row[0]: row[1] for row in sheets["概况"]}
    assert summary["本月新增通过备案产品"] == len(EXPECTED_NEW[who])
    assert summary[f"上月（{comparison['previous']['label']}）新增"] == previous
    assert summary[f"上年同月（{comparison['last_year']['label']}）新增"] == last_year
    assert summary["环比增长（%）"] == (float(previous_pct) if previous_pct is not None else None)

    # the 12-month trend ends with the month, with the dashboard's month drill-down counts
    assert [r["month"] for r in figs["trend"]][-2:] == [shift(period, -1).strftime("%Y-%m"), period.strftime("%Y-%m")]
    assert figs["trend"][-1]["count"] == len(EXPECTED_NEW[who]) and figs["trend"][-2]["count"] == previous
    area = dashboards.area_for(user)
    for row in figs["trend"]:
        drill = dashboards.filter_products(area, dashboards.Filters(status=dashboards.APPROVED, month=row["month"]))
        assert drill.count() == row["count"], row
    # the month's new approvals per region add up
    assert sum(r["new"] for r in figs["by_region"]) == len(EXPECTED_NEW[who])


def test_a_city_port_publication_never_includes_the_rest_of_its_province(
    months: dict[str, Any], tmp_path: Path
) -> None:
    shenzhen = ManagementUnit.objects.get(code="440300")
    figs = figures.monthly_figures(shenzhen, months["period"].date())
    assert {r["code"] for r in figs["by_region"]} <= {
        r.code for r in dashboards.area_regions(dashboards.area_for_unit(shenzhen))
    }
    assert "440100" not in {r["code"] for r in figs["by_region"]}
    blob = json.dumps(figs, ensure_ascii=False) + json.dumps(workbook(figs), ensure_ascii=False, default=str)
    assert "广州" not in blob
    assert "广州" not in pdf_text(documents.render_monthly_pdf(figs), tmp_path)
    # and the province's publication does include 广州
    guangdong = figures.monthly_figures(ManagementUnit.objects.get(code="440000"), months["period"].date())
    assert "440100" in {r["code"] for r in guangdong["by_region"] if r["approved"]}


def test_the_pdf_reads_as_a_person_would(months: dict[str, Any], tmp_path: Path) -> None:
    unit = ManagementUnit.objects.get(code="440000")
    figs = figures.monthly_figures(unit, months["period"].date())
    pdf = documents.render_monthly_pdf(figs)
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf, tmp_path)
    flat = squeeze(text)
    period = months["period"]
    label = f"{period.year}年{period.month}月"
    previous = shift(period, -1)
    assert f"广东省专利产品备案月度数据（{label}）" in flat
    assert "数据截至" + documents.as_of_label(figs["data_as_of"]).replace(" ", "") in flat
    for expected in (
        f"{label}新增通过备案产品",
        f"{previous.year}年{previous.month}月（环比）200.0%",  # previous month: 2, change 0, 0.0%
        f"{period.year - 1}年{period.month}月（同比）0+2—",  # last year: 0, change +2, no percentage
        "工业协作机器人",
        "车规级微控制器",
        "按城市",
        "深圳市",
        "广州市",
        "重点企业名单覆盖",
        "国家知识产权优势企业",
        f"新增通过备案产品清单（{figs['new']['count']}项）",
    ):
        assert squeeze(expected) in flat, expected
    for key in ("units", "filed", "approved"):
        assert str(figs["totals"][key]) in text
    assert figs["totals"]["sales"] in text  # 45300.00

    fonts = pdf_fonts(pdf, tmp_path)
    assert any("Noto-Sans-CJK-SC" in row["name"] for row in fonts), fonts
    assert all(row["emb"] == "yes" for row in fonts), fonts

    (tmp_path / "p.pdf").write_bytes(pdf)
    run("pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(tmp_path / "p.pdf"), str(tmp_path / "page"))
    png = next(tmp_path.glob("page*.png")).read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    from PIL import Image

    image = Image.open(BytesIO(png)).convert("L")
    assert image.size[0] < image.size[1]  # A4 portrait
    dark = sum(image.histogram()[:128])
    assert dark > 1000  # text and bars, not a blank page


def test_the_pdf_charts_are_inline_svg_and_the_html_fetches_nothing(months: dict[str, Any]) -> None:
    figs = figures.monthly_figures(None, months["period"].date())
    html = documents.render_monthly_html(figs)
    assert html.count("<svg") >= 5
    assert "<script" not in html and "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "全国专利产品备案月度数据" in html


def test_a_month_without_approvals_still_makes_a_publication(demo: None, tmp_path: Path) -> None:
    period = shift(this_month(), -30)
    figs = figures.monthly_figures(ManagementUnit.objects.get(code="330000"), period.date())
    assert figs["new"] == {"count": 0, "rows": []}
    assert "本月没有新增通过备案的产品" in squeeze(pdf_text(documents.render_monthly_pdf(figs), tmp_path))
    assert len(workbook(figs)["本月新增"]) == 1  # the header only


# ---------------------------------------------------------------------------------------------
# The year-end evaluation


@pytest.fixture
def year_data(demo_users: dict[str, User]) -> int:
    """The current year Y, with: 高速接口芯片 (深圳) and 石墨烯导热膜 (杭州) first approved in June Y-1, the others
    in Y (today); 智能巡检机器人 (广州) backed by no invention patent any more; a Y 专精特新“小巨人” roster with the
    深圳 enterprise (covered) and a made-up 深圳 enterprise (not covered), and a Y-1 roster of a 杭州 enterprise
    (another year: not counted). The demo round (data year Y-1) certified one product of each enterprise."""
    year = this_month().year
    june = dt.datetime(year - 1, 6, 15, 10, tzinfo=CHINA)
    approve_at("高速接口芯片", june)
    approve_at("石墨烯导热膜", june)
    for name in ("工业协作机器人", "智能巡检机器人", "车规级微控制器", "电源管理芯片", "高阻隔包装膜"):
        approve_at(name, timezone.now())  # the demo's history of these moved to today
    patent = Patent.objects.get(title="基于视觉的巡检机器人定位系统")
    Patent.objects.filter(pk=patent.pk).update(kind=PatentKind.UTILITY_MODEL)
    sz_uscc = Product.objects.get(published_version__name="高速接口芯片").unit.uscc
    giant = Roster.objects.create(category=RosterCategory.LITTLE_GIANT, year=year, title="小巨人", entry_count=2)
    other = build_uscc(region_code="440305", org_body="MA5TE001")
    for uscc in (sz_uscc, other):
        RosterEntry.objects.create(
            roster=giant, uscc=uscc, name=uscc, province_code="440000", city_code="440300", county_code="440305"
        )
    old = Roster.objects.create(category=RosterCategory.LITTLE_GIANT, year=year - 1, title="旧名单", entry_count=1)
    RosterEntry.objects.create(
        roster=old,
        uscc=build_uscc(region_code="330106", org_body="MA2TE001"),
        name="旧",
        province_code="330000",
        city_code="330100",
        county_code="330106",
    )
    assert set(Round.objects.values_list("data_year", flat=True)) == {year - 1}
    return year


def test_year_end_cards_on_hand_built_data(year_data: int) -> None:
    cards = figures.yearend_cards(year_data)
    json.dumps(cards)
    assert len(cards["cards"]) == ManagementUnit.objects.count() == 47
    by_code = {c["code"]: c for c in cards["cards"]}

    sz = by_code["440300"]
    assert (sz["approved"], sz["approved_previous"], sz["new"], sz["new_previous"]) == (3, 1, 2, 1)
    assert sz["new_growth_percent"] == "100.0" and sz["approved_growth_percent"] == "200.0"
    coverage = {r["key"]: r for r in sz["coverage"]}
    assert (coverage["little_giant"]["entries"], coverage["little_giant"]["covered"]) == (2, 1)
    assert coverage["little_giant"]["percent"] == "50.0"
    national_roster = coverage["national_advantage"]
    assert national_roster["covered"] == 1
    # distinct enterprises over the categories: the 深圳 demo enterprise is on both rosters
    assert sz["coverage_total"]["entries"] == national_roster["entries"] + 1
    assert sz["invention"] == 3 and sz["invention_percent"] == "100.0"
    assert sz["certified"] == 1

    gz = by_code["440100"]
    assert (gz["approved"], gz["new"], gz["new_previous"], gz["new_growth_percent"]) == (2, 2, 0, None)
    assert gz["invention"] == 1 and gz["invention_percent"] == "50.0"  # 智能巡检机器人 has no invention patent

    gd = by_code["440000"]
    assert (gd["approved"], gd["new"], gd["new_previous"], gd["new_growth_percent"]) == (5, 4, 1, "300.0")
    assert gd["invention_percent"] == "80.0" and gd["certified"] == 2

    zj = by_code["330000"]
    assert (zj["approved"], zj["new"], zj["new_previous"], zj["new_growth_percent"]) == (2, 1, 1, "0.0")
    assert {r["key"]: r["entries"] for r in zj["coverage"]}["little_giant"] == 0  # the Y-1 roster is not counted

    national = cards["national"]
    assert (national["approved"], national["new"], national["new_previous"], national["certified"]) == (7, 5, 2, 3)
    assert national["rank"] is None and national["score"] is None
    # progress reports of the year (the demo's two): each port counts its own, the nation all of them
    assert (sz["reports"], sz["typical"], gd["reports"], gd["typical"], zj["reports"]) == (1, 0, 1, 1, 0)
    assert {r["key"]: r["count"] for r in gd["reports_by_category"]}["good_practice"] == 1
    assert (national["reports"], national["typical"]) == (2, 1)
    assert national["invention_percent"] == str((Decimal(600) / 7).quantize(Decimal("0.1")))  # 6 of 7


def test_the_score_applies_the_stated_weights_and_ranks_the_ports(year_data: int) -> None:
    cards = figures.yearend_cards(year_data)
    weights = figures.SCORE_WEIGHTS
    assert sum(weights.values()) == 1
    # 广东 has the most of each; the demo's typical case is 广东's own good-practice report
    tops = {"approved": 5, "new": 4, "certified": 2, "typical": 1}
    assert cards["tops"] == tops
    for card in cards["cards"]:
        coverage = Decimal(card["coverage_total"]["percent"] or 0)
        invention = Decimal(card["invention_percent"] or 0)
        expected = (
            weights["approved"] * 100 * card["approved"] / tops["approved"]
            + weights["new"] * 100 * card["new"] / tops["new"]
            + weights["coverage"] * coverage
            + weights["invention"] * invention
            + weights["certified"] * 100 * card["certified"] / tops["certified"]
            + weights["reports"] * 100 * min(card["reports"], 12) / 12
            + weights["typical"] * 100 * card["typical"] / tops["typical"]
        )
        assert Decimal(card["score"]) == expected.quantize(Decimal("0.01")), card["code"]
    sz = next(c for c in cards["cards"] if c["code"] == "440300")
    # 0.25·60 + 0.20·50 + 0.20·33.3 + 0.15·100 + 0.10·50 + 0.05·(100/12: one report) + 0.05·0 (no typical case)
    assert sz["score"] == "52.08"  # coverage: 1 of 3 distinct enterprises, 33.3% as shown
    ranked = cards["cards"]
    scores = [Decimal(c["score"]) for c in ranked]
    assert scores == sorted(scores, reverse=True)
    # standard competition ranking on (score, approved products): equal ports share a rank, marked tied
    keys = [(Decimal(c["score"]), c["approved"]) for c in ranked]
    assert [c["rank"] for c in ranked] == [1 + sum(other > mine for other in keys) for mine in keys]
    assert [c["tied"] for c in ranked] == [keys.count(mine) > 1 for mine in keys]
    assert ranked[0]["rank"] == 1 and not ranked[0]["tied"] and ranked[-1]["tied"]
    assert [c["code"] for c in ranked[:2]] == ["440000", "440300"]
    assert not any(c["approved"] for c in ranked if Decimal(c["score"]) == 0)
    assert {c["is_open"] for c in ranked} == {True, False}  # closed ports are ranked too


def test_year_end_files_for_a_port_and_for_the_nation(year_data: int, tmp_path: Path) -> None:
    cards = figures.yearend_cards(year_data)
    shenzhen = ManagementUnit.objects.get(code="440300")

    buffer = BytesIO()
    documents.write_yearend_xlsx(cards, buffer, unit=shenzhen)
    book = load_workbook(BytesIO(buffer.getvalue()), read_only=True)
    assert book.sheetnames == ["本端口", "全国排名", "评分方法"]
    own = {row[0]: row[1] for row in book["本端口"].iter_rows(values_only=True)}
    assert own["端口"] == "深圳市" and own["全国排名"] == "2 / 47" and own["综合得分"] == 52.08
    assert own["年度工作报送（篇）"] == 1 and own["工作报送：工作进展（篇）"] == 1 and own["报送被列为典型案例"] == 0
    assert own["名单覆盖率：专精特新“小巨人”企业（%）"] == 50
    ranking = list(book["全国排名"].iter_rows(values_only=True))
    assert len(ranking) == 48 and ranking[2][:2] == (2, "深圳市")
    weights = dict(book["评分方法"].iter_rows(values_only=True, min_row=2))
    assert weights["年末通过备案产品数"] == 0.25 and sum(weights.values()) == pytest.approx(1)
    assert weights["年度工作报送篇数（12 篇及以上满分）"] == 0.05 and weights["报送被列为典型案例数"] == 0.05

    buffer = BytesIO()
    documents.write_yearend_xlsx(cards, buffer)
    book = load_workbook(BytesIO(buffer.getvalue()), read_only=True)
    assert book.sheetnames == ["全国排名", "名单覆盖", "工作报送", "评分方法"]
    assert list(book["全国排名"].iter_rows(values_only=True))[-1][1] == "全国"
    reports_sheet = {row[0]: row[1:] for row in book["工作报送"].iter_rows(values_only=True, min_row=2)}
    assert reports_sheet["广东省"] == (0, 0, 1, 0, 1, 1)  # progress, problem, good practice, policy, total, typical
    assert reports_sheet["全国"] == (1, 0, 1, 0, 2, 1)

    text = squeeze(pdf_text(documents.render_yearend_pdf(cards, shenzhen), tmp_path))
    for expected in (
        f"深圳市专利产品备案工作成效评价（{year_data}年度）",
        "全国排名2/47",
        "综合得分52.08",
        "25%",
        "年度工作报送（篇）1",
        "数据截至",
    ):
        assert expected in text, expected
    national_pdf = documents.render_yearend_pdf(cards)
    text = squeeze(pdf_text(national_pdf, tmp_path))
    assert f"全国专利产品备案工作成效评价（{year_data}年度）" in text
    ranking_text = text[text.index("全国排名") :]
    assert ranking_text.index("1广东省") < ranking_text.index("2深圳市")
    assert "新疆生产建设兵团" in ranking_text  # all 47 ports, open or not
    assert any("Noto-Sans-CJK-SC" in row["name"] and row["emb"] == "yes" for row in pdf_fonts(national_pdf, tmp_path))
