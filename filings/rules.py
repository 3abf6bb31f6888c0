"""The rule set of a filing: the data year, the figures, the patent list's shape, and the findings that the
check before review and approval reads (`version_findings`).

One rule for every path: the forms, the API, the Excel import, the services (`filings.services`) and the
transitions (`filings.workflow`, which checks them before submission and approval) all apply these. This module
imports neither the services nor the workflow.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from filings.choices import ConflictStatus, RightKind
from filings.models import FilingPolicy, PatentConflict, PatentLink, PatentRight, ProductVersion
from patent_platform import clock
from patent_platform.messages import rule
from patent_platform.tabular import decimal_or_zero


def default_data_year() -> int:
    """Certification uses the previous calendar year's data: new filings default to it."""
    return clock.last_year()


def _link_error(i: int, text: str, code: str, member: str) -> str:
    """The message names the i-th link as people count (第 1 项); the API points at /links/<i-1>/<member>."""
    return rule(text, code, index=i - 1, item_field=member)


def link_shape_errors(
    unit_id: int, links: Iterable[Mapping[str, Any]], rights: Mapping[int, str] | None = None
) -> list[str]:
    """Errors in the patent list that make it unsavable (foreign rights, duplicates, bad %).

    `rights`: the unit's rights as {right id: patent number}, when the caller has read them already
    (the Excel import checks thousands of products against one read); read here otherwise."""
    errors: list[str] = []
    seen: set[int] = set()
    total = Decimal(0)
    if rights is None:
        rights = dict(PatentRight.objects.filter(unit_id=unit_id).values_list("pk", "patent__number"))
    for i, link in enumerate(links, start=1):
        item = functools.partial(_link_error, i)
        right_id = int(link["right"]) if link.get("right") not in (None, "") else None
        if right_id is None or right_id not in rights:
            errors.append(item(_("第 %(i)s 项：该专利不是本单位登记的专利。") % {"i": i}, "right_unknown", "right"))
            continue
        if right_id in seen:
            message = _("第 %(i)s 项：专利 %(n)s 重复关联。") % {"i": i, "n": rights[right_id]}
            errors.append(item(message, "duplicate_link", "right"))
        seen.add(right_id)
        try:
            contribution = decimal_or_zero(link.get("contribution"))
        except ArithmeticError:
            contribution = Decimal("NaN")
        if not contribution.is_finite():
            errors.append(item(_("第 %(i)s 项：贡献度须为数字。") % {"i": i}, "contribution_invalid", "contribution"))
            continue
        if not Decimal(0) <= contribution <= Decimal(100):
            message = _("第 %(i)s 项：贡献度须在 0 到 100 之间。") % {"i": i}
            errors.append(item(message, "contribution_range", "contribution"))
        elif _decimal_places(contribution) > 2:  # stored with two: 33.333 was kept as 33.33 by the service alone
            message = _("第 %(i)s 项：贡献度最多保留两位小数。") % {"i": i}
            errors.append(item(message, "contribution_places", "contribution"))
        total += contribution
    if total > 100:
        errors.append(
            rule(
                _("各专利贡献度之和为 %(total)s%%，不能超过 100%%。") % {"total": f"{total.normalize():f}"},
                "contribution_total",
            )
        )
    return errors


FIRST_DATA_YEAR = 2000


def data_year_window() -> tuple[int, int]:
    """The data years a filing may have: from FIRST_DATA_YEAR to last year (certification uses the previous
    calendar year's data, so a year that has not ended yet has no figures to file). One rule for every
    path: the form's choices, the API, the Excel import, the services and the check before review."""
    return FIRST_DATA_YEAR, default_data_year()


def data_year_error(year: Any) -> str | None:
    first, latest = data_year_window()
    if isinstance(year, int) and not isinstance(year, bool) and first <= year <= latest:
        return None
    return _("数据年度须在 %(first)s 至 %(latest)s 年之间（认定使用上一年度的数据）。") % {
        "first": first,
        "latest": latest,
    }


FIGURES = ("sales", "exports", "output_value")
REQUIRED_FIGURES = ("sales", "output_value")  # exports left blank are 0 (a product need not be exported)
FIGURE_MAX = Decimal(10) ** 12  # the columns' 14 digits with 2 decimals: up to 999 999 999 999.99 万元


