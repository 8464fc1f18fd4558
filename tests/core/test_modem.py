"""Table-driven tests of the modem core: V.250 behaviour, results, URC holding, prompts, queueing.

Each row is a list of steps ``(input, expected output)``; input is bytes for the host line, a
stimulus object, or a float for advancing the virtual clock. Echo is off unless a row turns it on.
"""

from __future__ import annotations

import pytest

from emulator.core.framing import MAX_LINE
from emulator.core.stimuli import NetworkAttach, NetworkDetach, SimInserted, SimRemoved
from emulator.testing.sansio import TFinish, TUrc, make_harness

OK = b"\r\nOK\r\n"
ERR = b"\r\nERROR\r\n"

CASES: dict[str, list[tuple[object, bytes]]] = {
    "plain AT": [(b"AT\r", OK)],
    "echo on": [(b"ATE1\r", OK), (b"AT\r", b"AT\r" + OK), (b"ATE0\r", b"ATE0\r" + OK), (b"AT\r", OK)],
    # the LF of a CRLF is read after the CR ended the line, so its echo follows the result
    "echo of CRLF input": [(b"ATE1\r", OK), (b"AT\r\n", b"AT\r" + OK + b"\n"), (b"AT\r\n", b"AT\r" + OK + b"\n")],
    "numeric ATV0": [(b"ATV0\r", b"0\r"), (b"AT\r", b"0\r"), (b"AT+FOO\r", b"4\r"),
                     (b"AT+CSQ\r", b"+CSQ: 20,99\r\n0\r"), (b"ATV1\r", OK)],
    "quiet ATQ1": [(b"ATQ1\r", b""), (b"AT\r", b""), (b"AT+FOO\r", b""),
                   (b"AT+CSQ\r", b"\r\n+CSQ: 20,99\r\n"), (b"ATQ0\r", OK)],
    "backspace S5": [(b"AT+CSX\x08Q\r", b"\r\n+CSQ: 20,99\r\n" + OK)],
    # V.250 §6.2.1: the result of the line that changes S3 already uses the new S3; S3/S4 frame every
    # response and result code (<S3><S4>text<S3><S4>); Z puts S3 and echo back to their defaults
    "custom S3 and S5": [(b"ATS3=33\r", b"!\nOK!\n"), (b"ATS5=35!", b"!\nOK!\n"),
                         (b"AT+CSX#Q!", b"!\n+CSQ: 20,99!\n!\nOK!\n"), (b"ATS3?!", b"!\n033!\n!\nOK!\n"),
                         (b"ATS4=64!", b"!@OK!@"), (b"ATV0!", b"0!"), (b"AT+CSQ!", b"+CSQ: 20,99!@0!"),
                         (b"ATZ!", OK), (b"AT\r", b"AT\r" + OK)],
    "A/ repeats the last line": [(b"AT+CGSN\r", b"\r\n868543060974334\r\n" + OK),
                                 (b"A/", b"\r\n868543060974334\r\n" + OK), (b"a/", b"\r\n868543060974334\r\n" + OK)],
    "A/ with echo": [(b"ATE1\r", OK), (b"AT+CGSN\r", b"AT+CGSN\r\r\n868543060974334\r\n" + OK),
                     (b"A/", b"A/\r\r\n868543060974334\r\n" + OK)],
    "CMEE=0": [(b"AT+CMEE=0\r", OK), (SimRemoved(), b""), (b"AT+CIMI\r", ERR)],
    "CMEE=1": [(b"AT+CMEE=1\r", OK), (SimRemoved(), b""), (b"AT+CIMI\r", b"\r\n+CME ERROR: 10\r\n")],
    "CMEE=2": [(b"AT+CMEE=2\r", OK), (SimRemoved(), b""), (b"AT+CIMI\r", b"\r\n+CME ERROR: SIM not inserted\r\n"),
               (SimInserted(), b"\r\n+CPIN: READY\r\n"), (b"AT+CIMI\r", b"\r\n460115472446714\r\n" + OK)],
    "CMEE numeric": [(b"AT+CMEE=1\r", OK), (SimRemoved(), b""), (b"ATV0\r", b"0\r"), (b"AT+CIMI\r", b"+CME ERROR: 10\r\n"),
                     (b"AT+CMEE=0\r", b"0\r"), (b"AT+CIMI\r", b"4\r")],
    "concatenation": [(b"AT+CSQ;+CEREG?\r", b"\r\n+CSQ: 20,99\r\n\r\n+CEREG: 0,1\r\n" + OK)],
    "concatenation stops at the first error": [(b"AT+CSQ;+FOO;+CEREG?\r", b"\r\n+CSQ: 20,99\r\n" + ERR)],
    "basic then extended": [(b"ATE0V1+CMEE=2;+CMEE?\r", b"\r\n+CMEE: 2\r\n" + OK)],
    "unknown command": [(b"AT+FOO\r", ERR), (b"AT+CSQ?\r", ERR), (b"AT\r", OK)],
    "bad parameter": [(b"AT+CEREG=9\r", ERR), (b"AT+CEREG=x\r", ERR), (b"AT+CMEE=1,2\r", ERR)],
    "syntax error": [(b'AT+CGDCONT=1,"IP\r', ERR), (b"AT\r", OK)],
    "garbage": [(b"hello\r", ERR), (b"\x01\x02\x03xyz\r", ERR), (b"AT\r", OK)],
    "empty lines are ignored": [(b"\r\r\n\r", b""), (b"AT\r", OK)],
    "overlong line": [(b"AT" + b"X" * (2 * MAX_LINE) + b"\r", ERR), (b"AT+CSQ\r", b"\r\n+CSQ: 20,99\r\n" + OK)],
    "URC held during a delay": [(b"AT+TDELAY=2\r", b""), (TUrc("+URC: 1"), b""), (1.0, b""),
                                (1.0, b"\r\n+TDELAY: 2\r\n" + OK + b"\r\n+URC: 1\r\n")],
    "URC held while pending": [(b"AT+TPEND\r", b""), (TUrc("+URC: 2"), b""),
                               (TFinish(), b"\r\n+TPEND: finished\r\n" + OK + b"\r\n+URC: 2\r\n")],
    "pending times out with ERROR": [(b"AT+TPEND\r", b""), (29.0, b""), (1.0, ERR), (TFinish(), b""), (b"AT\r", OK)],
    "URCs raised by the command come after it": [(b"AT+TAFTER\r",
                                                  b"\r\n+TAFTER: line\r\n" + OK + b"\r\n+TAFTER: after\r\n\r\n+TAFTER: during\r\n")],
    "input waits for the running command, in order": [
        (b"AT+TDELAY=1\rAT+CGSN\rATI\r", b""), (1.0, b"\r\n+TDELAY: 1\r\n" + OK + b"\r\n868543060974334\r\n" + OK
                                                + b"\r\nQuectel\r\nEC800E\r\nRevision: EC800ECNLCR01A21M08\r\n" + OK)],
    "input waits while pending, echo comes later": [
        (b"ATE1\r", OK), (b"AT+TPEND\r", b"AT+TPEND\r"), (b"AT\r", b""),
        (TFinish(), b"\r\n+TPEND: finished\r\n" + OK + b"AT\r" + OK)],
    "prompt Ctrl+Z": [(b"AT+TSEND\r", b"\r\n> "), (b"hi", b""), (b"\x1a", b"\r\n+TSEND: 2,6869\r\n\r\nSEND OK\r\n")],
    "prompt echoes data when echo is on": [(b"ATE1\r", OK), (b"AT+TSEND\r", b"AT+TSEND\r\r\n> "),
                                           (b"hi\x1a", b"hi\r\n+TSEND: 2,6869\r\n\r\nSEND OK\r\n")],
    "prompt fixed length is binary-safe": [(b"AT+TSEND=3\r", b"\r\n> "),
                                           (b"\x1a\x1b\r", b"\r\n+TSEND: 3,1a1b0d\r\n\r\nSEND OK\r\n"), (b"AT\r", OK)],
    "prompt ESC cancels": [(b"AT+TSEND\r", b"\r\n> "), (b"abc\x1b", b"\r\n+TSEND: cancelled\r\n" + OK), (b"AT\r", OK)],
    "prompt too long": [(b"AT+TSEND\r", b"\r\n> "), (b"x" * 40 + b"\x1a", ERR), (b"AT\r", OK)],
    "URC held while the prompt is open": [(b"AT+TSEND\r", b"\r\n> "), (TUrc("+URC: 3"), b""),
                                          (b"a\x1a", b"\r\n+TSEND: 1,61\r\n\r\nSEND OK\r\n\r\n+URC: 3\r\n")],
    "commands typed after the data run after it": [
        (b"AT+TSEND=2\rxyAT+CGSN\r", b"\r\n> \r\n+TSEND: 2,7879\r\n\r\nSEND OK\r\n\r\n868543060974334\r\n" + OK)],
    "handler crash answers ERROR and the port lives": [(b"AT+TCRASH\r", ERR), (b"AT\r", OK)],
    "CEREG n=1 on detach/attach": [(b"AT+CEREG=1\r", OK), (NetworkDetach(), b"\r\n+CEREG: 2\r\n"),
                                   (b"AT+CEREG?\r", b"\r\n+CEREG: 1,2\r\n" + OK),
                                   (NetworkAttach(), b"\r\n+CEREG: 1\r\n")],
    "CEREG n=2": [(b"AT+CEREG=2\r", OK), (NetworkDetach(), b"\r\n+CEREG: 2\r\n"),
                  (NetworkAttach(), b'\r\n+CEREG: 1,"DF5C","5A2890B",7\r\n'),
                  (b"AT+CEREG?\r", b'\r\n+CEREG: 2,1,"DF5C","5A2890B",7\r\n' + OK)],
    "CEREG n=4": [(b"AT+CEREG=4\r", OK), (NetworkDetach(), b"\r\n+CEREG: 2\r\n"),
                  (NetworkAttach(), b'\r\n+CEREG: 1,"DF5C","5A2890B",7\r\n')],
    "CEREG n=0 is silent": [(NetworkDetach(), b""), (NetworkAttach(), b""), (b"AT+CEREG?\r", b"\r\n+CEREG: 0,1\r\n" + OK)],
    "CFUN=0/1 with CEREG": [(b"AT+CEREG=1\r", OK), (b"AT+CFUN=0\r", OK + b"\r\n+CEREG: 0\r\n"),
                            (b"AT+CSQ\r", b"\r\n+CSQ: 99,99\r\n" + OK),
                            # Reply.after URCs come right after the final result, then the ones held meanwhile
                            (b"AT+CFUN=1\r", OK + b"\r\n+CPIN: READY\r\n\r\n+CEREG: 2\r\n"),
                            (0.0, b"\r\n+CEREG: 1\r\n"), (b"AT+CEREG?\r", b"\r\n+CEREG: 1,1\r\n" + OK)],
    "URC from a stimulus waits for the running command": [
        (b"AT+CEREG=1\r", OK), (b"AT+TDELAY=1\r", b""), (NetworkDetach(), b""),
        (1.0, b"\r\n+TDELAY: 1\r\n" + OK + b"\r\n+CEREG: 2\r\n")],
}


