"""BG96 GNSS end to end through a REAL pty: ``modemu serve --gnss-track FILE`` replays a GPX track
on the virtual clock; the host sees ``+CME ERROR: 516`` until the first fix, then AT+QGPSLOC fixes
that move as the console advances the clock, and checksummed NMEA on the module's NMEA port
(a ``socket://`` URL read with pyserial); ``POST /api/modems/bg96/gnss`` moves the receiver.
Expected positions are interpolated here from the GPX points, independently of the emulator.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path

import pynmea2
import pytest

import importlib.util

_spec = importlib.util.spec_from_file_location("_serve_pty_helpers", Path(__file__).with_name("test_serve_pty.py"))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)  # the pty helpers (start_server, command ...) of test_serve_pty
_link, command, open_port = _helpers._link, _helpers.command, _helpers.open_port
start_server, stop_server = _helpers.start_server, _helpers.stop_server

serial = pytest.importorskip("serial")
pytestmark = [pytest.mark.pty, pytest.mark.skipif(sys.platform == "win32", reason="POSIX ptys")]

LAT0, LON0, STEP = 37.50000, 127.00000, 0.01  # north by 0.01 degree a minute
GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="modemu-test" xmlns="http://www.topografix.com/GPX/1/1">
 <trk><trkseg>
{points}
 </trkseg></trk>
</gpx>
"""


def _gpx() -> str:
    pts = [f'  <trkpt lat="{LAT0 + STEP * i:.5f}" lon="{LON0:.5f}"><ele>{10 + i}</ele>'
           f'<time>2024-05-01T00:{i:02d}:00Z</time></trkpt>' for i in range(6)]
    return GPX.format(points="\n".join(pts))


def _post(api: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(api + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def _now(api: str) -> float:
    with urllib.request.urlopen(api + "/api/clock", timeout=5) as resp:
        return json.loads(resp.read())["now"]


def _loc2(ser) -> tuple[float, float, float]:
    lines = command(ser, "AT+QGPSLOC=2")
    assert lines[-1] == "OK" and lines[0].startswith("+QGPSLOC: "), lines
    fields = lines[0].split(": ", 1)[1].split(",")
    return float(fields[1]), float(fields[2]), float(fields[4])


@pytest.fixture
def gnss_server(tmp_path: Path):
    track = tmp_path / "drive.gpx"
    track.write_text(_gpx())
    proc, info, links = start_server(tmp_path, "--module", "bg96", "--gnss-track", str(track))
    yield info, links
    if proc.poll() is None:
        stop_server(proc)


def test_track_replay_gives_moving_fixes(gnss_server) -> None:
    info, links = gnss_server
    api = info["api"]
    with open_port(_link(links, "bg96")) as ser:
        assert command(ser, "ATE0")[-1] == "OK"
        assert command(ser, "AT+CMEE=1") == ["OK"]
        assert command(ser, "AT+QGPSLOC=2") == ["+CME ERROR: 505"]  # no session yet
        assert command(ser, "AT+QGPS=1") == ["OK"]
        start = _now(api)
        assert command(ser, "AT+QGPSLOC=2") == ["+CME ERROR: 516"]  # time to first fix runs
        seen = []
        for _ in range(3):
            _post(api, "/api/clock/advance", {"seconds": 50})
            lat, lon, alt = _loc2(ser)
            t = _now(api) - start  # the track started at power-on, a little before AT+QGPS
            assert lon == pytest.approx(LON0, abs=1e-5)
            # linear between points 60 s apart; a few wall seconds of slack either way
            assert LAT0 + STEP * (t - 5) / 60 <= lat <= LAT0 + STEP * (t + 30) / 60 + 1e-5
            seen.append(lat)
        assert seen[0] < seen[1] < seen[2]
        # the NMEA port ("usbnmea", the default outport), read as a serial URL with pyserial
        with urllib.request.urlopen(api + "/api/modems/bg96/gnss", timeout=5) as resp:
            url = json.loads(resp.read())["nmea_port"]
        nmea = serial.serial_for_url(url, timeout=5)
        try:
            time.sleep(0.1)  # the listener takes the reader on
            _post(api, "/api/clock/advance", {"seconds": 2})
            msgs = [pynmea2.parse(nmea.readline().decode().strip(), check=True) for _ in range(8)]
        finally:
            nmea.close()
        gga = [m for m in msgs if type(m).__name__ == "GGA"]
        assert gga and gga[0].gps_qual == 1 and abs(gga[0].latitude - seen[2]) < STEP
        mode0 = command(ser, "AT+QGPSLOC=0")[0]
        assert mode0.startswith("+QGPSLOC: ") and "N,12700.0000E," in mode0
        _post(api, "/api/clock/advance", {"seconds": 400})  # past the end: standing at the last point
        lat, _lon, alt = _loc2(ser)
        assert lat == pytest.approx(LAT0 + STEP * 5, abs=1e-5) and alt == pytest.approx(15.0)
        # the console puts the receiver elsewhere
        where = _post(api, "/api/modems/bg96/gnss", {"lat": -22.98486, "lon": -43.35916, "alt": 4.0})
        assert where["position"]["lat"] == pytest.approx(-22.98486)
        assert _loc2(ser) == (-22.98486, -43.35916, 4.0)
        assert command(ser, "AT+QGPSEND") == ["OK"]
        assert command(ser, "AT+QGPSEND") == ["+CME ERROR: 505"]
