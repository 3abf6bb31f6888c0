"""Accessible to everyone (GB/T 37668-2019 level 2, WCAG 2.1 AA; docs/ACCESSIBILITY.md).

axe-core (npm, devDependency, pinned in package-lock.json) is injected into every page kind of the
platform, as each role sees it, at a laptop viewport (1366×768) and on a phone (390×844): no violation
of impact serious or critical may remain. On the phone nothing may widen the page: a wide table scrolls
inside its own keyboard-reachable container (axe's scrollable-region-focusable checks that). A
keyboard-only filer files a product without a mouse, seeing where the focus is at each step; the
长辈版 (elder mode) is switched on by a visitor and stays on across pages and visits.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from evaluation.models import Assignment, BenchmarkSet, Candidate, MethodVersion, Round
from filings.choices import FilingStatus
from filings.models import ProductVersion
from patent_platform.clock import previous_month
from patent_platform.models import User
from provincial.models import ProgressReport
from provincial.statements import statement_issue

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("accessibility"),
]

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "Demo-2026!"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
BLOCKING = ("serious", "critical")

ANONYMOUS = [
    "/",
    "/products/",
    "/products/?q=微控制器",
    "/products/{filing_number}/",
    "/certified/",
    "/certified/verify/{certificate}/",
    "/verify/statement/{statement_token}/",
    "/open-data/",
    "/rules/",
    "/manual/",
    "/manual/enterprise/",
    "/ports/apply/",
    "/enterprise/register/",
    "/accounts/login/",
    "/accounts/password-reset/",
]
# one logged-in context per account; the pages each role works with
ROLES: dict[str, list[str]] = {
    "ent-sz@example.cn": [
        "/enterprise/",
        "/enterprise/patents/",
        "/enterprise/patents/new/",
        "/enterprise/products/new/",
        "/enterprise/versions/{returned_version}/",
        "/enterprise/versions/{returned_version}/edit/",
        "/enterprise/unit/",
        "/enterprise/identity/",
        "/enterprise/imports/",
        "/enterprise/members/",
        "/enterprise/webhooks/",
        "/certification/mine/",
        "/statements/mine/",
        "/accounts/password/",
        "/accounts/two-factor/setup/",
    ],
    "reviewer@example.cn": [
        "/review/",
        "/review/versions/{submitted_version}/",
        "/review/identity/",
        "/review/conflicts/",
        "/review/patent-status/",
        "/review/flags/",
        "/checks/report/",
        "/checks/credit-lists/entries/",
    ],
    "guangdong@example.cn": [
        "/port/",
        "/port/products/",
        "/port/units/",
        "/port/units/{port_unit}/",
        "/port/products/{port_product}/",
        "/port/versions/{returned_version}/",
        "/rosters/",
        "/rosters/coverage/",
        "/rosters/missing/",
        "/rosters/completeness/",
        "/rosters/follow-ups/",
        "/port/publications/",
        "/port/reports/",
        "/port/reports/new/",
        "/port/analysis/?rows=class&cols=city&measures=products&measures=sales",
        "/port/subscriptions/",
        "/port/subscriptions/new/?dashboard=1",
        "/certification/region/",
        "/certification/certificates/",
        "/statements/",
    ],
    "shenzhen@example.cn": [
        "/port/",
        "/port/products/",
        "/port/publications/",
        "/port/analysis/",
        "/port/months/{month}/",
    ],
    "national@example.cn": [
        "/national/",
        "/national/applications/",
        "/national/ports/",
        "/national/reports/",
        "/national/reports/{report}/",
        "/national/publications/",
        "/national/months/",
        "/national/months/remind/",
        "/national/verification-clients/",
        "/filing-settings/",
        "/checks/settings/",
        "/checks/credit-lists/",
        "/certification/",
        "/certification/rounds/{round}/",
        "/certification/candidates/{candidate}/",
        "/certification/methods/",
        "/certification/methods/{method}/",
        "/certification/benchmarks/",
        "/certification/benchmarks/{benchmark_set}/",
        "/certification/what-if/",
        "/certification/holidays/",
        "/certification/experts/",
    ],
    "expert1@example.cn": ["/certification/expert/", "/certification/expert/assignments/{assignment}/"],
    "secadmin@example.cn": ["/security/accounts/", "/security/accounts/{account}/", "/security/notices/"],
    "audit@example.cn": ["/audit/"],
}


def demo_objects() -> dict[str, str]:
    def version(name: str, status: str) -> ProductVersion:
        return ProductVersion.objects.filter(name=name, status=status).latest("pk")

    chip = version("车规级微控制器", FilingStatus.APPROVED)
    certified = Candidate.objects.exclude(certificate_number="").exclude(certificate_number=None).earliest("pk")
    filer = User.objects.get(email="ent-sz@example.cn")
    return {
        "filing_number": chip.product.filing_number,
        "certificate": certified.certificate_number,
        "statement_token": statement_issue(unit=chip.product.unit, user=filer).token,
        "returned_version": str(version("图像信号处理芯片", FilingStatus.RETURNED).pk),
        "submitted_version": str(version("精密摆线减速器", FilingStatus.SUBMITTED).pk),
        "report": str(ProgressReport.objects.earliest("pk").pk),
        "round": str(Round.objects.earliest("pk").pk),
        "candidate": str(certified.pk),
        "method": str(MethodVersion.objects.earliest("pk").pk),
        "benchmark_set": str(BenchmarkSet.objects.earliest("pk").pk),
        "assignment": str(Assignment.objects.filter(expert__email="expert1@example.cn").earliest("pk").pk),
        "account": str(User.objects.get(email="ent-gz@example.cn").pk),
        "month": f"{previous_month():%Y-%m}",
        "port_unit": str(chip.product.unit_id),
        "port_product": str(chip.product_id),
    }


@pytest.fixture(autouse=True)
def _no_rate_limits(settings) -> None:  # type: ignore[no-untyped-def]
    settings.RATE_LIMITS_ENABLED = False  # a dozen logins from one address within a minute


def log_in(page, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def axe(page, where: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The serious and critical violations axe-core finds on the page as it is now, one line each."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')), count: v.nodes.length,
                why: (v.nodes[0].any[0] || v.nodes[0].all[0] || v.nodes[0].none[0] || {}).message || ''}));
        }"""
    )
    return [
        f"{where}: {v['id']} ({v['impact']}, {v['count']}×) {v['help']} — {'; '.join(v['targets'])} ({v['why']})"
        for v in violations
        if v["impact"] in BLOCKING
    ]


