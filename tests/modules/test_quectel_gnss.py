"""BG96 GNSS, sans-IO: AT+QGPSCFG/QGPS/QGPSEND/QGPSLOC/QGPSGNMEA forms and errors, the time to
first fix on the virtual clock, track replay (GPX and NMEA), NMEA checksums checked by pynmea2."""

from __future__ import annotations

import pynmea2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.modules.handlers.quectel_gnss import GnssPosition, GnssTrack, NmeaOut, NmeaPortReady
from emulator.modules.handlers.quectel_gnss_nmea import lat_dm, lon_dm
from emulator.modules.handlers.quectel_gnss_track import TrackError, parse_track
from emulator.testing.sansio import make_harness

NMEA_LOG = """$GPGGA,120000.00,3730.0000,N,12700.0000,E,1,08,1.0,20.0,M,0.0,M,,*{c1}
$GPRMC,120000.00,A,3730.0000,N,12700.0000,E,0.0,0.0,010524,,,A*{c2}
$GPGGA,120010.00,3730.6000,N,12700.0000,E,1,08,1.0,30.0,M,0.0,M,,*{c3}
"""


def _nmea_log() -> str:
    lines = []
    for line in NMEA_LOG.strip().splitlines():
        body = line[1:line.index("*")]
        lines.append(str(pynmea2.parse("$" + body)))  # pynmea2 computes the checksum
    return "\n".join(lines) + "\n"


def _bg96():
    h = make_harness("bg96", testkit=False)
    assert h.send("AT+CMEE=1\r") == b"\r\nOK\r\n"
    return h


def test_session_errors_and_time_to_first_fix() -> None:
    h = _bg96()
    assert h.send("AT+QGPSLOC=2\r") == b"\r\n+CME ERROR: 505\r\n"
    assert h.send("AT+QGPSEND\r") == b"\r\n+CME ERROR: 505\r\n"
    assert h.send("AT+QGPS=1\r") == b"\r\nOK\r\n"
    assert h.send("AT+QGPS?\r") == b"\r\n+QGPS: 1\r\n\r\nOK\r\n"
    assert h.send("AT+QGPS=1\r") == b"\r\n+CME ERROR: 504\r\n"
    assert h.send("AT+QGPS=5\r") == b"\r\n+CME ERROR: 501\r\n"
    ttff = h.ctx.defaults["gnss_ttff"]
    h.advance(ttff - 0.5)
    assert h.send("AT+QGPSLOC=2\r") == b"\r\n+CME ERROR: 516\r\n"
    h.advance(1.0)
    pos = h.ctx.defaults["gnss_position"]
    out = h.send("AT+QGPSLOC=2\r").decode()
    fields = out.strip().split("\r\n")[0].split(": ", 1)[1].split(",")
    assert (float(fields[1]), float(fields[2]), float(fields[4])) == pytest.approx(
        (pos["lat"], pos["lon"], pos["alt"]), abs=1e-5)
    assert h.send("AT+QGPSLOC=3\r") == b"\r\n+CME ERROR: 501\r\n"
    assert h.send("AT+QGPSEND\r") == b"\r\nOK\r\n"
    assert h.send("AT+QGPS?\r") == b"\r\n+QGPS: 0\r\n\r\nOK\r\n"


def test_loc_modes_render_one_position() -> None:
    h = _bg96()
    h.stim(GnssPosition(-22.98486, -43.35916, 4.0))
    h.send("AT+QGPS=1\r")
    h.advance(60)
    def loc(line: str) -> list[str]:
        out = h.send(line).decode()
        assert out.startswith("\r\n+QGPSLOC: ") and out.endswith("\r\n\r\nOK\r\n"), out
        return out.strip().split("\r\n")[0].split(": ", 1)[1].split(",")
    m0, m1, m2 = loc("AT+QGPSLOC=0\r"), loc("AT+QGPSLOC=1\r"), loc("AT+QGPSLOC?\r")
    assert m0[1] == "2259.0916S" and m0[2] == "04321.5496W"
    assert m1[1:5] == ["2259.091600", "S", "04321.549600", "W"]
    assert m2[1:3] == m0[1:3]  # the read form answers in mode-0 layout
    assert m0[-1] == "08" and len(m0[-2]) == 6  # nsat 2 digits, date ddmmyy


