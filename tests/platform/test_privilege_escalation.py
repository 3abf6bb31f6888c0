"""等保 2.0 access-control test item: privilege escalation, over EVERY URL pattern × every role × foreign objects.

Nothing here is written per URL. The matrix is generated from the URL configuration when the test runs:

- every URL pattern (pages, downloads, POST actions, API viewset routes under /api/v1/ with their format
  suffixes) is walked with `get_resolver()`, like tests/platform/test_scoping_coverage.py does;
- each URL kwarg is either a value kwarg (`VALUE_KWARGS`: file type, import kind, round action, format …)
  or names an object; the object's model comes from the view (`model`, or a viewset's `queryset`) unless
  `OBJECT_KWARGS` says otherwise (routes whose kwarg is not the view model's pk). A route that cannot be
  classified fails `test_every_route_is_classified`, so a new endpoint has to be taken into account;
- the roles are the demo's national administrator, reviewer, 广东 (province port), 深圳 (city port),
  浙江 (another province's port), the enterprise users of unit A (广州) and unit B (深圳), an expert with
  assignments, an expert without any, an anonymous visitor, and one account for every other value of
  `Role` (a new role is probed without writing a test; it sees no business data until the scoping rule
  says otherwise);
- for every (route, role) the objects are built from the demo (plus a second certification round walked
  to the expert stage, images, import jobs, publications, contacts, an application, objections and port
  rosters added here): one object inside the role's scope and up to four OUTSIDE it (`visible_to` decides;
  the "neighbour" objects first: 广州's for 深圳, 浙江's for 广东, unit B's for unit A, another expert's
  assignments), of different statuses where the model has one (one where the role gate answers first).

What is asserted, per role:
- an object outside the role's scope answers 404 on pages and 403/404 on the API (405 only where the view
  has no handler for that method at all) for GET, POST, PUT, PATCH and DELETE with an empty body, and the
  database is unchanged after the write attempts (rows and max id of every table, the targeted row itself,
  and a hash of every table's content over the whole sweep);
- reference data every role may read (methods, benchmarks, rounds) may not be changed by a role that does
  not administer it; a page a role may not open (GET 404) may not be written either;
- anonymous visitors get the login redirect on every non-public page and 401/403 on the API; routes whose
  scope_policy is "public" or "account" are skipped for reads, and their writes change nothing;
- no request of the sweep answers a server error;
- `test_every_object_route_finds_its_object` proves the objects are the right ones: for every object route
  some role inside the scope gets something other than 404, so a 404 above is a refusal, not a bad URL.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, models, transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RoutePattern
from rest_framework.test import APIClient
from rest_framework.views import APIView

from evaluation import industry, publicity
from evaluation.choices import Stage
from evaluation.models import (
    AdditionalInfo,
    Assignment,
    Candidate,
    ExpertProfile,
    Holiday,
    MethodVersion,
    Objection,
    Round,
)
from filings.choices import ConflictKind, CreditListKind, IdentityRequestKind, ImportKind
from filings.models import (
    CreditListImport,
    FilingUnit,
    IdentityRequest,
    ImportJob,
    PatentConflict,
    PatentRight,
    Product,
    ProductImage,
    ProductVersion,
    WebhookDelivery,
)
from filings.workflow import china_today
from patent_platform.choices import Role
from patent_platform.clock import previous_month
from patent_platform.models import AuditEvent, Region, User
from patent_platform.scoping import EVERYTHING, ScopedQuerySet, forget_scope, principal_for
from provincial import applications as application_service
from provincial import dashboards, statements
from provincial.choices import RosterCategory
from provincial.models import (
    NATIONAL_SCOPE,
    FilingStatement,
    ManagementUnit,
    PortMembership,
    ProgressReport,
    ProgressReportAttachment,
    Publication,
    Roster,
    RosterUpload,
    SavedAnalysis,
    Subscription,
    SubscriptionDelivery,
    SummaryCell,
    SummaryDirty,
    SummaryState,
)
from provincial.views.publications import CONTENT_TYPES
from tests import worlds
from tests.evaluation.conftest import SCORES, walk_second_round
from tests.factories import UserFactory
from verification import services as verification_services

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
METHODS = ("get", "post", "put", "patch", "delete")
# Foreign objects per (route, role), of as many statuses: a page that only shows certified candidates is probed
# with another unit's certified one, not only with its failed ones.
FOREIGN = 4
WRITES = METHODS[1:]

# ---------------------------------------------------------------------------------------------------------------
# Classifying the routes

# Views of Django and libraries: no scoped data (see test_scoping_coverage.THIRD_PARTY); treated as public.
THIRD_PARTY = ("django.views.i18n", "drf_spectacular.views", "rest_framework.routers")
# URL kwargs that do not name an object: the values to try.
VALUE_KWARGS: dict[str, list[str]] = {
    "format": ["json"],
    "ext": sorted(CONTENT_TYPES),
    "kind": list(ImportKind.values),
    "action": ["evaluate", "request-information", "start-industry", "start-publicity", "finalize"],
    "uidb64": ["MQ"],
    "token": ["set-password"],
    "month": ["2026-01"],  # open data: a month (public files)
    "which": ["letter", "licence"],  # a unit's identity proofs (filings/views/identity.py)
    "provider": ["gov"],  # an identity provider of the government login (patent_platform/oidc.py)
}
# Routes whose object kwarg is not the pk of the view's `model` (or whose view has no `model`):
# route name → (kwarg, model, the model field the kwarg holds).
OBJECT_KWARGS: dict[str, tuple[str, type[models.Model], str]] = {
    "certification:indicator_new": ("pk", MethodVersion, "pk"),
    "certification:attachment": ("pk", AdditionalInfo, "candidate_id"),
    "certification:candidate": ("pk", Candidate, "pk"),
    "certification:candidate_info": ("pk", Candidate, "pk"),
    "certification:assignment": ("pk", Assignment, "pk"),
    "certification:self_check": ("version_pk", ProductVersion, "pk"),
    "public:product": ("filing_number", Product, "filing_number"),
    "public:image": ("pk", ProductImage, "pk"),
    "certified:publicity": ("pk", Round, "pk"),
    "certified:objection": ("pk", Candidate, "pk"),
    "certified:verify": ("number", Candidate, "certificate_number"),
    "webhooks:replay": ("delivery_pk", WebhookDelivery, "pk"),
    "webhook-replay": ("delivery_id", WebhookDelivery, "pk"),
    # the verification API (verification/api/): objects by their numbers
    "verify-filing": ("filing_number", Product, "filing_number"),
    "verify-certificate": ("number", Candidate, "certificate_number"),
    "verify-statement": ("number", FilingStatement, "number"),
    "verify-unit-products": ("uscc", FilingUnit, "uscc"),
    # the national office reopens a port's signed month (provincial/views/signoff.py): the port by its code
    "national:month_reopen": ("code", ManagementUnit, "code"),
    # what officials keep for themselves (provincial/views/analysis.py, subscriptions.py): by their own pks
    "port:analysis_saved": ("pk", SavedAnalysis, "pk"),
    "port:analysis_delete": ("pk", SavedAnalysis, "pk"),
    "port:subscription_active": ("pk", Subscription, "pk"),
    "port:subscription_delete": ("pk", Subscription, "pk"),
    "port:subscription_download": ("pk", SubscriptionDelivery, "pk"),
}
# APIs that take only an outside system's OAuth2 token (verification/api/views.py): a person's session or API
# token is no credential there, so every role gets 401, whatever the object (tests/verification/test_api.py holds
# the clients themselves to their regions).
CLIENT_ONLY_MODULES = ("verification.api.views",)
# Routes that also name the target's parent: route name → {kwarg: the target's attribute holding it}.
PARENT_KWARGS: dict[str, dict[str, str]] = {
    "webhooks:replay": {"pk": "endpoint_id"},
    "webhook-replay": {"pk": "endpoint_id"},
}


@dataclass(frozen=True)
class Route:
    pattern: str
    name: str
    callback: Any
    kwargs: tuple[str, ...]
    parts: tuple[Any, ...] = ()  # the pattern objects from the root down (several routes share a name)

    @property
    def cls(self) -> Any:
        return getattr(self.callback, "view_class", None) or getattr(self.callback, "cls", None)

    @property
    def module(self) -> str:
        return (self.cls or self.callback).__module__

    @property
    def api(self) -> bool:
        return self.cls is not None and issubclass(self.cls, APIView)

    @property
    def policy(self) -> str:
        if self.module.startswith(THIRD_PARTY):
            return "public"
        return getattr(self.cls or self.callback, "scope_policy", "") or ""

    @property
    def scoped(self) -> bool:
        return self.policy == "scoped"

    def handles(self, method: str) -> bool:
        """Whether the view has a handler for `method` at all (else 405 is the same answer for any object)."""
        if self.cls is not None and method not in self.cls.http_method_names:
            return False
        actions = getattr(self.callback, "actions", None)
        if actions is not None:
            return method in actions
        return self.cls is not None and hasattr(self.cls, method)

    def view_model(self) -> type[models.Model] | None:
        cls = self.cls
        if cls is None:
            return None
        queryset = getattr(cls, "queryset", None)
        if queryset is not None:
            return queryset.model
        return getattr(cls, "model", None)

    @property
    def object_kwargs(self) -> list[str]:
        return [k for k in self.kwargs if k not in VALUE_KWARGS]

    def target(self) -> tuple[str, type[models.Model], str] | None:
        """(kwarg, model, field) of the object the route names, None without one; raises if unknown."""
        if not self.object_kwargs:
            return None
        if self.name in OBJECT_KWARGS:
            return OBJECT_KWARGS[self.name]
        model = self.view_model()
        if self.object_kwargs == ["pk"] and model is not None:
            return "pk", model, "pk"
        raise LookupError(f"{self.pattern} ({self.name}, {self.module}): kwargs {self.object_kwargs} name no model")


def walk(patterns: list[Any], prefix: str = "", namespace: str = "", parts: tuple[Any, ...] = ()) -> Iterator[Route]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}:{p.namespace}" if namespace and p.namespace else (p.namespace or namespace)
            yield from walk(p.url_patterns, prefix + str(p.pattern), ns, (*parts, p.pattern))
        elif isinstance(p, URLPattern):
            name = f"{namespace}:{p.name}" if namespace else str(p.name)
            kwargs = tuple(k for part in (*parts, p.pattern) for k in part.regex.groupindex)
            yield Route(prefix + str(p.pattern), name, p.callback, kwargs, (*parts, p.pattern))


def all_routes() -> list[Route]:
    return [r for r in walk(get_resolver().url_patterns) if not r.pattern.startswith(settings.ADMIN_URL)]


def value_combinations(route: Route) -> list[dict[str, str]]:
    combos: list[dict[str, str]] = [{}]
    for kwarg in route.kwargs:
        if kwarg in VALUE_KWARGS:
            combos = [{**c, kwarg: v} for c in combos for v in VALUE_KWARGS[kwarg]]
    return combos


def _fill(part: Any, kwargs: dict[str, Any]) -> str:
    text = str(part)
    if isinstance(part, RoutePattern):
        return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: part.converters[m[1]].to_url(str(kwargs[m[1]])), text)
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(kwargs[m[1]]), text)
    return text.removeprefix("^").removesuffix("$").replace("/?", "").replace("\\.", ".")


def url_for(route: Route, kwargs: dict[str, Any]) -> str:
    """The URL of exactly this pattern (not `reverse` by name: the API roots share theirs)."""
    url = "/" + "".join(_fill(part, kwargs) for part in route.parts)
    match = resolve(url)
    assert match.func is route.callback, f"{url} does not reach {route.pattern}"
    return url


def object_url(route: Route, values: dict[str, str], kwarg: str, obj: models.Model, fld: str) -> str:
    parents = {k: getattr(obj, attribute) for k, attribute in PARENT_KWARGS.get(route.name, {}).items()}
    return url_for(route, {**values, **parents, kwarg: getattr(obj, fld)})


def test_every_route_is_classified() -> None:
    """Every URL pattern is probed: its object kwargs name a model, its value kwargs have values."""
    problems, routes = [], all_routes()
    for route in routes:
        try:
            target = route.target()
        except LookupError as exc:
            problems.append(str(exc))
            continue
        if target is not None and not scoped(target[1]) and getattr(route.cls, "roles", None) is None:
            problems.append(f"{route.pattern}: {target[1].__name__} has no scoped manager and the view no roles")
        if route.policy not in {"scoped", "public", "account"}:
            problems.append(f"{route.pattern} ({route.module}) declares no scope_policy")
    assert len(routes) >= 150 and any(r.pattern.startswith("api/v1/") for r in routes)
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------------------------------
# The roles and the data


@dataclass
class World:
    users: dict[str, User | None]
    neighbours: dict[str, User]  # role → a user whose objects lie next door (preferred out-of-scope objects)
    unit_of: dict[str, FilingUnit] = field(default_factory=dict)


ROLE_KEYS = [
    "national",
    "reviewer",
    "guangdong",
    "shenzhen",
    "zhejiang",
    "enterprise-a",
    "enterprise-b",
    "expert-assigned",
    "expert-unassigned",
    "anonymous",
]
COVERED_ROLES = {Role.NATIONAL_ADMIN, Role.REVIEWER, Role.PORT_ADMIN, Role.ENTERPRISE, Role.EXPERT}
# Roles that see everything (and are allowed to act on it); the rule below is checked for everyone else,
# and for these two too wherever their own scope ends (national-only rows for the reviewer).
ALL_ROLE_KEYS = ROLE_KEYS + [f"role:{value}" for value in Role.values if value not in COVERED_ROLES]
PRIVILEGED = {Role.NATIONAL_ADMIN, Role.REVIEWER}


def _ready_publication(code: str) -> Publication:
    unit = None if code == NATIONAL_SCOPE else ManagementUnit.objects.get(code=code)
    publication = Publication(unit=unit, kind="monthly", period=previous_month(), status="ready", progress=100)
    for ext in CONTENT_TYPES:
        relative = f"publications/escalation/{code}.{ext}"
        stored = default_storage.save(relative, ContentFile(f"{ext} {code}".encode()))  # MEDIA_ROOT, or S3
        setattr(publication, f"{ext}_file", stored)
    publication.save()
    return publication


def _make_user(email: str, role: str) -> User:
    return UserFactory(email=email, role=role)


@pytest.fixture(scope="module")
def module_world(
    django_db_setup: None, django_db_blocker: Any, demo_world: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """The world, built once for the module's tests (each sweep asserts that it changes nothing; each test
    runs in a savepoint inside the module's transaction all the same)."""
    media = tmp_path_factory.mktemp("escalation-media")
    # OTP_REQUIRED_ROLES as in production: staff pass the second factor (see `sign_in`)
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=str(media), OTP_REQUIRED_ROLES=["staff"]),
        worlds.module_world(),
    ):
        worlds.ensure_demo()
        yield _build_world()


