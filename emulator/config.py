"""The ``--config`` file (YAML): which modems, backend settings, routes, time.

```yaml
modems:                       # default: one of each module, named after the module
  - {name: bg96, module: bg96, imei: "866425035073255"}
  - {name: meter, module: ec800e}
  - {name: tracker, module: bg96, gnss_track: drive.gpx}   # GPX or NMEA, replayed (GNSS)
backends:                     # settings per embedded platform (see README)
  thingplug: {}
  ctwing: {}
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


def default_modems(names: list[str] | None) -> list[ModemSpec]:
    return [ModemSpec(n, n) for n in (names or available_modules())]
