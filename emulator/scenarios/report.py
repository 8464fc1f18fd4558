"""Human and machine reports of scenario results: coloured transcript, diff, JUnit XML.

Must not: run anything.
"""

from __future__ import annotations

import difflib
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TextIO

from .runner import ScenarioResult

_COLORS = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "magenta": "35", "cyan": "36",
           "dim": "2", "bold": "1"}
_ARROWS = {"tx": ("→", "cyan"), "rx": ("←", "green"), "other": ("←", "yellow"),
           "echo": ("·", "dim"), "note": ("*", "magenta")}


class Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, *styles: str) -> str:
        if not self.color or not styles:
            return text
        codes = ";".join(_COLORS[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


def transcript_lines(result: ScenarioResult, paint: Painter | None = None, *, echo: bool = False,
                     ascii_only: bool = False) -> list[str]:
    paint = paint or Painter(False)
    multi = len(result.scenario.modems) > 1 or any(e.modem == "platform" for e in result.transcript)
    out = []
    for e in result.transcript:
        if e.kind == "echo" and not echo:
            continue
        arrow, color = _ARROWS.get(e.kind, ("?", "dim"))
        if ascii_only:
            arrow = {"→": "->", "←": "<-", "·": "."}.get(arrow, arrow)
        who = f"{e.modem:>8} " if multi else ""
        note = "  (not expected, skipped)" if e.kind == "other" else ""
        out.append(f"  {paint(f'{e.t:9.3f}s', 'dim')} {who}{paint(arrow, color)} {paint(e.text, color)}{note}")
    return out


def failure_lines(result: ScenarioResult, paint: Painter | None = None) -> list[str]:
    paint = paint or Painter(False)
    if result.error:
        return [paint(f"  ERROR {result.error}", "red", "bold")]
    f = result.failure
    if f is None:
        return []
    out = [paint(f"  FAILED at {f.where}", "red", "bold")]
    if f.step is not None:
        out.append(f"    step: {f.step.describe()}")
    out.append(f"    {f.message}")
    if f.expected or f.actual:
        out.append("    diff (- expected, + received):")
        for line in difflib.unified_diff(f.expected, f.actual, "expected", "received", lineterm="", n=10):
            if line.startswith(("---", "+++", "@@")):
                continue
            style = "red" if line.startswith("-") else "green" if line.startswith("+") else "dim"
            out.append("      " + paint(line, style))
    return out


def print_result(result: ScenarioResult, stream: TextIO, *, color: bool = False, verbose: bool = False) -> None:
    paint = Painter(color)
    sc = result.scenario
    if result.skipped:
        print(f"{paint('SKIP', 'yellow', 'bold')} {paint(sc.name, 'bold')}  {paint(sc.path, 'dim')}: "
              f"{result.skipped}", file=stream)
        return
    mark = paint("PASS", "green", "bold") if result.passed else paint("FAIL", "red", "bold")
    print(f"{mark} {paint(sc.name, 'bold')}  {paint(sc.path, 'dim')}", file=stream)
    try:
        "→←·".encode(getattr(stream, "encoding", None) or "utf-8")
        ascii_only = False
    except (UnicodeEncodeError, LookupError):
        ascii_only = True
    if verbose or not result.passed:
        for line in transcript_lines(result, paint, ascii_only=ascii_only):
            print(line, file=stream)
    for line in failure_lines(result, paint):
        print(line, file=stream)
    print(paint(f"     {result.steps_run}/{len(sc.steps)} steps, {result.wall:.2f} s wall, "
                f"{round(result.virtual, 3):g} s virtual", "dim"), file=stream)
    for line in energy_lines(result):
        print(paint(line, "dim"), file=stream)


def energy_lines(result: ScenarioResult) -> list[str]:
    """One line per modem: charge and the time spent in each power state (virtual time)."""
    out = []
    for name, rep in result.energy.items():
        states = " ".join(f"{k} {_dur(v)}" for k, v in rep["seconds"].items() if v > 0)
        out.append(f"     energy {name}: {rep['charge_uah']:.3f} uAh ({states or 'no time'})")
    return out


def _dur(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.2f}h"
    if seconds >= 60:
        return f"{seconds / 60:.1f}m"
    return f"{seconds:.3g}s"


def summary_line(results: list[ScenarioResult], load_errors: int = 0, *, color: bool = False) -> str:
    paint = Painter(color)
    failed = sum(not r.passed for r in results) + load_errors
    skipped = sum(bool(r.skipped) for r in results)
    text = f"{len(results) - (failed - load_errors) - skipped} passed, {failed} failed"
    if skipped:
        text += f", {skipped} skipped"
    return paint(text, "red" if failed else "green", "bold")


def write_junit(results: list[ScenarioResult], path: str | Path,
                load_errors: list[tuple[str, str]] | None = None) -> None:
    """JUnit XML: one testcase per scenario; failures carry the diff, system-out the transcript."""
    load_errors = load_errors or []
    failures = sum(r.failure is not None and r.error is None for r in results)
    errors = sum(r.error is not None for r in results) + len(load_errors)
    suites = ET.Element("testsuites")
    suite = ET.SubElement(suites, "testsuite", name="modemu", tests=str(len(results) + len(load_errors)),
                          failures=str(failures), errors=str(errors),
                          skipped=str(sum(bool(r.skipped) for r in results)),
                          time=f"{sum(r.wall for r in results):.3f}")
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=_classname(r.scenario.path), name=r.scenario.name,
                             file=r.scenario.path, line=str(r.scenario.line), time=f"{r.wall:.3f}")
        if r.skipped:
            ET.SubElement(case, "skipped", message=r.skipped)
            continue
        if r.error:
            ET.SubElement(case, "error", message=r.error).text = r.error
        elif r.failure:
            el = ET.SubElement(case, "failure", message=f"{r.failure.where}: {r.failure.message}")
            el.text = "\n".join(failure_lines(r))
        ET.SubElement(case, "system-out").text = "\n".join(transcript_lines(r, echo=True) + energy_lines(r))
    for path_, message in load_errors:
        case = ET.SubElement(suite, "testcase", classname=_classname(path_), name=Path(path_).name,
                             file=path_, time="0")
        ET.SubElement(case, "error", message=message).text = message
    for el in suites.iter():  # modem output may hold control bytes (echoed ESC, Ctrl+Z, binary)
        el.text = _xml_safe(el.text) if el.text else el.text
        el.attrib = {k: _xml_safe(v) for k, v in el.attrib.items()}
    ET.indent(suites)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


# characters XML 1.0 forbids (§2.2): CI tools reject the whole report if one slips in
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    return _XML_INVALID.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _classname(path: str) -> str:
    p = Path(path)
    return ".".join(p.with_suffix("").parts[-3:]) if p.parts else "scenario"
