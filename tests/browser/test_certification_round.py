"""A certification round in the browser, walked as the national office walks it.

The demo is loaded (its first round of the data year is finished). 深圳鹏芯 opts its 高速接口芯片 in. The
national administrator revises the benchmark set of 信息通信技术制造业 (a new draft, values typed in, fixed),
starts a second round and watches the patent evaluation finish; asks the passing filers for information.
The filer adds it. The national administrator starts the industry evaluation; the three demo experts
score the product. The list goes out for publicity; a member of the public lodges an objection (first
with an empty form), the national administrator dismisses it; once the publicity is over (the test moves
its end into the past: time passes) the final list is published. The filer sees every indicator with its
value and benchmark, downloads the certificate, and the address printed under its QR code opens the
public verification page; the public product page carries the certified mark. (The industry evaluation
and the 公示 start before their deadlines: the national administrator confirms each with a reason.)

A second walk: the national office configures a round with its calendar (a date out of order is refused
on its field), and the filer (on a phone) and an expert see its deadlines with the time left.
"""

import datetime as dt
import io
import re
import subprocess
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import expect

from evaluation.models import Candidate, Objection, Round
from filings import workflow
from filings.models import ProductVersion
from patent_platform.models import User
from tests.browser.nav import nav_go
from tests.browser.test_filing_journey import alerts, log_in, log_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Demo-2026!"
PRODUCT = "高速接口芯片"
CLASS = "信息通信技术制造业"
ROUND = "第二批认定（浏览器测试）"
SCORES = [("26", "25", "21", "12"), ("24", "26", "20", "13"), ("27", "24", "22", "11")]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def story(reference: None) -> ProductVersion:
    call_command("load_demo", verbosity=0, stdout=io.StringIO())
    version = ProductVersion.objects.get(name=PRODUCT, status="approved")
    filer = User.objects.get(email="ent-sz@example.cn")
    workflow.version_set_certification_opt_in(version=version, user=filer, opt_in=True)
    return version


