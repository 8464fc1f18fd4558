"""The issue's "done when" for the file system and TLS, end to end through a REAL pty.

``python -m emulator serve --module bg96`` runs as a subprocess with the embedded platforms and a
route ``echo.test:4443`` to a TLS echo server this test runs (its CA and server certificate are
made here with ``cryptography``); pyserial is the host. A BG96 uploads the CA with AT+QFUPL,
opens a TLS socket with seclevel 1 and echoes bytes; a CA that did not sign the server gives
``+QSSLOPEN: <id>,566``; seclevel 2 presents the uploaded client certificate to a server that
requires one; and AT+QMT* over TLS reaches the embedded ThingPlug broker on 8883 with the CA the
console API hands out. Exact bytes, echo on (ATE1 is the power-on default).
"""

from __future__ import annotations

import datetime
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from emulator.testing.ptyline import PtyLine
from emulator.testing.serve import start_serve

serial = pytest.importorskip("serial")
x509 = pytest.importorskip("cryptography.x509")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

pytestmark = [pytest.mark.pty, pytest.mark.skipif(sys.platform == "win32", reason="POSIX ptys")]


# --- certificates ------------------------------------------------------------------------------
def _name(cn: str) -> "x509.Name":
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn: str):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


def issue(ca, cn: str, server: bool):
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca_cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


# --- a TLS echo server -------------------------------------------------------------------------
class EchoServer:
    """TLS echo on 127.0.0.1:0 in a thread; ``client_ca`` set: a client certificate is required.
    ``peers`` lists the CN of each client certificate it saw."""

    def __init__(self, tmp: Path, cert, key, client_ca=None) -> None:
        (tmp / "srv.pem").write_bytes(pem(cert))
        (tmp / "srv.key").write_bytes(key_pem(key))
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(tmp / "srv.pem", tmp / "srv.key")
        if client_ca is not None:
            self.ctx.verify_mode = ssl.CERT_REQUIRED
            self.ctx.load_verify_locations(cadata=pem(client_ca).decode())
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.peers: list[str] = []
        self.stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._echo, args=(raw,), daemon=True).start()

    def _echo(self, raw: socket.socket) -> None:
        try:
            with self.ctx.wrap_socket(raw, server_side=True) as conn:
                peer = conn.getpeercert()
                if peer:
                    self.peers.append(dict(x[0] for x in peer["subject"])["commonName"])
                while data := conn.recv(4096):
                    conn.sendall(data)
        except (OSError, ssl.SSLError):
            pass

    def close(self) -> None:
        self.stop = True
        self.sock.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pki")
    ca, other = make_ca("modemu test CA"), make_ca("some other CA")
    server = EchoServer(tmp, *issue(ca, "echo.test", server=True))
    mutual = EchoServer(tmp, *issue(ca, "mutual.test", server=True), client_ca=ca[0])
    client_cert, client_key = issue(ca, "bg96-device-1", server=False)
    yield {"ca": pem(ca[0]), "other": pem(other[0]), "echo": server, "mutual": mutual,
           "client_cert": pem(client_cert), "client_key": key_pem(client_key)}
    server.close()
    mutual.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory, pki):
    srv = start_serve(tmp_path_factory.mktemp("serve-tls"), "--module", "bg96",
                      "--route", f"echo.test:4443=127.0.0.1:{pki['echo'].port}",
                      "--route", f"mutual.test:4443=127.0.0.1:{pki['mutual'].port}")
    yield srv.info, srv.links
    srv.stop(5)


class Line(PtyLine):
    """The host's side of the pty, plus the FILE upload dance."""

    def upload(self, name: str, data: bytes) -> bytes:
        """AT+QFUPL="<name>",<size>, the bytes after CONNECT; returns the +QFUPL line."""
        line = f'AT+QFUPL="{name}",{len(data)},10'.encode()
        self.ser.write(line + b"\r")
        self.expect(line + b"\r\r\nCONNECT\r\n")
        self.ser.write(data)
        deadline = time.monotonic() + 10
        while not self.buf.endswith(b"\r\nOK\r\n") and time.monotonic() < deadline:
            self.buf += self.ser.read(max(1, self.ser.in_waiting))
        out, self.buf = self.buf, b""
        return out


