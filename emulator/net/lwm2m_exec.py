"""Executors for the Quectel LwM2M effects (``AT+QLW*``): effects -> a real LwM2M client.

Each modem holds at most one :class:`Lwm2mSession` in ``net.resources["lwm2m"]`` (its
:class:`~emulator.net.context.NetContext`), wrapping an ``emulator.net.lwm2m_client.Lwm2mClient``
(aiocoap, CoAP or DTLS-PSK). The server host the module was configured with is routed through
``net.internet.connect_target`` so the client only ever dials the loopback endpoint the
FakeInternet returns. What the modem's own LwM2M state says (an exchange open, a platform
request still pending) comes from ``net.lwm2m()``, never from the modem object.

Everything that depends on the client's API is in the section marked ``GLUE`` below (one
place to adapt if the client changes). Written against the client's documented surface:
``Lwm2mClient(server_host, server_port, endpoint, lifetime, *, psk_identity, psk, objects,
on_observe(mid, path, cancel), on_write(mid, path, payload), on_read(mid, path),
on_execute(mid, path, args), ack_timeout, max_retransmit, gate)``; ``await register() / update(lifetime, binding) /
deregister()`` -> RequestResult(ok, code "2.01"/"4.03"/"timeout"/"error", mid);
``notify(path, payload, confirmable)`` -> Notification(mid, .result future: "ack" | "sent" |
"rst" | "timeout"); ``await close()``. Callbacks may return an awaitable of ``(Code, payload)``,
which is how platform requests wait for the host's ``AT+QLW*RSP`` here.

Route faults on an open session (``faultgate``): the client's datagrams pass the route's
gate both ways; while the route drops, a notify, Update or De-register is not even handed to
the client (its wall-clock retransmissions would reach the platform after the fault is
cleared, although the module gave up): the modem's own virtual-clock timer reports the loss
(``+QLWURC: "report_ack",1,<mid>``, ``+QLWUPDATE: -2``).

Ids: the modem prints its own ``<mid>`` for reports/updates (its sans-IO counter); the client's
CoAP message ids may differ. Platform request ids (``<msgid>`` in ``+QLWURC``) are the CoAP
message ids of the platform's requests, passed through unchanged.

NOT registered in ``EXECUTOR_MODULES`` while ``emulator.net.lwm2m_client`` is not in this tree:
the import is guarded, and without the client every registration fails with ``+QLWREG: -1``.

Must not: contain AT syntax or modem state (``modules/handlers/quectel_lwm2m*.py`` do).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..modules.handlers.quectel_lwm2m_effects import (
    RESULT_DNS, RESULT_FAILED, RESULT_OK, RESULT_REJECTED, RESULT_TIMEOUT, Lwm2mClose,
    Lwm2mDeregister, Lwm2mDeregistered, Lwm2mExecuteRequest, Lwm2mExecuteResponse, Lwm2mNotify,
    Lwm2mNotifyAcked, Lwm2mObserveRequest, Lwm2mObserveResponse, Lwm2mReadRequest, Lwm2mReadResponse,
    Lwm2mRegister, Lwm2mRegistered, Lwm2mUpdate, Lwm2mUpdated, Lwm2mWriteRequest,
    Lwm2mWriteResponse)
from .context import NetContext
from .executors import executor
from .faultgate import RouteGate

log = logging.getLogger("modemu.lwm2m")
RESOURCE_KEY = "lwm2m"

# ======================================= GLUE (client API) =======================================
try:  # the client is built separately; keep this module importable without it
    from .lwm2m_client import Lwm2mClient  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the tree
    Lwm2mClient = None  # type: ignore[assignment,misc]

SERVICE_UNAVAILABLE = 0xA3  # 5.03: the modem will not answer (not registered any more)
REJECTED_CODES = ("4.00", "4.03", "4.04")  # guide 001 §7: endpoint unknown to the platform -> -9


def request_result(result: Any) -> int:
    """RequestResult (or an exception) -> the +QLWREG/+QLWUPDATE/+QLWDEREG <result>."""
    if isinstance(result, BaseException):
        return RESULT_TIMEOUT if isinstance(result, (TimeoutError, asyncio.TimeoutError)) else RESULT_FAILED
    if getattr(result, "ok", False):
        return RESULT_OK
    code = str(getattr(result, "code", ""))
    if code == "timeout":
        return RESULT_TIMEOUT
    if code in REJECTED_CODES:
        return RESULT_REJECTED
    return RESULT_FAILED


def _coap_code(code: int) -> Any:
    try:
        from aiocoap import Code
        return Code(code)
    except Exception:  # noqa: BLE001 - a fake client in tests takes plain ints
        return code


def make_client(session: "Lwm2mSession", effect: Lwm2mRegister, host: str, port: int) -> Any:
    if Lwm2mClient is None:
        raise RuntimeError("emulator.net.lwm2m_client is not available")
    return Lwm2mClient(
        host, port, effect.endpoint, effect.lifetime,
        psk_identity=effect.psk_id, psk=effect.psk,
        objects=[(o, i, list(rs)) for o, i, rs in effect.objects],
        on_observe=session.on_observe, on_write=session.on_write, on_read=session.on_read,
        on_execute=session.on_execute, ack_timeout=effect.ack_timeout, max_retransmit=effect.max_retransmit,
        gate=session.gate)


def notify_outcome(outcome: Any) -> tuple[bool, bool]:
    """Notification.result value -> (ok, timeout) for Lwm2mNotifyAcked."""
    return outcome == "ack", outcome == "timeout"
# ===================================== end of GLUE ================================================


class Lwm2mSession:
    """One module's LwM2M session: the client plus the platform requests waiting for the host."""

    def __init__(self, net: NetContext) -> None:
        self.net = net
        self.client: Any = None
        self.waiting: dict[tuple[str, int], asyncio.Future] = {}
        self.exchanges = 0  # module requests (Register/Update) awaiting the platform's answer
        self.held: list[tuple[str, int, Any]] = []
        self.gate: RouteGate | None = None

    def dropping(self) -> bool:
        """The session's route black-holes traffic now (a standing ``drop`` fault)."""
        fault = self.gate.fault() if self.gate is not None else None
        return fault is not None and fault.kind == "drop"

    def _exchange_open(self) -> bool:
        state = self.net.lwm2m()
        return self.exchanges > 0 or (state is not None and state.update_mid is not None)

    def begin_exchange(self) -> None:
        self.exchanges += 1

    def end_exchange(self) -> None:
        """The result of Register/Update was given to the modem: now pass on what arrived meanwhile."""
        self.exchanges = max(0, self.exchanges - 1)
        while self.held and not self._exchange_open():
            kind, mid, stimulus = self.held.pop(0)
            self._tell(kind, mid, stimulus)

    def _ask(self, kind: str, mid: int, stimulus: Any) -> asyncio.Future:
        """Tell the modem; the answer comes as an effect (maybe synchronously, during
        ``net.stimulus``), which resolves the future the client awaits.

        A platform request that arrives while the module's own Register/Update waits for its
        answer is told to the host only after that result line: the platform sends it after
        answering (guide 001 §4.1.3.1 prints ``+QLWUPDATE: 0,<mid>`` before the "write" URC;
        ``+QLWREG: 0`` before "observe"), but aiocoap may hand the two over in either order.
        """
        fut = asyncio.get_running_loop().create_future()
        self.waiting[(kind, mid)] = fut
        if self._exchange_open():
            self.held.append((kind, mid, stimulus))
        else:
            self._tell(kind, mid, stimulus)
        return fut

    def _tell(self, kind: str, mid: int, stimulus: Any) -> None:
        fut = self.waiting.get((kind, mid))
        if fut is None or fut.done():
            return
        if self.net.stimulus(stimulus) is False:  # held by the port (modem in PSM) until it wakes
            hooks = self.net.released

            def released(stim: Any) -> None:
                if stim is stimulus:
                    hooks.remove(released)
                    self._dropped_check(kind, mid, fut)
            hooks.append(released)
            return
        self._dropped_check(kind, mid, fut)

    def _dropped_check(self, kind: str, mid: int, fut: asyncio.Future) -> None:
        state = self.net.lwm2m()
        if not fut.done() and (state is None or mid not in state.pending):
            self.answer(kind, mid, SERVICE_UNAVAILABLE, b"")  # the modem dropped it

    def answer(self, kind: str, mid: int, code: int, payload: bytes) -> bool:
        fut = self.waiting.pop((kind, mid), None)
        if fut is None or fut.done():
            return False
        fut.set_result((_coap_code(code), payload))
        return True

    # callbacks handed to the client
    def on_observe(self, mid: int, path: Any, cancel: bool = False) -> asyncio.Future:
        return self._ask("observe", mid, Lwm2mObserveRequest(mid, tuple(path), bool(cancel)))

    def on_read(self, mid: int, path: Any) -> asyncio.Future:
        return self._ask("read", mid, Lwm2mReadRequest(mid, tuple(path)))

    def on_write(self, mid: int, path: Any, payload: bytes) -> asyncio.Future:
        return self._ask("write", mid, Lwm2mWriteRequest(mid, tuple(path), bytes(payload)))

    def on_execute(self, mid: int, path: Any, args: bytes = b"") -> asyncio.Future:
        return self._ask("execute", mid, Lwm2mExecuteRequest(mid, tuple(path), bytes(args)))

    async def close(self) -> None:
        for fut in self.waiting.values():
            if not fut.done():
                fut.cancel()
        self.waiting.clear()
        self.held.clear()
        client, self.client = self.client, None
        if client is not None:
            await client.close()


