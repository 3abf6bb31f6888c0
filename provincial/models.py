"""Management units (管理端口): the provinces, XPCC and the sub-provincial cities.

A unit's administrators are granted the port permission on the unit's Region rows; the scoping rule
then reads those grants. A province sees the cities inside it; a city port sees only its own city.
XPCC has no GB/T 2260 province code of its own: its unit has the internal code `XPCC` (clearly not a
GB code) and is granted its county-level cities 659001–659012.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from provincial.choices import UnitKind


class ManagementUnit(models.Model):
    code = models.CharField(_("端口代码"), max_length=10, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=10, choices=UnitKind.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    regions = models.ManyToManyField("patent_platform.Region", verbose_name=_("管辖区划"), related_name="+")
    separately_planned = models.BooleanField(_("计划单列市"), default=False)
    is_open = models.BooleanField(_("端口已开通"), default=False)

    class Meta:
        verbose_name = _("管理端口")
        verbose_name_plural = _("管理端口")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class PortMembership(models.Model):
    """A port administrator belongs to one management unit."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="port_membership")
    unit = models.ForeignKey(ManagementUnit, on_delete=models.PROTECT, related_name="memberships")

    class Meta:
        verbose_name = _("端口管理员")
        verbose_name_plural = _("端口管理员")

    def __str__(self) -> str:
        return f"{self.user} @ {self.unit}"
