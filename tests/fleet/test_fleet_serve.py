"""``modemu serve --count N`` end to end: the ready file lists every member, every member answers
``AT`` on its own pty (pyserial), a fleet past the pty limit is refused with one line, exit 2 and
nothing left behind (the limit is simulated with ``MODEMU_PTY_MAX``, never by exhausting the
kernel). Waiting here is bounded polling for a subprocess, never a timing assertion."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
import serial

from emulator.modules import load_module

pytestmark = [pytest.mark.pty, pytest.mark.slow]


def _serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--ephemeral-ports", "--api", "127.0.0.1:0",
                             "--no-backends", "--ready-file", str(tmp_path / "ready.json"),
                             "--link-dir", str(tmp_path / "links"), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def _ready(proc: subprocess.Popen, tmp_path: Path, wall: float = 120.0) -> dict:
    ready, end = tmp_path / "ready.json", time.monotonic() + wall
    while not ready.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < end, "no ready file"
        time.sleep(0.02)
    return json.loads(ready.read_text())


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:  # pragma: no cover - reported by the assertion below
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, proc.stderr.read()


@pytest.fixture
def fleet(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[dict]:
    proc = _serve(tmp_path, *request.param)
    try:
        yield _ready(proc, tmp_path)
    finally:
        _stop(proc)
    assert not (tmp_path / "ready.json").exists()
    assert not (tmp_path / "links").exists()  # the links, and the directory this run made


def _at(path: str, line: bytes = b"AT\r") -> bytes:
    with serial.Serial(path, 115200, timeout=10) as ser:
        ser.reset_input_buffer()
        ser.write(line)
        buf = b""
        while not (buf.endswith(b"OK\r\n") or buf.endswith(b"ERROR\r\n")):
            chunk = ser.read(ser.in_waiting or 1)
            assert chunk, f"{path}: no answer to {line!r} (got {buf!r})"
            buf += chunk
        return buf


@pytest.mark.parametrize("fleet", [("--module", "bg96", "--module", "ec800e", "--count", "3", "--count", "1")],
                         indirect=True)
def test_ready_file_lists_every_member_by_name(fleet: dict, tmp_path: Path) -> None:
    names = [m["name"] for m in fleet["modems"]]
    assert names == ["bg96-0001", "bg96-0002", "bg96-0003", "ec800e"]
    assert [m["module"] for m in fleet["modems"]] == [load_module("bg96").name] * 3 + [load_module("ec800e").name]
    for m in fleet["modems"]:
        assert Path(m["link"]) == tmp_path / "links" / m["name"] and os.readlink(m["link"]) == m["pty"]
    imeis = {m["name"]: _at(m["link"], b"AT+GSN\r") for m in fleet["modems"][:3]}
    assert len(set(imeis.values())) == 3  # three devices, not one IMEI three times


@pytest.mark.parametrize("fleet", [("--module", "amm5918k", "--count", "200")], indirect=True)
def test_two_hundred_modems_on_ptys_all_answer(fleet: dict) -> None:
    assert len(fleet["modems"]) == 200
    answers = [_at(m["pty"]) for m in fleet["modems"]]
    assert all(a.endswith(b"OK\r\n") for a in answers)


def test_a_fleet_past_the_pty_limit_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    in_use = int(Path("/proc/sys/kernel/pty/nr").read_text())
    limit = in_use + 32 + 10  # room for 10 modems after the margin (plus whatever appears meanwhile)
    proc = _serve(tmp_path, "--module", "bg96", "--count", "500", env={"MODEMU_PTY_MAX": str(limit)})
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("modemu: 500 modems need 500 ptys") and "pty max" in lines[0]
    assert not (tmp_path / "ready.json").exists()
    assert not (tmp_path / "links").exists() or list((tmp_path / "links").iterdir()) == []
