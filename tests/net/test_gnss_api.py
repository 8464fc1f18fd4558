"""``/api/modems/{name}/gnss`` in-process (httpx over ASGI, the rig of conftest.py): a position
and a track reach the BG96's receiver (read back with AT+QGPSLOC), bad bodies are 422, a modem
without GNSS or an unknown modem is 404 with one clear line."""

from __future__ import annotations

import httpx
import pytest

from emulator.api.app import create_app

pytestmark = pytest.mark.slow


def _loc(out: bytes) -> list[str]:
    return out.decode().strip().split("\r\n")[0].split(": ", 1)[1].split(",")


async def test_position_track_and_errors(rig):
    emu, _peers, hosts = rig
    h = hosts["bg96"]
    app = create_app(emu)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        r = await client.post("/api/modems/bg96/gnss", json={"lat": 35.1796, "lon": 129.0756, "alt": 12.5})
        assert r.status_code == 200 and r.json()["position"]["lat"] == pytest.approx(35.1796)
        assert await h.at("AT+QGPS=1") == b"\r\nOK\r\n"
        await emu.advance_live(31)
        assert (await client.get("/api/modems/bg96/gnss")).json()["fixed"] is True
        assert _loc(await h.at("AT+QGPSLOC=2"))[1:3] == ["35.17960", "129.07560"]
        r = await client.post("/api/modems/bg96/gnss", json={"track": [
            {"t": 0, "lat": 10.0, "lon": 20.0}, {"t": 100, "lat": 11.0, "lon": 20.0, "alt": 100}]})
        assert r.status_code == 200
        await emu.advance_live(50)
        fields = _loc(await h.at("AT+QGPSLOC=2"))
        assert fields[1:3] == ["10.50000", "20.00000"] and fields[4] == "50.0"
        for body in ({"lat": 91, "lon": 0}, {"lon": 0}, {"track": []},
                     {"track": [{"t": 5, "lat": 1, "lon": 1}, {"t": 1, "lat": 1, "lon": 1}]}):
            r = await client.post("/api/modems/bg96/gnss", json=body)
            assert r.status_code == 422, body
        r = await client.post("/api/modems/ec800e/gnss", json={"lat": 1, "lon": 2})
        assert r.status_code == 404 and "no GNSS" in r.json()["detail"]
        r = await client.get("/api/modems/nosuch/gnss")
        assert r.status_code == 404 and "no modem" in r.json()["detail"]


async def test_usbnmea_port_streams_checksummed_sentences(rig):
    import asyncio

    import pynmea2

    from emulator.testing.host import until
    emu, _peers, hosts = rig
    h = hosts["bg96"]
    app = create_app(emu)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        await client.post("/api/modems/bg96/gnss", json={"lat": -33.8568, "lon": 151.2153, "alt": 5})
        assert (await client.get("/api/modems/bg96/gnss")).json()["nmea_port"] is None
        assert await h.at('AT+QGPSCFG="gpsnmeatype",1') == b"\r\nOK\r\n"  # GGA only
        assert await h.at("AT+QGPS=1") == b"\r\nOK\r\n"
        state = emu.ports["bg96"].modem.state.gnss
        await until(lambda: state.nmea_port, what="the NMEA port")
        url = (await client.get("/api/modems/bg96/gnss")).json()["nmea_port"]
        assert url == f"socket://127.0.0.1:{state.nmea_port}"
        reader, writer = await asyncio.open_connection("127.0.0.1", state.nmea_port)
        await asyncio.sleep(0.05)  # the listener registers the reader
        await emu.advance_live(1)
        first = pynmea2.parse((await asyncio.wait_for(reader.readline(), 5)).decode().strip(), check=True)
        assert first.gps_qual == 0  # no fix yet: the empty GGA
        await emu.advance_live(31)
        lines = []
        while True:
            line = (await asyncio.wait_for(reader.readline(), 5)).decode()
            assert line.endswith("\r\n")
            lines.append(pynmea2.parse(line.strip(), check=True))
            if lines[-1].gps_qual:
                break
        assert all(type(m).__name__ == "GGA" for m in lines)
        assert (lines[-1].latitude, lines[-1].longitude) == (pytest.approx(-33.8568, abs=1e-5),
                                                             pytest.approx(151.2153, abs=1e-5))
        assert await h.quiet(0.05) == b""  # nothing on the AT port
        writer.close()
