"""Quectel extensions shared by BG96 and EC800E (BG96 AT Commands Manual V2.2; EC800E guide).

+QCCID, +QGMR, +QIDNSCFG, +QENG="servingcell", +QNWINFO, +QCSQ, +QCFG / +QURCCFG
(a table of known settings with query forms), +QINDCFG, +QPOWD (``POWERED DOWN``).

Must not: implement sockets, MQTT or LwM2M (their own features).
"""

from __future__ import annotations

import re

from ...at.commands import AtCommand
from ...core.modem import Context
from ...core.results import ERROR, CmeError
from ..profile import CommandTable, Feature, Reply
from .ts27007 import signal

T = CommandTable("quectel_common")

# AT+QCFG settings: name -> default values (ints, or strings). Query prints
# ``+QCFG: "<name>",<values>`` with strings quoted except hex masks and digit sequences, which the
# manuals print bare (``+QCFG: "nwscanseq",020301``, ``+QCFG: "band",0xf,0x400a0e189f,0xa0e189f``;
# BG96 AT manual §5.x AT+QCFG; Quectel BG96 AT Commands Manual V2.2 AT+QCFG). Factory values: BG96 AT manual (band
# 0xF/0x400A0E189F/0xA0E189F, nwscanseq 020301, iotopmode 2). A module's data file
# ``qcfg`` replaces values or (null) removes keys it does not have.
QCFG_DEFAULTS: dict[str, tuple] = {
    "nwscanmode": (0,), "nwscanseq": ("020301",), "iotopmode": (2,), "servicedomain": (1,),
    "roamservice": (255,),
    "band": ("0xf", "0x400a0e189f", "0xa0e189f"),
    "urc/port": ("uart1",), "urc/psm": (0,), "psm/urc": (0,), "urc/ri/ring": ("pulse", 120, 1000, 5000, "off", 1),
    "risignaltype": ("respective",), "apready": (0, 0, 500), "psm/enter": (0,), "fast/poweroff": (25, 1),
    "ledmode": (0,), "urc/cache": (0,), "sleepind/level": (0,), "wakeupin/level": (0,),
    "rrcabort": (0,), "lwm2m": (0,),
}
# settings whose write form takes a trailing <effect> (1 at once, 0 after reboot) that is not
# part of the stored value (BG96 AT manual AT+QCFG="nwscanseq"/"nwscanmode"/"iotopmode"/"band"/
# "servicedomain"/"roamservice")
QCFG_EFFECT = {"nwscanmode", "nwscanseq", "iotopmode", "band", "servicedomain", "roamservice"}
_BARE = re.compile(r"0x[0-9a-f]+|[0-9]+")
# AT+QCFG=? ranges as a real BG96 prints them (RAK5010/BG96 AT manual dump, Quectel BG96 AT Commands Manual V2.2 AT+QCFG);
# a key without a documented range prints its name only.
QCFG_RANGES = {
    "nwscanmode": "(0,1,3),(0,1)", "nwscanseq": "(00-010203),(0,1)", "servicedomain": "(1,2),(0,1)",
    "roamservice": "(1,2,255),(0,1)", "band": "(0-F),(0-7FFFFFFFFFFFFFFF),(0-7FFFFFFFFFFFFFFF),(0,1)",
    "iotopmode": "(0-2)", "psm/urc": "(0,1)", "ledmode": "(0,1,3)",
    "urc/ri/ring": '("off","pulse","always","auto","wave"),(1-2000),(1-10000),(1-10000),("off","on"),(1-5)',
    "risignaltype": '("respective","physical")', "apready": "(0,1),(0,1),(100-3000)", "psm/enter": "(0,1)",
}


# AT+QINDCFG <urctype> and its default <enable> (BG96/EC2x AT manuals, "Control URC Indication").
# Stored and read back; the +QIND URCs they gate ("csq", "smsfull", ...) are not generated.
QINDCFG_DEFAULTS = {"all": 1, "csq": 0, "smsfull": 0, "ring": 1, "smsincoming": 1, "act": 0}
URC_PORTS = ("usbat", "usbmodem", "uart1", "all")


