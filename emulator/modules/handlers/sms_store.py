"""SMS state of one modem: 27.005 settings, the message storages and the +CMS ERROR result.

Storages ``"ME"`` (module, 255), ``"SM"`` (SIM, 50 as in the Quectel manual's example),
``"SR"`` (status reports, 50 [?]) and ``"MT"`` (= ``"ME"`` on Quectel, Quectel LTE-Standard AT Commands Manual ch. 9; 3GPP TS 27.005).
They live in the module's non-volatile memory (``ctx.nvm``): messages survive a reboot, the
settings (+CMGF, +CNMI, +CPMS ...) go back to their power-on values, as on the modules.
The index base (0 on every module whose logs are public) and the capacities are per module
(:class:`SmsConfig`, set in sms.py).

Must not: parse commands or print responses (sms_settings.py, sms_send.py, sms_read.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ...core.modem import Context
from ...core.results import Final

STAT_TEXT = ("REC UNREAD", "REC READ", "STO UNSENT", "STO SENT", "ALL")
REC_UNREAD, REC_READ, STO_UNSENT, STO_SENT, ALL = range(5)


def cms(code: int) -> Final:
    """``+CMS ERROR: <err>`` (27.005 §3.2.5); always numeric, whatever +CMEE says [?]."""
    return Final(f"+CMS ERROR: {code}")


# 27.005 §3.2.5 codes used here
ME_FAILURE, NOT_ALLOWED, NOT_SUPPORTED, BAD_PDU_PARAM, BAD_TEXT_PARAM = 300, 302, 303, 304, 305
MEMORY_FAILURE, BAD_INDEX, MEMORY_FULL, SMSC_UNKNOWN, NO_SERVICE = 320, 321, 322, 330, 331
NO_ACK_EXPECTED, UNKNOWN = 340, 500
ACK_TIMEOUT = 15.0  # TS 24.011 TR2M, "12 s < TR2M < 20 s": how long a +CMT waits for +CNMA [?]


DEFAULT_SMSC = "+821091000000"  # invented SKT-style SMSC [?]


def smsc_of(defaults, config_smsc: str = DEFAULT_SMSC) -> str:
    """The SMSC of the module's network: the data file's ``smsc`` (the SIM's +CSCA and what the
    network's SMSC stamps on MT messages, one number), else the feature's / the shared default."""
    return str(defaults.get("smsc") or config_smsc)


@dataclass(frozen=True)
class SmsConfig:
    """Per-module SMS facts: index base, storages and capacities, SMSC number, vendor bits."""

    index_base: int = 0
    capacities: tuple[tuple[str, int], ...] = (("ME", 255), ("SM", 50), ("SR", 50))
    default_mem: str = "ME"
    smsc: str = DEFAULT_SMSC  # the SIM's SMSC unless the data file gives ``smsc``
    skt_newmsg: bool = False  # WM-N400MSE AT*SKT*NEWMSG


@dataclass
class Stored:
    stat: int
    tpdu: bytes
    kind: str  # deliver | submit | status
    sca: str = ""
    arrived: int = 0  # arrival order of received messages (WM-N400MSE AT*SKT*READMT counts from the newest)


class Storage:
    def __init__(self, name: str, capacity: int, base: int) -> None:
        self.name, self.capacity, self.base = name, capacity, base
        self.slots: dict[int, Stored] = {}

    @property
    def used(self) -> int:
        return len(self.slots)

    def valid(self, index: int) -> bool:
        return self.base <= index < self.base + self.capacity

    def add(self, msg: Stored) -> int | None:
        for index in range(self.base, self.base + self.capacity):
            if index not in self.slots:
                self.slots[index] = msg
                return index
        return None


@dataclass
class SmsState:
    config: SmsConfig
    mems: dict[str, Storage]
    cmgf: int = 0
    csdh: int = 0
    csms: int = 0
    cmms: int = 0
    csca: tuple[str, int] = ("", 145)
    csmp: list[int] = field(default_factory=lambda: [17, 167, 0, 0])
    cscb: tuple[int, str, str] = (0, "", "")
    cnmi: list[int] = field(default_factory=lambda: [2, 1, 0, 0, 0])  # mode, mt, bm, ds, bfr
    cpms: list[str] = field(default_factory=lambda: ["ME", "ME", "ME"])
    mr: int = 0
    buffered: list[str | bytes] = field(default_factory=list)  # indications kept in the TA (+CNMI mode 0)
    awaiting_ack: bool = False
    ack_timer: Any = None  # a direct +CMT/+CDS (+CSMS=1) waits for +CNMA until TR2M runs out
    ack_report: Callable[[bool], None] | None = None  # tells the SMSC how that delivery ended
    newmsg: int | None = None  # WM-N400MSE teleservice id of AT*SKT*NEWMSG
    arrivals: int = 0
    last_stored: tuple[str, int] | None = None  # where the last MT message went (console API)

    def mem(self, name: str) -> Storage:
        return self.mems["ME" if name == "MT" else name]

    def next_mr(self) -> int:
        mr = self.mr
        self.mr = (self.mr + 1) % 256
        return mr


def st(ctx: Context) -> SmsState:
    return ctx.state.sms


def make_init(config: SmsConfig):
    def init(ctx: Context) -> None:
        mems = ctx.nvm.get("sms_mems")
        if mems is None:
            mems = {name: Storage(name, cap, config.index_base) for name, cap in config.capacities}
            ctx.nvm["sms_mems"] = mems
        mem = config.default_mem
        ctx.state.sms = SmsState(config=config, mems=mems, csca=(smsc_of(ctx.defaults, config.smsc), 145), cpms=[mem, mem, mem])
    return init


def own_number(defaults: dict, imsi: str) -> str:
    """The subscriber's number: the data file's ``msisdn``, else one made from the IMSI
    (country code of its MCC + ``10`` + its last 8 digits) [ASSUMPTION]."""
    msisdn = defaults.get("msisdn")
    if msisdn:
        return str(msisdn)
    cc = {"450": "82", "460": "86"}.get(imsi[:3], "1")
    return f"+{cc}10{imsi[-8:]}"


def same_number(a: str, b: str) -> bool:
    """Equal as dialled: ``+821012345678`` == ``821012345678`` == ``01012345678`` (national
    form with trunk prefix 0, for the two country codes the modules live in)."""
    def forms(n: str) -> set[str]:
        d = "".join(c for c in n if c.isdigit())
        out = {d}
        for cc in ("82", "86"):
            if d.startswith(cc):
                out.add("0" + d[len(cc):])
                out.add(d[len(cc):])
        if d.startswith("0"):
            out.add(d[1:])
        return out
    return bool(a) and bool(b) and bool(forms(a) & forms(b))
