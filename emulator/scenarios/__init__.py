"""Scenario files: transcript-like YAML run against in-process (or pty) modems.

``load_scenario(path)`` -> :class:`Scenario`; ``run_scenario(scenario)`` -> :class:`ScenarioResult`;
``modemu run`` is :func:`emulator.scenarios.cli.run_command`. The format is documented in README.md ("Scenarios").

Must not: hold state or run anything at import (it only re-exports the loader and the runner).
"""

from .loader import discover, load_scenario
from .model import Scenario, Step
from .runner import ScenarioResult, run_scenario, run_scenario_sync

__all__ = ["Scenario", "Step", "ScenarioResult", "discover", "load_scenario", "run_scenario",
           "run_scenario_sync"]
