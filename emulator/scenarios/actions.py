"""The ``control:`` step of a scenario (and ``ModemHarness.control(**action)``): one table entry
per control, each a YAML check (the loader's error message) and a call into
:class:`emulator.control.Control`.

``{network: detach|attach|signal|sim_remove|sim_insert, rssi: N}``, ``{power: on|off}``,
``{dtr: high|low}``, ``{wake: true}``, ``{gnss: {lat, lon, alt} | {track: ...}}``, ``{fault: {host, port?, kind, count?, seconds?}}``,
``{clear_faults: true}``, ``{ussd: {code?, text, session?}}``. Adding a control: one :class:`ControlAction` in ``ACTIONS``.

Must not: decide what a control does to the emulator (``control.py`` does), wait or touch the
clock (the bench does), or read YAML text (the loader hands it parsed values).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..control import FAULT_KINDS, NETWORK_ACTIONS, BadRequest, Control


@dataclass(frozen=True)
class ControlAction:
    key: str                                         # the mapping's key: {network: ...}
    check: Callable[[dict[str, Any]], str | None]    # None, or why the step is malformed
    run: Callable[[Control, str, dict[str, Any]], None]


def _check_network(v: dict[str, Any]) -> str | None:
    if v["network"] not in NETWORK_ACTIONS:
        return f"control network must be one of {', '.join(NETWORK_ACTIONS)}"
    if v["network"] == "signal" and not isinstance(v.get("rssi"), int):
        return "control network: signal needs rssi: 0-31 or 99"
    return None


def _check_fault(v: dict[str, Any]) -> str | None:
    fault = v["fault"]
    if not isinstance(fault, dict) or "host" not in fault or fault.get("kind") not in FAULT_KINDS:
        return f"control fault needs host and kind ({', '.join(FAULT_KINDS)})"
    return None


def _check_ussd(v: dict[str, Any]) -> str | None:
    u = v["ussd"]
    if (not isinstance(u, dict) or not isinstance(u.get("text"), str) or not u["text"]
            or set(u) - {"code", "text", "session"}):
        return "control ussd takes {code?: '*100#', text: '...', session?: false}"
    return None


def _run_fault(c: Control, _modem: str, v: dict[str, Any]) -> None:
    f = v["fault"]
    c.add_fault(f["host"], f.get("port"), f["kind"], f.get("count"), float(f.get("seconds", 0.0)))


ACTIONS: tuple[ControlAction, ...] = (
    ControlAction("network", _check_network,
                  lambda c, m, v: c.network(m, v["network"], v.get("rssi"))),
    ControlAction("power", lambda v: None if v["power"] in ("on", "off", True, False)
                  else "control power must be on or off",
                  lambda c, m, v: c.power(m, v["power"] in ("on", True))),
    ControlAction("dtr", lambda v: None if v["dtr"] in ("high", "low", True, False)
                  else "control dtr must be high or low",
                  lambda c, m, v: c.dtr(m, v["dtr"] in ("high", True))),
    ControlAction("wake", lambda v: None if v["wake"] is True
                  else "control wake takes true (a PWRKEY / PON_TRIG pulse)",
                  lambda c, m, v: c.wake(m)),
    ControlAction("gnss", lambda v: None,  # the loader parses {lat, lon, alt} / {track: ...}
                  lambda c, m, v: c.gnss(m, v["gnss"])),
    ControlAction("fault", _check_fault, _run_fault),
    ControlAction("clear_faults", lambda v: None, lambda c, m, v: c.clear_faults()),
    ControlAction("ussd", _check_ussd,
                  lambda c, m, v: c.ussd(m, v["ussd"]["text"], code=v["ussd"].get("code") and str(v["ussd"]["code"]),
                                         session=bool(v["ussd"].get("session", False)))),
)
USAGE = ("control takes {network: detach|attach|signal|sim_remove|sim_insert}, "
         "{power: on|off}, {fault: {...}} or {clear_faults: true}")


def find(value: Any) -> tuple[ControlAction | None, str | None]:
    """The action a ``control:`` mapping means, or (None, why not)."""
    if not isinstance(value, dict) or not value:
        return None, USAGE
    for action in ACTIONS:
        if action.key in value:
            return action, action.check(value)
    return None, (f"unknown control {', '.join(map(str, value))}; use "
                  f"{', '.join(a.key for a in ACTIONS)}")


def check(value: Any) -> str | None:
    """None if ``value`` is a valid ``control:`` mapping, else the loader's error message."""
    return find(value)[1]


def apply(control: Control, modem: str, value: dict[str, Any]) -> None:
    """Carry out a (checked) ``control:`` mapping on ``modem``; raises ``ControlError``."""
    action, problem = find(value)
    if action is None or problem:
        raise BadRequest(problem or USAGE)
    action.run(control, modem, value)
