"""Line patterns and durations of the scenario format (pure string work).

A pattern is exact text with two kinds of placeholders: ``{name}`` is replaced by a variable
captured earlier, ``{name:regex}`` matches ``regex`` and captures it as ``name``. ``{{`` and
``}}`` are literal braces; anything else in braces (JSON such as ``{"a":1}``) is literal text.
``{regex: ...}`` in YAML gives a raw regular expression whose named groups capture.
Matching is always against the whole line.

Must not: do I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IDENT = re.compile(r"[A-Za-z_][\w.]*")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|min|h|d)?\s*$")
_UNITS = {None: 1.0, "s": 1.0, "ms": 0.001, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


class PatternError(ValueError):
    """A malformed pattern, duration or an unknown variable."""


_CHARGE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(uah|µah|mah|ah)\s*$", re.IGNORECASE)
_CHARGE_UNITS = {"uah": 1.0, "µah": 1.0, "mah": 1000.0, "ah": 1_000_000.0}


def parse_charge(value: object) -> float:
    """``50uAh`` / ``50µAh`` / ``0.05mAh`` / ``1Ah`` -> µAh (a bare number is µAh)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    m = _CHARGE.match(str(value)) if isinstance(value, str) else None
    if m is None:
        raise PatternError(f"charge {value!r}: use e.g. 50uAh, 0.05mAh (or a number of µAh)")
    return float(m.group(1)) * _CHARGE_UNITS[m.group(2).lower()]


def parse_duration(value: object) -> float:
    """``2s``, ``500ms``, ``1.5m``, ``1h``, ``1d`` or a plain number of seconds."""
    if isinstance(value, bool):
        raise PatternError(f"not a duration: {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise PatternError(f"negative duration: {value}")
        return float(value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return float(m.group(1)) * _UNITS[m.group(2)]
    raise PatternError(f"not a duration: {value!r} (use e.g. 2s, 500ms, 1h, 1d or seconds)")


def _tokens(text: str) -> list[tuple[str, str, str]]:
    """Split into ("lit", text, "") / ("var", name, "") / ("cap", name, regex)."""
    out: list[tuple[str, str, str]] = []
    lit: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if text.startswith("{{", i) or text.startswith("}}", i):
            lit.append(ch)
            i += 2
            continue
        if ch == "{":
            m = _IDENT.match(text, i + 1)
            if m and m.end() < len(text) and text[m.end()] in "}:":
                name = m.group(0)
                if text[m.end()] == "}":
                    out.append(("lit", "".join(lit), ""))
                    lit = []
                    out.append(("var", name, ""))
                    i = m.end() + 1
                    continue
                depth, j = 1, m.end() + 1
                while j < len(text) and depth:
                    if text[j] == "\\":
                        j += 2
                        continue
                    depth += {"{": 1, "}": -1}.get(text[j], 0)
                    j += 1
                if depth:
                    raise PatternError(f"unclosed capture {{{name}:...}} in {text!r}")
                regex = text[m.end() + 1:j - 1]
                try:
                    re.compile(regex)
                except re.error as exc:
                    raise PatternError(f"bad regex in {{{name}:{regex}}}: {exc}") from None
                out.append(("lit", "".join(lit), ""))
                lit = []
                out.append(("cap", name, regex))
                i = j
                continue
        lit.append(ch)
        i += 1
    out.append(("lit", "".join(lit), ""))
    return [t for t in out if t != ("lit", "", "")]


def substitute(text: str, variables: dict[str, str]) -> str:
    """Replace ``{name}`` placeholders (captures are not allowed here)."""
    parts = []
    for kind, a, b in _tokens(text):
        if kind == "lit":
            parts.append(a)
        elif kind == "var":
            if a not in variables:
                raise PatternError(f"unknown variable {{{a}}}; known: {', '.join(sorted(variables)) or 'none'}")
            parts.append(str(variables[a]))
        else:
            raise PatternError(f"capture {{{a}:{b}}} is only allowed in expectations")
    return "".join(parts)


@dataclass(frozen=True)
class Pattern:
    source: str          # as written (for reports)
    raw_regex: bool = False

    def __post_init__(self) -> None:
        if self.raw_regex:
            try:
                re.compile(self.source)
            except re.error as exc:
                raise PatternError(f"bad regex {self.source!r}: {exc}") from None
        else:
            _tokens(self.source)  # validate

    def compile(self, variables: dict[str, str]) -> re.Pattern[str]:
        if self.raw_regex:
            return re.compile(self.source)
        parts = []
        for kind, a, b in _tokens(self.source):
            if kind == "lit":
                parts.append(re.escape(a))
            elif kind == "var":
                if a not in variables:
                    raise PatternError(f"unknown variable {{{a}}}; known: {', '.join(sorted(variables)) or 'none'}")
                parts.append(re.escape(str(variables[a])))
            else:
                parts.append(f"(?P<{_group(a)}>{b})")
        return re.compile("".join(parts))

    def match(self, line: str, variables: dict[str, str]) -> dict[str, str] | None:
        """The captures when ``line`` matches entirely, else None."""
        m = self.compile(variables).fullmatch(line)
        if m is None:
            return None
        return {_ungroup(k): v for k, v in m.groupdict().items() if v is not None}

    def render(self, variables: dict[str, str]) -> str:
        """What the expected line looks like (for diffs): variables filled in."""
        if self.raw_regex:
            return f"/{self.source}/"
        out = []
        for kind, a, b in _tokens(self.source):
            out.append(a if kind == "lit" else str(variables.get(a, "{" + a + "}")) if kind == "var"
                       else "{" + a + ":" + b + "}")
        return "".join(out)


def _group(name: str) -> str:
    return name.replace(".", "__dot__")


def _ungroup(name: str) -> str:
    return name.replace("__dot__", ".")
