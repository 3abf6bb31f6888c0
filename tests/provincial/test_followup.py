"""Following up who has not filed (issue 20 part 4; provincial/followup.py, docs/PORTS.md): roster contacts
(checked per cell, encrypted), duplicate rosters refused or merged on confirm, reminders and invitations
(rules, once a day, the confirm step, the invitation link that fills in the registration), the history and
completeness by month, and scope per role.

The demo roster (provincial.rosters.load_demo_rosters): five made-up enterprises that have not filed, with
roster contacts — 佛山 禅城 (FOSHAN), 广州 越秀 (YUEXIU), 深圳 福田 (FUTIAN), 杭州 上城 (no e-mail), 宁波 海曙.
"""

# ruff: noqa: F811 - the fixtures of test_rosters are imported and then named as test arguments
import re
from collections.abc import Callable
from io import BytesIO
from typing import Any
from urllib.parse import unquote

import pytest
from django.core import mail
from django.db import connection
from django.http import Http404
from django.test import Client, TestCase
from django.urls import reverse
from openpyxl import load_workbook

from filings.invitations import invitation_token, read_invitation
from filings.models import FilingUnit
from patent_platform.choices import AuditAction
from patent_platform.clock import china_today
from patent_platform.models import AuditEvent, User
from provincial import followup
from provincial import rosters as svc
from provincial.choices import FollowUpKind, RosterCategory
from provincial.models import FollowUp, Roster, RosterEntry, RosterUpload
from tests.provincial.test_rosters import (
    BAOAN,
    FOSHAN,
    FUTIAN,
    HAISHU,
    NANHAI,
    SHANGCHENG,
    YUEXIU,
    client_for,
    draft,
    register,  # noqa: F401 - a fixture
    roster,  # noqa: F401 - a fixture
    row_errors,
    upload,
    upload_job,
    users,  # noqa: F401 - a fixture
    xlsx,
)

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]  # the day constraint, subqueries and dates on both engines

CONTACT_HEADERS = ("统一社会信用代码", "企业名称", "联系人", "联系电话", "电子邮箱")


def sheet(answer: Any) -> list[tuple[Any, ...]]:
    assert answer.status_code == 200, answer.status_code
    return [
        tuple(r)
        for r in load_workbook(BytesIO(answer.content), read_only=True).worksheets[0].iter_rows(values_only=True)
    ]


