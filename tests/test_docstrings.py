"""Every file of emulator/ starts with a docstring that says what it does and what it must not
do (the developers' guide; issue 10 item 8 after the moves). Read with ast, nothing imported.

Must not: import emulator/ (a broken import must not hide a file without its docstring).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "emulator"
FILES = sorted(ROOT.rglob("*.py"))


def says_what_it_must_not_do(source: str) -> bool:
    doc = ast.get_docstring(ast.parse(source)) or ""
    return bool(doc.strip()) and "must not" in doc.lower()


def test_checker_catches_a_missing_must_not() -> None:
    assert says_what_it_must_not_do('"""Does X.\n\nMust not: do Y."""\n')
    assert not says_what_it_must_not_do('"""Does X."""\n')
    assert not says_what_it_must_not_do('import os  # Must not: no docstring at all\n')


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_file_says_what_it_does_and_must_not_do(path: Path) -> None:
    assert says_what_it_must_not_do(path.read_text(encoding="utf-8")), \
        f"{path.relative_to(ROOT)}: the docstring must say what the file does and what it must not do"
