"""The event bus (bounded per-subscriber queues, virtual-time stamps, listeners that fail are
dropped) and the AT line tap (the same lines whatever way the bytes are split), sans-IO."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st

from emulator.core.clock import VirtualClock
from emulator.observe.attap import AtTap
from emulator.observe.bus import EventBus
from emulator.observe.render import render


def test_bus_stamps_virtual_time_and_bounds_slow_subscribers() -> None:
    clock = VirtualClock(start=1000.0)
    bus = EventBus(now=clock.now)
    slow = bus.subscribe(limit=3)
    fast = bus.subscribe()
    for i in range(5):
        clock.advance(1.0)
        bus.publish("clock", advanced=1.0, fired=i)
    lost, *kept = slow.get_all()  # the reader learns how many it lost, before what is left
    assert lost == {"type": "dropped", "ts": 1005.0, "count": 2} and slow.dropped == 0
    assert [e["fired"] for e in kept] == [2, 3, 4]
    got = fast.get_all()
    assert [e["ts"] for e in got] == [1001.0, 1002.0, 1003.0, 1004.0, 1005.0] and fast.dropped == 0
    assert fast.get_all() == []
    slow.close()
    bus.publish("power", modem="bg96", on=True)
    assert slow.get_all() == [] and fast.get_all()[0]["modem"] == "bg96"
    assert bus.subscribers == 1


def test_bus_backfill_and_a_failing_listener() -> None:
    bus = EventBus()
    bus.publish("power", modem="a", on=True)
    seen = []

    def bad(_event):
        raise RuntimeError("printer broke")
    bus.listen(bad)
    bus.listen(seen.append)
    bus.publish("power", modem="a", on=False)
    bus.publish("power", modem="a", on=True)  # the bad listener is gone, the good one stays
    assert [e["on"] for e in seen] == [False, True]
    assert [e["seq"] for e in bus.subscribe(backfill=True).get_all()] == [1, 2, 3]


# a BG96-like exchange: boot URCs, a command with echo, a fixed-length prompt payload with echo,
# a Ctrl+Z payload, an ESC-cancelled payload, a URC after OK
HOST = [b"AT+CGSN\r\n", b"AT+QISEND=0,5\r", b"HELLO", b'AT+CMGS="123"\r', b"hi\x1a", b'AT+CMGS="1"\r', b"x\x1b"]
MODULE = [b"\r\nRDY\r\n", b"AT+CGSN\r\r\n866425035073255\r\n\r\nOK\r\n", b"AT+QISEND=0,5\r\r\n> ",
          b"HELLO\r\nSEND OK\r\n", b'AT+CMGS="123"\r\r\n> ', b"hi\r\n+CMGS: 7\r\n\r\nOK\r\n",
          b'AT+CMGS="1"\r\r\n> ', b"x\r\nOK\r\n", b'\r\n+QIURC: "recv",0\r\n']
ORDER = [("m", 0), ("h", 0), ("m", 1), ("h", 1), ("m", 2), ("h", 2), ("m", 3), ("h", 3), ("m", 4), ("h", 4),
         ("m", 5), ("h", 5), ("m", 6), ("h", 6), ("m", 7), ("m", 8)]
WANT = [("out", "RDY", {"urc": True}), ("in", "AT+CGSN", {}), ("out", "866425035073255", {}), ("out", "OK", {}),
        ("in", "AT+QISEND=0,5", {}), ("out", "> ", {"prompt": True}), ("in", "<payload 5 bytes>", {"payload": 5}),
        ("out", "SEND OK", {}), ("in", 'AT+CMGS="123"', {}), ("out", "> ", {"prompt": True}),
        ("in", "<payload 2 bytes>", {"payload": 2}), ("in", "^Z", {"control": "^Z"}), ("out", "+CMGS: 7", {}),
        ("out", "OK", {}), ("in", 'AT+CMGS="1"', {}), ("out", "> ", {"prompt": True}),
        ("in", "<payload 1 bytes>", {"payload": 1}), ("in", "ESC", {"control": "ESC"}), ("out", "OK", {}),
        ("out", '+QIURC: "recv",0', {"urc": True})]


def _run(cuts: list[int] | None) -> list:
    tap, out, n = AtTap(), [], 0
    for side, i in ORDER:
        chunk = (HOST if side == "h" else MODULE)[i]
        feed = tap.host if side == "h" else tap.module
        k = len(chunk) if cuts is None else cuts[n % len(cuts)] % (len(chunk) + 1)
        n += 1
        out += feed(chunk[:k])  # either side's bytes arrive in two reads, cut anywhere
        out += feed(chunk[k:])
    return out


def test_tap_whole_chunks() -> None:
    assert _run(None) == WANT  # (10 ** 6 % (len + 1) cut them somewhere too)


@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=16))
def test_tap_any_split_of_either_sides_bytes(cuts) -> None:
    assert _run(cuts) == WANT


_HOST_BYTES = st.binary(max_size=24).map(lambda b: bytes(b"AT\r\n\x1a\x1b \xc3\xa9\xff\x00"[x % 11] for x in b))


@given(st.lists(_HOST_BYTES, max_size=8), st.integers(min_value=0, max_value=3))
def test_tap_host_slices_read_lines_as_the_byte_loop_does(chunks, long) -> None:
    """The host side's usual chunk (command mode, no backspace) is cut into lines with slices;
    they are the lines, and the state, of the byte-by-byte reading (LFs before a line, CR-only
    and CR LF hosts, undecodable and control bytes, a line past MAX_LINE)."""
    from emulator.observe.attap import MAX_LINE
    fast, slow = AtTap(), AtTap()
    for chunk in chunks + [b"A" * (MAX_LINE * long // 2), b"T\r"]:
        assert fast._host_lines(chunk) == slow._host_bytes(chunk)
        assert (fast._in, fast._last_shown, fast.command_open) == (slow._in, slow._last_shown, slow.command_open)


def test_tap_transparent_data_after_connect() -> None:
    tap = AtTap()
    tap.host(b"AT+QIOPEN=1,0,\"TCP\",\"x\",1,0,2\r")
    assert tap.module(b"\r\nCONNECT\r\n") == [("out", "CONNECT", {})]
    assert tap.host(b"\x00\x01raw") == [("in", "<data 5 bytes>", {"data": True})]
    assert tap.module(b"abc") == [("out", "<data 3 bytes>", {"data": True})]
    assert tap.module(b"\r\nNO CARRIER\r\n") == [("out", "NO CARRIER", {})]  # ends the command's data phase
    assert tap.host(b"AT\r") == [("in", "AT", {})]


def test_render_one_line() -> None:
    assert render({"type": "at", "ts": 0.5, "modem": "bg96", "dir": "in", "line": "AT"}) == "00:00:00.500 bg96 -> AT"
    assert render({"type": "at", "ts": 0, "modem": "bg96", "dir": "out", "line": "RDY", "urc": True}).endswith(
        "bg96 <- RDY  (urc)")
    assert render({"type": "uplink", "ts": 0, "platform": "ctwing", "device": "d1", "base64": "aGk=",
                   "protocol": "tcp"}).endswith('ctwing d1: uplink "hi" (tcp)')
    assert render({"type": "login_refused", "ts": 0, "platform": "ctwing", "device": "d1",
                   "reason": "bad feature string"}).endswith("ctwing d1: login refused: bad feature string")
    # a ThingPlug CONNECT whose token matches no device: the client id says who it was
    assert render({"type": "login_refused", "ts": 0, "platform": "thingplug", "device": None, "client_id": "c7",
                   "reason": "user name is not a device token (CONNACK 4)"}).endswith(
        "thingplug client c7: login refused: user name is not a device token (CONNACK 4)")


def test_power_events_from_the_api_and_from_at_qpowd() -> None:
    from emulator.config import Config, default_modems
    from emulator.control import Control
    from emulator.transport.runner import Emulator

    async def run() -> list:
        emu = Emulator(Config(), modems=default_modems(["bg96"]), with_pty=False, with_tcp=False,
                       backends=[], follow_wall=False)
        sub = emu.events.subscribe()
        await emu.start()
        try:
            ctl = Control(emu)
            ctl.power("bg96", False)
            ctl.power("bg96", True)
            emu.ports["bg96"].feed(b"AT+QPOWD\r")
            emu.advance(5)
            return [e for e in sub.get_all() if e["type"] in ("power", "at")]
        finally:
            await emu.stop()
    events = asyncio.run(run())
    power = [e["on"] for e in events if e["type"] == "power"]
    assert power == [False, True, False]
    assert ("in", "AT+QPOWD") in [(e.get("dir"), e.get("line")) for e in events]


def test_platform_events_from_the_thingplug_model() -> None:
    from emulator.backends.thingplug.models import ThingPlugModel
    from emulator.backends.thingplug.registry import DEFAULT_TOKEN, Registry
    bus = EventBus()
    model = ThingPlugModel(Registry.from_config({}), lambda: 1_700_000_000.0)
    model.events = bus.publish
    sub = bus.subscribe()
    tel = "v1/dev/smarthome/smartlight001/telemetry"
    assert model.publish(DEFAULT_TOKEN, tel, b'{"temperature":30}').accepted
    assert not model.publish(DEFAULT_TOKEN, tel, b'{"nope":').accepted
    model.send_rpc("smarthome", "smartlight001", "tp_user", {"cmd": "on"})
    got = [(e["type"], e["device"]) for e in sub.get_all()]
    assert got == [("uplink", "smarthome/smartlight001"), ("refused", "smarthome/smartlight001"),
                   ("downlink", "smarthome/smartlight001")]


def test_tap_a_flood_is_bounded_and_counted_and_normal_lines_follow() -> None:
    """A 2 MB-style flood in one chunk: the tap shows BURST lines, one count, the last line (one
    bus event per line slowed the drain of a 2 MB flood ~5x), and keeps its state right."""
    from emulator.observe.attap import BURST
    tap, lines = AtTap(), 3000
    shown = tap.host(b"AT\r\n" * lines)
    assert len(shown) == BURST + 2 and shown[:BURST] == [("in", "AT", {})] * BURST
    assert shown[BURST] == ("in", f"<{lines - BURST - 1} more lines>", {"skipped": lines - BURST - 1})
    assert shown[-1] == ("in", "AT", {})
    answers = tap.module(b"AT\r\r\nOK\r\n" * lines)
    assert len(answers) <= BURST + 3
    assert sum(e.get("skipped", 1) for _, _, e in answers) >= lines - 1  # every OK shown or counted
    assert answers[-1][:2] == ("out", "OK") and not tap.command_open
    assert tap.module(b"\r\n+QIURC: \"recv\",0\r\n") == [("out", '+QIURC: "recv",0', {"urc": True})]
    assert tap.host(b"AT+CSQ\r") == [("in", "AT+CSQ", {})]
    assert tap.module(b"AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n") == [("out", "+CSQ: 20,99", {}), ("out", "OK", {})]


def test_a_typed_line_is_stamped_when_it_arrives_not_at_the_last_clock_catch_up() -> None:
    """serve's clock follows the wall clock but only catches up on input or a timer: the host's
    line must carry the time it arrived (after the catch-up), not the time of the line before it.
    The wall clock is stood in for by moving the emulator's anchor 30 s back."""
    from emulator.config import Config, default_modems
    from emulator.transport.runner import Emulator

    async def run() -> tuple[float, list]:
        emu = Emulator(Config(), modems=default_modems(["bg96"]), with_pty=False, with_tcp=False,
                       backends=[], time_scale=1.0)
        await emu.start()
        try:
            loop_t0, virt_t0 = emu._clock_anchor
            emu._clock_anchor = (loop_t0 - 30.0, virt_t0)  # 30 wall seconds went by, no input
            sub = emu.events.subscribe()
            emu.ports["bg96"].feed(b"AT\r")
            return virt_t0, [e for e in sub.get_all() if e["type"] == "at"]
        finally:
            await emu.stop()
    virt_t0, events = asyncio.run(run())
    typed = next(e for e in events if e["dir"] == "in")
    assert typed["line"] == "AT" and typed["ts"] >= round(virt_t0 + 30.0, 3), (virt_t0, typed)