def _session(net: NetContext) -> Lwm2mSession | None:
    session = net.resources.get(RESOURCE_KEY)
    return session if isinstance(session, Lwm2mSession) and session.client is not None else None


async def _drop(net: NetContext, only: Lwm2mSession | None = None) -> None:
    """Close the modem's session (or only ``only``, if it is still the current one: a slow
    register/deregister task must not close a session the host opened since)."""
    if only is not None and net.resources.get(RESOURCE_KEY) is not only:
        if only.client is not None:
            await only.close()
        return
    session = net.resources.pop(RESOURCE_KEY, None)
    if isinstance(session, Lwm2mSession):
        try:
            await session.close()
        except Exception:  # noqa: BLE001 - closing anyway
            log.exception("%s: closing the LwM2M client", net.name)


@executor(Lwm2mRegister)
async def register(effect: Lwm2mRegister, net: NetContext) -> None:
    await _drop(net)
    target, err, fault = net.internet.connect_target(effect.server, effect.port)
    if err:
        net.stimulus(Lwm2mRegistered(RESULT_DNS if err == "dns" else RESULT_FAILED))
        return
    if fault is not None and fault.kind == "drop":
        return  # black-holed: the modem's own timer (virtual clock) reports the timeout
    if effect.bootstrap:
        log.warning("%s: LwM2M bootstrap is not supported", net.name)
        net.stimulus(Lwm2mRegistered(RESULT_FAILED))
        return
    session = Lwm2mSession(net)
    internet = net.internet
    session.gate = RouteGate(internet, internet.route_for(effect.server, effect.port), net.clock, net.sync_clock)
    try:
        session.client = make_client(session, effect, target[0], target[1])
    except Exception:  # noqa: BLE001 - no client module, bad arguments
        log.exception("%s: cannot create the LwM2M client", net.name)
        net.stimulus(Lwm2mRegistered(RESULT_FAILED))
        return
    net.resources[RESOURCE_KEY] = session
    session.begin_exchange()
    try:
        result: Any = await session.client.register()
    except Exception as exc:  # noqa: BLE001
        result = exc
    code = request_result(result)
    if net.resources.get(RESOURCE_KEY) is not session:
        await _drop(net, only=session)  # the modem gave up (Lwm2mClose) or registered anew
        return
    if code != RESULT_OK:
        await _drop(net, only=session)
    net.stimulus(Lwm2mRegistered(code))
    session.end_exchange()


