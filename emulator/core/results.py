"""Final result codes and how they are rendered for ATV0/ATV1 and AT+CMEE=0/1/2.

V.250 numeric codes: OK 0, CONNECT 1, RING 2, NO CARRIER 3, ERROR 4, NO DIALTONE 6, BUSY 7,
NO ANSWER 8. +CME ERROR texts follow 3GPP TS 27.007 §9.2 and the Quectel manuals (BG96 AT
Commands Manual §12.5); the 5xx TCP/IP codes are Quectel's (TCP/IP AT manual §4).

Must not: know about commands or state; ``core/modem.py`` decides *when* a result is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

CME_TEXT: dict[int, str] = {
    0: "phone failure", 1: "no connection to phone", 3: "operation not allowed",
    4: "operation not supported", 5: "PH-SIM PIN required", 10: "SIM not inserted",
    11: "SIM PIN required", 12: "SIM PUK required", 13: "SIM failure", 14: "SIM busy",
    15: "SIM wrong", 16: "incorrect password", 17: "SIM PIN2 required", 18: "SIM PUK2 required",
    20: "memory full", 21: "invalid index", 22: "not found", 23: "memory failure",
    24: "text string too long", 25: "invalid characters in text string",
    26: "dial string too long", 27: "invalid characters in dial string", 30: "no network service",
    31: "network timeout", 32: "network not allowed - emergency calls only", 50: "incorrect parameters",
    100: "unknown", 550: "unknown error", 551: "operation blocked", 552: "invalid parameters",
    553: "memory not enough", 554: "create socket failed", 555: "operation not supported",
    556: "socket bind failed", 557: "socket listen failed", 558: "socket write failed",
    559: "socket read failed", 560: "socket accept failed", 561: "open PDP context failed",
    562: "close PDP context failed", 563: "socket identity has been used", 564: "DNS busy",
    565: "DNS parse failed", 566: "socket connect failed", 567: "socket has been closed",
    568: "operation busy", 569: "operation timeout", 570: "PDP context broken down",
    571: "cancel send", 572: "operation not allowed", 573: "APN not configured", 574: "port busy",
}


@dataclass(frozen=True, slots=True)
class Final:
    """A final result code: ``text`` for ATV1, ``numeric`` for ATV0 (None = text in both)."""

    text: str
    numeric: int | None = None

    @property
    def is_error(self) -> bool:
        return self.text in ("ERROR", "NO CARRIER", "SEND FAIL") or self.text.startswith(("+CME ERROR", "+CMS ERROR"))


@dataclass(frozen=True, slots=True)
class CmeError:
    """``+CME ERROR: <code>``, shown per AT+CMEE (0 -> plain ERROR)."""

    code: int

    is_error = True

    def render(self, cmee: int) -> Final:
        # TS 27.007 §9.1: with CMEE=1/2 "+CME ERROR: <err>" is used *instead of* the regular
        # ERROR result code, so ATV0 does not turn it back into "4" (it is sent as text, framed
        # like V0 information text); with CMEE=0 it is the plain ERROR (4 under ATV0).
        if cmee == 1:
            return Final(f"+CME ERROR: {self.code}")
        if cmee == 2:
            return Final(f"+CME ERROR: {CME_TEXT.get(self.code, 'unknown')}")
        return ERROR


OK = Final("OK", 0)
CONNECT = Final("CONNECT", 1)
NO_CARRIER = Final("NO CARRIER", 3)
ERROR = Final("ERROR", 4)
SEND_OK = Final("SEND OK")
SEND_FAIL = Final("SEND FAIL")

Result = Final | CmeError
