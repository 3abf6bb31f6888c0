"""Services are keyword-only (issue 23, docs/ARCHITECTURE.md; the HackSoft style in STYLE.md).

A function that changes data on behalf of someone — a public, module-level function of an app's service layer
that takes the acting person (`user`, `actor`, `manager`, `owner`) and writes (a transaction, a save, an audit
record, a notice) — takes its arguments by keyword only, so that `version_submit(version=v, user=reviewer)`
can never be called with the version and the user swapped, and a new argument cannot shift an old call.
The check reads the source (no import), so it also covers modules no test imports.
"""

from __future__ import annotations

import ast
import functools
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("patent_platform", "filings", "evaluation", "provincial", "verification")
# Not the service layer: these call services (or are called by the framework with positional arguments).
NOT_SERVICES = ("migrations", "views", "api", "admin", "management", "models", "templatetags", "settings")
ACTING = {"user", "actor", "manager", "owner"}
WRITES = ("transaction.atomic", ".save(", ".create(", ".delete(", "audit_event(", "audit_change(")
NOT_ACTIONS = {
    # signal receivers: Django calls them with the sender positionally
    ("evaluation/lifecycle.py", "on_patent_status"),
    ("evaluation/lifecycle.py", "on_transition"),
    # the system's own security record about an account whose tag does not match (the account is its subject)
    ("patent_platform/integrity.py", "report"),
}


@functools.cache  # read once for the tests below
def service_modules() -> list[Path]:
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if any(part in NOT_SERVICES or part.removesuffix(".py") in NOT_SERVICES for part in parts[1:]):
                continue
            if path.name in ("tasks.py", "admin.py", "urls.py", "forms.py") or path.name.startswith("urls_"):
                continue
            found.append(path)
    return found


@functools.cache
def services_in(source: str, rel: str) -> list[ast.FunctionDef]:
    """The module's services: public module-level functions that take the acting person and write."""
    found = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("_") or (rel, node.name) in NOT_ACTIONS:
            continue
        args = node.args
        takes_actor = ACTING & {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        text = ast.get_source_segment(source, node) or ""
        if takes_actor and any(mark in text for mark in WRITES):
            found.append(node)
    return found


def positional_services(source: str, rel: str) -> list[str]:
    found = []
    for node in services_in(source, rel):  # cached: the same sources are scanned by the next test
        positional = [a.arg for a in node.args.posonlyargs + node.args.args]
        if positional:
            found.append(f"{rel}:{node.lineno} {node.name}({', '.join(positional)}, …)")
    return found


def test_the_scan_sees_the_service_layer() -> None:
    """The scan reads the modules where the services are (a wrong root or filter would pass vacuously)."""
    names = {p.relative_to(ROOT).as_posix() for p in service_modules()}
    assert {"filings/services.py", "filings/workflow.py", "evaluation/rounds.py", "provincial/reports.py"} <= names
    assert not any("/views/" in n or "/migrations/" in n for n in names)


@pytest.mark.parametrize(
    "source",
    [
        "from django.db import transaction\n@transaction.atomic\ndef approve(version, user):\n    version.save()\n",
        "def note(report, user, body):\n    Comment.objects.create(report=report, user=user, body=body)\n",
    ],
)
def test_a_positional_service_is_refused(source: str) -> None:
    assert positional_services(source, "filings/probe.py"), source


def test_a_keyword_only_service_or_a_read_passes() -> None:
    source = (
        "def version_approve(*, version, user):\n    version.save()\n\n"
        "def unread_count(user):\n    return Report.objects.filter(user=user).count()\n"
    )
    assert positional_services(source, "filings/probe.py") == []


def test_every_service_that_acts_for_someone_is_keyword_only() -> None:
    offenders = [
        line
        for path in service_modules()
        for line in positional_services(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())
    ]
    assert offenders == [], "\n".join(offenders)


def test_every_module_that_holds_a_service_is_checked_strictly() -> None:
    """pyproject.toml's strict override (disallow_untyped_defs, disallow_any_generics …) names each such module."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    strict: set[str] = set()
    for override in config["tool"]["mypy"]["overrides"]:
        if override.get("disallow_any_generics") and override.get("disallow_untyped_calls"):
            strict.update(override["module"])
    holders = set()
    for path in service_modules():
        rel = path.relative_to(ROOT)
        if services_in(path.read_text(encoding="utf-8"), rel.as_posix()):
            holders.add(".".join(rel.with_suffix("").parts).removesuffix(".__init__"))
    assert "filings.workflow" in holders and "evaluation.rounds" in holders  # the scan finds them
    assert sorted(holders - strict) == []
