"""``modemu serve``: start modems, platforms and the console API, write the ready file, wait.

Also the shared pieces ``modemu exec`` uses: logging set-up, the modem list from flags and
config, the console API server and the ready file. Every check that needs nothing started runs
first (preflight.py: routes, names, each fixed port free), then the API socket is bound, so a
busy ``--api`` fails before any modem or platform listens; a start that fails anyway stops what
it started (``start_or_clean_up``). Must not: contain protocol logic or
decide what a console request does (``control.py`` does).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .apiserver import API_BACKLOG, ApiServer, api_address, api_token, bind_api  # noqa: F401 - exec imports them from here
from .config import Config, ModemSpec, default_modems, fleet_specs, load_config, load_gnss_track
from .errors import ConfigError, EmulatorError
from .modules import load_module
from .transport.statedir import StateDir

if TYPE_CHECKING:  # pragma: no cover
    from .transport.runner import Emulator


def run_loop(coro) -> int:  # noqa: ANN001
    """Run ``serve`` on uvloop when it is installed (a faster event loop: the AT round trip
    through the pty is mostly loop overhead), else on the standard asyncio loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def grammar_cache() -> None:
    """Cache the AT grammars' parser tables across runs in the user cache dir (cachedir.py:
    ``$MODEMU_CACHE_DIR``, XDG, ``~/.cache/modemu``; ``MODEMU_CACHE_DIR=off``: none)."""
    from .at.grammar import set_cache_dir
    from .cachedir import user_cache_dir
    set_cache_dir(user_cache_dir())


class EventPrinter:
    """Print every live event (``observe/bus.py``) as one readable line (``observe/render.py``)
    on stdout without ever blocking the emulator: when stdout is a pipe or file, it is made
    non-blocking and a reader that does not keep up (a test that pipes stdout and never reads
    it) loses lines, counted in a note, instead of freezing the event loop. A terminal stays
    blocking (its file description is shared with the shell). ``close`` restores the fd."""

    PENDING_LIMIT = 64 * 1024

    def __init__(self) -> None:
        sys.stdout.flush()
        self.fd = sys.stdout.fileno()
        self.restore = None if os.isatty(self.fd) else os.get_blocking(self.fd)
        if self.restore is not None:
            os.set_blocking(self.fd, False)
        self.pending = b""
        self.dropped = 0
        self.loop = asyncio.get_running_loop()
        self.waiting = False  # a loop writer is set: flush again once the reader made room
        from .observe.render import render
        self.render = render  # once, not per event (an import statement per AT line)

    def __call__(self, event: dict) -> None:
        line = (self.render(event) + "\n").encode("utf-8", "replace")
        if len(self.pending) + len(line) > self.PENDING_LIMIT:
            self.dropped += 1
        else:
            self.pending += line
        self.flush()

    def flush(self) -> None:
        if self.dropped and not self.pending:
            self.pending = f"({self.dropped} event lines not printed: stdout was not read)\n".encode()
            self.dropped = 0
        try:
            while self.pending:
                n = os.write(self.fd, self.pending)
                self.pending = self.pending[n:]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:  # stdout closed: stop printing, keep serving
            self.pending, self.dropped = b"", 0
        self._watch(bool(self.pending or self.dropped))

    def _watch(self, on: bool) -> None:
        if on == self.waiting or self.restore is None:
            return
        try:
            if on:
                self.loop.add_writer(self.fd, self.flush)
            else:
                self.loop.remove_writer(self.fd)
            self.waiting = on
        except (OSError, ValueError, NotImplementedError):  # a regular file: never blocks anyway
            pass

    def close(self, grace: float = 1.0) -> None:
        """Stop watching; give a reader up to ``grace`` wall seconds to take what is pending
        (and the note on dropped lines), then restore the fd's blocking mode."""
        import select
        import time
        self._watch(False)
        deadline = time.monotonic() + grace
        self.flush()
        while (self.pending or self.dropped) and (left := deadline - time.monotonic()) > 0:
            try:
                select.select([], [self.fd], [], left)
            except (OSError, ValueError):
                break
            self.flush()
            self._watch(False)
        if self.restore is not None:
            with contextlib.suppress(OSError):
                os.set_blocking(self.fd, self.restore)


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("amqtt", "transitions", "aiocoap", "uvicorn", "uvicorn.error", "coap-server"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.ERROR)


