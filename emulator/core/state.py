"""State machines shared by every profile, as tables (h11 ``_state.py`` discipline).

Rule 1: every transition of the radio/registration machine lives here, as data.
Rule 2: this file does not know about AT syntax or any module's dialect.

Registration (3GPP TS 27.007 <stat>): 0 not registered, 1 home, 2 searching, 3 denied,
4 unknown, 5 roaming. Inputs are the functionality level (AT+CFUN), SIM presence, coverage
and the attach completing. RRC (AT+CSCON <mode>): 0 idle, 1 connected.

Must not: do I/O, touch the clock or know any AT syntax or module dialect (rule 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

NOT_REGISTERED, HOME, SEARCHING, DENIED, UNKNOWN, ROAMING = 0, 1, 2, 3, 4, 5

# (current stat, event) -> next stat. Events: cfun_min, cfun_full, sim_out, sim_in,
# coverage_lost, coverage_back, attach_done, attach_rejected.
REGISTRATION_TRANSITIONS: dict[tuple[int, str], int] = {
    **{(s, "cfun_min"): NOT_REGISTERED for s in range(6)},
    **{(s, "sim_out"): NOT_REGISTERED for s in range(6)},
    (NOT_REGISTERED, "cfun_full"): SEARCHING,
    (NOT_REGISTERED, "sim_in"): SEARCHING,
    (HOME, "coverage_lost"): SEARCHING,
    (ROAMING, "coverage_lost"): SEARCHING,
    (SEARCHING, "coverage_back"): SEARCHING,
    (SEARCHING, "attach_done"): HOME,
    (SEARCHING, "attach_rejected"): DENIED,
    (DENIED, "cfun_full"): SEARCHING,
}


@dataclass
class RadioState:
    cfun: int = 1
    sim_present: bool = True
    sim_state: str = "READY"  # READY | SIM PIN | SIM PUK | NOT INSERTED
    coverage: bool = True
    stat: int = NOT_REGISTERED
    rssi: int = 20
    ber: int = 99
    rrc: int = 0
    attached: bool = False
    creg_n: int = 0
    cereg_n: int = 0
    cgreg_n: int = 0
    cscon_n: int = 0
    cops_mode: int = 0  # AT+COPS <mode>: 0 automatic, 1 manual, 2 deregistered, 4 manual/automatic
    cops_format: int = 0  # AT+COPS <format>: 0 long alphanumeric, 1 short, 2 numeric
    history: list[tuple[int, str, int]] = field(default_factory=list)

    def apply(self, event: str) -> bool:
        """Apply ``event``; True if <stat> changed. Unknown (stat, event) pairs are no-ops."""
        nxt = REGISTRATION_TRANSITIONS.get((self.stat, event))
        if nxt is None or nxt == self.stat:
            return False
        self.history.append((self.stat, event, nxt))
        self.stat = nxt
        self.attached = nxt in (HOME, ROAMING)
        return True

    @property
    def registered(self) -> bool:
        return self.stat in (HOME, ROAMING)

    @property
    def can_register(self) -> bool:
        return self.cfun == 1 and self.sim_present and self.sim_state == "READY" and self.coverage
