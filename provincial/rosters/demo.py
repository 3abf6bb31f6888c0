"""The demo rosters (called by `load_demo`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from filings.identifiers import build_uscc
from filings.models import FilingUnit
from patent_platform.clock import china_today
from patent_platform.models import Region
from provincial.choices import RosterCategory
from provincial.models import Roster
from provincial.rosters.files import ParsedEntry, region_of
from provincial.rosters.services import roster_save

if TYPE_CHECKING:
    from patent_platform.models import User

DEMO_FILED = ["广州云帆智能装备有限公司", "深圳鹏芯微电子有限公司", "杭州西溪新材料科技有限公司"]

# (name, county code, organisation code body): made-up enterprises that have not filed
DEMO_UNFILED = [
    ("佛山禅城示例精密机械有限公司", "440604", "MA5DM001"),
    ("广州越秀示例智能科技有限公司", "440104", "MA5DM002"),
    ("深圳福田示例光电技术有限公司", "440304", "MA5DM003"),
    ("杭州上城示例生物医药有限公司", "330102", "MA2DM004"),
    ("宁波海曙示例新能源有限公司", "330203", "MA2DM005"),
]

# the roster contacts of the made-up enterprises (obviously fake: example.cn, 138-0000-xxxx), by organisation body
DEMO_CONTACTS = {
    "MA5DM001": ("冯示例", "138-0000-0101", "fengshili@foshan-demo.example.cn"),
    "MA5DM002": ("越示例", "138-0000-0102", "yueshili@yuexiu-demo.example.cn"),
    "MA5DM003": ("田示例", "0755-8000-0103", "tianshili@futian-demo.example.cn"),
    "MA2DM004": ("城示例", "138-0000-0104", ""),
    "MA2DM005": ("海示例", "", "haishili@haishu-demo.example.cn"),
}


@transaction.atomic
def load_demo_rosters(national_user: User) -> Roster:
    """A national 国家知识产权优势企业 roster for this year: the three demo enterprises and five made-up
    ones in 广东 and 浙江 that have not filed. Running it twice changes nothing."""
    year = china_today().year
    title = _("%(year)s 年国家知识产权优势企业名单（演示）") % {"year": year}
    existing = Roster.objects.filter(
        category=RosterCategory.NATIONAL_ADVANTAGE, year=year, owner=None, title=title
    ).first()
    if existing is not None:
        return existing
    known = set(Region.objects.values_list("code", flat=True))
    pairs = [
        (uscc, name, ("", "", ""))
        for uscc, name in FilingUnit.objects.filter(name__in=DEMO_FILED).order_by("name").values_list("uscc", "name")
    ]
    pairs += [
        (build_uscc(region_code=county, org_body=org), name, DEMO_CONTACTS.get(org, ("", "", "")))
        for name, county, org in DEMO_UNFILED
    ]
    entries = []
    for number, (uscc, name, contact) in enumerate(pairs, start=2):
        codes = region_of(uscc, known)
        if codes is not None:
            entries.append(ParsedEntry(number, uscc, name, *codes, *contact))
    return roster_save(
        user=national_user,
        owner=None,
        category=RosterCategory.NATIONAL_ADVANTAGE,
        year=year,
        title=title,
        source_name="demo",
        entries=entries,
    )
