"""pytest plugin (entry point ``pytest11``): the ``modem`` fixture and its marker.

```python
@pytest.mark.modem(module="bg96", backends=["thingplug"])
def test_identity(modem):
    modem.send("AT+CGSN")
    modem.expect("{imei:\\d{15}}", "OK")
```
Marker keywords go to :class:`~emulator.testing.harness.ModemHarness` (module, name, backends
(default: none — a plain AT test starts no broker; ``None`` = all, as scenarios; a platform call
for one not started fails saying so), overrides (checked: an unknown key fails at set-up, as in
scenarios and the config file), config, within, wall, skip_boot, transport). Teardown fails the
test if the modem said something the test never read (unless the test failed already).
Must not: import the emulator at collection time (only when the fixture is used).
"""

from __future__ import annotations

import pytest


def pytest_configure(config):  # noqa: ANN001
    config.addinivalue_line("markers", "modem(module=..., backends=..., overrides=..., skip_boot=...): "
                                       "configure the modem fixture (emulator.testing.harness.ModemHarness)")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):  # noqa: ANN001, ANN201
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item._modemu_call_failed = report.failed


@pytest.fixture
def modem(request):  # noqa: ANN001, ANN201
    """An in-process emulated modem driven line by line (``send``/``expect``/``drain``)."""
    from .harness import ModemHarness
    marker = request.node.get_closest_marker("modem")
    kwargs = dict(marker.kwargs) if marker else {}
    if marker and marker.args:
        kwargs.setdefault("module", marker.args[0])
    overrides = kwargs.get("overrides")
    if overrides:
        from ..config import check_overrides
        problem = check_overrides(kwargs.get("module", "ec800e"), dict(overrides))
        if problem:
            pytest.fail(f"@pytest.mark.modem(overrides=...): {problem}", pytrace=False)
    harness = ModemHarness(**kwargs).start()
    try:
        yield harness
    finally:
        harness.close(check=not getattr(request.node, "_modemu_call_failed", True))