def _decimal_places(value: Decimal) -> int:
    """The decimal places as written (1.500 has 3), as the forms', the API's and the model's validators count."""
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def figures_to_store(data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` with a blank export figure as 0 (the rule of `figure_errors`)."""
    out = dict(data)
    if "exports" in out and out["exports"] in (None, ""):
        out["exports"] = Decimal(0)
    return out


def figure_errors(data: Mapping[str, Any]) -> dict[str, str]:
    """The rules of a version's figures, for every path: sales and output value given (exports blank: 0), numbers,
    not negative, at most two decimal places, below 10^12 万元, exports not above sales."""
    errors: dict[str, str] = {}
    labels = {"sales": _("销售额"), "exports": _("出口额"), "output_value": _("产值")}
    values: dict[str, Decimal] = {}
    for name, label in labels.items():
        if name in REQUIRED_FIGURES and data.get(name) in (None, ""):
            errors[name] = rule(_("请填写%(label)s。") % {"label": label}, "required")
            continue
        try:
            values[name] = decimal_or_zero(data.get(name))
        except ArithmeticError:
            errors[name] = rule(_("%(label)s须为数字。") % {"label": label}, "invalid")
            continue
        if not values[name].is_finite():
            errors[name] = rule(_("%(label)s须为数字。") % {"label": label}, "invalid")
            del values[name]
        elif values[name] < 0:
            errors[name] = rule(_("%(label)s不能为负数。") % {"label": label}, "min_value")
        elif _decimal_places(values[name]) > 2:
            errors[name] = rule(_("%(label)s最多保留两位小数。") % {"label": label}, "max_decimal_places")
        elif values[name] >= FIGURE_MAX:
            errors[name] = rule(_("%(label)s数值过大（须小于 1 万亿万元）。") % {"label": label}, "max_value")
    if "sales" in values and "exports" in values and "exports" not in errors and values["exports"] > values["sales"]:
        errors["exports"] = rule(
            _("出口额（%(exports)s 万元）不能大于上年度销售额（%(sales)s 万元）。")
            % {"exports": values["exports"], "sales": values["sales"]},
            "exports_above_sales",
        )
    return errors


@dataclass(frozen=True)
class Finding:
    """One finding of a filing's rule set: what the check before review and approval found.

    `field`: the field it belongs to ("patents" for the patent list). `code`: what kind of rule (the API's
    findings carry it). `overridable`: a reviewer may approve despite it, with a reason (recorded as a
    `ReviewOverride` and audited); every other finding blocks submission and approval. `conflict_id`: the
    open ownership conflict an overridable finding is about."""

    field: str
    message: str
    code: str
    overridable: bool = False
    conflict_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "message": self.message, "overridable": self.overridable}


def _rule_findings(version: ProductVersion) -> list[Finding]:
    """The rules a filer can fix: data year, figures, name and class, links and contributions, the filing
    settings (patent types and statuses), rights and licences. None of them can be overridden."""
    found: list[Finding] = []
    if message := data_year_error(version.data_year):
        found.append(Finding("data_year", message, "data_year"))
    for field, message in figure_errors({f: getattr(version, f) for f in FIGURES}).items():
        found.append(Finding(field, message, "figures"))
    if not version.name.strip():
        found.append(Finding("name", _("请填写产品名称。"), "required"))
    if not version.product_class.is_active:
        found.append(Finding("product_class", _("该产品分类已停用，请选择其他分类。"), "product_class"))
    links = list(version.links.select_related("right__patent"))
    for message in link_shape_errors(
        version.product.unit_id, [{"right": link.right_id, "contribution": link.contribution} for link in links]
    ):
        found.append(Finding("patents", message, "links"))
    if not links:
        found.append(Finding("patents", _("请至少关联一项本单位有权使用的专利。"), "links"))
    elif not any(link.is_core for link in links):
        found.append(Finding("patents", _("请至少标记一项核心专利。"), "links"))
    policy = FilingPolicy.current()
    kinds, statuses = policy.allowed_kinds(), policy.allowed_statuses()
    today = clock.china_today()
    for link in links:
        right, patent = link.right, link.right.patent
        if patent.kind not in kinds:
            found.append(
                Finding(
                    "patents",
                    _("专利 %(n)s 为%(kind)s，平台目前不接受该类型专利用于备案。")
                    % {"n": patent.number, "kind": patent.get_kind_display()},
                    "patent_kind",
                )
            )
        if patent.legal_status not in statuses:
            found.append(
                Finding(
                    "patents",
                    _("专利 %(n)s 的法律状态为“%(status)s”，不能用于备案。")
                    % {"n": patent.number, "status": patent.get_legal_status_display()},
                    "patent_status",
                )
            )
        if right.kind == RightKind.LICENSEE and policy.require_licence_recordal and not right.recordal_number:
            found.append(
                Finding(
                    "patents",
                    _("专利 %(n)s 的许可没有备案号，平台要求许可须经备案。") % {"n": patent.number},
                    "licence_recordal",
                )
            )
        if right.valid_until and right.valid_until < today:
            found.append(
                Finding(
                    "patents",
                    _("本单位对专利 %(n)s 的权利已于 %(d)s 到期。")
                    % {"n": patent.number, "d": right.valid_until.isoformat()},
                    "right_expired",
                )
            )
    return found


def _conflict_findings(version: ProductVersion) -> list[Finding]:
    """An open ownership conflict on a patent of the version (the review page's red box, same query): a
    reviewer verifies the unit's right and either closes the conflict or approves with a reason."""
    patent_ids = PatentLink.objects.filter(version_id=version.pk).values("right__patent_id")
    open_ = (
        PatentConflict.objects.filter(status=ConflictStatus.OPEN, patent_id__in=patent_ids)
        .select_related("patent")
        .order_by("patent__number", "kind")
    )
    return [
        Finding(
            "patents",
            _("专利 %(n)s 存在未处理的权属冲突（%(kind)s）：须核实本单位的权利后处理该冲突，或由审核员说明理由后通过。")
            % {"n": c.patent.number, "kind": c.get_kind_display()},
            "ownership_conflict",
            overridable=True,
            conflict_id=c.pk,
        )
        for c in open_
    ]


def version_findings(version: ProductVersion) -> list[Finding]:
    """The whole rule set of a filing, as the check before review and approval sees it: the rules (none
    overridable) and the open ownership conflicts of its patents (overridable by a reviewer, with a reason).
    The review page, the filer's version page, `workflow.version_submit` and `workflow.version_approve` all read
    this."""
    if not version.pk:
        return []
    return _rule_findings(version) + _conflict_findings(version)


def version_rule_errors(version: ProductVersion) -> dict[str, list[str]]:
    """The findings that no one can override, keyed by field ("patents" for the list): what keeps a saved
    version from review (submission) and from approval."""
    errors: dict[str, list[str]] = {}
    for finding in _rule_findings(version):
        errors.setdefault(finding.field, []).append(finding.message)
    return errors
