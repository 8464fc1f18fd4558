"""``modemu`` command line: ``serve``, ``exec``, ``modules``, ``run``.

The flags of ``serve`` are a contract other projects' tests rely on; keep them stable:
``modemu serve [--module NAME]... [--link-dir DIR] [--ready-file FILE] [--ephemeral-ports]
[--route HOST[:PORT]=IP:PORT]... [--config FILE] [--api HOST:PORT] [--api-token TOKEN]
[--time-scale X] [--state-dir DIR]``.

Must not: print a traceback for a user error (one clear line, exit 2) or hold emulator logic
(serve.py, exec_child.py and scenarios/cli.py do the work).
"""

from __future__ import annotations

import argparse
import sys

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
    s.add_argument("--api-token", metavar="TOKEN",
                   help="require 'Authorization: Bearer TOKEN' on every console API request "
                        "(default: $MODEMU_API_TOKEN, else none)")
    s.add_argument("--no-backends", action="store_true", help="do not start the embedded platforms")
    s.add_argument("--gnss-track", metavar="FILE", help="GPX or NMEA track every GNSS module replays on the virtual clock")
    s.add_argument("--state-dir", metavar="DIR",
                   help="keep the modems' file systems (AT+QFUPL ...) in DIR across runs")
    s.add_argument("-v", "--verbose", action="store_true", help="also print the libraries' logs (otherwise quiet)")
    s.add_argument("-q", "--quiet", action="store_true",
                   help="print no live events after the ready table (default: one line per event)")
    x = sub.add_parser("exec", help="run a program (firmware under test) with a modem on its stdin/stdout")
    x.add_argument("--module", default="bg96", help="module on the program's serial line (default bg96)")
    x.add_argument("--config", help="YAML config (modems, backends, routes)")
    x.add_argument("--route", action="append", default=[], metavar="HOST[:PORT]=IP:PORT")
    x.add_argument("--api", default="127.0.0.1:0", help="console API address (default: any free port)")
    x.add_argument("--time-scale", type=float, default=None)
    x.add_argument("--no-backends", action="store_true")
    x.add_argument("--gnss-track", metavar="FILE", help="GPX or NMEA track the GNSS replays on the virtual clock")
    x.add_argument("--ready-file", help="write the ready JSON here before the program starts")
    x.add_argument("-v", "--verbose", action="store_true")
    x.add_argument("argv", nargs=argparse.REMAINDER, help="-- PROGRAM [ARGS...]")
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
        from .serve import run_loop, serve
        if args.cmd == "exec":
            from .exec_child import exec_child
            return run_loop(exec_child(args))
        return run_loop(serve(args))
    except EmulatorError as exc:
        print(f"modemu: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
