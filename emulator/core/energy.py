"""Energy estimate: time per power state on the virtual clock, and the charge it costs.

States: ``off`` (powered down), ``psm`` (power saving mode), ``idle`` (registered, RRC idle,
paging with DRX or eDRX), ``connected`` (RRC connected), ``transmitting`` (radio bursts,
estimated from uplink bytes). Currents come from the profile's ``energy`` table (cited in
``modules/data/<module>.yaml``). The meter is told whenever the state may have changed
(``update``); time since the last update is booked to the state that held during it.

Must not: read the wall clock or decide state transitions (the features do).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

STATES = ("off", "psm", "idle", "connected", "transmitting")


@dataclass
class EnergyTable:
    """Currents in mA (``psm_ua`` in µA), and the uplink rate used to estimate tx time."""

    psm_ua: float = 10.0
    idle_drx_ma: float = 2.0
    idle_edrx_ma: float = 0.6
    connected_ma: float = 60.0
    tx_ma: float = 190.0
    off_ua: float = 0.0
    tx_bps: float = 300_000.0
    tx_overhead_s: float = 0.05

    @classmethod
    def from_mapping(cls, data: Mapping[str, float] | None) -> "EnergyTable":
        known = {k: float(v) for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class EnergyMeter:
    now: Callable[[], float]
    table: EnergyTable
    state_of: Callable[[], str]
    seconds: dict[str, float] = field(default_factory=lambda: {s: 0.0 for s in STATES})
    tx_bytes: int = 0
    _last_t: float | None = None
    _last_state: str = "idle"
    _edrx: bool = False
    idle_edrx_s: float = 0.0  # the part of "idle" spent with eDRX on (its own current)

    def update(self, edrx: bool | None = None) -> None:
        t = self.now()
        if self._last_t is not None:
            dt = max(0.0, t - self._last_t)
            self.seconds[self._last_state] += dt
            if self._last_state == "idle" and self._edrx:
                self.idle_edrx_s += dt
        self._last_t = t
        self._last_state = self.state_of()
        if edrx is not None:
            self._edrx = edrx

    def add_tx(self, nbytes: int) -> None:
        """An uplink of ``nbytes``: its air time moves from 'connected' to 'transmitting'."""
        self.update()
        self.tx_bytes += nbytes
        air = self.table.tx_overhead_s + nbytes * 8 / self.table.tx_bps
        self.seconds["transmitting"] += air
        self.seconds["connected"] -= air  # the burst happens inside the connected period

    def current_ma(self, state: str, edrx: bool | None = None) -> float:
        t = self.table
        edrx = self._edrx if edrx is None else edrx
        return {"off": t.off_ua / 1000, "psm": t.psm_ua / 1000,
                "idle": t.idle_edrx_ma if edrx else t.idle_drx_ma,
                "connected": t.connected_ma, "transmitting": t.tx_ma}[state]

    def report(self) -> dict:
        self.update()
        raw = dict(self.seconds)
        if raw["connected"] < 0:  # bursts are booked at once, their connected time accrues
            # afterwards: until it has, the radio counts as transmitting for all of it, so the
            # states always add up to the elapsed time
            raw["transmitting"] = max(0.0, raw["transmitting"] + raw["connected"])
            raw["connected"] = 0.0
        seconds = {s: round(max(0.0, v), 6) for s, v in raw.items()}
        # idle time is charged at the current of the paging cycle it was spent in (DRX / eDRX)
        edrx_s = min(self.idle_edrx_s, seconds["idle"])
        charge = (sum(self.current_ma(s) * v for s, v in seconds.items() if s != "idle")
                  + self.current_ma("idle", False) * (seconds["idle"] - edrx_s)
                  + self.current_ma("idle", True) * edrx_s) / 3.6  # mA*s -> µAh
        return {"seconds": seconds, "charge_uah": round(charge, 3), "tx_bytes": self.tx_bytes,
                "state": self._last_state, "edrx": self._edrx, "idle_edrx_seconds": round(edrx_s, 6),
                "currents_ma": {s: self.current_ma(s) for s in STATES}}