@pytest.fixture
def world(module_world: World, db: None) -> World:
    return copy.deepcopy(module_world)  # a test may change the objects it holds: the next one gets them fresh


def _build_world() -> World:
    demo_users = {u.email.split("@")[0]: u for u in User.objects.all()}
    make_user = _make_user
    # pending expert assignments, candidates at several statuses
    walk_second_round(demo_users["national"], Stage.INDUSTRY)
    users = {key: demo_users[key] for key in ("national", "reviewer", "guangdong", "shenzhen", "zhejiang")}
    users |= {"enterprise-a": demo_users["ent-gz"], "enterprise-b": demo_users["ent-sz"]}
    users["expert-assigned"] = demo_users["expert1"]
    unassigned = make_user("expert4@example.cn", Role.EXPERT)
    ExpertProfile.objects.create(user=unassigned, organisation="浙江大学", province_code="330000")
    users["expert-unassigned"] = unassigned
    users["anonymous"] = None
    for key in ALL_ROLE_KEYS:
        if key.startswith("role:"):
            users[key] = make_user(f"{key[5:]}@example.cn", key[5:])
    assert Assignment.objects.filter(expert=users["expert-assigned"], technology__isnull=True).exists()
    assert not Assignment.objects.filter(expert=unassigned).exists()

    # Rows the demo does not have, in several regions and units, so that every role has foreign ones.
    national = users["national"]
    Holiday.objects.create(date=dt.date(2031, 10, 1), name="国庆节")  # the working-day calendar's (national only)
    units = {u.name[:2]: u for u in FilingUnit.objects.all()}  # 广州, 深圳, 杭州
    for unit in units.values():
        version = ProductVersion.objects.filter(product__unit=unit).order_by("pk").first()
        ProductImage.objects.create(version=version, file=ContentFile(PNG, name="p.png"), content_type="image/png")
        member = unit.memberships.first().user
        ImportJob.objects.create(
            unit=unit,
            kind=ImportKind.PATENTS,
            file=ContentFile(b"x", name="i.xlsx"),
            original_name="i.xlsx",
            created_by=member,
        )
        statements.statement_issue(unit=unit, user=national)
        # a pending identity verification of each unit (its proofs: reviewers and the unit itself only)
        IdentityRequest.objects.create(
            kind=IdentityRequestKind.VERIFICATION,
            unit=unit,
            applicant=member,
            letter=ContentFile(PDF, name="letter.pdf"),
            letter_type="application/pdf",
            licence=ContentFile(PDF, name="licence.pdf"),
            licence_type="application/pdf",
        )
    # a credit-list import of the national office's (national administrators and reviewers only)
    CreditListImport.objects.create(
        kind=CreditListKind.ABNORMAL,
        file=ContentFile(b"x", name="c.csv"),
        original_name="c.csv",
        created_by=national,
    )
    for name, region in (("核验客户端甲", "440000"), ("核验客户端乙", "330000")):  # the national office's only
        verification_services.client_create(
            user=national,
            data={
                "name": name,
                "organisation": name,
                "contact": "",
                "scopes": ["verify:filings"],
                "region": Region.objects.get(code=region),
                "per_minute": 60,
                "per_day": 1000,
                "valid_until": china_today(),
                "note": "",
            },
        )
    for code in ("440300", "440100", "440000", "330000", NATIONAL_SCOPE):
        _ready_publication(code)
    for code in ("440300", "440000", "330000"):
        unit = ManagementUnit.objects.get(code=code)
        application_service.contact_add(
            unit=unit, data={"name": "联系人", "email": f"c{code}@example.cn"}, user=national
        )
        Roster.objects.create(
            category=RosterCategory.LITTLE_GIANT, year=china_today().year, title=f"{code} 名单", owner=unit
        )
        RosterUpload.objects.create(
            category=RosterCategory.LITTLE_GIANT,
            year=china_today().year,
            title=f"{code} 名单",
            owner=unit,
            file=ContentFile(b"x", name="r.xlsx"),
            original_name="r.xlsx",
        )
        # progress reports (工作报送) of three ports, each with an attachment
        report = ProgressReport.objects.create(unit=unit, category="progress", title=f"{code} 报送", body="正文")
        ProgressReportAttachment.objects.create(
            report=report, file=ContentFile(PDF, name="r.pdf"), kind="pdf", original_name="r.pdf"
        )
    # what officials keep for themselves: a shared saved analysis and a subscription with a delivered file each
    for key in ("national", "guangdong", "shenzhen", "zhejiang"):
        owner = users[key]
        port = PortMembership.objects.filter(user=owner).values_list("unit_id", flat=True).first()
        SavedAnalysis.objects.create(
            owner=owner, unit_id=port, name=f"{key} 分析", definition={"rows": ["city"]}, shared=True
        )
        subscription = Subscription.objects.create(
            owner=owner, kind="dashboard", name=f"{key} 订阅", format="xlsx", frequency="monthly"
        )
        stored = default_storage.save(f"subscriptions/{key}.xlsx", ContentFile(b"x"))
        SubscriptionDelivery.objects.create(subscription=subscription, period="2026-10", status="sent", file=stored)
    application_service.submit_application(
        unit=ManagementUnit.objects.get(code="320000"),
        office_name="江苏省知识产权局",
        person_in_charge="张处长",
        applicant_email="office-js@example.cn",
        form_scan=SimpleUploadedFile("scan.pdf", PDF, content_type="application/pdf"),
        contacts=[{"name": "管理员", "mobile": "13900000000", "email": "admin@js.example.cn", "is_admin": True}],
    )
    info = AdditionalInfo.objects.order_by("-pk").first()
    info.attachment.save("material.pdf", ContentFile(PDF), save=True)
    for candidate in Candidate.objects.filter(status="certified")[:2]:
        Objection.objects.create(candidate=candidate, name="某企业", contact="010-1", reasons="专利已无效。")
    # a finished what-if run (national administrators only), its report computed from the demo's final round
    from evaluation import whatif
    from evaluation.models import WhatIfRun

    final = Round.objects.filter(stage="final").select_related("method").first()
    report = whatif.to_data(whatif.compare(Candidate.objects.filter(round=final), final.method))
    WhatIfRun.objects.create(method=final.method, round=final, status="done", report=report, created_by=national)
    # a conflict on a patent of unit A, its two sides in two units (reviewers and national administrators only)
    right_a = PatentRight.objects.filter(unit=units["广州"]).first()
    right_b = PatentRight.objects.filter(unit=units["深圳"]).first()
    conflict = PatentConflict.objects.create(patent=right_a.patent, kind=ConflictKind.MULTIPLE_OWNERS)
    conflict.rights.set([right_a, right_b])
    # a patent status import and open flags on approved versions of two units (patent status drift)
    from filings.models import FilingFlag, PatentLink, PatentStatusImport

    PatentStatusImport.objects.create(file=ContentFile(b"x", name="s.csv"), original_name="s.csv", created_by=national)
    for unit in (units["广州"], units["深圳"]):
        link = PatentLink.objects.filter(version__product__unit=unit, version__status="approved").first()
        FilingFlag.objects.create(version=link.version, patent=link.right.patent, legal_status="lapsed")
    # a verified webhook endpoint of each unit, with one delivery (no request leaves the test: the sweep's
    # writes are rolled back before their after-commit delivery)
    from filings import webhooks
    from filings.models import WebhookEndpoint

    for unit in units.values():
        endpoint = WebhookEndpoint.objects.create(
            unit=unit, url=f"https://erp.example.cn/hooks/{unit.pk}", secret=webhooks.new_secret(), status="active"
        )
        WebhookDelivery.objects.create(
            endpoint=endpoint, event_type="filing.approved", payload={"type": "filing.approved"}, status="delivered"
        )
    neighbours = {
        "shenzhen": users["guangdong"],  # 广州: the same province, another city
        "guangdong": users["zhejiang"],
        "zhejiang": users["guangdong"],
        "enterprise-a": users["enterprise-b"],
        "enterprise-b": users["enterprise-a"],
        "expert-assigned": demo_users["expert2"],  # another expert's pending assignments
        "expert-unassigned": demo_users["expert1"],
    }
    for user in users.values():
        if user is not None:
            forget_scope(user)
    return World(users=users, neighbours=neighbours)


