"""V.250 / TS 27.007 commands host drivers send at init, shared by every module.

ATH, +IFC, +ICF (V.250 §6.2), +CGEREP with the +CGEV URCs (TS 27.007 §10.1.19), +CNUM (§7.1,
the MSISDN from the data file), +CBC (§8.4), +CLIP (§7.6), +CRC (§6.11), +CVHU (§6.20), +CEER
(§6.10), +CESQ (§8.69, from the one signal model ``ts27007.signal``), +COPS=? (§7.3, the
networks in sight from the data file) and +CLAC (§8.37, generated from the module's command
table). ``+CGACT`` set is ts27007_pdp's with the +CGEV reports added. ``complete(features)``
adds a plain ``OK`` test form (V.250 §5.4.3: a test command of an action without parameters
just answers OK) to every extended command without a test handler of its own, so AT+CLAC never
lists a command whose ``=?`` says ERROR.

Must not: change registration state (ts27007.py) or print vendor dialects.
"""

from __future__ import annotations

from ...at.commands import AtCommand, Kind
from ...core.modem import Context
from ...core.results import CmeError
from ..profile import CommandTable, Feature, Reply
from .setting import setting
from .ts27007 import _operator_names, signal
from .ts27007_pdp import cgact_set as _pdp_cgact_set

T = CommandTable("ts27007_info")


def _init(ctx: Context) -> None:
    ctx.state.info = {"ifc": (0, 0), "icf": (3, 3), "cgerep": (0, 0), "clip": 0, "crc": 0, "cvhu": 0,
                      "ceer": (0, 0)}
    ctx.state.radio_hooks = [*getattr(ctx.state, "radio_hooks", []), _cgev_hook]


# --- V.250 --------------------------------------------------------------------------------
@T.exec("H")
def h_exec(cmd: AtCommand, ctx: Context) -> Reply:
    """A data-only module has no call to hang up: ATH/ATH0 answer OK (BG96 AT manual §2.x ATH
    answers OK when nothing is connected)."""
    cmd.int(0, 0, lo=0, hi=0)
    return Reply()


# a value outside the lists below: +CME ERROR: 3 (a garbled or missing one: ERROR)
# +IFC=<DCE_by_DTE>[,<DTE_by_DCE>]: 0 none, 2 RTS/CTS (V.250 §6.2.12; Quectel allows 0 and 2);
# the second defaults to the first
setting(T, "+IFC", "info.ifc", "(0,2),(0,2)", defaults=(None, lambda ctx, got: got[0]), invalid=CmeError(3))
# +ICF=<format>[,<parity>]: 3 = 8 data bits, no parity, 1 stop bit (V.250 §6.2.11); the parity
# stays as it was when left out
setting(T, "+ICF", "info.icf", "(1-6),(0-3)", defaults=(None, lambda ctx, got: ctx.state.info["icf"][1]),
        invalid=CmeError(3))


# --- packet domain event reporting --------------------------------------------------------
setting(T, "+CGEREP", "info.cgerep", "(0-2),(0,1)", defaults=(None, 0), reset=(0, 0))


def cgev(ctx: Context, text: str) -> None:
    """Report a packet-domain event as ``+CGEV: <text>`` if AT+CGEREP asks for it. Modes 1 and 2
    both forward: URCs raised while a command runs are held until its final result anyway."""
    if ctx.state.info["cgerep"][0]:
        ctx.urc(f"+CGEV: {text}")


def _cgev_hook(ctx: Context, event: str) -> None:
    """Registration changed (``ts27007.radio_event``). TS 27.007 §10.1.19: a detach implies
    every context went down, which is not reported separately."""
    radio = ctx.state.radio
    was_registered = bool(radio.history) and radio.history[-1][0] in (1, 5)
    if radio.registered and not was_registered:
        cgev(ctx, "ME PDN ACT 1")  # the default EPS bearer comes up with the attach
    elif was_registered and not radio.registered:
        if event == "coverage_lost":
            cgev(ctx, "NW DETACH")
        else:  # AT+CFUN=0/4, AT+CGATT=0, AT+COPS=2, SIM removed: the ME detaches
            ctx.state.info["ceer"] = (5, 36)  # SM cause #36 regular deactivation (TS 24.008 §10.5.6.6)
            cgev(ctx, "ME DETACH")


@T.set("+CGACT")
def cgact_set(cmd: AtCommand, ctx: Context) -> Reply:
    """``AT+CGACT`` as ts27007_pdp.py does it, plus ``+CGEV: ME PDN ACT|DEACT <cid>`` for each
    context the command switched (TS 27.007 §10.1.19)."""
    before = {cid: p.active for cid, p in ctx.state.pdp.items()}
    reply = _pdp_cgact_set(cmd, ctx)
    for cid, pdp in sorted(ctx.state.pdp.items()):
        if pdp.active != before.get(cid, False):
            cgev(ctx, f"ME PDN {'ACT' if pdp.active else 'DEACT'} {cid}")
    return reply


# --- subscriber and ME information --------------------------------------------------------
@T.exec("+CNUM")
def cnum_exec(cmd: AtCommand, ctx: Context) -> Reply:
    """``+CNUM: [<alpha>],<number>,<type>`` (type 145 international with '+', 129 otherwise);
    a SIM without an MSISDN answers just OK."""
    radio = ctx.state.radio
    if not radio.sim_present:
        return Reply(final=CmeError(10))
    number = str(ctx.defaults.get("msisdn", ""))
    if not number:
        return Reply()
    return Reply(lines=(f'+CNUM: ,"{number}",{145 if number.startswith("+") else 129}',))


