"""hologram-python (PyPI ``hologram-python``) driven for real against ``modemu serve``'s pty:
its ``BG96`` class (Hologram/Network/Modem/BG96.py -> Quectel.py -> Modem.py) initialises the
module with its own ``init_serial_commands`` and then uses its AT-socket methods —
``create_socket`` (PDP context), ``connect_socket`` (``AT+QIOPEN`` in direct-push mode 1),
``send_message`` (``AT+QISENDEX`` hex chunks, the answer from ``+QIURC: "recv",<id>,<len>`` +
data line) and ``close_socket`` — against a loopback TCP echo server reached through a route.

Without real hardware the library cannot find a port by USB id (pyudev) or dial PPP; the
class is constructed with ``device_name`` = the pty, which is its own documented way
("only provide a device_name if you dont want it to be autodetected"). Everything above the
serial port is the library's code.
Must not: parse the AT traffic ourselves (the library does).
"""

from __future__ import annotations

import sys

import pytest

BG96 = pytest.importorskip("Hologram.Network.Modem.BG96").BG96

pytestmark = [pytest.mark.pty, pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX ptys")]

HOST, PORT = "echo.modemu.test", 7007


def test_bg96_init_and_socket_round_trip(serve_factory, echo_server, caplog):
    served = serve_factory("--module", "bg96", "--no-backends",
                           "--route", f"{HOST}:{PORT}=127.0.0.1:{echo_server.port}")
    modem = BG96(device_name=served.pty("bg96"), baud_rate="115200")  # runs init_serial_commands
    try:
        assert modem.serial_port.is_open
        # its own view of the module after init (each a real AT exchange it parses)
        assert modem.is_registered() is True
        ident = next(m for m in served.api("GET", "/api/modems") if m["name"] == "bg96")
        assert modem.imsi == ident["imsi"]
        assert modem._is_pdp_context_active() is True

        modem.create_socket()                  # PDP context already up: no QICSGP/QIACT
        modem.connect_socket(HOST, PORT)       # AT+QIOPEN=1,0,"TCP",...,0,1 (direct push)
        payload = b"hello from hologram-python"  # one text line: it reads the data with readline
        answer = modem.send_message(payload)   # QISENDEX; waits for the recv URC + data line
        assert answer == payload.decode()
        assert bytes(echo_server.received) == payload
        assert modem.last_read_payload_length == len(payload)

        modem.close_socket()                   # AT+QICLOSE, then its BG96 PDP tear-down
        assert modem.urc_state == modem.SOCKET_CLOSED
        # BG96._tear_down_pdp_context sends AT+QIACT=0 (contextID 0 is outside 1-16): the module
        # answers ERROR and the library logs it, as it would on a real BG96
        assert "PDP Context tear down failed" in caplog.text
    finally:
        modem.closeSerialPort()
