"""MQTT peers for tests: an amqtt broker, a mosquitto broker, a paho client, a scripted broker.

All bind or dial 127.0.0.1 only, on ephemeral ports. ``ScriptedBroker`` is a deliberately
bad broker (it can refuse to CONNACK, PUBACK or PINGRESP) for timer tests; it decodes with
amqtt's packet classes, like the client under test, but answers from a script.

Must not: be imported by the emulator itself (tests and benchmarks only).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

from amqtt.adapters import StreamReaderAdapter
from amqtt.mqtt import packet_class
from amqtt.mqtt.connack import ConnackPacket
from amqtt.mqtt.connect import ConnectPacket
from amqtt.mqtt.packet import MQTTFixedHeader
from amqtt.mqtt.pingreq import PingReqPacket
from amqtt.mqtt.pingresp import PingRespPacket
from amqtt.mqtt.puback import PubackPacket
from amqtt.mqtt.publish import PublishPacket
from amqtt.mqtt.suback import SubackPacket
from amqtt.mqtt.subscribe import SubscribePacket
from amqtt.plugins.base import BaseAuthPlugin


class PasswordAuth(BaseAuthPlugin):
    """amqtt auth plugin: accept exactly one user name / password pair (CONNACK 5 otherwise)."""

    async def authenticate(self, *, session: Any) -> bool:
        return session.username == self.config.username and session.password == self.config.password

    @dataclass
    class Config:
        username: str = "user"
        password: str = "secret"


def self_signed_cert(directory: Path, hostname: str) -> tuple[Path, Path]:
    """Write a self-signed certificate for ``hostname`` (and its key) as PEM; returns (cert, key)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / f"{hostname}.crt", directory / f"{hostname}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@contextlib.asynccontextmanager
async def amqtt_broker(credentials: tuple[str, str] | None = None,
                       tls: tuple[Path, Path] | None = None) -> AsyncIterator[tuple[Any, int]]:
    """An in-process amqtt broker on 127.0.0.1:0 (TLS with ``tls=(cert, key)``); yields (broker, port)."""
    from amqtt.broker import Broker
    listener: dict[str, Any] = {"type": "tcp", "bind": "127.0.0.1:0"}
    if tls is not None:
        listener.update(ssl=True, certfile=str(tls[0]), keyfile=str(tls[1]))
    plugins: dict[str, Any] = {"amqtt.plugins.authentication.AnonymousAuthPlugin": {}}
    if credentials is not None:
        plugins = {f"{__name__}.PasswordAuth": {"username": credentials[0], "password": credentials[1]}}
    broker = Broker({"listeners": {"default": listener}, "plugins": plugins})
    await broker.start()
    port = broker._servers["default"].instance.sockets[0].getsockname()[1]  # noqa: SLF001 - no public accessor
    try:
        yield broker, port
    finally:
        with contextlib.suppress(Exception):
            await broker.shutdown()


def paho_connack(address: tuple[str, int], client_id: str, user: str, password: str | None = None,
                 wall: float = 20.0) -> int:
    """One paho-mqtt CONNECT to ``address`` (blocking: run it in a thread from async code);
    the CONNACK's return code. AssertionError if none comes within ``wall`` seconds."""
    import threading

    import paho.mqtt.client as mqtt
    got: list[int] = []
    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    client.username_pw_set(user, password)

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        got.append(reason.value)
        done.set()
    client.on_connect = on_connect
    client.connect(*address, keepalive=60)
    client.loop_start()
    try:
        assert done.wait(wall), "no CONNACK"
    finally:
        client.disconnect()
        client.loop_stop()
    return got[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def mosquitto_broker() -> Iterator[int]:
    """A real mosquitto on 127.0.0.1:<free port>; yields the port. Caller skips when missing."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        raise FileNotFoundError("mosquitto")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                    break
                if proc.poll() is not None:
                    raise RuntimeError(f"mosquitto exited: {proc.stderr.read().decode() if proc.stderr else ''}")
                time.sleep(0.05)
            yield port
        finally:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)


class PahoPeer:
    """A paho-mqtt 2.x client on its own thread ("the application"); messages land in a queue."""

    def __init__(self, port: int, client_id: str = "app", username: str | None = None) -> None:
        import paho.mqtt.client as mqtt
        self.messages: queue.Queue = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        if username is not None:
            self.client.username_pw_set(username)
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload, m.qos, m.retain))
        self._subscribed: queue.Queue = queue.Queue()
        self.client.on_subscribe = lambda c, u, mid, rc, props: self._subscribed.put(mid)
        self._connected: queue.Queue = queue.Queue()
        self.client.on_connect = lambda c, u, flags, rc, props: self._connected.put(rc)
        self.client.connect("127.0.0.1", port, keepalive=60)
        self.client.loop_start()

    async def wait_connected(self) -> None:
        await _poll(lambda: not self._connected.empty(), "CONNACK")

    # The broker under test may run on the caller's event loop: never block it, poll instead.
    async def subscribe(self, topic: str, qos: int = 0) -> None:
        self.client.subscribe(topic, qos)
        await _poll(lambda: not self._subscribed.empty(), "SUBACK")
        self._subscribed.get_nowait()

    async def publish(self, topic: str, payload: bytes | str, qos: int = 0, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos, retain)
        await _poll(info.is_published, "publish")

    async def next_message(self, timeout: float = 5.0) -> tuple[str, bytes, int, bool]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return self.messages.get_nowait()
            except queue.Empty:
                await asyncio.sleep(0.01)
        raise TimeoutError("no MQTT message arrived")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


async def _poll(pred: Any, what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(f"paho: no {what}")
        await asyncio.sleep(0.01)


@dataclass
class ScriptedBroker:
    """A broker that answers only what it is told to: CONNACK code (None = never), PUBACK,
    SUBACK and PINGRESP on/off. Every packet it receives is recorded in ``received``."""

    connack: int | None = 0
    puback: bool = True
    suback: bool = True
    pingresp: bool = True
    received: list = field(default_factory=list)
    port: int = 0
    _server: Any = None
    _writers: list = field(default_factory=list)

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        for w in self._writers:
            w.transport.abort()
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    def kinds(self) -> list[str]:
        return [type(p).__name__.replace("Packet", "") for p in self.received]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        adapter = StreamReaderAdapter(reader)
        with contextlib.suppress(Exception, asyncio.CancelledError):  # ends quietly on EOF or teardown
            while (fixed := await MQTTFixedHeader.from_stream(adapter)) is not None:
                packet = await packet_class(fixed).from_stream(adapter, fixed_header=fixed)
                self.received.append(packet)
                reply = self._answer(packet)
                if reply is not None:
                    writer.write(reply.to_bytes())
        writer.close()

    def _answer(self, packet: Any) -> Any:
        if isinstance(packet, ConnectPacket) and self.connack is not None:
            return ConnackPacket.build(0, self.connack)
        if isinstance(packet, PublishPacket) and packet.qos == 1 and self.puback:
            return PubackPacket.build(packet.packet_id)
        if isinstance(packet, SubscribePacket) and self.suback:
            return SubackPacket.build(packet.variable_header.packet_id, [q for _, q in packet.payload.topics])
        if isinstance(packet, PingReqPacket) and self.pingresp:
            return PingRespPacket.build()
        return None
