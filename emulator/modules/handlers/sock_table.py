"""The state both vendor socket dialects keep (AM Telecom ``@SOCK*6`` in amtelecom_sock.py,
Woori-net ``+WSO*`` in woorinet_sock.py): their sockets by id, the generation counter that tells
a live socket's stimuli from a stale one's, and the token of the last DNS request.

``opening`` matches a ``SocketOpened`` to the socket waiting for it. Each dialect's socket type
needs ``gen`` and ``timer`` (its open timeout); its state class adds what only it keeps.

Must not: hold a dialect's commands, answers or socket fields, or do I/O (it hands CloseSocket effects on).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Protocol, TypeVar

from ...core.modem import Context
from .quectel_tcpip_effects import CloseSocket, SocketOpened


class _Sock(Protocol):
    gen: int
    timer: Any


S = TypeVar("S", bound=_Sock)


@dataclass
class SockTable(Generic[S]):
    socks: dict[int, S] = field(default_factory=dict)
    gen: int = 0
    token: int = 0

    def live(self, sid: int, gen: int) -> S | None:
        """The socket ``sid`` if a stimulus of generation ``gen`` is still about it, else None."""
        sock = self.socks.get(sid)
        return sock if sock is not None and sock.gen == gen else None

    def opening(self, ctx: Context, stim: SocketOpened, waiting: Callable[[S], bool]) -> S | None:
        """The socket ``stim`` answers, its open timer stopped; None when none is ``waiting``
        for it (a connection that came up all the same is closed again)."""
        sock = self.live(stim.conn_id, stim.gen)
        if sock is None or not waiting(sock):
            if not stim.err:
                ctx.effect(CloseSocket(stim.conn_id, stim.gen))
            return None
        if sock.timer is not None:
            sock.timer.cancel()
            sock.timer = None
        return sock
