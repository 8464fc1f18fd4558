"""A modem plus where its bytes go: one :class:`ModemPort` per modem of an :class:`~.runner.Emulator`.

The port feeds host bytes (pty, TCP, in-process) into its sans-IO :class:`Modem` and drains the
modem's events: bytes to every sink, transcripts to listeners, effects to the executors of
``emulator/net`` (through its :class:`~emulator.net.context.NetContext`), UART flow control
(``transport/flow.py``), network data held for an unreachable device, and the AT tap's lines on
the event bus.

Must not: contain protocol logic (features, executors and backends do), own the event loop or
the clock (the runner does), or know the console API, scenarios or tests.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Callable

from ..config import ModemSpec
from ..core.events import CommandHandled, Effect, PowerOff, Reset, ToHost
from ..core.modem import Modem
from ..core.stimuli import Downlink, Paged, PowerOn, Stimulus
from ..modules import load_module
from ..net.executors import find_executor
from ..observe.attap import AtTap
from ..observe.registration import RegistrationWatch
from .flow import RX_BUFFER, RX_RESUME
from .netwiring import net_context

if TYPE_CHECKING:  # pragma: no cover
    from .runner import Emulator

log = logging.getLogger("modemu")


class ModemPort:
    """A modem plus where its bytes go: pty, TCP, in-process listeners."""

    def __init__(self, emulator: "Emulator", spec: ModemSpec) -> None:
        self.emulator = emulator
        self.spec = spec
        self.name = spec.name
        self.profile = load_module(spec.module, spec.overrides)
        self.modem = Modem(self.profile, clock=emulator.clock, name=spec.name)
        self.sinks: list[Callable[[bytes], None]] = []
        self.transcript_listeners: list[Callable[[CommandHandled], None]] = []
        self.pty: Any = None
        self.tcp: Any = None
        self.tasks: set[asyncio.Task] = set()
        self.resources: dict[str, Any] = {}  # executors keep their sockets/clients here
        self.rx_bytes = 0
        self.tx_bytes = 0
        # network data for a device that cannot be reached (PSM): held here, the one place,
        # and handed over in order once it is reachable again (after its wake-up uplink)
        self.held: list[Stimulus] = []
        self.released_hooks: list[Callable[[Stimulus], None]] = []  # fn(stimulus) after its release
        self._releasing = False
        self._page_timer: Any = None  # the network's paging of an idle eDRX device (``page``)
        self.net = net_context(self, emulator)  # what the executors get instead of the port
        self.intake_paused = False  # flow control: the modem's input is full, ports stopped reading
        self.stopping = False  # shutdown: intake stopped for good
        self.tap = AtTap()  # the serial bytes as readable lines on the event bus (observe/)
        self._untapped: list[tuple[float, bool, bytes]] = []  # (now, from host?, bytes) for the tap (_tap)
        self.reg_watch = RegistrationWatch()  # <stat> changes as events on the bus (observe/)

    def _intakes(self) -> list[Any]:
        return [t for t in (self.pty, self.tcp) if t is not None]

    def flow(self) -> None:
        """RTS/CTS: stop reading the host while the modem holds ``RX_BUFFER`` unprocessed bytes,
        read again once it is below ``RX_RESUME`` (see transport/flow.py)."""
        pending = self.modem.pending_input
        if not self.intake_paused and pending >= RX_BUFFER:
            self.intake_paused = True
            for intake in self._intakes():
                intake.pause()
        elif self.intake_paused and pending < RX_RESUME and not self.stopping:
            self.intake_paused = False
            for intake in self._intakes():
                intake.resume()

    def stop_intake(self) -> None:
        """Shutdown: read nothing more from any host, accept no new TCP client."""
        self.stopping = self.intake_paused = True
        if self.pty is not None:
            self.pty.pause()
        if self.tcp is not None:
            self.tcp.stop_intake()

    # host side
    def feed(self, data: bytes) -> None:
        if self.stopping:
            return
        self.rx_bytes += len(data)
        self.emulator.sync_clock()  # input timing matters (the +++ guard time of transparent mode)
        self._tap(True, data)  # after the catch-up: stamped when it arrived
        self.modem.receive_data(data)
        self.drain()

    def stimulus(self, stimulus: Stimulus) -> bool:
        """Hand a stimulus to the modem. Network data (:class:`Downlink`) for an unreachable
        modem is held instead (returns False) and delivered when it wakes."""
        self.emulator.note_net()  # an answer from the network: the exchange is still moving
        if isinstance(stimulus, Downlink) and (self.held or not self.modem.reachable):
            if self.modem.powered:  # powered down: nobody receives it, nothing is kept
                self.held.append(stimulus)
                self.page()
            return False
        self.modem.receive_stimulus(stimulus)
        self.drain()
        return True

    def page(self) -> None:
        """Held data for an idle device that can be paged (eDRX): page it now if it is in a
        paging time window (it connects, ``+CSCON: 1``, and the data follows), else at the
        next window (a timer on the virtual clock). Not pageable (PSM, detached): the data
        waits for the device to wake by itself."""
        if self._page_timer is not None:
            self._page_timer.cancel()
            self._page_timer = None
        if not self.held or self.modem.reachable:
            return
        at = self.modem.next_paging()
        clock = self.emulator.clock
        if at is None:
            return
        if at > clock.now():
            self._page_timer = clock.call_at(at, self.page, "paging")
            return
        self.modem.receive_stimulus(Paged())
        self.drain()  # hands the held data over once the page connected it

    def release_held(self) -> None:
        """Deliver held network data once the modem is reachable (called after each drain)."""
        if self._releasing:
            return
        self._releasing = True
        try:
            while self.held and self.modem.reachable:
                stim = self.held.pop(0)
                self.emulator.note_net()  # held downlink delivered: its hooks may answer it
                self.modem.receive_stimulus(stim)
                self.drain()
                for hook in list(self.released_hooks):
                    hook(stim)
        finally:
            self._releasing = False

    def drain(self) -> None:
        while (event := self.modem.next_event()) is not None:
            if isinstance(event, ToHost):
                self.tx_bytes += len(event.data)
                self._tap(False, event.data)
                for sink in list(self.sinks):
                    sink(event.data)
                continue
            self._publish_lines()
            if isinstance(event, CommandHandled):
                for listener in list(self.transcript_listeners):
                    listener(event)
            elif isinstance(event, (PowerOff, Reset)):
                if isinstance(event, PowerOff):  # the API's, a scenario's or the module's own (AT+QPOWD)
                    self.emulator.events.publish("power", modem=self.name, on=False)
                self.held.clear()  # data for the old session dies with it
                self.drop_resources()
            elif isinstance(event, Effect):
                self._execute(event)
        self._publish_lines()
        for change in self.reg_watch.changes(getattr(self.modem.state, "radio", None)):
            self.emulator.events.publish("registration", modem=self.name, **change)
        if self.held and self.modem.reachable:
            self.release_held()
        self.flow()
        self.emulator.notify_activity()

    def _tap(self, host: bool, data: bytes) -> None:
        """Queue bytes for the AT tap, stamped now. The tap reads them and its lines go on the
        bus once the modem's bytes are written (the host's answer waits neither for the tap nor
        for the bus and its printer), in the order the bytes came: a sink that feeds the modem
        again at once (an in-process host) queues behind them."""
        self._untapped.append((self.emulator.clock.now(), host, data))

    def _publish_lines(self) -> None:
        if not self._untapped:
            return
        chunks, self._untapped = self._untapped, []
        publish, tap = self.emulator.events.publish, self.tap
        for now, host, data in chunks:
            lines = tap.host(data) if host else tap.module(data)
            if lines:
                ts = round(float(now), 3)
                for direction, line, extra in lines:
                    publish("at", ts=ts, modem=self.name, dir=direction, line=line, **extra)

    def _execute(self, effect: Effect) -> None:
        self.emulator.note_net()  # the network may move (a live advance lets it settle)
        fn = find_executor(effect)
        if fn is None:
            log.warning("%s: no executor for %s", self.name, type(effect).__name__)
            return
        result = fn(effect, self.net)
        if asyncio.iscoroutine(result):
            self.spawn(self._guard(result, effect))

    def spawn(self, coro: Any) -> asyncio.Task:
        """Run ``coro`` as a task of this port (cancelled at power-off, reboot and stop)."""
        task = asyncio.get_running_loop().create_task(coro)
        self.emulator.note_net()
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _guard(self, coro: Any, effect: Effect) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - an executor bug must not kill the port
            log.exception("%s: executor for %s failed", self.name, type(effect).__name__)
        finally:
            self.drain()

    def drop_resources(self) -> None:
        """Close every connection/client the executors keep for this modem (power-off, reboot)."""
        resources = dict(self.resources)
        self.resources.clear()  # in place: the NetContext shares this dict
        self.emulator.note_net()  # connections close: FINs on loopback
        for task in list(self.tasks):
            task.cancel()
        for res in resources.values():
            close = getattr(res, "close", None)
            if close is None:
                continue
            try:
                result = close()
                if asyncio.iscoroutine(result):
                    asyncio.get_running_loop().create_task(result)
            except Exception:  # noqa: BLE001 - closing is best effort
                log.debug("closing %r failed", res, exc_info=True)

    def power_on(self) -> None:
        self._publish_lines()  # what the old session's tap still holds
        self.tap = AtTap()
        self.emulator.events.publish("power", modem=self.name, on=True)
        self.stimulus(PowerOn())

    def power_off(self) -> None:
        self.modem.power_off()
        self.drain()

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "module": self.profile.name,
                "pty": self.pty.path if self.pty else None,
                "link": str(self.pty.link) if self.pty and self.pty.link else None,
                "tcp": f"127.0.0.1:{self.tcp.port}" if self.tcp else None}
