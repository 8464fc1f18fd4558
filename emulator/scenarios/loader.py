"""YAML scenario files -> :class:`Scenario`, with every error naming ``file:line``.

A SafeLoader subclass builds mappings as :class:`_LineDict` (a dict that remembers the line
of the mapping and of each key), so validation can point at the offending step.
Must not: start emulators or touch the network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import ScenarioError
from . import actions as control_actions
from .model import STEP_KINDS, ModemDecl, Scenario, Step
from .patterns import Pattern, PatternError, parse_charge, parse_duration

SCENARIO_KEYS = {"name", "module", "modems", "modem", "config", "backends", "steps", "within",
                 "wall_timeout", "allow_other", "skip_boot", "tags", "description", "requires", "line_end"}
STEP_MODIFIERS = {"within", "modem", "allow_other", "as", "line_end"}
#: What ``send`` appends: drivers end command lines differently (TinyGSM and Hologram CR LF,
#: Zephyr and python-gsmmodem CR), and the module must treat each the same.
LINE_ENDS = {"cr": "\r", "crlf": "\r\n", "lf": "\n"}
CONFIG_KEYS = {"backends", "routes", "modem"}
REQUIREMENTS = ("dtls",)  # optional features a scenario may need (runner.missing_requirement)


class _LineDict(dict):
    line: int = 0
    key_lines: dict[Any, int]


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode):  # noqa: ANN202 - generator
    data = _LineDict()
    data.line = node.start_mark.line + 1
    data.key_lines = {}
    yield data
    data.update(loader.construct_mapping(node, deep=True))
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode):
            data.key_lines[loader.construct_object(key_node)] = key_node.start_mark.line + 1


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


def discover(paths: list[str | Path]) -> list[Path]:
    """Files as given; folders searched recursively for ``*.yaml``/``*.yml`` (sorted)."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.extend(sorted(q for q in p.rglob("*") if q.suffix in (".yaml", ".yml") and q.is_file()))
        elif p.is_file():
            found.append(p)
        else:
            raise ScenarioError("no such file or folder", str(p))
    return found


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read: {exc}", str(path)) from None
    return parse_scenario(text, str(path))


def parse_scenario(text: str, path: str = "<string>") -> Scenario:
    try:
        raw = yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and "end of stream" in str(exc.problem):
            mark = exc.context_mark  # an unclosed quote/bracket: point where it was opened
        detail = f"{exc.problem}" + (f" ({exc.context})" if exc.context else "")
        raise ScenarioError(f"YAML syntax: {detail}", path, mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"YAML: {exc}", path) from None
    return _Builder(path).scenario(raw)


