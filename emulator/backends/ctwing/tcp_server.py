"""CTWing TCP access server (tcp.ctwing.cn:8996 / dmp-tcp.cuiot.cn:8843) on loopback.

Thin asyncio glue around :mod:`.tcp_codec`, the registry and the store (guide 001 §4.3.3):
login result codes 0/2/3/4 (1 for a version other than "1.0"), uplinks stored with protocol
"tcp", queued commands pushed as 0x03 frames while the device is logged in (which one and when:
the shared command model, ``models.py``; the protocol has no downlink acknowledgement, so a
written frame counts as delivered), heartbeat 0x04
answered with 0x06. The platform expects traffic at least every 5 minutes; a connection idle
for 300 s of the VIRTUAL clock is closed and its device goes offline. Anything before a
successful login other than the login itself, and any unknown frame type, closes the connection.

Must not: hold platform state of its own (it lives in the store/registry), read the wall clock,
or bind anything but 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import logging

from ..prebind import listen_tcp
from . import tcp_codec as codec
from .registry import Registry
from .store import Command, Store

log = logging.getLogger(__name__)

IDLE_TIMEOUT = 300.0  # "平台心跳周期为 5 分钟" (guide 001 §4.3.3)


class _Connection(asyncio.Protocol):
    def __init__(self, server: "CtwingTcpServer") -> None:
        self.server = server
        self.decoder = codec.Decoder()
        self.transport: asyncio.Transport | None = None
        self.device_id: str | None = None
        self.timer = None
        self.closed = False

    # --- asyncio callbacks ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server.connections.add(self)
        self._arm()

    def data_received(self, data: bytes) -> None:
        self._arm()
        for event in self.decoder.feed(data):
            if self.closed:
                return
            self._handle(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._drop()

    # --- protocol ------------------------------------------------------------------------
    def _handle(self, event: codec.Event) -> None:
        if isinstance(event, codec.ProtocolError):
            log.info("ctwing tcp: %s; closing", event.reason)
            self.close()
        elif isinstance(event, codec.Login):
            self._login(event)
        elif self.device_id is None:
            log.info("ctwing tcp: %s before login; closing", type(event).__name__)
            self.close()
        elif isinstance(event, codec.Uplink):
            self.server.store.record_uplink(self.device_id, event.data, "tcp")
        elif isinstance(event, codec.Heartbeat):
            self._send(codec.HeartbeatResponse())
        else:  # a platform->device frame sent by the device
            log.info("ctwing tcp: unexpected %s from device; closing", type(event).__name__)
            self.close()

    def _login(self, frame: codec.Login) -> None:
        if self.device_id is not None:
            self._send(codec.LoginResponse(codec.RESULT_ALREADY_LOGGED_IN))
            return
        verdict = self.server.registry.check_feature_string(frame.device_id, frame.password, "tcp")
        if verdict == "unknown":
            result = codec.RESULT_NOT_REGISTERED
        elif verdict == "auth":
            result = codec.RESULT_AUTH_FAILED
        elif frame.version != codec.VERSION:
            result = codec.RESULT_UNKNOWN_ERROR
        elif frame.device_id in self.server.sessions:
            result = codec.RESULT_ALREADY_LOGGED_IN
        else:
            result = codec.RESULT_OK
        self._send(codec.LoginResponse(result))
        self.server.store.publish("login" if result == codec.RESULT_OK else "login_refused", platform="ctwing",
                                  device=frame.device_id, protocol="tcp", result=result,
                                  **({} if result == codec.RESULT_OK else {"reason": f"login result {result} ({verdict})"}))
        if result != codec.RESULT_OK:
            self.close()
            return
        self.device_id = frame.device_id
        self.server.sessions[frame.device_id] = self
        self.server.store.set_online(frame.device_id, True)
        self.deliver_pending("contact")

    def deliver_pending(self, trigger: str) -> None:
        """Push queued commands as 0x03 frames, as the command model decides (``models.py``)."""
        model = self.server.store.commands_model
        if self.device_id is None or not model.should_deliver(self.device_id, trigger, not self.closed):
            return
        while self.device_id is not None and not self.closed:
            cmd = model.take_next(self.device_id)
            if cmd is None:
                return
            try:
                self._send(codec.Downlink(cmd.payload))
            except Exception as exc:  # noqa: BLE001 - report on the command, never lose it silently
                model.settle(cmd.id, False, f"write failed: {exc}")
                return
            model.written(cmd.id)

    # --- plumbing ------------------------------------------------------------------------
    def _send(self, frame: codec.Frame) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(codec.encode(frame))

    def _arm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if not self.closed:
            self.timer = self.server.clock.call_later(IDLE_TIMEOUT, self._idle, "ctwing-tcp-idle")

    def _idle(self) -> None:
        log.info("ctwing tcp: %s idle for %ss; closing", self.device_id or "anonymous", IDLE_TIMEOUT)
        self.close()

    def close(self) -> None:
        self._drop()
        if self.transport is not None:
            self.transport.close()

    def _drop(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
        self.server.connections.discard(self)
        if self.device_id is not None and self.server.sessions.get(self.device_id) is self:
            del self.server.sessions[self.device_id]
            self.server.store.set_online(self.device_id, False)


class CtwingTcpServer:
    def __init__(self, registry: Registry, store: Store, clock) -> None:  # noqa: ANN001
        self.registry, self.store, self.clock = registry, store, clock
        self.sessions: dict[str, _Connection] = {}
        self.connections: set[_Connection] = set()
        self._server: asyncio.AbstractServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        store.on_command_queued(self._command_queued)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        self._loop = asyncio.get_running_loop()
        sock = listen_tcp(host, port)  # the backlog of prebind.py: same socket options as the others
        self._server = await self._loop.create_server(lambda: _Connection(self), sock=sock)
        return host, self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for conn in list(self.connections):
            conn.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _command_queued(self, cmd: Command) -> None:
        if cmd.device_id not in self.sessions or self._loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._deliver(cmd.device_id)
        else:  # queued from another thread (e.g. a sync API test client)
            self._loop.call_soon_threadsafe(self._deliver, cmd.device_id)

    def _deliver(self, device_id: str) -> None:
        conn = self.sessions.get(device_id)
        if conn is not None:
            conn.deliver_pending("queued")
