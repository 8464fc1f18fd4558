"""A sans-IO fake LwM2M platform and a test rig for the EC800E ``AT+QLW*`` feature.

:class:`FakePlatform` answers the modem's LwM2M effects with the stimuli a CTWing-like server
would send (register, observe with given ids, CON ACKs, downlinks after an update or a write
response); :class:`Rig` drives a ``Modem(load_module("ec800e"))`` line by line and compares
output with the guide's transcripts. Used by tests/modules/test_quectel_lwm2m*.py and usable
from scenario tests.

Must not: do I/O or read the wall clock.
"""

from __future__ import annotations

from collections import deque

from ..core.events import Effect, ToHost
from ..core.modem import Modem
from ..modules import load_module
from ..modules.handlers import quectel_lwm2m_effects as lwm2m_effects
from ..modules.handlers.quectel_lwm2m_effects import (
    Lwm2mDeregister, Lwm2mDeregistered, Lwm2mNotify, Lwm2mNotifyAcked, Lwm2mObserveRequest,
    Lwm2mRegister, Lwm2mRegistered, Lwm2mUpdate, Lwm2mUpdated, Lwm2mWriteRequest,
    Lwm2mWriteResponse)

HELLO = "68656c6c6f776f726c64"
# guide 001 §4.1.3.2 / §4.1.4.2 payloads (the PDF wraps them; joined here)
CMD_25970 = "7B2276616C76655F6F6E6F6666223A302C227461736B4964223A312C22736572766963654964223A383030317D"
CMD_7334 = ("7B227461736B4964223A322C22736572766963654964223A383030342C2266726F7A656E5F706572696F64223A3"
            "2347D")
CMD_7335 = ("7B2276616C76656F66665F656E61626C65223A312C227461736B4964223A332C22736572766963654964223A383"
            "030367D")


class FakePlatform:
    """Answers effects like the CTWing LwM2M server: registers, observes 19/0/0 with the next
    id from ``observe_ids``, ACKs CON notifies (unless ``ack`` is False), and after an update
    (or after each write response) pushes the next queued downlink write on 19/1/0."""

    def __init__(self, modem: Modem, observe_ids=(), register_result: int = 0) -> None:
        self.modem = modem
        self.observe_ids = deque(observe_ids)
        self.downlinks: deque[tuple[int, bytes]] = deque()
        self.register_result = register_result
        self.update_result = 0
        self.ack = True
        self.silent = False
        self.effects: list[Effect] = []

    def _send(self, stim) -> None:
        self.modem.receive_stimulus(stim)

    def _push_downlink(self) -> None:
        if self.downlinks:
            msgid, payload = self.downlinks.popleft()
            self._send(Lwm2mWriteRequest(msgid, (19, 1, 0), payload))

    def handle(self, effect: Effect) -> None:
        self.effects.append(effect)
        if self.silent:
            return
        if isinstance(effect, Lwm2mRegister):
            self._send(Lwm2mRegistered(self.register_result))
            if self.register_result == 0 and self.observe_ids:
                self._send(Lwm2mObserveRequest(self.observe_ids.popleft(), (19, 0, 0)))
        elif isinstance(effect, Lwm2mUpdate):
            self._send(Lwm2mUpdated(self.update_result))
            self._push_downlink()
        elif isinstance(effect, Lwm2mWriteResponse):
            self._push_downlink()
        elif isinstance(effect, Lwm2mDeregister):
            self._send(Lwm2mDeregistered(0))
        elif isinstance(effect, Lwm2mNotify) and effect.confirmable and self.ack:
            self._send(Lwm2mNotifyAcked(effect.mid, True))

    def last(self, kind):
        found = [e for e in self.effects if isinstance(e, kind)]
        assert found, f"no {kind.__name__} effect"
        return found[-1]


class Rig:
    def __init__(self, mid_seed: int = 13859, **platform) -> None:
        self.modem = Modem(load_module("ec800e", {"lwm2m_mid_seed": mid_seed}))
        self.platform = FakePlatform(self.modem, **platform)
        self.pump()
        assert self.at("ATE0") == "ATE0\r\r\nOK\r\n"

    def pump(self) -> str:
        out = b""
        while (event := self.modem.next_event()) is not None:
            if isinstance(event, ToHost):
                out += event.data
            elif isinstance(event, Effect) and type(event).__module__ == lwm2m_effects.__name__:
                self.platform.handle(event)  # LwM2M traffic only: SMS, sockets ... are other networks
        return out.decode()

    def at(self, line: str) -> str:
        self.modem.receive_data(line.encode() + b"\r")
        return self.pump()

    def check(self, line: str, *expected: str) -> None:
        assert self.at(line) == framed(*expected), line

    def advance(self, seconds: float) -> str:
        self.modem.advance(seconds)
        return self.pump()

    def stim(self, stimulus) -> str:
        self.modem.receive_stimulus(stimulus)
        return self.pump()

    def alive(self) -> None:
        self.check("AT", "OK")

    @property
    def lw(self):
        return self.modem.state.lwm2m

    def registered(self, observe: int | None = 44297, **cfg: int) -> None:
        """The guide's preamble up to +QLWREG: 0 (and the observe answered)."""
        self.check('AT+QLWCFG="lifetime_enable",0', "OK")
        for key, value in cfg.items():
            self.check(f'AT+QLWCFG="{key}",{value}', "OK")
        self.check('AT+QLWCONFIG=0,"221.229.214.202",5683,"868543060974334",86400,3,0', "OK")
        self.check("AT+QLWADDOBJ=19,0,1,0", "OK")
        self.check("AT+QLWADDOBJ=19,1,1,0", "OK")
        if observe is None:
            self.check("AT+QLWREG", "OK", "+QLWREG: 0")
            return
        self.platform.observe_ids.append(observe)
        self.check("AT+QLWREG", "OK", "+QLWREG: 0", f'+QLWURC: "observe",{observe},0,19,0,0')
        if not cfg.get("auto_ack") and not cfg.get("access_mode"):
            self.check(f'AT+QLWOBSRSP={observe},1,19,0,0,2,10,"{HELLO}",0', "OK",
                       f"+QLWOBSRSP: {observe},0")


def framed(*lines: str) -> str:
    return "".join(f"\r\n{line}\r\n" for line in lines)


# one information block (lines joined by a single CRLF, as guide 001 §6.1 prints it), then OK
CFG_QUERY = ('+QLWCFG: "retransmit",2,4\r\n+QLWCFG: "auto_ack",0\r\n+QLWCFG: "lifetime_enable",1\r\n'
             '+QLWCFG: "dtls_mode",0', "OK")
