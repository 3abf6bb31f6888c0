"""Implausible figures and listed units are flagged, not waved through (issue 19, parts 2 and 3; docs/FLAGS.md).

Every submission of a version (page, API, import, command: they all go through `workflow.version_submit`) runs
`run_checks` inside the submission's transaction. The rules, with the thresholds of the current
`CheckSettings` (a versioned record of the national office):

- year over year (`yoy_*`): sales, exports and output value against the product's previous version (the newest
  earlier data year that was submitted at some point: not a draft, not withdrawn). Flagged when the figure is
  more than `yoy_factor` times last year's, or less than last year's divided by `yoy_factor`; not compared when
  last year's figure is below `yoy_min_base` (a ratio on a tiny base means nothing);
- against the peers (`peer_*`): the modified z-score 0.6745·(x − median)/MAD of the figure among the submitted,
  resubmitted and approved versions of the same product class and data year (this one included). Flagged when
  |score| > `peer_z_threshold`. No score — hence no flag — when the group has fewer than `peer_min_group`
  versions or when MAD = 0 (more than half of the group share one value: the score is undefined, and a
  zero spread says nothing about the one that differs);
- `exports_above_sales`: exports > `exports_share_max` × sales;
- `output_below_sales`: output value < `output_share_min` × sales (sales > 0; a share of 0 turns it off);
- `patent_jump`: the number of linked patents > `patent_jump_factor` × last year's and at least
  `patent_jump_min` more.

Every comparison is strict: a figure exactly at the threshold is not flagged. Decimal arithmetic throughout
(products, never quotients, where a threshold is compared), so "exactly at" is exact.

Flags inform the reviewer; nothing here approves, returns or blocks anything. A resubmission runs the rules
again: the new run becomes the version's current one, the earlier runs stay as its history.

The credit lists (filings.credit_lists) flag a unit for as long as its USCC is on a list; they are read live,
so removal from a list clears the flag at once, on every page.

`open_flags(version_ids)` is the one read other parts use (the review page, the round page, the verification
API): the current plausibility flags and the credit-list flags of each version.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from filings.choices import PENDING_STATUSES, CheckRule, FilingStatus
from filings.models import (
    CheckSettings,
    CreditListEntry,
    PlausibilityCheck,
    PlausibilityFlag,
    ProductVersion,
)
from patent_platform import audit
from patent_platform.choices import AuditAction, Role
from patent_platform.concurrency import Conflict
from patent_platform.i18n import Deferred
from patent_platform.models import User
from patent_platform.roles import require_role

Z_CONSTANT = Decimal("0.6745")  # Iglewicz & Hoaglin: makes MAD comparable to a normal standard deviation
FIGURES = ("sales", "exports", "output_value")
YOY_RULES = {"sales": CheckRule.YOY_SALES, "exports": CheckRule.YOY_EXPORTS, "output_value": CheckRule.YOY_OUTPUT}
PEER_RULES = {"sales": CheckRule.PEER_SALES, "exports": CheckRule.PEER_EXPORTS, "output_value": CheckRule.PEER_OUTPUT}
# the versions a peer group is made of, and a previous version may be
PEER_STATUSES = (FilingStatus.SUBMITTED, FilingStatus.RESUBMITTED, FilingStatus.APPROVED)
NOT_PREVIOUS = (FilingStatus.DRAFT, FilingStatus.WITHDRAWN)
SETTINGS_FIELDS = (
    "yoy_factor",
    "yoy_min_base",
    "peer_z_threshold",
    "peer_min_group",
    "exports_share_max",
    "output_share_min",
    "patent_jump_factor",
    "patent_jump_min",
)
FIGURE_LABELS = {
    "sales": gettext_lazy("销售额"),
    "exports": gettext_lazy("出口额"),
    "output_value": gettext_lazy("产值"),
}
FIGURE_MSGIDS = {"sales": "销售额", "exports": "出口额", "output_value": "产值"}  # the labels' msgids, kept in flags


# ---------------------------------------------------------------------------------------------------------------
# The robust score


def median(values: Sequence[Decimal]) -> Decimal:
    """The median (the mean of the two middle values of an even count); `values` must not be empty."""
    ordered = sorted(values)
    n = len(ordered)
    middle = n // 2
    if n % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def modified_z(x: Decimal, values: Sequence[Decimal], *, min_group: int = 1) -> Decimal | None:
    """0.6745·(x − median)/MAD over `values` (MAD: the median of |v − median|); None when the group has fewer than
    `min_group` values (or none) or when MAD = 0 — no score, never a false flag."""
    if not values or len(values) < min_group:
        return None
    centre = median(values)
    mad = median([abs(v - centre) for v in values])
    if mad == 0:
        return None
    return Z_CONSTANT * (x - centre) / mad


# ---------------------------------------------------------------------------------------------------------------
# The rules


@dataclass
class Finding:
    """One rule that fired: what a `PlausibilityFlag` stores."""

    rule: str
    figure: Decimal
    comparison: Decimal
    threshold: Decimal
    message: str
    score: Decimal | None = None


@dataclass
class Inputs:
    """What the rules read of one version: its figures and link count, last year's, and the peer groups."""

    figures: dict[str, Decimal]
    links: int
    previous: dict[str, Decimal] | None = None  # None: no previous version
    previous_year: int | None = None
    previous_links: int | None = None
    peers: dict[str, list[Decimal]] = field(default_factory=dict)


