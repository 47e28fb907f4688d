"""Compiled hot paths: which modules ``scripts/build-native`` compiles with mypyc, and the guard
that keeps a stale build from shadowing the Python sources.

The routing engine's pure modules and the digital twin's event loop are plain, type-checked
Python; ``scripts/build-native`` (run by ``scripts/install``, hence by ``scripts/test`` and
``scripts/demo``) compiles them with mypyc into C extensions next to the sources, which Python
then imports in place of the ``.py`` files. The build writes a stamp (``kefu/_native.json``)
with the SHA-256 of every source file the compiled modules were built from (the modules and
everything in ``kefu`` they import). :func:`guard` runs first in ``kefu/routing/__init__.py``
and ``kefu/simulation/__init__.py``: when the extensions exist but any of those files changed
since the build (or the stamp is missing, or was written for other modules), it warns and
makes Python import the ``.py`` sources instead, so an edited source is never shadowed by old
compiled code. ``KEFU_NATIVE`` selects: ``auto`` (default: compiled when fresh, else the
sources), ``off`` (always the sources) or ``require`` (raise ImportError unless the fresh
compiled modules are in use: the CI sets this so the tests run against the compiled code).

Standard library only: the build itself lives in ``scripts/build-native``.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from pathlib import Path
from types import ModuleType

__all__ = [
    "GROUP",
    "MODULES",
    "STAMP",
    "NativeBuildWarning",
    "digest_files",
    "extension_paths",
    "guard",
    "source_path",
    "status",
]

# Compiled together as one mypyc group (the shared library is kefu/_native__mypyc.*.so).
MODULES: tuple[str, ...] = (
    "kefu.routing.policies",
    "kefu.routing.state",
    "kefu.routing.index",
    "kefu.routing.core",
    "kefu.routing.views",
    "kefu.routing.admin",
    "kefu.routing.engine",
    "kefu.simulation.simulator",
)
GROUP = "kefu._native"
PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # .../kefu
STAMP = PACKAGE_ROOT / "_native.json"
ENV = "KEFU_NATIVE"

_state: str | None = None


class NativeBuildWarning(RuntimeWarning):
    """The compiled modules are stale: the Python sources are used instead."""


def source_path(module: str, root: Path = PACKAGE_ROOT) -> Path:
    """``kefu.routing.engine`` -> ``<root>/routing/engine.py``."""
    parts = module.split(".")
    return root.joinpath(*parts[1:]).with_suffix(".py")


def extension_paths(root: Path = PACKAGE_ROOT) -> list[Path]:
    """The compiled modules and their shared library for *this* interpreter, where they would
    be (whether they exist or not)."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    paths = [source_path(m, root).with_name(m.rsplit(".", 1)[1] + suffix) for m in MODULES]
    paths.append(root / f"{GROUP.rsplit('.', 1)[1]}__mypyc{suffix}")
    return paths


def digest_files(relpaths: Sequence[str], root: Path = PACKAGE_ROOT) -> dict[str, str]:
    """SHA-256 of each file (paths relative to the ``kefu`` package; missing files: "")."""
    out = {}
    for rel in relpaths:
        path = root / rel
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    return out


def status(root: Path = PACKAGE_ROOT, stamp: Path | None = None) -> tuple[str, str]:
    """``("absent" | "fresh" | "stale", why)`` for the compiled modules under ``root``."""
    stamp = stamp or root / STAMP.name
    present = [p for p in extension_paths(root) if p.is_file()]
    if not present:
        return "absent", "no compiled modules for this interpreter"
    if len(present) < len(MODULES) + 1:
        return "stale", "some compiled modules are missing (an interrupted build?)"
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
        files: dict[str, str] = recorded["sources"]
        modules = tuple(recorded["modules"])
    except (OSError, ValueError, KeyError, TypeError):
        return "stale", f"no readable build stamp ({stamp.name})"
    if modules != MODULES:
        return "stale", "the build compiled other modules than kefu.core.native.MODULES"
    changed = [rel for rel, sha in digest_files(sorted(files), root).items() if sha != files[rel]]
    if changed:
        return "stale", "changed since the build: " + ", ".join(changed)
    return "fresh", "compiled modules match their sources"


class _SourceFinder(MetaPathFinder):
    """Imports the listed modules from their ``.py`` files (ahead of the extensions)."""

    def __init__(self, root: Path) -> None:
        self.paths = {m: source_path(m, root) for m in MODULES}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        source = self.paths.get(fullname)
        if source is None:
            return None
        return importlib.util.spec_from_file_location(fullname, source)


def guard() -> str:
    """Decide once per process which code runs: ``"compiled"`` or ``"source"``."""
    global _state
    if _state is not None:
        return _state
    mode = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if mode not in ("auto", "off", "require"):
        raise ImportError(f"{ENV}={mode!r}: expected auto, off or require")
    found, why = status()
    if mode == "require" and found != "fresh":
        raise ImportError(
            f"{ENV}=require but the compiled routing engine is {found} ({why}); "
            "run scripts/build-native"
        )
    loaded = [m for m in MODULES if m in sys.modules]
    if found == "fresh" and mode != "off":
        _state = "compiled"
        return _state
    if found == "stale" and mode == "auto":
        warnings.warn(
            f"kefu: the compiled routing engine is stale ({why}); running the Python sources. "
            "Run scripts/build-native to rebuild it.",
            NativeBuildWarning,
            stacklevel=2,
        )
    if found != "absent":
        if loaded:  # imported before the guard ran: too late to swap them
            raise ImportError(f"kefu.core.native.guard() ran after importing {loaded}")
        sys.meta_path.insert(0, _SourceFinder(PACKAGE_ROOT))
    _state = "source"
    return _state
