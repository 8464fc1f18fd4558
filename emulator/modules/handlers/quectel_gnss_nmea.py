"""NMEA 0183 sentences and ``+QGPSLOC`` position fields for the emulated GNSS receiver.

Sentences are built and checksummed with ``pynmea2`` (GGA, RMC, GSV, GSA, VTG); an unfixed
receiver prints the empty forms real units print indoors (``$GPGGA,,,,,,0,,,,,,,,*66``).
``loc_fields(mode, ...)`` renders the ``+QGPSLOC`` value in the three layouts of the Quectel
BG96 GNSS AT Commands Manual V1.1 (AT+QGPSLOC): mode 0 ``ddmm.mmmmN``, mode 1
``ddmm.mmmmmm,N``, mode 2 signed decimal degrees with 5 decimals.

Must not: hold state, read the clock or know where a sentence goes.
"""

from __future__ import annotations

from datetime import datetime


from .quectel_gnss_track import Fix

KNOTS_PER_KMH = 1 / 1.852
# AT+QGPSCFG="gpsnmeatype" bits [doc: BG96 GNSS AT Commands Manual V1.1, AT+QGPSCFG]
NMEA_BITS = (("GGA", 1), ("RMC", 2), ("GSV", 4), ("GSA", 8), ("VTG", 16))


def _dm(value: float, deg_digits: int, decimals: int) -> str:
    a = abs(value)
    deg = int(a)
    minutes = round((a - deg) * 60, decimals)
    if minutes >= 60:
        deg, minutes = deg + 1, 0.0
    return f"{deg:0{deg_digits}d}{minutes:0{3 + decimals}.{decimals}f}"


def lat_dm(lat: float, decimals: int = 4) -> tuple[str, str]:
    return _dm(lat, 2, decimals), "N" if lat >= 0 else "S"


def lon_dm(lon: float, decimals: int = 4) -> tuple[str, str]:
    return _dm(lon, 3, decimals), "E" if lon >= 0 else "W"


def loc_fields(mode: int, fix: Fix, when: datetime, hdop: float, nsat: int) -> str:
    utc = f"{when:%H%M%S}.{when.microsecond // 100000}"
    if mode == 2:
        pos = f"{fix.lat:.5f},{fix.lon:.5f}"
    elif mode == 1:
        (la, ns), (lo, ew) = lat_dm(fix.lat, 6), lon_dm(fix.lon, 6)
        pos = f"{la},{ns},{lo},{ew}"
    else:
        (la, ns), (lo, ew) = lat_dm(fix.lat), lon_dm(fix.lon)
        pos = f"{la}{ns},{lo}{ew}"
    return (f"{utc},{pos},{hdop:.1f},{fix.alt:.1f},3,{fix.cog:.2f},{fix.speed_kmh:.1f},"
            f"{fix.speed_kmh * KNOTS_PER_KMH:.1f},{when:%d%m%y},{nsat:02d}")


def sentences(kind: str, fix: Fix | None, when: datetime, hdop: float, nsat: int) -> list[str]:
    """The ``$GP<kind>`` sentence(s) for ``fix`` (None: no fix yet)."""
    import pynmea2  # ~15 ms: loaded with the first sentence, not when a modem boots
    utc = f"{when:%H%M%S}.00"
    if kind == "GGA":
        if fix is None:
            fields = ("", "", "", "", "", "0", "", "", "", "", "", "", "", "")
        else:
            (la, ns), (lo, ew) = lat_dm(fix.lat), lon_dm(fix.lon)
            fields = (utc, la, ns, lo, ew, "1", f"{nsat:02d}", f"{hdop:.1f}", f"{fix.alt:.1f}", "M",
                      "0.0", "M", "", "")
        return [str(pynmea2.GGA("GP", "GGA", fields))]
    if kind == "RMC":
        if fix is None:
            fields = ("", "V", "", "", "", "", "", "", "", "", "", "N")
        else:
            (la, ns), (lo, ew) = lat_dm(fix.lat), lon_dm(fix.lon)
            fields = (utc, "A", la, ns, lo, ew, f"{fix.speed_kmh * KNOTS_PER_KMH:.1f}", f"{fix.cog:.1f}",
                      f"{when:%d%m%y}", "", "", "A")
        return [str(pynmea2.RMC("GP", "RMC", fields))]
    if kind == "VTG":
        if fix is None:
            fields = ("", "T", "", "M", "", "N", "", "K", "N")
        else:
            fields = (f"{fix.cog:.1f}", "T", "", "M", f"{fix.speed_kmh * KNOTS_PER_KMH:.1f}", "N",
                      f"{fix.speed_kmh:.1f}", "K", "A")
        return [str(pynmea2.VTG("GP", "VTG", fields))]
    if kind == "GSA":
        if fix is None:
            fields = ("A", "1") + ("",) * 12 + ("", "", "")
        else:
            prns = tuple(f"{p:02d}" for p in range(1, nsat + 1))[:12]
            fields = ("A", "3") + prns + ("",) * (12 - len(prns)) + (f"{hdop * 1.5:.1f}", f"{hdop:.1f}", "1.0")
        return [str(pynmea2.GSA("GP", "GSA", fields))]
    if kind == "GSV":
        n = nsat if fix is not None else 0
        if n == 0:
            return [str(pynmea2.GSV("GP", "GSV", ("1", "1", "00")))]
        # ASSUMPTION: invented but plausible satellites (elevation, azimuth, SNR); no sky model
        sats = [(f"{p:02d}", f"{(17 * p) % 80 + 5:02d}", f"{(47 * p) % 360:03d}", f"{30 + (7 * p) % 20}")
                for p in range(1, n + 1)]
        total = (n + 3) // 4
        out = []
        for i in range(total):
            chunk = [f for sat in sats[4 * i:4 * i + 4] for f in sat]
            out.append(str(pynmea2.GSV("GP", "GSV", (str(total), str(i + 1), f"{n:02d}", *chunk))))
        return out
    raise ValueError(kind)
