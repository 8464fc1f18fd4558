"""``modemu serve --api`` refuses an address off loopback before anything starts (the loopback rule)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("address", ["0.0.0.0:0", "192.0.2.1:8765", "[::]:0", "example.com:80", "127.0.0.1:http"])
def test_api_off_loopback_is_refused_and_nothing_starts(tmp_path: Path, address: str) -> None:
    links, ready = tmp_path / "links", tmp_path / "ready.json"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-m", "emulator", "serve", "--ephemeral-ports", "--no-backends",
                           "--module", "bg96", "--link-dir", str(links), "--ready-file", str(ready),
                           "--api", address], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert "loopback" in proc.stderr
    assert not ready.exists()
    assert not (links / "bg96").exists()