# ---------------------------------------------------------------------------------------------------------------
# Objects in and out of scope


def scoped(model: type[models.Model]) -> bool:
    return isinstance(model._default_manager.all(), ScopedQuerySet)


def _visible_pks(model: type[models.Model], user: User | None, roles: frozenset[str] | None = None) -> set[Any]:
    """What the scoping rule lets `user` see; for a model that is not business data (accounts, for the
    security administrator), what the view's `roles` let the user see: all rows or none."""
    if user is None:
        return set()
    if not scoped(model):
        allowed = roles is not None and user.role in roles
        return set(model._base_manager.values_list("pk", flat=True)) if allowed else set()
    return set(model._default_manager.all().visible_to(user).values_list("pk", flat=True))


def _pick(rows: list[models.Model], preferred: set[Any], limit: int) -> list[models.Model]:
    """Up to `limit` rows, preferred and newest first, of different statuses (or stages) where there are several."""
    rows = sorted(rows, key=lambda r: (r.pk not in preferred, -r.pk))  # the newest rows: the live round's
    picked: list[models.Model] = []
    seen: set[Any] = set()
    for row in rows:
        state = getattr(row, "status", None) or getattr(row, "stage", None)
        if state in seen and len(rows) > limit:
            continue
        picked.append(row)
        seen.add(state)
        if len(picked) == limit:
            break
    return picked