def urc_port(ctx: Context) -> str:
    """The one URC output port setting: AT+QCFG="urc/port" and AT+QURCCFG="urcport" are two
    spellings of it (the +QISTATE tail prints it)."""
    return str(ctx.state.qcfg["urc/port"][0])


def _init(ctx: Context) -> None:
    ctx.state.qcfg = {k: tuple(v) for k, v in QCFG_DEFAULTS.items()}
    for key, value in ctx.defaults.get("qcfg", {}).items():
        if value is None:
            ctx.state.qcfg.pop(key, None)
        else:
            ctx.state.qcfg[key] = tuple(value)
    ctx.state.dns = {1: tuple(ctx.defaults.get("dns", ("8.8.8.8", "8.8.4.4")))}
    ctx.state.qindcfg = dict(QINDCFG_DEFAULTS)


def _fmt(value: object) -> str:
    return str(value) if isinstance(value, int) or _BARE.fullmatch(str(value)) else f'"{value}"'


@T.exec("+QCCID")
def qccid_exec(cmd: AtCommand, ctx: Context) -> Reply:
    if not ctx.state.radio.sim_present:
        return Reply(final=CmeError(10))
    return Reply(lines=(f"+QCCID: {ctx.identity.iccid}",))


@T.exec("+QGMR")
def qgmr_exec(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(str(ctx.defaults.get("qgmr", ctx.identity.revision)),))


@T.set("+QIDNSCFG")
def qidnscfg_set(cmd: AtCommand, ctx: Context) -> Reply:
    cid = cmd.int(0, lo=1, hi=16)
    if len(cmd) == 1:
        pri, sec = (ctx.state.dns.get(cid) or ctx.state.dns[1] or ("", ""))[:2]
        return Reply(lines=(f'+QIDNSCFG: {cid},"{pri}","{sec}"',))
    ctx.state.dns[cid] = (cmd.str(1, max_len=64), cmd.str(2, "", max_len=64))
    return Reply()


@T.read("+QIDNSCFG")
def qidnscfg_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=tuple(f'+QIDNSCFG: {cid},"{p}","{s}"' for cid, (p, s, *_) in sorted(ctx.state.dns.items())))


@T.set("+QENG")
def qeng_set(cmd: AtCommand, ctx: Context) -> Reply:
    what = cmd.str(0).lower()
    if what != "servingcell":
        return Reply(final=ERROR)
    radio = ctx.state.radio
    if not radio.registered:
        return Reply(lines=('+QENG: "servingcell","SEARCH"',))
    state = "CONNECT" if radio.rrc else "NOCONN"
    template = ctx.defaults.get("servingcell", '"LTE","FDD",001,01,1,1,1,1,1,1,1,-90,-9,-60,10,20')
    fields = template.split(",")
    if len(fields) == 16:  # <RSRP>, <RSSI> and <srxlev> follow the signal (+CSQ) as it changes
        rssi_dbm, shift = signal(ctx)
        fields[11], fields[13] = str(int(fields[11]) + shift), str(rssi_dbm)
        fields[15] = str(int(fields[15]) + shift)
    return Reply(lines=(f'+QENG: "servingcell","{state}",{",".join(fields)}',))


@T.exec("+QNWINFO")
def qnwinfo_exec(cmd: AtCommand, ctx: Context) -> Reply:
    if not ctx.state.radio.registered:
        return Reply(lines=("+QNWINFO: No Service",))
    d = ctx.defaults
    return Reply(lines=(f'+QNWINFO: "{d.get("nw_act", "FDD LTE")}","{d.get("plmn", "00101")}","{d.get("band", "LTE BAND 1")}",{d.get("earfcn", 100)}',))


@T.exec("+QCSQ")
def qcsq_exec(cmd: AtCommand, ctx: Context) -> Reply:
    radio = ctx.state.radio
    if not radio.registered:
        return Reply(lines=('+QCSQ: "NOSERVICE"',))
    d = ctx.defaults
    rssi_dbm, shift = signal(ctx)
    rsrp = int(d.get("rsrp", -90)) + shift
    return Reply(lines=(f'+QCSQ: "{d.get("sysmode", "LTE")}",{rssi_dbm},{rsrp},{d.get("sinr", 120)},{d.get("rsrq", -9)}',))


