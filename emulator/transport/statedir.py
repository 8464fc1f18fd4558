"""The modems' non-volatile files on disk across runs: ``modemu serve --state-dir DIR``.

A module's UFS files live in its NV memory (``ctx.nvm["ufs"]``, ``quectel_file_store.py``),
which outlives AT+CFUN=1,1 and power cycles but not the process. With a state directory each
modem's UFS is ``DIR/<modem name>/ufs/<file name>``: read into NV memory once the modems are up,
written back whenever a file command changed something (the file system bumps
``ctx.nvm["ufs_version"]``; checked after each modem drain) and at shutdown. Writes are atomic
(temporary file + rename); a file the module deleted is deleted on disk.

Must not: touch anything outside DIR, or reach into a modem beyond its NV memory.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, MutableMapping

from ..errors import ConfigError
from ..modules.handlers.quectel_file_store import NVM_KEY, NVM_VERSION

if TYPE_CHECKING:  # pragma: no cover
    from .runner import Emulator

log = logging.getLogger("modemu.statedir")


class StateDir:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._nvms: dict[str, MutableMapping[str, Any]] = {}
        self._saved: dict[str, int] = {}
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"--state-dir {root}: {exc.strerror}") from None

    def attach(self, emulator: "Emulator") -> None:
        """Load every modem's files and save them whenever they change."""
        for name, port in emulator.ports.items():
            nvm = port.modem.ctx.nvm
            self._nvms[name] = nvm
            self.load(name, nvm)
            self._saved[name] = nvm.get(NVM_VERSION, 0)
        emulator.on_activity(self.save_changed)

    def _dir(self, name: str) -> Path:
        return self.root / name / "ufs"

    def load(self, name: str, nvm: MutableMapping[str, Any]) -> None:
        files = nvm.setdefault(NVM_KEY, {})
        folder = self._dir(name)
        if not folder.is_dir():
            return
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.startswith(".tmp-"):
                files[path.name] = bytearray(path.read_bytes())
        log.info("%s: %d file(s) from %s", name, len(files), folder)

    def save_changed(self) -> None:
        for name, nvm in self._nvms.items():
            version = nvm.get(NVM_VERSION, 0)
            if version != self._saved.get(name):
                self.save(name, nvm)
                self._saved[name] = version

    def save_all(self) -> None:
        for name, nvm in self._nvms.items():
            self.save(name, nvm)

    def save(self, name: str, nvm: MutableMapping[str, Any]) -> None:
        files: MutableMapping[str, bytearray] = nvm.get(NVM_KEY, {})
        folder = self._dir(name)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for fname, data in list(files.items()):
                target = folder / fname
                if target.is_file() and target.read_bytes() == data:
                    continue
                tmp = folder / f".tmp-{fname}"
                tmp.write_bytes(bytes(data))
                os.replace(tmp, target)
            for path in folder.iterdir():
                if path.is_file() and path.name not in files:
                    path.unlink()
        except OSError as exc:  # a full disk must not take the port down
            log.warning("%s: cannot save files to %s: %s", name, folder, exc)
