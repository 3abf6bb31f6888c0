"""No import cycle between the modules of an app (issue 23, docs/ARCHITECTURE.md): a module's imports, at the top
or inside a function, never lead back to it. The one exception is the hand-off to a task: a function that imports
its app's `tasks` module and sends the task with `transaction.on_commit` (services call tasks that way; tasks call
services directly). import-linter checks the layers between the apps; this checks inside each."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("patent_platform", "filings", "evaluation", "provincial", "verification")


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def app_modules(root: Path, app: str) -> dict[str, Path]:
    return {module_name(root, p): p for p in (root / app).rglob("*.py") if "migrations" not in p.parts}


def imported(node: ast.Import | ast.ImportFrom, module: str, package: bool) -> list[str]:
    """The dotted names an import statement may load (`from a import b` may load the module a.b)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".")[: len(module.split(".")) - node.level + (1 if package else 0)]
        base = ".".join([*parts, *([node.module] if node.module else [])])
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def hand_offs(tree: ast.Module) -> set[int]:
    """The import statements inside functions that hand work to a task with `transaction.on_commit`: functions
    that call it, and functions given to it by name (`on_commit(_kick)`)."""
    given = {
        argument.id
        for call in ast.walk(tree)
        if isinstance(call, ast.Call) and ast.unparse(call.func).endswith("on_commit")
        for argument in call.args
        if isinstance(argument, ast.Name)
    }
    found: set[int] = set()
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) and (
            function.name in given or "on_commit" in ast.unparse(function)
        ):
            found.update(id(node) for node in ast.walk(function) if isinstance(node, ast.Import | ast.ImportFrom))
    return found


def import_graph(app: str, root: Path = ROOT) -> dict[str, set[str]]:
    modules = app_modules(root, app)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        exempt = hand_offs(tree)
        targets: set[str] = set()
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for dotted in imported(node, name, path.name == "__init__.py"):
                parts = dotted.split(".")
                while parts and ".".join(parts) not in modules:  # the longest prefix that is a module of the app
                    parts.pop()
                target = ".".join(parts)
                if not target or target == name:
                    continue
                if target == f"{app}.tasks" and id(node) in exempt:
                    continue
                targets.add(target)
        graph[name] = targets
    return graph


@pytest.mark.parametrize("app", APPS)
def test_no_import_cycle_inside_an_app(app: str) -> None:
    graph = import_graph(app)
    assert len(graph) > 5  # the walk found the app's modules
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        pytest.fail(f"import cycle in {app}: {' -> '.join(error.args[1])}")


def test_a_late_import_back_is_a_cycle_and_a_task_hand_off_is_not(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "views").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "views" / "__init__.py").write_text("from .pages import page\n")
    (app / "views" / "pages.py").write_text("from app import services\n\ndef page():\n    return services\n")
    (app / "services.py").write_text(
        "from django.db import transaction\n\n"
        "def send():\n    from app.tasks import job\n    transaction.on_commit(job.delay)\n\n"
        "def late():\n    from ..app.views import pages\n"  # relative, two levels: app.views.pages
    )
    (app / "tasks.py").write_text("from app import services\n")
    graph = import_graph("app", tmp_path)
    assert "app.services" in graph["app.tasks"] and "app.tasks" not in graph["app.services"]
    with pytest.raises(graphlib.CycleError):  # services -> views.pages -> services
        graphlib.TopologicalSorter(graph).prepare()
    (app / "services.py").write_text(
        "from django.db import transaction\n\ndef send():\n    from app.tasks import job\n"
        "    transaction.on_commit(job.delay)\n"
    )
    graphlib.TopologicalSorter(import_graph("app", tmp_path)).prepare()  # the hand-off alone: no cycle


def test_no_private_name_is_imported_from_another_module() -> None:
    """A name with a leading underscore is its module's own: another module that needs it gets a public name."""
    found = []
    for app in APPS:
        for name, path in app_modules(ROOT, app).items():
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in APPS:
                    found += [
                        f"{name}: {node.module}.{alias.name}"
                        for alias in node.names
                        if alias.name.startswith("_") and not alias.name.startswith("__")
                    ]
    assert found == []
