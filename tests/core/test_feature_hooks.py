"""The core calls the hooks a feature declares (core/feature.py); nothing is patched onto the Modem."""

from __future__ import annotations

from dataclasses import replace

from emulator.core.feature import CommandTable, Feature
from emulator.core.modem import Modem
from emulator.core.stimuli import PowerOn
from emulator.modules import load_module


def _out(m: Modem) -> bytes:
    return b"".join(e.data for e in m.events() if type(e).__name__ == "ToHost")


def test_input_gate_reach_gate_and_paging_are_asked_every_time() -> None:
    flags = {"uart": True, "reach": True}
    calls: list = []
    base = load_module("ec800e")
    probe = Feature("probe", CommandTable("probe"),
                    input_gate=lambda ctx: flags["uart"], reach_gate=lambda ctx: flags["reach"],
                    next_paging=lambda ctx: ctx.clock.now() - 1.0, on_line=lambda ctx: calls.append("line"),
                    on_power=lambda ctx, on: calls.append(on))
    m = Modem(replace(base, features=base.features + (probe,)))
    _out(m)
    m.receive_data(b"ATE0\r")
    assert _out(m) == b"ATE0\r\r\nOK\r\n" and calls == ["line"]
    flags["uart"] = False
    m.receive_data(b"AT\r")  # the UART sleeps: the bytes are lost, no line starts
    assert _out(m) == b"" and calls == ["line"]
    flags["uart"] = True
    m.receive_data(b"AT\r")
    assert _out(m) == b"\r\nOK\r\n" and calls == ["line", "line"]
    assert m.reachable
    flags["reach"] = False
    assert not m.reachable
    assert m.next_paging() == m.clock.now() - 1.0  # the earliest declared paging time wins
    m.power_off()
    m.receive_stimulus(PowerOn())
    assert calls[-2:] == [False, True]
    assert m.next_paging() is not None
    m.power_off()
    assert m.next_paging() is None  # powered down: not pageable, whatever the features say


def test_energy_meter_is_made_once_per_device_by_the_declaring_feature() -> None:
    m = Modem(load_module("bg96"))
    meter = m.energy
    assert meter is not None and m.state.energy is meter
    m.power_off()
    m.receive_stimulus(PowerOn())
    assert m.energy is meter and m.state.energy is meter  # a fresh state, the same meter
    assert not hasattr(m, "energy_meter") and not hasattr(m, "_power_wired")


def test_profile_without_power_feature_has_no_meter_and_no_gates() -> None:
    base = load_module("ec800e")
    bare = replace(base, features=tuple(f for f in base.features if f.name != "power"))
    m = Modem(bare)
    assert m.energy is None and m.reachable
    m.receive_data(b"AT\r")
    assert _out(m).endswith(b"\r\nOK\r\n")
