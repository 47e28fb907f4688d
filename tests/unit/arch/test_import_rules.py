"""The dependency rule of docs/architecture.md, checked by parsing every import in kefu/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3] / "kefu"
FEATURES = {
    "tenancy",
    "customers",
    "routing",
    "tickets",
    "knowledge",
    "wfm",
    "simulation",
    "quality",
    "reporting",
    "ivr",
    "marketing",
    "outbound",
    "channels",
}
ADAPTER_LAYERS = {"api", "web", "realtime", "workers"}
COMPOSITION = {"bootstrap", "cli", "schema", "demo", "config"}
FRAMEWORKS = {
    "fastapi",
    "starlette",
    "sqlalchemy",
    "alembic",
    "redis",
    "jinja2",
    "uvicorn",
    "pydantic",
    "pydantic_settings",
    "httpx",
    "psycopg",
}
# Pure modules: importable by the simulator and tests with no web framework or database.
PURE_NAMES = {
    "model.py",
    "policies.py",
    "engine.py",
    "erlang.py",
    "calendar.py",
    "sla.py",
    "forecast.py",
    "schedule.py",
    "masking.py",
}
ADAPTER_MODULES = {"api.py", "schemas.py", "pages.py"}  # a feature's HTTP/page edge


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            if node.module == "kefu":  # from kefu import api -> the module kefu.api
                found.extend(f"kefu.{alias.name}" for alias in node.names)
    return found


def _modules() -> list[tuple[Path, tuple[str, ...]]]:
    return [(p, p.relative_to(ROOT).parts) for p in sorted(ROOT.rglob("*.py"))]


def violations() -> list[str]:
    out: list[str] = []
    for path, parts in _modules():
        top = parts[0].removesuffix(".py")
        name = parts[-1]
        rel = "/".join(parts)
        if parts[:2] == ("db", "migrations"):
            continue  # Alembic's env.py loads the whole schema: it is a composition point
        for imported in _imports(path):
            root, _, rest = imported.partition(".")
            if root in FRAMEWORKS:
                if top == "core" or (top in FEATURES and name in PURE_NAMES):
                    out.append(f"{rel}: pure code imports {imported}")
                continue
            if root != "kefu" or not rest:
                continue
            target = rest.split(".")
            target_top = target[0]
            if top == "core" and target_top != "core":
                out.append(f"{rel}: core imports {imported}")
            if top == "db" and target_top not in {"core", "db"}:
                out.append(f"{rel}: db imports {imported}")
            if top in FEATURES and name in PURE_NAMES and target_top not in {"core", top}:
                out.append(f"{rel}: pure module imports {imported}")
            if (
                top in FEATURES
                and name in PURE_NAMES
                and target_top == top
                and len(target) > 1
                and target[1] in {"services", "tables", "api", "schemas"}
            ):
                out.append(f"{rel}: pure module imports its feature's {target[1]}")
            if (
                target_top in ADAPTER_LAYERS | COMPOSITION - {"config"}
                and top not in ADAPTER_LAYERS | COMPOSITION
                and name not in ADAPTER_MODULES
            ):
                out.append(f"{rel}: inner code imports the outer layer {imported}")
            if (
                top in FEATURES
                and target_top in FEATURES
                and target_top != top
                and top != "reporting"
            ):
                # Another feature only through its package surface (kefu.<feature>), or a
                # feature's adapter reaching another's tables for a read-only join.
                deep = len(target) > 1
                if deep and not (name in ADAPTER_MODULES and target[1] == "tables"):
                    out.append(f"{rel}: reaches into {imported}; use kefu.{target_top} or an event")
            if top == "reporting" and len(target) > 1 and target[1] == "services":
                out.append(f"{rel}: reporting only reads; it may not call {imported}")
    return out


def test_the_dependency_rule_holds() -> None:
    assert violations() == []


def test_the_checker_catches_a_violation(tmp_path: Path) -> None:
    fake = tmp_path / "kefu"
    (fake / "routing").mkdir(parents=True)
    (fake / "routing" / "engine.py").write_text(
        "import sqlalchemy\nfrom kefu.api.deps import Ctx\n"
    )
    (fake / "customers").mkdir()
    (fake / "customers" / "services.py").write_text("from kefu.tenancy.tables import User\n")
    (fake / "core").mkdir()
    (fake / "core" / "x.py").write_text("from kefu.tenancy import Principal\n")
    globals()["ROOT"] = fake
    try:
        found = violations()
    finally:
        globals()["ROOT"] = Path(__file__).resolve().parents[3] / "kefu"
    assert any("routing/engine.py: pure code imports sqlalchemy" in v for v in found)
    assert any(
        "routing/engine.py: inner code imports the outer layer kefu.api.deps" in v for v in found
    )
    assert any("customers/services.py: reaches into kefu.tenancy.tables" in v for v in found)
    assert any("core/x.py: core imports kefu.tenancy" in v for v in found)
