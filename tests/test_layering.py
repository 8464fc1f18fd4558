"""Layering, checked on the source (ast over emulator/).

Sans-IO (h11's rule): the core, the AT layer, the module profiles and the pure parts of every
backend (models.py, store.py, registry.py, credentials.py, *codec.py) import no I/O module. One-way seams: the
core imports nothing of emulator/ above core/, at/ and errors; no two packages of emulator/
import each other, directly or round a ring of packages; no file under emulator/modules/ is in
an import cycle (lazy, TYPE_CHECKING and importlib.import_module imports count); no feature
assigns an attribute of the Modem, also through a local name for it (it declares hooks in its
Feature instead). Each checker is shown to catch a planted violation.

Must not: import emulator/ (it reads the files, so a broken import cannot hide a violation).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "emulator"
FORBIDDEN = {"asyncio", "socket", "os", "pty", "time", "threading", "selectors", "subprocess"}


def _pure_files() -> list[Path]:
    files = [p for pkg in ("core", "at", "modules") for p in (ROOT / pkg).rglob("*.py")]
    for p in (ROOT / "backends").rglob("*.py"):
        if p.name in ("models.py", "store.py", "registry.py", "credentials.py") or p.name.endswith("codec.py"):
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


# --- the import graph of emulator/ --------------------------------------------------------
# Every import counts: module level, inside functions (lazy) and under TYPE_CHECKING. An
# import of a.b.c is an edge to a.b.c only (not to the packages a and a.b it passes through).

def _module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(name: str, modules: set[str]) -> str | None:
    return name if name in modules else None


def import_edges(sources: dict[str, tuple[str, bool]]) -> dict[str, set[str]]:
    """{module: (source, is_package)} -> {module: modules of the same tree it imports}."""
    modules = set(sources)
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for mod, (source, is_pkg) in sources.items():
        package = mod if is_pkg else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(source)):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[:len(base) - (node.level - 1)]
                    prefix = ".".join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module or ""
                targets = [prefix]
                targets += [f"{prefix}.{alias.name}" for alias in node.names]  # submodules
            elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                    "__import__", "import_module") and node.args and isinstance(node.args[0], ast.Constant):
                targets = [str(node.args[0].value)]  # importlib.import_module("emulator.x.y")
            for target in targets:
                found = _resolve(target, modules)
                if found and found != mod:
                    edges[mod].add(found)
    return edges


def _tree_sources(root: Path) -> dict[str, tuple[str, bool]]:
    return {_module_name(p, root): (p.read_text(encoding="utf-8"), p.name == "__init__.py")
            for p in root.rglob("*.py")}


EDGES = import_edges(_tree_sources(ROOT))
BELOW_CORE = ("emulator.core", "emulator.at", "emulator.errors")


def _within(mod: str, prefixes: tuple[str, ...]) -> bool:
    return any(mod == p or mod.startswith(p + ".") for p in prefixes)


def upward_imports(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Core modules importing anything of emulator/ other than core/, at/ and errors."""
    return sorted((m, t) for m, ts in edges.items() if _within(m, ("emulator.core",))
                  for t in ts if not _within(t, BELOW_CORE))


def cycles(edges: dict[str, set[str]], within: str) -> list[list[str]]:
    """Strongly connected components (> 1 module) among the modules under ``within``."""
    nodes = sorted(m for m in edges if _within(m, (within,)))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan; the graph is small enough for recursion
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if not _within(w, (within,)):
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    for n in nodes:
        if n not in index:
            visit(n)
    return out


