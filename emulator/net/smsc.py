"""The fake network's SMSC: one per ``Emulator``, shared by every served modem.

MO (``AT+CMGS``/``AT+CMSS``, the :class:`SmsSubmit` effect): recorded with ``to``, ``text``,
``ts`` (virtual clock), ``pdu``, ``mr``; one sent to another served modem's own number
(``msisdn`` in its data file, else made from its IMSI: ``sms_store.own_number``) is handed
to it as SMS-DELIVER, held by the runner while it is unreachable (PSM, eDRX, detached) as
the network holds it; with TP-SRR the sender gets an SMS-STATUS-REPORT once it reached the
recipient (status 0), at once for numbers outside the emulator. MT from the console API /
scenarios: ``deliver_text`` / ``deliver_pdu``.

Must not: format AT responses (handlers do) or do socket I/O (it only hands stimuli to ports).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..modules.handlers import sms_codec as codec
from ..modules.handlers.sms_send import SmsSubmit
from ..modules.handlers.sms_store import own_number, same_number
from ..modules.handlers.sms_urc import SmsIncoming
from .executors import executor

if TYPE_CHECKING:  # pragma: no cover
    from ..transport.runner import Emulator, ModemPort

log = logging.getLogger("modemu.smsc")
SMSC_NUMBER = "+821091000000"  # what the SMSC stamps on MT messages it originates [ASSUMPTION]


@dataclass
class SentSms:
    """One MO SMS as the network recorded it (``GET /api/modems/{name}/sms``)."""

    modem: str
    sender: str
    to: str
    text: str
    ts: float
    pdu: str
    mr: int
    srr: bool
    concat: tuple[int, int, int] | None = None
    delivered_to: str | None = None  # the served modem it went to, if any
    status: str = "accepted"  # accepted | delivered | held

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "concat"}
        if self.concat:
            out["concat"] = {"ref": self.concat[0], "total": self.concat[1], "seq": self.concat[2]}
        return out


@dataclass
class Smsc:
    emulator: Any
    sent: list[SentSms] = field(default_factory=list)
    ref: int = 0

    @classmethod
    def of(cls, emulator: "Emulator") -> "Smsc":
        smsc = getattr(emulator, "smsc", None)
        if smsc is None:
            smsc = cls(emulator)
            emulator.smsc = smsc  # one per serve: every modem reaches every other
        return smsc

    def number_of(self, port: "ModemPort") -> str:
        return own_number(port.profile.defaults, port.profile.identity.imsi)

    def port_for(self, number: str) -> "ModemPort | None":
        for port in self.emulator.ports.values():
            if same_number(self.number_of(port), number):
                return port
        return None

    def sent_by(self, name: str) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.sent if s.modem == name]

    # --- MO ---------------------------------------------------------------------------------
    def submit(self, effect: SmsSubmit, port: "ModemPort") -> SentSms:
        sub = codec.decode(effect.tpdu)
        rec = SentSms(port.name, effect.sender, sub.number, sub.text, effect.ts,
                      effect.tpdu.hex().upper(), effect.mr, sub.srr, sub.concat)
        self.sent.append(rec)
        target = self.port_for(sub.number)
        now = self.emulator.clock.now()

        def reached(ok: bool) -> None:
            rec.status = "delivered" if ok else "failed"
            if sub.srr:
                self._report(port, effect, sub.number, 0 if ok else 0x45)
        if target is None:
            rec.status = "delivered"  # outside the emulator: the far end takes it at once
            if sub.srr:
                self._report(port, effect, sub.number, 0)
            return rec
        rec.delivered_to = target.name
        tpdu = codec.submit_to_deliver(sub, effect.sender, now)
        if not target.stimulus(SmsIncoming(tpdu, effect.sca, reached)):
            rec.status = "held"
        return rec

    def _report(self, port: "ModemPort", effect: SmsSubmit, to: str, status: int) -> None:
        tpdu = codec.encode_status_report(effect.mr, to, effect.ts, self.emulator.clock.now(), status)
        port.stimulus(SmsIncoming(tpdu, effect.sca))

    # --- MT from the console / scenarios -------------------------------------------------------
    def deliver_text(self, port: "ModemPort", sender: str, text: str) -> dict[str, Any]:
        self.ref = (self.ref + 1) % 256
        tpdus = codec.deliver_text(sender, text, self.emulator.clock.now(), self.ref)
        return self._hand(port, tpdus)

    def deliver_pdu(self, port: "ModemPort", pdu_hex: str) -> dict[str, Any]:
        """``pdu_hex``: an SMS-DELIVER as ``+CMT`` shows it (SMSC field first) or a bare TPDU."""
        raw = codec.unhex(pdu_hex)
        tpdu = None
        try:
            _, t = codec.split_sca(raw)
            if codec.decode(t).kind in ("deliver", "status"):
                tpdu = t
        except codec.PduError:
            pass
        if tpdu is None:
            if codec.decode(raw).kind not in ("deliver", "status"):
                raise codec.PduError("not an SMS-DELIVER or SMS-STATUS-REPORT")
            tpdu = raw
        return self._hand(port, [tpdu])

    def _hand(self, port: "ModemPort", tpdus: list[bytes]) -> dict[str, Any]:
        stored, held = [], 0
        for tpdu in tpdus:
            if port.stimulus(SmsIncoming(tpdu, SMSC_NUMBER)):
                where = port.modem.state.sms.last_stored
                stored.append({"memory": where[0], "index": where[1]} if where else {"memory": None, "index": None})
            else:
                held += 1
        status = "queued" if held else "delivered"
        out: dict[str, Any] = {"status": status, "parts": len(tpdus)}
        if stored:
            out["stored"] = stored
            if stored[0]["index"] is not None:
                out["index"], out["memory"] = stored[0]["index"], stored[0]["memory"]
        return out


@executor(SmsSubmit)
def run_submit(effect: SmsSubmit, port: "ModemPort") -> None:
    Smsc.of(port.emulator).submit(effect, port)


# --- scenario actions (``platform: {sms.deliver: {...}}``, ``sms.expect_sent``) -------------------
def scenario_action(emulator: "Emulator", action: str, args: dict[str, Any]) -> Any:
    """``sms.deliver {modem, from, text | pdu}`` hands an MT SMS to a modem (the console
    API's POST); ``sms.expect_sent {modem, to?, text?}`` fails unless the modem has sent a
    matching SMS (the API's GET) and returns it. Errors raise ValueError with one clear line."""
    smsc = Smsc.of(emulator)
    name = args.get("modem")
    port = emulator.ports.get(name)
    if port is None:
        raise ValueError(f"sms.{action}: no modem {name!r}; modems: {', '.join(emulator.ports)}")
    if action == "deliver":
        if "pdu" in args:
            try:
                return smsc.deliver_pdu(port, str(args["pdu"]))
            except codec.PduError as exc:
                raise ValueError(f"sms.deliver: {exc}") from None
        if "text" not in args or "from" not in args:
            raise ValueError("sms.deliver needs modem, from and text (or pdu)")
        return smsc.deliver_text(port, str(args["from"]), str(args["text"]))
    if action == "expect_sent":
        found = [s for s in smsc.sent_by(port.name)
                 if ("to" not in args or same_number(s["to"], str(args["to"])))
                 and ("text" not in args or s["text"] == str(args["text"]))]
        if not found:
            sent = [(s["to"], s["text"]) for s in smsc.sent_by(port.name)]
            raise ValueError(f"sms.expect_sent: {name} sent no SMS matching {args}; sent: {sent}")
        return found[-1]
    raise ValueError(f"sms has no scenario action {action!r}; actions: deliver, expect_sent")
