"""Start-up imports: booting the four modem profiles and the runner loads no library that is only
needed later (issue 14: the ready file waits for every import before it).

``importlib.metadata`` (and the ``email`` package under it) is not loaded once the entry-point
cache is warm; smspdudecoder/bitstring load with the first SMS PDU, gpxpy and pynmea2 with the
first GNSS track or sentence. Must not: time anything (figures are in ``bench startup``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LATER = ("importlib.metadata", "email", "smspdudecoder", "bitstring", "gpxpy", "pynmea2", "urllib.request")
CHECK = f"""
import sys
from emulator.cli import main
assert main(["modules"]) == 0
import emulator.serve, emulator.transport.runner
from emulator.modules import load_module, available_modules
for name in available_modules():
    load_module(name)
print("LOADED", sorted(m for m in {LATER!r} if m in sys.modules))
"""


def test_booting_the_profiles_imports_nothing_needed_only_later(tmp_path: Path) -> None:
    env = dict(os.environ, MODEMU_CACHE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    first = subprocess.run([sys.executable, "-c", CHECK], env=env, cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
    assert first.returncode == 0, first.stderr
    assert "importlib.metadata" in first.stdout  # the first start scans (and writes the cache)
    again = subprocess.run([sys.executable, "-c", CHECK], env=env, cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0, again.stderr
    assert "LOADED []" in again.stdout, again.stdout


def test_the_lazy_libraries_still_load_on_use() -> None:
    from datetime import datetime

    from emulator.modules.handlers import quectel_gnss_nmea, sms_codec
    assert sms_codec.fits_gsm7("hello") and not sms_codec.fits_gsm7("\u4e2d")
    assert quectel_gnss_nmea.sentences("GGA", None, datetime(2026, 1, 1), 1.0, 0)[0].startswith("$GPGGA")
