"""A throw-away self-signed certificate for the CTWing MQTT TLS listener (port 8883).

The product page lists ``TLS:2000033383.non-nb.ctwing.cn:8883`` next to the plain 1883 access
(guide 001 §4.2.1). Modules usually connect with certificate checking off (seclevel 0); a client
that checks can trust the generated ``ca.pem``. The validity window is fixed (2020-2099) so no
clock is read.

Must not: be used for anything but loopback test traffic.
"""

from __future__ import annotations

import datetime
import ipaddress
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NAMES = ("mqtt.ctwing.cn", "2000033383.non-nb.ctwing.cn", "localhost")


def make_self_signed(directory: str | None = None) -> tuple[Path, Path]:
    """Write cert.pem / key.pem for NAMES and 127.0.0.1 into ``directory`` (a new temp dir by default)."""
    where = Path(directory or tempfile.mkdtemp(prefix="modemu-ctwing-tls-"))
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAMES[0]),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "modemu emulated CTWing")])
    alt = x509.SubjectAlternativeName([*(x509.DNSName(n) for n in NAMES),
                                       x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc))
            .not_valid_after(datetime.datetime(2099, 12, 31, tzinfo=datetime.timezone.utc))
            .add_extension(alt, critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = where / "cert.pem", where / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