@dataclass
class Objects:
    inside: list[models.Model]
    outside: list[models.Model]
    shared: bool  # every row visible to this non-administering role: reference data it may read, not change


def objects_for(
    model: type[models.Model],
    fld: str,
    key: str,
    world: World,
    roles: frozenset[str] | None = None,
    *,
    inside: int = 1,
) -> Objects:
    user = world.users[key]
    rows_qs = model._base_manager.exclude(**{f"{fld}__isnull": True})
    if isinstance(model._meta.get_field(fld if fld != "pk" else model._meta.pk.name), models.CharField):
        rows_qs = rows_qs.exclude(**{fld: ""})
    rows = list(rows_qs.order_by("pk"))
    assert rows, f"the test data has no {model.__name__} to probe with"
    visible = _visible_pks(model, user, roles)
    neighbour = world.neighbours.get(key)
    preferred = _visible_pks(model, neighbour, roles) if neighbour is not None else set()
    privileged = user is not None and user.role in PRIVILEGED
    shared = not privileged and scoped(model) and bool(visible) and len(visible) == len(rows)
    return Objects(
        _pick([r for r in rows if r.pk in visible], set(), inside),
        _pick([r for r in rows if r.pk not in visible], preferred, FOREIGN),
        shared,
    )


# ---------------------------------------------------------------------------------------------------------------
# The database fingerprint

