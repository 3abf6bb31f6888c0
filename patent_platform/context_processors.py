"""Navigation by role, computed once per request for the base layout."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from patent_platform.choices import Role

# The header's menus, in their order (issue 20 "a header that fits"): each entry of NAVIGATION names one of
# these groups; a group a role sees with one entry only is shown as a plain link, with more as a dropdown.
NAV_GROUPS: dict[str, Any] = {
    "filing": _("备案"),
    "review": _("审核"),
    "statistics": _("统计"),
    "ports": _("端口工作"),
    "certification": _("认定"),
    "settings": _("设置"),
    "system": _("系统"),
    "public": _("公开查询"),
}

# (url name, label, roles that see it, group); url names of apps above this package are looked up by
# name only, so this module imports none of them. To add an entry, add ONE tuple here with its group
# (a key of NAV_GROUPS): it appears in that group's menu for the roles named.
NAVIGATION: list[tuple[str, Any, set[str], str]] = [
    ("enterprise:home", _("我的备案"), {Role.ENTERPRISE}, "filing"),
    ("enterprise:patents", _("专利管理"), {Role.ENTERPRISE}, "filing"),
    ("enterprise:identity", _("单位身份核验"), {Role.ENTERPRISE}, "filing"),
    ("statements:mine", _("备案情况证明"), {Role.ENTERPRISE}, "filing"),
    ("review:queue", _("审核队列"), {Role.REVIEWER, Role.NATIONAL_ADMIN}, "review"),
    ("review:conflicts", _("专利权属冲突"), {Role.REVIEWER, Role.NATIONAL_ADMIN}, "review"),
    ("review:flags", _("专利状态提示"), {Role.REVIEWER, Role.NATIONAL_ADMIN}, "review"),
    ("checks:report", _("数据合理性提示"), {Role.REVIEWER, Role.NATIONAL_ADMIN, Role.PORT_ADMIN}, "review"),
    ("checks:credit_entries", _("信用名单"), {Role.REVIEWER, Role.NATIONAL_ADMIN}, "review"),
    ("review:identity", _("身份核验与认领"), {Role.REVIEWER, Role.NATIONAL_ADMIN}, "review"),
    ("port:home", _("本地统计"), {Role.PORT_ADMIN}, "statistics"),
    ("port:analysis", _("数据分析"), {Role.PORT_ADMIN, Role.NATIONAL_ADMIN}, "statistics"),
    ("port:publications", _("数据发布"), {Role.PORT_ADMIN}, "statistics"),
    ("port:subscriptions", _("我的订阅"), {Role.PORT_ADMIN, Role.NATIONAL_ADMIN}, "statistics"),
    ("port:reports", _("工作报送"), {Role.PORT_ADMIN}, "ports"),
    ("national:home", _("全国概览"), {Role.NATIONAL_ADMIN}, "statistics"),
    ("national:applications", _("端口开通申请"), {Role.NATIONAL_ADMIN}, "ports"),
    ("national:ports", _("管理端口"), {Role.NATIONAL_ADMIN}, "ports"),
    ("national:publications", _("数据发布"), {Role.NATIONAL_ADMIN}, "statistics"),
    ("national:reports", _("工作报送"), {Role.NATIONAL_ADMIN}, "ports"),
    ("rosters:list", _("重点企业名单"), {Role.PORT_ADMIN, Role.NATIONAL_ADMIN}, "statistics"),
    ("rosters:coverage", _("名单覆盖情况"), {Role.PORT_ADMIN, Role.NATIONAL_ADMIN}, "statistics"),
    ("statements:list", _("备案情况证明"), {Role.PORT_ADMIN, Role.NATIONAL_ADMIN}, "ports"),
    ("filing_settings:policy", _("备案规则设置"), {Role.NATIONAL_ADMIN}, "settings"),
    ("checks:settings", _("数据合理性检查设置"), {Role.NATIONAL_ADMIN}, "settings"),
    ("certification:rounds", _("专利密集型产品认定"), {Role.NATIONAL_ADMIN}, "certification"),
    ("certification:methods", _("评价方法版本"), {Role.NATIONAL_ADMIN}, "certification"),
    ("certification:benchmarks", _("基准值"), {Role.NATIONAL_ADMIN}, "certification"),
    ("certification:experts", _("专家库"), {Role.NATIONAL_ADMIN}, "certification"),
    (
        "certification:certificates",
        _("认定证书"),
        {Role.NATIONAL_ADMIN, Role.REVIEWER, Role.PORT_ADMIN},
        "certification",
    ),
    ("certification:mine", _("产品认定"), {Role.ENTERPRISE}, "certification"),
    ("certification:region", _("认定结果"), {Role.PORT_ADMIN}, "certification"),
    ("certification:expert_home", _("评审任务"), {Role.EXPERT}, "certification"),
    ("admin:index", _("系统管理"), {Role.SYSTEM_ADMIN}, "system"),
    ("security-accounts", _("账号与角色"), {Role.SECURITY_ADMIN}, "system"),
    ("security-notices", _("通知发送情况"), {Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN}, "system"),
    ("audit-log", _("审计日志"), {Role.AUDIT_ADMIN}, "system"),
    ("public:search", _("备案产品查询"), set(), "public"),
    ("certified:list", _("认定产品查询"), set(), "public"),
    ("opendata:index", _("开放数据"), set(), "public"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    """`nav_items`: the role's entries, flat; `nav_groups`: the same entries in their menus, in NAV_GROUPS'
    order — each {"key", "label", "items", "active"}; a group of one entry is rendered as a plain link."""
    user = getattr(request, "user", None)
    role = getattr(user, "role", None) if user is not None and user.is_authenticated else None
    items: list[dict[str, Any]] = []
    for name, label, roles, menu in NAVIGATION:
        if roles and role not in roles:
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"url": url, "label": label, "active": False, "group": menu})
    # the entry whose address is the longest prefix of this page is the active one
    matches = [item for item in items if request.path.startswith(item["url"]) and item["url"] != "/"]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    order = list(NAV_GROUPS)
    groups: dict[str, dict[str, Any]] = {}
    for item in items:
        key = item["group"] if item["group"] in NAV_GROUPS else "public"
        group = groups.setdefault(key, {"key": key, "label": NAV_GROUPS[key], "items": [], "active": False})
        group["items"].append(item)
        group["active"] = group["active"] or item["active"]
    nav_groups = sorted(groups.values(), key=lambda g: order.index(g["key"]))
    return {"nav_items": items, "nav_groups": nav_groups, "platform_name": settings.PLATFORM_NAME}
