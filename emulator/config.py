"""The ``--config`` file (YAML): which modems, backend settings, routes, time.

```yaml
modems:                       # default: one of each module, named after the module
  - {name: bg96, module: bg96, imei: "866425035073255"}
  - {name: meter, module: ec800e}
  - {name: tracker, module: bg96, gnss_track: drive.gpx}   # GPX or NMEA, replayed (GNSS)
backends:                     # settings per embedded platform (see README)
  thingplug: {}
  ctwing: {}
fleet:                        # many modems of a module: bg96-0001 ... bg96-1000 (count 1: plain name)
  - {module: bg96, count: 1000}   # or the mapping form: fleet: {bg96: 1000}
routes: ["broker.example.com:1883=127.0.0.1:1883"]
time_scale: 1.0
state_dir: ./modem-state        # keep the modems' UFS files across runs (like --state-dir)
```
Must not: start anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .modules import available_modules


@dataclass
class ModemSpec:
    name: str
    module: str
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class Config:
    modems: list[ModemSpec] = field(default_factory=list)
    backends: dict[str, dict[str, Any]] = field(default_factory=dict)
    routes: list[str] = field(default_factory=list)
    time_scale: float = 1.0
    state_dir: str | None = None


def load_config(path: str | Path | None) -> Config:
    if path is None:
        return Config()
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    cfg = Config(backends=dict(raw.get("backends") or {}), routes=list(raw.get("routes") or []),
                 time_scale=float(raw.get("time_scale", 1.0)),
                 state_dir=str(raw["state_dir"]) if raw.get("state_dir") else None)
    for i, entry in enumerate(raw.get("modems") or []):
        if isinstance(entry, str):
            entry = {"module": entry}
        if not isinstance(entry, dict) or "module" not in entry:
            raise ConfigError(f"{path}: modems[{i}] needs a 'module' ({', '.join(available_modules())})")
        overrides = dict(entry)
        if isinstance(overrides.get("gnss_track"), str):
            overrides["gnss_track"] = load_gnss_track(Path(path).parent / overrides["gnss_track"])
        cfg.modems.append(ModemSpec(str(entry.get("name", entry["module"])), str(entry["module"]), overrides))
    cfg.modems += fleet_modems(raw.get("fleet"), str(path))
    return cfg


def load_gnss_track(path: str | Path) -> Any:
    """A GPX or NMEA track file, parsed (``--gnss-track`` / config ``gnss_track``)."""
    from .modules.handlers.quectel_gnss_track import TrackError, parse_track
    try:
        return parse_track(Path(path).read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        raise ConfigError(f"cannot read GNSS track {path}: {exc.strerror or exc}") from None
    except TrackError as exc:
        raise ConfigError(f"GNSS track {path}: {exc}") from None


FLEET_MAX = 100_000  # a sanity cap on one fleet entry (a typo of 1e9 fails here, not in the kernel)


def fleet_names(base: str, count: int) -> list[str]:
    """``count`` modem names from ``base``: ``base-0001`` ... (at least 4 digits, more for a fleet
    over 9,999 so names sort in order); a count of 1 keeps the plain ``base``."""
    if count == 1:
        return [base]
    width = max(4, len(str(count)))
    return [f"{base}-{i:0{width}d}" for i in range(1, count + 1)]


def fleet_specs(module: str, count: int, overrides: dict[str, Any] | None = None,
                base: str | None = None) -> list[ModemSpec]:
    """``count`` modems of ``module`` (``--count`` / ``fleet:``), named by :func:`fleet_names`.
    They share ``overrides`` (one profile object; a modem's own state lives in its Modem)."""
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= FLEET_MAX:
        raise ConfigError(f"fleet count for {module!r} must be a whole number 1..{FLEET_MAX} (got {count!r})")
    shared = {k: v for k, v in (overrides or {}).items() if k not in ("name", "module")}
    names = fleet_names(base or module, count)
    if count == 1:
        return [ModemSpec(names[0], module, shared)]
    from .modules import load_module  # each member is its own device to the platforms: own IMEI/IMSI/ICCID
    ident = load_module(module, shared).identity
    return [ModemSpec(name, module, {**shared, **member_identity(ident.imei, ident.imsi, ident.iccid, i)})
            for i, name in enumerate(names)]


def _luhn_digit(body: str) -> str:
    """The Luhn check digit for ``body`` (3GPP TS 23.003 §6.2.1 for the IMEI; ITU-T E.118 for ICCIDs)."""
    total = 0
    for pos, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if pos % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def _bump(digits: str, keep: int, index: int) -> str:
    """``digits`` with its part after the first ``keep`` digits increased by ``index`` (wrapping)."""
    head, tail = digits[:keep], digits[keep:]
    if not tail.isdigit():
        return digits
    return head + f"{(int(tail) + index) % 10 ** len(tail):0{len(tail)}d}"


def member_identity(imei: str, imsi: str, iccid: str, index: int) -> dict[str, str]:
    """Fleet member ``index``'s identity from the module's: the IMEI's serial (after the 8-digit
    TAC) + index with a fresh Luhn digit, the IMSI's MSIN (after MCC+MNC, 5 digits here) + index,
    the ICCID's account digits + index with a fresh Luhn digit. Index 0 keeps the module's own."""
    out = {}
    if len(imei) == 15 and imei.isdigit():
        body = _bump(imei[:14], 8, index)
        out["imei"] = body + _luhn_digit(body)
    if imsi.isdigit():
        out["imsi"] = _bump(imsi, 5, index)
    if iccid[:-1].isdigit() and len(iccid) >= 18:
        body = _bump(iccid[:-1], 7, index)
        out["iccid"] = body + _luhn_digit(body)
    return out


def fleet_modems(raw: Any, where: str) -> list[ModemSpec]:
    """The ``fleet:`` key: a mapping ``{module: count}`` or a list of ``{module, count, name?,
    ...overrides}`` (``name`` is the prefix, default the module)."""
    if not raw:
        return []
    entries = [{"module": m, "count": c} for m, c in raw.items()] if isinstance(raw, dict) else raw
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: 'fleet' must be a mapping {{module: count}} or a list of {{module, count}}")
    specs: list[ModemSpec] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "module" not in entry:
            raise ConfigError(f"{where}: fleet[{i}] needs a 'module' ({', '.join(available_modules())})")
        rest = {k: v for k, v in entry.items() if k not in ("count", "name")}
        if isinstance(rest.get("gnss_track"), str):  # one track, parsed once, replayed by every member
            rest["gnss_track"] = load_gnss_track(Path(where).parent / rest["gnss_track"])
        specs += fleet_specs(str(entry["module"]), entry.get("count", 1), rest, str(entry.get("name") or entry["module"]))
    return specs


def default_modems(names: list[str] | None) -> list[ModemSpec]:
    return [ModemSpec(n, n) for n in (names or available_modules())]
