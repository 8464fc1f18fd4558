"""Quectel file handles: +QFOPEN, +QFREAD, +QFWRITE, +QFSEEK, +QFPOSITION, +QFTUCAT, +QFCLOSE.

Formats [doc: Quectel BG96 FILE AT Commands Manual V1.0 §2.6-2.12]:
``AT+QFOPEN="<name>"[,<mode>]`` -> ``+QFOPEN: <filehandle>`` (mode 0: open, create if missing,
read/write; 1: create or clear, read/write; 2: read only, must exist);
``AT+QFREAD=<fh>[,<length>]`` -> ``CONNECT <n>`` CR LF ``<n bytes>`` then ``OK`` (without
length: to the end of the file); ``AT+QFWRITE=<fh>[,<length>[,<timeout>]]`` -> ``CONNECT``,
exactly ``<length>`` bytes, ``+QFWRITE: <written>,<file size>``; ``AT+QFSEEK=<fh>,<offset>[,<from>]``
(0 start, 1 current, 2 end); ``AT+QFPOSITION=<fh>`` -> ``+QFPOSITION: <offset>``;
``AT+QFTUCAT=<fh>`` truncates at the position; ``AT+QFCLOSE=<fh>``.

Where the manual is silent (ASSUMPTION, README "Quectel file system"): handles count from 1;
4 files may be open at once (``fs_max_open``; the fifth gets 413); reading at the end of the
file gives ``CONNECT 0``; a QFWRITE whose bytes stop coming for ``<timeout>`` seconds (default
5 s; restarted by every byte, as AT+QFUPL's) writes nothing and answers 421; ``<length>`` defaults to 10240 as for QFUPL;
seeking past the end is 401.

Must not: do I/O.
"""

from __future__ import annotations

import functools
from typing import Callable

from ...at.commands import ArgError, AtCommand
from ...core.modem import Context
from ...core.results import CmeError
from ..profile import CommandTable, Prompt, Reply
from .quectel_file_store import (ALREADY_OPEN, INVALID_PARAM, LARGER_THAN_FILE, NO_SPACE, NOT_FOUND,
                                 READ_ONLY, TIME_OUT, TOO_MANY_OPEN, FileError, FileSystem, Handle)

T = CommandTable("quectel_file_handles")


def _fs(ctx: Context) -> FileSystem:
    return ctx.state.fs


def qf(fn: Callable[[AtCommand, Context], Reply]) -> Callable[[AtCommand, Context], Reply]:
    """FileError -> ``+CME ERROR: <code>``; bad arguments -> 425 (invalid parameter)."""
    @functools.wraps(fn)
    def wrapper(cmd: AtCommand, ctx: Context) -> Reply:
        try:
            return fn(cmd, ctx)
        except FileError as exc:
            return Reply(final=CmeError(exc.code))
        except ArgError:
            return Reply(final=CmeError(INVALID_PARAM))
    return wrapper


@T.set("+QFOPEN")
@qf
def qfopen_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(2)
    f = _fs(ctx)
    drive, name = f.split(cmd.str(0))
    mode = cmd.int(1, 0, lo=0, hi=2)
    if f.is_open(drive, name):
        raise FileError(ALREADY_OPEN)
    if len(f.handles) >= f.max_open:
        raise FileError(TOO_MANY_OPEN)
    if mode == 2 and name not in drive.files:
        raise FileError(NOT_FOUND)
    if mode == 1 or name not in drive.files:
        drive.files[name] = bytearray()
        f.touched()
    number = f.next_handle
    f.next_handle += 1
    f.handles[number] = Handle(number, drive.name, name, read_only=mode == 2)
    return Reply(lines=(f"+QFOPEN: {number}",))


@T.set("+QFREAD")
@qf
def qfread_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(2)
    f = _fs(ctx)
    h = f.handle(cmd.int(0, lo=0))
    data = f.data_of(h)
    length = cmd.int(1, len(data), lo=0)
    chunk = bytes(data[h.position:h.position + length])
    h.position += len(chunk)
    return Reply(raw=f"\r\nCONNECT {len(chunk)}\r\n".encode() + chunk)


@T.set("+QFWRITE")
@qf
def qfwrite_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(3)
    f = _fs(ctx)
    h = f.handle(cmd.int(0, lo=0))
    length = cmd.int(1, 10240, lo=1)
    timeout = cmd.int(2, 5, lo=1, hi=65535)
    if h.read_only:
        raise FileError(READ_ONLY)
    drive = f.drives[h.drive]
    grows = max(0, h.position + length - len(f.data_of(h)))
    if grows > drive.free:
        raise FileError(NO_SPACE)
    token = f.upload = f.next_token()

    def expire(c: Context) -> None:
        if _fs(c).upload == token:
            _fs(c).upload = 0
            c.abort_data(Reply(final=CmeError(TIME_OUT)))
    timer = [ctx.later(timeout, expire, "qfwrite-timeout")]

    def progress(c: Context) -> None:  # inactivity timeout: a byte arrived, wait <timeout> again
        timer[0].cancel()
        timer[0] = c.later(timeout, expire, "qfwrite-timeout")

    def on_data(chunk: bytes, c: Context) -> Reply:
        timer[0].cancel()
        _fs(c).upload = 0
        try:
            data = _fs(c).data_of(h)
        except FileError as exc:
            return Reply(final=CmeError(exc.code))
        data[h.position:h.position + len(chunk)] = chunk
        h.position += len(chunk)
        _fs(c).touched()
        return Reply(lines=(f"+QFWRITE: {len(chunk)},{len(data)}",))

    return Reply(final=None, prompt=Prompt(on_data, length=length, echo=False, text=b"\r\nCONNECT\r\n",
                                           on_progress=progress))


@T.set("+QFSEEK")
@qf
def qfseek_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(3)
    f = _fs(ctx)
    h = f.handle(cmd.int(0, lo=0))
    offset = cmd.int(1)
    origin = cmd.int(2, 0, lo=0, hi=2)
    size = len(f.data_of(h))
    target = (0, h.position, size)[origin] + offset
    if target < 0:
        raise FileError(INVALID_PARAM)
    if target > size:
        raise FileError(LARGER_THAN_FILE)
    h.position = target
    return Reply()


@T.set("+QFPOSITION")
@qf
def qfposition_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    h = _fs(ctx).handle(cmd.int(0, lo=0))
    return Reply(lines=(f"+QFPOSITION: {h.position}",))


@T.set("+QFTUCAT")
@qf
def qftucat_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    f = _fs(ctx)
    h = f.handle(cmd.int(0, lo=0))
    if h.read_only:
        raise FileError(READ_ONLY)
    del f.data_of(h)[h.position:]
    f.touched()
    return Reply()


@T.set("+QFCLOSE")
@qf
def qfclose_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    f = _fs(ctx)
    h: Handle = f.handle(cmd.int(0, lo=0))
    del f.handles[h.number]
    return Reply()


@T.test("+QFOPEN", "+QFREAD", "+QFWRITE", "+QFSEEK", "+QFPOSITION", "+QFTUCAT", "+QFCLOSE")
def qf_handles_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply()