@pytest.mark.parametrize("steps", list(CASES.values()), ids=list(CASES))
def test_modem_table(steps: list[tuple[object, bytes]]) -> None:
    h = make_harness()
    for i, (step, expected) in enumerate(steps):
        if isinstance(step, bytes):
            out = h.send(step)
        elif isinstance(step, float):
            out = h.advance(step)
        else:
            out = h.stim(step)
        assert out == expected, f"step {i}: {step!r}"
    assert not h.modem.busy or isinstance(steps[-1][0], (bytes, float))


def test_handler_crash_is_recorded() -> None:
    h = make_harness()
    h.send(b"AT+TCRASH\r")
    assert h.modem.crashes == [("AT+TCRASH", "RuntimeError('handler bug')")]


def test_one_command_handled_event_per_line() -> None:
    h = make_harness()
    h.send(b"AT\rAT+FOO\rhello\rAT+CSQ;+CEREG?\r" + b"A" * 2000 + b"\r")
    assert [(e.line, e.result) for e in h.handled] == [
        ("ATE0", "OK"), ("AT", "OK"), ("AT+FOO", "ERROR"), ("<garbage>", "ERROR"),
        ("AT+CSQ;+CEREG?", "OK"), ("<overlong line>", "ERROR")]


@pytest.mark.parametrize("module", ["ec800e", "bg96", "wm-n400mse", "amm5918k"])
def test_boot_urcs_then_ok(module: str) -> None:
    h = make_harness(module, testkit=False, echo=True)
    assert h.boot.startswith(b"\r\n") and h.boot.endswith(b"\r\n") and b"+CPIN: READY" in h.boot
    assert h.send(b"AT\r") == b"AT\r" + OK


