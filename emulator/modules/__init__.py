"""Registry of module profiles: short name -> "module:PROFILE", imported lazily.

``load_module("bg96")`` returns the :class:`ModuleProfile`; third parties add profiles
through the ``emulator.modules`` entry-point group. A typo raises
:class:`~emulator.errors.UnknownModuleError` listing the valid names.

Must not: import a profile before it is asked for, or know any transport.
"""

from __future__ import annotations

import importlib
from typing import Any, Mapping

from ..entrypoints import group
from ..errors import UnknownModuleError
from .profile import ModuleProfile

MODULES: dict[str, str] = {
    "bg96": "emulator.modules.quectel_bg96:PROFILE",
    "ec800e": "emulator.modules.quectel_ec800e:PROFILE",
    "wm-n400mse": "emulator.modules.woorinet_wm_n400mse:PROFILE",
    "amm5918k": "emulator.modules.amtelecom_amm5918k:PROFILE",
}


def _all() -> dict[str, str]:
    found = dict(MODULES)
    for name, value in group("emulator.modules"):  # cached across runs: entrypoints.py
        found.setdefault(name, value)
    return found


def available_modules() -> list[str]:
    return list(_all())


def load_module(name: str, overrides: Mapping[str, Any] | None = None) -> ModuleProfile:
    table = _all()
    key = name.lower()
    if key not in table:
        raise UnknownModuleError(name, list(table))
    module_name, _, attr = table[key].partition(":")
    profile = getattr(importlib.import_module(module_name), attr)
    if overrides:
        from .data_loader import with_overrides
        profile = with_overrides(profile, overrides)
    return profile
