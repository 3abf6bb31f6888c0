"""The rules and the user manual: the registry, the committed screenshots, the pages and the PDFs.

The screenshots themselves are renewed by tests/browser/test_manual_screenshots.py; this test checks
that what is committed is what the registry names and what that test wrote (the manifest's checksums),
and that every page and PDF shows it."""

import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import resolve, reverse
from django.utils import timezone
from PIL import Image

from patent_platform import manual

# One xdist worker for this and tests/browser/test_manual_screenshots.py, which rewrites the files read here.
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("manual-screenshots")]

SCREENS = Path(settings.BASE_DIR) / "static" / manual.SCREENS_DIR
DOCS = [manual.RULES, *manual.MANUALS]
ROLE_SLUGS = {"enterprise", "reviewer", "port", "national", "expert", "admins", "public"}


def pdf_tool(tool: str, pdf: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    command = [shutil.which(tool) or tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])]
    return subprocess.run(command, check=True, capture_output=True, timeout=120).stdout.decode()


def image_rows(listing: str) -> int:
    # pdfimages -list: two header lines, then one row per image
    return len([line for line in listing.splitlines()[2:] if line.strip()])


# ---------------------------------------------------------------------------------------------------------------
# The registry


def test_every_role_has_a_manual_with_sections_and_screenshots() -> None:
    assert {m.slug for m in manual.MANUALS} == ROLE_SLUGS
    for doc in DOCS:
        assert doc.title and doc.summary and doc.audience
        assert len(doc.sections) >= 2, doc.slug
        assert all(s.title and (s.text or s.steps or s.screenshot) for s in doc.sections), doc.slug
        assert doc.screenshots, f"{doc.slug} shows no screenshot"
    # the phone layout is shown somewhere
    assert any(s.phone for s in manual.SCREENSHOTS)


def test_every_screenshot_is_used_and_every_name_is_known() -> None:
    names = [s.name for s in manual.SCREENSHOTS]
    assert len(names) == len(set(names))
    used = {s.name for s in manual.used_screenshots()}
    assert used == set(names), f"listed but shown nowhere: {set(names) - used}"
    for doc in DOCS:
        for section in doc.sections:
            if section.screenshot:
                assert section.screenshot in manual.SCREENSHOT, section.screenshot


def test_every_screenshot_path_is_a_route_of_the_platform() -> None:
    for shot in manual.SCREENSHOTS:
        resolve(re.sub(r"\{\w+\}", "1", shot.path))  # Resolver404 if a page moved
        assert shot.account is None or shot.account.endswith("@example.cn")
        assert shot.heading, shot.name


def test_the_registry_imports_no_app() -> None:
    source = Path(manual.__file__).read_text(encoding="utf-8")
    assert not re.search(r"^\s*(from|import) (filings|evaluation|provincial)\b", source, re.M)


# ---------------------------------------------------------------------------------------------------------------
# The committed screenshots and the manifest the browser test wrote


def test_every_screenshot_exists_small_and_of_its_viewport() -> None:
    for shot in manual.SCREENSHOTS:
        path = SCREENS / f"{shot.name}.png"
        assert path.is_file(), f"{path} missing: run tests/browser/test_manual_screenshots.py"
        raw = path.read_bytes()
        assert len(raw) <= 250_000, f"{path.name}: {len(raw)} bytes"
        with Image.open(BytesIO(raw)) as image:
            assert image.format == "PNG"
            assert image.size == shot.viewport, f"{path.name}: {image.size}"
    stray = {p.stem for p in SCREENS.glob("*.png")} - set(manual.SCREENSHOT)
    assert not stray, f"screenshots the registry does not name: {stray}"


def test_the_manifest_matches_the_registry_and_the_files() -> None:
    data = json.loads((SCREENS / "manifest.json").read_text(encoding="utf-8"))
    assert data["generator"] == "tests/browser/test_manual_screenshots.py"
    assert data["generated_at"]
    screens = data["screens"]
    assert list(screens) == [s.name for s in manual.SCREENSHOTS]
    for shot in manual.SCREENSHOTS:
        entry = screens[shot.name]
        assert entry["path"] == shot.path, shot.name
        assert entry["account"] == shot.account, shot.name
        assert tuple(entry["viewport"]) == shot.viewport, shot.name
        assert shot.heading in entry["heading"], shot.name
        raw = (SCREENS / f"{shot.name}.png").read_bytes()
        assert hashlib.sha256(raw).hexdigest() == entry["sha256"], f"{shot.name}.png is not the one the test took"


