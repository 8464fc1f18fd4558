"""Room for a fleet, checked before anything starts: ptys left in the kernel, file descriptors.

``check_room(ptys, sockets)`` raises one clear :class:`ConfigError` (the CLI exits 2) when the
kernel's pty limit (``/proc/sys/kernel/pty/max`` minus ``nr`` minus ``PTY_MARGIN`` for the rest of
the machine) or the process's file-descriptor limit cannot hold them, and raises the soft
``RLIMIT_NOFILE`` up to the hard one when that is enough. ``MODEMU_PTY_MAX`` overrides the
kernel's ``max`` (tests simulate a small machine with it; it can only lower what is used, never
let more ptys be made than the kernel has).

Must not: open a pty or a socket, or change anything but this process's soft fd limit.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConfigError

PTY_MARGIN = 32  # ptys left for everybody else on the machine (terminals, ssh, other emulators)
FDS_PER_PTY = 2  # master + the slave we keep open (pty.py)
FD_MARGIN = 256  # the loop, platforms' listeners, the API, logs, clients
PTY_PROC = Path("/proc/sys/kernel/pty")


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def ptys_left() -> tuple[int, str] | None:
    """(ptys this process may still make, where that figure comes from) or None if unknown."""
    kernel_max, in_use = _read_int(PTY_PROC / "max"), _read_int(PTY_PROC / "nr")
    override = os.environ.get("MODEMU_PTY_MAX", "").strip()
    if override:
        if not override.isdigit():
            raise ConfigError(f"MODEMU_PTY_MAX must be a whole number (got {override!r})")
        kernel_max = int(override) if kernel_max is None else min(int(override), kernel_max)
    if kernel_max is None:
        return None
    in_use = in_use or 0
    left = kernel_max - in_use - PTY_MARGIN
    return left, f"pty max {kernel_max}, in use {in_use}, kept free {PTY_MARGIN}"


def check_room(ptys: int, sockets: int = 0) -> None:
    """Refuse a fleet the machine cannot hold, before a single pty or socket is made."""
    if ptys:
        room = ptys_left()
        if room is not None and ptys > room[0]:
            raise ConfigError(f"{ptys} modems need {ptys} ptys but only {max(0, room[0])} are free "
                              f"({room[1]}); start fewer, or raise kernel.pty.max (sysctl)")
    need = ptys * FDS_PER_PTY + sockets + FD_MARGIN
    try:
        import resource
    except ImportError:  # pragma: no cover - not Linux
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and need > soft:
        if hard != resource.RLIM_INFINITY and need > hard:
            raise ConfigError(f"{ptys} ptys and {sockets} TCP ports need about {need} file descriptors; "
                              f"the limit is {hard} (ulimit -Hn): start fewer modems")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need if hard == resource.RLIM_INFINITY else min(need * 2, hard), hard))
