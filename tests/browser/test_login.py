"""As a person would: each demo role logs in and lands on its home page; five wrong passwords lock."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOMES = [
    ("national@example.cn", "/national/", "全国概览"),
    ("reviewer@example.cn", "/review/", "审核工作台"),
    ("guangdong@example.cn", "/port/", "广东省"),
    ("zhejiang@example.cn", "/port/", "浙江省"),
    ("shenzhen@example.cn", "/port/", "深圳市"),
    ("ent-gz@example.cn", "/enterprise/", "广州云帆智能装备有限公司"),
    ("ent-sz@example.cn", "/enterprise/", "深圳鹏芯微电子有限公司"),
    ("ent-hz@example.cn", "/enterprise/", "杭州西溪新材料科技有限公司"),
]


def log_in(page, email: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def test_every_demo_role_logs_in_and_lands_on_its_home(page, demo) -> None:  # type: ignore[no-untyped-def]
    for email, path, text in HOMES:
        log_in(page, email, "Demo-2026!")
        page.wait_for_url(f"**{path}")
        assert text in page.text_content("main")
        page.click("[data-testid=user-menu]")
        page.click("text=退出登录")
        page.wait_for_url("**/accounts/login/")


def test_five_wrong_passwords_lock_the_account(page, demo) -> None:  # type: ignore[no-untyped-def]
    for attempt in range(1, 5):
        log_in(page, "ent-gz@example.cn", f"wrong-{attempt}")
        assert "电子邮箱或密码不正确" in page.text_content("[data-testid=login-error]")
    log_in(page, "ent-gz@example.cn", "wrong-5")
    assert "账号已被锁定 30 分钟" in page.text_content("[data-testid=lockout]")
    log_in(page, "ent-gz@example.cn", "Demo-2026!")
    assert "账号已被锁定" in page.text_content("[data-testid=lockout]")
    assert "/accounts/login/" in page.url


def test_the_layout_works_on_a_phone(page, demo) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, "guangdong@example.cn", "Demo-2026!")
    page.wait_for_url("**/port/")
    # the navigation collapses behind the toggler and opens on tap
    assert not page.is_visible("[data-testid=user-menu]")
    page.click(".navbar-toggler")
    page.wait_for_selector("[data-testid=user-menu]", state="visible")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