def _n(value: Decimal) -> str:
    """A figure as shown in a message: no trailing zeros, no exponent."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _exact(limits: CheckSettings) -> CheckSettings:
    """The thresholds as Decimals (a row built in memory may hold ints or floats from a form)."""
    copy = CheckSettings(version=limits.version)
    for name in SETTINGS_FIELDS:
        value = getattr(limits, name)
        setattr(
            copy, name, value if isinstance(value, int) and name.endswith(("group", "_min")) else Decimal(str(value))
        )
    return copy


def evaluate(inputs: Inputs, limits: CheckSettings) -> list[Finding]:
    """Every rule on one version's inputs (no database access): the findings, in rule order."""
    found: list[Finding] = []
    fig = inputs.figures
    limits = _exact(limits)
    if inputs.previous is not None:
        factor, base = limits.yoy_factor, limits.yoy_min_base
        for name in FIGURES:
            now, before = fig[name], inputs.previous[name]
            if before < base:
                continue
            up, down = now > factor * before, now * factor < before
            if up or down:
                found.append(
                    Finding(
                        YOY_RULES[name],
                        now,
                        before,
                        factor,
                        Deferred(
                            gettext_noop(
                                "%(figure)s %(now)s 万元，是上一年度（%(year)s）%(before)s 万元的 %(ratio)s 倍，"
                                "超过阈值 %(factor)s 倍。"
                            )
                            if up
                            else gettext_noop(
                                "%(figure)s %(now)s 万元，不足上一年度（%(year)s）%(before)s 万元的 1/%(factor)s"
                                "（比值 %(ratio)s）。"
                            ),
                            {
                                "figure": FIGURE_MSGIDS[name],
                                "now": _n(now),
                                "year": inputs.previous_year,
                                "before": _n(before),
                                "ratio": _n((now / before).quantize(Decimal("0.01"))),
                                "factor": _n(factor),
                            },
                            ("figure",),
                        ),
                    )
                )
    for name in FIGURES:
        group = inputs.peers.get(name)
        if not group:
            continue
        score = modified_z(fig[name], group, min_group=limits.peer_min_group)
        if score is None or abs(score) <= limits.peer_z_threshold:
            continue
        found.append(
            Finding(
                PEER_RULES[name],
                fig[name],
                median(group),
                limits.peer_z_threshold,
                Deferred(
                    gettext_noop(
                        "%(figure)s %(now)s 万元，同类同年度 %(n)s 个产品的中位数为 %(median)s 万元，"
                        "修正 Z 分数 %(score)s，绝对值超过阈值 %(threshold)s。"
                    ),
                    {
                        "figure": FIGURE_MSGIDS[name],
                        "now": _n(fig[name]),
                        "n": len(group),
                        "median": _n(median(group)),
                        "score": _n(score.quantize(Decimal("0.01"))),
                        "threshold": _n(limits.peer_z_threshold),
                    },
                    ("figure",),
                ),
                score=score.quantize(Decimal("0.0001")),
            )
        )
    sales, exports, output = fig["sales"], fig["exports"], fig["output_value"]
    if exports > limits.exports_share_max * sales:
        found.append(
            Finding(
                CheckRule.EXPORTS_ABOVE_SALES,
                exports,
                sales,
                limits.exports_share_max,
                Deferred(
                    gettext_noop("出口额 %(exports)s 万元，超过销售额 %(sales)s 万元的 %(share)s 倍。"),
                    {"exports": _n(exports), "sales": _n(sales), "share": _n(limits.exports_share_max)},
                ),
            )
        )
    if sales > 0 and output < limits.output_share_min * sales:
        found.append(
            Finding(
                CheckRule.OUTPUT_BELOW_SALES,
                output,
                sales,
                limits.output_share_min,
                Deferred(
                    gettext_noop("产值 %(output)s 万元，低于销售额 %(sales)s 万元的 %(share)s 倍。"),
                    {"output": _n(output), "sales": _n(sales), "share": _n(limits.output_share_min)},
                ),
            )
        )
    if inputs.previous_links is not None:
        links_before, links_now = inputs.previous_links, inputs.links
        if links_now - links_before >= limits.patent_jump_min and links_now > limits.patent_jump_factor * links_before:
            found.append(
                Finding(
                    CheckRule.PATENT_JUMP,
                    Decimal(links_now),
                    Decimal(links_before),
                    limits.patent_jump_factor,
                    Deferred(
                        gettext_noop(
                            "关联专利 %(now)s 项，上一年度（%(year)s）%(before)s 项："
                            "超过 %(factor)s 倍且增加不少于 %(min)s 项。"
                        ),
                        {
                            "now": links_now,
                            "year": inputs.previous_year,
                            "before": links_before,
                            "factor": _n(limits.patent_jump_factor),
                            "min": limits.patent_jump_min,
                        },
                    ),
                )
            )
    return found


