"""Every ``scenarios/**/*.yaml`` file is a test: it must load and pass, in-process (memory) and
through a real pty with pyserial (the issue-10 promise: every scenario on both transports)."""

from pathlib import Path

import pytest

from emulator.scenarios import load_scenario, run_scenario
from emulator.scenarios.report import failure_lines, transcript_lines

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "scenarios").rglob("*.yaml"))


def test_the_shipped_scenarios_exist():
    names = {str(p.relative_to(ROOT)) for p in FILES}
    assert "scenarios/conformance/ec800e/network_checks.yaml" in names
    for module in ("bg96", "wm-n400mse", "amm5918k"):
        assert f"scenarios/conformance/{module}/identity.yaml" in names


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT / "scenarios")) for p in FILES])
async def test_scenario(path):
    result = await run_scenario(load_scenario(path))
    if result.skipped:
        pytest.skip(result.skipped)
    assert result.passed, "\n".join(transcript_lines(result) + failure_lines(result))


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT / "scenarios")) for p in FILES])
async def test_scenario_on_pty(path):
    result = await run_scenario(load_scenario(path), transport="pty")
    if result.skipped:
        pytest.skip(result.skipped)
    assert result.passed, "\n".join(transcript_lines(result) + failure_lines(result))


async def test_guide_lwm2m_sections_run_back_to_back_on_one_modem():
    """Guide 001 §4.1.3.1 then §4.1.3.2 on the same module, as a reader typing the guide top to
    bottom does: the second section re-adds the objects the first one added (kept over DEREG)."""
    import dataclasses

    plain = load_scenario(ROOT / "scenarios/conformance/ec800e/lwm2m_plain.yaml")
    dtls = load_scenario(ROOT / "scenarios/conformance/ec800e/lwm2m_dtls.yaml")
    both = dataclasses.replace(plain, steps=plain.steps + dtls.steps, requires=dtls.requires,
                               within=max(plain.within, dtls.within))
    result = await run_scenario(both)
    if result.skipped:
        pytest.skip(result.skipped)
    assert result.passed, "\n".join(transcript_lines(result) + failure_lines(result))


async def test_pty_runs_on_the_same_virtual_clock_as_memory():
    """The pty transport moves virtual time exactly as the memory one does (the bench's autojump,
    not the wall clock): the same file gives the same transcript, timestamps included, however
    slow the pty is. The GNSS fixes interpolate a track on that clock, so a clock that followed
    the wall moved them on a loaded machine."""
    path = ROOT / "scenarios/stacks/bg96_gnss_track.yaml"
    runs = [await run_scenario(load_scenario(path), transport=t) for t in ("memory", "pty")]
    for r in runs:
        assert r.passed, "\n".join(transcript_lines(r) + failure_lines(r))
    memory, pty = ([(round(e.t, 6), e.kind, e.text) for e in r.transcript] for r in runs)
    assert pty == memory
