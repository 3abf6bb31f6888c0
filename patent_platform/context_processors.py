"""Navigation by role, computed once per request for the base layout."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from patent_platform.choices import Role

# (url name, label, roles that see it); url names of apps above this package are looked up by
# name only, so this module imports none of them.
NAVIGATION: list[tuple[str, Any, set[str]]] = [
    ("enterprise:home", _("我的备案"), {Role.ENTERPRISE}),
    ("enterprise:patents", _("专利管理"), {Role.ENTERPRISE}),
    ("enterprise:identity", _("单位身份核验"), {Role.ENTERPRISE}),
    ("statements:mine", _("备案情况证明"), {Role.ENTERPRISE}),
    ("review:queue", _("审核队列"), {Role.REVIEWER, Role.NATIONAL_ADMIN}),
    ("review:conflicts", _("专利权属冲突"), {Role.REVIEWER, Role.NATIONAL_ADMIN}),
    ("review:flags", _("专利状态提示"), {Role.REVIEWER, Role.NATIONAL_ADMIN}),
    ("checks:report", _("数据合理性提示"), {Role.REVIEWER, Role.NATIONAL_ADMIN, Role.PORT_ADMIN}),
    ("checks:credit_entries", _("信用名单"), {Role.REVIEWER, Role.NATIONAL_ADMIN}),
    ("review:identity", _("身份核验与认领"), {Role.REVIEWER, Role.NATIONAL_ADMIN}),
    ("port:home", _("本地统计"), {Role.PORT_ADMIN}),
    ("port:analysis", _("数据分析"), {Role.PORT_ADMIN, Role.NATIONAL_ADMIN}),
    ("port:publications", _("数据发布"), {Role.PORT_ADMIN}),
    ("port:reports", _("工作报送"), {Role.PORT_ADMIN}),
    ("national:home", _("全国概览"), {Role.NATIONAL_ADMIN}),
    ("national:applications", _("端口开通申请"), {Role.NATIONAL_ADMIN}),
    ("national:ports", _("管理端口"), {Role.NATIONAL_ADMIN}),
    ("national:publications", _("数据发布"), {Role.NATIONAL_ADMIN}),
    ("national:reports", _("工作报送"), {Role.NATIONAL_ADMIN}),
    ("rosters:list", _("重点企业名单"), {Role.PORT_ADMIN, Role.NATIONAL_ADMIN}),
    ("rosters:coverage", _("名单覆盖情况"), {Role.PORT_ADMIN, Role.NATIONAL_ADMIN}),
    ("statements:list", _("备案情况证明"), {Role.PORT_ADMIN, Role.NATIONAL_ADMIN}),
    ("filing_settings:policy", _("备案规则设置"), {Role.NATIONAL_ADMIN}),
    ("certification:rounds", _("专利密集型产品认定"), {Role.NATIONAL_ADMIN}),
    ("certification:mine", _("产品认定"), {Role.ENTERPRISE}),
    ("certification:region", _("认定结果"), {Role.PORT_ADMIN}),
    ("certification:expert_home", _("评审任务"), {Role.EXPERT}),
    ("admin:index", _("系统管理"), {Role.SYSTEM_ADMIN}),
    ("security-accounts", _("账号与角色"), {Role.SECURITY_ADMIN}),
    ("security-notices", _("通知发送情况"), {Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN}),
    ("audit-log", _("审计日志"), {Role.AUDIT_ADMIN}),
    ("public:search", _("备案产品查询"), set()),
    ("certified:list", _("认定产品查询"), set()),
    ("opendata:index", _("开放数据"), set()),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    role = getattr(user, "role", None) if user is not None and user.is_authenticated else None
    items = []
    for name, label, roles in NAVIGATION:
        if roles and role not in roles:
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"url": url, "label": label, "active": False})
    # the entry whose address is the longest prefix of this page is the active one
    matches = [item for item in items if request.path.startswith(item["url"]) and item["url"] != "/"]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    return {"nav_items": items, "platform_name": settings.PLATFORM_NAME}