def test_gnmea_needs_nmeasrc_and_sentences_check() -> None:
    h = _bg96()
    h.send("AT+QGPS=1\r")
    assert h.send('AT+QGPSGNMEA="GGA"\r') == b"\r\n+CME ERROR: 507\r\n"
    assert h.send('AT+QGPSCFG="nmeasrc",1\r') == b"\r\nOK\r\n"
    assert h.send('AT+QGPSCFG="nmeasrc"\r') == b'\r\n+QGPSCFG: "nmeasrc",1\r\n\r\nOK\r\n'
    assert h.send('AT+QGPSGNMEA="GGA"\r') == b"\r\n+QGPSGNMEA: $GPGGA,,,,,,0,,,,,,,,*66\r\n\r\nOK\r\n"
    h.advance(60)
    for kind in ("GGA", "RMC", "GSV", "GSA", "VTG"):
        out = h.send(f'AT+QGPSGNMEA="{kind}"\r').decode()
        for line in out.split("\r\n"):
            if line.startswith("+QGPSGNMEA: "):
                msg = pynmea2.parse(line.split(": ", 1)[1], check=True)
                assert type(msg).__name__ == kind
    assert h.send('AT+QGPSGNMEA="XXX"\r') == b"\r\n+CME ERROR: 501\r\n"


def test_uartnmea_streams_the_selected_sentences_every_fixrate() -> None:
    h = _bg96()
    assert h.send('AT+QGPSCFG="outport","uartnmea"\r') == b"\r\nOK\r\n"
    assert h.send('AT+QGPSCFG="outport"\r') == b'\r\n+QGPSCFG: "outport","uartnmea",115200\r\n\r\nOK\r\n'
    assert h.send('AT+QGPSCFG="gpsnmeatype",3\r') == b"\r\nOK\r\n"  # GGA + RMC
    h.send("AT+QGPS=1,30,50,0,2\r")
    out = h.advance(2.0).decode()
    assert [ln[:6] for ln in out.split("\r\n") if ln] == ["$GPGGA", "$GPRMC"]
    assert h.advance(1.0) == b""
    h.send("AT+QGPSEND\r")
    assert h.advance(10.0) == b""


def test_usbnmea_default_goes_to_the_nmea_port_not_the_at_port() -> None:
    h = _bg96()
    h.send("AT+QGPS=1\r")
    assert h.advance(60.0) == b""
    outs = [e for e in h.other if isinstance(e, NmeaOut)]
    assert outs[0].sentences == ()  # AT+QGPS=1 opens the port
    assert len(outs) == 61  # one burst a second (fixrate 1)
    assert all({x[3:6] for x in o.sentences} == {"GGA", "RMC", "GSV", "GSA", "VTG"} for o in outs[1:])
    assert len(outs[1].sentences) == 5 and len(outs[-1].sentences) == 6  # fixed: 8 satellites in 2 GSV
    h.stim(NmeaPortReady(4711))
    assert h.ctx.state.gnss.nmea_port == 4711
    assert h.send('AT+QGPSCFG="outport","none"\r') == b"\r\nOK\r\n"
    h.advance(5.0)
    assert len([e for e in h.other if isinstance(e, NmeaOut)]) == 61


def test_nmea_track_replays_and_moves() -> None:
    track = parse_track(_nmea_log())
    assert [p.t for p in track.points] == [0.0, 10.0]
    assert track.points[0].alt == 20.0
    h = _bg96()
    h.stim(GnssTrack(track))
    h.send("AT+QGPS=1\r")
    h.advance(30.0)  # past the end of the 10 s track: standing at its last point
    fields = h.send("AT+QGPSLOC=2\r").decode().strip().split("\r\n")[0].split(": ", 1)[1].split(",")
    assert float(fields[1]) == pytest.approx(37.51) and float(fields[4]) == pytest.approx(30.0)
    mid = track.at(5.0)
    assert mid.lat == pytest.approx(37.505) and mid.cog == pytest.approx(0.0, abs=1e-6)
    assert mid.speed_kmh == pytest.approx(0.01 * 111.195 * 360, rel=1e-3)


def test_bad_track_text_is_a_clear_error() -> None:
    for text in ("", "hello", "<gpx><trk></trk></gpx>", "<?xml version='1.0'?><gpx"):
        with pytest.raises(TrackError):
            parse_track(text)


@settings(max_examples=200, deadline=None)
@given(st.floats(-89.99999, 89.99999), st.floats(-179.99999, 179.99999))
def test_degree_minutes_round_trip_through_pynmea2(lat: float, lon: float) -> None:
    la, ns = lat_dm(lat)
    lo, ew = lon_dm(lon)
    msg = pynmea2.GGA("GP", "GGA", ("120000.00", la, ns, lo, ew, "1", "08", "1.0", "0.0", "M", "0.0", "M", "", ""))
    back = pynmea2.parse(str(msg), check=True)
    assert back.latitude == pytest.approx(lat, abs=2e-6) and back.longitude == pytest.approx(lon, abs=2e-6)


def test_ec800e_has_no_gnss() -> None:
    h = make_harness("ec800e", testkit=False)
    assert h.send("AT+QGPS=1\r") == b"\r\nERROR\r\n"
