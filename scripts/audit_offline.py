"""Audit the installed Python packages against a local copy of an OSV advisory database (closed networks).

pip-audit needs PyPI's JSON API or OSV over the network. A closed government network mirrors an advisory
database instead (e.g. an export of github.com/pypa/advisory-database: `vulns/<package>/*.yaml`, OSV
format); this script reads it and reports every installed distribution whose version an advisory affects.

    python scripts/audit_offline.py /var/lib/advisory-database

Exit status 1 if any installed package is affected (withdrawn advisories ignored), 0 otherwise; it prints
what it audited and the snapshot the database says it is (a `SNAPSHOT` file beside `vulns/`, else the
newest `modified` date found), so a stale mirror is visible in the CI log.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import yaml
from packaging.version import InvalidVersion, Version


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    advisory: str
    aliases: tuple[str, ...]
    fixed: tuple[str, ...]


def installed() -> dict[str, str]:
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            found[normalise(name)] = dist.version
    return found


def _in_ranges(version: Version, ranges: Iterable[dict]) -> tuple[bool, list[str]]:
    """OSV ECOSYSTEM ranges: a sorted list of introduced/fixed/last_affected events."""
    hit, fixes = False, []
    for rng in ranges:
        if rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
            continue
        affected = False
        for event in rng.get("events", []):
            try:
                if "introduced" in event:
                    intro = event["introduced"]
                    if intro == "0" or version >= Version(str(intro)):
                        affected = True
                elif "fixed" in event:
                    fixes.append(str(event["fixed"]))
                    if version >= Version(str(event["fixed"])):
                        affected = False
                elif "last_affected" in event and version > Version(str(event["last_affected"])):
                    affected = False
            except InvalidVersion:
                continue
        hit = hit or affected
    return hit, fixes


def advisories(db: Path, package: str) -> Iterator[dict]:
    folder = db / "vulns" / package
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
        if not data.get("withdrawn"):
            yield data


def audit(db: Path, packages: dict[str, str]) -> list[Finding]:
    findings = []
    for package, raw_version in sorted(packages.items()):
        try:
            version = Version(raw_version)
        except InvalidVersion:
            continue
        for adv in advisories(db, package):
            for affected in adv.get("affected", []):
                if normalise(affected.get("package", {}).get("name", "")) != package:
                    continue
                listed = str(raw_version) in {str(v) for v in affected.get("versions", [])}
                in_range, fixes = _in_ranges(version, affected.get("ranges", []))
                if listed or in_range:
                    findings.append(
                        Finding(package, raw_version, adv.get("id", "?"), tuple(adv.get("aliases", [])), tuple(fixes))
                    )
                    break
    return findings


def snapshot(db: Path) -> str:
    marker = db / "SNAPSHOT"
    if marker.exists():
        return marker.read_text(encoding="utf-8").strip()
    newest = ""
    for path in (db / "vulns").glob("*/*.yaml"):
        match = re.search(r'^modified:\s*"?([0-9T:\-.Z]+)', path.read_text(encoding="utf-8"), re.M)
        if match and match.group(1) > newest:
            newest = match.group(1)
    return f"newest advisory modified {newest or 'unknown'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path, help="folder holding vulns/<package>/*.yaml")
    args = parser.parse_args(argv)
    if not (args.database / "vulns").is_dir():
        print(f"no vulns/ folder under {args.database}", file=sys.stderr)
        return 2
    packages = installed()
    covered = sum(1 for p in packages if (args.database / "vulns" / p).is_dir())
    findings = audit(args.database, packages)
    print(f"advisory database: {args.database} ({snapshot(args.database)})")
    print(f"audited {len(packages)} installed packages; {covered} have advisories in the database")
    for f in findings:
        also = f" ({', '.join(f.aliases)})" if f.aliases else ""
        fixed = f"; fixed in {', '.join(f.fixed)}" if f.fixed else ""
        print(f"VULNERABLE {f.package} {f.version}: {f.advisory}{also}{fixed}")
    print(f"{len(findings)} known vulnerabilities")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
