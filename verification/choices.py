"""Choices of the verification API: what a client may ask (its scopes) and its state."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ClientScope(models.TextChoices):
    """OAuth2 scopes of a verification client (settings.OAUTH2_PROVIDER["SCOPES"] lists the same)."""

    FILINGS = "verify:filings", _("核验产品备案与备案情况证明")
    CERTIFICATES = "verify:certificates", _("核验专利密集型产品认定证书")
    STATISTICS = "read:statistics", _("读取本区域的备案统计")


class ClientStatus(models.TextChoices):
    ACTIVE = "active", _("启用")
    SUSPENDED = "suspended", _("已暂停")


class Endpoint(models.TextChoices):
    """What a call asked, as the usage page counts it."""

    TOKEN = "token", _("获取令牌")
    FILING = "filing", _("核验产品备案")
    CERTIFICATE = "certificate", _("核验认定证书")
    STATEMENT = "statement", _("核验备案情况证明")
    UNIT = "unit", _("单位的备案与认定产品")
    STATISTICS = "statistics", _("区域统计")
