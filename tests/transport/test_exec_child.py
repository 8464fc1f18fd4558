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


# --- power-on after the program set up its line (pyserial flushes on open) ----------------------

PYSERIAL_FIRMWARE = textwrap.dedent(r"""
    import os, sys, time, serial
    # open the line as firmware opens its UART; pyserial flushes the input buffer on open,
    # which would lose every boot URC written before it
    ser = serial.Serial(os.ttyname(0), 115200, timeout=0.2)
    buf, end = b"", time.time() + 15
    while b"RDY" not in buf and time.time() < end:
        buf += ser.read(256)
    sys.exit(0 if buf.startswith(b"\r\nRDY\r\n") else 3)
""")

TCFLUSH_FIRMWARE = textwrap.dedent(r"""
    import os, sys, termios, time
    termios.tcflush(0, termios.TCIOFLUSH)   # set-up: drop whatever the line held
    buf, end = b"", time.time() + 15
    while b"RDY" not in buf and time.time() < end:
        buf += os.read(0, 4096)
    sys.exit(0 if b"RDY" in buf else 3)
""")


@pytest.mark.parametrize("firmware", [PYSERIAL_FIRMWARE, TCFLUSH_FIRMWARE], ids=["pyserial", "tcflush"])
def test_a_program_that_flushes_on_open_still_sees_rdy(tmp_path: Path, firmware: str) -> None:
    """--boot-delay 600: only the program's flush (seen through packet mode) can power the modem
    on within the program's 15 s, so this fails if the flush is not noticed."""
    script = tmp_path / "fw.py"
    script.write_text(firmware)
    res = subprocess.run([sys.executable, "-m", "emulator", "exec", "--module", "bg96", "--no-backends",
                          "--boot-delay", "600", "--", sys.executable, str(script)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr


def test_without_a_flush_the_modem_boots_after_the_boot_delay(tmp_path: Path) -> None:
    script = tmp_path / "fw.py"
    script.write_text(textwrap.dedent(r"""
        import os, sys, time
        buf, end = b"", time.time() + 15
        while b"RDY" not in buf and time.time() < end:
            buf += os.read(0, 4096)
        sys.exit(0 if buf.startswith(b"\r\nRDY\r\n") else 3)
    """))
    res = subprocess.run([sys.executable, "-m", "emulator", "exec", "--module", "bg96", "--no-backends",
                          "--boot-delay", "0.2", "--", sys.executable, str(script)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("program", ["/no/such/firmware", "no-such-firmware-xyz"])
def test_a_missing_program_is_one_line_and_exit_127(tmp_path: Path, program: str) -> None:
    res = subprocess.run([sys.executable, "-m", "emulator", "exec", "--module", "bg96", "--", program],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert res.returncode == 127
    assert res.stderr.startswith(f"modemu: exec: {program}: ") and res.stderr.count("\n") == 1
    assert "Traceback" not in res.stderr


def test_a_file_that_is_not_executable_is_one_line_and_exit_126(tmp_path: Path) -> None:
    """As a shell: 127 is "no such program", 126 "found but cannot run it" (a script without +x)."""
    script = tmp_path / "fw.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    res = subprocess.run([sys.executable, "-m", "emulator", "exec", "--module", "bg96", "--", str(script)],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert res.returncode == 126, res.stderr
    assert res.stderr == f"modemu: exec: {script}: not executable (chmod +x?)\n"
