"""A header that fits (issue 20): the navigation grouped into a few menus per role
(patent_platform/context_processors.py NAV_GROUPS), on one row at 1,366 px in Chinese and in English, usable
from the keyboard, collapsed on a phone; the language selector readable in both languages.

For every role's demo account (and an anonymous visitor), at 1366×768, in Chinese and in English:
- every item of the bar (brand, 长辈版, each menu or link, the language selector, the account menu) lies on one
  row (their boxes share a horizontal line) and the bar is no taller than a row, nothing overflows it;
- the language selector's chosen name is wider than nothing and fits inside the select (its text measured in
  the select's own font against the room left by its padding and arrow);
- every menu opens from the keyboard: Tab reaches its button, Enter opens it, ArrowDown moves into its
  entries, Escape closes it and gives the focus back.
At 390×844 the bar collapses; the toggler opens it from the keyboard and every menu's entries are reachable
inside the screen. The national header at 1,366 px is compared with the reference picture
tests/browser/screens/header-national-1366.png (same size; at most 3 % of the pixels differ by more than a
little — a font hinting difference passes, a second row or a squeezed selector does not). With
UPDATE_SCREENS=1 the test writes a new reference instead (commit it).
"""

import os
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from tests.browser.test_accessibility import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("header"),
]

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
SCREENS = Path(__file__).resolve().parent / "screens"
REFERENCE = SCREENS / "header-national-1366.png"
ACCOUNTS = [
    "national@example.cn",
    "reviewer@example.cn",
    "guangdong@example.cn",
    "shenzhen@example.cn",
    "ent-sz@example.cn",
    "expert1@example.cn",
    "sysadmin@example.cn",
    "secadmin@example.cn",
    "audit@example.cn",
    None,
]

BAR_ITEMS = """() => {
    const bar = document.querySelector('nav.navbar');
    const items = [...bar.querySelectorAll(
        '.navbar-brand, .elder-toggle, #mainnav > .navbar-nav > .nav-item, .language-form, '
        + '#mainnav > .dropdown, #mainnav > a.btn')]
        .filter(e => e.offsetParent !== null)
        .map(e => { const r = e.getBoundingClientRect();
                    return {what: (e.dataset.group || e.className).slice(0, 40),
                            top: r.top, bottom: r.bottom, right: r.right}; });
    const r = bar.getBoundingClientRect();
    return {items, height: r.height, scrollWidth: bar.scrollWidth, width: window.innerWidth};
}"""

LANGUAGE_FITS = """() => {
    const select = document.querySelector('[data-testid=language-select]');
    const s = getComputedStyle(select);
    const text = select.selectedOptions[0].text;
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = `${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
    const room = select.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    return {text, width: ctx.measureText(text).width, room,
            scroll: select.scrollWidth, client: select.clientWidth};
}"""


@pytest.fixture(autouse=True)
def _no_rate_limits(settings) -> None:  # type: ignore[no-untyped-def]
    settings.RATE_LIMITS_ENABLED = False


def log_in(page, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def switch_language(page, code: str) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        page.select_option("[data-testid=language-select]", code)
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.lang") == ("en" if code == "en" else "zh-hans")


def one_row(page, who: str) -> list[str]:  # type: ignore[no-untyped-def]
    found = []
    bar = page.evaluate(BAR_ITEMS)
    items = bar["items"]
    assert len(items) >= 3, (who, items)
    line_top = max(i["top"] for i in items)
    line_bottom = min(i["bottom"] for i in items)
    if line_top >= line_bottom:
        found.append(f"{who}: the bar's items are not on one row: {items}")
    if bar["height"] > 72:
        found.append(f"{who}: the bar is {bar['height']:.0f}px tall (one row is at most 72px)")
    if bar["scrollWidth"] > bar["width"] or max(i["right"] for i in items) > bar["width"]:
        found.append(f"{who}: the bar overflows the window: {bar}")
    fit = page.evaluate(LANGUAGE_FITS)
    if not (fit["width"] > 0 and fit["width"] <= fit["room"] and fit["scroll"] <= fit["client"]):
        found.append(f"{who}: the language selector does not show {fit['text']!r} in full: {fit}")
    return found


def tab_to(page, selector: str, limit: int = 60) -> None:  # type: ignore[no-untyped-def]
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} never took the focus after {limit} presses of Tab")


