"""Demo data for `make run`: accounts of every role and their filing units.

Loaded only by this command (never by migrations or production settings). Running it twice changes
nothing. Every demo account's password is `Demo-2026!`.

The demo has a history (issue 20): the filing units registered about two years ago, and the approved
filings were filed and approved over the past 24 months, one yearly version per data year, each approved
in the year after its data year (`HISTORY`). The past is made through the real services with the clock set
to the moment (`at`: `django.utils.timezone.now`, which every service and timestamp field reads), in the
order it happened, so the transitions, the summary cells and the as-of figures of a past month (and that
month's publication) tell the same story as the dashboards. The accounts, the pending filings, the
drafts, the rosters, the reports and the certification round are of today.
"""

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any
from unittest import mock

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from evaluation.demo import EXPERTS, load_demo_evaluation
from filings import identity, services, workflow
from filings.choices import FilingStatus, VerificationMethod
from filings.identifiers import build_patent_number, build_uscc
from filings.models import FilingUnit, ProductClass, ProductVersion, UnitMembership
from patent_platform import clock
from patent_platform.choices import Role
from patent_platform.models import Notice, User
from provincial.models import ManagementUnit
from provincial.reports import load_demo_reports
from provincial.rosters import load_demo_rosters
from provincial.services import port_add_admin

DEMO_PASSWORD = "Demo-2026!"

