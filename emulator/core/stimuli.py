"""Inputs from outside the host line: network answers, platform pushes, control-plane changes.

Feature modules define their own stimuli beside their effects; the ones here are shared.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stimulus:
    """Base class of every stimulus."""


@dataclass(frozen=True)
class SignalChanged(Stimulus):
    rssi: int  # 0..31, 99 unknown


@dataclass(frozen=True)
class NetworkDetach(Stimulus):
    """The network drops the modem (coverage loss); registration goes to 'searching'."""


@dataclass(frozen=True)
class NetworkAttach(Stimulus):
    """Coverage is back."""


@dataclass(frozen=True)
class SimRemoved(Stimulus):
    pass


@dataclass(frozen=True)
class SimInserted(Stimulus):
    pass


@dataclass(frozen=True)
class PowerOn(Stimulus):
    """The control plane pressed PWRKEY: boot URCs again."""


@dataclass(frozen=True)
class WakeUp(Stimulus):
    """PWRKEY / PON_TRIG pulse (console API): leave PSM now."""


@dataclass(frozen=True)
class DtrChanged(Stimulus):
    """DTR line level from the host side (console API; RFC 2217 where a transport carries it)."""

    high: bool