def _line(served) -> Line:
    info, links = served
    return Line(str(links / "bg96"))


def qf_checksum(data: bytes) -> str:
    """The FILE manual's checksum, computed here independently: XOR of big-endian 16-bit words."""
    padded = data + b"\0" * (len(data) % 2)
    value = 0
    for hi, lo in zip(padded[::2], padded[1::2]):
        value ^= hi << 8 | lo
    return f"{value:x}"


def test_upload_ca_and_echo_over_tls(served, pki) -> None:
    line = _line(served)
    line.at('AT+QFDEL="*"')
    ca = pki["ca"]
    assert line.upload("ca.pem", ca) == f"\r\n+QFUPL: {len(ca)},{qf_checksum(ca)}\r\n\r\nOK\r\n".encode()
    line.at('AT+QFLST="*"', f'+QFLST: "ca.pem",{len(ca)}')
    line.at('AT+QSSLCFG="cacert",1,"ca.pem"')
    line.at('AT+QSSLCFG="seclevel",1,1')
    line.at('AT+QSSLCFG="seclevel",1', '+QSSLCFG: "seclevel",1,1')
    line.at("AT+QIACT=1")
    line.at('AT+QSSLOPEN=1,1,4,"echo.test",4443,0')
    line.expect(b"\r\n+QSSLOPEN: 4,0\r\n")
    line.at("AT+QSSLSTATE=4", '+QSSLSTATE: 4,"SSLClient","echo.test",4443,0,2,1,4,0,"uart1",1')
    line.ser.write(b"AT+QSSLSEND=4,15\r")
    line.expect(b"AT+QSSLSEND=4,15\r\r\n> ")
    line.ser.write(b"modemu-TLS-echo")
    line.expect(b"modemu-TLS-echo\r\nSEND OK\r\n")
    line.expect(b'\r\n+QSSLURC: "recv",4\r\n')
    line.ser.write(b"AT+QSSLRECV=4,1500\r")
    line.expect(b"AT+QSSLRECV=4,1500\r\r\n+QSSLRECV: 15\r\nmodemu-TLS-echo\r\n\r\nOK\r\n")
    line.at("AT+QSSLRECV=4,1500", "+QSSLRECV: 0")
    line.at("AT+QSSLCLOSE=4")
    line.at("AT+QSSLSTATE")


def test_a_ca_that_did_not_sign_the_server_fails_with_566(served, pki) -> None:
    line = _line(served)
    line.upload("other.pem", pki["other"])
    line.at('AT+QSSLCFG="cacert",2,"other.pem"')
    line.at('AT+QSSLCFG="seclevel",2,1')
    line.at("AT+QIACT=1")
    line.at('AT+QSSLOPEN=1,2,5,"echo.test",4443,0')
    line.expect(b"\r\n+QSSLOPEN: 5,566\r\n")
    line.at("AT+QSSLSTATE=5")  # a failed open leaves nothing behind
    line.at('AT+QSSLCFG="seclevel",2,0')  # no verification: the same server is fine
    line.at('AT+QSSLOPEN=1,2,5,"echo.test",4443,0')
    line.expect(b"\r\n+QSSLOPEN: 5,0\r\n")
    line.at("AT+QSSLCLOSE=5")


