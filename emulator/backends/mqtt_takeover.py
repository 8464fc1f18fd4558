"""MQTT session take-over for the embedded amqtt brokers (CTWing MQTT, ThingPlug).

MQTT 3.1.1 §3.1.4, MQTT-3.1.4-2: "If the ClientId represents a Client already connected to the
Server then the Server MUST disconnect the existing Client". amqtt 0.12 gets this wrong in two
ways: on a clean-session CONNECT it deletes the old session *before* authentication and leaves
the old connection open (the module never sees its link drop, and it may still receive); on a
kept session its late clean-up of the old connection marks the SHARED session disconnected under
the new connection, so downlinks stall. ``ConnectionTracker`` remembers the amqtt protocol
handler of each client ID's open connection(s); a broker's auth plugin calls ``take_over`` once a
CONNECT is accepted, which closes the old connection and waits until amqtt has finished with it
(its CLIENT_DISCONNECTED event) before amqtt sends the new CONNACK.

The broker's event plugin reports ``connected`` / ``disconnected``; the count per client ID tells
a backend whether its device is online.

Must not: know any platform rule (who may connect, topics), bind sockets, or run protocol timers
(the only wait is a bound on loopback I/O settling).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)

SETTLE_S = 2.0  # wall bound on amqtt noticing the closed socket: loopback I/O, not a protocol timer


class ConnectionTracker:
    """Open connections per client ID on one amqtt broker, and the take-over of an old one."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._count: dict[str, int] = {}
        self._live: dict[str, Any] = {}  # client ID -> amqtt handler of its newest open connection
        self._gone: dict[str, asyncio.Event] = {}  # client ID -> set when a connection of it ended

    def count(self, client_id: str) -> int:
        return self._count.get(client_id, 0)

    def connected_ids(self) -> list[str]:
        return [cid for cid, n in self._count.items() if n > 0]

    def clear(self) -> None:
        self._count.clear()
        self._live.clear()

    def connected(self, client_id: str, broker: Any) -> int:
        """amqtt's CLIENT_CONNECTED for ``client_id`` on ``broker``; returns the open count."""
        self._count[client_id] = self.count(client_id) + 1
        entry = broker.sessions.get(client_id) if broker is not None else None
        if entry is not None:
            self._live[client_id] = entry[1]
        return self._count[client_id]

    def disconnected(self, client_id: str) -> int:
        """amqtt's CLIENT_DISCONNECTED; returns how many connections of ``client_id`` remain."""
        left = max(0, self.count(client_id) - 1)
        self._count[client_id] = left
        if left == 0:
            self._live.pop(client_id, None)
        gone = self._gone.get(client_id)
        if gone is not None:
            gone.set()
        return left

    async def take_over(self, client_id: str | None) -> None:
        """A new connection was accepted as ``client_id``: close the one it replaces and wait
        for amqtt to finish with it (see the module doc), so the CONNACK follows."""
        old = self._live.get(client_id or "")
        if client_id is None or old is None or getattr(old, "writer", None) is None:
            return
        gone = self._gone[client_id] = asyncio.Event()

        async def end() -> None:
            await old.writer.close()
            await gone.wait()
        try:
            await asyncio.wait_for(end(), SETTLE_S)
        except (asyncio.TimeoutError, OSError):
            log.info("%s: old connection of %s did not end in time", self.label, client_id)
        finally:
            self._gone.pop(client_id, None)