def modem_specs(config: Config, modules: list[str] | None, counts: list[int] | None = None,
                gnss_track: str | None = None) -> list[ModemSpec]:
    """The modems to start: the config's (filtered by ``--module``) or one per module; with
    ``--count`` a fleet of each ``--module`` (default: each module) instead. ``gnss_track``
    (``--gnss-track FILE``) is replayed by every modem's GNSS."""
    if counts:
        names = list(modules) if modules else [s.module for s in default_modems(None)]
        if len(counts) not in (1, len(names)):
            raise ConfigError(f"--count: give one N for every module or one per --module "
                              f"({len(names)} modules, {len(counts)} counts)")
        for name in names:
            load_module(name)  # typo -> a clear error before anything starts
        per = counts * len(names) if len(counts) == 1 else counts
        specs = [spec for name, n in zip(names, per) for spec in fleet_specs(name, n)]
    else:
        specs = [s for s in config.modems if not modules or s.module in modules] if config.modems \
            else default_modems(modules)
        for module in {s.module for s in specs}:
            load_module(module)  # typo -> a clear error before anything starts
    track = load_gnss_track(gnss_track) if gnss_track else None
    if track is not None:
        for spec in specs:
            spec.overrides["gnss_track"] = track
    return specs


EXIT_WALL = 4.0  # wall seconds from the first signal to a forced (clean-up-then-exit-0) exit


class Shutdown:
    """SIGINT/SIGTERM: the first stops intake at once and starts the orderly stop, with a
    watchdog thread that forces the exit after ``EXIT_WALL`` seconds; a second signal forces it
    now. A forced exit still removes the links and the ready file, then exits 0."""

    def __init__(self, emulator: "Emulator", ready_file: str | None) -> None:
        self.emulator, self.ready_file = emulator, ready_file
        self.requested = asyncio.Event()
        self._watchdog: threading.Timer | None = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        from .transport.shutdown import on_signals
        on_signals(loop, self.on_signal)  # a Python-level handler: uvloop's ran late under load

    def on_signal(self) -> None:
        if self.requested.is_set():
            self.force_exit()
        self.requested.set()
        self.emulator.stop_intake()
        self._watchdog = threading.Timer(EXIT_WALL, self.force_exit)
        self._watchdog.daemon = True
        self._watchdog.start()

    def force_exit(self) -> None:
        with contextlib.suppress(Exception):
            self.emulator.remove_links()
        remove_ready(self.ready_file)
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        os._exit(0)


def write_ready(path: str | None, info: dict[str, Any]) -> None:
    if path:
        tmp = Path(path).with_suffix(".tmp")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(info, indent=2))
        os.replace(tmp, path)


def remove_ready(path: str | None) -> None:
    if path:
        with contextlib.suppress(OSError):
            Path(path).unlink()


def preflight(config: Config, specs: list[ModemSpec], args: argparse.Namespace, backends: list[str] | None,
              *, tcp_base_port: int | None, api: str) -> None:
    """Every check that needs nothing started (preflight.py): routes, names, time scale, and
    each fixed port (modem TCP, the platforms', the console API's) free."""
    from . import preflight as checks
    from .backends import available_backends

    _, api_port = api_address(api)
    checks.check(config, specs, routes=args.route,
                 backends=available_backends() if backends is None else backends,
                 time_scale=args.time_scale, ephemeral=args.ephemeral_ports, tcp_base_port=tcp_base_port,
                 api_port=api_port or None)


async def start_or_clean_up(emulator: "Emulator", sock: socket.socket | None = None) -> None:
    """``emulator.start()``; if anything fails (a port taken since the checks ...), everything
    started so far (servers, ptys, links) is stopped before the error goes up as one line."""
    from .preflight import bind_error

    try:
        await emulator.start()
    except BaseException as exc:
        if sock is not None:
            sock.close()
        await emulator.stop()  # the ports already made (and their links) go too
        if isinstance(exc, OSError) and (line := bind_error(exc)) is not None:
            raise line from None
        raise


