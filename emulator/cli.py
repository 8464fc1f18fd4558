"""``modemu`` command line: ``serve``, ``modules``, ``run``.

The flags of ``serve`` are a contract other projects' tests rely on; keep them stable:
``modemu serve [--module NAME]... [--link-dir DIR] [--ready-file FILE] [--ephemeral-ports]
[--route HOST[:PORT]=IP:PORT]... [--config FILE] [--api HOST:PORT] [--time-scale X]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from pathlib import Path

from .config import default_modems, load_config
from .errors import EmulatorError
from .modules import available_modules, load_module


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="modemu", description="Emulated cellular-IoT modems and carrier platforms.")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="start modems on ptys + TCP, the embedded platforms and the console API")
    s.add_argument("--module", action="append", metavar="NAME", help="module to start (repeatable; default: all four)")
    s.add_argument("--link-dir", default="/tmp/modemu", help="directory for stable pty symlinks (default /tmp/modemu)")
    s.add_argument("--ready-file", help="write JSON describing every port once all listen")
    s.add_argument("--ephemeral-ports", action="store_true", help="bind every listener to port 0")
    s.add_argument("--route", action="append", default=[], metavar="HOST[:PORT]=IP:PORT",
                   help="send what modems dial to HOST[:PORT] to a loopback IP:PORT (repeatable)")
    s.add_argument("--config", help="YAML config (modems, backends, routes)")
    s.add_argument("--api", default="127.0.0.1:8765", help="console API address (default 127.0.0.1:8765)")
    s.add_argument("--time-scale", type=float, default=None, help="virtual seconds per wall second (default 1)")
    s.add_argument("--no-backends", action="store_true", help="do not start the embedded platforms")
    s.add_argument("-v", "--verbose", action="store_true")
    sub.add_parser("modules", help="list module profiles")
    r = sub.add_parser("run", help="run scenario files or folders")
    r.add_argument("paths", nargs="+")
    r.add_argument("--junit", help="write JUnit XML here")
    r.add_argument("--transport", choices=("memory", "pty"), default="memory")
    r.add_argument("--no-color", action="store_true")
    r.add_argument("-k", dest="keyword", help="only scenarios whose name contains this")
    r.add_argument("-q", "--quiet", action="store_true", help="print transcripts of failing scenarios only")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "modules":
            for name in available_modules():
                prof = load_module(name)
                print(f"{name:12} {prof.title}  (grammar {prof.grammar}, {len(prof.commands.handlers)} command forms)")
            return 0
        if args.cmd == "run":
            from .scenarios.cli import run_command
            return run_command(args)
        return _run_loop(_serve(args))
    except EmulatorError as exc:
        print(f"modemu: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


def _run_loop(coro) -> int:  # noqa: ANN001
    """Run ``serve`` on uvloop when it is installed (a faster event loop: the AT round trip
    through the pty is mostly loop overhead), else on the standard asyncio loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


async def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .api.app import create_app
    from .transport.runner import Emulator

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("amqtt", "transitions", "aiocoap", "uvicorn", "uvicorn.error", "coap-server"):
        logging.getLogger(noisy).setLevel(logging.ERROR if not args.verbose else logging.INFO)
    config = load_config(args.config)
    specs = [s for s in config.modems if not args.module or s.module in args.module] if config.modems \
        else default_modems(args.module)
    for spec in specs:
        load_module(spec.module)  # typo -> a clear error before anything starts
    emulator = Emulator(config, modems=specs, link_dir=Path(args.link_dir) if args.link_dir else None,
                        ephemeral=args.ephemeral_ports, time_scale=args.time_scale, routes=args.route,
                        backends=[] if args.no_backends else None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await emulator.start()
    host, _, port = args.api.rpartition(":")
    server = uvicorn.Server(uvicorn.Config(create_app(emulator), host=host or "127.0.0.1",
                                           port=0 if args.ephemeral_ports else int(port),
                                           log_level="warning", lifespan="off"))
    # uvicorn would take SIGINT/SIGTERM for itself; the emulator shuts everything down in order.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    api_task = loop.create_task(server.serve())
    while not server.started:
        if api_task.done():
            await emulator.stop()
            raise EmulatorError(f"console API could not listen on {args.api}")
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()
    emulator.api_url = f"http://{bound[0]}:{bound[1]}"
    info = emulator.ready_info()
    _print_table(info)
    if args.ready_file:
        tmp = Path(args.ready_file).with_suffix(".tmp")
        tmp.write_text(json.dumps(info, indent=2))
        os.replace(tmp, args.ready_file)
    try:
        await stop.wait()
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(api_task, 3.0)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            api_task.cancel()
        await emulator.stop()
        if args.ready_file:
            try:
                Path(args.ready_file).unlink()
            except OSError:
                pass
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
