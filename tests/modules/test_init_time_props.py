"""Properties of the clock commands: whatever valid time and zone AT+CCLK sets reads back
unchanged, moves on with the virtual clock, and AT+QLTS=2 agrees with the network's zone."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.testing.sansio import make_harness

H = make_harness("bg96", testkit=False)

moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 1))  # +10 days stays in yy range
zones = st.integers(min_value=-48, max_value=56)


def _cclk(t: datetime, tz: int) -> str:
    return f'{t:%y/%m/%d,%H:%M:%S}{"-" if tz < 0 else "+"}{abs(tz):02d}'


@settings(max_examples=150, deadline=None)
@given(moments, zones, st.integers(min_value=0, max_value=10 * 86400))
def test_cclk_set_reads_back_and_runs_on_the_virtual_clock(t: datetime, tz: int, later: int) -> None:
    t = t.replace(microsecond=0)
    assert H.send(f'AT+CCLK="{_cclk(t, tz)}"\r') == b"\r\nOK\r\n"
    assert H.send("AT+CCLK?\r") == f'\r\n+CCLK: "{_cclk(t, tz)}"\r\n\r\nOK\r\n'.encode()
    H.advance(later)
    H.take()
    assert H.send("AT+CCLK?\r") == f'\r\n+CCLK: "{_cclk(t + timedelta(seconds=later), tz)}"\r\n\r\nOK\r\n'.encode()


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=400 * 86400))
def test_qlts_local_is_utc_plus_the_network_zone(later: int) -> None:
    h = make_harness("ec800e", testkit=False)
    h.advance(later)
    h.take()
    utc = h.send("AT+QLTS=1\r").split(b'"')[1].decode()
    loc = h.send("AT+QLTS=2\r").split(b'"')[1].decode()
    assert utc.endswith("+32,0") and loc.endswith("+32,0")
    parse = lambda s: datetime.strptime(s[:19], "%Y/%m/%d,%H:%M:%S")  # noqa: E731
    assert parse(loc) - parse(utc) == timedelta(hours=8)
