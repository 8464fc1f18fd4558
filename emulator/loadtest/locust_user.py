"""Locust users that are in-process modems: ``ModemUser`` runs a scenario on its own modem.

Each Locust process that runs users (the worker, or a plain local run) starts one
:class:`~emulator.loadtest.fleet.Fleet` on its first user: ``--modems-per-worker`` modems of
``--modemu-module`` in one emulator on a native OS thread (fleet.py says why not a greenlet), with
the embedded platforms on loopback unless ``--modemu-backends`` says otherwise, and
``--modemu-route HOST[:PORT]=IP:PORT`` pointing the modems' hostnames at the user's own broker or
LwM2M server (loopback addresses only, like ``modemu serve --route``). Every user takes a free
modem and, in a loop, runs the steps of ``--modemu-scenario`` (steps.py: send/expect subset of the
scenario YAML); every AT command is a Locust request (``request_type`` "AT", name the command
without arguments), so the statistics and the web UI show AT latency per command. An expectation
that does not hold is a failed request of type "EXPECT" named after the step.

Subclass to change the defaults in a locustfile (``scenario``, ``module``, ``wait_time``), or pass
the options on the command line. The master needs none of it running: it only aggregates.

Must not: be imported by the emulator (Locust and gevent are optional dependencies) or bind or
dial anything off loopback.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from locust import User, constant, events, task
from locust.exception import StopUser

from ..errors import EmulatorError
from .fleet import Fleet
from .steps import LineRunner, StepFailure, load

_fleet: Fleet | None = None
_scenarios: dict[str, Any] = {}
_broken: list[str] = []  # the one-line reason this process cannot run users (said once)
_starting = threading.Lock()  # gevent's lock once Locust patched threading: users queue up on it


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("modemu")
    group.add_argument("--modemu-scenario", default="", help="scenario YAML each ModemUser runs (send/expect steps)")
    group.add_argument("--modemu-module", default="", help="module of the fleet's modems (default: the scenario's)")
    group.add_argument("--modems-per-worker", type=int, default=0,
                       help="modems each worker's emulator starts with (default 10; it adds 50 more whenever "
                            "its users have taken them all)")
    group.add_argument("--modemu-backends", default="all", help="embedded platforms: all, none or a,b (default all)")
    group.add_argument("--modemu-route", action="append", default=[], metavar="HOST[:PORT]=IP:PORT",
                       help="point a hostname at your own broker/LwM2M server on loopback (repeatable)")


@events.quitting.add_listener
def _stop_fleet(**_: Any) -> None:
    global _fleet
    fleet, _fleet = _fleet, None
    if fleet is not None:
        fleet.stop()


def _option(environment: Any, name: str, default: Any) -> Any:
    options = getattr(environment, "parsed_options", None)
    value = getattr(options, name, None) if options is not None else None
    return value if value not in (None, "", 0, []) else default


def _backends(raw: str) -> list[str] | None:
    return None if raw in ("", "all") else [] if raw == "none" else [b for b in raw.split(",") if b]


def shared_fleet(environment: Any, module: str, count: int) -> Fleet:
    """This process's fleet, started on first use."""
    global _fleet
    with _starting:  # the first user starts it, the others (spawned meanwhile) wait for it
        if _broken:
            raise RuntimeError(_broken[0])
        if _fleet is None:
            _fleet = Fleet(module, count, prefix=f"locust{os.getpid()}",
                           backends=_backends(_option(environment, "modemu_backends", "all")),
                           routes=list(_option(environment, "modemu_route", []))).start()
    return _fleet


class ModemUser(User):
    """One simulated device: a modem of the fleet driven by the scenario's steps, again and again."""

    abstract = True
    scenario: str = ""          # path of the scenario YAML (or --modemu-scenario)
    module: str = ""            # the fleet's module (or --modemu-module; default the scenario's)
    modems: int = 0             # modems a worker starts with (or --modems-per-worker; default 10, grows)
    wait_time = constant(1)

    def on_start(self) -> None:
        if not _broken:
            try:
                self._setup()
                return
            except (EmulatorError, ValueError, RuntimeError, OSError) as exc:
                if not _broken:
                    _broken.append(f"modemu: {exc}".splitlines()[0])
                    logging.getLogger("modemu").error(_broken[0])  # one clear line, no traceback
                    self.environment.process_exit_code = 2
                    runner = getattr(self.environment, "runner", None)
                    if runner is not None:  # from its own greenlet: quitting kills this one
                        import gevent
                        gevent.spawn(runner.quit)
        self._runner = None  # its task stops the user (StopUser from on_start prints a traceback)

    def _setup(self) -> None:
        env = self.environment
        path = _option(env, "modemu_scenario", self.scenario)
        if not path:
            raise ValueError("no scenario: set ModemUser.scenario or pass --modemu-scenario FILE")
        if path not in _scenarios:
            _scenarios[path] = load(path)
        self._scenario = _scenarios[path]
        decl = self._scenario.modems[0]
        module = _option(env, "modemu_module", self.module) or decl.module
        count = _option(env, "modems_per_worker", self.modems) or 10
        fleet = shared_fleet(env, module, count)
        self._fleet = fleet
        self._name, self._sock = fleet.take()
        number = fleet.names.index(self._name) + 1
        self._runner = LineRunner(self._sock, self._report, {"user": str(number), "modem": self._name})

    def on_stop(self) -> None:
        sock = getattr(self, "_sock", None)
        if sock is not None:
            if self._runner is not None and self._runner.dirty:  # stopped mid-command
                try:
                    self._runner.resync()
                except OSError:
                    pass
            self._fleet.give_back(self._name, sock)
            self._sock = None

    def _report(self, request_type: str, name: str, ms: float, size: int, exc: Exception | None) -> None:
        self.environment.events.request.fire(request_type=request_type, name=name, response_time=ms,
                                             response_length=size, exception=exc, context={"modem": self._name})

    @task
    def scenario_pass(self) -> None:
        if self._runner is None:
            raise StopUser()
        try:
            self._runner.run(self._scenario)
        except StepFailure as exc:
            self._report("EXPECT", os.path.basename(exc.message.split(": ", 1)[0]), 0.0, 0, exc)
        except ConnectionError as exc:
            self._report("AT", "(line)", 0.0, 0, exc)
            raise StopUser() from exc
