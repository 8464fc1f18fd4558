"""pyserial URL handler: ``serial.serial_for_url("modemu://bg96?backends=none")``.

``import emulator`` registers the package with ``serial.protocol_handler_packages``. Opening
the URL starts an :class:`~emulator.transport.runner.Emulator` for that one modem in a
background thread with its own asyncio loop (virtual clock following the wall clock) and
returns a pyserial-compatible object: ``read``/``write``/``in_waiting``/``timeout``/
``reset_input_buffer``/``close``. Extras: ``.advance(seconds)`` pushes virtual time,
``.call(fn)`` runs ``fn(emulator)`` on the emulator's loop.

URL: ``modemu://<module>[?name=N&backends=none|all|a,b&time_scale=X&<override>=<value>...]``;
other query keys are module overrides (``imei``, ``imsi``, ``iccid``, defaults ...).

``modemu://HOST:PORT/NAME[?token=T]`` (a URL with a port) instead attaches to modem NAME of a
running ``modemu serve`` whose console API is HOST:PORT (transport/remote.py): nothing is started.

The host end is an :class:`~emulator.transport.inproc.InProcessLink`, attached from
``Emulator.on_port`` so the boot URCs are read too.

Must not: bind or dial anything itself (the Emulator's backends and executors do, on loopback).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from serial.serialutil import PortNotOpenError, SerialBase, SerialException

from ..control import Control
from .inproc import InProcessLink

START_TIMEOUT = 30.0


def remote_target(url: str) -> tuple[str, int, str, str | None] | None:
    """``modemu://HOST:PORT/NAME`` -> (host, port, name, token); None for an in-process URL."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise SerialException(f"modemu: bad port in {url!r}") from None
    if port is None:
        return None
    name = parts.path.strip("/")
    if not name or "/" in name:
        raise SerialException(f"modemu: {url!r}: name the modem, e.g. modemu://127.0.0.1:8765/bg96")
    token = dict(parse_qsl(parts.query)).get("token")
    return parts.hostname or "127.0.0.1", port, name, token


