"""A live clock advance lets loopback I/O settle wherever a fired timer caused some, and only
there (``emulator/transport/advance.py``): an exchange of many hops started by a network timer
is over before the next deadline fires, however slow each loop turn is; deadlines that touch no
network fire back to back; the console API's own wall-clock ticks do not keep it busy.

No modem here: the network side is a real loopback TCP echo server (a callback protocol that
answers synchronously, as the CTWing TCP server does) and a stream client whose hops go through
a :class:`~emulator.net.faultgate.RouteGate`, as every executor's do.
"""

from __future__ import annotations

import asyncio
import time

from emulator.config import Config
from emulator.net.faultgate import RouteGate, StreamLane
from emulator.transport import advance as advance_mod
from emulator.transport.clockview import LiveClockView
from emulator.transport.runner import Emulator

HOPS = 25


class _Echo(asyncio.Protocol):
    def connection_made(self, transport) -> None:  # noqa: ANN001
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)  # synchronously, in the same callback: a "blind" hop


async def _rig(emu: Emulator):  # noqa: ANN202
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Echo, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])
    gate = RouteGate(emu.internet, None, emu.net_clock)
    hops: list[float] = []
    lane = StreamLane(gate, writer.write)

    async def client() -> None:  # the executor side: every answer read is written back once more
        while len(hops) < HOPS:
            data = await reader.readexactly(1)
            gate.touched()  # (a received item passes the gate: sockets.py's receive lane does this)
            hops.append(emu.clock.now())
            if len(hops) < HOPS:
                lane.put(data)
    task = loop.create_task(client())
    return server, writer, task, lane, hops


async def _started(**kw) -> Emulator:  # noqa: ANN003
    emu = Emulator(Config(), modems=[], ephemeral=True, with_pty=False, with_tcp=False, backends=[], **kw)
    await emu.start()
    return emu


async def test_a_many_hop_exchange_ends_before_the_next_deadline() -> None:
    emu = await _started(follow_wall=False)
    server, writer, task, lane, hops = await _rig(emu)
    try:
        seen_at_next: list[int] = []
        emu.net_clock.call_later(10, lambda: lane.put(b"x"), "ping")  # a network timer starts it
        emu.clock.call_later(10.001, lambda: seen_at_next.append(len(hops)), "response-timeout")
        report = await emu.advance_report(20)
        assert seen_at_next == [HOPS], (seen_at_next, report)  # all hops happened at t = 10
        assert report.fired == 2 and report.settled >= 2 and report.busy == 0
        assert report.advanced == 20 and emu.clock.now() == 1_700_000_020.0
    finally:
        task.cancel()
        writer.close()
        server.close()
        await emu.stop()


async def test_the_same_result_when_every_loop_turn_is_slow() -> None:
    """A loaded machine: a plain callback (no task) that burns 2 ms of wall time in every loop
    turn. The old advance had a 5-second wall budget; this one decides nothing on wall time."""
    emu = await _started(follow_wall=False)
    server, writer, task, lane, hops = await _rig(emu)
    loop = asyncio.get_running_loop()
    burning = True

    def hog() -> None:
        if burning:
            time.sleep(0.002)
            loop.call_soon(hog)
    try:
        loop.call_soon(hog)
        seen_at_next: list[int] = []
        emu.net_clock.call_later(10, lambda: lane.put(b"x"), "ping")
        emu.clock.call_later(10.001, lambda: seen_at_next.append(len(hops)), "response-timeout")
        report = await emu.advance_report(20)
        assert seen_at_next == [HOPS], (seen_at_next, report)
    finally:
        burning = False
        task.cancel()
        writer.close()
        server.close()
        await emu.stop()


async def test_deadlines_that_touch_no_network_do_not_settle() -> None:
    emu = await _started(follow_wall=False)
    try:
        fired: list[float] = []
        for i in range(1, 2001):  # modem-side timers (a PSM cycle, an RRC release): no network
            emu.clock.call_later(i, lambda: fired.append(emu.clock.now()), "rrc-release")
        report = await emu.advance_report(3000)
        assert len(fired) == 2000 and report.fired == 2000
        assert report.settled == 1 and report.busy == 0  # only the look before time moves
    finally:
        await emu.stop()


async def test_a_watchdog_counts_only_when_it_acts() -> None:
    emu = await _started(follow_wall=False)
    try:
        seq = emu.net_seq
        emu.net_clock.quiet_call_at(emu.clock.now() + 1, lambda: None, "broker idle re-check")
        await emu.advance_report(2)
        assert emu.net_seq == seq
        emu.net_clock.quiet_call_at(emu.clock.now() + 1, emu.net_clock.touched, "broker idle close")
        await emu.advance_report(2)
        assert emu.net_seq == seq + 1
    finally:
        await emu.stop()