# The security log records refused attempts too; its append-only rule is tested elsewhere. The dashboards'
# summary cells are derived data that a dashboard read builds or refreshes (provincial/dashboards/); the
# sweep checks instead that they still equal the live figures afterwards.
UNTRACKED = {AuditEvent, SummaryCell, SummaryDirty, SummaryState}
TRACKED_APPS = {"patent_platform", "filings", "evaluation", "provincial", "auth", "guardian", "authtoken"}


def tracked_models() -> list[type[models.Model]]:
    return [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.app_label in TRACKED_APPS and m not in UNTRACKED and m._meta.managed and not m._meta.proxy
    ]


def counts() -> dict[str, tuple[int, Any]]:
    """Rows and max pk of every tracked table, in one query."""
    q = connection.ops.quote_name
    parts = [
        f"SELECT '{m._meta.db_table}', COUNT(*), CAST(MAX({q(m._meta.pk.column)}) AS TEXT) FROM {q(m._meta.db_table)}"  # noqa: S608
        for m in tracked_models()
    ]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts))  # table names from the models' own metadata
        return {table: (n, top) for table, n, top in cursor.fetchall()}


def row(obj: models.Model | None) -> str:
    if obj is None:
        return ""
    return repr(list(type(obj)._base_manager.filter(pk=obj.pk).values_list()))