def test_a_round_from_benchmarks_to_the_public_verification_page(page, live_server, story, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page.on("dialog", lambda dialog: dialog.accept())  # every destructive step asks first
    year = story.data_year

    # --- the national office fixes a revised benchmark set for the product's class
    log_in(page, "national@example.cn", PASSWORD, "/national/")
    nav_go(page, "专利密集型产品认定")
    page.click("main a[href='/certification/benchmarks/']")
    page.locator("tr", has_text=CLASS).locator("a").first.click()
    page.click("[data-testid=revise]")
    expect(page.locator("[data-testid=draft-info]")).to_be_visible()
    expect(page.locator("[data-testid=page-title]")).to_contain_text("v2")
    # every indicator of the draft gets the value 0 (E3 cannot be suggested: no previous year)
    inputs = page.locator("[data-testid=values-form] input[name^=value_]")
    assert inputs.count() == 10
    inputs.first.fill("abc")
    page.click("[data-testid=values-save]")
    expect(page.locator("[data-testid=form-errors]")).to_be_visible()
    expect(inputs.first).to_have_value("abc")  # the input is kept
    for i in range(inputs.count()):
        inputs.nth(i).fill("0")
    page.click("[data-testid=values-save]")
    expect(page.locator("[data-testid=form-errors]")).to_have_count(0)
    page.click("[data-testid=fix]")
    expect(page.locator("[data-testid=fixed-info]")).to_be_visible()
    chart = page.locator("[data-testid=charts] canvas, [data-testid=charts] svg")
    expect(chart.first).to_be_visible()  # the distribution is drawn (ECharts, served locally)

    # --- start a round: the preview counts the eligible product, the evaluation runs and finishes
    nav_go(page, "专利密集型产品认定")
    page.click("[data-testid=round-new]")
    expect(page.locator("[data-testid=eligible-count]")).to_have_text("1")
    page.fill("#id_name", ROUND)
    page.click("[data-testid=round-start]")
    expect(page.locator("[data-testid=round-stage]")).to_have_text("专利性评价")
    expect(page.locator("[data-testid=evaluation-done]")).to_be_visible()
    row = page.locator("[data-testid=candidate-row]", has_text=PRODUCT)
    expect(row).to_have_attribute("data-status", "patent_passed")
    page.click("[data-testid=action-request-information]")
    expect(page.locator("[data-testid=round-stage]")).to_have_text("补充材料")
    assert any("请补充材料" in m.subject for m in mail.outbox), [m.subject for m in mail.outbox]
    log_out(page)

    # --- the filer adds the information asked for
    log_in(page, "ent-sz@example.cn", PASSWORD, "/enterprise/")
    nav_go(page, "产品认定")
    mine = page.locator("[data-testid=mine-row]", has_text=ROUND)
    mine.locator("[data-testid=next-step] a").click()
    page.click("[data-testid=info-submit]")  # empty: every field is asked for
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    page.fill("#id_market_position", "国内高速接口芯片市场占有率约 8%，位居国产第一。")
    page.fill("#id_technology", "支持 PCIe 5.0，关键指标达到国际同类产品水平。")
    page.fill("#id_patent_use", "两项专利均已实施于产品，形成专利组合。")
    page.click("[data-testid=info-submit]")
    expect(page.locator("main .alert-success")).to_contain_text("补充材料已提交")
    nav_go(page, "产品认定")
    expect(page.locator("[data-testid=mine-row]", has_text=ROUND)).to_contain_text("已补充材料")
    log_out(page)

    # --- the national office assigns the expert panel
    log_in(page, "national@example.cn", PASSWORD, "/national/")
    rnd = Round.objects.get(name=ROUND)
    page.goto(f"/certification/rounds/{rnd.pk}/")
    page.click("[data-testid=action-start-industry]")  # the information is still due: refused without a reason
    expect(page.locator("[data-testid=action-error]")).to_contain_text("尚未届满")
    page.check("[data-testid=early-confirm-start-industry]")
    page.fill("[data-testid=early-reason-start-industry]", "唯一参评企业已提交补充材料。")
    page.click("[data-testid=action-start-industry]")
    expect(page.locator("[data-testid=round-stage]")).to_have_text("产业性评价")
    expect(page.locator("[data-testid=scoring-progress]")).to_have_text("0 / 3")
    log_out(page)

    # --- three experts score (the first one tries a score above the maximum first)
    for n, (technology, market, patent, benefit) in enumerate(SCORES, start=1):
        log_in(page, f"expert{n}@example.cn", PASSWORD, "/certification/expert/")
        page.locator("[data-testid=assignment-row]", has_text=PRODUCT).locator("a").first.click()
        expect(page.locator("main")).to_contain_text("国内高速接口芯片市场占有率")  # the filer's information
        page.fill("#id_technology", "31" if n == 1 else technology)
        page.fill("#id_market", market)
        page.fill("#id_patent", patent)
        page.fill("#id_benefit", benefit)
        page.fill("#id_comments", f"专家 {n}：专利对产品竞争力支撑明显。")
        page.click("[data-testid=score-submit]")
        if n == 1:
            expect(page.locator("[data-testid=error-technology]")).to_be_visible()
            expect(page.locator("#id_comments")).to_have_value("专家 1：专利对产品竞争力支撑明显。")
            page.fill("#id_technology", technology)
            page.click("[data-testid=score-submit]")
        expect(page.locator("[data-testid=assignment-row]", has_text=PRODUCT)).to_have_attribute("data-scored", "1")
        log_out(page)

    # --- publicity: the combined score puts the product on the public list
    log_in(page, "national@example.cn", PASSWORD, "/national/")
    page.goto(f"/certification/rounds/{rnd.pk}/")
    expect(page.locator("[data-testid=scoring-progress]")).to_have_text("3 / 3")
    page.check("[data-testid=early-confirm-start-publicity]")  # before the scoring deadline: with a reason
    page.fill("[data-testid=early-reason-start-publicity]", "专家评分已全部完成。")
    page.click("[data-testid=action-start-publicity]")
    expect(page.locator("[data-testid=round-stage]")).to_have_text("公示")
    log_out(page)

    # --- a member of the public objects (on a phone)
    public = page.context.browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 390, "height": 844}
    )
    visitor = public.new_page()
    visitor.goto("/certified/")
    visitor.locator("[data-testid=publicity-round]", has_text=ROUND).locator("a").click()
    visitor.locator("[data-testid=publicity-row]", has_text=PRODUCT).locator("[data-testid=object-link]").click()
    visitor.click("[data-testid=objection-form] button[type=submit]")
    expect(visitor.locator("[data-testid=form-errors]")).to_be_visible()
    visitor.fill("#id_name", "某竞争企业")
    visitor.fill("#id_contact", "0755-12345678")
    visitor.fill("#id_reasons", "该产品的一项核心专利据悉已被提出无效宣告请求，请核实。")
    visitor.click("[data-testid=objection-form] button[type=submit]")
    expect(visitor.locator("[data-testid=objection-done]")).to_be_visible()
    assert Objection.objects.filter(candidate__round=rnd, status="pending").count() == 1

    # --- the national office dismisses it, then (the publicity over) publishes the final list
    log_in(page, "national@example.cn", PASSWORD, "/national/")
    page.goto(f"/certification/rounds/{rnd.pk}/")
    expect(page.locator("[data-testid=pending-objections]")).to_be_visible()
    page.click("[data-testid=objection-decide]")
    expect(page.locator("[data-testid=objection-reasons]")).to_contain_text("无效宣告请求")
    page.check("input[name=uphold][value='0']")
    page.fill("#id_decision", "经核实，无效宣告请求已被驳回，专利维持有效，异议不成立。")
    page.click("[data-testid=decision-submit]")
    expect(page.locator("[data-testid=objection-row]")).to_contain_text("异议不成立")
    page.click("[data-testid=action-finalize]")  # still inside the publicity: refused with the end date
    expect(page.locator("[data-testid=action-error]")).to_contain_text("公示期至")
    today = workflow.china_today()
    Round.objects.filter(pk=rnd.pk).update(
        publicity_start=today - dt.timedelta(days=6), publicity_end=today - dt.timedelta(days=1)
    )
    page.goto(f"/certification/rounds/{rnd.pk}/")
    page.click("[data-testid=action-finalize]")
    expect(page.locator("[data-testid=round-stage]")).to_have_text("已公布认定结果")
    expect(page.locator("[data-testid=count-certified]")).to_have_text("1")
    candidate = Candidate.objects.get(round=rnd)
    number = candidate.certificate_number
    assert re.fullmatch(rf"RD{year}\d{{5}}", number)
    log_out(page)

    # --- the filer sees why, and downloads the certificate
    log_in(page, "ent-sz@example.cn", PASSWORD, "/enterprise/")
    nav_go(page, "产品认定")
    mine = page.locator("[data-testid=mine-row]", has_text=ROUND)
    mine.locator("[data-testid=result-link]").click()
    body = page.locator("main")
    for code in ("P1", "P2", "V1", "D1", "E1", "E3"):
        expect(body).to_contain_text(code)
    expect(body).to_contain_text("PPAC402-平台解读-1")
    expect(body).not_to_contain_text("赵启明")  # the experts' names are not the filer's business
    nav_go(page, "产品认定")
    with page.expect_download() as download:
        page.locator("[data-testid=mine-row]", has_text=ROUND).locator("[data-testid=certificate-link]").click()
    pdf = tmp_path / "certificate.pdf"
    download.value.save_as(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert number in text and PRODUCT in text and "深圳鹏芯微电子有限公司" in text
    url = re.search(r"https?://\S+/certified/verify/\S+", text)
    assert url, text

    # --- the address under the QR code opens the verification page, without login
    visitor.goto(url.group(0).replace("http://testserver", live_server.url))
    expect(visitor.locator("[data-testid=verify-status]")).to_contain_text("有效")
    expect(visitor.locator("[data-testid=verify-data]")).to_contain_text(PRODUCT)
    visitor.goto(f"/products/{story.product.filing_number}/")
    expect(visitor.locator("main")).to_contain_text(number)
    public.close()
    assert any("已被认定为专利密集型产品" in m.subject for m in mail.outbox)
    assert not alerts(page).count("服务器错误")


def test_the_national_office_sets_a_rounds_calendar_and_the_participants_see_its_deadlines(
    page, live_server, story
) -> None:  # type: ignore[no-untyped-def]
    page.on("dialog", lambda dialog: dialog.accept())
    today = workflow.china_today()

    def day(n: int) -> str:
        return (today + dt.timedelta(days=n)).isoformat()

    # --- the national office configures the next round: cut-off in ten days, a deadline per stage
    log_in(page, "national@example.cn", PASSWORD, "/national/")
    nav_go(page, "专利密集型产品认定")
    page.click("[data-testid=round-new]")
    page.fill("#id_name", ROUND)
    page.fill("#id_deadline", day(10))
    page.fill("#id_info_due", day(5))  # before the cut-off: refused, said on the field
    page.fill("#id_scoring_due", day(50))
    page.fill("#id_publicity_days", "7")
    page.fill("#id_objections_due", day(70))
    page.click("[data-testid=round-start]")
    expect(page.locator("[data-testid=error-info_due]")).to_contain_text("晚于申报截止日")
    expect(page.locator("#id_scoring_due")).to_have_value(day(50))  # the input is kept
    page.fill("#id_info_due", day(30))
    page.click("[data-testid=round-start]")
    expect(page.locator("[data-testid=page-title]")).to_have_text(ROUND)
    expect(page.locator("[data-testid=awaiting-cutoff]")).to_contain_text(day(10))
    calendar = page.locator("[data-testid=deadlines]")
    expect(calendar.locator("[data-testid=deadline-cutoff]")).to_contain_text("还剩 10 天")
    expect(calendar.locator("[data-testid=deadline-info]")).to_contain_text(day(30))
    expect(calendar.locator("[data-testid=deadline-publicity]")).to_contain_text("7 个工作日")
    log_out(page)

    # --- the filer sees them on its certification page, on a phone
    phone = page.context.browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 390, "height": 844}
    )
    filer = phone.new_page()
    log_in(filer, "ent-sz@example.cn", PASSWORD, "/enterprise/")
    filer.goto("/certification/mine/")
    mine = filer.locator("[data-testid=deadlines]", has_text=ROUND)
    expect(mine.locator("[data-testid=deadline-cutoff]")).to_contain_text(day(10))
    expect(mine.locator("[data-testid=deadline-cutoff]")).to_contain_text("还剩 10 天")
    expect(mine.locator("[data-testid=deadline-scoring]")).to_contain_text("还剩 50 天")
    phone.close()

    # --- and an expert on their tasks page
    log_in(page, "expert5@example.cn", PASSWORD, "/certification/expert/")
    expert = page.locator("[data-testid=deadlines]", has_text=ROUND)
    expect(expert.locator("[data-testid=deadline-scoring]")).to_contain_text(day(50))
    expect(expert.locator("[data-testid=deadline-scoring]")).to_contain_text("还剩 50 天")
    expect(expert.locator("[data-testid=deadline-objections]")).to_contain_text("还剩 70 天")