def test_registration_changes_are_events() -> None:
    """The issue's "registrations": each change of a modem's <stat> (TS 27.007) is a
    ``registration`` event with the new and old state and its cause, whether the host asked
    for it (AT+CFUN=0/1) or the network did; the page and serve show it without polling."""
    from emulator.config import Config, default_modems
    from emulator.transport.runner import Emulator

    async def run() -> list:
        emu = Emulator(Config(), modems=default_modems(["bg96"]), with_pty=False, with_tcp=False,
                       backends=[], follow_wall=False)
        sub = emu.events.subscribe()
        await emu.start()
        try:
            emu.advance(30)
            port = emu.ports["bg96"]
            port.feed(b"AT+CFUN=0\r")
            emu.advance(5)
            port.feed(b"AT+CFUN=1\r")
            emu.advance(30)
            return [e for e in sub.get_all() if e["type"] == "registration"]
        finally:
            await emu.stop()
    events = asyncio.run(run())
    assert all(e["modem"] == "bg96" for e in events)
    got = [(e["was"], e["stat"], e["cause"]) for e in events]
    boot = [(0, 2, "cfun_full"), (2, 1, "attach_done")]  # power on: searching, then home
    assert got == boot + [(1, 0, "cfun_min")] + boot, got
    assert render(events[-1]).endswith("bg96 registration: home (attach_done)")


