"""``GET /api/events``: the emulator's live events (``observe/bus.py``) as Server-Sent Events.

Each event is one ``data:`` line holding one JSON object (``type``, ``ts`` on the virtual clock,
``modem`` or ``device``; AT traffic adds ``dir`` and ``line``) and an ``id:`` (the bus sequence
number). ``?backfill=1`` starts with the bus's recent events (the web console uses it). A comment
line every 15 wall seconds keeps idle connections open. Served with starlette's
StreamingResponse; each client has its own bounded queue, so a slow reader loses its oldest
events instead of slowing the emulator.

Must not: create events (the bus's publishers do) or touch modems.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

if TYPE_CHECKING:  # pragma: no cover
    from ..transport.runner import Emulator

KEEPALIVE = 15.0  # wall seconds between comment lines on an idle stream


def sse_frame(event: dict) -> bytes:
    return f"id: {event.get('seq', '')}\ndata: {json.dumps(event, default=str, separators=(',', ':'))}\n\n".encode()


def router(emulator: "Emulator") -> APIRouter:
    r = APIRouter(tags=["events"])

    @r.get("/api/events", response_class=StreamingResponse,
           responses={200: {"content": {"text/event-stream": {}},
                            "description": "one `data:` JSON object per event"}})
    async def events(request: Request, backfill: bool = False) -> StreamingResponse:
        """Live events as Server-Sent Events: AT lines in/out (``urc`` marked), logins and
        refusals, uplinks, downlink status, faults, clock advances, power changes."""
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

        sub = emulator.events.subscribe(wake=notify, backfill=backfill)

        async def stream() -> AsyncIterator[bytes]:
            try:
                yield b": modemu events\n\n"
                while True:
                    batch = sub.get_all()
                    if batch:
                        yield b"".join(sse_frame(e) for e in batch)
                        continue
                    if sub.closed or await request.is_disconnected():
                        return  # serve is stopping (the bus was closed) or the client left
                    wake.clear()
                    try:
                        await asyncio.wait_for(wake.wait(), KEEPALIVE)
                    except asyncio.TimeoutError:
                        yield b": keepalive\n\n"
            finally:
                sub.close()

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return r