async def serve(args: argparse.Namespace) -> int:
    from .transport.runner import Emulator

    setup_logging(args.verbose)
    grammar_cache()
    config = load_config(args.config)
    specs = modem_specs(config, args.module, getattr(args, "count", None), getattr(args, "gnss_track", None))
    backends = [] if args.no_backends else None
    preflight(config, specs, args, backends, tcp_base_port=config.tcp_base_port, api=args.api)
    emulator = Emulator(config, modems=specs, link_dir=Path(args.link_dir) if args.link_dir else None,
                        ephemeral=args.ephemeral_ports, time_scale=args.time_scale, routes=args.route,
                        backends=backends, tcp_base_port=config.tcp_base_port)
    # the platforms bind their listeners in start(); their protocol libraries load and attach
    # to them once the ready file is written (backends/prebind.py), clients meanwhile wait
    attach = emulator.attach_later = asyncio.Event()
    shutdown = Shutdown(emulator, args.ready_file)
    shutdown.install(asyncio.get_running_loop())
    sock = bind_api(args.api, args.ephemeral_ports)  # a bad or busy --api fails before anything starts
    await start_or_clean_up(emulator, sock)
    import gc
    gc.freeze()  # what start-up made stays for the whole run: later GC passes skip it (fleets)
    sock.listen(API_BACKLOG)  # from here a request waits in the kernel until the app answers it
    api: ApiServer | None = None
    failed: list[str] = []

    async def bring_up_api() -> None:
        """The console API after the ready file: fastapi/uvicorn/pydantic cost more to import than
        everything else together, so they load in a worker thread while the modems and the
        platforms already answer; requests that arrive meanwhile wait in the listening socket's
        backlog and are answered once it serves (it is the app mounting the backends' routes)."""
        nonlocal api
        try:
            api = await asyncio.to_thread(ApiServer, emulator, args.api, args.ephemeral_ports, sock,
                                          getattr(args, "api_token", None))
            await api.start()
        except Exception as exc:  # noqa: BLE001 - one clear line, then the orderly stop
            failed.append(f"console API could not start: {exc}")
            shutdown.requested.set()
    api_task: asyncio.Task | None = None
    printer: EventPrinter | None = None
    state = None
    try:  # whatever fails from here on, links, ports and the ready file are cleaned up
        state_dir = getattr(args, "state_dir", None) or config.state_dir
        if state_dir:
            state = StateDir(state_dir)
            state.attach(emulator)
        bound = sock.getsockname()
        emulator.api_url = f"http://{bound[0]}:{bound[1]}"
        info = emulator.ready_info()
        try:
            write_ready(args.ready_file, info)
        except OSError as exc:
            raise ConfigError(f"--ready-file {args.ready_file}: {exc.strerror}: {exc.filename}") from exc
        _print_table(info)
        attach.set()
        api_task = asyncio.get_running_loop().create_task(bring_up_api())
        if not getattr(args, "quiet", False):
            printer = EventPrinter()  # from here on: one line per event (-q: none)
            for event in list(emulator.events.recent):  # what came before the table: the boot URCs
                printer(event)
            emulator.events.listen(printer)
        await shutdown.requested.wait()
        if failed:
            raise EmulatorError(failed[0])
    finally:
        if printer is not None:
            printer.close()
        if api_task is not None and not api_task.done():
            api_task.cancel()
            with contextlib.suppress(BaseException):
                await api_task
        if api is not None:
            await api.stop()
        else:
            sock.close()
        if state is not None:
            state.save_all()
        await emulator.stop()
        remove_ready(args.ready_file)
    return 0


def _print_table(info: dict) -> None:
    print("modemu ready")
    print(f"  {'modem':12} {'module':11} {'link':24} {'pty':14} tcp")
    for m in info["modems"]:
        print(f"  {m['name']:12} {m['module']:11} {str(m['link']):24} {str(m['pty']):14} {m['tcp']}")
    for key, addr in info["backends"].items():
        print(f"  backend {key:20} {addr}")
    print(f"  console API  {info['api']}  (docs: {info['api']}/docs)")
    sys.stdout.flush()


