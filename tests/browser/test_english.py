"""The English walk (issue 22 part 4): the language selector switches to English, and the main pages of each
role then show no Chinese character outside what is exempt.

Exempt, and only that (docs/I18N.md):
- text inside an element marked `translate="no"`: data a user typed (names of units, products, people,
  rounds, rosters, reports and patents, free texts, audit records) — shown as typed;
- text inside an element marked `lang="zh-CN"` (`[lang|=zh]`): official text published only in Chinese
  (the rules and the manual, under an English notice saying so), Chinese words a user must type into an
  import file, and the selector's own "中文";
- the document's <title> (it cannot hold markup; it repeats the page heading's data).

A Chinese character is one of the Han script (CJK Unified Ideographs and their extension A, compatibility
ideographs); full-width punctuation is not counted.
"""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Demo-2026!"

# (account or None for a visitor, paths): ≥ 15 pages over every role that has pages of its own
WALK = [
    (None, ["/", "/products/", "/certified/", "/open-data/", "/rules/", "/manual/", "/enterprise/register/"]),
    (
        "ent-gz@example.cn",
        [
            "/enterprise/",
            "/enterprise/patents/",
            "/enterprise/products/new/",
            "/certification/mine/",
        ],
    ),
    ("reviewer@example.cn", ["/review/", "/review/patent-status/", "/checks/report/"]),
    ("guangdong@example.cn", ["/port/", "/port/products/", "/port/units/", "/rosters/missing/", "/port/reports/"]),
    ("national@example.cn", ["/national/", "/certification/", "/rosters/coverage/", "/ports/apply/"]),
    ("expert1@example.cn", ["/certification/expert/"]),
    ("audit@example.cn", ["/audit/"]),
]

FIND_CHINESE = """() => {
  const HAN = /[\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff]/;
  const EXEMPT = '[lang|="zh"], [translate="no"], script, style, template, noscript';
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (HAN.test(node.nodeValue) && !node.parentElement.closest(EXEMPT)) {
      found.push(node.parentElement.tagName.toLowerCase() + ': ' + node.nodeValue.trim().slice(0, 120));
    }
  }
  for (const el of document.body.querySelectorAll('[title], [placeholder], [aria-label], [alt]')) {
    if (el.closest(EXEMPT)) continue;
    for (const name of ['title', 'placeholder', 'aria-label', 'alt']) {
      const value = el.getAttribute(name);
      if (value && HAN.test(value)) found.push(el.tagName.toLowerCase() + '[' + name + ']: ' + value.slice(0, 120));
    }
  }
  return found;
}"""


def log_in(page, email: str) -> None:  # type: ignore[no-untyped-def]
    """Log in as another account, keeping the language the visitor chose (its cookie)."""
    from django.conf import settings

    kept = [c for c in page.context.cookies() if c["name"] == settings.LANGUAGE_COOKIE_NAME]
    page.context.clear_cookies()
    page.context.add_cookies(kept)
    page.goto("/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def choose_english(page) -> None:  # type: ignore[no-untyped-def]
    """As a visitor would: the selector in the header (each language named in its own script)."""
    page.goto("/")
    options = page.locator("select[name=language] option")
    named = [(o.text_content(), o.get_attribute("lang")) for o in options.all()]
    assert named == [("中文", "zh-CN"), ("English", "en")]
    page.select_option("select[name=language]", "en")
    page.wait_for_selector("html[lang=en]")
    options = page.locator("select[name=language] option")
    assert [o.text_content() for o in options.all()] == ["中文", "English"]


def test_english_pages_show_no_chinese_outside_user_data_and_official_text(page, demo) -> None:  # type: ignore[no-untyped-def]
    choose_english(page)
    offending: dict[str, list[str]] = {}
    walked = 0
    for account, paths in WALK:
        if account:
            log_in(page, account)
        for path in paths:
            response = page.goto(path)
            assert response is not None and response.status == 200, f"{account or 'visitor'} {path}: {response}"
            assert page.get_attribute("html", "lang") == "en", path
            walked += 1
            found = page.evaluate(FIND_CHINESE)
            if found:
                offending[f"{account or 'visitor'} {path}"] = found
    assert walked >= 15
    report = "\n".join(f"{where}:\n  " + "\n  ".join(texts) for where, texts in offending.items())
    assert not offending, f"Chinese text outside user data and official text:\n{report}"


def test_the_rules_say_plainly_that_the_official_text_is_chinese(page, demo) -> None:  # type: ignore[no-untyped-def]
    choose_english(page)
    page.goto("/rules/")
    assert "official text" in page.text_content("[data-testid=chinese-only]")
    assert page.get_attribute("[data-testid=page-title]", "lang") == "zh-CN"
