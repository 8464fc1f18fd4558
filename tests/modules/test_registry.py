"""Module registry: lazy loading, clear errors for typos, config overrides."""

from __future__ import annotations

import subprocess
import sys

import pytest

from emulator.at.commands import Kind
from emulator.config import load_config
from emulator.errors import UnknownModuleError
from emulator.modules import MODULES, available_modules, load_module
from emulator.modules.profile import ModuleProfile


def test_registry_is_lazy() -> None:
    code = ("import sys, emulator.modules as m; "
            "assert not [k for k in sys.modules if k.startswith('emulator.modules.quectel')], sys.modules; "
            "m.load_module('bg96'); "
            "assert 'emulator.modules.quectel_bg96' in sys.modules; "
            "assert 'emulator.modules.woorinet_wm_n400mse' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", list(MODULES))
def test_every_module_loads(name: str) -> None:
    profile = load_module(name)
    assert isinstance(profile, ModuleProfile) and profile.name == name
    assert len(profile.identity.imei) == 15 and profile.identity.imei.isdigit()
    assert ("+CSQ", Kind.EXEC) in profile.commands.handlers and ("E", Kind.EXEC) in profile.commands.handlers
    assert load_module(name.upper()) is profile  # names are case-insensitive, profiles shared


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


@pytest.mark.parametrize("name", list(MODULES))
def test_identity_is_well_formed(name: str) -> None:
    """IMEI (TS 23.003 §6.2: 14 digits + Luhn check digit) and ICCID (ITU-T E.118: 19 digits +
    Luhn check digit) pass the checks firmware runs on them; IMSI starts with the SIM's PLMN."""
    ident = load_module(name).identity
    assert len(ident.imei) == 15 and ident.imei.isdigit() and _luhn_ok(ident.imei), ident.imei
    assert len(ident.iccid) == 20 and ident.iccid.startswith("89") and _luhn_ok(ident.iccid), ident.iccid
    assert len(ident.imsi) == 15 and ident.imsi.startswith(("45005", "46011")), ident.imsi


def test_typo_lists_valid_names() -> None:
    with pytest.raises(UnknownModuleError) as info:
        load_module("bg69")
    message = str(info.value)
    assert "bg69" in message
    for name in available_modules():
        assert name in message
    assert isinstance(info.value, KeyError)


def test_overrides_identity_defaults_quirks() -> None:
    base = load_module("ec800e")
    prof = load_module("ec800e", {"name": "meter", "module": "ec800e", "imei": 866425035073255,
                                  "apn": "private.apn", "echo_default": False, "defaults": {"rssi": 9}})
    assert prof.identity.imei == "866425035073255" and prof.identity.imsi == base.identity.imsi
    assert prof.defaults["apn"] == "private.apn" and prof.defaults["rssi"] == 9
    assert prof.quirks.echo_default is False
    assert base.identity.imei == "868543060974334" and base.defaults["apn"] == "ctnet"  # untouched


def test_overrides_from_config_file_reach_the_modem(tmp_path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("modems:\n  - {name: meter, module: ec800e, imei: '866425035073255', rssi: 11}\n  - bg96\n")
    config = load_config(cfg)
    assert [(m.name, m.module) for m in config.modems] == [("meter", "ec800e"), ("bg96", "bg96")]
    from emulator.testing.sansio import Harness
    h = Harness(load_module("ec800e", config.modems[0].overrides))
    assert h.send(b"AT+CGSN;+CSQ\r").endswith(b"866425035073255\r\n\r\n+CSQ: 11,99\r\n\r\nOK\r\n")


def test_config_errors_are_clear(tmp_path) -> None:
    from emulator.errors import ConfigError
    cfg = tmp_path / "c.yaml"
    cfg.write_text("modems:\n  - {name: x}\n")
    with pytest.raises(ConfigError, match="needs a 'module'"):
        load_config(cfg)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
