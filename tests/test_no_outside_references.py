"""Nothing in the repository points outside it: no path to the developers' shared folder
(``../shared``, ``/work/...``) and no citation of the working notes that live there (protocol,
manual, driver and seed notes). A comment cites the manual, the public repository or
``docs/guides.md`` instead, so a reader of the repository (or of the wheel) can follow it.

Must not: read anything outside the repository; judge what a citation says.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Built from pieces so this file does not match itself.
NOTES = ["protocols", "manuals-wave2", "drivers", "design", "seed-notes", "seed-fixtures", "external-checks"]
PATTERN = re.compile(r"(?:\.\./shared|/work/(?:shared|briefs)|\b(?:%s)\.md\b|\bmanuals-wave2\b)"
                     % "|".join(re.escape(n) for n in NOTES))


def tracked_text_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    files = []
    for name in out.split():
        path = REPO / name
        if path.suffix in {".png", ".jpg", ".der", ".bin"} or not path.is_file():
            continue
        files.append(path)
    return files


def test_the_pattern_catches_what_it_should():
    assert PATTERN.search("(%s.md §1.5)" % NOTES[0])
    assert PATTERN.search("see ../shared/reference/x")
    assert PATTERN.search("[doc S9, %s §7]" % NOTES[1])
    assert not PATTERN.search("tests/drivers/test_tinygsm.py, docs/guides.md")


def test_no_file_cites_notes_outside_the_repository():
    offenders = []
    for path in tracked_text_files():
        if path == Path(__file__).resolve():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for lineno, line in enumerate(text.splitlines(), 1):
            if PATTERN.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{lineno}: {line.strip()[:100]}")
    assert not offenders, "\n".join(offenders)