def send(user: User, usccs: list[str], kind: str) -> list[followup.Target]:
    """Send through the service; the notices are delivered once the transaction commits (eager tasks)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return followup.follow_up_send(user=user, usccs=usccs, kind=kind)


# ---------------------------------------------------------------------------------------------------------------
# roster contacts


def test_contacts_are_read_checked_per_cell_and_stored_encrypted(users: dict[str, User]) -> None:
    client = client_for(users["guangdong"])
    bad = xlsx(
        [
            [NANHAI, "佛山南海示例", "南示例", "138-0000-0201", "nanhai@demo.example.cn"],
            [BAOAN, "深圳宝安示例", "宝示例", "12345", "not-an-email"],
        ],
        headers=CONTACT_HEADERS,
    )
    errors = row_errors(upload(client, bad))
    assert [(e.row, e.column) for e in errors] == [(3, "联系电话"), (3, "电子邮箱")]
    assert "手机号码" in errors[0].message and "not-an-email" in errors[1].message
    assert not Roster.objects.filter(owner__code="440000").exists()  # nothing saved
    good = xlsx(
        [
            [NANHAI, "佛山南海示例", "南示例", "138-0000-0201", "NanHai@Demo.example.cn"],
            [BAOAN, "深圳宝安示例", "", "0755 8000 0202", ""],
        ],
        headers=CONTACT_HEADERS,
    )
    job = upload_job(upload(client, good))
    entries = {e.uscc: e for e in job.roster.entries.all()}
    assert (entries[NANHAI].contact_name, entries[NANHAI].contact_phone, entries[NANHAI].contact_email) == (
        "南示例",
        "138-0000-0201",
        "nanhai@demo.example.cn",
    )
    assert entries[BAOAN].contact_phone == "0755 8000 0202" and entries[BAOAN].contact_email == ""
    with connection.cursor() as cursor:  # no plaintext in the table
        cursor.execute(
            "SELECT contact_name, contact_phone, contact_email FROM provincial_rosterentry WHERE id = %s",
            [entries[NANHAI].pk],
        )
        stored = cursor.fetchone()
    assert all(value.startswith("sm4g1:") for value in stored), stored
    assert "南示例" not in "".join(stored)


def test_the_old_two_column_template_is_still_accepted(users: dict[str, User]) -> None:
    job = upload_job(upload(client_for(users["guangdong"]), xlsx([[NANHAI, "佛山南海示例"]])))
    entry = job.roster.entries.get()
    assert (entry.contact_name, entry.contact_phone, entry.contact_email) == ("", "", "")


# ---------------------------------------------------------------------------------------------------------------
# duplicate rosters


def test_a_duplicate_roster_is_refused_then_merged_on_confirm(users: dict[str, User]) -> None:
    client = client_for(users["guangdong"])
    first = upload_job(upload(client, xlsx([[NANHAI, "佛山南海"], [BAOAN, "深圳宝安"]]), title="小巨人第一批"))
    original = first.roster
    jobs_before = RosterUpload.objects.count()
    again = xlsx(
        [[BAOAN, "深圳宝安示例有限公司", "宝示例", "138-0000-0301", "baoan@demo.example.cn"], [FOSHAN, "佛山禅城"]],
        headers=CONTACT_HEADERS,
    )
    answer = upload(client, again, title="小巨人第二批")
    assert answer.status_code == 400
    page = answer.content.decode()
    assert "已有同一端口、同一类别和年度的名单“小巨人第一批”（2 家企业" in page
    assert 'data-testid="merge-offer"' in page and f'name="merge_into" value="{original.pk}"' in page
    assert answer.context["form"]["title"].value() == "小巨人第二批"  # the input is kept
    assert RosterUpload.objects.count() == jobs_before  # nothing queued
    # confirmed: merged into the existing roster, one row per USCC
    again.seek(0)
    job = upload_job(upload(client, again, title="小巨人第二批", merge="on", merge_into=original.pk))
    assert job.roster == original and "新增 1 家企业，更新 1 家，合并后共 3 家" in job.message
    original.refresh_from_db()
    assert original.entry_count == 3 and Roster.objects.filter(owner__code="440000").count() == 1
    entries = {e.uscc: e for e in original.entries.all()}
    assert set(entries) == {NANHAI, BAOAN, FOSHAN}
    assert (entries[BAOAN].name, entries[BAOAN].contact_email) == ("深圳宝安示例有限公司", "baoan@demo.example.cn")
    event = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_type=Roster._meta.label).latest("id")
    assert event.changes["added"] == 1 and event.changes["updated"] == 1
    # another year is another roster, not a duplicate
    other = upload_job(upload(client, xlsx([[NANHAI, "佛山南海"]]), year=china_today().year - 1))
    assert other.roster is not None and other.roster != original


def test_the_service_refuses_a_duplicate_on_every_path(users: dict[str, User], roster: Roster) -> None:
    file = xlsx([[NANHAI, "佛山南海"]])
    with pytest.raises(svc.DuplicateRoster) as caught:
        svc.roster_import(
            user=users["national"], category=roster.category, year=roster.year, title="再传一次", file=file
        )
    assert caught.value.roster == roster
    file.seek(0)
    merged = svc.roster_import(
        user=users["national"], category=roster.category, year=roster.year, title="再传一次", file=file, merge=True
    )
    assert merged == roster and merged.entry_count == 9


# ---------------------------------------------------------------------------------------------------------------
# the not-filed list with contacts


def test_the_not_filed_list_shows_roster_and_unit_contacts(
    users: dict[str, User], roster: Roster, register: Callable[..., tuple[FilingUnit, User]]
) -> None:
    register(FOSHAN, "佛山禅城示例精密机械有限公司", "440604")
    answer = client_for(users["guangdong"]).get(reverse("rosters:missing"))
    rows = {row["uscc"]: row for row in answer.context["rows"]}
    assert (rows[YUEXIU]["roster_contact_name"], rows[YUEXIU]["roster_contact_email"]) == (
        "越示例",
        "yueshili@yuexiu-demo.example.cn",
    )
    assert rows[YUEXIU]["contact_email"] == ""  # not registered: no unit contact
    assert rows[FOSHAN]["roster_contact_phone"] == "138-0000-0101"
    assert rows[FOSHAN]["contact_email"] == f"{FOSHAN.lower()}@example.cn"  # and the unit's own
    page = answer.content.decode()
    assert "yueshili@yuexiu-demo.example.cn" in page and 'data-testid="check-all"' in page
    assert "fengshili@foshan-demo.example.cn" in page and f"{FOSHAN.lower()}@example.cn" in page
    export = sheet(client_for(users["guangdong"]).get(reverse("rosters:missing_export")))
    assert export[0][8:11] == ("名单联系人", "名单联系电话", "名单电子邮箱")
    assert {r[0]: r[10] for r in export[1:]}[YUEXIU] == "yueshili@yuexiu-demo.example.cn"


# ---------------------------------------------------------------------------------------------------------------
# reminders and invitations


def test_reminders_go_to_registered_units_and_invitations_to_the_roster_address(
    users: dict[str, User], roster: Roster, register: Callable[..., tuple[FilingUnit, User]]
) -> None:
    _foshan, foshan_user = register(FOSHAN, "佛山禅城示例精密机械有限公司", "440604")
    port = users["guangdong"]
    reminder = {
        t.uscc: t for t in followup.follow_up_plan(user=port, usccs=[FOSHAN, YUEXIU], kind=FollowUpKind.REMINDER)
    }
    assert reminder[FOSHAN].sendable and reminder[FOSHAN].recipients == [foshan_user.email]  # user = contact here
    assert "请改用“邀请注册”" in reminder[YUEXIU].skip
    invitation = {
        t.uscc: t for t in followup.follow_up_plan(user=port, usccs=[FOSHAN, YUEXIU], kind=FollowUpKind.INVITATION)
    }
    assert "请改用“提醒备案”" in invitation[FOSHAN].skip
    assert invitation[YUEXIU].recipients == ["yueshili@yuexiu-demo.example.cn"]
    assert invitation[YUEXIU].masked == "y***@yuexiu-demo.example.cn"

    mail.outbox.clear()
    sent = send(port, [YUEXIU, FOSHAN], FollowUpKind.INVITATION)
    assert [t.uscc for t in sent if getattr(t, "follow_up", None)] == [YUEXIU]
    [message] = mail.outbox
    assert message.to == ["yueshili@yuexiu-demo.example.cn"] and "邀请贵单位注册" in message.subject
    assert "广东省" in message.body and "国家知识产权优势企业" in message.body
    token = unquote(re.search(r"/enterprise/register/\?invite=(\S+)", message.body).group(1))
    assert read_invitation(token).uscc == YUEXIU
    record = FollowUp.objects.get(uscc=YUEXIU)
    assert (record.kind, record.port.code, record.sent_by, record.recipients_masked) == (
        FollowUpKind.INVITATION,
        "440000",
        port,
        "y***@yuexiu-demo.example.cn",
    )
    assert record.sent_on == china_today()
    event = AuditEvent.objects.filter(object_type=FollowUp._meta.label).latest("id")
    assert event.action == AuditAction.CREATE and event.actor_id == port.pk and "yueshili" not in str(event.changes)

    mail.outbox.clear()
    send(port, [FOSHAN], FollowUpKind.REMINDER)
    [message] = mail.outbox
    assert message.to == [foshan_user.email] and "尽快完成专利产品备案" in message.subject


def test_at_most_one_mail_per_enterprise_per_day_whoever_sends(users: dict[str, User], roster: Roster) -> None:
    send(users["shenzhen"], [FUTIAN], FollowUpKind.INVITATION)
    mail.outbox.clear()
    # the province port, the same day: skipped, said so, nothing sent
    [target] = send(users["guangdong"], [FUTIAN], FollowUpKind.INVITATION)
    assert "每家企业每天最多一封" in target.skip and not mail.outbox
    assert FollowUp.objects.filter(uscc=FUTIAN).count() == 1
    # 广东 sees 深圳's follow-up of its enterprise (one area rule)
    status = followup.status_of(users["guangdong"], [FUTIAN])
    assert status[FUTIAN]["last_port"].code == "440300"


def test_skips_filed_no_address_and_a_selection_too_large(
    users: dict[str, User], roster: Roster, register: Callable[..., tuple[FilingUnit, User]]
) -> None:
    national = users["national"]
    [no_mail] = followup.follow_up_plan(user=national, usccs=[SHANGCHENG], kind=FollowUpKind.INVITATION)
    assert "没有该企业的电子邮箱" in no_mail.skip
    filed = RosterEntry.objects.filter(roster=roster).exclude(uscc__in=[FOSHAN, YUEXIU, FUTIAN, SHANGCHENG, HAISHU])
    [done] = followup.follow_up_plan(user=national, usccs=[filed.first().uscc], kind=FollowUpKind.REMINDER)
    assert "已有产品通过备案" in done.skip
    with pytest.raises(Exception, match="请先勾选企业"):
        followup.follow_up_plan(user=national, usccs=[], kind=FollowUpKind.REMINDER)
    with pytest.raises(Exception, match="一次最多选择"):
        followup.follow_up_plan(
            user=national, usccs=[f"X{i}" for i in range(followup.MAX_SELECTION + 1)], kind="reminder"
        )


def test_registered_since_the_first_reminder(
    users: dict[str, User], roster: Roster, register: Callable[..., tuple[FilingUnit, User]]
) -> None:
    send(users["guangdong"], [YUEXIU], FollowUpKind.INVITATION)
    unit, user = register(YUEXIU, "广州越秀示例智能科技有限公司", "440104")
    draft(unit, user)
    client = client_for(users["guangdong"])
    row = next(r for r in client.get(reverse("rosters:missing")).context["rows"] if r["uscc"] == YUEXIU)
    assert row["follow_up"]["registered_at"] == unit.created_at
    history = client.get(reverse("rosters:follow_ups"))
    assert history.context["rows"][0]["registered_at"] == unit.created_at
    assert 'data-testid="registered-after"' in history.content.decode()
    export = sheet(client.get(reverse("rosters:follow_ups_export")))
    assert export[1][2:4] == (YUEXIU, "广州越秀示例智能科技有限公司") and export[1][6] == "y***@yuexiu-demo.example.cn"
    assert export[1][7] is not None


# ---------------------------------------------------------------------------------------------------------------
# the pages: confirm step, scope per role


def test_the_confirm_step_then_the_send(users: dict[str, User], roster: Roster) -> None:
    client = client_for(users["guangdong"])
    mail.outbox.clear()
    confirm = client.post(reverse("rosters:follow_up"), {"uscc": [YUEXIU, FOSHAN], "kind": "invitation", "year": ""})
    assert confirm.status_code == 200 and not FollowUp.objects.exists() and not mail.outbox
    page = confirm.content.decode()
    assert "y***@yuexiu-demo.example.cn" in page and "yueshili@" not in page  # masked on the confirm page
    assert page.count('data-testid="send-row"') == 2
    with TestCase.captureOnCommitCallbacks(execute=True):
        done = client.post(
            reverse("rosters:follow_up"), {"uscc": [YUEXIU, FOSHAN], "kind": "invitation", "confirm": "1"}
        )
    assert done.status_code == 302 and done["Location"] == reverse("rosters:missing")
    assert sorted(m.to[0] for m in mail.outbox) == [
        "fengshili@foshan-demo.example.cn",
        "yueshili@yuexiu-demo.example.cn",
    ]
    listed = client.get(reverse("rosters:missing")).content.decode()
    assert listed.count('data-testid="last-reminded"') == 2 and "最近邀请注册备案" in listed
    # nothing selected: back with a message, no error page
    empty = client.post(reverse("rosters:follow_up"), {"kind": "reminder"}, follow=True)
    assert "请先勾选企业" in empty.content.decode()


@pytest.mark.parametrize("who", ["shenzhen", "zhejiang"])
def test_a_port_reminds_only_its_own_enterprises(users: dict[str, User], roster: Roster, who: str) -> None:
    """深圳 does not see 佛山 (广东 but not 深圳), 浙江 sees nothing of 广东: 404 and nothing recorded."""
    client = client_for(users[who])
    for confirm in ("", "1"):
        answer = client.post(reverse("rosters:follow_up"), {"uscc": [FOSHAN], "kind": "invitation", "confirm": confirm})
        assert answer.status_code == 404
    with pytest.raises(Http404):
        followup.follow_up_send(user=users[who], usccs=[FOSHAN], kind=FollowUpKind.INVITATION)
    assert not FollowUp.objects.exists()


def test_follow_ups_are_seen_only_inside_the_area(users: dict[str, User], roster: Roster) -> None:
    send(users["guangdong"], [FOSHAN, FUTIAN], FollowUpKind.INVITATION)
    send(users["national"], [HAISHU], FollowUpKind.INVITATION)
    seen = {
        who: {r["obj"].uscc for r in client_for(users[who]).get(reverse("rosters:follow_ups")).context["rows"]}
        for who in ("national", "guangdong", "shenzhen", "zhejiang")
    }
    assert seen == {
        "national": {FOSHAN, FUTIAN, HAISHU},
        "guangdong": {FOSHAN, FUTIAN},
        "shenzhen": {FUTIAN},
        "zhejiang": {HAISHU},
    }


@pytest.mark.parametrize("who", ["reviewer", "ent-gz"])
def test_other_roles_get_404(users: dict[str, User], roster: Roster, who: str) -> None:
    client = client_for(users[who])
    for name in (
        "rosters:follow_ups",
        "rosters:follow_ups_export",
        "rosters:completeness",
        "rosters:completeness_export",
    ):
        assert client.get(reverse(name)).status_code == 404, name
    assert client.post(reverse("rosters:follow_up"), {"uscc": [FOSHAN], "kind": "reminder"}).status_code == 404
    with pytest.raises(Http404):
        followup.follow_up_plan(user=users[who], usccs=[FOSHAN], kind=FollowUpKind.REMINDER)


def test_anonymous_is_sent_to_login(roster: Roster) -> None:
    answer = Client().post(reverse("rosters:follow_up"), {"uscc": [FOSHAN], "kind": "reminder", "confirm": "1"})
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]
    assert not FollowUp.objects.exists()


# ---------------------------------------------------------------------------------------------------------------
# the invitation link


def test_the_invitation_link_fills_in_the_registration_form(roster: Roster) -> None:
    token = invitation_token(uscc=YUEXIU, name="广州越秀示例智能科技有限公司")
    page = Client().get(reverse("enterprise:register"), {"invite": token})
    assert page.context["form"]["uscc"].value() == YUEXIU
    assert page.context["form"]["name"].value() == "广州越秀示例智能科技有限公司"
    assert 'data-testid="invitation-note"' in page.content.decode()
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    page = Client().get(reverse("enterprise:register"), {"invite": forged})
    assert (
        page.context["form"]["uscc"].value() in (None, "")
        and 'data-testid="invitation-invalid"' in page.content.decode()
    )


def test_an_expired_or_foreign_token_fills_in_nothing() -> None:
    from django.core import signing

    token = signing.dumps({"u": YUEXIU, "n": "x"}, salt="filings.invitations.registration", compress=True)
    assert read_invitation(token) is not None
    assert read_invitation(token, max_age_days=-1) is None  # past its age
    assert read_invitation(signing.dumps({"u": YUEXIU}, salt="another"), max_age_days=30) is None


# ---------------------------------------------------------------------------------------------------------------
# completeness over time


def test_completeness_by_category_and_port_month_by_month(users: dict[str, User], roster: Roster) -> None:
    client = client_for(users["national"])
    by_category = client.get(reverse("rosters:completeness")).context
    [row] = by_category["rows"]
    assert row["key"] == RosterCategory.NATIONAL_ADVANTAGE and row["entries"] == 8
    assert len(row["cells"]) == 12 and row["cells"][-1]["month"] == china_today().strftime("%Y-%m")
    assert row["cells"][-1]["filed"] == 3 and row["cells"][-1]["percent"] == 37.5  # the coverage page's figure
    assert [c["filed"] for c in row["cells"]] == sorted(c["filed"] for c in row["cells"])  # cumulative
    by_port = {r["key"]: r for r in client.get(reverse("rosters:completeness"), {"by": "port"}).context["rows"]}
    assert (by_port["440000"]["entries"], by_port["440000"]["cells"][-1]["filed"]) == (5, 2)
    assert (by_port["440300"]["entries"], by_port["440300"]["cells"][-1]["filed"]) == (2, 1)
    assert (by_port["330000"]["entries"], by_port["330000"]["cells"][-1]["filed"]) == (3, 1)
    # a province port: its own and its cities' rows only
    ports = {
        r["key"]
        for r in client_for(users["guangdong"]).get(reverse("rosters:completeness"), {"by": "port"}).context["rows"]
    }
    assert "330000" not in ports and {"440000", "440300"} <= ports
    export = sheet(client.get(reverse("rosters:completeness_export"), {"by": "port"}))
    assert export[0] == ("管理端口", "月份", "名单企业数", "月末已备案", "完成率（%）")
    assert ("广东省", china_today().strftime("%Y-%m"), 5, 2, 40.0) in export


def test_the_roster_lists_link_a_unit_registered_in_the_area_to_its_page_and_no_other(
    users: dict[str, User], roster: Roster, register: Callable[..., tuple[FilingUnit, User]]
) -> None:
    """Issue 20 part 5, "every list links there": the not-filed list and the follow-up history link an
    enterprise registered in the viewer's area to the read-only unit page (which opens); an enterprise not
    registered, or registered outside the viewer's area, is not linked (and its page answers 404)."""
    send(users["guangdong"], [YUEXIU, FOSHAN, FUTIAN], FollowUpKind.INVITATION)
    yuexiu, _user = register(YUEXIU, "广州越秀示例智能科技有限公司", "440104")
    moved, _user = register(FUTIAN, "深圳福田示例有限公司", "440104")  # on 深圳's roster, registered in 广州
    link = r'href="(/port/units/\d+/)" data-testid="unit-link"'
    for page in ("rosters:missing", "rosters:follow_ups"):
        gd = client_for(users["guangdong"])
        body = gd.get(reverse(page)).content.decode()
        assert FOSHAN in body  # listed, not registered: not linked
        assert set(re.findall(link, body)) == {f"/port/units/{yuexiu.pk}/", f"/port/units/{moved.pk}/"}, page
        assert body.count('data-testid="unit-link"') == 2
        assert gd.get(f"/port/units/{yuexiu.pk}/").status_code == 200
        # 深圳 sees its roster enterprise, registered outside its area: no link, and the page is out of scope
        sz = client_for(users["shenzhen"])
        body = sz.get(reverse(page)).content.decode()
        assert FUTIAN in body and not re.findall(link, body), page
        assert sz.get(f"/port/units/{moved.pk}/").status_code == 404
