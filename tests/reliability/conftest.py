"""Fixtures of the reliability suite: an in-process Emulator on real ptys and TCP ports
(``live``) and one shared ``modemu serve`` subprocess with every module and both platforms
(``served``). Helpers live in relhelp.py (this folder is put on sys.path for it).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from relhelp import BLACKHOLE, serve  # noqa: E402

from emulator.config import Config, ModemSpec  # noqa: E402
from emulator.transport.runner import Emulator  # noqa: E402


@pytest.fixture
async def live(tmp_path: Path):
    """bg96 + ec800e on real ptys (links in tmp) and TCP ports; the clock stands still unless a
    test advances it; a loopback listener routed as ``blackhole.example:9``."""
    sink = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = sink.sockets[0].getsockname()[1]
    emu = Emulator(Config(), modems=[ModemSpec("bg96", "bg96"), ModemSpec("ec800e", "ec800e")],
                   link_dir=tmp_path / "links", ephemeral=True, backends=[], follow_wall=False,
                   routes=[f"{BLACKHOLE}:9=127.0.0.1:{port}"])
    await emu.start()
    yield emu
    await emu.stop()
    sink.close()


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """One ``modemu serve`` with every module and both platforms, shared by the API and fairness
    tests (they leave it as they found it)."""
    tmp = tmp_path_factory.mktemp("served")
    srv = serve(tmp, "--route", f"{BLACKHOLE}:9=127.0.0.1:9")
    yield srv
    srv.stop()


