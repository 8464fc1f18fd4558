"""``modemu exec --module bg96 -- PROGRAM ARGS...``: run firmware under test as a child
process with an emulated modem on its stdin/stdout, and exit with the program's exit code.

The platforms and the console API run as in ``serve``; the child finds the API in
``MODEMU_API`` (and everything else in the ready JSON, path in ``MODEMU_READY`` when
``--ready-file`` is given).

Power-on: the modem is off while the program starts and sets up its line; it powers on (boot
URCs: ``RDY`` ...) at the program's first flush of the line (pyserial's open, ``tcflush``; the
pty reports it in packet mode, transport/child.py) or ``--boot-delay`` virtual seconds after the
start, whichever comes first — so a program that flushes on open still reads every boot URC.
A program that is not found is one line and exit 127 (a file that cannot run: 126), as a shell says,
before anything starts.
Must not: contain protocol logic.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil

from .config import ModemSpec, load_config, load_gnss_track
from .errors import ConfigError, EmulatorError
from .modules import load_module
from .serve import ApiServer, api_address, preflight, remove_ready, setup_logging, start_or_clean_up, write_ready
from .transport.shutdown import on_signals


class ProgramNotFound(EmulatorError):
    exit_code = 127  # what a shell answers for a missing command


class ProgramNotExecutable(EmulatorError):
    exit_code = 126  # what a shell answers for a file it cannot execute


def find_program(program: str) -> str:
    """The program's path, or one line before anything starts: ``ProgramNotFound`` (exit 127) for a
    missing one, ``ProgramNotExecutable`` (exit 126, as a shell) for a file without ``x``."""
    found = shutil.which(program)
    if found is None:
        if os.sep in program and os.path.exists(program):
            what = "a directory" if os.path.isdir(program) else "not executable (chmod +x?)"
            raise ProgramNotExecutable(f"exec: {program}: {what}")
        where = "no such file" if os.sep in program else "not found on PATH"
        raise ProgramNotFound(f"exec: {program}: {where}")
    return found


async def exec_child(args: argparse.Namespace) -> int:
    from .transport.child import ChildPort
    from .transport.runner import Emulator

    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        raise ConfigError("modemu exec needs a program: modemu exec --module bg96 -- ./firmware")
    find_program(argv[0])
    if not args.boot_delay >= 0:
        raise ConfigError(f"--boot-delay {args.boot_delay:g}: must be 0 or more seconds")
    setup_logging(args.verbose)
    load_module(args.module)
    config = load_config(args.config)
    track = {"gnss_track": load_gnss_track(args.gnss_track)} if getattr(args, "gnss_track", None) else {}
    specs = [ModemSpec(args.module, args.module, track)]
    backends = [] if args.no_backends else None
    args.ephemeral_ports = True  # the platforms listen on free ports; only --api may be fixed
    preflight(config, specs, args, backends, tcp_base_port=None, api="127.0.0.1:0")
    emulator = Emulator(config, modems=specs, ephemeral=True, with_pty=False,
                        with_tcp=False, time_scale=args.time_scale, routes=args.route, backends=backends)
    api_address(args.api)  # a bad --api fails before anything starts
    await start_or_clean_up(emulator)
    api = ApiServer(emulator, args.api, ephemeral=args.api.endswith(":0"), token=getattr(args, "api_token", None))
    child = None
    stopping = False

    def on_signal() -> None:
        nonlocal stopping
        stopping = True
        if child is not None:
            child.close()
    # before the ready file exists (a runner may signal as soon as it sees it; the default
    # handler then killed us with the ready file left behind), and a Python-level handler, not
    # loop.add_signal_handler: uvloop ran that late under load (transport/shutdown.py)
    loop = asyncio.get_running_loop()
    on_signals(loop, on_signal)
    try:
        emulator.api_url = await api.start()
        write_ready(args.ready_file, emulator.ready_info())
        env = dict(os.environ, MODEMU_API=emulator.api_url, MODEMU_MODULE=args.module)
        if args.ready_file:
            env["MODEMU_READY"] = os.path.abspath(args.ready_file)
        port = emulator.ports[args.module]
        port.power_off()  # off until the program has set up its line (or --boot-delay)
        powered = False

        def power_on() -> None:
            nonlocal powered
            if not powered:
                powered = True
                port.power_on()

        child = ChildPort(argv, port.feed, env, on_flush=power_on)
        port.sinks.append(child.write)
        child.start()
        if stopping:  # signalled while starting
            child.close()
        emulator.clock.call_later(args.boot_delay, power_on, "exec boot delay")
        await child.exited.wait()
        return await loop.run_in_executor(None, child.exit_code)
    finally:
        if child is not None:
            child.close()
        await api.stop()
        await emulator.stop()
        remove_ready(args.ready_file)
