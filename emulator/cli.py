"""``modemu`` command line: ``serve``, ``exec``, ``modules``, ``run``, ``examples``.

The flags of ``serve`` are a contract other projects' tests rely on; keep them stable:
``modemu serve [--module NAME]... [--count N]... [--link-dir DIR] [--ready-file FILE] [--ephemeral-ports]
[--route HOST[:PORT]=IP:PORT]... [--config FILE] [--api HOST:PORT] [--api-token TOKEN]
[--time-scale X] [--state-dir DIR]``.

Every error is one line on stderr (``modemu: ...``) and exit 2 — argparse's usage dump and any
traceback included (``-v`` shows the traceback of an unexpected one); option prefixes are not
abbreviated. Must not: start anything itself (serve.py, exec_child.py do) or hold protocol logic.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import NoReturn

from .errors import EmulatorError
from .modules import available_modules, load_module

EXAMPLES = {
    "serve": """examples:
  modemu serve                                   # every module, both platforms, API on :8765
  modemu serve --module bg96 --ephemeral-ports --ready-file /tmp/modemu.json
  modemu serve --route broker.example.com:1883=127.0.0.1:1883 --config modemu.yaml""",
    "exec": """examples:
  modemu exec --module bg96 -- ./firmware-host-build
  modemu exec --module ec800e --boot-delay 5 -- python3 my_driver.py   # the line is its stdin/stdout""",
    "modules": """example:
  modemu modules""",
    "run": """examples:
  modemu run scenarios/examples
  modemu run my_scenario.yaml --transport pty --junit report.xml -k login""",
    "examples": """example:
  modemu examples ./my-scenarios && modemu run ./my-scenarios""",
}


class Parser(argparse.ArgumentParser):
    """argparse with no option abbreviations and a one-line error (the fix: ``--help``)."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


class _Version(argparse.Action):
    """``--version``: the installed version, looked up only when asked (a metadata scan costs ms)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show program's version number and exit")

    def __call__(self, parser, namespace, values, option_string=None) -> NoReturn:  # noqa: ANN001
        print(f"modemu {_version()}")  # on stdout, as argparse's own version action
        parser.exit(0)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("modemu")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    p = Parser(prog="modemu", description="Emulated cellular-IoT modems and carrier platforms.",
               epilog="run `modemu COMMAND --help` for a command's options and examples")
    p.add_argument("--version", action=_Version)
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND", parser_class=Parser)
    s = sub.add_parser("serve", help="start modems on ptys + TCP, the embedded platforms and the console API",
                       description="Start the modems (a pty and a TCP port each), the embedded platforms "
                                   "and the console API; stop with Ctrl+C.", epilog=EXAMPLES["serve"])
    s.add_argument("--module", action="append", metavar="NAME",
                   help=f"module to start (repeatable; default: all of {', '.join(available_modules())})")
    s.add_argument("--count", action="append", type=int, metavar="N",
                   help="a fleet: N modems of each --module, named MODULE-0001... (one value for every "
                        "module, or one per --module in order; 1 keeps the plain name)")
    s.add_argument("--link-dir", default="/tmp/modemu", metavar="DIR",
                   help="directory for stable pty symlinks DIR/<modem> (default /tmp/modemu)")
    s.add_argument("--ready-file", metavar="FILE", help="write JSON describing every port once all listen")
    s.add_argument("--ephemeral-ports", action="store_true",
                   help="bind every listener to a free port (read them from --ready-file or the API)")
    s.add_argument("--route", action="append", default=[], metavar="HOST[:PORT]=IP:PORT",
                   help="send what modems dial to HOST[:PORT] to a loopback IP:PORT (repeatable)")
    s.add_argument("--config", metavar="FILE", help="YAML config (modems, backends, routes, ports; see README)")
    s.add_argument("--api", default="127.0.0.1:8765", metavar="HOST:PORT",
                   help="console API address, loopback only (default 127.0.0.1:8765)")
    s.add_argument("--time-scale", type=float, default=None, metavar="X",
                   help="virtual seconds per wall second (default 1)")
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
    x = sub.add_parser("exec", help="run a program (firmware under test) with a modem on its stdin/stdout",
                       description="Run PROGRAM with a modem on its stdin/stdout (a pty, raw). The modem\n"
                                   "powers on when the program flushes the line (pyserial does on open;\n"
                                   "tcflush) or after --boot-delay. Exit code: the program's (127: not found).",
                       epilog=EXAMPLES["exec"])
    x.add_argument("--module", default="bg96", metavar="NAME",
                   help="module on the program's serial line (default bg96)")
    x.add_argument("--config", metavar="FILE", help="YAML config (modems, backends, routes; see README)")
    x.add_argument("--route", action="append", default=[], metavar="HOST[:PORT]=IP:PORT",
                   help="send what the modem dials to HOST[:PORT] to a loopback IP:PORT (repeatable)")
    x.add_argument("--api", default="127.0.0.1:0", metavar="HOST:PORT",
                   help="console API address (default: any free port, in $MODEMU_API)")
    x.add_argument("--api-token", metavar="TOKEN",
                   help="require 'Authorization: Bearer TOKEN' on the console API (default: $MODEMU_API_TOKEN)")
    x.add_argument("--time-scale", type=float, default=None, metavar="X",
                   help="virtual seconds per wall second (default 1)")
    x.add_argument("--boot-delay", type=float, default=2.0, metavar="SECONDS",
                   help="power the modem on this many virtual seconds after the program starts, "
                        "unless it flushes the line first (default 2)")
    x.add_argument("--no-backends", action="store_true", help="do not start the embedded platforms")
    x.add_argument("--gnss-track", metavar="FILE", help="GPX or NMEA track the GNSS replays on the virtual clock")
    x.add_argument("--ready-file", metavar="FILE", help="write the ready JSON here before the program starts")
    x.add_argument("-v", "--verbose", action="store_true", help="log the libraries' messages too")
    x.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- PROGRAM [ARGS...]",
                   help="the program and its arguments")
    sub.add_parser("modules", help="list module profiles", description="List the module profiles.",
                   epilog=EXAMPLES["modules"])
    r = sub.add_parser("run", help="run scenario files or folders",
                       description="Run YAML scenarios (modem and platform steps in virtual time). Exit "
                                   "0: all passed, 1: one failed, 2: nothing to run.", epilog=EXAMPLES["run"])
    r.add_argument("paths", nargs="+", metavar="PATH", help="scenario files or folders (searched recursively)")
    r.add_argument("--junit", metavar="FILE", help="write JUnit XML here")
    r.add_argument("--transport", choices=("memory", "pty"), default="memory",
                   help="memory (default, fastest) or pty (through a real pseudo-terminal)")
    r.add_argument("--no-color", action="store_true", help="no ANSI colours (also: $NO_COLOR)")
    r.add_argument("-k", dest="keyword", metavar="WORD", help="only scenarios whose name contains this")
    r.add_argument("-q", "--quiet", action="store_true", help="print transcripts of failing scenarios only")
    e = sub.add_parser("examples", help="copy the example scenarios into a folder",
                       description="Copy the example scenarios shipped with modemu into DIR (created if "
                                   "missing; existing files are not overwritten).", epilog=EXAMPLES["examples"])
    e.add_argument("dir", metavar="DIR", help="folder to copy them into")
    return p


