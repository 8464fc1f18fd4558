"""The console API's socket and server: the ``--api`` address check (loopback only), the listening
socket bound before anything else starts, and uvicorn run on the emulator's loop.

Shared by ``modemu serve`` and ``modemu exec`` (serve.py re-exports these names). Must not: decide
what a console request does (``api/`` and ``control.py`` do), or take the process's signals.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from typing import TYPE_CHECKING

from .errors import ConfigError, EmulatorError
from .net.internet import is_loopback

if TYPE_CHECKING:  # pragma: no cover
    from .transport.runner import Emulator


def api_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` of ``--api``, checked. Only loopback: the console API can reset platforms and cut
    links, so it never listens on an address another machine can reach."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not is_loopback(host) or not port.isdigit():
        raise ConfigError(f"--api {address}: the console API listens on a loopback HOST:PORT only "
                          "(e.g. 127.0.0.1:8765)")
    return host, int(port)


def bind_api(address: str, ephemeral: bool) -> socket.socket:
    """The console API's listening socket, bound now (port 0 with ``ephemeral``): ``serve`` binds
    it before any modem or platform listens, so a port in use fails before anything started."""
    host, port = api_address(address)
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(host, 0 if ephemeral else port,
                                                              type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError:
        raise EmulatorError(f"console API could not listen on {address}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        sock.bind(sockaddr)
    except OSError as exc:
        sock.close()
        raise EmulatorError(f"console API could not listen on {address} ({exc.strerror}); "
                            "pass --api 127.0.0.1:PORT or --ephemeral-ports") from None
    return sock


class ApiServer:
    """The console API (uvicorn) on the emulator's loop; the emulator owns the signals.
    ``sock``: a socket from :func:`bind_api` to serve on (else uvicorn binds ``address``);
    ``token``: the bearer token every request must carry (see :func:`api_token`)."""

    def __init__(self, emulator: "Emulator", address: str, ephemeral: bool,
                 sock: socket.socket | None = None, token: str | None = None) -> None:
        import uvicorn

        from .api.app import create_app
        host, port = api_address(address)
        self.address, self.sock, self.emulator = address, sock, emulator
        app = create_app(emulator, api_token=api_token(token))
        self.server = uvicorn.Server(uvicorn.Config(app, host=host,
                                                    port=0 if ephemeral else port,
                                                    log_config=None, log_level=None,  # setup_logging's levels
                                                    lifespan="off"))
        # uvicorn would take SIGINT/SIGTERM for itself; the emulator shuts down in order instead.
        self.server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
        self.task: asyncio.Task | None = None

    async def start(self) -> str:
        self.task = asyncio.get_running_loop().create_task(self._serve())
        while not self.server.started:
            if self.task.done():
                raise EmulatorError(f"console API could not listen on {self.address}")
            await asyncio.sleep(0.01)
        bound = self.server.servers[0].sockets[0].getsockname()
        return f"http://{bound[0]}:{bound[1]}"

    async def _serve(self) -> None:
        try:
            await self.server.serve(sockets=None if self.sock is None else [self.sock])
        except SystemExit:  # uvicorn exits the process when it cannot bind; we clean up instead
            pass

    async def stop(self) -> None:
        self.emulator.events.close()  # open /api/events streams end, so uvicorn need not cut them
        self.server.should_exit = True
        if self.task is None:
            if self.sock is not None:
                self.sock.close()
            return
        try:
            await asyncio.wait_for(self.task, 3.0)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            self.task.cancel()


API_BACKLOG = 128  # requests that may wait for the console API while it loads (uvicorn's default is 2048)


def api_token(flag: str | None) -> str | None:
    """The console API's bearer token: ``--api-token``, else ``MODEMU_API_TOKEN``, else none."""
    return flag or os.environ.get("MODEMU_API_TOKEN") or None
