"""The permission matrix of the provincial app: every URL pattern (pages, exports, POST actions, API) × every role.

Roles: the national administrator, the 广东 port (province 440000), the 浙江 port (a port of another
province, 330000), the 深圳 port (a city port inside 广东, 440300), the 杭州 port (a city port outside
广东, 330100, made here with `port_add_admin`), an enterprise user, a reviewer, and an anonymous visitor.

Object-level routes are probed with objects in scope for some roles and out of scope for others: rosters
owned by 深圳, 广东, 杭州 and 浙江 plus the national roster, `?port=` narrowed to 深圳, 杭州 and 广东,
`?roster=` filters, applications, a management unit, a port contact. Out of scope answers 404; anonymous
visitors are sent to the login page (pages) or refused with 401/403 (API); the public application form
answers everyone. A roster the user sees but may not delete answers 403 (documented in RosterDeleteView).

`test_matrix_covers_every_provincial_route` fails when a new URL of the app appears that the matrix does
not list. The second half checks that no total includes out-of-scope data: every dashboard, coverage and
export figure equals a count made here straight from the ORM, restricted by region codes.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Q, Sum
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from openpyxl import Workbook, load_workbook
from rest_framework.test import APIClient

from filings import identity, services, workflow
from filings.choices import VerificationMethod
from filings.identifiers import build_patent_number, build_uscc
from filings.models import FilingUnit, Product, ProductClass, ProductVersion, UnitMembership
from filings.workflow import china_today
from patent_platform.choices import Role
from patent_platform.clock import last_year, previous_month
from patent_platform.models import User
from provincial import applications as application_service
from provincial import rosters as roster_service
from provincial import statements as statement_service
from provincial import subscriptions as subscription_service
from provincial.choices import RosterCategory
from provincial.models import (
    NATIONAL_SCOPE,
    ManagementUnit,
    PortApplication,
    PortContact,
    ProgressReport,
    ProgressReportAttachment,
    Publication,
    Roster,
    RosterEntry,
    RosterUpload,
    SavedAnalysis,
)
from provincial.services import port_add_admin
from tests import worlds
from tests.factories import UserFactory
from tests.provincial.live import CurrentAPIClient, CurrentClient

ROLES = ["national", "guangdong", "zhejiang", "shenzhen", "hangzhou", "enterprise", "reviewer", "anonymous"]
PORTS = ("guangdong", "zhejiang", "shenzhen", "hangzhou")
ADMINS = ("national", *PORTS)
pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"

# Outcomes besides a status code
LOGIN = "login"  # 302 to the login page
API_ANON = "api-anon"  # 401 or 403


@dataclass(frozen=True)
class Redirect:
    to: str


# ---------------------------------------------------------------------------------------------------------------
# The routes of the app


def walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, Any]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}:{p.namespace}" if namespace and p.namespace else (p.namespace or namespace)
            yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            name = f"{namespace}:{p.name}" if namespace else str(p.name)
            yield prefix + str(p.pattern), name, p.callback


def provincial_routes() -> dict[str, str]:
    """Route name → pattern, for every URL whose view lives in the provincial app."""
    found = {}
    for route, name, callback in walk(get_resolver().url_patterns):
        cls = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        if (cls or callback).__module__.startswith("provincial"):
            found[name] = route
    return found


# ---------------------------------------------------------------------------------------------------------------
# The matrix


def admins(ok: Any = 200, *, anonymous: Any = LOGIN, **overrides: Any) -> dict[str, Any]:
    """National and every port `ok`; enterprise and reviewer 404; anonymous as given."""
    expected = {role: ok for role in ADMINS} | {"enterprise": 404, "reviewer": 404, "anonymous": anonymous}
    return expected | overrides


def only(ok_roles: tuple[str, ...], ok: Any = 200, *, anonymous: Any = LOGIN, **overrides: Any) -> dict[str, Any]:
    """`ok` for the administrators in `ok_roles`, 404 for every other signed-in role."""
    expected = {role: (ok if role in ok_roles else 404) for role in ROLES} | {"anonymous": anonymous}
    return expected | overrides


def everyone(outcome: Any) -> dict[str, Any]:
    return dict.fromkeys(ROLES, outcome)


@dataclass(frozen=True)
class Probe:
    expect: dict[str, Any]
    method: str = "get"
    kwargs: dict[str, str] = field(default_factory=dict)  # URL kwarg → key of an object in `world`
    query: dict[str, str] = field(default_factory=dict)  # values "@key" are looked up in `world`
    data: dict[str, Any] = field(default_factory=dict)
    api: bool = False
    label: str = ""


IN_SZ = ("national", "guangdong", "shenzhen")  # 深圳 lies in these scopes
IN_HZ = ("national", "zhejiang", "hangzhou")
IN_GD = ("national", "guangdong")  # the 广东 province port itself: not inside the 深圳 port

NATIONAL_ONLY = ("national",)


def narrowed(ok_plain: dict[str, Any], api: bool = False) -> list[Probe]:
    """A dashboard route plainly, and narrowed with ?port= to 深圳, 杭州 and 广东."""
    anonymous = API_ANON if api else LOGIN
    return [
        Probe(ok_plain, api=api),
        Probe(only(IN_SZ, anonymous=anonymous), query={"port": "440300"}, api=api, label="port=深圳"),
        Probe(only(IN_HZ, anonymous=anonymous), query={"port": "330100"}, api=api, label="port=杭州"),
        Probe(only(IN_GD, anonymous=anonymous), query={"port": "440000"}, api=api, label="port=广东"),
    ]


def by_roster() -> list[Probe]:
    """A roster page plainly, and filtered with ?roster= to each roster (out of scope: 404)."""
    return [
        Probe(admins()),
        Probe(admins(), query={"roster": "@national_roster"}, label="roster=national"),
        Probe(only(IN_SZ), query={"roster": "@sz_roster"}, label="roster=深圳"),
        Probe(only((*IN_GD, "shenzhen")), query={"roster": "@gd_roster"}, label="roster=广东"),
        Probe(only(IN_HZ), query={"roster": "@hz_roster"}, label="roster=杭州"),
        Probe(only(("national", "zhejiang", "hangzhou")), query={"roster": "@zj_roster"}, label="roster=浙江"),
    ]


LIST = Redirect("/rosters/")
# Who may delete which roster: the owner's administrators and the national office; those who see the
# roster but do not own it get 403; those who do not see it 404.
DELETE = {
    "national_roster": only(NATIONAL_ONLY, guangdong=403, zhejiang=403, shenzhen=403, hangzhou=403),
    "sz_roster": only(("national", "shenzhen"), guangdong=403),
    "gd_roster": only(("national", "guangdong"), shenzhen=403),  # 深圳 sees its province's roster
    "hz_roster": only(("national", "hangzhou"), zhejiang=403),
    "zj_roster": only(("national", "zhejiang"), hangzhou=403),
}


def delete_probes() -> list[Probe]:
    probes = []
    for key, expected in DELETE.items():
        probes.append(Probe(expected, kwargs={"pk": key}, label=f"GET {key}"))
        after = {role: (LIST if outcome == 200 else outcome) for role, outcome in expected.items()}
        probes.append(Probe(after, method="post", kwargs={"pk": key}, label=f"POST {key}"))
    return probes


CONTACT = {
    "name": "新联系人",
    "post": "科长",
    "office_phone": "0755-88880000",
    "mobile": "",
    "email": "new@sz.example.cn",
}


def unit_page(key: str) -> Redirect:
    """The statements page of the filing unit `key` of `world` (where a USCC lookup in scope leads)."""
    return Redirect(f"/statements/units/{{{key}}}/")


def report_page(key: str) -> Redirect:
    """The national page of the report `key` of `world` (the port page sends national administrators there)."""
    return Redirect(f"/national/reports/{{{key}}}/")


MATRIX: dict[str, list[Probe]] = {
    # the public application form
    "port_apply:new": [Probe(everyone(200)), Probe(everyone(400), method="post", label="POST empty form")],
    "port_apply:done": [Probe(everyone(Redirect("/ports/apply/")), label="no application in the session")],
    # dashboards and the lists behind them
    "port:home": narrowed(admins(national=Redirect("/national/"))),
    "port:dashboard_export": narrowed(admins()),
    "port:products": narrowed(admins()),
    "port:products_export": narrowed(admins()),
    "port:units": narrowed(admins()),
    "port:units_export": narrowed(admins()),
    "national:home": [Probe(only(NATIONAL_ONLY))],
    # the analysis page (issue 20), narrowed by ?port= as the dashboards; a saved analysis: its owner and the
    # administrators of its port (广东's, shared: 广东 only — the national office sees the national ones)
    "port:analysis": narrowed(admins()),
    "port:analysis_export": narrowed(admins()),
    "port:analysis_save": [Probe(admins(405))],
    "port:analysis_saved": [
        Probe(only(("guangdong",), Redirect("/port/analysis/")), kwargs={"pk": "gd_saved"}),
    ],
    "port:analysis_delete": [Probe(only(("guangdong",)), kwargs={"pk": "gd_saved"})],
    # the read-only pages of a unit and a filed product of the area (issue 20, working from the lists)
    "port:unit": [
        Probe(only(IN_SZ), kwargs={"pk": "sz_filing_unit"}, label="深圳's unit"),
        Probe(only(IN_GD), kwargs={"pk": "gz_filing_unit"}, label="广州's unit"),
        Probe(only(("national", "zhejiang", "hangzhou")), kwargs={"pk": "hz_filing_unit"}, label="杭州's unit"),
    ],
    "port:unit_export": [
        Probe(only(IN_SZ), kwargs={"pk": "sz_filing_unit"}, label="深圳's unit"),
        Probe(only(("national", "zhejiang", "hangzhou")), kwargs={"pk": "hz_filing_unit"}, label="杭州's unit"),
    ],
    "port:product": [
        Probe(only(IN_SZ), kwargs={"pk": "sz_product"}, label="深圳's product"),
        Probe(only(IN_GD), kwargs={"pk": "gz_product"}, label="广州's product"),
    ],
    "port:version": [
        Probe(only(IN_SZ), kwargs={"pk": "sz_version"}, label="深圳's version"),
        Probe(only(("national", "zhejiang", "hangzhou")), kwargs={"pk": "hz_version"}, label="杭州's version"),
    ],
    # national: applications and ports
    "national:applications": [Probe(only(NATIONAL_ONLY))],
    "national:applications_export": [Probe(only(NATIONAL_ONLY))],
    "national:application": [
        Probe(only(NATIONAL_ONLY), kwargs={"pk": "js_application"}),
        Probe(only(NATIONAL_ONLY, national=404), kwargs={"pk": "missing_pk"}, label="no such application"),
    ],
    "national:application_scan": [Probe(only(NATIONAL_ONLY), kwargs={"pk": "js_application"})],
    "national:application_approve": [
        Probe(
            only(NATIONAL_ONLY, national=Redirect("/national/applications/{js_application}/")),
            method="post",
            kwargs={"pk": "js_application"},
        )
    ],
    "national:application_return": [
        Probe(
            only(NATIONAL_ONLY, national=Redirect("/national/applications/{sc_application}/")),
            method="post",
            kwargs={"pk": "sc_application"},
            data={"reason": "申请表未盖章，请盖章后重新扫描上传。"},
        )
    ],
    "national:ports": [Probe(only(NATIONAL_ONLY))],
    "national:ports_export": [Probe(only(NATIONAL_ONLY))],
    "national:port": [Probe(only(NATIONAL_ONLY), kwargs={"pk": "sz_unit"})],
    "national:port_contact_add": [
        Probe(
            only(NATIONAL_ONLY, national=Redirect("/national/ports/{sz_unit}/")),
            method="post",
            kwargs={"pk": "sz_unit"},
            data=CONTACT,
        )
    ],
    "national:port_contact_delete": [
        Probe(
            only(NATIONAL_ONLY, national=Redirect("/national/ports/{sz_unit}/")),
            method="post",
            kwargs={"pk": "sz_contact"},
        )
    ],
    # rosters and coverage
    "rosters:list": [Probe(admins())],
    "rosters:export": [Probe(admins())],
    "rosters:upload": [Probe(admins()), Probe(admins(400), method="post", label="POST empty form")],
    "rosters:template": [Probe(admins())],
    # an upload job of the 深圳 port: seen by the ports whose area holds 深圳 and the nation
    "rosters:upload_detail": [Probe(only(IN_SZ), kwargs={"pk": "sz_upload"})],
    "rosters:upload_progress": [Probe(only(IN_SZ), kwargs={"pk": "sz_upload"})],
    "rosters:upload_errors": [Probe(only(IN_SZ), kwargs={"pk": "sz_upload"})],
    "rosters:upload_export": [Probe(admins())],
    # following up (provincial/followup.py), before the deletions below: the confirm step for an enterprise of
    # the 深圳 roster, seen by the ports whose area holds 深圳; a POST without a selection goes back to the list
    "rosters:follow_up": [
        Probe(
            only(IN_SZ),
            method="post",
            data={"uscc": build_uscc(region_code="440306", org_body="MA5PM001"), "kind": "invitation"},
            label="confirm step, 深圳 enterprise",
        ),
        Probe(admins(Redirect("/rosters/missing/")), method="post", data={"kind": "reminder"}, label="nothing ticked"),
    ],
    "rosters:delete": delete_probes(),
    "rosters:coverage": by_roster(),
    "rosters:coverage_export": by_roster(),
    "rosters:missing": by_roster(),
    "rosters:missing_export": by_roster(),
    "rosters:follow_ups": [Probe(admins())],
    "rosters:follow_ups_export": [Probe(admins())],
    "rosters:completeness": [Probe(admins()), Probe(admins(), query={"by": "port"}, label="by port")],
    "rosters:completeness_export": [Probe(admins()), Probe(admins(), query={"by": "port"}, label="by port")],
    # monthly publications and year-end evaluations (the download's `ext` is looked up in `world` too)
    # subscriptions: each user's own (深圳's subscription of its dashboard, with one delivery sent)
    "port:subscriptions": [Probe(admins())],
    "port:subscriptions_export": [Probe(admins())],
    "port:subscribe": [
        Probe(admins(), query={"dashboard": "1"}, label="own dashboard"),
        Probe(only(IN_SZ), query={"dashboard": "1", "port": "440300"}, label="port=深圳"),
        Probe(only(IN_HZ), query={"dashboard": "1", "port": "330100"}, label="port=杭州"),
        Probe(only(IN_GD), query={"dashboard": "1", "port": "440000"}, label="port=广东"),
        Probe(admins(400), method="post", data={"dashboard": "1"}, label="POST without a frequency"),
    ],
    "port:subscription_active": [
        Probe(
            only(("shenzhen",), Redirect("/port/subscriptions/")),
            method="post",
            kwargs={"pk": "sz_subscription"},
            data={"active": "0"},
            label="pause 深圳's",
        )
    ],
    "port:subscription_delete": [Probe(only(("shenzhen",)), kwargs={"pk": "sz_subscription"}, label="confirm 深圳's")],
    "port:subscription_download": [Probe(only(("shenzhen",)), kwargs={"pk": "sz_delivery"}, label="深圳's file")],
    "port:publications": narrowed(admins(national=Redirect("/national/publications/"))),
    "port:publications_export": narrowed(admins()),
    "port:publication_download": [
        Probe(only(IN_SZ), kwargs={"pk": "sz_publication", "ext": "xlsx"}, label="深圳 xlsx"),
        Probe(only(IN_GD), kwargs={"pk": "gd_publication", "ext": "pdf"}, label="广东 pdf"),
        Probe(only(("national", "zhejiang")), kwargs={"pk": "zj_publication", "ext": "pdf"}, label="浙江 pdf"),
        Probe(only(NATIONAL_ONLY), kwargs={"pk": "national_publication", "ext": "xlsx"}, label="全国 xlsx"),
        Probe(only(()), kwargs={"pk": "sz_publication", "ext": "docx"}, label="no such file type"),
    ],
    "national:publications": [
        Probe(only(NATIONAL_ONLY)),
        Probe(only(NATIONAL_ONLY, national=400), query={"period": "2025-13"}, label="bad month"),
    ],
    "national:publications_progress": [Probe(only(NATIONAL_ONLY))],
    "national:publications_rebuild": [
        Probe(
            only(NATIONAL_ONLY, national=Redirect("/national/publications/")),
            method="post",
            data={"kind": "monthly", "period": f"{previous_month():%Y-%m}", "port": "440300"},
        ),
        Probe(only(NATIONAL_ONLY, national=400), method="post", label="POST empty form"),
    ],
    "national:publications_yearend": [
        Probe(
            only(NATIONAL_ONLY, national=Redirect("/national/publications/")),
            method="post",
            data={"year": last_year()},
        ),
        Probe(only(NATIONAL_ONLY, national=400), method="post", label="POST empty form"),
    ],
    # months signed off (issue 20): a port answers for its own month only; the national office's page and actions
    "port:month": [
        Probe(admins(national=Redirect("/national/months/")), kwargs={"month": "last_month"}),
        Probe(only(IN_SZ), kwargs={"month": "last_month"}, query={"port": "440300"}, label="port=深圳"),
        Probe(only(IN_HZ), kwargs={"month": "last_month"}, query={"port": "330100"}, label="port=杭州"),
        Probe(only(IN_GD), kwargs={"month": "last_month"}, query={"port": "440000"}, label="port=广东"),
        Probe(only(()), kwargs={"month": "this_month"}, label="a month not ended"),
    ],
    "port:month_sign": [
        Probe(
            only(("shenzhen",), Redirect("/port/months/{last_month}/")),
            method="post",
            kwargs={"month": "last_month"},
            data={"port": "440300", "edition": "1"},
            label="深圳's month",
        ),
        Probe(only(PORTS, 400), method="post", kwargs={"month": "last_month"}, label="POST own month, no edition"),
    ],
    "port:month_problem": [
        Probe(
            only(("guangdong",), Redirect("/port/months/{last_month}/")),
            method="post",
            kwargs={"month": "last_month"},
            data={"port": "440000", "edition": "1", "note": "广州市少计 1 件。"},
            label="广东's month",
        ),
    ],
    "national:months": [
        Probe(only(NATIONAL_ONLY)),
        Probe(only(NATIONAL_ONLY, national=400), query={"period": "2025-13"}, label="bad month"),
    ],
    "national:months_export": [Probe(only(NATIONAL_ONLY))],
    "national:months_remind": [
        Probe(only(NATIONAL_ONLY), query={"period": f"{previous_month():%Y-%m}"}, label="confirmation page"),
        Probe(
            only(NATIONAL_ONLY, national=Redirect("/national/months/")),
            method="post",
            data={"period": f"{previous_month():%Y-%m}"},
        ),
    ],
    "national:months_release": [
        Probe(
            only(NATIONAL_ONLY, national=Redirect("/national/months/")),
            method="post",
            data={"period": f"{previous_month():%Y-%m}", "edition": "1"},
        ),
        Probe(only(NATIONAL_ONLY, national=400), method="post", label="POST empty form"),
    ],
    "national:month_reopen": [
        Probe(only(NATIONAL_ONLY), kwargs={"month": "last_month", "code": "sz_code"}),
        Probe(
            only(NATIONAL_ONLY, national=400),
            method="post",
            kwargs={"month": "last_month", "code": "sz_code"},
            data={"reason": "更正"},
            label="POST a month not signed",
        ),
    ],
    # progress reports (工作报送)
    "port:reports": [Probe(admins(national=Redirect("/national/reports/")))],
    "port:reports_export": [Probe(admins())],
    "port:report_new": [Probe(only(PORTS)), Probe(only(PORTS, 400), method="post", label="POST empty form")],
    "port:report": [
        Probe(only(IN_SZ, national=report_page("sz_report")), kwargs={"pk": "sz_report"}, label="深圳"),
        Probe(only(IN_GD, national=report_page("gd_report")), kwargs={"pk": "gd_report"}, label="广东"),
        Probe(only(IN_HZ, national=report_page("hz_report")), kwargs={"pk": "hz_report"}, label="杭州"),
    ],
    "port:report_attachment": [
        Probe(only(IN_SZ), kwargs={"pk": "sz_attachment"}, label="深圳"),
        Probe(only(IN_GD), kwargs={"pk": "gd_attachment"}, label="广东"),
    ],
    "national:reports": [Probe(only(NATIONAL_ONLY))],
    "national:reports_export": [Probe(only(NATIONAL_ONLY))],
    "national:reports_typical": [Probe(only(NATIONAL_ONLY))],
    "national:report": [Probe(only(NATIONAL_ONLY), kwargs={"pk": "hz_report"})],
    "national:report_comment": [
        Probe(
            only(NATIONAL_ONLY, national=report_page("hz_report")),
            method="post",
            kwargs={"pk": "hz_report"},
            data={"body": "请补充具体数据。"},
        ),
        Probe(only(NATIONAL_ONLY, national=400), method="post", kwargs={"pk": "hz_report"}, label="POST empty"),
    ],
    "national:report_typical": [
        Probe(only(NATIONAL_ONLY), kwargs={"pk": "hz_report"}, label="GET confirm"),
        Probe(
            only(NATIONAL_ONLY, national=report_page("hz_report")),
            method="post",
            kwargs={"pk": "hz_report"},
            data={"typical": "1"},
        ),
    ],
    # filing statements (备案情况证明): 深圳鹏芯 (深圳), 广州云帆 (广州, the matrix's enterprise), 杭州西溪 (杭州)
    "statements:list": [
        Probe(admins()),
        Probe(
            only(IN_GD, national=unit_page("gz_filing_unit"), guangdong=unit_page("gz_filing_unit")),
            query={"uscc": "@gz_uscc"},
            label="uscc=广州云帆",
        ),
        Probe(
            only(IN_SZ, **{role: unit_page("sz_filing_unit") for role in IN_SZ}),
            query={"uscc": "@sz_uscc"},
            label="uscc=深圳鹏芯",
        ),
        Probe(admins(400), query={"uscc": "not-a-code"}, label="bad uscc"),
    ],
    "statements:export": [Probe(admins())],
    "statements:mine": [
        Probe(only(("enterprise",))),
        Probe(only(("enterprise",), Redirect("/statements/mine/")), method="post", label="POST issue"),
    ],
    "statements:unit": [
        Probe(only(IN_SZ), kwargs={"pk": "sz_filing_unit"}, label="深圳鹏芯"),
        Probe(only(IN_GD), kwargs={"pk": "gz_filing_unit"}, label="广州云帆"),
        Probe(only(IN_HZ), kwargs={"pk": "hz_filing_unit"}, label="杭州西溪"),
        Probe(
            only(IN_HZ, **{role: unit_page("hz_filing_unit") for role in IN_HZ}),
            method="post",
            kwargs={"pk": "hz_filing_unit"},
            label="POST issue 杭州西溪",
        ),
    ],
    "statements:pdf": [
        Probe(only(IN_SZ), kwargs={"pk": "sz_statement"}, label="深圳鹏芯"),
        Probe(only((*IN_GD, "enterprise")), kwargs={"pk": "gz_statement"}, label="广州云帆 (the enterprise's own)"),
        Probe(only(IN_HZ), kwargs={"pk": "hz_statement"}, label="杭州西溪"),
    ],
    "statements:verify": [
        Probe(everyone(200), kwargs={"token": "sz_token"}),
        Probe(everyone(404), kwargs={"token": "missing_token"}, label="unknown token"),
    ],
    # open data: public; only complete months (the current and future months answer 404)
    "opendata:index": [Probe(everyone(200))],
    "opendata:schema": [Probe(everyone(200))],
    "opendata:csv": [
        Probe(everyone(404), kwargs={"month": "this_month"}, label="this month"),
        Probe(everyone(404), kwargs={"month": "future_month"}, label="a future month"),
    ],
    "opendata:json": [
        Probe(everyone(404), kwargs={"month": "this_month"}, label="this month"),
        Probe(everyone(404), kwargs={"month": "future_month"}, label="a future month"),
    ],
    # the API
    "provincial-dashboard": narrowed(admins(anonymous=API_ANON), api=True),
    "provincial-national-ranking": [Probe(only(NATIONAL_ONLY, anonymous=API_ANON), api=True)],
    "provincial-rosters": [
        Probe(admins(anonymous=API_ANON), api=True),
        Probe(admins(400, anonymous=API_ANON), query={"year": "1900"}, api=True, label="bad year"),
    ],
    "provincial-coverage": [
        Probe(admins(anonymous=API_ANON), api=True),
        Probe(admins(anonymous=API_ANON), query={"category": RosterCategory.LITTLE_GIANT}, api=True),
    ],
}


def test_matrix_covers_every_provincial_route() -> None:
    found = provincial_routes()
    assert len(found) >= 30, found
    assert set(MATRIX) == set(found), (
        f"routes without a row in the matrix: {sorted(set(found) - set(MATRIX))}; "
        f"rows without a route: {sorted(set(MATRIX) - set(found))}"
    )
    for name, probes in MATRIX.items():
        assert probes, name
        for probe in probes:
            assert set(probe.expect) == set(ROLES), (name, probe.label)


# ---------------------------------------------------------------------------------------------------------------
# The world: demo data, the 杭州 port, rosters of every owner, applications, a contact, one more enterprise

_serials = itertools.count(7000)
BAOAN = build_uscc(region_code="440306", org_body="MA5PM001")  # 深圳 宝安, not registered
NANHAI = build_uscc(region_code="440605", org_body="MA5PM002")  # 佛山 南海, not registered
XIHU = build_uscc(region_code="330106", org_body="MA2PM003")  # 杭州 西湖, not registered
BINJIANG = build_uscc(region_code="330108", org_body="MA2PM004")  # 杭州 滨江, not registered
NINGBO = build_uscc(region_code="330203", org_body="MA2PM005")  # 宁波 海曙: registered here, one product approved
YUEXIU = build_uscc(region_code="440104", org_body="MA5DM002")  # 广州 越秀, on the demo roster


def roster_file(rows: list[tuple[str, str]]) -> SimpleUploadedFile:
    book = Workbook()
    sheet = book.active
    sheet.append(["统一社会信用代码", "企业名称"])
    for row in rows:
        sheet.append(list(row))
    buffer = BytesIO()
    book.save(buffer)
    return SimpleUploadedFile("名单.xlsx", buffer.getvalue())


def upload_roster(user: User, title: str, rows: list[tuple[str, str]]) -> Roster:
    return roster_service.roster_import(
        user=user,
        category=RosterCategory.LITTLE_GIANT,
        year=china_today().year,
        title=title,
        file=roster_file(rows),
        source_name="名单.xlsx",
    )


def queue_roster_upload(user: User, title: str, rows: list[tuple[str, str]]) -> RosterUpload:
    """A roster upload job (the pages' path), left queued: its pages are the same whatever its status. Last
    year's list: this year's 小巨人 roster of the port exists already (one roster per port, category and year)."""
    return roster_service.roster_upload_create(
        user=user,
        category=RosterCategory.LITTLE_GIANT,
        year=china_today().year - 1,
        title=title,
        file=roster_file(rows),
    )


def approved_unit(make_user: Callable[..., User], uscc: str, name: str, county: str) -> FilingUnit:
    """A registered enterprise with one approved product, through the services and the workflow."""
    unit = FilingUnit(uscc=uscc, name=name, region_id=county, contact_name="宁联系", contact_email="nb@example.cn")
    unit.full_clean()
    unit.save()
    identity.unit_verify(unit=unit, method=VerificationMethod.ADMINISTRATOR, note="test")  # filings/identity.py
    user = make_user(f"{uscc.lower()}@example.cn", Role.ENTERPRISE)
    UnitMembership.objects.create(user=user, unit=unit, is_manager=True)
    number = build_patent_number(year=2019, type_digit="1", serial=next(_serials))
    right = services.patent_right_create(unit=unit, user=user, data={"number": number, "title": f"测试专利 {number}"})
    version = services.product_create(
        unit=unit,
        user=user,
        data={
            "name": "宁波测试产品",
            "model": "NB-1",
            "product_class": ProductClass.objects.get(code="04"),
            "sales": Decimal(4321),
            "exports": Decimal(123),
            "output_value": Decimal(4500),
        },
        links=[{"right": right.pk, "is_core": True, "contribution": Decimal(60), "embodiment": "主体结构"}],
    )
    workflow.version_submit(version=version, user=user)
    workflow.version_approve(version=version, user=User.objects.get(email="reviewer@example.cn"))
    return unit


def apply_for(code: str, admin_email: str) -> PortApplication:
    return application_service.submit_application(
        unit=ManagementUnit.objects.get(code=code),
        office_name=f"{code} 知识产权局",
        person_in_charge="张处长",
        applicant_email=f"office-{code}@example.cn",
        form_scan=SimpleUploadedFile("scan.pdf", PDF, content_type="application/pdf"),
        contacts=[{"name": "管理员", "mobile": "13900000000", "email": admin_email, "is_admin": True}],
    )


@pytest.fixture(scope="module", autouse=True)
def _media(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    media = str(tmp_path_factory.mktemp("matrix-media"))
    with override_settings(MEDIA_ROOT=media):
        yield media


def ready_publication(code: str, media_root: str) -> Publication:
    """Last month's publication of a port (or NATIONAL), ready, with two small files under MEDIA_ROOT."""
    unit = None if code == NATIONAL_SCOPE else ManagementUnit.objects.get(code=code)
    publication = Publication(unit=unit, kind="monthly", period=previous_month(), status="ready", progress=100)
    for ext in ("xlsx", "pdf"):
        relative = f"publications/matrix/{code}.{ext}"
        stored = default_storage.save(relative, ContentFile(f"{ext} {code}".encode()))  # under media_root, or S3
        setattr(publication, f"{ext}_file", stored)
    publication.save()
    return publication


def make_user(email: str, role: str) -> User:
    return UserFactory(email=email, role=role)


@pytest.fixture(scope="module")
def module_world(
    django_db_setup: None, django_db_blocker: Any, demo_world: None, _media: str
) -> Iterator[dict[str, Any]]:
    """The world, built once for the module's tests; each test runs in a savepoint inside the module's
    transaction (the matrix's POSTs change data: the next test does not see it)."""
    with django_db_blocker.unblock(), worlds.module_world():
        worlds.ensure_demo()
        yield _build_world()


@pytest.fixture
def world(module_world: dict[str, Any], db: None) -> dict[str, Any]:
    return copy.deepcopy(module_world)  # the objects as built, whatever the test before did to its copy


def _build_world() -> dict[str, Any]:
    users = {u.email.split("@")[0]: u for u in User.objects.all()}
    hangzhou_unit = ManagementUnit.objects.get(code="330100")
    users["hangzhou"] = make_user("hangzhou@example.cn", Role.PORT_ADMIN)
    port_add_admin(unit=hangzhou_unit, user=users["hangzhou"])
    users["enterprise"] = users["ent-gz"]
    national_roster = Roster.objects.get(owner=None)
    sz_ent = FilingUnit.objects.get(name="深圳鹏芯微电子有限公司").uscc
    gz_ent = FilingUnit.objects.get(name="广州云帆智能装备有限公司").uscc
    hz_ent = FilingUnit.objects.get(name="杭州西溪新材料科技有限公司").uscc
    approved_unit(make_user, NINGBO, "宁波海曙测试科技有限公司", "330203")
    objects = {
        "national_roster": national_roster,
        "sz_roster": upload_roster(users["shenzhen"], "深圳名单", [(BAOAN, "深圳宝安示例"), (sz_ent, "深圳鹏芯")]),
        "gd_roster": upload_roster(users["guangdong"], "广东名单", [(NANHAI, "佛山南海示例"), (gz_ent, "广州云帆")]),
        "hz_roster": upload_roster(users["hangzhou"], "杭州名单", [(XIHU, "杭州西湖示例"), (hz_ent, "杭州西溪")]),
        "zj_roster": upload_roster(users["zhejiang"], "浙江名单", [(BINJIANG, "杭州滨江示例"), (NINGBO, "宁波海曙")]),
        "sz_upload": queue_roster_upload(users["shenzhen"], "深圳名单（上传）", [(BAOAN, "深圳宝安示例")]),
        "js_application": apply_for("320000", "admin@js.example.cn"),
        "sc_application": apply_for("510000", "admin@sc.example.cn"),
        "sz_unit": ManagementUnit.objects.get(code="440300"),
        "sz_publication": ready_publication("440300", settings.MEDIA_ROOT),
        "gd_publication": ready_publication("440000", settings.MEDIA_ROOT),
        "zj_publication": ready_publication("330000", settings.MEDIA_ROOT),
        "national_publication": ready_publication(NATIONAL_SCOPE, settings.MEDIA_ROOT),
    }
    objects["sz_subscription"] = subscription_service.subscription_create(
        owner=users["shenzhen"],
        kind="dashboard",
        analysis_id=None,
        port_code="",
        frequency="monthly",
        file_format="xlsx",
    )
    (delivery_pk,) = subscription_service.ensure_deliveries()
    objects["sz_delivery"] = subscription_service.build_delivery(delivery_pk)
    objects["sz_contact"] = application_service.contact_add(
        unit=objects["sz_unit"],
        data={"name": "深联系", "mobile": "13800000000", "email": "contact@sz.example.cn"},
        user=users["national"],
    )
    objects["sz_report"] = ProgressReport.objects.get(unit__code="440300")  # the demo's
    objects["gd_report"] = ProgressReport.objects.get(unit__code="440000")  # the demo's
    objects["hz_report"] = ProgressReport.objects.create(
        unit=hangzhou_unit, category="problem", title="杭州报送", body="正文", submitted_by=users["hangzhou"]
    )
    for key in ("sz", "gd"):
        objects[f"{key}_attachment"] = ProgressReportAttachment.objects.create(
            report=objects[f"{key}_report"], file=ContentFile(PDF, name="r.pdf"), kind="pdf", original_name="r.pdf"
        )
    for key, name in (
        ("sz", "深圳鹏芯微电子有限公司"),
        ("gz", "广州云帆智能装备有限公司"),
        ("hz", "杭州西溪新材料科技有限公司"),
    ):
        objects[f"{key}_filing_unit"] = FilingUnit.objects.get(name=name)
        objects[f"{key}_statement"] = statement_service.statement_issue(
            unit=objects[f"{key}_filing_unit"], user=users["national"]
        )
    # the ports' read-only pages (provincial/views/worklists.py): a filed product of each unit and its version
    for key in ("sz", "gz", "hz"):
        version = (
            ProductVersion.objects.filter(product__unit=objects[f"{key}_filing_unit"], submitted_at__isnull=False)
            .order_by("pk")
            .first()
        )
        objects[f"{key}_product"], objects[f"{key}_version"] = version.product, version
    # 广东's saved analysis, shared within the 广东 port (provincial/analysis/)
    objects["gd_saved"] = SavedAnalysis.objects.create(
        owner=users["guangdong"],
        unit=ManagementUnit.objects.get(code="440000"),
        name="广东分析",
        definition={"rows": ["city"], "measures": ["products"]},
        shared=True,
    )
    pks = {key: obj.pk for key, obj in objects.items()}
    for key in ("sz", "gz", "hz"):
        pks[f"{key}_uscc"] = objects[f"{key}_filing_unit"].uscc
    pks["sz_token"], pks["missing_token"] = objects["sz_statement"].token, "0" * 32
    pks["this_month"], pks["future_month"] = china_today().strftime("%Y-%m"), f"{china_today().year + 1}-01"
    pks["last_month"], pks["sz_code"] = f"{previous_month():%Y-%m}", "440300"
    pks["missing_pk"] = max(pks["js_application"], pks["sc_application"]) + 1000
    pks.update({"xlsx": "xlsx", "pdf": "pdf", "docx": "docx"})  # the download's `ext` kwarg
    return {"users": users, "objects": objects, "pks": pks}


# ---------------------------------------------------------------------------------------------------------------
# Running the matrix


def client_for(user: User | None, api: bool) -> Client | APIClient:
    client: Client | APIClient = CurrentAPIClient() if api else CurrentClient()
    if user is not None:
        client.force_login(user)
    return client


def check(answer: Any, expected: Any, pks: dict[str, int]) -> str | None:
    """None if the answer is the expected outcome, else what went wrong."""
    status = answer.status_code
    location = answer.get("Location", "")
    if expected == LOGIN:
        ok = status == 302 and location.startswith(reverse("login"))
    elif expected == API_ANON:
        ok = status in (401, 403)
    elif isinstance(expected, Redirect):
        ok = status == 302 and location.split("?")[0] == expected.to.format(**pks)
    else:
        ok = status == expected
    return None if ok else f"expected {expected}, got {status} {location}".strip()


def probe_order(item: tuple[str, Probe]) -> int:
    return 0 if item[1].method == "get" else 1  # reads first, then the actions that change data


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(world: dict[str, Any], role: str) -> None:
    user = world["users"].get(role)
    pks = world["pks"]
    client = client_for(user, api=False)
    api = client_for(user, api=True)
    failures, cells = [], 0
    probes = [(name, probe) for name, rows in MATRIX.items() for probe in rows]
    for name, probe in sorted(probes, key=probe_order):
        url = reverse(name, kwargs={k: pks[v] for k, v in probe.kwargs.items()})
        query = {k: (pks[v[1:]] if v.startswith("@") else v) for k, v in probe.query.items()}
        target = api if probe.api else client
        if probe.method == "get":
            answer = target.get(url, query)
        else:
            answer = target.post(f"{url}?{'&'.join(f'{k}={v}' for k, v in query.items())}", probe.data)
        problem = check(answer, probe.expect[role], pks)
        if answer.streaming:  # the application scan: read it, so that the file is closed
            b"".join(answer.streaming_content)
        cells += 1
        if problem:
            failures.append(f"{probe.method.upper()} {name} {probe.label or query or ''}: {problem}")
    assert cells == len(probes) >= len(MATRIX)
    assert not failures, f"{role}:\n" + "\n".join(failures)


def test_actions_really_happened_for_the_national_administrator(world: dict[str, Any]) -> None:
    """The matrix's successful POSTs did what they say (so a 302 is not an error page in disguise)."""
    national = client_for(world["users"]["national"], api=False)
    pks = world["pks"]
    assert national.post(reverse("national:application_approve", args=[pks["js_application"]])).status_code == 302
    assert PortApplication.objects.get(pk=pks["js_application"]).status == "approved"
    assert ManagementUnit.objects.get(code="320000").is_open
    assert national.post(reverse("rosters:delete", args=[pks["sz_roster"]])).status_code == 302
    assert not Roster.objects.filter(pk=pks["sz_roster"]).exists()
    assert national.post(reverse("national:port_contact_delete", args=[pks["sz_contact"]])).status_code == 302
    assert not PortContact.objects.filter(pk=pks["sz_contact"]).exists()
    # a port administrator's refused delete changed nothing
    guangdong = client_for(world["users"]["guangdong"], api=False)
    assert guangdong.post(reverse("rosters:delete", args=[pks["national_roster"]])).status_code == 403
    assert guangdong.post(reverse("rosters:delete", args=[pks["hz_roster"]])).status_code == 404
    assert Roster.objects.filter(pk__in=[pks["national_roster"], pks["hz_roster"]]).count() == 2


# ---------------------------------------------------------------------------------------------------------------
# No total includes out-of-scope data

# role → (region filter on province/city/county codes, filter on the rosters the role sees)
REGIONS: dict[str, tuple[Q, Q]] = {
    "national": (Q(), Q()),
    "guangdong": (Q(province_code="440000"), Q(owner__isnull=True) | Q(owner__code__startswith="44")),
    # a city port sees its province's rosters too (their entries in its city): the one area rule
    "shenzhen": (Q(city_code="440300"), Q(owner__isnull=True) | Q(owner__code__in=["440300", "440000"])),
    "zhejiang": (Q(province_code="330000"), Q(owner__isnull=True) | Q(owner__code__startswith="33")),
    "hangzhou": (Q(city_code="330100"), Q(owner__isnull=True) | Q(owner__code__in=["330100", "330000"])),
}


@dataclass
class Expected:
    units: set[str]
    filed: set[int]
    approved: set[int]
    sales: Decimal
    exports: Decimal
    roster_entries: dict[int, int]  # roster pk → entries in the region
    entries: set[str]
    covered: set[str]
    certified: set[int]

    @property
    def missing(self) -> set[str]:
        return self.entries - self.covered


def expected_for(role: str) -> Expected:
    """Counted straight from the ORM, restricted by region codes: no `visible_to`, no app selector."""
    region, owners = REGIONS[role]
    products = Product.objects.filter(region)
    approved = products.filter(published_version__isnull=False)
    sums = approved.aggregate(sales=Sum("published_version__sales"), exports=Sum("published_version__exports"))
    entries = RosterEntry.objects.filter(region).filter(roster__in=Roster.objects.filter(owners))
    filed_usccs = set(
        Product.objects.filter(published_version__isnull=False).values_list("unit__uscc", flat=True).distinct()
    )
    usccs = set(entries.values_list("uscc", flat=True))
    return Expected(
        units=set(FilingUnit.objects.filter(region).values_list("uscc", flat=True)),
        filed=set(products.filter(versions__submitted_at__isnull=False).values_list("pk", flat=True)),
        approved=set(approved.values_list("pk", flat=True)),
        sales=sums["sales"] or Decimal(0),
        exports=sums["exports"] or Decimal(0),
        roster_entries={
            roster.pk: entries.filter(roster=roster).count() for roster in Roster.objects.filter(owners).order_by("pk")
        },
        entries=usccs,
        covered=usccs & filed_usccs,
        certified=set(
            products.filter(candidacies__status="certified", candidacies__round__stage="final").values_list(
                "pk", flat=True
            )
        ),
    )


def sheet(answer: Any) -> list[tuple[Any, ...]]:
    assert answer.status_code == 200, answer.status_code
    book = load_workbook(BytesIO(answer.content), read_only=True)
    return [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]


def test_the_world_tells_the_scopes_apart(world: dict[str, Any]) -> None:
    """The counts below would not catch a leak if the scopes had the same data: they do not."""
    gd, sz, zj, hz, nat = (expected_for(r) for r in ("guangdong", "shenzhen", "zhejiang", "hangzhou", "national"))
    assert sz.approved < gd.approved < nat.approved and hz.approved < zj.approved < nat.approved
    assert sz.units < gd.units and hz.units < zj.units and not gd.units & zj.units
    assert sz.entries < gd.entries and hz.entries < zj.entries
    assert sz.covered and hz.covered and sz.missing and hz.missing
    assert sz.certified < gd.certified < nat.certified and zj.certified < nat.certified
    # 滨江 is in 杭州, on 浙江's roster: 杭州 counts it as 浙江 counts 杭州 (one area rule); 宁波 is not 杭州's
    assert BINJIANG in zj.missing and BINJIANG in hz.missing
    assert NINGBO in zj.covered and NINGBO not in hz.entries


@pytest.mark.parametrize("role", list(REGIONS))
def test_no_total_includes_out_of_scope_data(world: dict[str, Any], role: str) -> None:
    user = world["users"][role]
    want = expected_for(role)
    client = client_for(user, api=False)
    api = client_for(user, api=True)

    # the dashboard page, its API and its export
    home = reverse("national:home") if role == "national" else reverse("port:home")
    totals = client.get(home).context["data"]["totals"]
    figures = (totals["units"], totals["filed"], totals["approved"], totals["sales"], totals["exports"])
    assert figures == (len(want.units), len(want.filed), len(want.approved), want.sales, want.exports)
    assert totals["certified"] == len(want.certified)
    api_totals = api.get(reverse("provincial-dashboard")).json()["totals"]
    assert (api_totals["units"], api_totals["filed"], api_totals["approved"]) == figures[:3]
    assert Decimal(str(api_totals["sales"])) == want.sales
    assert Decimal(str(api_totals["exports"])) == want.exports
    overview = {row[1]: row[2] for row in sheet(client.get(reverse("port:dashboard_export"))) if row[0] == "总体"}
    assert (overview["备案单位"], overview["已提交备案产品"], overview["通过备案产品"]) == figures[:3]

    # the lists behind the figures and their exports
    units = sheet(client.get(reverse("port:units_export")))[1:]
    assert {row[1] for row in units} == want.units
    filed = sheet(client.get(reverse("port:products_export")))[1:]
    approved = sheet(client.get(reverse("port:products_export"), {"status": "approved"}))[1:]
    assert len(filed) == len(want.filed) and len(approved) == len(want.approved)
    numbers = set(Product.objects.filter(pk__in=want.approved).values_list("filing_number", flat=True))
    assert {row[0] for row in approved} == numbers
    in_scope_names = set(FilingUnit.objects.filter(uscc__in=want.units).values_list("name", flat=True))
    assert {row[4] for row in filed} <= in_scope_names
    assert client.get(reverse("port:units")).context["paginator"].count == len(want.units)
    assert client.get(reverse("port:products")).context["paginator"].count == len(want.filed)

    # rosters and coverage: page, API, exports
    coverage = client.get(reverse("rosters:coverage")).context["total"]
    assert (coverage.entries, coverage.covered) == (len(want.entries), len(want.covered))
    api_coverage = api.get(reverse("provincial-coverage")).json()["total"]
    assert (api_coverage["entries"], api_coverage["covered"]) == (len(want.entries), len(want.covered))
    [total_row] = [r for r in sheet(client.get(reverse("rosters:coverage_export"))) if r[1] == "合计（去重）"]
    assert (total_row[2], total_row[3], total_row[4]) == (len(want.entries), len(want.covered), len(want.missing))
    missing = sheet(client.get(reverse("rosters:missing_export")))[1:]
    assert sorted(row[0] for row in missing) == sorted(want.missing)
    assert client.get(reverse("rosters:missing")).context["total"] == len(want.missing)
    listed = sheet(client.get(reverse("rosters:export")))[1:]
    assert len(listed) == len(want.roster_entries)
    titles = dict(Roster.objects.values_list("title", "pk"))
    assert {titles[row[0]]: row[4] for row in listed} == want.roster_entries
    api_rosters = api.get(reverse("provincial-rosters")).json()
    api_rosters = api_rosters.get("results", api_rosters) if isinstance(api_rosters, dict) else api_rosters
    assert {r["id"]: r["entries_in_scope"] for r in api_rosters} == want.roster_entries

    if role == "national":
        assert len(sheet(client.get(reverse("national:applications_export")))) - 1 == PortApplication.objects.count()
        assert len(sheet(client.get(reverse("national:ports_export")))) - 1 == ManagementUnit.objects.count() == 47


def test_the_shenzhen_port_never_counts_guangzhou(world: dict[str, Any]) -> None:
    shenzhen = client_for(world["users"]["shenzhen"], api=False)
    guangzhou_units = set(FilingUnit.objects.filter(city_code="440100").values_list("name", flat=True))
    guangzhou_products = set(
        Product.objects.filter(city_code="440100", published_version__isnull=False).values_list("pk", flat=True)
    )
    assert guangzhou_units and guangzhou_products  # the demo has them: the checks below can fail
    answer = shenzhen.get(reverse("port:home"))
    assert {row["code"][:4] for row in answer.context["data"]["ranking"]} == {"4403"}
    assert not guangzhou_products & {p.pk for p in shenzhen.get(reverse("port:products")).context["products"]}
    filed = sheet(shenzhen.get(reverse("port:products_export")))[1:]
    assert filed and not {row[4] for row in filed} & guangzhou_units
    units = sheet(shenzhen.get(reverse("port:units_export")))[1:]
    assert units and not {row[0] for row in units} & guangzhou_units
    missing = {row[0] for row in sheet(shenzhen.get(reverse("rosters:missing_export")))[1:]}
    assert missing == {build_uscc(region_code="440304", org_body="MA5DM003"), BAOAN}
    assert YUEXIU not in missing and NANHAI not in missing
    # a 广州 drill-down inside 深圳's dashboard answers 404, as 广州's port itself would (one area rule)
    assert shenzhen.get(reverse("port:products"), {"region": "440100"}).status_code == 404
    # and the province port does count 广州
    guangdong = client_for(world["users"]["guangdong"], api=False)
    gd_products = guangdong.get(reverse("port:products"), {"region": "440100", "status": "approved"})
    assert {p.pk for p in gd_products.context["products"]} == guangzhou_products