@executor(Lwm2mUpdate)
async def update(effect: Lwm2mUpdate, net: NetContext) -> None:
    session = _session(net)
    if session is None:
        net.stimulus(Lwm2mUpdated(RESULT_FAILED))
        return
    if session.dropping():
        return  # lost on the way: the modem's exchange timer reports the timeout
    session.begin_exchange()
    try:
        try:
            result: Any = await session.client.update(effect.lifetime, effect.binding)
        except Exception as exc:  # noqa: BLE001
            result = exc
        net.stimulus(Lwm2mUpdated(request_result(result)))
    finally:
        session.end_exchange()


@executor(Lwm2mDeregister)
async def deregister(effect: Lwm2mDeregister, net: NetContext) -> None:
    session = _session(net)
    if session is None:
        net.stimulus(Lwm2mDeregistered(RESULT_OK))  # nothing registered on our side
        return
    if session.dropping():
        return  # lost on the way: the modem's exchange timer gives up (and closes us)
    try:
        result: Any = await session.client.deregister()
    except Exception as exc:  # noqa: BLE001
        result = exc
    await _drop(net, only=session)
    net.stimulus(Lwm2mDeregistered(request_result(result)))


@executor(Lwm2mClose)
async def close(effect: Lwm2mClose, net: NetContext) -> None:
    await _drop(net)


@executor(Lwm2mNotify)
async def notify(effect: Lwm2mNotify, net: NetContext) -> None:
    session = _session(net)
    try:
        if session is None:
            raise RuntimeError("no LwM2M session")
        if session.dropping():
            return  # lost on the way: a CON one ends in "report_ack",1 by the modem's timer
        note = session.client.notify(effect.path, effect.payload, effect.confirmable)
        if not effect.confirmable:
            return
        ok, timeout = notify_outcome(await note.result)
    except Exception:  # noqa: BLE001 - not observed on the client side, socket gone ...
        log.exception("%s: LwM2M notify %s failed", net.name, effect.mid)
        ok, timeout = False, False
        if not effect.confirmable:
            return
    net.stimulus(Lwm2mNotifyAcked(effect.mid, ok, timeout))


def _answer(net: NetContext, kind: str, msgid: int, code: int, payload: bytes = b"") -> None:
    session = net.resources.get(RESOURCE_KEY)
    if not isinstance(session, Lwm2mSession) or not session.answer(kind, msgid, code, payload):
        log.info("%s: no waiting platform %s with msgid %s", net.name, kind, msgid)


@executor(Lwm2mObserveResponse)
def observe_response(effect: Lwm2mObserveResponse, net: NetContext) -> None:
    _answer(net, "observe", effect.msgid, effect.code, effect.payload)


@executor(Lwm2mReadResponse)
def read_response(effect: Lwm2mReadResponse, net: NetContext) -> None:
    _answer(net, "read", effect.msgid, effect.code, effect.payload)


@executor(Lwm2mWriteResponse)
def write_response(effect: Lwm2mWriteResponse, net: NetContext) -> None:
    _answer(net, "write", effect.msgid, effect.code)


@executor(Lwm2mExecuteResponse)
def execute_response(effect: Lwm2mExecuteResponse, net: NetContext) -> None:
    _answer(net, "execute", effect.msgid, effect.code)
