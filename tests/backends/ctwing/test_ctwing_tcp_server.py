"""CTWing TCP access server over real loopback sockets, driven like the guide's EC800E session."""

import asyncio

import pytest

from emulator.backends.ctwing import tcp_codec as codec
from emulator.backends.ctwing.registry import Registry
from emulator.backends.ctwing.store import Store
from emulator.backends.ctwing.tcp_server import CtwingTcpServer
from emulator.core.clock import VirtualClock

pytestmark = pytest.mark.slow

DEVICE = "15436586863318069987727"
PASSWORD = "ny6f1tSA41DQUVPD6P8g4iOk9zWNg5LGa9LIzPymuE8"
GUIDE_LOGIN = bytes.fromhex(
    "0100173135343336353836383633333138303639393837373237002b"
    "6e7936663174534134314451555650443650386734694f6b397a574e67354c4761394c497a50796d754538"
    "0003312e30")


@pytest.fixture
async def env():
    clock = VirtualClock()
    registry = Registry.from_config()
    store = Store(clock, registry)
    server = CtwingTcpServer(registry, store, clock)
    host, port = await server.start("127.0.0.1", 0)
    yield clock, store, server, (host, port)
    await server.stop()


async def connect(addr):
    return await asyncio.open_connection(*addr)


async def read_exactly(reader, n):
    return await asyncio.wait_for(reader.readexactly(n), 5)


async def closed(reader):
    data = await asyncio.wait_for(reader.read(100), 5)
    return data == b""


async def login(addr):
    reader, writer = await connect(addr)
    writer.write(GUIDE_LOGIN)
    assert (await read_exactly(reader, 3)).hex() == "050000"
    return reader, writer


async def test_guide_session(env):
    clock, store, server, addr = env
    reader, writer = await login(addr)
    assert store.is_online(DEVICE)
    writer.write(bytes.fromhex("02000b68656c6c6f20776f726c64"))  # "hello world"
    writer.write(b"\x04")
    assert await read_exactly(reader, 1) == b"\x06"
    assert store.data(DEVICE)[0]["base64"] == "aGVsbG8gd29ybGQ="
    assert store.data(DEVICE)[0]["protocol"] == "tcp"
    cmd = store.queue_command(DEVICE, bytes.fromhex("72656365697665646d657373616765"))
    assert (await read_exactly(reader, 18)).hex() == "03000f72656365697665646d657373616765"
    assert cmd.status == "delivered"
    writer.close()
    await writer.wait_closed()
    await asyncio.sleep(0.05)
    assert not store.is_online(DEVICE)


async def test_commands_queued_while_offline_arrive_after_login(env):
    clock, store, server, addr = env
    a = store.queue_command(DEVICE, b"one")
    b = store.queue_command(DEVICE, b"two")
    assert a.status == b.status == "queued"
    reader, writer = await login(addr)
    assert await read_exactly(reader, 12) == b"\x03\x00\x03one\x03\x00\x03two"
    assert (a.status, b.status) == ("delivered", "delivered")
    writer.close()


async def test_login_split_byte_by_byte(env):
    clock, store, server, addr = env
    reader, writer = await connect(addr)
    for i in range(len(GUIDE_LOGIN)):
        writer.write(GUIDE_LOGIN[i:i + 1])
        await writer.drain()
    assert (await read_exactly(reader, 3)).hex() == "050000"
    writer.close()


async def test_wrong_password_is_3(env):
    clock, store, server, addr = env
    reader, writer = await connect(addr)
    # the screenshot's lower-case 'i' spelling is NOT the device's password (docs/guides.md)
    writer.write(codec.encode(codec.Login(DEVICE, PASSWORD.replace("LIz", "Liz"))))
    assert (await read_exactly(reader, 3)).hex() == "050003"
    assert await closed(reader)
    assert not store.is_online(DEVICE)


async def test_unknown_device_is_2(env):
    clock, store, server, addr = env
    reader, writer = await connect(addr)
    writer.write(codec.encode(codec.Login("15436586000000000000000", PASSWORD)))
    assert (await read_exactly(reader, 3)).hex() == "050002"
    assert await closed(reader)


async def test_mqtt_device_cannot_use_tcp(env):
    clock, store, server, addr = env
    reader, writer = await connect(addr)
    writer.write(codec.encode(codec.Login("16891291868543060025186",
                                          "nFSzM3tjRCOYygFWrlOb26eKsiwYtoRqgP862HcxVwU")))
    assert (await read_exactly(reader, 3)).hex() == "050002"


async def test_already_logged_in_is_4(env):
    clock, store, server, addr = env
    reader, writer = await login(addr)
    writer.write(GUIDE_LOGIN)  # same connection again
    assert (await read_exactly(reader, 3)).hex() == "050004"
    r2, w2 = await connect(addr)  # second connection while online elsewhere
    w2.write(GUIDE_LOGIN)
    assert (await read_exactly(r2, 3)).hex() == "050004"
    assert await closed(r2)
    assert store.is_online(DEVICE)  # the first session is untouched
    writer.write(b"\x04")
    assert await read_exactly(reader, 1) == b"\x06"
    writer.close()


async def test_wrong_version_is_1(env):
    clock, store, server, addr = env
    reader, writer = await connect(addr)
    writer.write(codec.encode(codec.Login(DEVICE, PASSWORD, "2.0")))
    assert (await read_exactly(reader, 3)).hex() == "050001"


async def test_data_before_login_closes(env):
    clock, store, server, addr = env
    reader, writer = await connect(addr)
    writer.write(bytes.fromhex("02000b68656c6c6f20776f726c64"))
    assert await closed(reader)
    assert store.data(DEVICE) == []


async def test_unknown_frame_type_closes(env):
    clock, store, server, addr = env
    reader, writer = await login(addr)
    writer.write(b"\x09\x00")
    assert await closed(reader)
    await asyncio.sleep(0.05)
    assert not store.is_online(DEVICE)


async def test_idle_300_virtual_seconds_closes_and_goes_offline(env):
    clock, store, server, addr = env
    reader, writer = await login(addr)
    clock.advance(299)
    writer.write(b"\x04")  # heartbeat re-arms the 5-minute timer
    assert await read_exactly(reader, 1) == b"\x06"
    clock.advance(299)
    assert store.is_online(DEVICE)
    writer.write(bytes.fromhex("020001aa"))  # uplink traffic re-arms too
    await asyncio.sleep(0.05)
    clock.advance(299.5)
    assert store.is_online(DEVICE)
    clock.advance(0.5)
    assert not store.is_online(DEVICE)
    assert await closed(reader)
    assert store.registry.device_by_id(DEVICE).last_offline == clock.now()


async def test_idle_before_login_closes(env):
    clock, store, server, addr = env
    reader, writer = await connect(addr)
    await asyncio.sleep(0.05)
    clock.advance(300)
    assert await closed(reader)


async def test_relogin_after_close(env):
    clock, store, server, addr = env
    reader, writer = await login(addr)
    writer.close()
    await writer.wait_closed()
    for _ in range(50):
        if not store.is_online(DEVICE):
            break
        await asyncio.sleep(0.01)
    reader, writer = await login(addr)
    assert store.is_online(DEVICE)
    writer.close()
