"""Builds a :class:`ModuleProfile` from ``modules/data/<name>.yaml`` plus a feature list.

Data for the trivial (identity, fixed answers, network values), code for the stateful
(phonesim's lesson). Overrides from ``--config`` (``modems: [{name, module, imei, ...}]``)
are applied here.

Must not: contain command logic.
"""

from __future__ import annotations

from dataclasses import fields, replace
from importlib import resources
from typing import Any, Mapping

import yaml

from .profile import Feature, Identity, ModuleProfile, Quirks


def load_data(name: str) -> dict[str, Any]:
    text = resources.files("emulator.modules").joinpath("data", f"{name}.yaml").read_text()
    # libyaml's loader when PyYAML has it (10x faster: four profiles' YAML was a fifth of start-up)
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader


def build_profile(name: str, data_name: str, features: tuple[Feature, ...]) -> ModuleProfile:
    data = load_data(data_name)
    ident = dict(data["identity"])
    ident["ati"] = tuple(ident.get("ati", ()))
    quirks = dict(data.get("quirks", {}))
    if "boot_urcs" in quirks:
        quirks["boot_urcs"] = tuple(quirks["boot_urcs"])
    return ModuleProfile(name=name, title=data.get("title", name), grammar=data.get("grammar", "v250"),
                         identity=Identity(**ident), features=features,
                         defaults=dict(data.get("defaults", {})), quirks=Quirks(**quirks))


def with_overrides(profile: ModuleProfile, overrides: Mapping[str, Any] | None) -> ModuleProfile:
    """Apply config overrides: identity fields (imei, imsi, iccid, ...), ``defaults`` keys,
    and ``quirks`` keys. Unknown keys go to ``defaults``."""
    if not overrides:
        return profile
    ident_names = {f.name for f in fields(Identity)}
    quirk_names = {f.name for f in fields(Quirks)}
    ident, quirks, defaults = {}, {}, dict(profile.defaults)
    for key, value in overrides.items():
        if key in ("name", "module"):
            continue
        if key in ident_names:
            ident[key] = tuple(value) if key == "ati" else str(value)
        elif key in quirk_names:
            quirks[key] = tuple(value) if isinstance(value, list) else value
        elif key == "defaults" and isinstance(value, Mapping):
            defaults.update(value)
        else:
            defaults[key] = value
    return replace(profile, identity=replace(profile.identity, **ident),
                   quirks=replace(profile.quirks, **quirks), defaults=defaults)
