"""Load the project's pytest plugin when running from a checkout (not installed as a wheel).

When modemu is installed, its ``pytest11`` entry point has registered the plugin already;
registering it again would fail, so only add it when no entry point provides it.
"""

from importlib.metadata import entry_points

_PLUGIN = "emulator.testing.pytest_plugin"

pytest_plugins = ["pytester"]  # tests/scenarios/test_harness.py runs a pytest inside pytest
if not any(ep.value == _PLUGIN for ep in entry_points(group="pytest11")):
    pytest_plugins.append(_PLUGIN)
