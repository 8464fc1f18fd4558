"""``modemu exec --module bg96 -- PROGRAM ARGS...``: run firmware under test as a child
process with an emulated modem on its stdin/stdout, and exit with the program's exit code.

The platforms and the console API run as in ``serve``; the child finds the API in
``MODEMU_API`` (and everything else in the ready JSON, path in ``MODEMU_READY`` when
``--ready-file`` is given). Must not: contain protocol logic.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

from .config import ModemSpec, load_config, load_gnss_track
from .errors import ConfigError
from .modules import load_module
from .serve import ApiServer, api_address, remove_ready, setup_logging, write_ready


async def exec_child(args: argparse.Namespace) -> int:
    from .transport.child import ChildPort
    from .transport.runner import Emulator

    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        raise ConfigError("modemu exec needs a program: modemu exec --module bg96 -- ./firmware")
    setup_logging(args.verbose)
    load_module(args.module)
    config = load_config(args.config)
    emulator = Emulator(config, modems=[ModemSpec(args.module, args.module, {"gnss_track": load_gnss_track(args.gnss_track)} if getattr(args, "gnss_track", None) else {})], ephemeral=True, with_pty=False,
                        with_tcp=False, time_scale=args.time_scale, routes=args.route,
                        backends=[] if args.no_backends else None)
    api_address(args.api)  # a bad --api fails before anything starts
    await emulator.start()
    api = ApiServer(emulator, args.api, ephemeral=args.api.endswith(":0"))
    child = None
    try:
        emulator.api_url = await api.start()
        write_ready(args.ready_file, emulator.ready_info())
        env = dict(os.environ, MODEMU_API=emulator.api_url, MODEMU_MODULE=args.module)
        if args.ready_file:
            env["MODEMU_READY"] = os.path.abspath(args.ready_file)
        port = emulator.ports[args.module]
        # the child is started first and attached before the modem's boot URCs are written,
        # so it reads them as firmware reads a module powering up
        port.modem.reboot(delay=0.0)
        child = ChildPort(argv, port.feed, env)
        port.sinks.append(child.write)
        child.start()
        port.drain()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, child.close)
        await child.exited.wait()
        return await loop.run_in_executor(None, child.exit_code)
    finally:
        if child is not None:
            child.close()
        await api.stop()
        await emulator.stop()
        remove_ready(args.ready_file)
