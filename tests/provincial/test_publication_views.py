"""The publication pages: the port's list and downloads per role, the national status page with its
rebuild and year-end forms, and the progress partial that polls while a build runs.

Publications are rows with small files written here (the files' content is not what these tests check:
that is the builders' job); the rebuild and year-end forms go through the real services.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from patent_platform.choices import AuditAction
from patent_platform.clock import last_year, previous_month
from patent_platform.models import AuditEvent, User
from provincial.choices import PublicationKind, PublicationStatus
from provincial.models import NATIONAL_SCOPE, ManagementUnit, Publication
from provincial.publications import services

pytestmark = pytest.mark.django_db

MONTH = previous_month()
YEAR = dt.date(last_year(), 1, 1)
GD, SZ, ZJ = "440000", "440300", "330000"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def make_publication(
    code: str,
    kind: str = PublicationKind.MONTHLY,
    period: dt.date = MONTH,
    status: str = PublicationStatus.READY,
    **extra: Any,
) -> Publication:
    """A publication row; a ready one with two small files under MEDIA_ROOT (paths relative to it)."""

    unit = None if code == NATIONAL_SCOPE else ManagementUnit.objects.get(code=code)
    publication = Publication(unit=unit, kind=kind, period=period, status=status, **extra)
    if status == PublicationStatus.READY:
        for ext in ("xlsx", "pdf"):
            relative = f"publications/{kind}/{period:%Y-%m}/{code}.{ext}"
            content = f"{ext} of {code} {kind} {period}".encode()
            setattr(publication, f"{ext}_file", default_storage.save(relative, ContentFile(content)))
            setattr(publication, f"{ext}_sha256", hashlib.sha256(content).hexdigest())
            setattr(publication, f"{ext}_size", len(content))
        publication.built_at = publication.built_at or dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.UTC)
        publication.progress = 100
    publication.save()
    return publication


@pytest.fixture
def pubs(demo_users: dict[str, User]) -> dict[str, Publication]:
    return {
        GD: make_publication(GD),
        SZ: make_publication(SZ),
        ZJ: make_publication(ZJ),
        NATIONAL_SCOPE: make_publication(NATIONAL_SCOPE),
        "sz-yearend": make_publication(SZ, kind=PublicationKind.YEAREND, period=YEAR),
    }


def client_for(users: dict[str, User], role: str) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(users[role])
    return client


def shown(answer: Any) -> set[tuple[str, str]]:
    """(scope key, kind) of every publication row listed on the port page."""
    return {(p.scope_key, p.kind) for p in answer.context["monthly"] + answer.context["yearend"]}


# ---------------------------------------------------------------------------------------------------------------
# The port page


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("guangdong", {(GD, "monthly"), (SZ, "monthly"), (SZ, "yearend")}),
        ("shenzhen", {(SZ, "monthly"), (SZ, "yearend")}),
        ("zhejiang", {(ZJ, "monthly")}),
    ],
)
def test_a_port_lists_the_publications_of_its_scope(
    demo_users: dict[str, User], pubs: dict[str, Publication], role: str, expected: set[tuple[str, str]]
) -> None:
    answer = client_for(demo_users, role).get(reverse("port:publications"))
    assert answer.status_code == 200
    assert shown(answer) == expected
    html = answer.content.decode()
    for code, pub in pubs.items():
        link = reverse("port:publication_download", args=[pub.pk, "xlsx"])
        assert (link in html) == ((pub.scope_key, pub.kind) in expected), code
    # monthly and year-end are two sections
    assert 'data-testid="monthly-table"' in html
    assert ('data-testid="yearend-table"' in html) == (role != "zhejiang")


def test_the_province_narrows_to_a_city_port_but_not_outside(
    demo_users: dict[str, User], pubs: dict[str, Publication]
) -> None:
    guangdong = client_for(demo_users, "guangdong")
    answer = guangdong.get(reverse("port:publications"), {"port": SZ})
    assert answer.status_code == 200
    assert shown(answer) == {(SZ, "monthly"), (SZ, "yearend")}
    choices = dict(answer.context["port_choices"])
    assert {GD, SZ} <= set(choices) and ZJ not in choices and NATIONAL_SCOPE not in choices
    assert guangdong.get(reverse("port:publications"), {"port": ZJ}).status_code == 404
    assert guangdong.get(reverse("port:publications"), {"port": NATIONAL_SCOPE}).status_code == 404
    shenzhen = client_for(demo_users, "shenzhen")
    assert shenzhen.get(reverse("port:publications"), {"port": GD}).status_code == 404
    assert not shenzhen.get(reverse("port:publications")).context["show_filter"]  # only its own port


@pytest.mark.parametrize("role", ["ent-gz", "reviewer", "expert1"])
def test_other_roles_do_not_find_the_pages(
    demo_users: dict[str, User], pubs: dict[str, Publication], role: str
) -> None:
    client = client_for(demo_users, role)
    for name in ("port:publications", "port:publications_export", "national:publications"):
        assert client.get(reverse(name)).status_code == 404, name
    for pub in pubs.values():
        assert client.get(reverse("port:publication_download", args=[pub.pk, "pdf"])).status_code == 404


def test_anonymous_visitors_are_sent_to_the_login_page(pubs: dict[str, Publication]) -> None:
    client = Client()
    urls = [
        reverse("port:publications"),
        reverse("national:publications"),
        reverse("national:publications_progress"),
        reverse("port:publication_download", args=[pubs[SZ].pk, "xlsx"]),
    ]
    for url in urls:
        answer = client.get(url)
        assert answer.status_code == 302 and answer["Location"].startswith(reverse("login")), url
    assert not AuditEvent.objects.filter(action=AuditAction.DOWNLOAD).exists()


def test_the_national_office_reads_a_port_history_on_the_port_page(
    demo_users: dict[str, User], pubs: dict[str, Publication]
) -> None:
    national = client_for(demo_users, "national")
    answer = national.get(reverse("port:publications"))
    assert answer.status_code == 302 and answer["Location"] == reverse("national:publications")
    assert shown(national.get(reverse("port:publications"), {"port": ZJ})) == {(ZJ, "monthly")}
    assert shown(national.get(reverse("port:publications"), {"port": NATIONAL_SCOPE})) == {(NATIONAL_SCOPE, "monthly")}


def test_an_empty_port_says_when_its_data_comes(demo_users: dict[str, User]) -> None:
    answer = client_for(demo_users, "shenzhen").get(reverse("port:publications"))
    assert answer.status_code == 200
    html = answer.content.decode()
    assert 'data-testid="monthly-empty"' in html and "每月 1 日生成上月数据" in html
    assert 'data-testid="yearend-empty"' in html


def test_a_building_publication_shows_its_progress_without_downloads(demo_users: dict[str, User]) -> None:
    pub = make_publication(SZ, status=PublicationStatus.BUILDING, progress=40)
    html = client_for(demo_users, "shenzhen").get(reverse("port:publications")).content.decode()
    assert 'data-status="building"' in html and "40%" in html
    assert reverse("port:publication_download", args=[pub.pk, "xlsx"]) not in html


def test_the_list_exports_to_excel_within_the_scope(demo_users: dict[str, User], pubs: dict[str, Publication]) -> None:
    answer = client_for(demo_users, "guangdong").get(reverse("port:publications_export"))
    assert answer.status_code == 200
    rows = list(load_workbook(BytesIO(answer.content), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("管理端口", "端口代码", "类型")
    assert sorted((r[1], r[2]) for r in rows[1:]) == [(GD, "月度备案数据"), (SZ, "年度成效评价"), (SZ, "月度备案数据")]
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, object_type="provincial.Publication").count() == 1


# ---------------------------------------------------------------------------------------------------------------
# Downloads

WHO_SEES = {
    "national": {GD, SZ, ZJ, NATIONAL_SCOPE},
    "guangdong": {GD, SZ},
    "shenzhen": {SZ},
    "zhejiang": {ZJ},
}


@pytest.mark.parametrize("role", list(WHO_SEES))
def test_downloads_are_the_files_for_those_who_see_the_row(
    demo_users: dict[str, User], pubs: dict[str, Publication], role: str
) -> None:

    client = client_for(demo_users, role)
    user = demo_users[role]
    for code in (GD, SZ, ZJ, NATIONAL_SCOPE):
        pub = pubs[code]
        for ext in ("xlsx", "pdf"):
            answer = client.get(reverse("port:publication_download", args=[pub.pk, ext]))
            if code not in WHO_SEES[role]:
                assert answer.status_code == 404, (code, ext)
                continue
            assert answer.status_code == 200, (code, ext)
            body = b"".join(answer.streaming_content)
            with default_storage.open(getattr(pub, f"{ext}_file")) as fh:
                assert body == fh.read()
            assert "no-store" in answer["Cache-Control"]  # (the middleware makes every signed-in answer no-store)
            assert answer["Content-Type"].startswith("application/pdf" if ext == "pdf" else "application/vnd.openxml")
            who = "全国" if code == NATIONAL_SCOPE else pub.unit.name
            chinese = f"{who}-{MONTH.year}年{MONTH.month:02d}月-月度备案数据.{ext}"
            assert f"filename*=UTF-8''{quote(chinese)}" in answer["Content-Disposition"]
            assert answer["Content-Disposition"].startswith("attachment;")
            event = AuditEvent.objects.filter(action=AuditAction.DOWNLOAD, object_id=str(pub.pk)).latest("pk")
            assert event.actor_id == user.pk and event.object_type == "provincial.Publication"
            assert event.changes["file"] == ext and event.changes["sha256"] == getattr(pub, f"{ext}_sha256")
    refused = AuditEvent.objects.filter(action=AuditAction.DOWNLOAD).count()
    assert refused == 2 * len(WHO_SEES[role])  # one audit row per download, none for a refused one


def test_nothing_to_download_answers_404(demo_users: dict[str, User], pubs: dict[str, Publication]) -> None:

    national = client_for(demo_users, "national")
    pending = make_publication(SZ, period=dt.date(2024, 1, 1), status=PublicationStatus.PENDING)
    assert national.get(reverse("port:publication_download", args=[pending.pk, "xlsx"])).status_code == 404
    assert national.get(reverse("port:publication_download", args=[pubs[SZ].pk, "docx"])).status_code == 404
    missing = pubs[GD].pk + pubs[ZJ].pk + 1000
    assert national.get(reverse("port:publication_download", args=[missing, "pdf"])).status_code == 404
    default_storage.delete(pubs[GD].pdf_file)  # gone from the storage
    assert national.get(reverse("port:publication_download", args=[pubs[GD].pk, "pdf"])).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.DOWNLOAD).exists()


def test_while_rebuilt_the_previous_files_stay_downloadable(
    demo_users: dict[str, User], pubs: dict[str, Publication]
) -> None:
    services.publication_rebuild_request(user=demo_users["national"], kind="monthly", period=MONTH, unit=pubs[SZ].unit)
    shenzhen = client_for(demo_users, "shenzhen")
    html = shenzhen.get(reverse("port:publications")).content.decode()
    assert 'data-status="pending"' in html and "上一版，新版生成后替换" in html
    answer = shenzhen.get(reverse("port:publication_download", args=[pubs[SZ].pk, "xlsx"]))
    assert answer.status_code == 200
    assert b"".join(answer.streaming_content) == f"xlsx of {SZ} monthly {MONTH}".encode()
    assert quote("第2版") in answer["Content-Disposition"]  # revision 1: the second version


def test_a_yearend_download_is_named_for_its_year(demo_users: dict[str, User], pubs: dict[str, Publication]) -> None:
    answer = client_for(demo_users, "shenzhen").get(
        reverse("port:publication_download", args=[pubs["sz-yearend"].pk, "pdf"])
    )
    assert answer.status_code == 200
    b"".join(answer.streaming_content)
    name = f"深圳市-{YEAR.year}年度-年度成效评价.pdf"
    assert f"filename*=UTF-8''{quote(name)}" in answer["Content-Disposition"]
    assert f'filename="yearend-{SZ}-{YEAR.year}.pdf"' in answer["Content-Disposition"]


# ---------------------------------------------------------------------------------------------------------------
# The national page


def period_rows(answer: Any, kind: str = "monthly") -> dict[str, dict[str, Any]]:
    table = answer.context[kind]
    return {row["code"]: row for row in table["rows"]}


def test_the_national_page_lists_every_open_port_and_the_nation(
    demo_users: dict[str, User], pubs: dict[str, Publication]
) -> None:
    failed = make_publication(GD, period=dt.date(2025, 3, 1), status=PublicationStatus.FAILED, error="磁盘已满")
    national = client_for(demo_users, "national")
    answer = national.get(reverse("national:publications"))
    assert answer.status_code == 200
    open_codes = set(ManagementUnit.objects.filter(is_open=True).values_list("code", flat=True))
    assert {GD, SZ, ZJ} <= open_codes
    rows = period_rows(answer)
    assert set(rows) == open_codes | {NATIONAL_SCOPE}
    assert {code for code, row in rows.items() if row["publication"]} == {GD, SZ, ZJ, NATIONAL_SCOPE}
    html = answer.content.decode()
    assert f"{reverse('port:publications')}?port={SZ}" in html  # each port's history
    assert reverse("port:publication_download", args=[pubs[ZJ].pk, "pdf"]) in html
    assert 'hx-get="' not in html  # nothing is building
    # the rebuild and year-end forms ask before acting
    for testid in ("rebuild-form-monthly", "rebuild-form-yearend", "yearend-form"):
        form = html[html.index(f'data-testid="{testid}"') :]
        form = form[: form.index("</form>")]
        assert "data-confirm=" in form, testid
    # year-end section: 深圳's card of last year
    assert {c for c, r in period_rows(answer, "yearend").items() if r["publication"]} == {SZ}

    # another month: the failed row with its error
    answer = national.get(reverse("national:publications"), {"period": "2025-03"})
    rows = period_rows(answer)
    assert rows[GD]["publication"] == failed and rows[SZ]["publication"] is None
    html = answer.content.decode()
    assert 'data-testid="publication-error"' in html and "磁盘已满" in html


@pytest.mark.parametrize("value", ["2025-13", "March", "2031-01", "2019-05"])
def test_a_bad_month_is_shown_with_the_input_kept(demo_users: dict[str, User], value: str) -> None:
    answer = client_for(demo_users, "national").get(reverse("national:publications"), {"period": value})
    assert answer.status_code == 400
    html = answer.content.decode()
    assert 'data-testid="period-error"' in html and f'value="{value}"' in html
    assert answer.context["monthly"] is None


def test_the_table_polls_while_building_and_stops_when_done(demo_users: dict[str, User]) -> None:
    building = make_publication(SZ, status=PublicationStatus.BUILDING, progress=35)
    make_publication(GD)
    national = client_for(demo_users, "national")
    html = national.get(reverse("national:publications")).content.decode()
    section = html[html.index('id="publications-monthly"') :]
    section = section[: section.index(">")]
    assert 'hx-trigger="every 2s"' in section and "national/publications/progress/" in section
    assert 'value="35"' in html  # the <progress> bar
    yearend = html[html.index('id="publications-yearend"') :]
    assert "hx-get" not in yearend[: yearend.index(">")]  # nothing building there

    progress = reverse("national:publications_progress")
    query = {"kind": "monthly", "period": f"{MONTH:%Y-%m}"}
    partial = national.get(progress, query)
    assert partial.status_code == 200
    text = partial.content.decode()
    assert text.lstrip().startswith('<section id="publications-monthly"') and 'hx-trigger="every 2s"' in text
    assert "<html" not in text

    Publication.objects.filter(pk=building.pk).update(status=PublicationStatus.FAILED, error="超时")
    text = national.get(progress, query).content.decode()
    assert "hx-get" not in text and "hx-trigger" not in text and "超时" in text
    Publication.objects.filter(pk=building.pk).update(status=PublicationStatus.READY, error="")
    text = national.get(progress, query).content.decode()
    assert "hx-get" not in text and 'data-status="ready"' in text

    assert national.get(progress, {"kind": "monthly", "period": "bad"}).status_code == 400
    assert client_for(demo_users, "guangdong").get(progress, query).status_code == 404


# ---------------------------------------------------------------------------------------------------------------
# Rebuild and year-end forms


def rebuild(client: Client, **data: Any) -> Any:
    return client.post(reverse("national:publications_rebuild"), {"kind": "monthly", **data})


def test_the_national_office_rebuilds_one_port(demo_users: dict[str, User], pubs: dict[str, Publication]) -> None:
    national = client_for(demo_users, "national")
    answer = rebuild(national, period=f"{MONTH:%Y-%m}", port=SZ)
    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("national:publications") + f"?period={MONTH:%Y-%m}")
    sz, gd = Publication.objects.get(pk=pubs[SZ].pk), Publication.objects.get(pk=pubs[GD].pk)
    assert sz.status == PublicationStatus.PENDING and sz.revision == pubs[SZ].revision + 1
    assert gd.status == PublicationStatus.READY and gd.revision == pubs[GD].revision
    # the page after the redirect polls until the rebuilt row is done
    html = national.get(answer["Location"]).content.decode()
    assert 'hx-trigger="every 2s"' in html


def test_rebuilding_every_port(demo_users: dict[str, User], pubs: dict[str, Publication]) -> None:
    national = client_for(demo_users, "national")
    assert rebuild(national, period=f"{MONTH:%Y-%m}", port="ALL").status_code == 302
    statuses = set(Publication.objects.filter(kind="monthly", period=MONTH).values_list("status", flat=True))
    assert statuses <= {PublicationStatus.PENDING, PublicationStatus.BUILDING}
    revisions = dict(Publication.objects.filter(kind="monthly", period=MONTH).values_list("scope_key", "revision"))
    assert all(revisions[code] == pubs[code].revision + 1 for code in (GD, SZ, ZJ, NATIONAL_SCOPE))


@pytest.mark.parametrize("role", ["guangdong", "shenzhen", "ent-gz", "reviewer", "expert1"])
def test_only_the_national_office_may_rebuild(
    demo_users: dict[str, User], pubs: dict[str, Publication], role: str
) -> None:
    client = client_for(demo_users, role)
    assert rebuild(client, period=f"{MONTH:%Y-%m}", port=SZ).status_code == 404
    assert client.post(reverse("national:publications_yearend"), {"year": YEAR.year}).status_code == 404
    assert Publication.objects.get(pk=pubs[SZ].pk).status == PublicationStatus.READY
    assert not Publication.objects.filter(kind="yearend").exclude(pk=pubs["sz-yearend"].pk).exists()


def test_anonymous_rebuild_goes_to_login(pubs: dict[str, Publication]) -> None:
    answer = rebuild(Client(), period=f"{MONTH:%Y-%m}", port=SZ)
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("login"))
    assert Publication.objects.get(pk=pubs[SZ].pk).status == PublicationStatus.READY


def test_a_bad_rebuild_is_shown_with_the_input_kept(demo_users: dict[str, User], pubs: dict[str, Publication]) -> None:
    national = client_for(demo_users, "national")
    answer = rebuild(national, period="2025-99", port=SZ)
    assert answer.status_code == 400
    html = answer.content.decode()
    form = html[html.index('data-testid="rebuild-form-monthly"') :]
    form = form[: form.index("</form>")]
    assert 'data-testid="rebuild-period-error"' in form and 'value="2025-99"' in form
    assert f'<option value="{SZ}" selected>' in form
    assert Publication.objects.get(pk=pubs[SZ].pk).status == PublicationStatus.READY
    # an unknown port is a form error too
    assert rebuild(national, period=f"{MONTH:%Y-%m}", port="999999").status_code == 400


def test_a_service_refusal_is_shown_on_the_page(
    demo_users: dict[str, User], pubs: dict[str, Publication], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(**kwargs: Any) -> list[Publication]:
        raise ValidationError("该期间正在生成，请稍后再试。")

    monkeypatch.setattr(services, "publication_rebuild_request", refuse)
    answer = rebuild(client_for(demo_users, "national"), period="2025-03", port=GD)
    assert answer.status_code == 400
    html = answer.content.decode()
    assert 'data-testid="rebuild-error"' in html and "该期间正在生成，请稍后再试。" in html
    assert 'value="2025-03"' in html


def test_the_yearend_evaluation_on_demand(demo_users: dict[str, User], pubs: dict[str, Publication]) -> None:
    national = client_for(demo_users, "national")
    year = YEAR.year - 1
    answer = national.post(reverse("national:publications_yearend"), {"year": year})
    assert answer.status_code == 302 and f"year={year}" in answer["Location"]
    open_codes = set(ManagementUnit.objects.filter(is_open=True).values_list("code", flat=True))
    rows = Publication.objects.filter(kind=PublicationKind.YEAREND, period=dt.date(year, 1, 1))
    assert set(rows.values_list("scope_key", flat=True)) == open_codes | {NATIONAL_SCOPE}
    page = national.get(answer["Location"])
    assert {c for c, r in period_rows(page, "yearend").items() if r["publication"]} == open_codes | {NATIONAL_SCOPE}
    # a year not yet over is refused with the input kept
    answer = national.post(reverse("national:publications_yearend"), {"year": YEAR.year + 1})
    assert answer.status_code == 400
    html = answer.content.decode()
    assert 'data-testid="yearend-year-error"' in html and f'value="{YEAR.year + 1}"' in html
    assert not Publication.objects.filter(kind=PublicationKind.YEAREND, period=dt.date(YEAR.year + 1, 1, 1)).exists()
