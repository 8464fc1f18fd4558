"""emulator/net/ sits between the modules and the transport: it imports only ``core``, ``at``,
``modules`` (effect and stimulus types) and ``errors`` from the emulator, and nothing below it
imports ``net``, so there is no cycle. What an executor needs from above (the port, the
Emulator, a backend's CA file) comes in as data through ``net/context.py``'s NetContext."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "emulator"
NET_MAY_IMPORT = {"core", "at", "modules", "errors", "net"}
BELOW_NET = ("core", "at", "modules")


def file_imports(path: Path) -> set[str]:
    return emulator_imports(path.read_text(encoding="utf-8"), path.relative_to(ROOT).parts[:-1])


def emulator_imports(source: str, pkg: tuple[str, ...]) -> set[str]:
    """The ``emulator`` top-level packages/modules that ``source`` (a file in package ``pkg``
    under ``emulator/``) imports: relative or absolute, also inside functions and
    ``TYPE_CHECKING`` blocks."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(pkg[:len(pkg) - node.level + 1])
                parts = base + (node.module.split(".") if node.module else [])
                if parts:
                    found.add(parts[0])
                else:  # ``from .. import x``: x is a top-level module or package
                    found.update(alias.name for alias in node.names)
            elif node.module and node.module.split(".")[0] == "emulator":
                parts = node.module.split(".")
                found.add(parts[1] if len(parts) > 1 else node.names[0].name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "emulator" and len(parts) > 1:
                    found.add(parts[1])
    return found


NET_FILES = sorted((ROOT / "net").glob("*.py"))


@pytest.mark.parametrize("path", NET_FILES, ids=lambda p: p.name)
def test_net_imports_nothing_above_it(path: Path) -> None:
    bad = file_imports(path) - NET_MAY_IMPORT
    assert not bad, f"net/{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize("layer", BELOW_NET)
def test_nothing_below_net_imports_it(layer: str) -> None:
    users = [p.relative_to(ROOT).as_posix() for p in sorted((ROOT / layer).rglob("*.py"))
             if "net" in file_imports(p)]
    assert not users


def test_the_checker_sees_relative_absolute_and_lazy_imports() -> None:
    src = ("from ..transport.runner import ModemPort\nfrom .. import backends\n"
           "def f():\n    import emulator.api.app\n    from emulator.scenarios import engine\n"
           "from .internet import FakeInternet\nfrom ..core.clock import VirtualClock\nimport asyncio\n")
    assert emulator_imports(src, ("net",)) == {"transport", "backends", "api", "scenarios", "net", "core"}
