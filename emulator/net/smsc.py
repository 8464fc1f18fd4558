"""The fake network's SMSC: one per FakeInternet (one serve or scenario), shared by its modems.

MO (``AT+CMGS``/``AT+CMSS``, the :class:`SmsSubmit` effect): recorded with ``to``, ``text``,
``ts`` (virtual clock), ``pdu``, ``mr``. One sent to another served modem's own number
(``msisdn`` in its data file, else made from its IMSI: ``sms_store.own_number``; the
transport registers each modem, ``transport/netwiring.py``) is handed to it as SMS-DELIVER,
held at the network edge while it is unreachable (PSM, eDRX, detached), and kept and sent
again when it boots if it was off (store and forward, until its validity period ends); with TP-SRR the
sender gets an SMS-STATUS-REPORT once it reached the recipient (status 0; 0x46 when it
expired), at once for numbers outside the emulator. MT from the console API / scenarios:
``deliver_text`` / ``deliver_pdu``.

Must not: format AT responses (handlers do), do socket I/O, or see the ports (only NetContexts).
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

from ..modules.handlers import sms_codec as codec
from ..modules.handlers.sms_send import SmsReady, SmsSubmit
from ..modules.handlers.sms_store import DEFAULT_SMSC, same_number
from ..modules.handlers.sms_urc import SmsIncoming
from .context import NetContext
from .executors import executor
from .internet import FakeInternet

log = logging.getLogger("modemu.smsc")
SMSC_NUMBER = DEFAULT_SMSC  # the SMSC field of MT messages for a subscriber registered without one
DEFAULT_VALIDITY = 86400.0  # MT without a TP-VP: kept one day [ASSUMPTION: operator policy]
_SMSCS: "weakref.WeakKeyDictionary[FakeInternet, Smsc]" = weakref.WeakKeyDictionary()


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
    full_text: str | None = None  # a concatenated SMS: the whole text once every part is in
    status: str = "accepted"  # delivered | queued (not reached yet) | failed | expired

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("concat", "full_text")}
        if self.concat:
            out["concat"] = {"ref": self.concat[0], "total": self.concat[1], "seq": self.concat[2]}
            if self.full_text is not None:
                out["full_text"] = self.full_text
        return out


@dataclass
class _Pending:
    """An MT message the SMSC still has to get through."""

    msg_id: int
    tpdu: bytes
    sca: str
    done: Callable[[bool | None, tuple[str, int] | None], None] | None
    finished: bool = False

    def reached(self, ok: bool | None, where: tuple[str, int] | None = None) -> None:
        if not self.finished:
            self.finished = True
            if self.done is not None:
                self.done(ok, where)


@dataclass
class Subscriber:
    name: str
    number: str
    net: NetContext
    tz: int = 0  # the zone of the network it is on (quarter hours): the SCTS of what it gets
    smsc: str = SMSC_NUMBER  # its network's SMSC (the SIM's +CSCA): the SMSC field of what it gets


@dataclass
class Smsc:
    """The SMSC of one fake network (one per :class:`FakeInternet`, i.e. per serve/scenario)."""

    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    sent: list[SentSms] = field(default_factory=list)
    ref: int = 0
    next_id: int = 0
    pending: dict[str, list[_Pending]] = field(default_factory=dict)  # by modem name

    @classmethod
    def of(cls, internet: FakeInternet) -> "Smsc":
        smsc = _SMSCS.get(internet)
        if smsc is None:
            smsc = _SMSCS[internet] = cls()
        return smsc

    def register(self, name: str, number: str, net: NetContext, tz: int = 0,
                 smsc: str = SMSC_NUMBER) -> None:
        """A modem joins the network with its own number (the transport does this per port);
        ``tz`` is that network's time zone (quarter hours, the one its NITZ gives +CCLK): the
        SMSC stamps what it hands this modem (TP-SCTS, TP-DT) in that zone; ``smsc`` is that
        network's SMSC address, the SMSC field of the MT messages it originates."""
        self.subscribers[name] = Subscriber(name, number, net, tz, smsc)

    def subscriber_for(self, number: str) -> Subscriber | None:
        for sub in self.subscribers.values():
            if same_number(sub.number, number):
                return sub
        return None

    def _join(self, rec: SentSms) -> None:
        """All parts of a concatenated SMS in (same sender, recipient, reference, count): each
        part's record gets the whole text (the last part sent with a sequence number wins)."""
        ref, total, _ = rec.concat or (0, 0, 0)
        parts = {r.concat[2]: r for r in self.sent if r.modem == rec.modem and r.to == rec.to
                 and r.concat and r.concat[:2] == (ref, total)}
        if set(parts) == set(range(1, total + 1)):
            full = "".join(parts[i].text for i in range(1, total + 1))
            for r in parts.values():
                r.full_text = full

    def sent_by(self, name: str) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.sent if s.modem == name]

    # --- store and forward ------------------------------------------------------------------
    def forward(self, net: NetContext, tpdu: bytes, sca: str,
                done: Callable[[bool | None, tuple[str, int] | None], None] | None = None,
                validity: float = DEFAULT_VALIDITY) -> bool:
        """Hand a TPDU to a modem; True if it took it at once. Otherwise it is held at the
        network edge (PSM, eDRX, detached: the runner hands it over when the modem is
        reachable) or it was lost (powered off): the SMSC keeps it and sends it again when
        the modem reports it is back (:class:`SmsReady` at boot, TS 23.040 §10.3 "alert SC"),
        until ``validity`` runs out (``done(None, None)``). The modem drops repeats by id.
        ``done(ok, where)``: ok False = refused (storage full)."""
        self.next_id += 1
        msg = _Pending(self.next_id, tpdu, sca, done)
        if self._attempt(net, msg):
            return True
        self.pending.setdefault(net.name, []).append(msg)
        net.sync_clock()
        net.clock.call_later(validity, lambda: self._expire(net.name, msg), "sms-validity")
        return False

    def _attempt(self, net: NetContext, msg: "_Pending") -> bool:
        net.stimulus(SmsIncoming(msg.tpdu, msg.sca, msg.reached, msg.msg_id))
        return msg.finished

    def _expire(self, name: str, msg: "_Pending") -> None:
        if not msg.finished:
            msg.reached(None, None)
        self._prune(name)

    def _prune(self, name: str) -> None:
        left = [m for m in self.pending.get(name, ()) if not m.finished]
        if left:
            self.pending[name] = left
        else:
            self.pending.pop(name, None)

    def alert(self, net: NetContext) -> None:
        """The modem is back (booted): send what is still waiting for it, oldest first."""
        for msg in list(self.pending.get(net.name, ())):
            if not msg.finished:
                self._attempt(net, msg)
        self._prune(net.name)

    # --- MO ---------------------------------------------------------------------------------
    def submit(self, effect: SmsSubmit, net: NetContext) -> SentSms:
        sub = codec.decode(effect.tpdu)
        rec = SentSms(net.name, effect.sender, sub.number, sub.text, effect.ts,
                      effect.tpdu.hex().upper(), effect.mr, sub.srr, sub.concat)
        self.sent.append(rec)
        if rec.concat:
            self._join(rec)
        target = self.subscriber_for(sub.number)

        def reached(ok: bool | None, _where: object = None) -> None:
            rec.status = {True: "delivered", False: "failed", None: "expired"}[ok]
            if sub.srr:  # TP-ST (23.040 §9.2.3.15): 0 received by the SME, 0x45 error in the
                status = {True: 0, False: 0x45, None: 0x46}[ok]  # SME, 0x46 validity period expired
                me = self.subscribers.get(net.name)
                tpdu = codec.encode_status_report(effect.mr, sub.number, effect.ts, net.clock.now(), status,
                                                  tz=me.tz if me else 0)
                self.forward(net, tpdu, effect.sca)
        if target is None:
            reached(True)  # outside the emulator: the far end takes it at once
            return rec
        rec.delivered_to = target.name
        validity = codec.vp_seconds(sub.vp) if sub.vp is not None else DEFAULT_VALIDITY
        tpdu = codec.submit_to_deliver(sub, effect.sender, net.clock.now(), target.tz)
        if not self.forward(target.net, tpdu, effect.sca, reached, validity):
            rec.status = "queued"
        return rec

    # --- MT from the console / scenarios -------------------------------------------------------
    def _subscriber(self, name: str) -> Subscriber:
        sub = self.subscribers.get(name)
        if sub is None:
            raise LookupError(f"no modem {name!r}; modems: {', '.join(self.subscribers)}")
        return sub

    def deliver_text(self, name: str, sender: str, text: str) -> dict[str, Any]:
        sub = self._subscriber(name)
        self.ref = (self.ref + 1) % 256
        return self._hand(sub, codec.deliver_text(sender, text, sub.net.clock.now(), self.ref, sub.tz))

    def deliver_pdu(self, name: str, pdu_hex: str) -> dict[str, Any]:
        """``pdu_hex``: an SMS-DELIVER as ``+CMT`` shows it (SMSC field first) or a bare TPDU."""
        sub = self._subscriber(name)
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
        return self._hand(sub, [tpdu])

    def _hand(self, sub: Subscriber, tpdus: list[bytes]) -> dict[str, Any]:
        stored: list[dict[str, Any]] = []

        def reached(ok: bool | None, where: tuple[str, int] | None) -> None:
            stored.append({"memory": where[0], "index": where[1]} if where else {"memory": None, "index": None})
        now = [self.forward(sub.net, tpdu, sub.smsc, reached) for tpdu in tpdus]
        out: dict[str, Any] = {"status": "delivered" if all(now) else "queued", "parts": len(tpdus)}
        if all(now):
            out["stored"] = stored
            if stored and stored[0]["index"] is not None:
                out["index"], out["memory"] = stored[0]["index"], stored[0]["memory"]
        return out


