"""``emulator.testing.serve``: the one helper the end-to-end tests start ``modemu serve`` with.
A serve that cannot start is reported with its own stderr line (not a hang until the bound), and
one that started answers on its console API and stops cleanly on SIGTERM.

Must not: reach beyond loopback (the helper starts the serve with ephemeral loopback ports).
"""

from __future__ import annotations

import json
import sys
import urllib.request

import pytest

from emulator.testing.serve import start_serve

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX ptys")


def test_a_serve_that_exits_is_reported_with_its_stderr(tmp_path):
    with pytest.raises(AssertionError, match=r"serve exited [1-9]\d*: .*no-such-module"):
        start_serve(tmp_path, "--no-backends", "--module", "no-such-module", wall=60)


def test_ready_serve_answers_and_stops_cleanly(tmp_path):
    srv = start_serve(tmp_path, "--no-backends", "--module", "bg96")
    try:
        assert srv.pty("bg96") == str(tmp_path / "links" / "bg96")
        assert (tmp_path / "links" / "bg96").exists()
        with urllib.request.urlopen(srv.info["api"] + "/api/modems/bg96", timeout=10) as resp:
            assert json.loads(resp.read())["name"] == "bg96"
    finally:
        code = srv.stop(30)
    assert code == 0
