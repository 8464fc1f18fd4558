"""Quectel file system AT commands (BG96, EC800E): +QFLDS, +QFLST, +QFDEL, +QFUPL, +QFDWL.

Formats from the Quectel BG96 FILE AT Commands Manual V1.0 (2018-01-24) ch. 2 and real units
(Quectel BG96 FILE AT Commands Manual V1.0): ``AT+QFUPL="<name>"[,<size>[,<timeout>[,<ackmode>]]]`` answers
``CONNECT``, takes exactly ``<size>`` raw bytes (binary-safe, no echo) and ends with
``+QFUPL: <size>,<checksum>`` ``OK``. With ``<ackmode>`` 1 the module writes ``A`` after each
1024 bytes and waits for the next block. If the bytes do not all come within ``<timeout>``
seconds (virtual clock) the upload fails with ``+CME ERROR: 421`` (time out) and no file is
left behind. The timeout is an inactivity timeout: "when the uploaded data reaches <file_size>,
or there is no any data inputted when <timeout> reaches, then it will exit from data mode"
[doc: BG96 FILE AT Commands Manual V1.0 §2.5], so it restarts with every byte that arrives (a
slow line that keeps sending is never cut off).

``AT+QFLST`` names files with their drive (``"UFS:ca.pem"``) when the profile says so
(``qflst_prefix``: EC800E, like the EG800K/EC25 units in public device logs; the BG96 prints
bare names, as a BG96MAR03A06 log on forums.quectel.com/t/3542 shows).

The handle commands (+QFOPEN ...) are ``quectel_file_handles.py``; the model is
``quectel_file_store.py``. FEATURE merges both tables.

Must not: do I/O (state-directory persistence is the serve layer's, via ``ctx.nvm``).
"""

from __future__ import annotations

from ...at.commands import AtCommand
from ...core.modem import Context
from ...core.results import CmeError
from ..profile import CommandTable, Feature, Prompt, Reply
from . import quectel_file_handles as handles
from .quectel_file_handles import qf
from .quectel_file_store import (ALREADY_EXISTS, ALREADY_OPEN, DRIVE_FULL, INVALID_PARAM, NOT_FOUND,
                                 TIME_OUT, FileError, FileSystem, checksum, make_fs)

T = CommandTable("quectel_file")
ACK_BLOCK = 1024  # ackmode 1: one "A" per 1 KiB [doc: FILE manual §2.5]


def fs(ctx: Context) -> FileSystem:
    return ctx.state.fs


def _init(ctx: Context) -> None:
    ctx.state.fs = make_fs(ctx.nvm, ctx.defaults)


# --- AT+QFLDS -------------------------------------------------------------------------------
@T.set("+QFLDS")
@qf
def qflds_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    drive = fs(ctx).drives.get(cmd.str(0).upper())
    if drive is None:
        raise FileError(INVALID_PARAM)
    return Reply(lines=(f"+QFLDS: {drive.free},{drive.total}",))


@T.exec("+QFLDS")
def qflds_exec(cmd: AtCommand, ctx: Context) -> Reply:
    ufs = fs(ctx).drives["UFS"]
    return Reply(lines=(f"+QFLDS: {ufs.used},{len(ufs.files)}",))


@T.test("+QFLDS")
def qflds_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply()


# --- AT+QFLST -------------------------------------------------------------------------------
def _listing(ctx: Context, text: str) -> Reply:
    drives, regex = fs(ctx).pattern(text)
    prefix = bool(ctx.defaults.get("qflst_prefix"))
    lines = []
    for drive in drives:
        for name in sorted(drive.files):
            if regex.match(name):
                shown = f"{drive.name}:{name}" if prefix or drive.name != "UFS" else name
                lines.append(f'+QFLST: "{shown}",{len(drive.files[name])}')
    return Reply(lines=tuple(lines))


@T.set("+QFLST")
@qf
def qflst_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    return _listing(ctx, cmd.str(0))