def check_page(page, url: str, who: str) -> list[str]:  # type: ignore[no-untyped-def]
    page.set_viewport_size(DESKTOP)
    response = page.goto(url)
    status = response.status if response else None
    if status != 200:
        return [f"{url} as {who}: answered {status}"]
    page.wait_for_load_state("load")
    found = axe(page, f"{url} as {who}, desktop")
    page.set_viewport_size(PHONE)
    found += axe(page, f"{url} as {who}, phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        found.append(f"{url} as {who}, phone: the page is {width}px wide on a {PHONE['width']}px phone")
    # a table wider than the screen scrolls in its own region, which takes the focus and says so above it
    for table in page.evaluate(HIDDEN_COLUMNS):
        found.append(f"{url} as {who}, phone: table {table} hides a column off-screen with no hint")
    return found


HIDDEN_COLUMNS = """() => [...document.querySelectorAll('main table')].filter(t => {
    if (!t.offsetParent || t.getBoundingClientRect().right <= window.innerWidth) return false;
    const region = t.closest('.table-responsive');
    const hint = region && region.previousElementSibling;
    return !(region && region.tabIndex === 0 && region.scrollWidth > region.clientWidth
             && hint && hint.classList.contains('table-scroll-hint') && hint.offsetParent !== null);
}).map(t => t.dataset.testid || t.className)"""


def test_every_page_kind_has_no_serious_or_critical_violation(browser, live_server, demo) -> None:  # type: ignore[no-untyped-def]
    assert AXE.exists(), "axe-core is missing: run npm ci"
    values = demo_objects()
    found: list[str] = []
    visited = 0
    for who, urls in [(None, ANONYMOUS), *ROLES.items()]:
        context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport=DESKTOP, bypass_csp=True)
        context.set_default_timeout(20_000)
        page = context.new_page()
        if who:
            log_in(page, who)
        for url in urls:
            found += check_page(page, url.format(**values), who or "anonymous")
            visited += 1
        context.close()
    assert visited >= 30
    assert not found, "\n" + "\n".join(found)


# ---------------------------------------------------------------------------------------------------------------
# The keyboard alone


def tab_to(page, selector: str, limit: int = 120) -> None:  # type: ignore[no-untyped-def]
    """Press Tab until the element matching `selector` has the focus (as a keyboard user moves on)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} never took the focus after {limit} presses of Tab")


def focus_is_visible(page) -> bool:  # type: ignore[no-untyped-def]
    """The focused element shows the focus ring (static/css/platform.css: a 3 px outline)."""
    return page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
                   return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }"""
    )


def arrow_until(page, selector: str, accept: str) -> None:  # type: ignore[no-untyped-def]
    """On a focused <select>, ArrowDown until the chosen option's text contains `accept`."""
    for _ in range(60):
        text = page.evaluate(
            "s => { const e = document.querySelector(s); return e.selectedOptions[0].text; }", selector
        )
        if accept in text:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"no option of {selector} contains {accept!r}")