def parse_url(url: str) -> tuple[str, str, list[str] | None, float, dict[str, str]]:
    """-> (module, name, backends, time_scale, overrides); raises SerialException when malformed."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "modemu":
        raise SerialException(f"expected a modemu://<module> URL, got {url!r}")
    module = (parts.netloc or parts.path.strip("/")).lower()
    from ..modules import available_modules
    if module not in available_modules():
        raise SerialException(f"modemu: unknown module {module!r} in {url!r}; valid: {', '.join(available_modules())}")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    name = options.pop("name", module)
    raw = options.pop("backends", "all")
    backends = None if raw in ("", "all") else [] if raw == "none" else [b for b in raw.split(",") if b]
    try:
        time_scale = float(options.pop("time_scale", "1"))
    except ValueError:
        raise SerialException(f"modemu: time_scale must be a number in {url!r}") from None
    return module, name, backends, time_scale, options


class _EmulatorThread:
    """One Emulator on its own loop in a daemon thread; output lands in a byte buffer."""

    def __init__(self, url: str) -> None:
        self.module, self.name, self.backends, self.time_scale, self.overrides = parse_url(url)
        self.buffer = bytearray()
        self.cond = threading.Condition()
        self.loop = asyncio.new_event_loop()
        self.emulator: Any = None
        self.link: Any = None  # the host end (InProcessLink), attached before the boot output
        self.error: BaseException | None = None
        self._started = threading.Event()
        self.thread = threading.Thread(target=self._main, name=f"modemu-{self.name}", daemon=True)

    def start(self) -> None:
        self.thread.start()
        if not self._started.wait(START_TIMEOUT):
            raise SerialException("modemu: emulator did not start in time")
        if self.error is not None:
            raise SerialException(f"modemu: emulator failed to start: {self.error}") from self.error

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._start())
        except BaseException as exc:  # noqa: BLE001 - handed to the opener
            self.error = exc
            self._started.set()
            self.loop.close()
            return
        self._started.set()
        self.loop.run_forever()
        self.loop.close()

    async def _start(self) -> None:
        from ..config import Config, ModemSpec
        from .runner import Emulator
        self.emulator = Emulator(Config(), modems=[ModemSpec(self.name, self.module, self.overrides)],
                                 ephemeral=True, with_pty=False, with_tcp=False, follow_wall=True,
                                 time_scale=self.time_scale, backends=self.backends)
        self.emulator.on_port(self._attach)
        await self.emulator.start()

    def _attach(self, port: Any) -> None:
        self.link = InProcessLink(port)
        self.link.on_output(self._on_bytes)

    def _on_bytes(self, data: bytes) -> None:
        with self.cond:
            self.buffer += data
            self.cond.notify_all()

    def call(self, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        async def run() -> Any:
            result = fn()
            if asyncio.iscoroutine(result):
                result = await result
            return result
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def feed(self, data: bytes) -> None:
        self.loop.call_soon_threadsafe(self.link.write, data)

    def stop(self) -> None:
        if self.thread.is_alive() and self.emulator is not None:
            try:
                self.call(self.emulator.stop, timeout=10.0)
            except Exception:  # noqa: BLE001 - closing anyway
                pass
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10.0)


class Serial(SerialBase):
    """A serial port whose other end is an emulated modem."""

    _remote: Any = None  # a RemoteModem for modemu://HOST:PORT/NAME

    def open(self) -> None:
        if self.is_open:
            raise SerialException("Port is already open.")
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        self._remote = None
        target = remote_target(self.portstr)
        if target is not None:  # a running serve's modem, over its TCP port
            from .remote import RemoteModem
            self._remote = RemoteModem(*target)
            self._remote.line.timeout = self._timeout
            self.is_open = True
            return
        self._emu = _EmulatorThread(self.portstr)
        self._emu.start()
        self.is_open = True

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            if self._remote is not None:
                self._remote.close()
            else:
                self._emu.stop()

    def _reconfigure_port(self) -> None:
        """Baud rate and framing mean nothing to an emulated modem (a remote line takes the timeout)."""
        if getattr(self, "_remote", None) is not None:
            self._remote.line.timeout = self._timeout

    # --- data -----------------------------------------------------------------------------
    @property
    def in_waiting(self) -> int:
        self._check_open()
        if self._remote is not None:
            return self._remote.line.in_waiting
        with self._emu.cond:
            return len(self._emu.buffer)

    def read(self, size: int = 1) -> bytes:
        self._check_open()
        if self._remote is not None:
            return self._remote.line.read(size)
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        emu = self._emu
        with emu.cond:
            while len(emu.buffer) < size:
                if deadline is None:
                    emu.cond.wait(0.5)
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    emu.cond.wait(left)
                if not self.is_open:
                    break
            data = bytes(emu.buffer[:size])
            del emu.buffer[:size]
        return data

    def write(self, data: bytes) -> int:
        self._check_open()
        data = bytes(data)
        if data and self._remote is not None:
            return self._remote.line.write(data)
        if data:
            self._emu.feed(data)
        return len(data)

    def flush(self) -> None:
        self._check_open()
        if self._remote is not None:
            return self._remote.line.flush()
        self._emu.call(lambda: None)  # everything written so far has been fed

    def reset_input_buffer(self) -> None:
        self._check_open()
        if self._remote is not None:
            return self._remote.line.reset_input_buffer()
        with self._emu.cond:
            self._emu.buffer.clear()

    def reset_output_buffer(self) -> None:
        self._check_open()

    def send_break(self, duration: float = 0.25) -> None:
        self._check_open()

    def _update_break_state(self) -> None:
        pass

    def _update_rts_state(self) -> None:
        pass

    def _update_dtr_state(self) -> None:
        """``ser.dtr`` is the RS-232 signal: asserted (True) = the module's DTR pin *low*
        (awake; Quectel: pin high lets it sleep, deep sleep in PSM). Same as the console API's
        ``POST /api/modems/{name}/dtr``."""
        if self.is_open and self._remote is not None:
            self._remote.dtr(not self._dtr_state)
        elif self.is_open:
            high, name = not self._dtr_state, self._emu.name
            self._emu.call(lambda: Control(self._emu.emulator).dtr(name, high))

    @property
    def cts(self) -> bool:
        return True

    @property
    def dsr(self) -> bool:
        return True

    @property
    def ri(self) -> bool:
        return False

    @property
    def cd(self) -> bool:
        return True

    # --- emulator extras --------------------------------------------------------------------
    @property
    def emulator(self) -> Any:
        self._check_open()
        if self._remote is not None:
            raise SerialException("modemu: the emulator of an attached serve lives in another process; "
                                  "use its console API")
        return self._emu.emulator

    def advance(self, seconds: float) -> int:
        """Push the virtual clock forward (timers fire now, deadline by deadline, with loopback
        I/O in between like the console API's advance); returns how many fired."""
        self._check_open()
        if self._remote is not None:
            return self._remote.advance(seconds)
        return self._emu.call(lambda: Control(self._emu.emulator).advance_live(seconds))

    def call(self, fn: Callable[[Any], Any], timeout: float = 10.0) -> Any:
        """Run ``fn(emulator)`` on the emulator's loop (may return a coroutine) and return its result."""
        self._check_open()
        if self._remote is not None:
            raise SerialException("modemu: call() needs an in-process modem (modemu://<module>)")
        return self._emu.call(lambda: fn(self._emu.emulator), timeout)

    def _check_open(self) -> None:
        if not self.is_open:
            raise PortNotOpenError()
