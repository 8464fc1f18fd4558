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
tcp_base_port: 7001           # modem i listens on TCP tcp_base_port + i (ignored with --ephemeral-ports)
state_dir: ./modem-state        # keep the modems' UFS files across runs (like --state-dir)
```
Unknown keys and values of the wrong type are one-line ``ConfigError``\s naming the key.
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
    tcp_base_port: int = 7001


KEYS = ("modems", "fleet", "backends", "routes", "time_scale", "tcp_base_port", "state_dir")


# Keys the modem features read from a profile's ``defaults`` (``defaults.get("KEY"`` /
# ``defaults["KEY"]`` under emulator/; tests/transport/test_startup_errors.py keeps this list in
# step with the code); any other key can still be set under ``defaults:``.
READ_DEFAULTS = (
    "act", "attach_delay", "cereg_test", "cmee", "ctzu", "ctzu_test", "dns", "dst", "edrx_grant",
    "energy", "fs_max_open", "fs_ram_total", "fs_ufs_reserved", "fs_ufs_total", "gnss_hdop",
    "gnss_nsat", "gnss_position", "gnss_track", "gnss_ttff", "ipr", "msisdn", "networks",
    "operator", "pin", "powerdown_delay", "psm_grant", "qcfg", "qflst_prefix", "qgmr",
    "qiclose_urc", "qiopen_cid0", "qiopen_timeout", "qsclk_max", "release_delay", "rrc_inactivity",
    "rsrp", "rsrq", "rssi", "servingcell", "smsc", "spc", "spn", "supply_mv", "temperatures",
    "thingplug_reconnect_delay", "thingplug_usim", "timezone", "ussd", "ussd_delay",
)


def override_keys(module: str) -> list[str]:
    """What a modem entry may override (besides ``name``/``module``): identity fields, quirks,
    ``defaults`` (a mapping, any key) and each key of the module's defaults."""
    from dataclasses import fields

    from .modules import load_module
    from .modules.profile import Identity, Quirks

    keys = {f.name for f in fields(Identity)} | {f.name for f in fields(Quirks)} | {"defaults"}
    keys |= set(load_module(module).defaults) | set(READ_DEFAULTS)
    return sorted(keys)


def check_overrides(module: str, overrides: dict[str, Any]) -> str | None:
    """None when every key is known, else the one-line problem (the caller adds where)."""
    valid = override_keys(module)
    for key in overrides:
        if key in ("name", "module"):
            continue
        if key not in valid:
            import difflib
            near = difflib.get_close_matches(str(key), valid, n=3)
            hint = f"did you mean {' or '.join(repr(n) for n in near)}? " if near else ""
            return (f"unknown {module} override {key!r}; {hint}keys: {', '.join(valid)} "
                    "(other profile defaults go under 'defaults:')")
        if key == "defaults" and not isinstance(overrides[key], dict):
            return "'defaults' must be a mapping of profile default keys to values"
    return None


def _yaml_one_line(exc: yaml.YAMLError) -> str:
    """libyaml's error as one line: the problem and where (its own text spans several lines with
    a caret drawing)."""
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if problem and mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return " ".join(str(exc).split())


def load_config(path: str | Path | None) -> Config:
    if path is None:
        return Config()
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot read config {path}: {_yaml_one_line(exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}; keys: {', '.join(KEYS)}")
    backends, routes = raw.get("backends") or {}, raw.get("routes") or []
    if not isinstance(backends, dict) or not all(isinstance(v, dict) or v is None for v in backends.values()):
        raise ConfigError(f"{path}: backends must map a platform name to its settings, e.g. backends: {{ctwing: {{}}}}")
    if isinstance(routes, str) or not isinstance(routes, list):
        raise ConfigError(f"{path}: routes must be a list of HOST[:PORT]=IP:PORT strings")
    try:
        time_scale = float(raw.get("time_scale", 1.0))
        tcp_base_port = int(raw.get("tcp_base_port", 7001))
    except (TypeError, ValueError):
        raise ConfigError(f"{path}: time_scale must be a number and tcp_base_port a port number") from None
    cfg = Config(backends={str(k): dict(v or {}) for k, v in backends.items()},
                 routes=[str(r) for r in routes], time_scale=time_scale, tcp_base_port=tcp_base_port,
                 state_dir=str(raw["state_dir"]) if raw.get("state_dir") else None)
    for i, entry in enumerate(raw.get("modems") or []):
        if isinstance(entry, str):
            entry = {"module": entry}
        if not isinstance(entry, dict) or "module" not in entry:
            raise ConfigError(f"{path}: modems[{i}] needs a 'module' ({', '.join(available_modules())})")
        if str(entry["module"]) in available_modules():  # an unknown module is reported with the list later
            problem = check_overrides(str(entry["module"]), entry)
            if problem:
                raise ConfigError(f"{path}: modems[{i}]: {problem}")
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