# (e-mail, name, role, management unit code for port administrators)
ACCOUNTS = [
    ("national@example.cn", "国家局管理员（演示）", Role.NATIONAL_ADMIN, None),
    ("reviewer@example.cn", "平台审核员（演示）", Role.REVIEWER, None),
    ("guangdong@example.cn", "广东省管理端口（演示）", Role.PORT_ADMIN, "440000"),
    ("zhejiang@example.cn", "浙江省管理端口（演示）", Role.PORT_ADMIN, "330000"),
    ("shenzhen@example.cn", "深圳市管理端口（演示）", Role.PORT_ADMIN, "440300"),
    # 三权分立: the three administrators, each an account of its own (no business data)
    ("sysadmin@example.cn", "系统管理员（演示）", Role.SYSTEM_ADMIN, None),
    ("secadmin@example.cn", "安全管理员（演示）", Role.SECURITY_ADMIN, None),
    ("audit@example.cn", "审计管理员（演示）", Role.AUDIT_ADMIN, None),
]
# (e-mail, contact name, unit name, county code, organisation code body, industry, scale)
ENTERPRISES = [
    ("ent-gz@example.cn", "陈广", "广州云帆智能装备有限公司", "440106", "MA59GD01", "34", "medium"),
    ("ent-sz@example.cn", "李深", "深圳鹏芯微电子有限公司", "440305", "MA5FPX02", "39", "large"),
    ("ent-hz@example.cn", "王杭", "杭州西溪新材料科技有限公司", "330106", "MA2HC003", "26", "small"),
]
# Patents per demo enterprise: (year, type digit, serial, title, right kind, licence kind)
PATENTS = {
    "ent-gz@example.cn": [
        (2019, "1", 1100231, "一种协作机器人关节力矩控制方法", "owner", ""),
        (2020, "1", 1045672, "基于视觉的巡检机器人定位系统", "owner", ""),
        (2021, "2", 2210458, "一种精密摆线针轮减速器", "owner", ""),
        (2022, "3", 3301124, "巡检机器人外壳", "owner", ""),
        (2018, "1", 1087761, "工业机器人末端执行器快换装置", "licensee", "exclusive"),
    ],
    "ent-sz@example.cn": [
        (2018, "1", 1203345, "一种车规级微控制器的安全启动方法", "owner", ""),
        (2019, "1", 1098812, "低功耗电源管理电路", "owner", ""),
        (2020, "1", 1156790, "图像信号处理流水线及芯片", "owner", ""),
        (2021, "2", 2045563, "蓝牙射频前端模块", "co_owner", ""),
    ],
    "ent-hz@example.cn": [
        (2017, "1", 1060186, "高导热石墨烯薄膜的制备方法", "owner", ""),
        (2019, "1", 1120037, "一种高阻隔多层复合包装膜", "owner", ""),
        (2020, "1", 1033321, "PBAT 可降解改性材料及其制备方法", "capital", ""),
    ],
}
# Products: (enterprise, name, model, class, data year, sales, exports, output, patents [(index, core, %)], story)
# story: draft / submitted / returned / resubmitted / approved / approved+opt / updated (approved, then the next
# data year submitted as a yearly update)
LAST_YEAR = workflow.default_data_year()
PRODUCTS = [
    (
        "ent-gz@example.cn",
        "工业协作机器人",
        "YF-CR6",
        "03",
        LAST_YEAR - 1,
        5200,
        800,
        5600,
        [(0, True, 45), (4, False, 15)],
        "updated",
    ),
    (
        "ent-gz@example.cn",
        "智能巡检机器人",
        "YF-IR2",
        "03",
        LAST_YEAR,
        3100,
        0,
        3300,
        [(1, True, 50), (3, False, 10)],
        "approved+opt",
    ),
    ("ent-gz@example.cn", "精密摆线减速器", "YF-RV40", "03", LAST_YEAR, 1800, 260, 1900, [(2, True, 60)], "submitted"),
    ("ent-gz@example.cn", "视觉引导分拣系统", "YF-VS1", "03", LAST_YEAR, 600, 0, 650, [(1, True, 40)], "draft"),
    (
        "ent-sz@example.cn",
        "车规级微控制器",
        "PX32A",
        "01",
        LAST_YEAR,
        26800,
        9400,
        27500,
        [(0, True, 55)],
        "approved+opt",
    ),
    ("ent-sz@example.cn", "电源管理芯片", "PX-PM8", "01", LAST_YEAR, 8700, 2100, 9000, [(1, True, 60)], "approved"),
    (
        "ent-sz@example.cn",
        "图像信号处理芯片",
        "PX-ISP3",
        "01",
        LAST_YEAR,
        4300,
        1200,
        4500,
        [(2, False, 40)],
        "returned",
    ),
    (
        "ent-sz@example.cn",
        "蓝牙低功耗 SoC",
        "PX-BT5",
        "01",
        LAST_YEAR,
        2900,
        1500,
        3000,
        [(3, True, 35)],
        "resubmitted",
    ),
    (
        "ent-hz@example.cn",
        "石墨烯导热膜",
        "XX-G100",
        "04",
        LAST_YEAR,
        7600,
        3300,
        8100,
        [(0, True, 70)],
        "approved+opt",
    ),
    ("ent-hz@example.cn", "高阻隔包装膜", "XX-B20", "04", LAST_YEAR, 2400, 300, 2550, [(1, True, 50)], "approved"),
    ("ent-hz@example.cn", "可降解 PBAT 改性料", "XX-P3", "04", LAST_YEAR, 950, 0, 990, [(2, True, 65)], "submitted"),
    (
        "ent-sz@example.cn",
        "高速接口芯片",
        "PX-HS2",
        "01",
        LAST_YEAR,
        1500,
        700,
        1600,
        [(0, False, 20), (1, True, 30)],
        "approved",
    ),
]

# The history of the approved filings, by model: (months before this month of the first approval, month of
# the later years' approvals). The first version's data year is the year before its approval (the latest a
# filing may report then); each later data year up to the product's (PRODUCTS) is a yearly update approved
# in the following year, in that month (or in the latest complete month, or today, when that month has not
# come yet). 24 months ago is always in the year before last, 13 or 1 month ago in the last year: 深圳 (and so
# 广东 and the country) has new filings in the last year and in the year before it, whatever month it is, and
# 高速接口芯片 is new in the latest complete month (the default period).
HISTORY = {
    "PX32A": (24, 3),
    "XX-G100": (21, 4),
    "YF-CR6": (16, 5),
    "PX-PM8": (13, 5),
    "XX-B20": (9, 7),
    "YF-IR2": (6, 6),
    "PX-HS2": (1, 8),
}
# The demo units registered (and were verified) this many months before this month, before any filing.
REGISTERED_MONTHS_AGO = 25
# A past data year's figures: this share of the next year's (the products grew).
YEARLY_GROWTH = Decimal("0.85")
FIGURES = ("sales", "exports", "output_value")


