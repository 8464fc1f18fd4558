"""A fast path for the common AT line, generated from the Lark grammar's own terminals.

Firmware sends mostly one extended command per line (``AT+QLWCONFIG=0,"1.2.3.4",5683,...``,
``AT+CSQ``, ``AT+CEREG?``), with new values each time, so the parse cache rarely hits. An LALR
parse with tree building costs 70-140 us for such a line; this module answers the same line in a
few microseconds with one compiled regular expression built from the grammar's terminal patterns
(``AT_PREFIX``, ``EXT_NAME``, ``STRING``, ``BARE``): ``AT`` + one extended command in one of its
four forms, arguments that are quoted strings, bare tokens or empty, no whitespace between tokens.

Everything else returns None and goes to Lark, which stays the definition of the syntax: basic
commands (``ATE0``), several commands on one line, whitespace between tokens, and any line whose
command name a module grammar gives a rule of its own (``%extend extended`` with another leading
terminal, e.g. Woori-net's ``+SKTPDAT`` with raw inline data). ``tests/at/test_fastpath.py``
checks with hypothesis that on generated valid and invalid lines the fast path either declines
or gives exactly what Lark gives.

Must not: accept a line that Lark would parse differently or reject; know any command.
"""

from __future__ import annotations

import re
from typing import Callable

from lark import Lark

from .commands import Arg, AtCommand, Kind

_BASE_TERMINALS = ("AT_PREFIX", "EXT_NAME", "STRING", "BARE")

FastParser = Callable[[str], "list[AtCommand] | None"]
_ARG_CACHE = 4096  # distinct argument values kept per grammar (then the cache starts over)


def _local(name: str) -> str:
    return str(name).rsplit("__", 1)[-1]


def build(parser: Lark) -> FastParser:
    """The fast parser for one built grammar (None results mean "ask Lark")."""
    terms = {_local(t.name): t.pattern.to_regexp() for t in parser.terminals}
    if not all(name in terms for name in _BASE_TERMINALS) \
            or any(re.fullmatch(terms[name], "") for name in ("STRING", "BARE")):
        return lambda line: None  # a grammar of another shape: always ask Lark
    # Terminals other than EXT_NAME that can start an ``extended`` command (a module's own rule)
    leaders = []
    for rule in parser.rules:
        if _local(rule.origin.name) == "extended" and rule.expansion:
            first = _local(rule.expansion[0].name)
            if first != "EXT_NAME" and first in terms:
                leaders.append(re.compile(terms[first]))
    string, bare = terms["STRING"], terms["BARE"]
    # (?>...) : the lexer never backtracks into a token, so neither do we
    line_re = re.compile(
        rf"(?>{terms['AT_PREFIX']})(?:(?>({terms['EXT_NAME']}))(?:(=\?)|(\?)|=(.*))?)?", re.S)
    arg_re = re.compile(rf"(?>({string})|({bare})|)(,|\Z)", re.S)
    one = rf"(?>{string}|{bare}|)"
    args_re = re.compile(rf"{one}(?:,{one})*", re.S)  # the whole argument list, token by token
    cache: dict[tuple[str, bool], Arg] = {}  # Arg values are frozen: the same one is shared

    def arg(text: str, quoted: bool) -> Arg:
        value = cache.get((text, quoted))
        if value is None:
            if len(cache) >= _ARG_CACHE:
                cache.clear()
            value = cache[text, quoted] = Arg(text, quoted)
        return value

    def fast(line: str) -> list[AtCommand] | None:
        m = line_re.fullmatch(line)
        if m is None:
            return None
        name = m.group(1)
        if name is None:
            return []  # bare "AT"
        for leader in leaders:
            if leader.match(line, m.start(1)):
                return None
        if m.group(2):
            return [AtCommand(name.upper(), Kind.TEST, (), line)]
        if m.group(3):
            return [AtCommand(name.upper(), Kind.READ, (), line)]
        rest = m.group(4)
        if rest is None:
            return [AtCommand(name.upper(), Kind.EXEC, (), line)]
        if args_re.fullmatch(rest) is None:
            return None
        # it is a list of tokens: findall walks it token by token from the start (a STRING and
        # a BARE token are never empty, so an unset group is "" and the last token has no ",")
        args: list[Arg] = []
        for quoted, word, sep in arg_re.findall(rest):
            args.append(arg(quoted[1:-1], True) if quoted else arg(word.strip(), False))
            if not sep:
                break
        return [AtCommand(name.upper(), Kind.SET, tuple(args), line)]

    return fast
