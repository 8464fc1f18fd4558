"""The control plane: every "what a user wants done" to a running Emulator, written once.

The console API (``api/app.py``), the scenario actions (``scenarios/actions.py``) and the pytest
harness (``testing/harness.py``, through the scenario bench) all call :class:`Control`: look up
a modem, describe it, power it, wake it, set DTR, change its network (detach, attach, signal,
SIM), set its GNSS position or track and read it back, script or send USSD, advance the
virtual clock, inject or clear a fault on the fake internet (a ``cut`` also resets what is open
on that route), deliver an SMS through the network's SMSC and list what a
modem sent, read the energy meter, run a platform's action (queue a CTWing command, send a
ThingPlug RPC or attribute, ``sms.deliver`` ...). Adding a feature's control is one
method here, one route in the API and one entry in the scenario action table.

Errors are typed (:class:`UnknownModem`, :class:`NotFound`, :class:`BadRequest`,
:class:`Refused`, all :class:`ControlError`); each adapter maps them (HTTP 404/422/400, a
scenario step's failure).
Stimuli go through ``Emulator.on_loop``: modems, executors and backends are touched only from
the emulator's event loop.

The ``modemu://`` URL handler (``ser.dtr``, ``ser.advance``) and the golden transcripts'
network stimuli use it too.

Must not: know HTTP, YAML or pytest (the adapters do), hold state of its own (it reads the
Emulator), or import api/, scenarios/, testing/ or transport/ (they import it).
"""

from __future__ import annotations

import asyncio
from typing import Any

from .core.stimuli import (DtrChanged, NetworkAttach, NetworkDetach, SignalChanged, SimInserted,
                           SimRemoved, Stimulus, WakeUp)
from .errors import ConfigError
from .net.internet import Fault

NETWORK_ACTIONS = ("detach", "attach", "signal", "sim_remove", "sim_insert")
FAULT_KINDS = ("refuse", "drop", "delay", "cut")


class ControlError(Exception):
    """A control request that cannot be carried out; ``str()`` is the one-line reason."""


class NotFound(ControlError):
    """The thing addressed does not exist (a route, a backend, an energy meter ...)."""


class UnknownModem(NotFound):
    """No modem by that name."""


class BadRequest(ControlError):
    """The request is malformed (a signal change without rssi, an unknown fault kind ...)."""


class Refused(ControlError):
    """Well-formed, but the network or platform refuses the value (an undecodable SMS PDU)."""


def network_stimulus(action: str, rssi: int | None = None) -> Stimulus:
    """The stimulus a network control means (also the golden transcripts' ``! detach``)."""
    if action == "signal":
        if rssi is None:
            raise BadRequest("signal needs rssi (0-31, 99)")
        return SignalChanged(int(rssi))
    stim = {"detach": NetworkDetach, "attach": NetworkAttach, "sim_remove": SimRemoved,
            "sim_insert": SimInserted}.get(action)
    if stim is None:
        raise BadRequest(f"network action must be one of {', '.join(NETWORK_ACTIONS)}, not {action!r}")
    return stim()


def gnss_source(lat: float | None = None, lon: float | None = None, alt: float = 0.0,
                track: list[dict[str, float]] | None = None) -> Any:
    """A GNSS position, or a track of ``{t, lat, lon, alt}`` points, as the receiver's stimulus."""
    from .modules.handlers.quectel_gnss import GnssPosition, GnssTrack, track_from_points
    from .modules.handlers.quectel_gnss_track import TrackError
    if track is not None:
        try:
            return GnssTrack(track_from_points(track))
        except TrackError as exc:
            raise BadRequest(f"bad track: {exc}") from None
    if lat is None or lon is None:
        raise BadRequest("give lat and lon, or a track of {t, lat, lon, alt} points")
    return GnssPosition(float(lat), float(lon), float(alt))


