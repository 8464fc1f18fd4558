"""python-gsmmodem-new (PyPI ``python-gsmmodem-new``, the babca fork of faucamp/python-gsmmodem)
driven for real against ``modemu serve``'s ptys: ``GsmModem.connect()`` (its whole init: ATZ,
CLAC, CSCA, CPMS, CNMI ...), the identity properties, an MO SMS that the console API then lists,
and an MT SMS posted to the console that reaches the library's ``smsReceivedCallback``.

Must not: replace the library's parsing with our own (we only read its results).
"""

from __future__ import annotations

import sys
import threading

import pytest

gsmmodem = pytest.importorskip("gsmmodem.modem")

pytestmark = [pytest.mark.pty, pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX ptys")]

MODEL = {"bg96": "BG96", "ec800e": "EC800E"}
OPERATOR = {"bg96": "SKTelecom", "ec800e": "CHN-CT"}


@pytest.mark.parametrize("module", ["bg96", "ec800e"])
def test_connect_identity_and_sms_both_ways(serve_factory, module):
    served = serve_factory("--module", module, "--no-backends")
    received: list = []
    got = threading.Event()

    def on_sms(sms):
        received.append(sms)
        got.set()

    modem = gsmmodem.GsmModem(served.pty(module), 115200, smsReceivedCallbackFunc=on_sms)
    deleted = threading.Event()
    library_delete = modem.deleteStoredSms

    def delete_then_note(*args, **kwargs):  # the library deletes the SMS after the callback
        library_delete(*args, **kwargs)
        deleted.set()
    modem.deleteStoredSms = delete_then_note
    modem.connect()  # raises on any init step the library treats as fatal
    try:
        # --- identity, parsed by the library's own properties
        assert modem.manufacturer == "Quectel"
        assert modem.model == MODEL[module]
        assert modem.revision.startswith(MODEL[module])
        ident = next(m for m in served.api("GET", "/api/modems") if m["name"] == module)
        assert modem.imei == ident["imei"]
        assert modem.imsi == ident["imsi"]
        assert modem.networkName == OPERATOR[module]
        assert 0 < modem.signalStrength < 99
        assert modem.smsc and modem.smsc.startswith("+")
        commands = modem.supportedCommands  # AT+CLAC, as the library splits it
        assert commands and "+CMGS" in commands and "+CSCA" in commands
        assert modem.waitForNetworkCoverage(timeout=10) > 0

        # --- MO SMS (PDU mode): the network records it, the console API lists it
        # waitForDeliveryReport: the SMSC's status report (+CDSI, read back by the library) is
        # handled before the next step, so two notification handlers never share the port
        sent = modem.sendSms("+821012345678", "hello from python-gsmmodem",
                             waitForDeliveryReport=True, deliveryTimeout=15)
        assert sent.status == sent.DELIVERED and sent.report.reference == sent.reference
        listed = served.api("GET", f"/api/modems/{module}/sms")
        assert [(s["to"], s["text"]) for s in listed] == [("+821012345678", "hello from python-gsmmodem")]
        assert listed[0]["ts"]

        # --- MT SMS from the console: +CMTI -> the library reads it (CPMS, CMGR, CMGD)
        answer = served.api("POST", f"/api/modems/{module}/sms",
                            {"from": "+821099998888", "text": "hi from the console"})
        assert answer["status"] == "delivered"
        assert got.wait(15), "smsReceivedCallback was not called"
        sms = received[0]
        assert sms.number == "+821099998888"
        assert sms.text == "hi from the console"
        assert deleted.wait(15), "the library did not delete the read SMS (AT+CMGD)"
        assert modem.write('AT+CPMS?')[0].startswith('+CPMS: "ME",0,')
    finally:
        modem.close()
