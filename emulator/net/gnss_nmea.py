"""Executor of the GNSS ``NmeaOut`` effect: the module's separate NMEA port ("usbnmea") as a
loopback TCP port that any number of readers may open (``socket://127.0.0.1:PORT`` in pyserial).

The first ``NmeaOut`` of a powered-on modem opens the listener on 127.0.0.1 (an ephemeral
port) and answers ``NmeaPortReady(port)``; sentences are written, each with CR LF as NMEA 0183
frames them, to every reader connected at that moment (a reader that connects later gets the
stream from then on, as a USB NMEA port gives what is current). Sentences that come while the
listener is still opening are sent once it is up. The port goes away at power-off / reboot
(``net.resources``), like the module's USB port.

Must not: listen on anything but loopback, or build or change sentences (the module does).
"""

from __future__ import annotations

import asyncio
import logging

from ..modules.handlers.quectel_gnss import NmeaOut, NmeaPortReady
from .context import NetContext
from .executors import executor

log = logging.getLogger("modemu.nmea")


class NmeaPort:
    """The listener and its readers (``net.resources["nmea"]``)."""

    def __init__(self) -> None:
        self.server: asyncio.AbstractServer | None = None
        self.readers: list[asyncio.StreamWriter] = []
        self.backlog: list[str] = []
        self.opening = False

    def write(self, sentences: tuple[str, ...]) -> None:
        if self.server is None:
            self.backlog.extend(sentences)
            return
        data = "".join(f"{s}\r\n" for s in sentences).encode("ascii")
        for writer in list(self.readers):
            if writer.is_closing():
                self.readers.remove(writer)
                continue
            writer.write(data)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in self.readers:
            writer.close()
        self.readers.clear()


@executor(NmeaOut)
def nmea_out(effect: NmeaOut, net: NetContext) -> None:
    port = net.resources.get("nmea")
    if port is None:
        port = net.resources["nmea"] = NmeaPort()
    if port.server is None and not port.opening:
        port.opening = True
        net.spawn(_open(port, net))
    port.write(effect.sentences)


async def _open(port: NmeaPort, net: NetContext) -> None:
    def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port.readers.append(writer)

    try:
        server = await asyncio.start_server(connected, "127.0.0.1", 0)
    except OSError as exc:
        log.warning("%s: cannot open the NMEA port: %s", net.name, exc)
        port.opening = False
        return
    if net.resources.get("nmea") is not port:  # powered off meanwhile
        server.close()
        return
    port.server, port.opening = server, False
    number = server.sockets[0].getsockname()[1]
    log.info("%s: NMEA port on 127.0.0.1:%d", net.name, number)
    backlog, port.backlog = tuple(port.backlog), []
    port.write(backlog)
    net.stimulus(NmeaPortReady(number))