ACTIVITY = {(User, "last_login")}  # set by signing the test's clients in again after a logout


def content_hash() -> dict[str, str]:
    """A hash of every tracked table's rows: catches an UPDATE anywhere, not only on the targeted row."""
    digests = {}
    for m in tracked_models():
        columns = [f.attname for f in m._meta.concrete_fields if (m, f.attname) not in ACTIVITY]
        values = m._base_manager.order_by("pk").values_list(*columns)
        digests[m._meta.db_table] = hashlib.sha256(repr(list(values)).encode()).hexdigest()
    return digests


# ---------------------------------------------------------------------------------------------------------------
# Requests


def sign_in(client: Client, user: User) -> None:
    client.force_login(user)
    if "django_otp" in settings.INSTALLED_APPS:  # second factor (issue 8 item 1): a verified device in the session
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
            user=user, name="escalation test", confirmed=True
        )
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()


class Prober:
    def __init__(self, user: User | None) -> None:
        self.user = user
        self.page = Client(raise_request_exception=False)
        self.api = APIClient(raise_request_exception=False)
        self.keys: dict[int, str] = {}
        self.login()
        self.requests = 0

    def login(self) -> None:
        if self.user is not None:
            sign_in(self.page, self.user)
            sign_in(self.api, self.user)
            self.keys = {id(c): self._session_key(c) for c in (self.page, self.api)}

    def send(self, route: Route, method: str, url: str) -> Any:
        client = self.api if route.api else self.page
        if route.api:
            answer = getattr(client, method)(url, {} if method != "get" else None, format="json")
        else:
            answer = getattr(client, method)(url)
        if getattr(answer, "streaming", False):
            b"".join(answer.streaming_content)  # close the file
        self.requests += 1
        # a logout or an account page (a new session key) may leave the client signed out: sign in again.
        # The key is read from the cookie; the session itself (a query) only when the key changed.
        if self.user is not None and self._session_key(client) != self.keys.get(id(client)):
            if "_auth_user_id" not in client.session:
                self.login()
            self.keys[id(client)] = self._session_key(client)
        return answer

    @staticmethod
    def _session_key(client: Client) -> str:
        cookie = client.cookies.get(settings.SESSION_COOKIE_NAME)
        return cookie.value if cookie is not None else ""


def describe(answer: Any) -> str:
    return f"{answer.status_code} {answer.get('Location', '')}".strip()


def refused(route: Route, method: str, answer: Any) -> bool:
    """A refusal that tells nothing about the object: 404 (pages), 403/404 (API), 405 without a handler."""
    status = answer.status_code
    if status == 405 and not route.handles(method):
        return True
    if status == 401 and route.module in CLIENT_ONLY_MODULES:
        return True
    return status in ((403, 404) if route.api else (404,))


def login_or_denied(route: Route, answer: Any) -> bool:
    if route.api:
        return answer.status_code in (401, 403)
    return answer.status_code == 302 and answer["Location"].startswith(reverse("login"))


@dataclass
class Sweep:
    failures: list[str] = field(default_factory=list)
    cells: int = 0
    foreign_objects: int = 0

    def fail(self, route: Route, method: str, label: str, message: str) -> None:
        self.failures.append(f"{method.upper()} {route.pattern} [{route.name}] {label}: {message}")