@pytest.mark.parametrize("module,reset", [("ec800e", "AT+CFUN=1,1"), ("wm-n400mse", "AT*SKT*RESET"),
                                          ("amm5918k", "AT@HWRESET")])
def test_reset_restores_defaults(module: str, reset: str) -> None:
    h = make_harness(module, testkit=False)
    h.send(b"AT+CMEE=2;+CEREG=2;+CSCON=1\r")
    h.send(b"ATV0\r")
    h.send(reset.encode() + b"\r")
    boot = h.advance(1.0)
    assert b"+CPIN: READY\r\n" in boot and b"+CEREG" not in boot
    cmee = h.modem.profile.defaults["cmee"]
    out = h.send(b"AT+CMEE?;+CEREG?;+CSCON?\r")  # echo is back on, verbose results, n=0 everywhere
    assert out.startswith(b"AT+CMEE?;+CEREG?;+CSCON?\r\r\n+CMEE: %d\r\n\r\n+CEREG: 0,1\r\n\r\n+CSCON: 0," % cmee)
    assert out.endswith(OK)


def test_qpowd_powers_off_and_power_on_boots() -> None:
    from emulator.core.events import PowerOff
    from emulator.core.stimuli import PowerOn
    h = make_harness(testkit=False)
    h.send(b"AT+CMEE=2\r")
    assert h.send(b"AT+QPOWD\r") == OK
    assert h.advance(1.0) == b"\r\nPOWERED DOWN\r\n"
    assert any(isinstance(e, PowerOff) for e in h.other) and not h.modem.powered
    assert h.send(b"AT\r") == b"" and h.stim(NetworkDetach()) == b""
    assert h.stim(PowerOn()).startswith(b"\r\nRDY\r\n")
    assert h.send(b"AT+CMEE?\r") == b"AT+CMEE?\r\r\n+CMEE: 1\r\n" + OK


