"""ModemHarness and the ``modem`` pytest fixture."""

import re

import pytest

from emulator.testing.harness import ModemHarness



@pytest.mark.modem(module="bg96")
def test_fixture_gives_a_bg96(modem):
    modem.send("AT+CGMM")
    modem.expect("BG96", "OK")
    caps = modem.command("AT+CGSN", "{sn:\\d{15}}", "OK")
    assert caps["sn"] == modem.variables["imei"]
    modem.command("AT+CGSN=1", '+CGSN: "{sn}"', "OK")


@pytest.mark.modem("ec800e", overrides={"powerdown_delay": 30})
async def test_fixture_in_an_async_test_with_virtual_time(modem):
    modem.command("AT+QPOWD")
    modem.expect_none("29s")
    modem.expect("POWERED DOWN", within="5s")


def test_harness_strictness():
    with ModemHarness("ec800e") as h:
        h.send("AT+CPIN?")
        with pytest.raises(AssertionError, match=r"unexpected line '\+CPIN: READY'"):
            h.expect("OK")
        h.drain()
    h = ModemHarness("ec800e").start()
    h.send("AT")
    with pytest.raises(AssertionError, match="unexpected output after the last step"):
        h.close()
    with ModemHarness("ec800e", skip_boot=False) as h:
        h.expect("RDY", "+CFUN: 1", re.compile(r"\+CPIN: (READY|SIM PIN)"), allow_other=True)
        assert "+QIND: PB DONE" in h.drain()
        h.send("AT+CEREG=1")
        h.expect("OK")
        h.control(network="detach")
        h.expect_urc("+CEREG: 2")
        h.advance("1d")
        h.drain()  # whatever the module says after a day is read here
        assert h.now >= 1_700_086_400


def test_unread_output_fails_the_fixture_teardown(pytester):
    pytester.makeconftest(
        "from importlib.metadata import entry_points\n"
        "P = 'emulator.testing.pytest_plugin'\n"
        "pytest_plugins = [] if any(e.value == P for e in entry_points(group='pytest11')) else [P]\n")
    pytester.makepyfile("""
        import pytest

        @pytest.mark.modem(module="amm5918k")
        def test_forgets_to_read(modem):
            modem.send("AT")

        @pytest.mark.modem(module="amm5918k")
        def test_reads(modem):
            modem.command("AT")

        @pytest.mark.modem(module="amm5918k")
        def test_fails_itself(modem):
            modem.send("AT")
            assert False
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1, errors=1)
    result.stdout.fnmatch_lines(["*unexpected output after the last step*"])
