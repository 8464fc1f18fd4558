"""One helper for an integer AT setting: its set/read/test (and reset) handlers from where the value
lives, the values it allows and the test text that lists them.

``setting(T, "+CTZR", "time.ctzr", "(0-2)")`` registers on the command table ``T``:

- set ``AT+CTZR=<n>``: at most one argument per parenthesised group of the values, each an
  integer (a group's ``defaults`` entry stands in for an empty one: a number, or a function of
  the context and the numbers read so far); a value no group allows answers ``invalid`` (None:
  a bad argument, plain ``ERROR``), otherwise it is stored (one group: the number, more: a
  tuple) and the set answers ``answer`` lines and OK;
- read ``AT+CTZR?``: ``+CTZR: <value>`` (``shown`` renders the value; ``sep`` the ``: ``);
- test ``AT+CTZR=?``: ``+CTZR: (0-2)``, the values text itself;
- exec ``AT+CTZR`` only with ``reset``: the value goes back to ``reset``.

The value lives at ``path`` under ``ctx.state`` (dots; a dict is entered by key: ``info.clip``) or
behind ``get``/``put``; ``values`` may be a function of the context (the module's data file
offers them). ``setter=False`` / ``test=False`` leave that form out, so AT+CLAC lists only what
the command had. ``listed`` parses a values text (``(0-2,4)``) for handlers of their own.

Must not: know any particular command, hold state of its own, or register a form not asked for.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from ...at.commands import ArgError, AtCommand
from ...core.modem import Context
from ...core.results import CmeError, Final
from ..profile import CommandTable, Reply

Values = str | Callable[[Context], str]
Default = int | None | Callable[[Context, tuple[int, ...]], int]
_GROUP = re.compile(r"\(([^()]*)\)")


def listed(spec: str) -> tuple[tuple[range, ...], ...]:
    """The values of a test-command text, one tuple of ranges per parenthesised group:
    ``(0-2,4),(0,1)`` -> ``((range(0, 3), range(4, 5)), (range(0, 1), range(1, 2)))``."""
    groups = []
    for body in _GROUP.findall(spec):
        ranges = []
        for part in body.split(","):
            lo, _, hi = part.partition("-")
            ranges.append(range(int(lo), int(hi or lo) + 1))
        groups.append(tuple(ranges))
    return tuple(groups)


def allows(group: tuple[range, ...], value: int) -> bool:
    return any(value in r for r in group)


def _resolve(path: str) -> tuple[Callable[[Context], Any], Callable[[Context, Any], None]]:
    *head, last = path.split(".")

    def holder(ctx: Context) -> Any:
        obj: Any = ctx.state
        for part in head:
            obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
        return obj

    def get(ctx: Context) -> Any:
        obj = holder(ctx)
        return obj[last] if isinstance(obj, dict) else getattr(obj, last)

    def put(ctx: Context, value: Any) -> None:
        obj = holder(ctx)
        if isinstance(obj, dict):
            obj[last] = value
        else:
            setattr(obj, last, value)
    return get, put


def _joined(ctx: Context, value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def setting(table: CommandTable, name: str, path: str | None, values: Values, *,
            defaults: tuple[Default, ...] = (), invalid: CmeError | Final | None = None,
            shown: Callable[[Context, Any], str] = _joined, sep: str = ": ", answer: tuple[str, ...] = (),
            reset: Any = None, setter: bool = True, test: bool = True,
            get: Callable[[Context], Any] | None = None, put: Callable[[Context, Any], None] | None = None) -> None:
    """Register the forms of the integer setting ``name`` on ``table`` (see the module text)."""
    if path is not None:
        get, put = _resolve(path)
    assert get is not None and (put is not None or not (setter or reset is not None)), name
    fixed = listed(values) if isinstance(values, str) else None

    def spec(ctx: Context) -> str:
        return values if isinstance(values, str) else values(ctx)

    def set_(cmd: AtCommand, ctx: Context) -> Reply:
        groups = fixed if fixed is not None else listed(spec(ctx))
        cmd.max_args(len(groups))
        got: tuple[int, ...] = ()
        for i in range(len(groups)):
            default = defaults[i] if i < len(defaults) else None
            got += (cmd.int(i, default(ctx, got) if callable(default) else default),)
        if not all(allows(group, v) for group, v in zip(groups, got)):
            if invalid is None:
                raise ArgError(f"{name}: a value {spec(ctx)} does not offer")
            return Reply(final=invalid)
        put(ctx, got[0] if len(got) == 1 else got)
        return Reply(lines=answer)

    def read(cmd: AtCommand, ctx: Context) -> Reply:
        return Reply(lines=(f"{name}{sep}{shown(ctx, get(ctx))}",))

    def test_(cmd: AtCommand, ctx: Context) -> Reply:
        return Reply(lines=(f"{name}{sep}{spec(ctx)}",))

    def exec_(cmd: AtCommand, ctx: Context) -> Reply:
        put(ctx, reset)
        return Reply()

    forms = [(table.read, read, "read")]
    if setter:
        forms.append((table.set, set_, "set"))
    if test:
        forms.append((table.test, test_, "test"))
    if reset is not None:
        forms.append((table.exec, exec_, "exec"))
    for register, handler, kind in forms:
        handler.__name__ = handler.__qualname__ = f"{name.strip('+*$@%&').lower().replace('*', '_')}_{kind}"
        register(name)(handler)