def _cfg_set(table_attr: str, name_prefix: str):
    def handler(cmd: AtCommand, ctx: Context) -> Reply:
        table: dict[str, tuple] = getattr(ctx.state, table_attr)
        key = cmd.str(0).lower()
        if key not in table:
            return Reply(final=ERROR)
        if len(cmd) == 1:
            values = ",".join(_fmt(v) for v in table[key])
            return Reply(lines=(f'{name_prefix}: "{key}",{values}',))
        old = table[key]
        given = len(cmd) - 1
        if given > len(old) + (key in QCFG_EFFECT):
            return Reply(final=ERROR)
        new = []
        for i in range(1, min(len(cmd), len(old) + 1)):
            template = old[i - 1]
            if isinstance(template, int):
                new.append(cmd.int(i))
            elif key == "band":  # hex masks, written with or without 0x, read back as 0x<lowercase>
                text = cmd.str(i).lower().removeprefix("0x")
                new.append(f"0x{int(text, 16):x}" if re.fullmatch(r"[0-9a-f]{1,32}", text) else None)
                if new[-1] is None:
                    return Reply(final=ERROR)
            elif _BARE.fullmatch(str(template)):
                new.append(cmd.str(i))
                if not new[-1].isdigit():
                    return Reply(final=ERROR)
            else:
                new.append(cmd.str(i, ""))
        if given > len(old):
            cmd.int(len(old) + 1, lo=0, hi=1)  # <effect>
        table[key] = tuple(new) + tuple(old[len(new):])
        for hook in getattr(ctx.state, "qcfg_hooks", []):
            hook(ctx, key, table[key])
        return Reply()
    return handler


T.set("+QCFG")(_cfg_set("qcfg", "+QCFG"))


@T.test("+QCFG")
def qcfg_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=tuple(f'+QCFG: "{k}",{QCFG_RANGES[k]}' if k in QCFG_RANGES else f'+QCFG: "{k}"'
                             for k in ctx.state.qcfg))


@T.set("+QURCCFG")
def qurccfg_set(cmd: AtCommand, ctx: Context) -> Reply:
    if cmd.str(0).lower() != "urcport":
        return Reply(final=ERROR)
    if len(cmd) == 1:
        return Reply(lines=(f'+QURCCFG: "urcport","{urc_port(ctx)}"',))
    cmd.max_args(2)
    ctx.state.qcfg["urc/port"] = (cmd.str(1, choices=URC_PORTS),)
    return Reply()


@T.set("+QINDCFG")
def qindcfg_set(cmd: AtCommand, ctx: Context) -> Reply:
    """``AT+QINDCFG=<urctype>[,<enable>[,<savetonvram>]]``; the query form prints the setting."""
    cmd.max_args(3)
    kind = cmd.str(0).lower()
    if kind not in ctx.state.qindcfg:
        return Reply(final=ERROR)
    if len(cmd) == 1:
        return Reply(lines=(f'+QINDCFG: "{kind}",{ctx.state.qindcfg[kind]}',))
    ctx.state.qindcfg[kind] = cmd.int(1, lo=0, hi=1)
    cmd.int(2, 0, lo=0, hi=1)
    return Reply()


@T.test("+QINDCFG")
def qindcfg_test(cmd: AtCommand, ctx: Context) -> Reply:
    kinds = ",".join(f'"{k}"' for k in QINDCFG_DEFAULTS)
    return Reply(lines=(f"+QINDCFG: ({kinds}),(0,1),(0,1)",))


@T.exec("+QPOWD")
@T.set("+QPOWD")
def qpowd(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.int(0, 1, lo=0, hi=1)

    def down(c: Context) -> None:
        c.urc("POWERED DOWN")
        c.later(0.0, lambda c2: c2.modem.power_off(), "power-off")
    ctx.later(float(ctx.defaults.get("powerdown_delay", 1.0)), down, "qpowd")
    return Reply()


FEATURE = Feature("quectel_common", T, init=_init)