# ---------------------------------------------------------------------------------------------------------------
# Pages


def test_the_pages_answer_anonymous_visitors(client) -> None:  # type: ignore[no-untyped-def]
    index = client.get("/manual/")
    assert index.status_code == 200
    text = index.content.decode()
    for doc in manual.MANUALS:
        assert doc.title in text
        assert f'href="/manual/{doc.slug}/"' in text and f'href="/manual/{doc.slug}.pdf"' in text
    assert 'href="/rules/"' in text and 'href="/manual/all.pdf"' in text
    # the page shows the time in Asia/Shanghai; the manifest holds an ISO instant (UTC after 16:00 is the next day)
    generated = timezone.localtime(dt.datetime.fromisoformat(manual.manifest()["generated_at"]))
    assert f"截图生成于 {generated:%Y-%m-%d}" in text

    for doc in DOCS:
        url = "/rules/" if doc is manual.RULES else f"/manual/{doc.slug}/"
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert doc.title in body
        for section in doc.sections:
            assert section.title in body, (url, section.title)
        for shot in doc.screenshots:
            assert f"/static/{shot.static_path}" in body, (url, shot.name)
            assert shot.display_path in body
        assert "截图生成于" in body


def test_unknown_documents_are_404_and_pages_do_not_take_posts(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/manual/nobody/").status_code == 404
    assert client.get("/manual/nobody.pdf").status_code == 404
    assert client.post("/manual/enterprise/").status_code == 405
    assert client.post("/manual/enterprise.pdf").status_code == 405


def test_home_page_and_footer_link_the_rules_and_the_manual(client, make_user) -> None:  # type: ignore[no-untyped-def]
    home = client.get("/").content.decode()
    assert 'data-testid="home-rules"' in home and 'data-testid="home-manual"' in home
    client.force_login(make_user("filer-manual@example.cn"))
    page = client.get("/manual/enterprise/")
    assert page.status_code == 200
    body = page.content.decode()
    assert f'href="{reverse("manual:rules")}" data-testid="footer-rules"' in body
    assert f'href="{reverse("manual:index")}" data-testid="footer-manual"' in body


def test_english_visitors_are_told_the_manual_is_in_chinese(client) -> None:  # type: ignore[no-untyped-def]
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get("/manual/port/").content.decode()
    assert manual.PORT.title in body
    assert 'lang="en"' in body and 'data-testid="chinese-only"' in body
    assert 'data-testid="chinese-only"' not in Client().get("/manual/port/").content.decode()


# ---------------------------------------------------------------------------------------------------------------
# PDFs


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.slug)
def test_each_pdf_has_its_title_contents_and_screenshots(client, doc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = "/rules.pdf" if doc is manual.RULES else f"/manual/{doc.slug}.pdf"
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = response.content
    text = pdf_tool("pdftotext", pdf, tmp_path)
    flat = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", doc.title) in flat
    assert "目录" in text
    for section in doc.sections:
        assert re.sub(r"\s+", "", section.title) in flat, section.title
    assert image_rows(pdf_tool("pdfimages", pdf, tmp_path, "-list")) == len(doc.screenshots)


def test_the_whole_manual_in_one_pdf(client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/manual/all.pdf")
    assert response.status_code == 200
    text = pdf_tool("pdftotext", response.content, tmp_path)
    flat = re.sub(r"\s+", "", text)
    for doc in DOCS:
        assert re.sub(r"\s+", "", doc.title) in flat, doc.slug
    # the table of contents gives page numbers: "企业用户操作手册 …… 12"
    assert re.search(r"企业用户操作手册\s*\.{5,}\s*\d+", text)
    figures = sum(len(doc.screenshots) for doc in DOCS)
    assert image_rows(pdf_tool("pdfimages", response.content, tmp_path, "-list")) == figures