@T.test("+CNUM")
def cnum_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply()


@T.exec("+CBC")
def cbc_exec(cmd: AtCommand, ctx: Context) -> Reply:
    """``+CBC: <bcs>,<bcl>,<voltage>``: not charging, the charge level from the supply voltage
    (3.3 V empty .. 4.2 V full, a Li-ion curve simplified to a line), the voltage in mV."""
    mv = int(ctx.defaults.get("supply_mv", 3800))
    bcl = max(0, min(100, round((mv - 3300) * 100 / 900)))
    return Reply(lines=(f"+CBC: 0,{bcl},{mv}",))


setting(T, "+CLIP", "info.clip", "(0,1)", shown=lambda ctx, n: f"{n},1")  # <n>,<m>: m 1 = CLIP provisioned (TS 27.007 §7.6)
setting(T, "+CRC", "info.crc", "(0,1)")
setting(T, "+CVHU", "info.cvhu", "(0,1)")


@T.exec("+CEER")
def ceer_exec(cmd: AtCommand, ctx: Context) -> Reply:
    """Quectel's form ``+CEER: <locationID>,<cause>`` (0,0 = no error yet; 5,36 after the ME
    deactivated its bearer, as a real EC25 reports it)."""
    loc, cause = ctx.state.info["ceer"]
    return Reply(lines=(f"+CEER: {loc},{cause}",))


@T.exec("+CESQ")
def cesq_exec(cmd: AtCommand, ctx: Context) -> Reply:
    """LTE only: <rxlev>,<ber>,<rscp>,<ecno> unknown (99,99,255,255); <rsrq> index
    (dB + 19.5) * 2 in 0..34, <rsrp> index dBm + 140 in 0..97 (TS 27.007 §8.69), both following
    the one signal model (``ts27007.signal``) as +CSQ and +QCSQ do."""
    radio = ctx.state.radio
    if radio.cfun != 1 or not radio.coverage or not radio.registered:
        return Reply(lines=("+CESQ: 99,99,255,255,255,255",))
    _, shift = signal(ctx)
    rsrp = int(ctx.defaults.get("rsrp", -90)) + shift
    rsrq = float(ctx.defaults.get("rsrq", -9))
    rsrq_i = max(0, min(34, int((rsrq + 19.5) * 2)))
    rsrp_i = max(0, min(97, rsrp + 140))
    return Reply(lines=(f"+CESQ: 99,99,255,255,{rsrq_i},{rsrp_i}",))


@T.test("+CESQ")
def cesq_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+CESQ: (0-63,99),(0-7,99),(0-96,255),(0-49,255),(0-34,255),(0-97,255)",))


@T.test("+COPS")
def cops_test(cmd: AtCommand, ctx: Context) -> Reply:
    """``+COPS: (<stat>,"<long>","<short>","<numeric>",<AcT>),...,,(0-4),(0-2)``: the serving
    network (stat 2 while registered, 1 available otherwise) and the others in sight."""
    radio = ctx.state.radio
    if radio.cfun != 1 or not radio.coverage:
        return Reply(lines=("+COPS: ,,(0-4),(0-2)",))
    long_name, short, numeric = _operator_names(ctx)
    nets = [(2 if radio.registered else 1, long_name, short, numeric, ctx.defaults.get("act", 7))]
    nets += [tuple(n) for n in ctx.defaults.get("networks", ())]
    listed = ",".join(f'({s},"{lo}","{sh}","{nu}",{act})' for s, lo, sh, nu, act in nets)
    return Reply(lines=(f"+COPS: {listed},,(0-4),(0-2)",))


# --- AT+CLAC ------------------------------------------------------------------------------
def clac_names(ctx: Context) -> list[str]:
    """Every command this module answers, as AT+CLAC prints it: ``AT`` + name, basic commands
    and S-registers first (the order the Quectel manuals' listing uses), then extended ones."""
    names = ctx.profile.commands.names()
    basic = sorted((n for n in names if n[0].isalpha() or n[0] == "&"), key=_natural)
    return [f"AT{n}" for n in basic + sorted(names - set(basic))]


def _natural(name: str) -> tuple:
    """S2 before S10."""
    head = name.rstrip("0123456789")
    return head, int(name[len(head):] or -1)


@T.exec("+CLAC")
def clac_exec(cmd: AtCommand, ctx: Context) -> Reply:
    """TS 27.007 §8.37: one command per line, each with its ``AT`` prefix (Quectel prints it so)."""
    return Reply(lines=tuple(clac_names(ctx)))


def _ok(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply()


FEATURE = Feature("ts27007_info", T, init=_init)


def complete(features: tuple[Feature, ...]) -> tuple[Feature, ...]:
    """The profile's features plus a plain-OK test form for every extended command without
    one (so every command AT+CLAC lists answers its test form)."""
    table = CommandTable("test_forms")
    handlers: dict = {}
    for feature in features:
        handlers.update(feature.commands.handlers)
    for name, _kind in list(handlers):
        if name[0] in "+$*@%" and (name, Kind.TEST) not in handlers:
            table.handlers[(name, Kind.TEST)] = _ok
    return (*features, Feature("test_forms", table))
