"""Choices of the platform-wide models."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ENTERPRISE = "enterprise", _("企业用户")
    REVIEWER = "reviewer", _("平台审核员")
    PORT_ADMIN = "port_admin", _("管理端口管理员")
    NATIONAL_ADMIN = "national_admin", _("国家局管理员")
    EXPERT = "expert", _("评审专家")


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