# ---------------------------------------------------------------------------------------------------------------
# Settings


class SettingsConflict(Conflict):
    """Two administrators saved the thresholds at once: the second is told to reload (pages answer 409)."""


def current_settings() -> CheckSettings:
    """The thresholds in force: the newest version (version 1, the platform's defaults, made on first use)."""
    latest = CheckSettings.objects.order_by("-version").first()
    if latest is not None:
        return latest
    try:
        with transaction.atomic():
            return CheckSettings.objects.create(version=1, note=str(_("平台默认值")))
    except IntegrityError:  # made at the same moment by another request
        return CheckSettings.objects.get(version=1)


def check_settings_save(*, user: User, data: dict[str, Any]) -> CheckSettings:
    """A new version of the thresholds (national administrators only), validated and audited; the old versions
    stay (every check names the version it used). Nothing changed: no new version, returns the current one."""
    require_role(user, Role.NATIONAL_ADMIN, message=gettext_lazy("只有国家局管理员可以修改数据合理性检查设置。"))
    with transaction.atomic():
        before = current_settings()
        candidate = CheckSettings(**{name: data[name] for name in SETTINGS_FIELDS})
        candidate.note = (data.get("note") or "").strip()
        candidate.version = before.version + 1
        candidate.created_by = user
        candidate.full_clean(exclude=["version"])
        changed = {
            name: [_n(Decimal(str(getattr(before, name)))), _n(Decimal(str(getattr(candidate, name))))]
            for name in SETTINGS_FIELDS
            if Decimal(str(getattr(before, name))) != Decimal(str(getattr(candidate, name)))
        }
        if not changed:
            return before
        try:
            with transaction.atomic():
                candidate.save()
        except IntegrityError as exc:  # another administrator saved a version first
            raise SettingsConflict(_("另一位管理员刚刚保存了新的设置，请刷新页面后再修改。"), code="conflict") from exc
        audit.audit_event(
            action=AuditAction.CREATE,
            obj=candidate,
            actor=user,
            changes={"version": [before.version, candidate.version], **changed},
            message=f"check settings v{candidate.version}: {candidate.note}"[:500],
        )
        return candidate


# ---------------------------------------------------------------------------------------------------------------
# Running the rules on a submission


def previous_version(version: ProductVersion) -> ProductVersion | None:
    """The product's newest earlier data year that was submitted at some point (not a draft, not withdrawn)."""
    return (
        ProductVersion.objects.filter(product_id=version.product_id, data_year__lt=version.data_year)
        .exclude(status__in=NOT_PREVIOUS)
        .order_by("-data_year")
        .first()
    )


def inputs_of(version: ProductVersion) -> tuple[Inputs, ProductVersion | None]:
    previous = previous_version(version)
    inputs = Inputs(figures={name: getattr(version, name) for name in FIGURES}, links=version.links.count())
    if previous is not None:
        inputs.previous = {name: getattr(previous, name) for name in FIGURES}
        inputs.previous_year = previous.data_year
        inputs.previous_links = previous.links.count()
    peers = ProductVersion.objects.filter(
        product_class_id=version.product_class_id, data_year=version.data_year, status__in=PEER_STATUSES
    ).values_list(*FIGURES)
    rows = list(peers)
    if version.status not in PEER_STATUSES:  # run before the status moved (a dry run): count it in
        rows.append(tuple(getattr(version, name) for name in FIGURES))
    inputs.peers = {name: [row[i] for row in rows] for i, name in enumerate(FIGURES)}
    return inputs, previous