def test_the_answer_after_a_connect_data_phase_is_no_urc() -> None:
    """``CONNECT`` opens a data phase of the same command; what ends it (``+QFUPL: <size>,<sum>``
    ``OK``; ``OK`` after AT+QHTTPURL's URL) is that command's answer, not a URC. Quectel
    BG96 FILE / HTTP(S) AT commands manuals, AT+QFUPL and AT+QHTTPURL."""
    tap = AtTap()
    tap.host(b'AT+QFUPL="a.pem",5,60\r')
    assert tap.module(b'AT+QFUPL="a.pem",5,60\r\r\nCONNECT\r\n') == [("out", "CONNECT", {})]
    assert tap.host(b"HELLO") == [("in", "<data 5 bytes>", {"data": True})]
    assert tap.module(b"\r\n+QFUPL: 5,1234\r\n\r\nOK\r\n") == [("out", "+QFUPL: 5,1234", {}), ("out", "OK", {})]
    assert tap.module(b'\r\n+QIURC: "closed",0\r\n') == [("out", '+QIURC: "closed",0', {"urc": True})]
    tap.host(b"AT+QHTTPURL=22,80\r")
    assert tap.module(b"\r\nCONNECT\r\n") == [("out", "CONNECT", {})]
    tap.host(b"http://httpbin.org/get")
    assert tap.module(b"\r\nOK\r\n") == [("out", "OK", {})]


