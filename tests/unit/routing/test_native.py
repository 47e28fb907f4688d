"""The compiled routing engine (scripts/build-native, kefu.core.native): a stale build never
shadows the Python sources, and the CI really tests the compiled modules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kefu.core import native

pytestmark = pytest.mark.unit

KEFU = Path(native.__file__).resolve().parents[1]


def _fake_tree(root: Path) -> list[str]:
    """A kefu tree with the compiled modules' sources, their extensions and a matching stamp."""
    rels = []
    for module in native.MODULES:
        source = native.source_path(module, root)
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(f"# {module}\n", encoding="utf-8")
        rels.append(str(source.relative_to(root)))
    for ext in native.extension_paths(root):
        ext.write_bytes(b"")
    stamp = {"modules": list(native.MODULES), "sources": native.digest_files(rels, root)}
    (root / native.STAMP.name).write_text(json.dumps(stamp), encoding="utf-8")
    return rels


def test_a_build_is_used_only_while_its_sources_are_unchanged(tmp_path: Path) -> None:
    assert native.status(tmp_path)[0] == "absent"
    _fake_tree(tmp_path)
    assert native.status(tmp_path)[0] == "fresh"

    engine = native.source_path("kefu.routing.engine", tmp_path)
    engine.write_text(engine.read_text(encoding="utf-8") + "x = 1\n", encoding="utf-8")
    found, why = native.status(tmp_path)
    assert found == "stale"
    assert "routing/engine.py" in why


def test_a_partial_build_or_a_missing_or_foreign_stamp_is_stale(tmp_path: Path) -> None:
    _fake_tree(tmp_path)
    stamp = tmp_path / native.STAMP.name
    recorded = json.loads(stamp.read_text(encoding="utf-8"))

    recorded["modules"] = recorded["modules"][:-1]
    stamp.write_text(json.dumps(recorded), encoding="utf-8")
    assert native.status(tmp_path)[0] == "stale"

    stamp.unlink()
    assert native.status(tmp_path)[0] == "stale"

    _fake_tree(tmp_path)
    native.extension_paths(tmp_path)[0].unlink()
    assert native.status(tmp_path)[0] == "stale"


def _import_engine(root: Path, mode: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root), native.ENV: mode}
    code = "import kefu.routing.engine as e, kefu.simulation.simulator as s; print(e.__file__)"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True
    )


@pytest.mark.skipif(
    native.status()[0] != "fresh", reason="no fresh build here (run scripts/build-native)"
)
def test_an_edited_source_wins_over_the_compiled_module(tmp_path: Path) -> None:
    copy = tmp_path / "kefu"
    shutil.copytree(KEFU, copy, ignore=shutil.ignore_patterns("__pycache__"))
    fresh = _import_engine(tmp_path, "require")
    assert fresh.returncode == 0, fresh.stderr
    assert Path(fresh.stdout.strip()).name != "engine.py"  # the extension

    engine = copy / "routing" / "engine.py"
    engine.write_text(engine.read_text(encoding="utf-8") + "\nEDITED = True\n", encoding="utf-8")
    stale = _import_engine(tmp_path, "auto")
    assert stale.returncode == 0, stale.stderr
    assert stale.stdout.strip() == str(engine)
    assert "NativeBuildWarning" in stale.stderr and "routing/engine.py" in stale.stderr

    refused = _import_engine(tmp_path, "require")
    assert refused.returncode != 0
    assert "scripts/build-native" in refused.stderr


def test_the_ci_tests_the_compiled_engine() -> None:
    import kefu.routing.engine
    import kefu.simulation.simulator

    files = [kefu.routing.engine.__file__, kefu.simulation.simulator.__file__]
    if os.environ.get(native.ENV) == "require":  # scripts/test
        assert all(not f.endswith(".py") for f in files), files
    elif os.environ.get(native.ENV) == "off":
        assert all(f.endswith(".py") for f in files), files
    else:
        pytest.skip(f"{native.ENV} is not set: either build may be in use")
