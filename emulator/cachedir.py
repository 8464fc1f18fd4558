"""Where modemu keeps what it may reuse across runs (the AT grammars' Lark tables, the plug-in
entry points): ``$MODEMU_CACHE_DIR``, else ``$XDG_CACHE_HOME/modemu``, else ``~/.cache/modemu``.
``MODEMU_CACHE_DIR=off`` (or ``0``/``no``) disables every cache; a directory that cannot be made
does too.

Must not: decide what is cached or how a cache is checked (at/grammar.py, entrypoints.py do).
"""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_dir() -> Path | None:
    root = os.environ.get("MODEMU_CACHE_DIR", "").strip()
    if root.lower() in ("off", "0", "no"):
        return None
    base = Path(root) if root else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "modemu"
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return base