def test_a_keyboard_user_files_a_product(browser, live_server, demo) -> None:  # type: ignore[no-untyped-def]
    from filings.models import ProductClass

    product_class = ProductClass.objects.filter(is_active=True).order_by("code").first()
    # on a phone: the form is the one a filer meets on the road
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport=PHONE)
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        tab_to(page, "#id_username")
        assert focus_is_visible(page)
        page.keyboard.type("ent-gz@example.cn")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url("**/enterprise/")

        # the first Tab reaches "skip to the main content"; Enter moves on to the page itself
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.classList.contains('skip-link')")
        assert focus_is_visible(page)
        page.keyboard.press("Enter")
        tab_to(page, "[data-testid=product-new]")
        assert focus_is_visible(page)
        page.keyboard.press("Enter")
        page.wait_for_url("**/enterprise/products/new/")

        tab_to(page, "#id_name")
        page.keyboard.type("键盘巡检终端")
        tab_to(page, "#id_model")
        page.keyboard.type("KB-1")
        tab_to(page, "#id_product_class")
        assert focus_is_visible(page)
        arrow_until(page, "#id_product_class", product_class.name)
        tab_to(page, "#id_description")
        page.keyboard.type("只用键盘填写的备案。")
        for field, value in (("#id_sales", "800"), ("#id_exports", "100"), ("#id_output_value", "900")):
            tab_to(page, field)
            page.keyboard.type(value)
        tab_to(page, "#id_links-0-right")
        assert focus_is_visible(page)
        # the patent select spans the phone's width (it was squeezed to "请" in a scrolling box)
        box = page.locator("#id_links-0-right").bounding_box()
        assert box["width"] >= 300, box
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.keyboard.press("ArrowDown")  # the first of the unit's patents
        right = page.input_value("#id_links-0-right")
        assert right
        page.keyboard.press("Tab")  # the core-patent box
        assert page.evaluate("document.activeElement.id") == "id_links-0-is_core"
        assert focus_is_visible(page)
        page.keyboard.press("Space")
        page.keyboard.press("Tab")
        page.keyboard.type("70")
        page.keyboard.press("Tab")
        page.keyboard.type("主控算法")
        tab_to(page, "[data-testid=version-save]")
        assert focus_is_visible(page)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/enterprise/versions/\d+/$"))
        expect(page.locator("[data-testid=status-badge]")).to_have_text("草稿")

        tab_to(page, "[data-testid=submit-button]")
        assert focus_is_visible(page)
        page.keyboard.press("Enter")
        expect(page.locator("[data-testid=status-badge]")).to_have_text("已提交待审核")
    finally:
        context.close()
    version = ProductVersion.objects.get(name="键盘巡检终端")
    assert version.status == FilingStatus.SUBMITTED
    assert str(version.links.get().right_id) == right


# ---------------------------------------------------------------------------------------------------------------
# 长辈版 (elder mode)


def on_screen(locator) -> None:  # type: ignore[no-untyped-def]
    box = locator.bounding_box()
    assert box is not None, locator
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, (locator, box)


def test_on_a_phone_and_in_elder_mode_nothing_hides(browser, live_server, demo) -> None:  # type: ignore[no-untyped-def]
    values = demo_objects()
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport=DESKTOP, bypass_csp=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        # on a phone the search results and the public page show the filing number, the year and the
        # patents on the screen: each row is a block of "label: value" lines
        page.set_viewport_size(PHONE)
        page.goto("/products/?q=" + values["filing_number"])
        row = page.locator("[data-testid=public-row]")
        expect(row).to_have_count(1)
        for cell in (row.locator("td", has_text=values["filing_number"]), row.locator("td").last):
            on_screen(cell)
        assert row.locator("td").last.evaluate("td => getComputedStyle(td, '::before').content").find("数据年度") > 0
        page.goto(f"/products/{values['filing_number']}/")
        on_screen(page.locator("[data-testid=filing-number]"))
        for cell in page.locator("[data-testid=public-patents] tbody tr").first.locator("td").all():
            on_screen(cell)
        page.set_viewport_size(DESKTOP)

        page.goto("/products/")
        toggle = page.locator("[data-testid=elder-toggle]")
        expect(toggle).to_have_attribute("aria-pressed", "false")
        assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") < 18
        tab_to(page, "[data-testid=elder-toggle]")  # reachable by keyboard, switched on with Enter
        page.keyboard.press("Enter")
        page.wait_for_url("**/products/")
        expect(toggle).to_have_attribute("aria-pressed", "true")

        found: list[str] = []
        for url in ("/", "/products/{filing_number}/", "/rules/", "/accounts/login/", "/products/"):
            page.goto(url.format(**values))
            # rendered on by the server (no flash): the class is in the HTML the server sent
            assert page.evaluate("document.documentElement.classList.contains('elder')"), url
            assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 18, url
            assert toggle.bounding_box()["height"] >= 44, url
            found += axe(page, f"{url} in elder mode, desktop")
            page.set_viewport_size(PHONE)
            found += axe(page, f"{url} in elder mode, phone")
            page.set_viewport_size(DESKTOP)
        assert not found, "\n" + "\n".join(found)
        # the footer and other secondary parts are left out; the search form's button is a large target
        expect(page.locator("footer")).to_be_hidden()
        assert page.locator("[data-testid=public-search] button[type=submit]").bounding_box()["height"] >= 44

        # a later visit in the same browser: still on, until switched off
        second = context.new_page()
        second.goto("/")
        assert second.evaluate("document.documentElement.classList.contains('elder')")
        second.click("[data-testid=elder-toggle]")
        second.wait_for_url(live_server.url + "/")
        expect(second.locator("[data-testid=elder-toggle]")).to_have_attribute("aria-pressed", "false")
        assert not second.evaluate("document.documentElement.classList.contains('elder')")
    finally:
        context.close()