class _Builder:
    def __init__(self, path: str) -> None:
        self.path = path

    def err(self, message: str, line: int | None) -> ScenarioError:
        return ScenarioError(message, self.path, line or 1)

    def scenario(self, raw: Any) -> Scenario:
        if not isinstance(raw, _LineDict):
            raise self.err("top level must be a mapping with 'name', 'module' (or 'modems') and 'steps'", 1)
        lines = raw.key_lines
        unknown = sorted(set(raw) - SCENARIO_KEYS, key=str)
        if unknown:
            raise self.err(f"unknown key {unknown[0]!r}; valid: {', '.join(sorted(SCENARIO_KEYS))}",
                           lines.get(unknown[0]))
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise self.err("'name' (a non-empty string) is required", lines.get("name", raw.line))
        modems = self.modems(raw)
        backends = raw.get("backends")
        if backends in ("none", False):
            backends = []
        elif backends in (None, "all"):
            backends = None
        elif isinstance(backends, str):
            backends = [backends]
        if backends is not None and not (isinstance(backends, list) and all(isinstance(b, str) for b in backends)):
            raise self.err("'backends' must be a list of names, 'all' or 'none'", lines.get("backends"))
        config = raw.get("config") or {}
        if not isinstance(config, dict) or set(config) - CONFIG_KEYS:
            raise self.err(f"'config' must be a mapping with keys {', '.join(sorted(CONFIG_KEYS))}",
                           lines.get("config"))
        requires = raw.get("requires") or []
        if isinstance(requires, str):
            requires = [requires]
        if not isinstance(requires, list) or any(r not in REQUIREMENTS for r in requires):
            raise self.err(f"'requires' must be a list of {', '.join(REQUIREMENTS)}", lines.get("requires"))
        steps_raw = raw.get("steps")
        if not isinstance(steps_raw, list) or not steps_raw:
            raise self.err("'steps' must be a non-empty list", lines.get("steps", raw.line))
        names = {m.name for m in modems}
        scen = Scenario(name=name.strip(), path=self.path, modems=modems, steps=[], backends=backends,
                        config=dict(config), line=raw.line,
                        within=self.duration(raw.get("within", 10.0), lines.get("within")),
                        wall_timeout=self.duration(raw.get("wall_timeout", 10.0), lines.get("wall_timeout")),
                        allow_other=self.flag(raw, "allow_other"), skip_boot=self.flag(raw, "skip_boot"),
                        tags=[str(t) for t in raw.get("tags") or []], requires=list(requires),
                        line_end=self.line_end(raw.get("line_end", "cr"), lines.get("line_end")))
        for i, item in enumerate(steps_raw):
            scen.steps.append(self.step(item, i, names, lines.get("steps", raw.line)))
        return scen

    def flag(self, raw: _LineDict, key: str) -> bool:
        value = raw.get(key, False)
        if not isinstance(value, bool):
            raise self.err(f"'{key}' must be true or false", raw.key_lines.get(key, raw.line))
        return value

    def line_end(self, value: Any, line: int | None) -> str:
        if value not in LINE_ENDS:
            raise self.err(f"'line_end' must be one of {', '.join(LINE_ENDS)} (got {value!r})", line)
        return LINE_ENDS[value]

    def duration(self, value: Any, line: int | None) -> float:
        try:
            return parse_duration(value)
        except PatternError as exc:
            raise self.err(str(exc), line) from None

    def modems(self, raw: _LineDict) -> list[ModemDecl]:
        from ..modules import available_modules
        valid = available_modules()
        if "modems" in raw and "module" in raw:
            raise self.err("use either 'module' or 'modems', not both", raw.key_lines.get("modems"))
        if "module" in raw:
            entries: list[Any] = [{"module": raw["module"]}]
            base_line = raw.key_lines.get("module")
        elif "modems" in raw:
            entries = raw["modems"]
            base_line = raw.key_lines.get("modems")
            if not isinstance(entries, list) or not entries:
                raise self.err("'modems' must be a non-empty list of {name, module}", base_line)
        else:
            raise self.err(f"'module' is required (one of {', '.join(valid)}) or 'modems'", raw.line)
        out: list[ModemDecl] = []
        for entry in entries:
            line = getattr(entry, "line", base_line)
            if isinstance(entry, str):
                entry = {"module": entry}
            if not isinstance(entry, dict) or not isinstance(entry.get("module"), str):
                raise self.err(f"a modem needs 'module' (one of {', '.join(valid)})", line)
            if entry["module"] not in valid:
                raise self.err(f"unknown module {entry['module']!r}; valid: {', '.join(valid)}",
                               getattr(entry, "key_lines", {}).get("module", line))
            name = str(entry.get("name", entry["module"]))
            if any(m.name == name for m in out):
                raise self.err(f"modem name {name!r} used twice; give each a 'name'", line)
            overrides = {k: v for k, v in entry.items() if k not in ("name", "module")}
            from ..config import check_overrides  # the same keys as the --config file's modems
            problem = check_overrides(entry["module"], overrides)
            if problem:
                from ..config import override_keys
                bad = next((k for k in overrides if k not in override_keys(entry["module"])), "defaults")
                raise self.err(problem, getattr(entry, "key_lines", {}).get(bad, line))
            out.append(ModemDecl(name, entry["module"], overrides))
        return out

    def step(self, item: Any, index: int, modems: set[str], list_line: int) -> Step:
        if not isinstance(item, _LineDict):
            raise self.err(f"step {index + 1} must be a mapping like '- send: AT' (got {item!r})", list_line)
        line = item.line
        kinds = [k for k in item if k in STEP_KINDS]
        extra = [k for k in item if k not in STEP_KINDS and k not in STEP_MODIFIERS]
        if extra:
            raise self.err(f"unknown step key {extra[0]!r}; steps: {', '.join(STEP_KINDS)}; "
                           f"modifiers: {', '.join(sorted(STEP_MODIFIERS))}", item.key_lines.get(extra[0], line))
        if len(kinds) != 1:
            raise self.err(f"a step needs exactly one of {', '.join(STEP_KINDS)} (got {', '.join(kinds) or 'none'})", line)
        kind = kinds[0]
        value = item[kind]
        vline = item.key_lines.get(kind, line)
        step = Step(kind=kind, value=None, line=vline)
        if "modem" in item:
            if item["modem"] not in modems:
                raise self.err(f"unknown modem {item['modem']!r}; modems: {', '.join(sorted(modems))}",
                               item.key_lines.get("modem"))
            step.modem = item["modem"]
        if "within" in item:
            step.within = self.duration(item["within"], item.key_lines.get("within"))
        if "allow_other" in item:
            step.allow_other = self.flag(item, "allow_other")
        if "as" in item:
            if kind != "platform" or not isinstance(item["as"], str):
                raise self.err("'as: name' only applies to platform steps", item.key_lines.get("as"))
            step.capture_as = item["as"]
        if "line_end" in item:
            if kind != "send":
                raise self.err("'line_end' only applies to send steps", item.key_lines.get("line_end"))
            step.line_end = self.line_end(item["line_end"], item.key_lines.get("line_end"))
        try:
            step.value = self.value(kind, value, vline)
        except PatternError as exc:
            raise self.err(str(exc), vline) from None
        return step

    def value(self, kind: str, value: Any, line: int) -> Any:
        if kind == "send":
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise self.err("send takes one command line (a string)", line)
            return str(value)
        if kind == "send_raw":
            if not isinstance(value, str):
                raise self.err("send_raw takes a string (YAML escapes like \"\\x1a\" allowed)", line)
            try:
                return value.encode("latin-1")
            except UnicodeEncodeError:
                return value.encode("utf-8")
        if kind in ("expect", "expect_urc"):
            items = value if isinstance(value, list) else [value]
            if not items:
                raise self.err(f"{kind} needs at least one line", line)
            return [self.pattern(v, line) for v in items]
        if kind == "expect_prompt":
            if value is True:
                return "> "
            if isinstance(value, str) and value:
                return value
            raise self.err("expect_prompt takes true (waits for '> ') or the prompt text", line)
        if kind in ("expect_none", "wait", "advance"):
            return parse_duration(value)
        if kind == "platform":
            if not isinstance(value, dict) or len(value) != 1:
                raise self.err("platform takes one '<backend>.<action>: {args}' entry", line)
            (key, args), = value.items()
            backend, dot, action = str(key).partition(".")
            if not dot or not backend or not action:
                raise self.err(f"platform action {key!r} must be '<backend>.<action>'", line)
            if args is None:
                args = {}
            if not isinstance(args, dict):
                raise self.err(f"arguments of {key} must be a mapping", line)
            return (backend, action, dict(args))
        if kind == "control":
            return self.control(value, line)
        if kind == "energy_below":
            return parse_charge(value)
        raise AssertionError(kind)  # pragma: no cover

    def pattern(self, value: Any, line: int) -> Pattern:
        if isinstance(value, dict):
            if set(value) != {"regex"} or not isinstance(value["regex"], str):
                raise self.err("a pattern mapping is {regex: '...'}", getattr(value, "line", line))
            return Pattern(value["regex"], raw_regex=True)
        if isinstance(value, bool) or value is None or isinstance(value, (list, float)):
            raise self.err(f"expected a line (string) or {{regex: ...}}, got {value!r}", line)
        return Pattern(str(value))

    def gnss(self, value: Any, line: int) -> Any:
        """``{lat, lon, alt}`` (stand there) or ``{track: FILE}`` (GPX/NMEA, relative to the
        scenario) or ``{track: [{t, lat, lon, alt}, ...]}``: the parsed position or Track."""
        from ..modules.handlers.quectel_gnss import GnssPosition, GnssTrack, track_from_points
        from ..modules.handlers.quectel_gnss_track import TrackError, parse_track
        try:
            if isinstance(value, dict) and isinstance(value.get("track"), str):
                text = (Path(self.path).parent / value["track"]).read_text(encoding="utf-8")
                return GnssTrack(parse_track(text))
            if isinstance(value, dict) and isinstance(value.get("track"), list):
                return GnssTrack(track_from_points(value["track"]))
            if isinstance(value, dict) and {"lat", "lon"} <= set(value):
                return GnssPosition(float(value["lat"]), float(value["lon"]), float(value.get("alt", 0.0)))
        except (OSError, TrackError, KeyError, TypeError, ValueError) as exc:
            raise self.err(f"control gnss: {exc}", line) from None
        raise self.err("control gnss takes {lat, lon, alt} or {track: FILE | [{t, lat, lon, alt}]}", line)

    def control(self, value: Any, line: int) -> dict[str, Any]:
        problem = control_actions.check(value)
        if problem:
            raise self.err(problem, line)
        if "gnss" in value:  # parsed here: a track file's path is relative to the scenario
            return dict(value, gnss=self.gnss(value["gnss"], line))
        return dict(value)
