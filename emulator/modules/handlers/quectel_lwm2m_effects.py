"""Effects and stimuli of the Quectel LwM2M feature (``AT+QLW*``, Family A, EC800E).

Pure data: what the modem asks the LwM2M client to do (effects) and what the client / the
platform tells the modem back (stimuli), plus the result codes both sides agree on. The
executors in ``emulator/net/lwm2m_exec.py`` turn effects into CoAP traffic and answer with
stimuli; tests use a fake platform that does the same without I/O.

Paths are tuples of ints ``(obj, inst, res)`` (``(19, 0, 0)`` = CTWing uplink, ``(19, 1, 0)``
= downlink; guide 001 §4.1, docs/guides.md). Payloads are raw bytes (the hex of the AT line decoded).
``msgid`` is the id the host sees in ``+QLWURC``/``AT+QLW*RSP`` (16 bit); ``mid`` is the id the
module prints for its own messages (``+QLWURC: "report",<mid>``, ``+QLWUPDATE: 0,<mid>``).

Must not: import asyncio/socket/time or know the AT syntax.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...core.events import Effect
from ...core.stimuli import Downlink, Stimulus

Path = tuple[int, ...]

# --- result codes --------------------------------------------------------------------------
# +QLWREG / +QLWUPDATE / +QLWDEREG <result>. Only 0 (success) and -9 (guide 001 §7: "+QLWREG:-9"
# when the device is not added on the platform, i.e. the server answers 4.03/4.00/4.04) are
# known; the others are the emulator's choice (Quectel UniRTOS unirtos_atcmd_lwm2m.h; BC66 OpenCPU ril_lwm2m.c "[?]"), documented here.
RESULT_OK = 0
RESULT_FAILED = -1      # generic failure: server unreachable (refused), bad response, no client
RESULT_TIMEOUT = -2     # no answer after the CoAP retransmissions (AT+QLWCFG="retransmit")
RESULT_DNS = -3         # server host name does not resolve
RESULT_REJECTED = -9    # platform refused the endpoint (4.00/4.03/4.04): guide 001 §7

# +QLWURC: "report_ack",<result>,<mid>: 0 = ACKed (guide 001 §4.1.4.1); non-zero values are the
# emulator's choice [?]: 1 = never ACKed after the retransmissions, 2 = reset / failed / aborted.
REPORT_ACKED = 0
REPORT_TIMEOUT = 1
REPORT_FAILED = 2

# AT <result> of AT+QLWOBSRSP / QLWRDRSP / QLWWRRSP / QLWEXERSP -> CoAP response code
# (class * 32 + detail). 1 = 2.05 and 2 = 2.04 are shown by Quectel UniRTOS unirtos_atcmd_lwm2m.h; BC66 OpenCPU ril_lwm2m.c and the guide;
# the 4.xx numbering follows the BC66 lineage [?] (Quectel UniRTOS unirtos_atcmd_lwm2m.h; BC66 OpenCPU ril_lwm2m.c: "reject write uses 12").
AT_RESULT_TO_COAP: dict[int, int] = {
    1: 0x45,   # 2.05 Content (observe / read accepted)
    2: 0x44,   # 2.04 Changed (write / execute done)
    11: 0x80,  # 4.00 Bad Request
    12: 0x81,  # 4.01 Unauthorized
    13: 0x84,  # 4.04 Not Found
    14: 0x85,  # 4.05 Method Not Allowed
    15: 0x86,  # 4.06 Not Acceptable
}
COAP_NOT_FOUND = 0x84
COAP_CONTENT = 0x45


def coap_code_text(code: int) -> str:
    """``0x44`` -> ``"2.04"``."""
    return f"{code >> 5}.{code & 0x1F:02d}"


# --- effects: modem -> LwM2M client ----------------------------------------------------------
@dataclass(frozen=True)
class Lwm2mRegister(Effect):
    server: str
    port: int
    endpoint: str
    lifetime: int
    psk_id: str | None = None
    psk: bytes | None = None
    objects: tuple[tuple[int, int, tuple[int, ...]], ...] = ()  # (obj, inst, (res ids))
    bootstrap: bool = False
    ack_timeout: float = 2.0   # AT+QLWCFG="retransmit",<ack_timeout>,<max_retx>
    max_retransmit: int = 4


@dataclass(frozen=True)
class Lwm2mUpdate(Effect):
    lifetime: int | None = None
    mid: int = 0
    binding: str | None = None
    auto: bool = False  # sent by the module itself ("lifetime_enable",1), not AT+QLWUPDATE


@dataclass(frozen=True)
class Lwm2mDeregister(Effect):
    pass


@dataclass(frozen=True)
class Lwm2mClose(Effect):
    """Drop the client without talking to the server (the modem gave up: timeout)."""

    reason: str = ""


@dataclass(frozen=True)
class Lwm2mObserveResponse(Effect):
    msgid: int
    payload: bytes = b""
    code: int = COAP_CONTENT
    path: Path = ()


@dataclass(frozen=True)
class Lwm2mReadResponse(Effect):
    msgid: int
    payload: bytes = b""
    code: int = COAP_CONTENT
    path: Path = ()


@dataclass(frozen=True)
class Lwm2mWriteResponse(Effect):
    msgid: int
    code: int = 0x44


@dataclass(frozen=True)
class Lwm2mExecuteResponse(Effect):
    msgid: int
    code: int = 0x44


@dataclass(frozen=True)
class Lwm2mNotify(Effect):
    mid: int
    payload: bytes
    confirmable: bool = False
    path: Path = (19, 0, 0)
    value_type: int = 2


# --- stimuli: LwM2M client / platform -> modem ---------------------------------------------
@dataclass(frozen=True)
class Lwm2mRegistered(Stimulus):
    result: int = RESULT_OK


@dataclass(frozen=True)
class Lwm2mUpdated(Stimulus):
    result: int = RESULT_OK


@dataclass(frozen=True)
class Lwm2mDeregistered(Stimulus):
    result: int = RESULT_OK


@dataclass(frozen=True)
class Lwm2mObserveRequest(Downlink):
    msgid: int
    path: Path
    cancel: bool = False


@dataclass(frozen=True)
class Lwm2mReadRequest(Downlink):
    msgid: int
    path: Path


@dataclass(frozen=True)
class Lwm2mWriteRequest(Downlink):
    msgid: int
    path: Path
    payload: bytes


@dataclass(frozen=True)
class Lwm2mExecuteRequest(Downlink):
    msgid: int
    path: Path
    args: bytes = b""


@dataclass(frozen=True)
class Lwm2mNotifyAcked(Stimulus):
    """How a CON notify ended: ACKed (ok), or not: ``timeout`` (retransmissions exhausted on
    the client's side) or reset / failed."""

    mid: int
    ok: bool = True
    timeout: bool = False

