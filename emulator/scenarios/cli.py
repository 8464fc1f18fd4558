"""``modemu run PATH... [--junit FILE] [--transport memory|pty] [--no-color] [-k WORD]``.

Exit code: 0 all passed, 1 a scenario failed or did not load, 2 nothing to run.
Must not: hold scenario logic (runner.py) or formatting (report.py).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from ..errors import ScenarioError
from .loader import discover, load_scenario
from .report import print_result, summary_line, write_junit
from .runner import run_scenario


def run_command(args: argparse.Namespace) -> int:
    stream = sys.stdout
    try:
        stream.reconfigure(errors="replace")  # a scenario name with § must not crash an ASCII console
    except (AttributeError, ValueError):
        pass
    color = not getattr(args, "no_color", False) and stream.isatty() and "NO_COLOR" not in os.environ
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("amqtt", "transitions", "aiocoap", "coap-server"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    try:
        files = discover(args.paths)
    except ScenarioError as exc:
        print(f"modemu: {exc}", file=sys.stderr)
        return 2
    scenarios, load_errors = [], []
    for path in files:
        try:
            scenarios.append(load_scenario(path))
        except ScenarioError as exc:
            load_errors.append((str(path), str(exc)))
            print(f"ERROR {exc}", file=sys.stderr)
    keyword = getattr(args, "keyword", None)
    if keyword:
        scenarios = [s for s in scenarios if keyword.lower() in s.name.lower() or keyword in s.path]
    if not scenarios and not load_errors:
        print("modemu: no scenarios to run", file=sys.stderr)
        return 2
    transport = getattr(args, "transport", "memory") or "memory"
    results = []
    for scenario in scenarios:
        result = asyncio.run(run_scenario(scenario, transport=transport))
        results.append(result)
        print_result(result, stream, color=color, verbose=not getattr(args, "quiet", False))
    print(summary_line(results, len(load_errors), color=color), file=stream)
    if getattr(args, "junit", None):
        write_junit(results, args.junit, load_errors)
    return 0 if all(r.passed for r in results) and not load_errors else 1
