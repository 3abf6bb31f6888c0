"""Choices of the platform-wide models."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ENTERPRISE = "enterprise", _("企业用户")
    REVIEWER = "reviewer", _("平台审核员")
    PORT_ADMIN = "port_admin", _("管理端口管理员")
    NATIONAL_ADMIN = "national_admin", _("国家局管理员")
    EXPERT = "expert", _("评审专家")
    # 三权分立 (等保 2.0 L3-CES1-08): three administrators, each an account of its own; none sees business data.
    SYSTEM_ADMIN = "system_admin", _("系统管理员")
    SECURITY_ADMIN = "security_admin", _("安全管理员")
    AUDIT_ADMIN = "audit_admin", _("审计管理员")


# The three administrator roles of the separation of duties. A user has one `role`, so one account holds
# at most one of them; an account that holds one never changes to another (patent_platform/duties.py).
ADMIN_ROLES: frozenset[str] = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("省级")
    CITY = "city", _("地级")
    COUNTY = "county", _("县级")


class AuditAction(models.TextChoices):
    LOGIN = "login", _("登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    LOCKOUT = "lockout", _("账号锁定")
    LOGOUT = "logout", _("退出")
    PASSWORD_CHANGE = "password_change", _("修改密码")
    CREATE = "create", _("新增")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除")
    TRANSITION = "transition", _("状态变更")
    PERMISSION = "permission", _("权限变更")
    EXPORT = "export", _("导出")
    DOWNLOAD = "download", _("下载")
    IMPORT = "import", _("导入")
    SCORE = "score", _("专家评分")