def test_seclevel_2_presents_the_uploaded_client_certificate(served, pki) -> None:
    line = _line(served)
    line.at("AT+QIACT=1")
    line.upload("mca.pem", pki["ca"])
    line.at('AT+QSSLCFG="cacert",3,"mca.pem"')
    line.at('AT+QSSLCFG="seclevel",3,1')
    line.at('AT+QSSLOPEN=1,3,6,"mutual.test",4443,0')  # no client certificate: refused
    line.expect(b"\r\n+QSSLOPEN: 6,566\r\n", timeout=15)
    line.upload("client.pem", pki["client_cert"])
    line.upload("client.key", pki["client_key"])
    line.at('AT+QSSLCFG="clientcert",3,"client.pem"')
    line.at('AT+QSSLCFG="clientkey",3,"client.key"')
    line.at('AT+QSSLCFG="seclevel",3,2')
    line.at('AT+QSSLOPEN=1,3,6,"mutual.test",4443,1')  # direct push this time
    line.expect(b"\r\n+QSSLOPEN: 6,0\r\n")
    line.ser.write(b"AT+QSSLSEND=6,4\r")
    line.expect(b"AT+QSSLSEND=6,4\r\r\n> ")
    line.ser.write(b"ping")
    line.expect(b"ping\r\nSEND OK\r\n")
    line.expect(b'\r\n+QSSLURC: "recv",6,4\r\nping\r\n')
    assert "bg96-device-1" in pki["mutual"].peers
    line.at("AT+QSSLCLOSE=6")


def test_mqtt_over_tls_to_thingplug_with_the_uploaded_ca(served) -> None:
    info, _ = served
    with urllib.request.urlopen(f"{info['api']}/api/platforms/thingplug/ca.pem", timeout=5) as resp:
        ca = resp.read()
    assert ca.startswith(b"-----BEGIN CERTIFICATE-----")
    line = _line(served)
    line.at("AT+QIACT=1")
    line.upload("tp-ca.pem", ca)
    line.at('AT+QSSLCFG="cacert",0,"tp-ca.pem"')
    line.at('AT+QSSLCFG="seclevel",0,1')
    line.at('AT+QMTCFG="ssl",0,1,0')
    line.at('AT+QMTOPEN=0,"test.sktiot.com",8883')
    line.expect(b"\r\n+QMTOPEN: 0,0\r\n")
    line.at('AT+QMTCONN=0,"smartlight001","a0149f60b---------"')
    line.expect(b"\r\n+QMTCONN: 0,0,0\r\n")
    line.at("AT+QMTDISC=0")
    line.expect(b"\r\n+QMTDISC: 0,0\r\n")


def test_mqtt_over_tls_to_ctwing_with_its_ca_and_the_api_errors(served) -> None:
    info, _ = served
    with urllib.request.urlopen(f"{info['api']}/api/platforms/ctwing/ca.pem", timeout=5) as resp:
        ca = resp.read()
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{info['api']}/api/platforms/nosuch/ca.pem", timeout=5)
    assert err.value.code == 404
    line = _line(served)
    line.at("AT+QIACT=1")
    line.upload("ct-ca.pem", ca)
    line.at('AT+QSSLCFG="cacert",4,"ct-ca.pem"')
    line.at('AT+QSSLCFG="seclevel",4,1')
    line.at('AT+QMTCFG="ssl",1,1,4')
    line.at('AT+QMTOPEN=1,"mqtt.ctwing.cn",8883')
    line.expect(b"\r\n+QMTOPEN: 1,0\r\n")
    line.at("AT+QMTCLOSE=1")
    line.expect(b"\r\n+QMTCLOSE: 1,0\r\n")


def test_transparent_tls_echo_and_escape(served, pki) -> None:
    line = _line(served)
    line.at("AT+QIACT=1")
    line.at('AT+QSSLCFG="seclevel",5,0')
    line.ser.write(b'AT+QSSLOPEN=1,5,7,"echo.test",4443,2\r')
    line.expect(b'AT+QSSLOPEN=1,5,7,"echo.test",4443,2\r\r\nCONNECT\r\n')
    line.ser.write(b"raw bytes\x1a\x1b\r\n")  # the line is the TLS stream: echoed by the peer only
    line.expect(b"raw bytes\x1a\x1b\r\n")
    time.sleep(1.2)  # the +++ escape needs 1 s of silence before and after (serve: wall-clock pace)
    line.ser.write(b"+++")
    line.expect(b"\r\nOK\r\n", timeout=5)
    line.at("AT+QSSLSTATE=7", '+QSSLSTATE: 7,"SSLClient","echo.test",4443,0,2,1,7,0,"uart1",5')
    line.at("AT+QSSLCLOSE=7")