def test_amp_v_and_s_registers() -> None:
    h = make_harness(testkit=False)
    assert h.send(b"AT&W0\r") == OK
    assert h.send(b"ATS7=5\r") == OK and h.send(b"ATS7?\r") == b"\r\n005\r\n" + OK
    assert h.send(b"ATS1?\r") == ERR and h.send(b"ATS7=256\r") == ERR


def test_amp_v_lists_the_live_settings_and_amp_w_stores_the_user_profile() -> None:
    """AT&V lists the current settings (Quectel AT manual example order); AT&W stores them as the
    user profile that ATZ and the next power-on load; AT&F is the factory set."""
    from emulator.core.stimuli import PowerOn
    h = make_harness(testkit=False)  # the harness turned echo off
    listing = h.send(b"AT&V\r")
    assert listing.startswith(b"\r\n&C: 1\r\n&D: 2\r\n&F: 0\r\n&W: 0\r\nE: 0\r\nL: 0\r\nM: 0\r\nQ: 0\r\nV: 1\r\n")
    assert b"\r\nS3: 13\r\nS4: 10\r\nS5: 8\r\n" in listing and listing.endswith(b"S10: 15\r\n" + OK)
    assert h.send(b"ATE1S7=5;&D1;X4\r") == OK
    listing = h.send(b"AT&V\r")
    assert b"\r\nE: 1\r\n" in listing and b"\r\n&D: 1\r\n" in listing and b"\r\nX: 4\r\n" in listing
    assert b"\r\nS7: 5\r\n" in listing
    assert h.send(b"AT&W\r") == b"AT&W\r" + OK
    assert h.send(b"ATE0S7=0\r") == b"ATE0S7=0\r" + OK
    assert h.send(b"ATZ\r") == OK  # back to the stored profile: echo on, S7 5
    assert h.send(b"ATS7?\r") == b"ATS7?\r\r\n005\r\n" + OK
    assert h.send(b"ATE0S7=1\r") == b"ATE0S7=1\r" + OK
    # the user profile is what the next power-on starts with
    assert h.send(b"AT+QPOWD\r") == OK
    h.advance(1.0)
    h.stim(PowerOn())
    h.advance(5.0)
    assert h.send(b"ATS7?\r") == b"ATS7?\r\r\n005\r\n" + OK
    assert h.send(b"ATE0&F\r") == b"ATE0&F\r" + OK
    assert h.send(b"ATS7?;&V\r").startswith(b"ATS7?;&V\r\r\n000\r\n")  # factory: echo on, S7 0
    assert h.send(b"ATX5\r") == b"ATX5\r" + ERR