@contextlib.contextmanager
def at(moment: dt.datetime | None) -> Iterator[None]:
    """Run the services at `moment` (None: now). Only for the demo's history, never in production."""
    if moment is None:
        yield
        return
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def months_ago(months: int, day: int, hour: int = 10) -> dt.datetime:
    """That day of the month `months` before this one (China time)."""
    return clock.shift_month(timezone.now(), -months) + dt.timedelta(days=day - 1, hours=hour)


def update_moment(data_year: int, month: int, after: dt.datetime) -> dt.datetime | None:
    """When the yearly update for `data_year` was approved: in the year after it, in `month` (the 15th), or
    in the latest complete month if that month is still to come, or today (None) if neither is of that
    year or both are before the previous approval."""
    this_month = clock.current_month_start()
    moment = dt.datetime(data_year + 1, month, 15, 10, tzinfo=clock.CHINA_TZ)
    if moment >= this_month:
        moment = clock.shift_month(this_month, -1) + dt.timedelta(days=14, hours=10)
        if moment.year != data_year + 1:
            return None
    return moment if moment > after + dt.timedelta(days=7) else None


class Command(BaseCommand):
    help = "Load the demo accounts and data (password Demo-2026! for all). Never run it in production."

    def handle(self, *args: Any, **options: Any) -> None:
        # Demo mail goes nowhere: the notices the demo's transitions write to the outbox are removed before
        # the load commits (they would otherwise print a dozen e-mails, or reach made-up addresses).
        with transaction.atomic():
            first_new = (Notice.objects.aggregate(last=Max("pk"))["last"] or 0) + 1
            self._load()
            Notice.objects.filter(pk__gte=first_new).delete()

    def _load(self) -> None:
        rows = []
        for email, name, role, port_code in ACCOUNTS:
            user = self._user(email, name, role)
            if role == Role.SYSTEM_ADMIN and not user.is_staff:  # the admin site is the system administrator's
                user.is_staff = True
                user.save(update_fields=["is_staff"])
            if port_code:
                port = ManagementUnit.objects.get(code=port_code)
                if not port.is_open:
                    port.is_open = True
                    port.save(update_fields=["is_open"])
                if not hasattr(user, "port_membership"):
                    port_add_admin(unit=port, user=user)
                rows.append((email, f"{role.label} · {port.name}"))
            else:
                rows.append((email, str(role.label)))
        registered = months_ago(REGISTERED_MONTHS_AGO, 3)
        for email, contact, unit_name, county, org, industry, scale in ENTERPRISES:
            user = self._user(email, contact, Role.ENTERPRISE)
            with at(registered):
                unit = self._unit(user, email, contact, unit_name, county, org, industry, scale)
            rows.append((email, f"{Role.ENTERPRISE.label} · {unit.name}"))
        with at(registered + dt.timedelta(days=2)):
            self._patents()
        self._filings()
        national = User.objects.get(email="national@example.cn")
        load_demo_rosters(national)
        load_demo_reports(national)
        certification = load_demo_evaluation(national, DEMO_PASSWORD, LAST_YEAR)
        for email, _name, organisation, _province, _title in EXPERTS:
            rows.append((email, f"{Role.EXPERT.label} · {organisation}"))
        self.stdout.write(self.style.SUCCESS(f"demo filings: {ProductVersion.objects.count()} product versions"))
        self.stdout.write(
            self.style.SUCCESS(
                f"demo certification: {certification['benchmark_sets']} benchmark sets, "
                f"{certification['certified']} certified products"
            )
        )
        self.stdout.write("Demo accounts (password Demo-2026! for all):")
        for email, what in rows:
            self.stdout.write(f"  {email:<24} {what}")

    def _unit(
        self, user: User, email: str, contact: str, unit_name: str, county: str, org: str, industry: str, scale: str
    ) -> FilingUnit:
        unit, _created = FilingUnit.objects.get_or_create(
            uscc=build_uscc(region_code=county, org_body=org),
            defaults={
                "name": unit_name,
                "region_id": county,
                "industry": industry,
                "scale": scale,
                "contact_name": contact,
                "contact_phone": "020-8888" + org[-4:].replace("D", "0").replace("X", "1").replace("C", "2"),
                "contact_email": email,
            },
        )
        UnitMembership.objects.get_or_create(user=user, defaults={"unit": unit, "is_manager": True})
        # demo units are verified (filings/identity.py), so the demo's filings can be submitted
        identity.unit_verify(unit=unit, method=VerificationMethod.ADMINISTRATOR, note="demo")
        return unit

    def _patents(self) -> None:
        """The demo units' patents (once)."""
        for email, patents in PATENTS.items():
            unit = User.objects.get(email=email).unit_membership.unit
            if unit.patent_rights.exists():
                continue  # loaded before
            user = User.objects.get(email=email)
            for year, digit, serial, title, kind, licence in patents:
                number = build_patent_number(year=year, type_digit=digit, serial=serial)
                data = {"number": number, "title": title, "kind": kind, "licence_kind": licence}
                if licence:
                    data["recordal_number"] = f"{year}990000{serial % 1000:03d}"
                services.patent_right_create(unit=unit, user=user, data=data)

    def _filings(self) -> None:
        """A dozen products in every state, made through the services and the workflow: the approved ones
        over the past two years (HISTORY), in the order it happened, then the pending ones and drafts today."""
        if ProductVersion.objects.filter(product__unit__memberships__user__email="ent-gz@example.cn").exists():
            return  # loaded before
        reviewer = User.objects.get(email="reviewer@example.cn")
        made = []
        for owner, name, model, cls, year, sales, exports, output, links, story in PRODUCTS:
            user = User.objects.get(email=owner)
            unit = user.unit_membership.unit
            rights = list(unit.patent_rights.order_by("pk"))
            figures = {"sales": Decimal(sales), "exports": Decimal(exports), "output_value": Decimal(output)}
            data = {
                "name": name,
                "model": model,
                "product_class": ProductClass.objects.get(code=cls),
                "description": f"{name}（演示数据）",
            }
            patent_links: list[Mapping[str, Any]] = [
                {"right": rights[i].pk, "is_core": core, "contribution": Decimal(pct), "embodiment": ""}
                for i, core, pct in links
            ]
            made.append((model, unit, user, year, data, figures, patent_links, story))
        # the history first, event by event in time order; then today's stories
        events = []
        for model, unit, user, year, data, figures, patent_links, _story in made:
            if model in HISTORY:
                events += self._history(model, unit, user, year, data, figures, patent_links)
        now = timezone.now()
        for moment, _n, action in sorted(events, key=lambda e: (e[0] or now, e[1])):
            with at(moment):
                action()
        for model, unit, user, year, data, figures, patent_links, story in made:
            if model in HISTORY:
                version = ProductVersion.objects.get(product__unit=unit, model=model, data_year=year)
            else:
                version = services.product_create(
                    unit=unit, user=user, data_year=year, data={**data, **figures}, links=patent_links
                )
            self._story(version, story, user, reviewer)

    def _history(
        self,
        model: str,
        unit: FilingUnit,
        user: User,
        final_year: int,
        data: dict[str, Any],
        figures: dict[str, Decimal],
        links: list[Mapping[str, Any]],
    ) -> list[tuple[dt.datetime | None, int, Any]]:
        """The dated steps of an approved product's past: registered, submitted and approved for its first data
        year, then a yearly update per later data year up to `final_year`, each approved in the year after
        its data year. (moment, order, step) triples; the steps read the versions they act on when they run."""
        reviewer = User.objects.get(email="reviewer@example.cn")
        months, update_month = HISTORY[model]
        first = months_ago(months, 10)
        first_year = min(first.year - 1, final_year)

        def figures_of(year: int) -> dict[str, Decimal]:
            share = YEARLY_GROWTH ** (final_year - year)
            return {k: (v * share).quantize(Decimal(1)) for k, v in figures.items()}

        def version(year: int) -> ProductVersion:
            return ProductVersion.objects.get(product__unit=unit, model=model, data_year=year)

        def register() -> None:
            services.product_create(
                unit=unit, user=user, data_year=first_year, data={**data, **figures_of(first_year)}, links=links
            )

        steps: list[tuple[dt.datetime | None, int, Any]] = [
            (first - dt.timedelta(days=7), 0, register),
            (first - dt.timedelta(days=5), 1, lambda: workflow.version_submit(version=version(first_year), user=user)),
            (first, 2, lambda: workflow.version_approve(version=version(first_year), user=reviewer)),
        ]
        previous = first
        for year in range(first_year + 1, final_year + 1):
            moment = update_moment(year, update_month, previous)

            def update(year: int = year) -> None:
                new = workflow.product_yearly_update_start(product=version(year - 1).product, user=user, data_year=year)
                services.version_update(version=new, user=user, data=figures_of(year))

            if moment is None:  # today, after the dated past
                steps += [
                    (None, 3 * year, update),
                    (None, 3 * year + 1, lambda year=year: workflow.version_submit(version=version(year), user=user)),
                    (
                        None,
                        3 * year + 2,
                        lambda year=year: workflow.version_approve(version=version(year), user=reviewer),
                    ),
                ]
                previous = timezone.now()
                continue
            steps += [
                (moment - dt.timedelta(days=7), 3 * year, update),
                (
                    moment - dt.timedelta(days=5),
                    3 * year + 1,
                    lambda year=year: workflow.version_submit(version=version(year), user=user),
                ),
                (
                    moment,
                    3 * year + 2,
                    lambda year=year: workflow.version_approve(version=version(year), user=reviewer),
                ),
            ]
            previous = moment
        return steps

    def _story(self, version: Any, story: str, user: User, reviewer: User) -> None:
        if story == "draft":
            return
        if story == "returned" or story == "resubmitted":
            # the demo's returned filing has no core patent: the reviewer asks for one
            if not version.links.filter(is_core=True).exists():
                version.links.update(is_core=True)
            workflow.version_submit(version=version, user=user)
            workflow.version_return(
                version=version,
                user=reviewer,
                reasons={"patents": "请说明核心专利在产品中的具体体现。", "sales": "请核对上年度销售额。"},
            )
            if story == "resubmitted":
                workflow.version_submit(version=version, user=user)
            return
        if version.status != FilingStatus.APPROVED:  # the approved ones were approved in their history
            workflow.version_submit(version=version, user=user)
            if story == "submitted":
                return
            workflow.version_approve(version=version, user=reviewer)
        if story == "approved+opt":
            workflow.version_set_certification_opt_in(version=version, user=user, opt_in=True)
        if story == "updated":
            new = workflow.product_yearly_update_start(product=version.product, user=user)
            services.version_update(
                version=new, user=user, data={"sales": Decimal(6100), "output_value": Decimal(6500)}
            )
            workflow.version_submit(version=new, user=user)

    def _user(self, email: str, name: str, role: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            # demo accounts are confirmed (patent_platform/confirmation.py): the demo signs in and acts at once
            user = User.objects.create_user(
                email, DEMO_PASSWORD, full_name=name, role=role, email_confirmed_at=timezone.now()
            )
        return user
