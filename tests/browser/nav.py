"""Going to a page through the header's menus (patent_platform/context_processors.py NAV_GROUPS)."""


def nav_go(page, label: str) -> None:  # type: ignore[no-untyped-def]
    """Click the header entry `label`: a plain link, or an entry of a menu (opened first)."""
    link = page.locator(f".navbar a:text-is('{label}')").first
    if not link.is_visible():
        toggler = page.locator(".navbar-toggler")
        if toggler.is_visible() and page.locator("#mainnav").is_hidden():
            toggler.click()
        entry = page.locator(f"a.dropdown-item:text-is('{label}')")
        page.locator(".navbar .nav-item.dropdown", has=entry).locator("[data-bs-toggle=dropdown]").click()
    link.click()