def probe_unchanged(
    prober: Prober, sweep: Sweep, route: Route, url: str, label: str, obj: Any, refuse: tuple[str, ...]
) -> None:
    """Every method on a URL the role must not change anything through: the methods in `refuse` must be
    refused (404 on pages, 403/404 on the API), and no row changes."""
    before, target = counts(), row(obj)
    for method in METHODS:
        answer = prober.send(route, method, url)
        sweep.cells += 1
        if answer.status_code >= 500:
            sweep.fail(route, method, label, f"server error {answer.status_code}")
        elif method in refuse and not refused(route, method, answer):
            sweep.fail(route, method, label, f"answered {describe(answer)}, expected a refusal")
    after = counts()
    if after != before:
        changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
        sweep.fail(route, "write", label, f"rows changed: {changed}")
    if row(obj) != target:
        sweep.fail(route, "write", label, f"the targeted {type(obj).__name__} {obj.pk} changed")


def probe_anonymous(prober: Prober, sweep: Sweep, route: Route, url: str, label: str, obj: Any) -> None:
    """Non-public routes send an anonymous visitor to the login page (401/403 on the API); nothing changes."""
    before, target = counts(), row(obj)
    for method in METHODS:
        answer = prober.send(route, method, url)
        sweep.cells += 1
        if answer.status_code >= 500:
            sweep.fail(route, method, label, f"server error {answer.status_code}")
        elif route.scoped and not login_or_denied(route, answer):
            sweep.fail(route, method, label, f"answered {describe(answer)}, expected the login page or 401/403")
    if counts() != before or row(obj) != target:
        sweep.fail(route, "write", label, "an anonymous request changed the database")


def probe_inside(
    prober: Prober, sweep: Sweep, route: Route, url: str, label: str, methods: tuple[str, ...]
) -> list[int]:
    """An object (or page) the role may use: no server error; writes are rolled back. Returns the statuses."""
    statuses = []
    for method in methods:
        with transaction.atomic():
            answer = prober.send(route, method, url)
            transaction.set_rollback(True)
        sweep.cells += 1
        statuses.append(answer.status_code)
        if answer.status_code >= 500:
            sweep.fail(route, method, label, f"server error {answer.status_code}")
    return statuses


def sweep_role(world: World, key: str) -> Sweep:
    user = world.users[key]
    prober, sweep = Prober(user), Sweep()
    cache: dict[tuple[Any, ...], Objects] = {}

    def objects(model: type[models.Model], fld: str, roles: frozenset[str] | None) -> Objects:
        if (model, fld, roles) not in cache:
            cache[(model, fld, roles)] = objects_for(model, fld, key, world, roles)
        return cache[(model, fld, roles)]

    for route in all_routes():
        target = route.target()
        roles = getattr(route.cls, "roles", None)
        suffix = "format" in route.kwargs  # the same view again: one foreign object is enough
        for values in value_combinations(route):
            if target is None:
                url = url_for(route, values)
                if user is None:
                    probe_anonymous(prober, sweep, route, url, "anonymous", None)
                    continue
                if not route.scoped:  # public and account pages: their writes change nothing scoped
                    probe_unchanged(prober, sweep, route, url, "public page", None, ())
                    continue
                # may the role use this page at all? (OPTIONS where there is no GET: the role gate answers first)
                gate = prober.send(route, "get" if route.handles("get") else "options", url)
                model = route.view_model()
                shared = model is not None and model._base_manager.exists() and objects(model, "pk", roles).shared
                if gate.status_code == 404 or (route.api and gate.status_code == 403) or shared:
                    # a page the role may not open, or reference data it may read but not change
                    probe_unchanged(prober, sweep, route, url, "not this role's", None, WRITES)
                else:
                    probe_inside(prober, sweep, route, url, "own scope", WRITES)
                continue
            kwarg, model, fld = target
            objs = objects(model, fld, roles)
            # one foreign object is enough where the role gate answers before the object is read
            gated = user is not None and roles is not None and user.role not in roles
            for obj in objs.outside[: 1 if suffix or gated else FOREIGN]:
                url = object_url(route, values, kwarg, obj, fld)
                label = f"foreign {model.__name__} {obj.pk}"
                sweep.foreign_objects += 1
                if user is None:
                    probe_anonymous(prober, sweep, route, url, label, obj)
                else:
                    probe_unchanged(prober, sweep, route, url, label, obj, METHODS if route.scoped else ())
            if user is None or suffix:
                continue
            for obj in objs.inside:
                url = object_url(route, values, kwarg, obj, fld)
                label = f"own {model.__name__} {obj.pk}"
                if objs.shared and route.scoped:  # reference data: read it, do not change it
                    probe_unchanged(prober, sweep, route, url, f"reference {label}", obj, WRITES)
                else:
                    probe_inside(prober, sweep, route, url, label, ("get",))
    return sweep


@pytest.mark.parametrize("key", ALL_ROLE_KEYS)
def test_no_role_reaches_what_lies_outside_its_scope(world: World, key: str) -> None:
    before = content_hash()
    sweep = sweep_role(world, key)
    after = content_hash()
    changed = sorted(t for t in before if before[t] != after[t])
    assert not sweep.failures, f"{key} ({len(sweep.failures)} of {sweep.cells}):\n" + "\n".join(sweep.failures)
    assert not changed, f"{key}: the sweep changed the content of {changed}"
    national = dashboards.area_for(principal_for(EVERYTHING, label="national"))
    assert {k: v for k, v in dashboards.dashboard(national).items() if k != "as_of"} == {
        k: v for k, v in dashboards.live_dashboard(national).items() if k != "as_of"
    }, f"{key}: the summary cells no longer match the live figures after the sweep"
    assert sweep.cells > 500
    if world.users[key] is None or world.users[key].role not in PRIVILEGED:
        assert sweep.foreign_objects > 30, f"{key}: only {sweep.foreign_objects} foreign objects probed"


