"""emulator/modules/COVERAGE.md is the current output of ``python -m emulator.modules.coverage``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from emulator.modules import coverage

DOC = Path(coverage.__file__).with_name("COVERAGE.md")


def test_coverage_doc_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == coverage.render(), \
        "emulator/modules/COVERAGE.md is stale: run `make coverage-doc` (python -m emulator.modules.coverage)"


def test_matrix_contents() -> None:
    modules, rows = coverage.matrix()
    assert set(modules) >= {"bg96", "ec800e", "wm-n400mse", "amm5918k"}
    assert rows["+CEREG"]["ec800e"] == "srt"
    assert "ec800e" not in rows["$$SWVER"] and rows["$$SWVER"]["wm-n400mse"] == "xt"
    assert rows["@NSI"] == {"amm5918k": "xt"}  # test forms: V.250 §5.4.3 plain OK


def test_cli_prints_the_table() -> None:
    out = subprocess.run([sys.executable, "-m", "emulator.modules.coverage"], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2]).stdout
    assert out == coverage.render()