def run_checks(version: ProductVersion) -> PlausibilityCheck:
    """Run every rule on a version just submitted (call inside the submission's transaction, the version row
    locked); the run becomes the version's current one. Flags inform: nothing else changes."""
    limits = current_settings()
    inputs, previous = inputs_of(version)
    with translation.override(django_settings.LANGUAGE_CODE):  # stored text: the platform's language
        found = evaluate(inputs, limits)
    PlausibilityCheck.objects.filter(version=version, is_current=True).update(is_current=False)
    run = PlausibilityCheck.objects.create(
        version=version, settings=limits, previous=previous, flag_count=len(found), is_current=True
    )
    PlausibilityFlag.objects.bulk_create(
        PlausibilityFlag(
            check_run=run,
            rule=f.rule,
            figure=f.figure,
            comparison=f.comparison,
            threshold=f.threshold,
            score=f.score,
            message=f.message[:500],
            message_stored=f.message.stored() if isinstance(f.message, Deferred) else {},
        )
        for f in found
    )
    return run


# ---------------------------------------------------------------------------------------------------------------
# The one read: open flags of versions


@dataclass(frozen=True)
class Flag:
    """An open flag of a version, as every page and the API show it.

    kind: "plausibility" (a rule of the current run) or "credit_list" (the unit is on a list now).
    rule: a `CheckRule` value, or the `CreditListKind` value for a credit-list flag.
    figure / comparison / threshold / score: the rule's numbers (None for a credit-list flag).
    message: the stored message (plausibility) or the listing's details (credit list).
    since: when the check ran, or when the platform recorded the listing.
    """

    kind: str
    rule: str
    label: str
    message: str
    since: Any
    figure: Decimal | None = None
    comparison: Decimal | None = None
    threshold: Decimal | None = None
    score: Decimal | None = None

    @staticmethod
    def _text(value: Decimal | None) -> str:
        return "" if value is None else _n(value)

    @property
    def figure_text(self) -> str:
        return self._text(self.figure)

    @property
    def comparison_text(self) -> str:
        return self._text(self.comparison)

    @property
    def threshold_text(self) -> str:
        return self._text(self.threshold)

    @property
    def score_text(self) -> str:
        return self._text(self.score)


def listings_by_uscc(usccs: Iterable[str], moment: dt.datetime | None = None) -> dict[str, list[CreditListEntry]]:
    """The open listings of these USCCs: on a list now, or at `moment` (recorded before it and not removed
    before it: the history the imports keep)."""
    wanted = sorted(set(usccs))
    result: dict[str, list[CreditListEntry]] = defaultdict(list)
    open_then = (
        Q(removed_at__isnull=True)
        if moment is None
        else Q(listed_at__lt=moment) & (Q(removed_at__isnull=True) | Q(removed_at__gte=moment))
    )
    for start in range(0, len(wanted), 1000):
        for entry in CreditListEntry.objects.filter(open_then, uscc__in=wanted[start : start + 1000]):
            result[entry.uscc].append(entry)
    return dict(result)


def credit_flag(entry: CreditListEntry) -> Flag:
    details = [entry.get_kind_display()]
    if entry.decided_on:
        details.append(_("列入日期 %(date)s") % {"date": entry.decided_on.isoformat()})
    if entry.authority:
        details.append(_("作出决定机关：%(a)s") % {"a": entry.authority})
    if entry.reason:
        details.append(_("列入原因：%(r)s") % {"r": entry.reason})
    return Flag(
        kind="credit_list",
        rule=entry.kind,
        label=str(_("单位在%(list)s中") % {"list": entry.get_kind_display()}),
        message="；".join(str(d) for d in details),
        since=entry.listed_at,
    )


def _runs_at(version_ids: list[int], moment: dt.datetime) -> list[int]:
    """The run of each version that was current at `moment`: its latest before it."""
    latest: dict[int, int] = {}
    runs = (
        PlausibilityCheck.objects.filter(version_id__in=version_ids, checked_at__lt=moment)
        .order_by("version_id", "-checked_at", "-id")
        .values_list("version_id", "id")
    )
    for version_id, run_id in runs:
        latest.setdefault(version_id, run_id)
    return list(latest.values())