def test_the_host_has_the_answer_before_the_bus_and_its_printer_see_the_lines() -> None:
    """The AT line tap's events are published once the modem's bytes are written to the host
    (serve's printer renders each one; the answer must not wait for it), still in order and
    stamped when the bytes came: also when a sink feeds the modem again at once (an in-process
    host answering a line as soon as it sees it)."""
    from emulator.config import Config, default_modems
    from emulator.transport.inproc import InProcessLink
    from emulator.transport.runner import Emulator

    async def run() -> tuple[list, bytes]:
        emu = Emulator(Config(), modems=default_modems(["bg96"]), with_pty=False, with_tcp=False,
                       backends=[], follow_wall=False)
        await emu.start()
        try:
            port = emu.ports["bg96"]
            link, got, seen = InProcessLink(port), bytearray(), []
            link.on_output(got.extend)
            link.on_output(lambda data: link.write(b"AT+CGSN\r") if b"OK" in data and b"CGSN" not in got else None)
            emu.events.listen(lambda e: seen.append((e["dir"], e["line"], bytes(got))) if e["type"] == "at" else None)
            link.write(b"AT\r")
            return seen, bytes(got)
        finally:
            await emu.stop()
    seen, got = asyncio.run(run())
    assert [(d, line) for d, line, _ in seen] == [("in", "AT"), ("out", "OK"), ("in", "AT+CGSN"),
                                                ("out", seen[3][1]), ("out", "OK")]
    assert all(b"OK" in before for _, _, before in seen)  # each published after the write
    assert got.endswith(b"OK\r\n") and got.count(b"OK") == 2
