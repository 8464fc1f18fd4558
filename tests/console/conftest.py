"""A real ``modemu serve`` (every module, every platform, ephemeral ports) for the console tests
(the host side of a modem's pty is emulator.testing.ptyline.PtyLine). Must not: stub any part of the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.testing.serve import start_serve

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """``(ready info, link dir, stdout path)`` of a fresh serve; stopped after the module."""
    tmp = tmp_path_factory.mktemp("serve-console")
    out = tmp / "stdout.txt"
    with open(out, "wb") as sink:
        srv = start_serve(tmp, stdout=sink)
    yield srv.info, srv.links, out
    srv.stop(10)
