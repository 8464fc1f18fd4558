"""The ``emulator.modules`` / ``emulator.backends`` entry points, cached on disk across runs.

Third parties plug modules and platforms in through these entry-point groups. Reading them
scans every installed distribution's metadata, and ``importlib.metadata`` imports the ``email``
package to do it: ~0.1 s of every ``modemu serve`` start on a loaded machine. With a cache dir
set (``modemu`` sets the user one, cachedir.py, as its first step), both groups are kept in
one JSON file keyed by what can change them: ``sys.path`` itself, the ``*.dist-info`` /
``*.egg-info`` names and mtimes in each entry (installing, upgrading or removing a distribution
changes them) and the Python version. A stale, unreadable or corrupt file is ignored (scanned again and rewritten); without a
cache dir every process scans once, as before.

Must not: import a plugin, or decide which names a registry knows (modules/, backends/ do).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

GROUPS = ("emulator.modules", "emulator.backends")
Found = dict[str, tuple[tuple[str, str], ...]]

_cache_dir: list[Path] = []  # set by the edge (serve), read at the first look-up


def set_cache_dir(path: Path | None) -> None:
    """Keep the entry points in ``path`` from the next scan on (None: no cache)."""
    _cache_dir[:] = [path] if path is not None else []
    _found.cache_clear()


def group(name: str) -> tuple[tuple[str, str], ...]:
    """``(name, "module:attr")`` of every entry point in ``name`` (one of GROUPS)."""
    return _found().get(name, ())


def cache_file(base: Path) -> Path:
    return base / f"entry-points-py{sys.version_info[0]}{sys.version_info[1]}.json"


def cache_key() -> list:
    """What the entry points depend on: the path entries (as resolved now) and, in each, the
    distributions' metadata (``*.dist-info`` / ``*.egg-info`` names and mtimes: installing,
    upgrading or removing one changes them). Not a directory's own mtime: the current directory
    is on the path, and a ready file written there would make every start a miss."""
    key: list = [sys.version, sys.prefix]
    for entry in sys.path:
        where = entry or os.getcwd()
        key.append([entry, where, _metadata_stamp(where)])
    return key


def _metadata_stamp(where: str) -> list | int | None:
    try:
        if not os.path.isdir(where):
            return os.stat(where).st_mtime_ns  # a zip file: its own mtime
        with os.scandir(where) as it:
            return sorted([e.name, e.stat().st_mtime_ns] for e in it
                          if e.name.endswith((".dist-info", ".egg-info")))
    except OSError:
        return None


def scan() -> Found:
    from importlib.metadata import entry_points
    every = entry_points()
    return {g: tuple((ep.name, ep.value) for ep in every.select(group=g)) for g in GROUPS}


@functools.cache  # once per process (fleets ask per modem)
def _found() -> Found:
    if not _cache_dir:
        return scan()
    path, key = cache_file(_cache_dir[0]), cache_key()
    cached = _read(path, key)
    if cached is not None:
        return cached
    found = scan()
    _write(path, {"key": key, "groups": {g: [list(p) for p in v] for g, v in found.items()}})
    return found


def _read(path: Path, key: list) -> Found | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["key"] != key:
            return None
        found = {g: tuple((str(n), str(v)) for n, v in data["groups"][g]) for g in GROUPS}
    except (OSError, ValueError, KeyError, TypeError):  # missing, unreadable or corrupt: scan
        return None
    return found


def _write(path: Path, data: dict) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:  # a read-only cache dir: scan next time too
        try:
            tmp.unlink()
        except OSError:
            pass
