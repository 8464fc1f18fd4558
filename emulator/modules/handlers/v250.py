"""ITU-T V.250 basic commands and the identification answers every module shares.

E (echo), V (verbose/numeric), Q (quiet), I (identification), &F (factory defaults), &W (store the
user profile in NV memory; it is loaded at power-on and by Z), &V (list the current settings),
X/L/M/&C/&D (kept and listed), S-registers S0..S12 (S3 CR, S4 LF, S5 BS are live in the framing),
+CMEE (error verbosity), +GMI/+CGMI, +GMM/+CGMM, +GMR/+CGMR, +GSN/+CGSN, +CIMI, +IPR, +CSCS.

Must not: hold network state (ts27007.py) or print vendor dialects (the vendor features).
"""

from __future__ import annotations

from ...at.commands import ArgError, AtCommand
from ...core.modem import Context
from ...core.results import ERROR, CmeError
from ..profile import CommandTable, Feature, Reply
from .setting import setting

T = CommandTable("v250")

S_DEFAULTS = {0: 0, 2: 43, 3: 13, 4: 10, 5: 8, 6: 2, 7: 0, 8: 2, 10: 15, 12: 50}
# X/L/M/&C/&D as the Quectel AT manuals' AT&V example lists them after &F (BG96/EC2x AT manual,
# AT&V; the same listing is used for the other vendors, whose manuals show none [?])
OTHER_DEFAULTS = {"&C": 1, "&D": 2, "L": 0, "M": 0, "X": 0}
AMP_V_SREGS = (0, 3, 4, 5, 6, 7, 8, 10)
PROFILE_KEY = "v250_profile"  # ctx.nvm: the user profile AT&W stored


def _init(ctx: Context) -> None:
    ctx.state.sreg = dict(S_DEFAULTS)
    ctx.state.v250_other = dict(OTHER_DEFAULTS)
    ctx.state.ipr = int(ctx.defaults.get("ipr", 115200))


def _on_boot(ctx: Context) -> None:
    """Power-on: the user profile stored with AT&W replaces the factory settings."""
    if PROFILE_KEY in ctx.nvm:
        _apply(ctx, ctx.nvm[PROFILE_KEY])


def _current(ctx: Context) -> dict:
    v = ctx.state.v250
    return {"E": int(ctx.modem.framing.echo), "V": int(v.verbose), "Q": int(v.quiet), "CMEE": v.cmee,
            "other": dict(ctx.state.v250_other), "sreg": dict(ctx.state.sreg)}


def _factory(ctx: Context) -> dict:
    return {"E": int(ctx.profile.quirks.echo_default), "V": 1, "Q": 0, "CMEE": int(ctx.defaults.get("cmee", 1)),
            "other": dict(OTHER_DEFAULTS), "sreg": dict(S_DEFAULTS)}


def _apply(ctx: Context, settings: dict) -> None:
    ctx.modem.framing.echo = bool(settings["E"])
    ctx.state.v250.verbose, ctx.state.v250.quiet = bool(settings["V"]), bool(settings["Q"])
    ctx.state.v250.cmee = int(settings["CMEE"])
    ctx.state.v250_other = dict(settings["other"])
    ctx.state.sreg = dict(settings["sreg"])
    _sync_framing(ctx)


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


@T.exec("X", "L", "M", "&C", "&D")
def other_exec(cmd: AtCommand, ctx: Context) -> Reply:
    hi = {"X": 4, "L": 3, "M": 2, "&C": 1, "&D": 2}[cmd.name]
    ctx.state.v250_other[cmd.name] = cmd.int(0, 0, lo=0, hi=hi)
    return Reply()


@T.exec("&W")
def amp_w_exec(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.int(0, 0, lo=0, hi=0)
    ctx.nvm[PROFILE_KEY] = _current(ctx)
    return Reply()


@T.exec("&V")
def amp_v_exec(cmd: AtCommand, ctx: Context) -> Reply:
    """The current settings, one per line, in the order of the Quectel manuals' example."""
    cmd.int(0, 0, lo=0, hi=0)
    cur = _current(ctx)
    other = cur["other"]
    lines = [f"&C: {other['&C']}", f"&D: {other['&D']}", "&F: 0", "&W: 0", f"E: {cur['E']}",
             f"L: {other['L']}", f"M: {other['M']}", f"Q: {cur['Q']}", f"V: {cur['V']}", f"X: {other['X']}",
             "Z: 0"] + [f"S{n}: {cur['sreg'][n]}" for n in AMP_V_SREGS]
    return Reply(lines=tuple(lines))


@T.exec("Z")
def z_exec(cmd: AtCommand, ctx: Context) -> Reply:
    """V.250 Z: back to the user profile (AT&W), or the factory settings if none was stored."""
    cmd.int(0, 0, lo=0, hi=0)
    _apply(ctx, ctx.nvm.get(PROFILE_KEY) or _factory(ctx))
    return Reply()


@T.exec("&F")
def amp_f_exec(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.int(0, 0, lo=0, hi=0)
    _apply(ctx, _factory(ctx))
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


setting(T, "+CMEE", "v250.cmee", "(0-2)", reset=0)


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


@T.test("+CSCS")
def cscs_test(cmd: AtCommand, ctx: Context) -> Reply:
    # The sets cscs_set accepts, as the BG96 AT Commands Manual (AT+CSCS, test command) prints
    # them; python-gsmmodem's sendSms() parses this line and raises without it.
    return Reply(lines=('+CSCS: ("GSM","IRA","UCS2")',))


FEATURE = Feature("v250", T, init=_init, on_boot=_on_boot)
