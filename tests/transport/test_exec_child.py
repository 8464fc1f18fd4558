"""``modemu exec``: firmware under test runs as a child process with the modem on its stdio."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.pty

FIRMWARE = textwrap.dedent(r"""
    import os, sys, time
    def read_until(token, timeout=10):
        buf, end = b"", time.time() + timeout
        while token not in buf:
            if time.time() > end:
                sys.stderr.write("timeout waiting for %r, got %r\n" % (token, buf))
                sys.exit(3)
            buf += os.read(0, 4096)
        return buf
    boot = read_until(b"+QIND: PB DONE")          # the module powering up
    os.write(1, b"AT+CGSN\r")
    answer = read_until(b"OK\r\n")
    ok = b"868543060974334" in answer and b"RDY" in boot and os.environ.get("MODEMU_API", "").startswith("http")
    os.write(1, b"AT+BOGUS\r")
    bad = read_until(b"ERROR\r\n")
    sys.exit(0 if ok and b"ERROR" in bad else int(sys.argv[1]))
""")


def run_exec(tmp_path: Path, code: str) -> subprocess.CompletedProcess:
    script = tmp_path / "firmware.py"
    script.write_text(FIRMWARE)
    return subprocess.run([sys.executable, "-m", "emulator", "exec", "--module", "ec800e", "--no-backends",
                           "--", sys.executable, str(script), code],
                          capture_output=True, text=True, timeout=60)


def test_firmware_child_talks_to_the_modem_and_its_exit_code_is_ours(tmp_path: Path) -> None:
    res = run_exec(tmp_path, "7")
    assert res.returncode == 0, res.stderr


def test_failing_firmware_fails_the_run(tmp_path: Path) -> None:
    script = tmp_path / "bad.py"
    script.write_text("import sys; sys.exit(5)\n")
    res = subprocess.run([sys.executable, "-m", "emulator", "exec", "--module", "bg96", "--no-backends", "--",
                          sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 5, res.stderr


def test_exec_without_a_program_is_a_clear_error() -> None:
    res = subprocess.run([sys.executable, "-m", "emulator", "exec", "--module", "bg96"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "needs a program" in res.stderr


def test_the_programs_stderr_is_a_log_not_uart_traffic(tmp_path: Path) -> None:
    """Only stdout/stdin are the serial line: a debug print on stderr reaches our stderr and the
    modem never sees it (it would answer ERROR to a line of log text)."""
    script = tmp_path / "logs.py"
    script.write_text(textwrap.dedent(r"""
        import os, sys, time
        buf, end = b"", time.time() + 10
        while b"PB DONE" not in buf and time.time() < end:
            buf += os.read(0, 4096)
        sys.stderr.write("debug: booted\r\n"); sys.stderr.flush()
        os.write(1, b"AT\r")
        buf, end = b"", time.time() + 10
        while b"\r\n" not in buf.split(b"AT\r", 1)[-1] and time.time() < end:
            buf += os.read(0, 4096)
        time.sleep(0.3)
        os.set_blocking(0, False)
        try:
            buf += os.read(0, 4096)
        except BlockingIOError:
            pass
        sys.exit(0 if buf == b"AT\r\r\nOK\r\n" else 9)
    """))
    res = subprocess.run([sys.executable, "-m", "emulator", "exec", "--module", "ec800e", "--no-backends", "--",
                          sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "debug: booted" in res.stderr