def examples_dir() -> Path:
    """The example scenarios: inside the wheel (``emulator/examples``) or the source tree."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "examples", here.parent / "scenarios" / "examples"):
        if candidate.is_dir():
            return candidate
    raise EmulatorError("the example scenarios are missing from this installation; reinstall modemu")


def copy_examples(dest: str) -> int:
    src, target = examples_dir(), Path(dest)
    try:
        target.mkdir(parents=True, exist_ok=True)
        copied = []
        for f in sorted(src.glob("*.yaml")):
            out = target / f.name
            if out.exists():
                raise EmulatorError(f"{out} exists; choose an empty folder (nothing was overwritten)")
            shutil.copyfile(f, out)
            copied.append(f.name)
    except OSError as exc:
        raise EmulatorError(f"cannot copy the examples to {dest}: {exc.strerror}") from None
    print(f"copied {len(copied)} example scenarios to {target}: {', '.join(copied)}")
    print(f"run them: modemu run {target}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from . import entrypoints
    from .cachedir import user_cache_dir
    entrypoints.set_cache_dir(user_cache_dir())  # before the help texts list the modules
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # named by the subcommand, whose --help lists what it takes
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        commands.choices[args.cmd].error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        if args.cmd == "modules":
            for name in available_modules():
                prof = load_module(name)
                print(f"{name:12} {prof.title}  (grammar {prof.grammar}, {len(prof.commands.handlers)} command forms)")
            return 0
        if args.cmd == "examples":
            return copy_examples(args.dir)
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
        return int(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:  # a file or socket the checks could not foresee
        print(f"modemu: {exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback (-v shows it)
        if getattr(args, "verbose", False):
            raise
        print(f"modemu: unexpected {type(exc).__name__}: {exc} (run with -v for the traceback; "
              "please report it)", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
