"""ModemHarness: drive one in-process emulated modem from a test, line by line, strictly.

Synchronous API (works from plain and async tests): the Emulator and its bench run on their
own asyncio loop in a background thread, with the same virtual-time autojump as scenarios.
``send()`` writes a command (CR appended); ``expect(*lines)`` consumes consecutive output lines
(exact text, ``{name}`` / ``{name:regex}`` patterns, or compiled ``re.Pattern``) and returns
the captures; ``drain()`` hands back (and forgets) unread lines. Strict: an unexpected line
fails ``expect``, and output nobody read fails ``close(check=True)`` (the fixture's teardown).
Controls (``control(network="detach")``, ``advance``, ``platform``) are the scenario steps'
(the bench's), which call :class:`emulator.control.Control`; ``controls`` is that object for
direct use (``h.controls.describe(h.name)``), run on the emulator's loop with ``call``.

Must not: know pytest (pytest_plugin.py) or decide what a control does (control.py does).
"""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any, Callable

from ..scenarios.engine import Bench, StepFailure
from ..scenarios.model import ModemDecl
from ..scenarios.patterns import Pattern, parse_duration, substitute


def _pattern(item: "str | re.Pattern[str] | Pattern") -> Pattern:
    if isinstance(item, Pattern):
        return item
    if isinstance(item, re.Pattern):
        return Pattern(item.pattern, raw_regex=True)
    return Pattern(str(item))


def _explain(exc: StepFailure) -> str:
    lines = [exc.message]
    if exc.expected or exc.actual:
        lines.append("expected: " + " | ".join(exc.expected))
        lines.append("received: " + " | ".join(exc.actual))
    return "\n".join(lines)


class ModemHarness:
    def __init__(self, module: str = "ec800e", *, name: str | None = None, backends: list[str] | None = (),
                 overrides: dict[str, Any] | None = None, config: dict[str, Any] | None = None,
                 within: float = 10.0, wall: float = 10.0, skip_boot: bool = True,
                 transport: str = "memory") -> None:
        self.name = name or module
        self.decl = ModemDecl(self.name, module, dict(overrides or {}))
        self.backends = None if backends is None else list(backends)
        self.config, self.transport = dict(config or {}), transport
        self.within, self.wall, self.skip_boot = within, wall, skip_boot
        self.variables: dict[str, str] = {}
        self.bench: Bench | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> "ModemHarness":
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"harness-{self.name}", daemon=True)
        self._thread.start()

        async def boot() -> None:
            self.bench = Bench([self.decl], backends=self.backends, config=self.config, transport=self.transport)
            await self.bench.start()
            ident = self.port.profile.identity
            self.variables.update({k: str(getattr(ident, k)) for k in ("imei", "imsi", "iccid")
                                   if getattr(ident, k, None) is not None})
            if self.skip_boot:
                await self.bench.skip_boot(self.wall)
        try:
            self._run(boot(), timeout=60)
        except BaseException:
            self._shutdown()
            raise
        return self

    def close(self, check: bool = True) -> None:
        """Stop everything; with ``check``, unread output is an AssertionError."""
        if self._loop is None:
            return
        problem: StepFailure | None = None
        try:
            if check and self.bench is not None:
                try:
                    self._run(self.bench.finish(), raw=True)
                except StepFailure as exc:
                    problem = exc
        finally:
            self._shutdown()
        if problem is not None:
            raise AssertionError(_explain(problem))

    def _shutdown(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        if self.bench is not None:
            try:
                asyncio.run_coroutine_threadsafe(self.bench.stop(), loop).result(15)
            except Exception:  # noqa: BLE001 - shutting down anyway
                pass
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        loop.close()

    def __enter__(self) -> "ModemHarness":
        return self.start()

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.close(check=exc_type is None)

    def _run(self, coro: Any, timeout: float | None = None, raw: bool = False) -> Any:
        if self._loop is None:
            raise RuntimeError("the harness is not started (call start() or use it as a context manager)")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout if timeout is not None else self.wall + 30)
        except StepFailure as exc:
            if raw:
                raise
            raise AssertionError(_explain(exc)) from None

    # --- the emulator -------------------------------------------------------------------------
    @property
    def emulator(self) -> Any:
        assert self.bench is not None
        return self.bench.emulator

    @property
    def controls(self) -> Any:
        """The :class:`emulator.control.Control` of this harness's emulator."""
        assert self.bench is not None
        return self.bench.controls

    @property
    def port(self) -> Any:
        return self.controls.port(self.name)

    @property
    def modem(self) -> Any:
        return self.port.modem

    @property
    def transcript(self) -> list[Any]:
        return list(self.bench.transcript) if self.bench else []

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn()`` on the emulator's loop (it may return a coroutine)."""
        async def run() -> Any:
            result = fn()
            return await result if asyncio.iscoroutine(result) else result
        return self._run(run())

    # --- steps --------------------------------------------------------------------------------
    def send(self, line: str) -> None:
        text = substitute(line, self.variables)
        self._run(self.bench.send(self.name, text.encode() + b"\r", echo=text))

    def send_raw(self, data: bytes) -> None:
        self._run(self.bench.send(self.name, bytes(data), echo=bytes(data).decode("latin-1")))

    def expect(self, *lines: "str | re.Pattern[str]", within: float | str | None = None,
               allow_other: bool = False) -> dict[str, str]:
        if not lines:
            raise ValueError("expect() needs at least one line")
        budget = parse_duration(within) if within is not None else self.within
        caps = self._run(self.bench.expect(self.name, [_pattern(x) for x in lines], self.variables,
                                           within=budget, wall=self.wall, allow_other=allow_other))
        self.variables.update(caps)
        return caps

    expect_urc = expect

    def command(self, line: str, *response: "str | re.Pattern[str]", **kw: Any) -> dict[str, str]:
        """``send(line)`` then ``expect(*response)`` (default ``OK``)."""
        self.send(line)
        return self.expect(*(response or ("OK",)), **kw)

    def expect_prompt(self, prompt: str = "> ", within: float | str | None = None) -> None:
        budget = parse_duration(within) if within is not None else self.within
        self._run(self.bench.expect_prompt(self.name, prompt, within=budget, wall=self.wall))

    def expect_none(self, seconds: float | str) -> None:
        self._run(self.bench.expect_none(self.name, parse_duration(seconds), wall=self.wall))

    def wait(self, seconds: float | str) -> None:
        self._run(self.bench.wait(parse_duration(seconds), wall=self.wall))

    def advance(self, seconds: float | str) -> None:
        self._run(self.bench.advance(parse_duration(seconds)))

    def drain(self) -> list[str]:
        """Unread output lines (after letting pending I/O finish); they count as read."""
        async def go() -> list[str]:
            await self.bench.quiesce()
            return self.bench._unread(self.bench.links[self.name])
        return self._run(go())

    def control(self, **action: Any) -> None:
        """``control(network="detach")``, ``control(power="off")`` ... (see README.md, "Scenarios")."""
        self._run(self.bench.control(self.name, action))

    def platform(self, backend: str, action: str, **args: Any) -> Any:
        if self.backends is not None and backend not in self.backends and backend != "sms":
            raise AssertionError(f"platform {backend!r} is not running: this modem started "
                                 f"backends={self.backends!r}; start it with backends=[{backend!r}] "
                                 f"(pytest: @pytest.mark.modem(backends=[{backend!r}]))")
        return self._run(self.bench.platform(backend, action, args, wall=self.wall))

    @property
    def now(self) -> float:
        return self.emulator.clock.now()
