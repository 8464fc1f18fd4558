"""``modemu serve`` as a subprocess, for the end-to-end tests and benches: start it with ephemeral
ports, its own ready file, link dir (the pty links) and console API on 127.0.0.1, wait (bounded)
until the ready file appears, stop it with a signal (killed after a bound). One helper for every
test that needs a real serve, so each does not re-implement the start/wait/stop dance.

Must not: talk AT or HTTP to the serve (the tests and their libraries do), stub any part of it,
sleep on the wall clock for protocol timers (the only wait is the bounded one for the ready file),
or let the serve listen beyond loopback (``--ephemeral-ports`` and ``--api 127.0.0.1:0``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

# The folder that holds the ``emulator`` package (the checkout's root when run from a checkout):
# put on the child's PYTHONPATH so it runs this very code.
ROOT = Path(__file__).resolve().parents[2]


def serve_env(base: dict[str, str] | None = None, **extra: str) -> dict[str, str]:
    """``base`` (default: this process's environment) with ROOT first on PYTHONPATH, plus ``extra``."""
    base = dict(os.environ if base is None else base)
    return {**base, "PYTHONPATH": str(ROOT) + os.pathsep + base.get("PYTHONPATH", ""), **extra}


class Serve:
    """A running ``modemu serve``: its process, the ready file's contents, the link dir."""

    def __init__(self, proc: subprocess.Popen, info: dict, links: Path, ready: Path) -> None:
        self.proc, self.info, self.links, self.ready = proc, info, links, ready

    def pty(self, name: str) -> str:
        """The pty link of modem ``name`` (in the link dir)."""
        return str(self.links / name)

    def stop(self, wall: float = 10.0, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` (if still running) and wait up to ``wall`` seconds, then kill; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(wall)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def start_serve(tmp: Path, *args: str, env: dict[str, str] | None = None, links: Path | None = None,
                stdout: int | IO[Any] | None = subprocess.DEVNULL, wall: float = 30.0) -> Serve:
    """Start ``modemu serve <args>`` in ``tmp`` (ready file ``tmp/ready.json``, link dir ``links``
    or ``tmp/links``) and return once it is ready. AssertionError, with the serve's stderr, when it
    exits first; killed and AssertionError when it is not ready within ``wall`` seconds."""
    ready, links = tmp / "ready.json", links or tmp / "links"
    ready.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--ephemeral-ports",
                             "--ready-file", str(ready), "--link-dir", str(links), "--api", "127.0.0.1:0",
                             *args], cwd=tmp, env=env or serve_env(), stdout=stdout, stderr=subprocess.PIPE)
    deadline = time.monotonic() + wall
    while not ready.exists():
        if proc.poll() is not None:
            raise AssertionError(f"serve exited {proc.returncode}: {proc.stderr.read().decode()}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise AssertionError(f"serve did not write its ready file within {wall} s")
        time.sleep(0.02)
    return Serve(proc, json.loads(ready.read_text()), links, ready)