def open_flags(version_ids: Iterable[int], moment: dt.datetime | None = None) -> dict[int, list[Flag]]:
    """The open flags of each version: the flags of its current plausibility run, then one per credit list its
    unit is on — now, or at `moment` (the run current then, the listings open then). Every id asked for is a
    key (an empty list: no flag). Three queries whatever the number of ids (per 1000; one more at a moment).
    The caller has checked the user may see these versions (scoping is the caller's)."""
    ids = sorted(set(version_ids))
    result: dict[int, list[Flag]] = {pk: [] for pk in ids}
    unit_of: dict[int, str] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        runs = (
            Q(check_run__version_id__in=chunk, check_run__is_current=True)
            if moment is None
            else Q(check_run_id__in=_runs_at(chunk, moment))
        )
        flags = (
            PlausibilityFlag.objects.filter(runs).select_related("check_run").order_by("check_run__version_id", "id")
        )
        for f in flags:
            result[f.check_run.version_id].append(
                Flag(
                    kind="plausibility",
                    rule=f.rule,
                    label=str(f.get_rule_display()),
                    message=f.display_message,
                    since=f.check_run.checked_at,
                    figure=f.figure,
                    comparison=f.comparison,
                    threshold=f.threshold,
                    score=f.score,
                )
            )
        unit_of.update(ProductVersion.objects.filter(pk__in=chunk).values_list("pk", "product__unit__uscc"))
    listings = listings_by_uscc(unit_of.values(), moment)
    for pk, uscc in unit_of.items():
        result[pk] += [credit_flag(e) for e in sorted(listings.get(uscc, []), key=lambda e: e.kind)]
    return result


def check_history(version: ProductVersion) -> list[PlausibilityCheck]:
    """Every run on this version, newest first, with its flags and settings (the review page's history)."""
    return list(version.plausibility_checks.select_related("settings").prefetch_related("flags"))


# ---------------------------------------------------------------------------------------------------------------
# The report: flag rates


def _rate(flagged: int, total: int) -> Decimal | None:
    return (Decimal(100) * flagged / total).quantize(Decimal("0.1")) if total else None


def flag_rates(user: User, *, data_year: int | None = None) -> dict[str, Any]:
    """Flag rates of the current runs the user may see (the scoping rule: a port its region, national all): by
    reviewer (the versions each decided), by product class and by province, and the count per rule."""
    from patent_platform.choices import RegionLevel
    from patent_platform.models import Region

    runs = PlausibilityCheck.objects.visible_to(user).filter(is_current=True)
    if data_year:
        runs = runs.filter(version__data_year=data_year)
    measure = {"total": Count("id"), "flagged": Count("id", filter=Q(flag_count__gt=0))}

    def rows(keys: Sequence[str], qs: Any) -> list[dict[str, Any]]:
        out = []
        for row in qs.values(*keys).annotate(**measure).order_by(*keys):
            row["rate"] = _rate(row["flagged"], row["total"])
            out.append(row)
        return out

    by_reviewer = rows(
        ("version__decided_by__full_name", "version__decided_by__email"),
        runs.filter(version__decided_by__isnull=False).exclude(version__status__in=PENDING_STATUSES),
    )
    by_class = rows(
        ("version__product_class__code", "version__product_class__name", "version__product_class__name_en"), runs
    )
    provinces = dict(Region.objects.filter(level=RegionLevel.PROVINCE).names())
    by_province = rows(("version__product__province_code",), runs)
    for row in by_province:
        row["name"] = provinces.get(row["version__product__province_code"], row["version__product__province_code"])
    per_rule = dict(
        PlausibilityFlag.objects.filter(check_run__in=runs)
        .values_list("rule")
        .annotate(n=Count("id"))
        .values_list("rule", "n")
    )
    total = runs.aggregate(**measure)
    years = (
        PlausibilityCheck.objects.visible_to(user)
        .filter(is_current=True)
        .values_list("version__data_year", flat=True)
        .distinct()
        .order_by("-version__data_year")
    )
    return {
        "by_reviewer": by_reviewer,
        "by_class": by_class,
        "by_province": by_province,
        "per_rule": [(code, label, per_rule.get(code, 0)) for code, label in CheckRule.choices],
        "total": total["total"],
        "flagged": total["flagged"],
        "rate": _rate(total["flagged"], total["total"]),
        "years": list(years),
        "newest": PlausibilityCheck.objects.visible_to(user).aggregate(at=Max("checked_at"))["at"],
    }
