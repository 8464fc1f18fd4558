"""The module's file system as plain data: drives (UFS, RAM), files, open handles, checksums.

A Quectel module keeps user files (certificates, firmware pieces) in its flash (``UFS``) and,
on some models, in ``RAM``. Names may carry the drive (``"UFS:ca.pem"``, ``"RAM:x"``); a bare
name is on UFS [doc: Quectel BG96 FILE AT Commands Manual V1.0 §1.2]. UFS files live in the
modem's NV memory (``ctx.nvm["ufs"]``: they survive AT+CFUN=1,1 and power cycles, and the
serve layer may keep them in a state directory across runs); RAM files go with a reboot.

Checksum of ``+QFUPL``/``+QFDWL`` (FILE manual §2.5 "checksum": XOR of the data taken as 16-bit
words; real units print it as lower-case hex without leading zeros, ``+QFUPL: 1939,4f64``):
big-endian words, an odd last byte is the high byte of a word whose low byte is 0.

Must not: do I/O or know AT syntax (``quectel_file.py`` / ``quectel_file_handles.py`` do).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, MutableMapping

# +CME ERROR codes of the FILE commands [doc: BG96 FILE AT Commands Manual V1.0 ch. 4]
INVALID_INPUT, LARGER_THAN_FILE, READ_ZERO, DRIVE_FULL = 400, 401, 402, 403
NOT_FOUND, INVALID_NAME, ALREADY_EXISTS, WRITE_FAILED = 405, 406, 407, 409
OPEN_FAILED, READ_FAILED, TOO_MANY_OPEN, READ_ONLY = 410, 411, 413, 414
INVALID_HANDLE, LIST_FAILED, DELETE_FAILED, DISK_INFO_FAILED = 416, 417, 418, 419
NO_SPACE, TIME_OUT, TOO_LARGE, INVALID_PARAM, ALREADY_OPEN = 420, 421, 423, 425, 426

MAX_NAME = 80  # "The maximum length of <filename> is 80 bytes" [doc: FILE manual §2.5]
BAD_CHARS = set('\\/:*?"<>|')
NVM_KEY = "ufs"
NVM_VERSION = "ufs_version"  # bumped on every change: the serve layer saves a state directory then


def checksum(data: bytes) -> str:
    """The FILE manual's checksum, as the module prints it (``4f64``, ``d35``, ``0``)."""
    value = 0
    for i in range(0, len(data) - 1, 2):
        value ^= (data[i] << 8) | data[i + 1]
    if len(data) % 2:
        value ^= data[-1] << 8
    return format(value, "x")


class FileError(Exception):
    """A FILE command failed with ``+CME ERROR: <code>``."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Drive:
    name: str
    total: int
    reserved: int  # bytes the firmware itself uses: a fresh module reports total - reserved free
    files: MutableMapping[str, bytearray]

    @property
    def used(self) -> int:
        return sum(len(v) for v in self.files.values())

    @property
    def free(self) -> int:
        return max(0, self.total - self.reserved - self.used)


@dataclass
class Handle:
    number: int
    drive: str
    name: str
    read_only: bool
    position: int = 0


@dataclass
class FileSystem:
    drives: dict[str, Drive]
    handles: dict[int, Handle] = field(default_factory=dict)
    max_open: int = 4
    next_handle: int = 1
    upload: int = 0  # token of the upload/write whose data phase is open (0: none)
    token: int = 0
    nvm: MutableMapping[str, Any] = field(default_factory=dict)

    def touched(self) -> None:
        """A file was created, changed or deleted."""
        self.nvm[NVM_VERSION] = self.nvm.get(NVM_VERSION, 0) + 1

    def split(self, text: str) -> tuple[Drive, str]:
        """``"UFS:name"`` / ``"RAM:name"`` / ``"name"`` -> (drive, name); 406 if not valid."""
        drive, sep, name = text.partition(":")
        if not sep:
            drive, name = "UFS", text
        drv = self.drives.get(drive.upper())
        if (drv is None or not name or len(name) > MAX_NAME or BAD_CHARS & set(name) or name.strip() != name
                or name in (".", "..")):
            raise FileError(INVALID_NAME)
        return drv, name

    def pattern(self, text: str) -> tuple[list[Drive], re.Pattern[str]]:
        """A list/delete pattern (``"*"``, ``"UFS:*.pem"``): the drives it covers and a regex."""
        drive, sep, pat = text.partition(":")
        if sep:
            drv = self.drives.get(drive.upper())
            if drv is None:
                raise FileError(INVALID_NAME)
            drives = [drv]
        else:
            drives, pat = [self.drives["UFS"]], text
        if not pat:
            raise FileError(INVALID_NAME)
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pat)
        return drives, re.compile(regex + r"\Z")

    def is_open(self, drive: Drive, name: str) -> bool:
        return any(h.drive == drive.name and h.name == name for h in self.handles.values())

    def handle(self, number: int) -> Handle:
        h = self.handles.get(number)
        if h is None:
            raise FileError(INVALID_HANDLE)
        return h

    def data_of(self, h: Handle) -> bytearray:
        data = self.drives[h.drive].files.get(h.name)
        if data is None:  # deleted behind the handle's back (cannot happen: delete refuses)
            raise FileError(READ_FAILED)
        return data

    def next_token(self) -> int:
        self.token += 1
        return self.token


def make_fs(nvm: MutableMapping[str, Any], defaults: MutableMapping[str, Any]) -> FileSystem:
    """The module's file system: UFS files from NV memory, an empty RAM drive when the
    module has one (``fs_ram_total`` in its data file)."""
    ufs_files = nvm.setdefault(NVM_KEY, {})
    drives = {"UFS": Drive("UFS", int(defaults.get("fs_ufs_total", 14483456)),
                           int(defaults.get("fs_ufs_reserved", 1600064)), ufs_files)}
    if defaults.get("fs_ram_total"):
        drives["RAM"] = Drive("RAM", int(defaults["fs_ram_total"]), 0, {})
    return FileSystem(drives, max_open=int(defaults.get("fs_max_open", 4)), nvm=nvm)
