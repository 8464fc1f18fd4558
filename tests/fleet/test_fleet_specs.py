"""Fleet naming and identities: ``--count`` with each ``--module`` and ``fleet:`` in the config
give the same modems (``<module>-0001`` ..., a count of 1 keeps the plain name), each a device of
its own to the platforms (IMEI and ICCID with valid Luhn digits, distinct IMSIs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.config import Config, fleet_names, load_config
from emulator.errors import ConfigError
from emulator.modules import load_module
from emulator.serve import modem_specs


def _luhn_ok(digits: str) -> bool:
    total = 0
    for pos, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if pos % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def test_count_names_each_module_in_order() -> None:
    specs = modem_specs(Config(), ["bg96", "ec800e"], [3])
    assert [s.name for s in specs] == ["bg96-0001", "bg96-0002", "bg96-0003",
                                       "ec800e-0001", "ec800e-0002", "ec800e-0003"]
    assert {s.module for s in specs} == {"bg96", "ec800e"}


def test_one_count_per_module_and_one_keeps_the_plain_name() -> None:
    specs = modem_specs(Config(), ["bg96", "amm5918k"], [1, 2])
    assert [s.name for s in specs] == ["bg96", "amm5918k-0001", "amm5918k-0002"]
    assert load_module("bg96", specs[0].overrides).identity == load_module("bg96").identity


def test_count_without_module_is_a_fleet_of_every_module() -> None:
    specs = modem_specs(Config(), None, [2])
    assert len(specs) == 8 and specs[0].name.endswith("-0001") and specs[-1].name.endswith("-0002")


def test_names_widen_past_9999_so_they_sort() -> None:
    names = fleet_names("bg96", 10_000)
    assert names[0] == "bg96-00001" and names[-1] == "bg96-10000" and names == sorted(names)


def test_members_are_distinct_devices_with_valid_identities() -> None:
    specs = modem_specs(Config(), ["ec800e"], [300])
    idents = [load_module(s.module, s.overrides).identity for s in specs]
    assert idents[0] == load_module("ec800e").identity  # the first member is the module's own device
    for field in ("imei", "imsi", "iccid"):
        values = [getattr(i, field) for i in idents]
        assert len(set(values)) == len(values), field
    assert all(len(i.imei) == 15 and _luhn_ok(i.imei) for i in idents)
    assert all(_luhn_ok(i.iccid) for i in idents)


@pytest.mark.parametrize("counts", [[0], [2, 3, 4], [-1]])
def test_bad_counts_are_one_clear_error(counts: list[int]) -> None:
    with pytest.raises(ConfigError, match="count"):
        modem_specs(Config(), ["bg96", "ec800e"], counts)


def test_fleet_key_in_the_config_does_the_same(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("modems: [{name: gw, module: bg96}]\n"
                   "fleet:\n  - {module: ec800e, count: 3}\n  - {module: bg96, count: 1, name: solo}\n")
    names = [s.name for s in load_config(cfg).modems]
    assert names == ["gw", "ec800e-0001", "ec800e-0002", "ec800e-0003", "solo"]
    cfg.write_text("fleet: {amm5918k: 2}\n")
    assert [s.name for s in load_config(cfg).modems] == ["amm5918k-0001", "amm5918k-0002"]
    cfg.write_text("fleet: {amm5918k: lots}\n")
    with pytest.raises(ConfigError, match="fleet count"):
        load_config(cfg)
