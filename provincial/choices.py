from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    PROVINCE = "province", _("省级")
    XPCC = "xpcc", _("新疆生产建设兵团")
    CITY = "city", _("副省级城市")