# ---------------------------------------------------------------------------------------------------------------
# The objects are the right ones

CONTROL_ROLES = [
    "national",
    "enterprise-a",
    "shenzhen",
    "guangdong",
    "expert-assigned",
    "reviewer",
    "anonymous",
] + [key for key in ALL_ROLE_KEYS if key.startswith("role:")]


def _advance_to_publicity() -> None:
    """The live round (at the expert stage in `world`) through scoring to its 公示, through the services."""
    rnd = Round.objects.get(stage=Stage.INDUSTRY)
    for assignment in Assignment.objects.filter(candidate__round=rnd).select_related("expert"):
        industry.score_submit(
            assignment_id=assignment.pk, user=assignment.expert, scores=SCORES, comments="技术先进，专利支撑作用明显。"
        )
    publicity.round_publicity_start(rnd=rnd, user=User.objects.get(email="national@example.cn"), days=5)


def test_every_object_route_finds_its_object(world: World) -> None:
    """For every object route, a role inside the object's scope gets something else than 404: the 404s of the
    matrix are refusals, not URLs built with the wrong model. Routes of the 公示 are tried again once the live
    round has reached it."""
    probers = {key: Prober(world.users[key]) for key in CONTROL_ROLES}
    sweep = Sweep()

    def found(route: Route) -> bool:
        kwarg, model, fld = route.target()  # type: ignore[misc]
        roles = getattr(route.cls, "roles", None)
        for key in CONTROL_ROLES:
            if key == "anonymous":  # public pages: the rows the national office sees, some of them published
                if route.scoped:
                    continue
                objs = objects_for(model, fld, "national", world, inside=6)
            else:
                objs = objects_for(model, fld, key, world, roles, inside=6)
            for values in value_combinations(route):
                for obj in objs.inside:
                    url = object_url(route, values, kwarg, obj, fld)
                    label = f"{key} own {model.__name__} {obj.pk}"
                    statuses = probe_inside(probers[key], sweep, route, url, label, METHODS)
                    if any(s not in (404, 405, 302) or (s == 302 and key != "anonymous") for s in statuses):
                        return True
        return False

    object_routes = [route for route in all_routes() if route.target() is not None]
    missing = [route for route in object_routes if not found(route)]
    _advance_to_publicity()
    missing = [route for route in missing if not found(route)]
    assert not sweep.failures, "\n".join(sweep.failures)
    assert len(object_routes) >= 60
    assert not missing, "no role in scope gets past 404:\n" + "\n".join(f"{r.pattern} [{r.name}]" for r in missing)


def test_foreign_objects_lie_in_another_region_or_unit(world: World) -> None:
    """`visible_to` itself, checked against the region codes: a port's objects lie in its region, an enterprise's
    belong to its unit, so the "outside" objects above really are another region's or enterprise's."""
    regions = {
        "guangdong": ("province_code", "440000"),
        "shenzhen": ("city_code", "440300"),
        "zhejiang": ("province_code", "330000"),
    }
    units = {"enterprise-a": "广州云帆智能装备有限公司", "enterprise-b": "深圳鹏芯微电子有限公司"}
    checked = 0
    for model in tracked_models():
        qs = model._default_manager.all()
        if not isinstance(qs, ScopedQuerySet) or not model._base_manager.exists():
            continue
        for key, (code_field, code) in regions.items():
            if qs.region_prefix is not None:
                visible = qs.visible_to(world.users[key])
                wrong = visible.exclude(**{f"{qs.region_prefix}{code_field}": code})
                assert not wrong.exists(), f"{key} sees {model.__name__} outside {code}: {list(wrong[:3])}"
                checked += 1
        for key, name in units.items():
            if qs.unit_field is not None:
                unit = FilingUnit.objects.get(name=name)
                wrong = qs.visible_to(world.users[key]).exclude(**{qs.unit_field: unit.pk})
                assert not wrong.exists(), f"{key} sees {model.__name__} of another unit: {list(wrong[:3])}"
                checked += 1
    assert checked >= 20


def test_the_data_tells_the_roles_apart(world: World) -> None:
    """The matrix is not vacuous: the demo gives each restricted role rows inside and rows outside its scope."""
    for key in ("guangdong", "shenzhen", "zhejiang", "enterprise-a", "enterprise-b"):
        objs = objects_for(ProductVersion, "pk", key, world)
        assert objs.inside and len(objs.outside) >= 2, key
    assert objects_for(Assignment, "pk", "expert-assigned", world).inside
    assert objects_for(Assignment, "pk", "expert-assigned", world).outside[0].technology is None  # pending
    assert not objects_for(Candidate, "pk", "expert-unassigned", world).inside
    sz = objects_for(Product, "pk", "shenzhen", world).outside
    assert sz and sz[0].city_code == "440100"  # 广州: same province, another city
    assert any(r.pattern.startswith("api/v1/") and r.target() for r in all_routes())
