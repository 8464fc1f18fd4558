"""``GET /api/events``: the emulator's live events (``observe/bus.py``) as Server-Sent Events.

Each event is one ``data:`` line holding one JSON object (``type``, ``ts`` on the virtual clock,
``modem`` or ``device``; AT traffic adds ``dir`` and ``line``) and an ``id:`` (the bus sequence
number). ``?backfill=1`` starts with the bus's recent events (the web console uses it), those
after ``Last-Event-ID`` when the browser reconnects by itself. The wire format and the
keep-alive comment on an idle stream (every 15 wall seconds) are FastAPI's own SSE support
(``fastapi.sse``, FastAPI >= 0.135); each client has its own bounded queue, so a slow
reader loses its oldest events instead of slowing the emulator. The stream ends when the client
leaves or the bus is closed (``serve`` stopping).

Must not: create events (the bus's publishers do), frame SSE by hand, or touch modems.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, AsyncIterator

from fastapi import APIRouter, Header
from fastapi.sse import EventSourceResponse, ServerSentEvent

if TYPE_CHECKING:  # pragma: no cover
    from ..transport.runner import Emulator


def router(emulator: "Emulator") -> APIRouter:
    r = APIRouter(tags=["events"])

    @r.get("/api/events", response_class=EventSourceResponse)
    async def events(backfill: bool = False,
                     last_event_id: str | None = Header(None)) -> AsyncIterator[ServerSentEvent]:
        """Live events as Server-Sent Events, one JSON object per ``data:``: AT lines in/out
        (``urc`` marked), logins and refusals, uplinks, downlink status, faults, clock
        advances, power changes."""
        wake = asyncio.Event()
        loop = asyncio.get_running_loop()

        def notify() -> None:  # publishers run on the emulator's loop; be safe from others too
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                wake.set()
            else:
                loop.call_soon_threadsafe(wake.set)

        after = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
        sub = emulator.events.subscribe(wake=notify, backfill=backfill, after=after)  # a reconnect resumes
        try:
            yield ServerSentEvent(comment="modemu events")
            while True:
                for event in sub.get_all():
                    seq = event.get("seq")  # none on the "dropped" note
                    yield ServerSentEvent(id=None if seq is None else str(seq),
                                          raw_data=json.dumps(event, default=str, separators=(",", ":")))
                if sub.closed:
                    return  # serve is stopping: end like any response
                wake.clear()
                if not sub.queue and not sub.closed:
                    await wake.wait()  # the client leaving cancels this (FastAPI's SSE)
        finally:
            sub.close()

    return r
