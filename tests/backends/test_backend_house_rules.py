"""House rules on the platform side's source (emulator/backends/, emulator/net/): every file
starts with a docstring that says what it must not do, and stays under ~400 lines (split rather
than grow). Read with ast, so a broken import cannot hide a file.

Must not: import emulator/ (it reads the files).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "emulator"
MAX_LINES = 400
FILES = sorted(p for pkg in ("backends", "net") for p in (ROOT / pkg).rglob("*.py") if p.name != "__init__.py")


def problems(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    found = []
    doc = ast.get_docstring(ast.parse(source))
    if not doc:
        found.append("no module docstring")
    elif "must not" not in doc.lower():
        found.append("docstring says nothing of what the file must not do")
    lines = source.count("\n")
    if lines > MAX_LINES:
        found.append(f"{lines} lines (over {MAX_LINES}: split it)")
    return found


def test_there_are_files_to_check() -> None:
    assert any(p.name == "registry.py" for p in FILES) and any(p.name == "dtls_client.py" for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_file_follows_the_house_rules(path: Path) -> None:
    assert problems(path) == []


def test_checker_catches_a_long_file_without_docstring(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\n" * (MAX_LINES + 1))
    assert problems(bad) == ["no module docstring", f"{MAX_LINES + 1} lines (over {MAX_LINES}: split it)"]
    vague = tmp_path / "vague.py"
    vague.write_text('"""Does things."""\n')
    assert problems(vague) == ["docstring says nothing of what the file must not do"]
