"""``modemu serve --state-dir DIR``: a BG96's uploaded files outlive AT+CFUN=1,1 (NV memory) and
the process (the state directory), end to end through the pty; a deletion reaches the disk too.
Without the option nothing is kept across runs."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from .test_serve_pty import command, open_port, start_server, stop_server

serial = pytest.importorskip("serial")
pytestmark = [pytest.mark.pty, pytest.mark.skipif(sys.platform == "win32", reason="POSIX ptys")]

DATA = b"-----BEGIN CERTIFICATE-----\r\nnot really\r\n-----END CERTIFICATE-----\r\n"


def _upload(ser, name: str, data: bytes) -> list[str]:
    ser.write(f'AT+QFUPL="{name}",{len(data)},5\r'.encode())
    buf, deadline = b"", time.monotonic() + 5
    while b"CONNECT\r\n" not in buf and time.monotonic() < deadline:
        buf += ser.read(ser.in_waiting or 1)
    ser.write(data)
    while not buf.endswith(b"\r\nOK\r\n") and time.monotonic() < deadline:
        buf += ser.read(ser.in_waiting or 1)
    return [ln for ln in buf.decode().split("\r\n") if ln][1:]


def _serve(tmp: Path, *extra: str):
    tmp.mkdir(parents=True, exist_ok=True)
    return start_server(tmp, "--module", "bg96", *extra)


def test_files_survive_reboot_and_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proc, _info, links = _serve(tmp_path / "run1", "--state-dir", str(state))
    try:
        with open_port(str(links / "bg96")) as ser:
            assert _upload(ser, "dev.pem", DATA)[-2:] == [f"+QFUPL: {len(DATA)},{_cks(DATA)}", "OK"]
            saved = state / "bg96" / "ufs" / "dev.pem"
            _wait_for(saved.exists)  # written right after the answer went out, not only at exit
            assert saved.read_bytes() == DATA
            assert command(ser, "AT+CFUN=1,1")[-1] == "OK"
            time.sleep(1.0)
            ser.reset_input_buffer()
            assert command(ser, 'AT+QFLST="*"') == ['AT+QFLST="*"', f'+QFLST: "dev.pem",{len(DATA)}', "OK"]
    finally:
        assert stop_server(proc) == 0
    proc, _info, links = _serve(tmp_path / "run2", "--state-dir", str(state))
    try:
        with open_port(str(links / "bg96")) as ser:
            assert command(ser, 'AT+QFLST="*"') == ['AT+QFLST="*"', f'+QFLST: "dev.pem",{len(DATA)}', "OK"]
            assert command(ser, 'AT+QFDEL="dev.pem"') == ['AT+QFDEL="dev.pem"', "OK"]
            _wait_for(lambda: not saved.exists())
    finally:
        assert stop_server(proc) == 0


def test_without_a_state_dir_nothing_is_kept(tmp_path: Path) -> None:
    proc, _info, links = _serve(tmp_path / "a")
    try:
        with open_port(str(links / "bg96")) as ser:
            _upload(ser, "gone.pem", DATA)
    finally:
        stop_server(proc)
    proc, _info, links = _serve(tmp_path / "b")
    try:
        with open_port(str(links / "bg96")) as ser:
            assert command(ser, 'AT+QFLST="*"') == ['AT+QFLST="*"', "OK"]
    finally:
        stop_server(proc)


def _wait_for(cond, timeout: float = 5.0) -> None:
    """Poll for a file-system change made by the server process (I/O, not protocol time)."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "state directory not updated"
        time.sleep(0.02)


def _cks(data: bytes) -> str:
    value = 0
    for i in range(0, len(data), 2):
        value ^= (data[i] << 8) | (data[i + 1] if i + 1 < len(data) else 0)
    return f"{value:x}"
