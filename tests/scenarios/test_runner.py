"""The runner against real in-process modems: passes, failures with diffs, virtual time."""

import time

import pytest

from emulator.scenarios.engine import Bench, StepFailure
from emulator.scenarios.loader import parse_scenario
from emulator.scenarios.model import ModemDecl
from emulator.scenarios.patterns import Pattern
from emulator.scenarios.report import failure_lines, print_result
from emulator.scenarios.runner import run_scenario

HEAD = "name: t\nmodule: ec800e\nbackends: none\nskip_boot: true\nsteps:\n"


async def run(steps, head=HEAD, **kw):
    return await run_scenario(parse_scenario(head + steps, "t.yaml"), **kw)


async def test_pass_with_captures_and_substitution():
    r = await run("  - send: AT+CGSN\n  - expect: ['{imei:\\d{15}}', OK]\n"
                  "  - send: AT+CGSN=1\n  - expect: ['+CGSN: \"{imei}\"', OK]\n")
    assert r.passed, failure_lines(r)
    assert r.variables["imei"] == "868543060974334"
    assert [e.kind for e in r.transcript] == ["tx", "echo", "rx", "rx", "tx", "echo", "rx", "rx"]


async def test_wrong_line_fails_with_a_diff_at_the_step_line():
    r = await run("  - send: AT+CIMI\n  - expect: ['460110000000000', OK]\n")
    assert not r.passed
    assert r.failure.where == "t.yaml:7"
    assert r.failure.expected == ["460110000000000", "OK"]
    assert r.failure.actual == ["460115472446714", "OK"]
    text = "\n".join(failure_lines(r))
    assert "-460110000000000" in text and "+460115472446714" in text


async def test_unexpected_extra_line_fails_unless_allow_other():
    steps = "  - send: AT+CPIN?\n  - expect: OK\n"
    r = await run(steps)
    assert not r.passed and "unexpected line '+CPIN: READY'" in r.failure.message
    r = await run(steps.replace("expect: OK", "expect: OK\n    allow_other: true"))
    assert r.passed, failure_lines(r)
    assert [e.text for e in r.transcript if e.kind == "other"] == ["+CPIN: READY"]


async def test_unread_output_fails_before_next_send_and_at_the_end():
    r = await run("  - send: AT\n  - send: AT\n  - expect: OK\n")
    assert not r.passed and "unexpected output before sending 'AT'" in r.failure.message
    r = await run("  - send: AT\n")
    assert not r.passed and "unexpected output after the last step" in r.failure.message
    assert r.failure.actual == ["OK"] and r.failure.where == "t.yaml:end"


async def test_boot_urcs_must_be_expected_without_skip_boot():
    head = "name: t\nmodule: ec800e\nbackends: none\nsteps:\n"
    r = await run("  - send: AT\n  - expect: OK\n", head=head)
    assert not r.passed and "RDY" in r.failure.actual


async def test_autojump_reaches_a_timer_inside_within_but_not_beyond():
    # AT+QPOWD says POWERED DOWN after powerdown_delay virtual seconds.
    head = HEAD.replace("steps:", "config: {modem: {powerdown_delay: 40}}\nsteps:")
    steps = "  - send: AT+QPOWD\n  - expect: OK\n  - expect_urc: POWERED DOWN\n    within: {w}\n"
    t0 = time.monotonic()
    ok = await run(steps.replace("{w}", "60s"), head=head)
    assert ok.passed, failure_lines(ok)
    assert 40 <= ok.virtual < 41
    short = await run(steps.replace("{w}", "30s"), head=head)
    assert not short.passed and "within 30 s" in short.failure.message
    assert short.virtual == pytest.approx(30.0, abs=0.01)  # never beyond the budget
    assert time.monotonic() - t0 < 5


async def test_advance_one_day_is_fast_and_moves_the_clock():
    t0 = time.monotonic()
    r = await run("  - send: AT+CCLK?\n  - expect: ['+CCLK: \"23/11/15,06:13:20+32\"', OK]\n"
                  "  - advance: 1d\n"
                  "  - send: AT+CCLK?\n  - expect: ['+CCLK: \"23/11/16,06:13:20+32\"', OK]\n")
    assert r.passed, failure_lines(r)
    assert r.virtual == 86400
    assert time.monotonic() - t0 < 1.0


