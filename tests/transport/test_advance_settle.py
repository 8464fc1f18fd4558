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
