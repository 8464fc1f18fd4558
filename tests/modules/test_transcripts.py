"""Golden transcripts per module (tests/data/transcripts/<module>/*.txt) and their runner."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.testing import transcript

ROOT = Path(__file__).resolve().parent.parent / "data" / "transcripts"
FILES = sorted(ROOT.glob("*/*.txt"))


def test_every_module_has_transcripts() -> None:
    from emulator.modules import MODULES
    assert {p.parent.name for p in FILES} == set(MODULES)


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_transcript(path: Path) -> None:
    problems = transcript.check(path)
    assert not problems, "\n".join(problems)


def test_runner_reports_a_mismatch(tmp_path: Path) -> None:
    bad = tmp_path / "ec800e" / "bad.txt"
    bad.parent.mkdir()
    bad.write_text("> AT+CSQ\n< +CSQ: 31,99\n< OK\n> AT\n< OK\n")
    [problem] = transcript.check(bad)
    assert "bad.txt:1" in problem and "+CSQ: 20,99" in problem


def test_runner_checks_boot_only_when_listed(tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_text("< RDY\n> AT\n< OK\n")
    assert "boot" in transcript.check(f, "ec800e")[0]
    f.write_text("> AT\n< OK\n")
    assert transcript.check(f, "ec800e") == []


def test_runner_stimuli_and_clock(tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_text("> AT+CEREG=1\n< OK\n! detach\n< +CEREG: 2\n! signal 3\n~ 1\n! attach\n< +CEREG: 1\n")
    assert transcript.check(f, "bg96") == []
    f.write_text("! explode\n")
    with pytest.raises(ValueError, match="explode"):
        transcript.check(f, "bg96")
    with pytest.raises(ValueError, match="line 1"):
        transcript.parse("AT\n")


def test_regenerate_round_trips(tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_text("# c\n< x\n> ATI\n< wrong\n> AT+CSQ\n")
    f.write_text(transcript.regenerate(f, "ec800e"))
    text = f.read_text()
    assert text.startswith("# c\n< RDY\n") and "> ATI\n< Quectel\n< EC800E\n" in text
    assert transcript.check(f, "ec800e") == []