def menus_open_with_the_keyboard(page, who: str) -> int:  # type: ignore[no-untyped-def]
    toggles = page.eval_on_selector_all("[data-testid=nav-menu]", "els => els.map(e => e.id)")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Escape")
    for toggle in toggles:
        page.focus("body")
        tab_to(page, f"#{toggle}")
        page.keyboard.press("Enter")
        menu = page.locator(f"#{toggle} + .dropdown-menu")
        menu.wait_for(state="visible")
        assert page.get_attribute(f"#{toggle}", "aria-expanded") == "true", (who, toggle)
        page.keyboard.press("ArrowDown")
        assert page.evaluate(
            "t => document.activeElement.classList.contains('dropdown-item') && "
            "document.activeElement.closest('.dropdown-menu') === document.getElementById(t).nextElementSibling",
            toggle,
        ), (who, toggle, "ArrowDown did not move into the menu")
        page.keyboard.press("Escape")
        menu.wait_for(state="hidden")
        assert page.evaluate("t => document.activeElement.id === t", toggle), (who, toggle, "focus not given back")
    return len(toggles)


def phone_menu_is_reachable(page, who: str) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size(PHONE)
    page.reload()
    assert page.locator("#mainnav").is_hidden(), who
    page.focus(".navbar-toggler")
    page.keyboard.press("Enter")
    page.locator("#mainnav.show").wait_for(state="visible")
    for toggle in page.eval_on_selector_all("[data-testid=nav-menu]", "els => els.map(e => e.id)"):
        page.click(f"#{toggle}")
        menu = page.locator(f"#{toggle} + .dropdown-menu")
        menu.wait_for(state="visible")
        for box in [link.bounding_box() for link in menu.locator("a.dropdown-item").all()]:
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, (who, toggle, box)
        page.click(f"#{toggle}")
        menu.wait_for(state="hidden")
    for link in page.locator("#mainnav > .navbar-nav > .nav-item > a.nav-link").all():
        assert link.is_visible(), who
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], who
    page.set_viewport_size(DESKTOP)


def compare_with_reference(picture: bytes) -> None:
    shot = Image.open(BytesIO(picture)).convert("RGB")
    if os.environ.get("UPDATE_SCREENS") == "1" or not REFERENCE.exists():
        SCREENS.mkdir(exist_ok=True)
        REFERENCE.write_bytes(picture)
        assert os.environ.get("UPDATE_SCREENS") == "1", f"no reference yet: written {REFERENCE}; commit it"
        return
    reference = Image.open(REFERENCE).convert("RGB")
    assert abs(shot.height - reference.height) <= 2 and shot.width == reference.width, (shot.size, reference.size)
    if shot.size != reference.size:
        shot = shot.crop((0, 0, *reference.size)) if shot.height > reference.height else shot
        reference = reference.crop((0, 0, *shot.size))
    diff = ImageChops.difference(shot, reference).convert("L").point(lambda v: 255 if v > 48 else 0)
    changed = sum(1 for v in diff.getdata() if v) / (diff.width * diff.height)
    assert changed <= 0.03, f"{changed:.1%} of the header's pixels differ from {REFERENCE.name}"


def test_every_roles_header_fits_one_row_and_opens_from_the_keyboard(browser, live_server, demo) -> None:  # type: ignore[no-untyped-def]
    found: list[str] = []
    menus = 0
    for email in ACCOUNTS:
        context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport=DESKTOP)
        context.set_default_timeout(15_000)
        page = context.new_page()
        try:
            if email:
                log_in(page, email)
            page.goto("/products/")  # the platform's layout (the system administrator's home is the admin site)
            who = email or "anonymous"
            for code in ("zh-hans", "en"):
                if code == "en":
                    switch_language(page, "en")
                found += one_row(page, f"{who} ({code})")
                if email == "national@example.cn" and code == "zh-hans":
                    compare_with_reference(page.locator("nav.navbar").screenshot(animations="disabled"))
                menus += menus_open_with_the_keyboard(page, f"{who} ({code})")
            phone_menu_is_reachable(page, who)
        finally:
            context.close()
    assert menus >= 2 * 8, menus  # the roles with menus, in two languages
    assert not found, "\n" + "\n".join(found)