async def test_wait_lets_timers_fire_and_expect_none_sees_them():
    head = HEAD.replace("steps:", "config: {modem: {powerdown_delay: 5}}\nsteps:")
    r = await run("  - send: AT+QPOWD\n  - expect: OK\n  - wait: 10s\n  - expect: POWERED DOWN\n", head=head)
    assert r.passed, failure_lines(r)
    r = await run("  - send: AT+QPOWD\n  - expect: OK\n  - expect_none: 10s\n", head=head)
    assert not r.passed and r.failure.actual == ["POWERED DOWN"]
    r = await run("  - send: AT+QPOWD\n  - expect: OK\n  - expect_none: 4s\n  - expect: POWERED DOWN\n",
                  head=head)
    assert r.passed, failure_lines(r)


async def test_control_plane_detach_gives_cereg_urc():
    r = await run("  - send: AT+CEREG=1\n  - expect: OK\n  - control: {network: detach}\n"
                  "  - expect_urc: '+CEREG: 2'\n")
    assert r.passed, failure_lines(r)


async def test_two_modems_are_addressed_by_name():
    head = ("name: t\nmodems: [{name: a, module: bg96}, {name: b, module: ec800e, imei: '861234567890123'}]\n"
            "backends: none\nskip_boot: true\nsteps:\n")
    r = await run("  - send: AT+CGSN\n    modem: b\n  - expect: ['{b.imei}', OK]\n    modem: b\n"
                  "  - send: AT+CGSN\n  - expect: ['{a.imei}', OK]\n", head=head)
    assert r.passed, failure_lines(r)
    assert r.variables["b.imei"] == "861234567890123"


async def test_unknown_backend_and_variable_fail_cleanly():
    r = await run("  - platform: {nosuch.act: {}}\n")
    assert not r.passed and "backend 'nosuch' is not running" in r.failure.message
    r = await run("  - send: AT+X={nope}\n")
    assert not r.passed and "unknown variable {nope}" in r.failure.message and r.failure.where == "t.yaml:6"


async def test_starting_an_unknown_backend_is_an_error_not_a_crash():
    r = await run("  - send: AT\n", head=HEAD.replace("backends: none", "backends: [nosuch]"))
    assert not r.passed and r.error and "nosuch" in r.error


async def test_expect_prompt_and_echo_of_raw_data():
    async with Bench([ModemDecl("m", "ec800e")]) as bench:
        link = bench.links["m"]
        link.rx.clear()
        link.on_bytes(b"AT+QISEND=0,5\r\r\n> ")
        link.expect_echo("AT+QISEND=0,5")
        await bench.expect_prompt("m", "> ", within=1, wall=2)
        link.expect_echo("hello\x1a")
        link.on_bytes(b"hello\r\nSEND OK\r\n")
        assert await bench.expect("m", [Pattern("SEND OK")], {}, within=1, wall=2) == {}
        with pytest.raises(StepFailure, match="no prompt"):
            await bench.expect_prompt("m", "> ", within=1, wall=2)


async def test_pty_transport_runs_the_same_file():
    r = await run("  - send: AT+CGSN\n  - expect: ['868543060974334', OK]\n  - advance: 1h\n"
                  "  - send: AT\n  - expect: OK\n", transport="pty")
    assert r.passed, failure_lines(r)


@pytest.mark.parametrize("timeout_step", ["  - advance: 5s\n", ""])
async def test_pty_data_reaches_the_modem_before_virtual_time_moves(timeout_step):
    """Bytes still in the pty when a step moves the clock (``advance``, or an ``expect`` jumping
    to the next deadline) are read first: the upload's inactivity timeout counts from them,
    and they never end up on the command line after the 421 (scenarios/stacks/bg96_file_upload)."""
    head = HEAD.replace("ec800e", "bg96")
    r = await run('  - send: AT+QFUPL="half.bin",100,3\n  - expect: CONNECT\n'
                  '  - send_raw: "only forty bytes of the hundred announced"\n' + timeout_step +
                  '  - expect: "+CME ERROR: 421"\n  - send: AT\n  - expect: OK\n',
                  head=head, transport="pty")
    assert r.passed, failure_lines(r)


