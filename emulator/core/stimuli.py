"""Inputs from outside the host line: network answers, platform pushes, control-plane changes.

Feature modules define their own stimuli beside their effects; the ones here are shared.

Must not: carry behaviour (stimuli are data) or import anything above ``core/``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stimulus:
    """Base class of every stimulus."""


@dataclass(frozen=True)
class Downlink(Stimulus):
    """Base of stimuli that are data FROM the network to the device (socket data, MQTT
    messages, LwM2M platform requests). While the modem is unreachable (PSM, powered down,
    detached) the runner holds them at the network edge and hands them over once it is
    reachable again (``ModemPort``): the network buffers, the device cannot be paged in PSM
    (3GPP TS 23.682 §4.5.4 / BG96 PSM AN §2)."""


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
class Paged(Stimulus):
    """The network pages the idle device (held downlink data, eDRX paging time window): it sets
    up an RRC connection to take the data. Sent by the runner at ``Modem.next_paging()``."""


@dataclass(frozen=True)
class DtrChanged(Stimulus):
    """DTR line level from the host side (console API; RFC 2217 where a transport carries it).
    A physical line: its level is kept while the module is powered off (``Modem.dtr_line_high``)
    and applies from power-on."""

    high: bool
