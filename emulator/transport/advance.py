"""A live clock advance: move a running emulator's virtual clock forward, deadline by deadline,
letting loopback I/O settle wherever a fired timer caused some.

``POST /api/clock/advance`` (and ``modemu://`` URLs' ``advance``) runs here. Timers fire in
deadline order. After each deadline the advance asks whether the network may have moved:

- a network timer fired (one armed by an executor or a platform through
  :class:`~.clockview.NetClock`: a keepalive, a retransmission, an idle close), or
- a modem sent an effect to its executors, spawned a task, released held data or dropped its
  connections (the port counts these in ``Emulator.net_seq``).

If so, the loop runs until it is *settled*: ``QUIET_ROUNDS`` loop turns in a row in which no
asyncio task was runnable and the network counter did not move (an answer reaching a modem
counts too). What hosts type meanwhile does not keep it from settling. Every hop of a loopback exchange (a PINGREQ
read by the broker, its PINGRESP read back) wakes a task within one turn, so an exchange is
over before the next deadline fires: an automatic LwM2M Update is answered before its CON
retransmission is due, a PINGRESP before the response timeout. What happens therefore depends
on the order of events, never on how fast the machine is: no wall-clock budget decides it.

Deadlines that touched no network fire back to back (a PSM cycle, an RRC release): one loop
turn every ``YIELD_WALL`` wall seconds lets the other modems, the platforms and the API run
(yielding changes nothing the advance decides: nothing of ours is in flight then). A loop
that never settles (a host flooding a modem's port) is given ``MAX_ROUNDS`` turns per deadline;
such deadlines are counted in the report (``busy``).

Peers outside this process (a user's broker behind ``--route``) answer in wall time; their
answers are not waited for beyond the settling turns (documented in the README, *Time*).

Must not: contain protocol logic, read the wall clock for anything but the report and the
fairness yield, or fire a timer out of deadline order.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .runner import Emulator

QUIET_ROUNDS = 3  # loop turns in a row with nothing runnable = settled (a hop shows in one)
MAX_ROUNDS = 2000  # per deadline: a loop that never settles (a flood) goes on after these
YIELD_WALL = 0.02  # firing back to back: one loop turn at least this often (wall seconds)


@dataclass
class AdvanceReport:
    """What one advance did: virtual seconds moved, timers fired, deadlines after which the
    loop was let settle, loop turns spent settling, deadlines that never settled, wall time."""

    advanced: float = 0.0
    fired: int = 0
    settled: int = 0
    rounds: int = 0
    busy: int = 0
    wall_seconds: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"advanced": round(self.advanced, 6), "fired": self.fired, "settled": self.settled,
                "io_rounds": self.rounds, "busy": self.busy, "wall_seconds": round(self.wall_seconds, 4)}


HOST_SIDE = ("/uvicorn/", "/starlette/", "/fastapi/", "/emulator/api/", "/emulator/apiserver.py")


_HOST_CODE: dict[object, bool] = {}  # code object of a task's coroutine -> host side? (few kinds)


def _host_side(task: asyncio.Task) -> bool:
    """A task of the console API (uvicorn's ticker, a request, an event stream): what hosts ask
    of the emulator, not the network; its wall-clock ticks must not keep an advance from settling."""
    coro = task.get_coro()
    code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
    if code is None:
        return False
    known = _HOST_CODE.get(code)
    if known is None:
        path = code.co_filename.replace("\\", "/")
        known = _HOST_CODE[code] = any(part in path for part in HOST_SIDE)
    return known


def _any_runnable(tasks: list[asyncio.Task]) -> bool:
    """Is one of ``tasks`` going to run in the next loop turn: scheduled, or the future it
    awaits is done? (``_fut_waiter`` is asyncio.Task's own record of what it awaits; uvloop
    uses the same Task class. Without it this answers False and the quiet turns alone decide.)"""
    try:
        for task in tasks:
            if not task.done():
                waiter = task._fut_waiter  # type: ignore[attr-defined]
                if waiter is None or waiter.done():
                    return True
    except AttributeError:
        return False
    return False


async def settle(emu: "Emulator", report: AdvanceReport) -> None:
    """Run the loop until nothing is runnable for ``QUIET_ROUNDS`` turns (or ``MAX_ROUNDS``).
    Between turns the task list is the one last taken; the last quiet turn takes it afresh (a
    library may have started a task meanwhile), so "settled" is always decided on all tasks."""
    me = asyncio.current_task()
    quiet = rounds = 0
    tasks: list[asyncio.Task] | None = None
    while quiet < QUIET_ROUNDS:
        if rounds >= MAX_ROUNDS:
            report.busy += 1
            break
        seen = emu.net_seq
        await asyncio.sleep(0)
        rounds += 1
        if seen != emu.net_seq:
            quiet = 0
            continue
        if tasks is None or quiet == QUIET_ROUNDS - 1:  # the last quiet turn looks at all tasks
            tasks = [t for t in asyncio.all_tasks() if t is not me and not _host_side(t)]
        if _any_runnable(tasks):
            quiet = 0
        else:
            quiet += 1
    report.settled += 1
    report.rounds += rounds


async def advance_live(emu: "Emulator", seconds: float) -> AdvanceReport:
    """Fire everything due in the next ``seconds`` (see the module docstring); the clock ends
    exactly ``seconds`` later. The caller holds the emulator's advance lock."""
    clock = emu.clock
    report = AdvanceReport()
    wall0 = time.perf_counter()
    start = clock.now()
    target = start + max(0.0, float(seconds))
    next_yield = wall0 + YIELD_WALL
    emu.drain_all()
    await settle(emu, report)  # what was already on its way arrives before time moves
    while (deadline := clock.next_deadline()) is not None and deadline <= target:
        seen = emu.net_seq
        report.fired += clock.advance_to(deadline)
        emu.drain_all()
        if emu.net_seq == seen and time.perf_counter() >= next_yield:
            await asyncio.sleep(0)  # fairness only: nothing of ours is in flight (host input may
            emu.drain_all()         # arrive meanwhile; if it reaches the network, settle below)
            next_yield = time.perf_counter() + YIELD_WALL
        if emu.net_seq != seen:
            await settle(emu, report)
            next_yield = time.perf_counter() + YIELD_WALL
    report.fired += clock.advance_to(target)
    emu.drain_all()
    report.advanced = clock.now() - start
    report.wall_seconds = time.perf_counter() - wall0
    return report