@executor(SmsSubmit)
def run_submit(effect: SmsSubmit, net: NetContext) -> None:
    Smsc.of(net.internet).submit(effect, net)


@executor(SmsReady)
def run_ready(effect: SmsReady, net: NetContext) -> None:
    Smsc.of(net.internet).alert(net)


# --- scenario actions (``platform: {sms.deliver: {...}}``, ``sms.expect_sent``) -------------------
def scenario_action(internet: FakeInternet, action: str, args: dict[str, Any]) -> Any:
    """``sms.deliver {modem, from, text | pdu}`` hands an MT SMS to a modem (the console
    API's POST); ``sms.expect_sent {modem, to?, text?}`` fails unless the modem has sent a
    matching SMS (the API's GET) and returns it. Errors raise ValueError with one clear line."""
    smsc = Smsc.of(internet)
    name = str(args.get("modem"))
    if name not in smsc.subscribers:
        raise ValueError(f"sms.{action}: no modem {name!r}; modems: {', '.join(smsc.subscribers)}")
    if action == "deliver":
        if "pdu" in args:
            try:
                return smsc.deliver_pdu(name, str(args["pdu"]))
            except codec.PduError as exc:
                raise ValueError(f"sms.deliver: {exc}") from None
        if "text" not in args or "from" not in args:
            raise ValueError("sms.deliver needs modem, from and text (or pdu)")
        return smsc.deliver_text(name, str(args["from"]), str(args["text"]))
    if action == "expect_sent":
        found = [s for s in smsc.sent_by(name)
                 if ("to" not in args or same_number(s["to"], str(args["to"])))
                 and ("text" not in args or str(args["text"]) in (s["text"], s.get("full_text")))]
        if not found:
            sent = [(s["to"], s["text"]) for s in smsc.sent_by(name)]
            raise ValueError(f"sms.expect_sent: {name} sent no SMS matching {args}; sent: {sent}")
        return found[-1]
    raise ValueError(f"sms has no scenario action {action!r}; actions: deliver, expect_sent")