async def test_console_api_tasks_do_not_keep_it_busy(monkeypatch) -> None:  # noqa: ANN001
    """uvicorn's main loop wakes every 0.1 s of wall time; on a slow loop (a host flooding a
    port) it is runnable at almost every turn. Its tasks are the hosts' side, not the network's."""
    emu = await _started(follow_wall=False)

    async def ticker() -> None:
        while True:
            await asyncio.sleep(0)  # always runnable: the worst a console task could do
    ticker.__code__ = ticker.__code__.replace(co_filename="/site-packages/uvicorn/server.py")
    tick = asyncio.get_running_loop().create_task(ticker())
    try:
        emu.net_clock.call_later(1, lambda: None, "ping")
        report = await emu.advance_report(2)
        assert report.busy == 0 and report.rounds < 20, report
        assert advance_mod._host_side(tick)
    finally:
        tick.cancel()
        await emu.stop()


async def test_a_task_that_never_rests_is_capped_and_reported(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(advance_mod, "MAX_ROUNDS", 50)
    emu = await _started(follow_wall=False)

    async def spinner() -> None:
        while True:
            await asyncio.sleep(0)
    spin = asyncio.get_running_loop().create_task(spinner())
    try:
        emu.net_clock.call_later(1, lambda: None, "ping")
        report = await emu.advance_report(2)
        assert report.busy == 2 and report.rounds == 100  # the look before, and the deadline
        assert report.fired == 1 and report.advanced == 2
    finally:
        spin.cancel()
        await emu.stop()


async def test_the_wall_time_an_advance_takes_is_not_added_on_top() -> None:
    """serve: the clock follows the wall clock. An advance of N seconds ends exactly N seconds
    after the moment it started; the wall time it took (long on a loaded machine) used to be
    added afterwards, fired back to back with no I/O (a PINGREQ, then its PINGRESP timeout)."""
    emu = await _started(follow_wall=True)
    loop = asyncio.get_running_loop()
    burning = True

    def hog() -> None:  # every loop turn takes 2 ms of wall time: the advance takes a while
        if burning:
            time.sleep(0.002)
            loop.call_soon(hog)
    try:
        for i in range(1, 151):  # network timers: each one is let settle (3+ turns)
            emu.net_clock.call_later(i, lambda: None, "keepalive")
        emu.sync_clock()
        before = emu.clock.now()
        loop.call_soon(hog)
        report = await emu.advance_report(1000)
        burning = False
        assert report.wall_seconds > 0.5, report  # the advance itself took real time ...
        emu.sync_clock()
        assert emu.clock.now() - before < 1000 + 0.25, (emu.clock.now() - before, report)  # ... not added
    finally:
        burning = False
        await emu.stop()


async def test_host_input_and_platforms_see_the_advance_s_time_during_an_advance() -> None:
    """serve --time-scale X: while an advance runs, the wall-clock target moves on (X virtual
    seconds per wall second). Where it overtook the advance (a fast time scale, a slow advance on
    a loaded machine), host input (``sync_clock``) and the driver's tick jumped the clock to it,
    firing the deadlines on the way back to back with no settling (whether a PINGRESP was let in
    before its timeout then depended on the machine's speed), and the platforms' clock view
    (timestamps, their timers) read the wall target. During an advance only it moves the clock."""
    emu = await _started(follow_wall=True)
    loop = asyncio.get_running_loop()
    view = LiveClockView(emu.clock, emu.live_now)  # what the platforms read (runner.start)
    seen: list[tuple[float, float]] = []

    async def host_types() -> None:  # a pty read while the exchange the keepalive began settles
        emu._clock_anchor = (loop.time(), start + 100_000)  # the wall target overtook the advance
        emu.sync_clock()
        seen.append((emu.clock.now(), view.now()))
    try:
        emu.sync_clock()
        start = emu.clock.now()
        emu.net_clock.call_at(start + 10, lambda: loop.create_task(host_types()), "keepalive")
        timeout: list[float] = []
        emu.clock.call_at(start + 20, lambda: timeout.append(emu.clock.now()), "response-timeout")
        emu._clock_anchor = (loop.time() + 3600, start)  # (no wall time passes before it starts)
        report = await emu.advance_report(30)
        assert seen == [(start + 10, start + 10)], (seen, start, report)  # the advance's time
        assert timeout == [start + 20] and report.fired == 2 and report.advanced == 30
    finally:
        await emu.stop()
