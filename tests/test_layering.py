"""Sans-IO layering (h11's rule): the core, the AT layer, the module profiles and the pure
parts of every backend (models.py, store.py, registry.py, *codec.py) import no I/O module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "emulator"
FORBIDDEN = {"asyncio", "socket", "os", "pty", "time", "threading", "selectors", "subprocess"}


def _pure_files() -> list[Path]:
    files = [p for pkg in ("core", "at", "modules") for p in (ROOT / pkg).rglob("*.py")]
    for p in (ROOT / "backends").rglob("*.py"):
        if p.name in ("models.py", "store.py", "registry.py") or p.name.endswith("codec.py"):
            files.append(p)
    return sorted(files)


def imported_modules(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                "__import__", "import_module") and node.args and isinstance(node.args[0], ast.Constant):
            found.add(str(node.args[0].value).split(".")[0])
    return found


def test_there_are_files_to_check() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in _pure_files()}
    assert {"core/modem.py", "core/framing.py", "at/grammar.py", "modules/profile.py"} <= names


@pytest.mark.parametrize("path", _pure_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_io_imports(path: Path) -> None:
    bad = imported_modules(path.read_text(encoding="utf-8")) & FORBIDDEN
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_checker_catches_io() -> None:
    src = "import os.path\nfrom asyncio import sleep\nimport importlib\nimportlib.import_module('socket')\n"
    assert imported_modules(src) >= {"os", "asyncio", "socket"}
    assert "time" not in imported_modules("from .time import x\nfrom datetime import time\n")
