"""ITU-T V.250 basic commands and the identification answers every module shares.

E (echo), V (verbose/numeric), Q (quiet), I (identification), Z / &F (reset to defaults),
&W, X/L/M (accepted), S-registers S0..S12 (S3 CR, S4 LF, S5 BS are live in the framing),
+CMEE (error verbosity), +GMI/+CGMI, +GMM/+CGMM, +GMR/+CGMR, +GSN/+CGSN, +CIMI, +IPR, +CSCS.

Must not: hold network state (ts27007.py) or print vendor dialects (the vendor features).
"""

from __future__ import annotations

from ...at.commands import ArgError, AtCommand
from ...core.modem import Context
from ...core.results import ERROR, CmeError
from ..profile import CommandTable, Feature, Reply

T = CommandTable("v250")

S_DEFAULTS = {0: 0, 2: 43, 3: 13, 4: 10, 5: 8, 6: 2, 7: 0, 8: 2, 10: 15, 12: 50}


def _init(ctx: Context) -> None:
    ctx.state.sreg = dict(S_DEFAULTS)
    ctx.state.ipr = int(ctx.defaults.get("ipr", 115200))


def _flag(cmd: AtCommand, hi: int = 1) -> int:
    return cmd.int(0, 0, lo=0, hi=hi)


@T.exec("E")
def e_exec(cmd: AtCommand, ctx: Context) -> Reply:
    ctx.modem.framing.echo = bool(_flag(cmd))
    return Reply()


@T.exec("V")
def v_exec(cmd: AtCommand, ctx: Context) -> Reply:
    ctx.state.v250.verbose = bool(_flag(cmd))
    return Reply()


@T.exec("Q")
def q_exec(cmd: AtCommand, ctx: Context) -> Reply:
    ctx.state.v250.quiet = bool(_flag(cmd))
    return Reply()


@T.exec("X", "L", "M", "&C", "&D", "&W", "&V")
def accepted_exec(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.int(0, 0, lo=0, hi=9)
    return Reply()


@T.exec("Z", "&F")
def z_exec(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.int(0, 0, lo=0, hi=0)
    ctx.modem.framing.echo = ctx.profile.quirks.echo_default
    ctx.state.v250.verbose, ctx.state.v250.quiet = True, False
    ctx.state.v250.cmee = int(ctx.defaults.get("cmee", 1))
    ctx.state.sreg = dict(S_DEFAULTS)
    _sync_framing(ctx)
    return Reply()


@T.exec("I")
def i_exec(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.int(0, 0, lo=0, hi=9)
    return Reply(lines=tuple(ctx.identity.ati))


def _sreg(cmd: AtCommand) -> int:
    n = int(cmd.name[1:])
    if n > 255:
        raise ArgError("no such S-register")
    return n


@T.set("S0", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S10", "S12")
def s_set(cmd: AtCommand, ctx: Context) -> Reply:
    ctx.state.sreg[_sreg(cmd)] = cmd.int(0, lo=0, hi=255)
    _sync_framing(ctx)
    return Reply()


@T.read("S0", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S10", "S12")
def s_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(f"{ctx.state.sreg.get(_sreg(cmd), 0):03d}",))


def _sync_framing(ctx: Context) -> None:
    f = ctx.modem.framing
    f.s3, f.s4, f.s5 = ctx.state.sreg[3], ctx.state.sreg[4], ctx.state.sreg[5]


@T.set("+CMEE")
def cmee_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    ctx.state.v250.cmee = cmd.int(0, lo=0, hi=2)
    return Reply()


@T.exec("+CMEE")
def cmee_exec(cmd: AtCommand, ctx: Context) -> Reply:
    ctx.state.v250.cmee = 0
    return Reply()


@T.read("+CMEE")
def cmee_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(f"+CMEE: {ctx.state.v250.cmee}",))


@T.test("+CMEE")
def cmee_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+CMEE: (0-2)",))


@T.exec("+GMI", "+CGMI")
def gmi_exec(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(ctx.identity.manufacturer,))


@T.exec("+GMM", "+CGMM")
def gmm_exec(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(ctx.identity.model,))


@T.exec("+GMR", "+CGMR")
def gmr_exec(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(ctx.identity.revision,))


@T.exec("+GSN", "+CGSN")
def gsn_exec(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(ctx.identity.imei,))


@T.set("+CGSN")
def cgsn_set(cmd: AtCommand, ctx: Context) -> Reply:
    snt = cmd.int(0, lo=0, hi=3)
    if snt == 1:
        return Reply(lines=(f'+CGSN: "{ctx.identity.imei}"',))
    return Reply(lines=(ctx.identity.imei,))


@T.test("+GMI", "+CGMI", "+GMM", "+CGMM", "+GMR", "+CGMR", "+GSN", "+CGSN", "+CIMI")
def ident_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply()


@T.exec("+CIMI")
def cimi_exec(cmd: AtCommand, ctx: Context) -> Reply:
    radio = ctx.state.radio
    if not radio.sim_present:
        return Reply(final=CmeError(10))
    if radio.sim_state != "READY":
        return Reply(final=CmeError(11 if radio.sim_state == "SIM PIN" else 12))
    return Reply(lines=(ctx.identity.imsi,))


@T.set("+IPR")
def ipr_set(cmd: AtCommand, ctx: Context) -> Reply:
    rate = cmd.int(0, lo=0)
    if rate not in (0, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 3000000):
        return Reply(final=ERROR)
    ctx.state.ipr = rate
    return Reply()


@T.read("+IPR")
def ipr_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(f"+IPR: {ctx.state.ipr}",))


@T.set("+CSCS")
def cscs_set(cmd: AtCommand, ctx: Context) -> Reply:
    ctx.state.cscs = cmd.str(0, choices=("GSM", "IRA", "UCS2"))
    return Reply()


@T.read("+CSCS")
def cscs_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(f'+CSCS: "{getattr(ctx.state, "cscs", "GSM")}"',))


FEATURE = Feature("v250", T, init=_init)
