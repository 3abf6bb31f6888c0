"""GB/T 2260 administrative regions: provinces, prefecture-level cities, counties.

Codes are kept in their 6-digit form (440000, 440300, 440305). Port administrators are granted
django-guardian object permissions on Region rows (a few per port), never on products or
enterprises: grants grow with people, not with filings.
"""

from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from patent_platform.choices import RegionLevel
from patent_platform.i18n import english, localized_name

MANAGE_REGION_PERMISSION = "patent_platform.manage_region_data"


class RegionQuerySet(models.QuerySet["Region"]):
    def names(self) -> list[tuple[str, str]]:
        """(code, name in the active language) of the regions, in the queryset's order."""
        return [
            (code, name_en if english() and name_en else name)
            for code, name, name_en in self.values_list("code", "name", "name_en")
        ]


class Region(models.Model):
    code = models.CharField(_("区划代码"), max_length=6, primary_key=True)
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField(_("英文名称"), max_length=120, blank=True, help_text=_("汉语拼音，见 docs/I18N.md"))
    level = models.CharField(_("级别"), max_length=10, choices=RegionLevel.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    province_code = models.CharField(_("省级代码"), max_length=6, db_index=True)
    city_code = models.CharField(_("地级代码"), max_length=6, blank=True, db_index=True)

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering: ClassVar[list[str]] = ["code"]
        permissions: ClassVar[list[tuple[str, Any]]] = [("manage_region_data", _("查看和统计本区域的备案数据"))]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=models.Q(code__regex=r"^[0-9]{6}$"), name="region_code_six_digits"),
        ]

    def __str__(self) -> str:
        return localized_name(self)

    @property
    def full_name(self) -> str:
        """Name with its parents, skipping GB/T 2260's placeholder rows such as 市辖区; in English the
        smallest first, comma-separated (Nanshan District, Shenzhen, Guangdong)."""
        parts: list[str] = []
        node: Region | None = self
        while node is not None:
            if node.name not in {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}:
                parts.append(localized_name(node))
            node = node.parent
        if english():
            return ", ".join(parts)
        return "".join(reversed(parts))

    @staticmethod
    def codes_for(code: str) -> tuple[str, str, str]:
        """(province, city, county) 6-digit codes of a region code of any level."""
        province = code[:2] + "0000"
        city = code[:4] + "00" if code[2:4] != "00" else ""
        county = code if code[4:6] != "00" else ""
        return province, city, county
