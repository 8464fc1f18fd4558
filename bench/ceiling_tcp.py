"""CTWing TCP part of ``bench ceiling``: binary login + uplink frames (``tcp_codec``, the
platform's own codec) straight to the embedded CTWing TCP server vs through an EC800E.

Both log in as the guide's TCP device (docs/guides.md: ``15436586863318069987727``, version
``1.0``) and wait for the 0x05 login result 0 outside the timing; then ``count`` 0x02 uplink
frames of 10 bytes each until the platform stored them all. The direct asyncio client writes
them back to back (the protocol has no uplink acknowledgement); the EC800E sends one frame per
``AT+QISEND=0,<len>`` (push mode, ``AT+QIOPEN=1,0,"TCP","tcp.ctwing.cn",8996,0,1``), waiting
for ``> `` and ``SEND OK`` each time as a real host does.

Must not: bind or dial outside loopback, or hand-encode frames (``tcp_codec.encode`` does).
"""

from __future__ import annotations

import asyncio
import time

from bench.rig import StoreCounter, emulator
from emulator.backends.ctwing import tcp_codec as codec
from emulator.config import ModemSpec

DEVICE = "15436586863318069987727"  # docs/guides.md
PASSWORD = "ny6f1tSA41DQUVPD6P8g4iOk9zWNg5LGa9LIzPymuE8"
LOGIN = codec.encode(codec.Login(DEVICE, PASSWORD))


def _frame(seq: int) -> bytes:
    return codec.encode(codec.Uplink(b"%010d" % seq))


def _check_login(data: bytes) -> None:
    frames = codec.Decoder().feed(data)
    if frames != [codec.LoginResponse(codec.RESULT_OK)]:
        raise RuntimeError(f"CTWing TCP login: {frames!r}")


async def direct(count: int) -> float:
    """Uplinks/s of an asyncio client on the CTWing TCP server until all are stored."""
    async with emulator([], ["ctwing"]) as (emu, _hosts):
        store = emu.backends["ctwing"].store
        reader, writer = await asyncio.open_connection(*emu.endpoints["ctwing_tcp"])
        try:
            writer.write(LOGIN)
            _check_login(await asyncio.wait_for(reader.readexactly(3), 10.0))
            stored = StoreCounter(store, DEVICE)
            frames = [_frame(seq) for seq in range(count)]
            t0 = time.perf_counter()
            for frame in frames:
                writer.write(frame)
                await writer.drain()
            await stored.reach(count)
            return count / (time.perf_counter() - t0)
        finally:
            writer.close()


async def _qisend(h, data: bytes) -> bytes:
    h.send(b"AT+QISEND=0,%d\r" % len(data))
    await h.expect(b"\r\n> ", 10.0)
    h.send(data)
    out = await h.expect(b"SEND OK\r\n", 10.0)
    if b"ERROR" in out or b"SEND FAIL" in out:
        raise RuntimeError(f"QISEND: {out[-100:]!r}")
    return out


async def through_modem(count: int) -> float:
    """The same uplinks through an EC800E's AT+QISEND, until all are stored."""
    async with emulator([ModemSpec("ec800e", "ec800e")], ["ctwing"]) as (emu, hosts):
        h = hosts["ec800e"]
        store = emu.backends["ctwing"].store
        h.send(b'AT+QIOPEN=1,0,"TCP","tcp.ctwing.cn",8996,0,1\r')
        await h.expect(b"+QIOPEN: 0,", 10.0)
        if not (await h.expect(b"\r\n", 1.0)).startswith(b"0"):
            raise RuntimeError("QIOPEN to tcp.ctwing.cn:8996 failed")
        await _qisend(h, LOGIN)
        await h.expect(b'+QIURC: "recv",0,3\r\n', 10.0)
        _check_login((await h.expect(b"\r\n", 1.0))[:-2])  # the 3 bytes, then the URC's CR LF
        stored = StoreCounter(store, DEVICE)
        t0 = time.perf_counter()
        for seq in range(count):
            await _qisend(h, _frame(seq))
        await stored.reach(count)
        return count / (time.perf_counter() - t0)