def _package(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else "<emulator>"


def package_pairs(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Pairs of emulator/'s packages (top-level modules count as packages) importing each other."""
    deps = {(_package(m), _package(t)) for m, ts in edges.items() for t in ts}
    deps = {(a, b) for a, b in deps if a != b and "<emulator>" not in (a, b)}
    return sorted((a, b) for a, b in deps if a < b and (b, a) in deps)


def package_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Cycles among emulator/'s packages through any number of them (net -> api -> control ->
    net imports each other as surely as a pair does)."""
    graph: dict[str, set[str]] = {}
    for m, ts in edges.items():
        for t in ts:
            a, b = _package(m), _package(t)
            graph.setdefault(f"p.{a}", set())
            graph.setdefault(f"p.{b}", set())
            if a != b and "<emulator>" not in (a, b):
                graph[f"p.{a}"].add(f"p.{b}")
    return [[n[2:] for n in comp] for comp in cycles(graph, "p")]


_MUTATORS = {"append", "extend", "insert", "add", "setdefault"}


def modem_assignments(source: str) -> list[str]:
    """``x.modem.attr = ...`` (also augmented/annotated), ``setattr(x.modem, ...)`` and
    growing a container of the Modem (``x.modem.hooks.append(...)``)."""
    found = []
    tree = ast.parse(source)
    aliases = _modem_aliases(tree)

    def _is_modem(node: ast.expr) -> bool:
        return _is_modem_expr(node) or (isinstance(node, ast.Name) and node.id in aliases)

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in _MUTATORS and isinstance(node.func.value, ast.Attribute) and \
                _is_modem(node.func.value.value):
            found.append(f"line {node.lineno}: ...modem.{node.func.value.attr}.{node.func.attr}(...)")
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("setattr", "delattr") and node.args and _is_modem(node.args[0]):
            found.append(f"line {node.lineno}: {node.func.id}(...modem, ...)")
        stack = list(targets)
        while stack:
            t = stack.pop()
            if isinstance(t, (ast.Tuple, ast.List)):
                stack.extend(t.elts)
            elif isinstance(t, ast.Attribute) and _is_modem(t.value):
                found.append(f"line {t.lineno}: ...modem.{t.attr} = ...")
    return sorted(found, key=lambda text: int(text.split()[1].rstrip(":")))


def _is_modem_expr(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "modem"


def _modem_aliases(tree: ast.AST) -> set[str]:
    """Names bound to ``x.modem`` anywhere in the file (``m = ctx.modem``, ``(m := ctx.modem)``,
    in any scope): ``m.attr = ...`` patches the Modem as surely."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and node.value is not None \
                and _is_modem_expr(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def test_core_imports_nothing_above_it() -> None:
    assert upward_imports(EDGES) == []


def test_no_import_cycle_in_modules() -> None:
    assert cycles(EDGES, "emulator.modules") == []


def test_no_two_packages_import_each_other() -> None:
    assert package_pairs(EDGES) == []
    assert package_cycles(EDGES) == []


@pytest.mark.parametrize("path", sorted((ROOT / "modules").rglob("*.py")),
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_features_assign_nothing_onto_the_modem(path: Path) -> None:
    assert modem_assignments(path.read_text(encoding="utf-8")) == []


# --- the checkers catch planted violations ------------------------------------------------
def _planted(files: dict[str, str]) -> dict[str, set[str]]:
    return import_edges({name.removesuffix(".__init__"): (src, name.endswith("__init__"))
                         for name, src in files.items()})


def test_checker_catches_upward_core_import() -> None:
    edges = _planted({"emulator.core.modem": "def f():\n    from ..modules.profile import Reply\n",
                      "emulator.core.feature": "from ..at.commands import Kind\nfrom ..errors import E\n",
                      "emulator.modules.profile": "", "emulator.at.commands": "", "emulator.errors": ""})
    assert upward_imports(edges) == [("emulator.core.modem", "emulator.modules.profile")]
    typing_only = _planted({"emulator.core.modem": "if TYPE_CHECKING:\n    from emulator.net import x\n",
                            "emulator.net.__init__": ""})
    assert upward_imports(typing_only) == [("emulator.core.modem", "emulator.net")]


def test_checker_catches_module_cycles_also_lazy() -> None:
    edges = _planted({
        "emulator.modules.handlers.__init__": "",
        "emulator.modules.handlers.power": "from . import edrx, ts27007\n",
        "emulator.modules.handlers.edrx": "from . import ts27007\n",
        "emulator.modules.handlers.ts27007": "def f():\n    from .power import psm_wake\n",
        "emulator.modules.profile": "from ..core.feature import Reply\n", "emulator.core.feature": ""})
    assert cycles(edges, "emulator.modules") == [[
        "emulator.modules.handlers.edrx", "emulator.modules.handlers.power",
        "emulator.modules.handlers.ts27007"]]
    edges["emulator.modules.handlers.ts27007"].clear()
    assert cycles(edges, "emulator.modules") == []


def test_checker_catches_packages_importing_each_other() -> None:
    edges = _planted({"emulator.net.a": "from ..api import app\n", "emulator.api.app": "",
                      "emulator.api.__init__": "def f():\n    import emulator.net.a\n",
                      "emulator.core.x": "", "emulator.at.y": "from ..core import x\n"})
    assert package_pairs(edges) == [("api", "net")]
    ring = _planted({"emulator.net.a": "def f():\n    from ..api import app\n",
                     "emulator.api.app": "from ..control import c\n",
                     "emulator.control": "from .net import a\n", "emulator.core.x": ""})
    assert package_pairs(ring) == [] and package_cycles(ring) == [["api", "control", "net"]]
    del ring["emulator.control"]
    for targets in ring.values():
        targets.discard("emulator.control")
    assert package_cycles(ring) == []


def test_checker_sees_import_module_calls() -> None:
    edges = _planted({"emulator.core.clock": "import importlib\n"
                      "def f():\n    return importlib.import_module('emulator.modules.profile')\n",
                      "emulator.modules.profile": ""})
    assert upward_imports(edges) == [("emulator.core.clock", "emulator.modules.profile")]


def test_checker_catches_modem_assignments() -> None:
    src = ("def init(ctx):\n    ctx.modem.energy_meter = 1\n    ctx.modem.hooks += [2]\n"
           "    setattr(ctx.modem, 'x', 3)\n    a, self.ctx.modem.framing = 1, 2\n"
           "    ctx.modem.framing.echo = True\n    ctx.state.x = ctx.modem.powered\n"
           "    ctx.modem.input_gates.append(f)\n    ctx.modem.framing.start_transparent(f)\n")
    assert modem_assignments(src) == ["line 2: ...modem.energy_meter = ...",
                                      "line 3: ...modem.hooks = ...",
                                      "line 4: setattr(...modem, ...)",
                                      "line 5: ...modem.framing = ...",
                                      "line 8: ...modem.input_gates.append(...)"]
    aliased = ("def init(ctx):\n    m = ctx.modem\n    m.energy_meter = 1\n    m.framing.echo = 0\n"
               "    if (n := self.ctx.modem):\n        n.hooks.append(f)\n    modem = 1\n")
    assert modem_assignments(aliased) == ["line 3: ...modem.energy_meter = ...",
                                          "line 6: ...modem.hooks.append(...)"]