@T.exec("+QFLST")
@qf
def qflst_exec(cmd: AtCommand, ctx: Context) -> Reply:
    return _listing(ctx, "*")


@T.test("+QFLST")
def qflst_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply()


# --- AT+QFDEL -------------------------------------------------------------------------------
@T.set("+QFDEL")
@qf
def qfdel_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    text = cmd.str(0)
    f = fs(ctx)
    if "*" in text or "?" in text:
        drives, regex = f.pattern(text)
        for drive in drives:
            for name in [n for n in drive.files if regex.match(n)]:
                if f.is_open(drive, name):
                    raise FileError(ALREADY_OPEN)
                del drive.files[name]
                f.touched()
        return Reply()
    drive, name = f.split(text)
    if name not in drive.files:
        raise FileError(NOT_FOUND)
    if f.is_open(drive, name):
        raise FileError(ALREADY_OPEN)
    del drive.files[name]
    f.touched()
    return Reply()


@T.test("+QFDEL")
def qfdel_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+QFDEL: <filename>",))


# --- AT+QFUPL -------------------------------------------------------------------------------
@T.set("+QFUPL")
@qf
def qfupl_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(4)
    f = fs(ctx)
    drive, name = f.split(cmd.str(0))
    size = cmd.int(1, 10240, lo=1)
    timeout = cmd.int(2, 5, lo=1, hi=65535)
    ackmode = cmd.int(3, 0, lo=0, hi=1)
    if name in drive.files:
        raise FileError(ALREADY_EXISTS)
    if size > drive.free:
        raise FileError(DRIVE_FULL)
    received = bytearray()
    timer: list = [None]

    def arm(c: Context) -> None:
        token = fs(c).upload = fs(c).next_token()

        def expire(c2: Context) -> None:
            if fs(c2).upload == token:
                fs(c2).upload = 0
                c2.abort_data(Reply(final=CmeError(TIME_OUT)))  # nothing was stored yet
        if timer[0] is not None:
            timer[0].cancel()
        timer[0] = c.later(timeout, expire, "qfupl-timeout")

    def block(n: int, text: bytes) -> Prompt:
        return Prompt(on_data, length=n, echo=False, text=text, on_progress=arm)

    def on_data(data: bytes, c: Context) -> Reply:
        received.extend(data)
        if len(received) < size:  # ack mode: "A", then the next block
            arm(c)
            return Reply(final=None, prompt=block(min(ACK_BLOCK, size - len(received)), b"A"))
        fs(c).upload = 0
        timer[0].cancel()
        if name in drive.files:  # another port wrote it meanwhile: cannot happen on one UART
            return Reply(final=CmeError(ALREADY_EXISTS))
        drive.files[name] = bytearray(received)
        fs(c).touched()
        return Reply(lines=(f"+QFUPL: {len(received)},{checksum(bytes(received))}",))

    arm(ctx)
    first = min(ACK_BLOCK, size) if ackmode else size
    return Reply(final=None, prompt=block(first, b"\r\nCONNECT\r\n"))


@T.test("+QFUPL")
def qfupl_test(cmd: AtCommand, ctx: Context) -> Reply:
    free = fs(ctx).drives["UFS"].free
    return Reply(lines=(f"+QFUPL: <filename>,(1-{free}),(1-65535),(0,1)",))


# --- AT+QFDWL -------------------------------------------------------------------------------
@T.set("+QFDWL")
@qf
def qfdwl_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    drive, name = fs(ctx).split(cmd.str(0))
    data = drive.files.get(name)
    if data is None:
        raise FileError(NOT_FOUND)
    body = bytes(data)
    return Reply(raw=b"\r\nCONNECT\r\n" + body + f"\r\n+QFDWL: {len(body)},{checksum(body)}\r\n".encode())


@T.test("+QFDWL")
def qfdwl_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+QFDWL: <filename>",))


FEATURE = Feature("quectel_file", T.merged(handles.T), init=_init)

__all__ = ["FEATURE", "checksum"]
