from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    COMPANY = "company", _("企业")
    INSTITUTION = "institution", _("事业单位")


class ClassScheme(models.TextChoices):
    PATENT_INTENSIVE_2019 = "pi2019", _("知识产权（专利）密集型产业统计分类（2019）")
    PLATFORM = "platform", _("平台产品分类")
