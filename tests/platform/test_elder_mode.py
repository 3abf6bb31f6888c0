"""The 长辈版 (elder mode) switch: a cookie the server reads when it renders, for anyone, never a way out
of the site (patent_platform/views/elder.py; the browser side: tests/browser/test_accessibility.py)."""

import pytest

pytestmark = [pytest.mark.django_db]


def test_the_switch_sets_the_cookie_and_the_page_renders_in_elder_mode(client) -> None:  # type: ignore[no-untyped-def]
    assert b'class="elder"' not in client.get("/products/").content
    response = client.post("/accessibility/elder/", {"on": "1", "next": "/products/?q=芯片"})
    assert response.status_code == 302
    assert response["Location"] == "/products/?q=%E8%8A%AF%E7%89%87"  # 芯片
    cookie = response.cookies["elder"]
    assert cookie.value == "1"
    assert int(cookie["max-age"]) >= 365 * 24 * 3600
    assert cookie["httponly"]
    page = client.get("/products/").content.decode()
    assert '<html lang="zh-hans" class="elder">' in page
    assert 'data-testid="elder-toggle"\n          aria-pressed="true"' in page

    response = client.post("/accessibility/elder/", {"on": "0", "next": "/products/"})
    assert response.cookies["elder"].value == ""
    assert 'class="elder"' not in client.get("/products/").content.decode()


@pytest.mark.parametrize("target", ["https://evil.example.com/", "//evil.example.com/x", ""])
def test_the_switch_never_leaves_the_site(client, target: str) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/accessibility/elder/", {"on": "1", "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_the_switch_only_answers_a_post(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/accessibility/elder/").status_code == 405