class Control:
    """The one mapping from user intent to Emulator calls (see the module docstring)."""

    def __init__(self, emulator: Any) -> None:
        """``emulator``: a running ``transport.runner.Emulator`` (not imported: the transport
        layer may use the control plane, never the other way round)."""
        self.emulator = emulator

    # --- modems ---------------------------------------------------------------------------
    def port(self, name: str) -> Any:
        """The ``ModemPort`` called ``name``."""
        port = self.emulator.ports.get(name)
        if port is None:
            raise UnknownModem(f"no modem {name!r}; modems: {', '.join(self.emulator.ports)}")
        return port

    def describe(self, name: str) -> dict[str, Any]:
        port = self.port(name)
        modem = port.modem
        radio, on = modem.state.radio, modem.powered  # powered down: no radio at all
        psm = getattr(modem.state, "psm", None)
        return {**port.info(), "powered": on, "registered": on and radio.registered,
                "stat": radio.stat if on else 0, "rrc": radio.rrc if on else 0,
                "rssi": getattr(radio, "rssi", None) if on else None,
                "psm": bool(psm and psm.in_psm),
                "dtr_high": modem.dtr_line_high,  # the host's line: kept while powered off
                "reachable": modem.reachable, "held_downlinks": len(port.held),
                "imei": port.profile.identity.imei,
                "imsi": port.profile.identity.imsi, "rx_bytes": port.rx_bytes, "tx_bytes": port.tx_bytes}

    def modems(self) -> list[dict[str, Any]]:
        return [self.describe(name) for name in self.emulator.ports]

    def power(self, name: str, on: bool) -> None:
        port = self.port(name)
        self.emulator.on_loop(port.power_on if on else port.power_off)

    def network(self, name: str, action: str, rssi: int | None = None) -> None:
        """``detach``, ``attach``, ``signal`` (needs ``rssi``), ``sim_remove``, ``sim_insert``."""
        port = self.port(name)
        self.emulator.on_loop(port.stimulus, network_stimulus(action, rssi))

    def wake(self, name: str) -> None:
        """A PWRKEY / PON_TRIG pulse: leave PSM now (or power on a powered-down modem)."""
        port = self.port(name)
        if port.modem.powered:
            self.emulator.on_loop(port.stimulus, WakeUp())
        else:
            self.emulator.on_loop(port.power_on)

    def dtr(self, name: str, high: bool) -> None:
        port = self.port(name)
        self.emulator.on_loop(port.stimulus, DtrChanged(bool(high)))

    def gnss(self, name: str, fix: Stimulus) -> None:
        """Where the modem's GNSS receiver is: a ``GnssPosition`` or ``GnssTrack`` stimulus
        (built by the scenario loader from ``{lat, lon, alt}`` / ``{track: ...}``)."""
        port = self.port(name)
        self.emulator.on_loop(port.stimulus, fix)

    def ussd(self, name: str, text: str, *, code: str | None = None, session: bool = False) -> dict[str, Any]:
        """USSD from the network: with ``code``, script the answer the network gives to it
        (``session``: it then waits for the user's next string); without, push ``text`` to the
        modem now as a network-initiated USSD. The model is ``handlers/ussd_network.py``."""
        from .modules.handlers.ussd import UssdFromNetwork
        from .modules.handlers.ussd_network import script
        port = self.port(name)
        if code is not None:
            return self.emulator.on_loop(script, port.modem.ctx, code, text, session)
        self.emulator.on_loop(port.stimulus, UssdFromNetwork(text, session))
        return {"sent": text}

    def ussd_state(self, name: str) -> dict[str, Any]:
        """The scripted answers and the strings the modem sent."""
        from .modules.handlers.ussd_network import network_of
        port = self.port(name)
        return self.emulator.on_loop(lambda: network_of(port.modem.ctx).describe())

    def energy(self, name: str) -> dict[str, Any]:
        """The energy meter's report: time per power state and the estimated charge (µAh)."""
        port = self.port(name)
        meter = getattr(port.modem.state, "energy", None)
        if meter is None:
            raise NotFound(f"modem {name!r} has no energy meter")
        return self.emulator.on_loop(meter.report)

    def energy_reports(self) -> dict[str, dict[str, Any]]:
        """Every modem that has an energy meter -> its report."""
        out = {}
        for name, port in self.emulator.ports.items():
            meter = getattr(port.modem.state, "energy", None)
            if meter is not None:
                out[name] = self.emulator.on_loop(meter.report)
        return out

    # --- the virtual clock ----------------------------------------------------------------
    def clock(self) -> dict[str, Any]:
        emu = self.emulator
        return {"now": emu.clock.now(), "time_scale": emu.time_scale,
                "pending_timers": len(emu.clock.pending())}

    def advance(self, seconds: float) -> int:
        """Fire everything due in the next ``seconds`` back to back (scenarios, harness: the
        bench lets loopback I/O settle itself); returns how many timers fired."""
        return self.emulator.advance(float(seconds))

    async def advance_live(self, seconds: float) -> int:
        """``advance`` for a live emulator; returns how many timers fired (``advance_report``)."""
        return int((await self.advance_report(seconds))["fired"])

    async def advance_report(self, seconds: float) -> dict[str, Any]:
        """``advance`` for a live emulator (console API), from the emulator's loop or another
        one: deadline by deadline, loopback I/O let settle wherever a fired timer caused some
        (``transport/advance.py``). Returns ``now`` and what the advance did (timers fired,
        settles, wall seconds)."""
        emu = self.emulator
        loop = emu.loop
        if loop is None or not loop.is_running():
            fired = emu.advance(float(seconds))
            return {"now": emu.clock.now(), "advanced": float(seconds), "fired": fired}
        if asyncio.get_running_loop() is loop:
            report = await emu.advance_report(float(seconds))
        else:
            report = await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(emu.advance_report(float(seconds)), loop))
        return {"now": emu.clock.now(), **report.as_dict()}

    # --- the fake internet ----------------------------------------------------------------
    def routes(self) -> dict[str, Any]:
        internet = self.emulator.internet
        return {"routes": [{"host": r.host, "port": None if r.port < 0 else r.port,
                            "target": f"{r.target[0]}:{r.target[1]}", "label": r.label,
                            "faults": [f.__dict__ for f in r.faults]} for r in internet.routes()],
                "dns": internet.names()}

    def add_fault(self, host: str, port: int | None, kind: str, count: int | None = None,
                  seconds: float = 0.0) -> None:
        """A fault on a route (``refuse``, ``drop``, ``delay``, ``cut``); ``cut`` also resets
        what is open on that route now (sockets, MQTT sessions)."""
        if kind not in FAULT_KINDS:
            raise BadRequest(f"fault kind must be one of {', '.join(FAULT_KINDS)}, not {kind!r}")
        try:
            self.emulator.internet.add_fault(host, port, Fault(kind, count, float(seconds)))
        except ConfigError as exc:
            raise NotFound(str(exc)) from None
        self.emulator.events.publish("fault", host=host, port=port, kind=kind, count=count, seconds=float(seconds))
        if kind == "cut":  # FakeInternet.cut: the one cut mechanism (sockets, MQTT sessions ...)
            self.emulator.on_loop(self.emulator.internet.cut, host, port)

    def clear_faults(self) -> None:
        self.emulator.internet.clear_faults()
        self.emulator.events.publish("fault", kind="clear")

    # --- GNSS receiver (set it with ``gnss`` above) ------------------------------------------
    def _gnss_port(self, name: str) -> Any:
        port = self.port(name)
        if not hasattr(port.modem.state, "gnss"):
            raise NotFound(f"modem {name!r} ({port.profile.name}) has no GNSS receiver")
        return port

    def gnss_state(self, name: str) -> dict[str, Any]:
        """Where the receiver is now (``position`` None without a source), its session and NMEA
        port; NotFound for a modem without GNSS."""
        from .modules.handlers.quectel_gnss import current_fix
        port = self._gnss_port(name)
        fix = current_fix(port.modem.ctx)
        s = port.modem.state.gnss
        return {"session": s.on, "fixed": s.fixed, "outport": s.outport,
                "nmea_port": f"socket://127.0.0.1:{s.nmea_port}" if s.nmea_port else None,
                "position": None if fix is None else {"lat": fix.lat, "lon": fix.lon, "alt": fix.alt,
                                                      "cog": fix.cog, "speed_kmh": fix.speed_kmh}}

    # --- SMS (the network's SMSC, net/smsc.py) -------------------------------------------
    def sms_deliver(self, name: str, *, sender: str | None = None, text: str | None = None,
                    pdu: str | None = None) -> dict[str, Any]:
        """An MT SMS to modem ``name``: ``text`` from ``sender``, or an SMS-DELIVER ``pdu`` (hex)."""
        from .modules.handlers.sms_codec import PduError
        from .net.smsc import Smsc
        self.port(name)
        smsc = Smsc.of(self.emulator.internet)
        try:
            if pdu is not None:
                return self.emulator.on_loop(smsc.deliver_pdu, name, pdu)
            return self.emulator.on_loop(smsc.deliver_text, name, sender or "", text or "")
        except PduError as exc:
            raise Refused(f"pdu: {exc}") from None

    def sms_sent(self, name: str) -> list[dict[str, Any]]:
        """The SMS modem ``name`` sent, oldest first, as the network recorded them."""
        from .net.smsc import Smsc
        self.port(name)
        return Smsc.of(self.emulator.internet).sent_by(name)

    # --- platforms ------------------------------------------------------------------------
    def platform(self, backend: str, action: str, args: dict[str, Any]) -> Any:
        """Run a platform's action (``ctwing.queue_command``, ``thingplug.send_rpc`` ...); the
        result may be a coroutine (the caller awaits it, within its own time budget). ``sms``
        is the network's SMSC (``sms.deliver``, ``sms.expect_sent``), not a platform backend."""
        if backend == "sms":
            from .net.smsc import scenario_action
            try:
                return scenario_action(self.emulator.internet, action, args)
            except ValueError as exc:
                raise BadRequest(str(exc)) from None
        be = self.emulator.backends.get(backend)
        if be is None:
            raise NotFound(f"backend {backend!r} is not running; running: "
                           f"{', '.join(self.emulator.backends) or 'none'}")
        actions = {a.name: a for a in be.scenario_actions()}
        if action not in actions:
            raise NotFound(f"{backend} has no scenario action {action!r}; actions: "
                           f"{', '.join(sorted(actions)) or 'none'}")
        return actions[action].run(args)