def test_text_report_is_coloured_only_when_asked(capsys):
    import asyncio
    import io
    r = asyncio.run(run("  - send: AT\n  - expect: ERROR\n"))
    plain, coloured = io.StringIO(), io.StringIO()
    print_result(r, plain, color=False)
    print_result(r, coloured, color=True)
    assert "\x1b[" not in plain.getvalue() and "\x1b[31" in coloured.getvalue()
    assert "FAIL" in plain.getvalue() and "t.yaml:7" in plain.getvalue()


class _FakeBackend:
    """A stand-in platform with one sync and one async scenario action."""

    name = "fake"

    def __init__(self, config, ctx):
        self.config, self.ctx, self.calls = dict(config or {}), ctx, []

    async def start(self):
        return {}

    async def stop(self):
        pass

    def scenario_actions(self):
        from emulator.backends.base import ScenarioAction

        def queue(args):
            self.calls.append(dict(args))
            return {"id": 7, "device": args["device"]}

        async def ping(args):
            return "pong-" + str(self.config.get("suffix", ""))
        return [ScenarioAction("queue", queue), ScenarioAction("ping", ping)]


@pytest.fixture
def fake_backend(monkeypatch):
    import sys
    import types

    from emulator import backends
    mod = types.ModuleType("modemu_test_fake_backend")
    mod.FakeBackend = _FakeBackend
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    monkeypatch.setitem(backends.BACKENDS, "fake", f"{mod.__name__}:FakeBackend")


async def test_platform_actions_capture_results(fake_backend):
    head = HEAD.replace("backends: none", "backends: [fake]\nconfig: {backends: {fake: {suffix: x}}}")
    r = await run("  - platform: {fake.queue: {device: '{imei}', payload: hi}}\n    as: cmd\n"
                  "  - platform: {fake.ping: {}}\n    as: p\n"
                  "  - send: AT+X={cmd.id},{p}\n  - expect: ERROR\n", head=head)
    assert r.passed, failure_lines(r)
    assert r.variables["cmd.device"] == "868543060974334" and r.variables["p"] == "pong-x"
    assert any(e.kind == "tx" and e.text == "AT+X=7,pong-x" for e in r.transcript)
    r = await run("  - platform: {fake.nope: {}}\n", head=head)
    assert not r.passed and "actions: ping, queue" in r.failure.message


async def test_timers_due_now_fire_while_waiting():
    # AT+QPOWD with powerdown_delay 0: POWERED DOWN comes from a zero-delay timer.
    head = HEAD.replace("steps:", "config: {modem: {powerdown_delay: 0}}\nsteps:")
    r = await run("  - send: AT+QPOWD\n  - expect: OK\n  - expect: POWERED DOWN\n    within: 0s\n", head=head)
    assert r.passed, failure_lines(r)
    assert r.virtual == 0


async def test_a_missing_requirement_skips_with_the_reason(monkeypatch, capsys):
    from emulator.backends.lwm2m import dtls_adapter
    from emulator.scenarios.report import summary_line
    head = "name: t\nmodule: ec800e\nbackends: none\nskip_boot: true\nrequires: [dtls]\nsteps:\n"
    monkeypatch.setattr(dtls_adapter, "DTLS_AVAILABLE", False)
    monkeypatch.setattr(dtls_adapter, "DTLS_MISSING_REASON", "No module named 'DTLSSocket'")
    result = await run("  - send: AT\n  - expect: NOT-OK\n", head=head)
    assert result.skipped and "DTLSSocket" in result.skipped and result.steps_run == 0
    assert result.passed  # skipped is not failed
    print_result(result, __import__("sys").stdout)
    assert capsys.readouterr().out.startswith("SKIP t")
    assert summary_line([result]) == "0 passed, 0 failed, 1 skipped"
    import tempfile
    from pathlib import Path

    from emulator.scenarios.report import write_junit
    with tempfile.TemporaryDirectory() as tmp:
        write_junit([result], Path(tmp) / "j.xml")
        xml = (Path(tmp) / "j.xml").read_text()
    assert 'skipped="1"' in xml and "<skipped message=" in xml and "<failure" not in xml
    monkeypatch.setattr(dtls_adapter, "DTLS_AVAILABLE", True)
    result = await run("  - send: AT\n  - expect: NOT-OK\n", head=head)
    assert not result.skipped and not result.passed  # with DTLS it runs (and this one fails)
