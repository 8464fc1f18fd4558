"""Run a :class:`Scenario` on a :class:`Bench` and collect a :class:`ScenarioResult`.

Each step maps onto one bench call; variables (``{imei}``, captures, platform results) live
here. Must not: parse YAML or print.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from .engine import Bench, Entry, StepFailure
from .model import Scenario, Step
from .patterns import PatternError, substitute


@dataclass
class Failure:
    message: str
    step: Step | None
    where: str
    expected: list[str] = field(default_factory=list)
    actual: list[str] = field(default_factory=list)


@dataclass
class ScenarioResult:
    scenario: Scenario
    failure: Failure | None = None
    error: str | None = None        # the bench itself broke (backend failed to start ...)
    skipped: str | None = None      # not run: a feature in ``requires`` is missing (the reason)
    transcript: list[Entry] = field(default_factory=list)
    wall: float = 0.0
    virtual: float = 0.0
    steps_run: int = 0
    variables: dict[str, str] = field(default_factory=dict)
    energy: dict[str, dict] = field(default_factory=dict)  # modem -> energy meter report at the end

    @property
    def passed(self) -> bool:
        return self.failure is None and self.error is None


def missing_requirement(scenario: Scenario) -> str | None:
    """Why the scenario cannot run here (an optional feature it ``requires`` is missing), or None."""
    for need in scenario.requires:
        if need == "dtls":
            from ..backends.lwm2m import dtls_adapter
            if not dtls_adapter.DTLS_AVAILABLE:
                return "needs DTLS: " + dtls_adapter.DTLS_MISSING_REASON
    return None


def _initial_variables(bench: Bench, scenario: Scenario) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, decl in enumerate(scenario.modems):
        ident = bench.controls.port(decl.name).profile.identity
        for key in ("imei", "imsi", "iccid"):
            value = getattr(ident, key, None)
            if value is not None:
                out[f"{decl.name}.{key}"] = str(value)
                if i == 0:
                    out[key] = str(value)
    return out


def _subst_args(value: Any, variables: dict[str, str]) -> Any:
    if isinstance(value, str):
        return substitute(value, variables)
    if isinstance(value, dict):
        return {k: _subst_args(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_subst_args(v, variables) for v in value]
    return value


async def _run_step(bench: Bench, scenario: Scenario, step: Step, variables: dict[str, str]) -> None:
    modem = step.modem or scenario.default_modem
    within = step.within if step.within is not None else scenario.within
    allow = step.allow_other if step.allow_other is not None else scenario.allow_other
    wall = scenario.wall_timeout
    kind = step.kind
    if kind == "send":
        line = substitute(step.value, variables)
        end = step.line_end if step.line_end is not None else scenario.line_end
        await bench.send(modem, line.encode() + end.encode(), echo=line, allow_other=allow)
    elif kind == "send_raw":
        await bench.send(modem, step.value, echo=step.value.decode("latin-1"), allow_other=allow)
    elif kind in ("expect", "expect_urc"):
        variables.update(await bench.expect(modem, step.value, variables, within=within, wall=wall,
                                            allow_other=allow))
    elif kind == "expect_prompt":
        await bench.expect_prompt(modem, step.value, within=within, wall=wall, allow_other=allow)
    elif kind == "expect_none":
        await bench.expect_none(modem, step.value, wall=wall)
    elif kind == "wait":
        await bench.wait(step.value, wall=wall)
    elif kind == "advance":
        await bench.advance(step.value)
    elif kind == "control":
        await bench.control(modem, step.value)
    elif kind == "energy_below":
        await bench.energy_below(modem, step.value)
    elif kind == "platform":
        backend, action, args = step.value
        result = await bench.platform(backend, action, _subst_args(args, variables), wall=wall)
        if step.capture_as:
            variables[step.capture_as] = "" if result is None else (
                result if isinstance(result, str) else str(result))
            if isinstance(result, dict):
                for key, value in result.items():
                    variables[f"{step.capture_as}.{key}"] = str(value)
    else:  # pragma: no cover - the loader rejects unknown kinds
        raise AssertionError(kind)


async def run_scenario(scenario: Scenario, *, transport: str = "memory", idle: float = 0.02) -> ScenarioResult:
    result = ScenarioResult(scenario)
    result.skipped = missing_requirement(scenario)
    if result.skipped:
        return result
    bench = Bench(scenario.modems, backends=scenario.backends, config=scenario.config,
                  transport=transport, idle=idle)
    wall0 = time.monotonic()
    try:
        try:
            await bench.start()
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            result.error = f"could not start the bench: {type(exc).__name__}: {exc}"
            return result
        variables = _initial_variables(bench, scenario)
        if scenario.skip_boot:
            await bench.skip_boot(scenario.wall_timeout)
        current: Step | None = None
        try:
            for step in scenario.steps:
                current = step
                await _run_step(bench, scenario, step, variables)
                result.steps_run += 1
            current = None
            await bench.finish(allow_other=scenario.allow_other)
        except StepFailure as exc:
            where = scenario.where(current) if current else f"{scenario.path}:end"
            result.failure = Failure(exc.message, current, where, exc.expected, exc.actual)
        except (PatternError, asyncio.TimeoutError) as exc:
            where = scenario.where(current) if current else scenario.path
            result.failure = Failure(str(exc) or "timed out", current, where)
        except Exception as exc:  # noqa: BLE001 - a crash in a step is that step's failure
            where = scenario.where(current) if current else scenario.path
            result.failure = Failure(f"{type(exc).__name__}: {exc}", current, where)
        result.variables = variables
        result.virtual = bench.now - bench.t0
        result.energy = bench.energy_reports()
    finally:
        try:
            await bench.stop()
        except Exception as exc:  # noqa: BLE001
            result.error = result.error or f"stopping the bench failed: {exc}"
        result.transcript = bench.transcript
        result.wall = time.monotonic() - wall0
    return result


def run_scenario_sync(scenario: Scenario, **kwargs: Any) -> ScenarioResult:
    return asyncio.run(run_scenario(scenario, **kwargs))
