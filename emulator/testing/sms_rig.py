"""A sans-IO SMS bench for tests: one Modem, host bytes in, framed output and SMS effects out,
MT messages fed as the stimulus the SMSC sends (``emulator/net/smsc.py``).

Must not: do I/O.
"""

from __future__ import annotations

from emulator.core.modem import Modem
from emulator.modules import load_module
from emulator.modules.handlers import sms_codec as codec
from emulator.modules.handlers.sms_send import SmsSubmit
from emulator.modules.handlers.sms_urc import SmsIncoming

BASE = {"bg96": 0, "ec800e": 0, "wm-n400mse": 0, "amm5918k": 0}
ME = {"bg96": 255, "ec800e": 255, "wm-n400mse": 255, "amm5918k": 25}  # AM01 guide: index 0-24
OA = "+821099998888"


class SmsBench:
    def __init__(self, module: str = "bg96") -> None:
        self.modem = Modem(load_module(module))
        self.base, self.me = BASE[module], ME[module]
        self.sent: list[SmsSubmit] = []
        self.modem.advance(10)
        self._collect()
        self.at("ATE0")

    def _collect(self) -> bytes:
        out = bytearray()
        for ev in self.modem.events():
            if isinstance(ev, SmsSubmit):
                self.sent.append(ev)
            elif type(ev).__name__ == "ToHost":
                out += ev.data
        return bytes(out)

    def at(self, line: str | bytes) -> bytes:
        self.modem.receive_data((line.encode() if isinstance(line, str) else line) + b"\r")
        return self._collect()

    def feed(self, raw: bytes) -> bytes:
        self.modem.receive_data(raw)
        return self._collect()

    def mt(self, text: str = "Hello", oa: str = OA, *, tpdu: bytes | None = None) -> bytes:
        tpdu = tpdu or codec.deliver_text(oa, text, self.modem.clock.now())[0]
        self.modem.receive_stimulus(SmsIncoming(tpdu, "+821091000000"))
        return self._collect()
