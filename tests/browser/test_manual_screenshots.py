"""The screenshots of the user manual, taken from the running platform on the demo data.

This test is what renews them: it loads the demo data, logs in through the login page as each demo
account the registry (patent_platform/manual.py, SCREENSHOTS) names, opens each page at the laptop
viewport (1280×800) or the phone one (390×844), checks that the page answered 200 and shows the
expected heading (a phone page must also fit the screen), and saves the PNGs into
static/manual/screens/ with a manifest.json (when, which page, which account, size, checksum). The
files are replaced only when every page passed, so a broken page fails the test and leaves the
committed set as it was. Commit the changed PNGs and manifest.json afterwards.
"""

import datetime as dt
import hashlib
import json
import shutil
from io import BytesIO
from itertools import groupby
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from PIL import Image

from evaluation.models import Candidate
from filings import drift
from filings.choices import FilingStatus, LegalStatus
from filings.identifiers import build_patent_number
from filings.models import ProductVersion
from patent_platform import manual
from patent_platform.models import User
from provincial.statements import statement_issue

# One xdist worker for this and tests/platform/test_manual.py, which reads the files written here.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("manual-screenshots"),
]

SCREENS = Path(settings.BASE_DIR) / "static" / manual.SCREENS_DIR
MAX_BYTES = 250_000


@pytest.fixture(autouse=True)
def _no_rate_limits(settings) -> None:  # type: ignore[no-untyped-def]
    # a dozen logins from one address within a minute: the login rate limit would answer 429
    settings.RATE_LIMITS_ENABLED = False


def demo_objects() -> dict[str, str]:
    """The values of the registry's placeholders, from the demo data."""

    def version(name: str, *statuses: str) -> ProductVersion:
        return ProductVersion.objects.filter(name=name, status__in=statuses).select_related("product").latest("pk")

    certified = Candidate.objects.exclude(certificate_number=None).exclude(certificate_number="").order_by("pk")
    assert certified.exists(), "the demo data has no certified product"
    filer = User.objects.get(email="ent-sz@example.cn")
    chip = version("车规级微控制器", FilingStatus.APPROVED)
    statement = statement_issue(unit=chip.product.unit, user=filer)  # what a bureau checks through the QR code
    # 杭州西溪's 高阻隔包装膜 relies on this patent: it lapses, so the reviewer's list shows a flag
    lapsed = build_patent_number(year=2019, type_digit="1", serial=1120037)
    with transaction.atomic():
        outcome = drift.legal_status_apply(
            rows=[drift.Row(number=2, patent=lapsed, status=LegalStatus.LAPSED, effective_date=timezone.localdate())],
            source=None,
            user=User.objects.get(email="reviewer@example.cn"),
        )
    assert outcome.new_flag_ids, "the lapsed patent flags no filing"
    return {
        "statement_token": statement.token,
        "filing_number": version("车规级微控制器", FilingStatus.APPROVED).product.filing_number,
        "returned_version": str(version("图像信号处理芯片", FilingStatus.RETURNED).pk),
        "submitted_version": str(version("精密摆线减速器", FilingStatus.SUBMITTED).pk),
        "certificate": certified.first().certificate_number,
    }


def log_in(page, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", manual.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def small_png(raw: bytes) -> bytes:
    """The screenshot as a palette PNG (a page is flat colour and text: 256 colours lose nothing visible)."""
    image = Image.open(BytesIO(raw)).convert("RGB")
    quantized = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = BytesIO()
    quantized.save(out, format="PNG", optimize=True)
    return out.getvalue()


def test_renew_the_manual_screenshots(browser, live_server, demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    values = demo_objects()
    taken: dict[str, dict[str, object]] = {}
    for account, shots in groupby(manual.SCREENSHOTS, key=lambda s: s.account):
        width, height = manual.LAPTOP
        context = browser.new_context(
            base_url=live_server.url, locale="zh-CN", viewport={"width": width, "height": height}
        )
        context.set_default_timeout(20_000)
        page = context.new_page()
        if account:
            log_in(page, account)
        for shot in shots:
            width, height = shot.viewport
            page.set_viewport_size({"width": width, "height": height})
            url = shot.path.format(**values)
            response = page.goto(url)
            status = response.status if response else None
            assert status == 200, f"{shot.name}: {url} as {account or 'anonymous'} answered {status}"
            page.wait_for_load_state("networkidle")
            heading = page.locator("h1").first.inner_text()
            assert shot.heading in heading, f"{shot.name}: {url} shows the heading {heading!r}, not {shot.heading!r}"
            if shot.phone:
                scroll = page.evaluate("document.documentElement.scrollWidth")
                assert scroll <= width, f"{shot.name}: {url} is {scroll}px wide on a {width}px phone"
            png = small_png(page.screenshot(animations="disabled", caret="hide"))
            assert len(png) <= MAX_BYTES, f"{shot.name}: {len(png)} bytes"
            (tmp_path / f"{shot.name}.png").write_bytes(png)
            taken[shot.name] = {
                "path": shot.path,
                "url": url,
                "account": shot.account,
                "viewport": [width, height],
                "heading": heading.strip(),
                "bytes": len(png),
                "sha256": hashlib.sha256(png).hexdigest(),
            }
        context.close()

    assert list(taken) == [s.name for s in manual.SCREENSHOTS]
    # every page passed: replace the committed set and its manifest
    SCREENS.mkdir(parents=True, exist_ok=True)
    for old in SCREENS.glob("*.png"):
        if old.stem not in taken:
            old.unlink()
    for name in taken:
        shutil.copyfile(tmp_path / f"{name}.png", SCREENS / f"{name}.png")
    result = {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "generator": "tests/browser/test_manual_screenshots.py",
        "screens": taken,
    }
    (SCREENS / "manifest.json").write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
