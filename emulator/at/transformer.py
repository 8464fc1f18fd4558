"""Lark tree -> list of :class:`AtCommand`. Rule names are the ones in ``grammars/v250.lark``;
rules of imported grammars arrive namespaced (``ts27007__v250__ext_set``) and are matched on
their last component, like Lark's ``merge_transformers`` would route them.

Must not: validate arguments of particular commands (handlers do).
"""

from __future__ import annotations

from lark import Transformer, Tree

from .commands import Arg, AtCommand, Kind


def _local(name: str) -> str:
    return name.rsplit("__", 1)[-1]


class ToCommands(Transformer):
    def __init__(self, raw: str) -> None:
        super().__init__()
        self.raw = raw

    def __default__(self, data, children, meta):  # noqa: ANN001 - Lark signature
        handler = getattr(self, "_" + _local(str(data)), None)
        if handler is None:
            return Tree(data, children, meta)
        return handler(children)

    # -- arguments --------------------------------------------------------------------------
    def _quoted(self, c):  # noqa: ANN001
        return Arg(str(c[0])[1:-1], True)

    def _bare(self, c):  # noqa: ANN001
        return Arg(str(c[0]).strip())

    def _empty(self, c):  # noqa: ANN001
        return Arg("")

    def _args(self, c):  # noqa: ANN001
        return tuple(c)

    # -- commands ---------------------------------------------------------------------------
    def _cmd(self, name: str, kind: Kind, args: tuple[Arg, ...] = ()) -> AtCommand:
        return AtCommand(name.upper(), kind, args, self.raw)

    def _basic_cmd(self, c):  # noqa: ANN001
        number = (Arg(str(c[1])),) if len(c) > 1 else ()
        return self._cmd(str(c[0]), Kind.EXEC, number)

    def _amp_cmd(self, c):  # noqa: ANN001
        number = (Arg(str(c[1])),) if len(c) > 1 else ()
        return self._cmd("&" + str(c[0]), Kind.EXEC, number)

    def _sreg_set(self, c):  # noqa: ANN001
        return self._cmd(str(c[0]), Kind.SET, (Arg(str(c[1])),))

    def _sreg_read(self, c):  # noqa: ANN001
        return self._cmd(str(c[0]), Kind.READ)

    def _ext_exec(self, c):  # noqa: ANN001
        return self._cmd(str(c[0]), Kind.EXEC)

    def _ext_test(self, c):  # noqa: ANN001
        return self._cmd(str(c[0]), Kind.TEST)

    def _ext_read(self, c):  # noqa: ANN001
        return self._cmd(str(c[0]), Kind.READ)

    def _ext_set(self, c):  # noqa: ANN001
        return self._cmd(str(c[0]), Kind.SET, c[1])

    def _ext_set_inline(self, c):  # noqa: ANN001
        args = tuple(a for a in c[1:-1] if isinstance(a, Arg)) + (Arg(str(c[-1]).rstrip()),)
        return self._cmd(str(c[0]), Kind.SET, args)

    # -- structure --------------------------------------------------------------------------
    def _basic_segment(self, c):  # noqa: ANN001
        return list(c)

    def _extended_segment(self, c):  # noqa: ANN001
        return list(c)

    def _segments(self, c):  # noqa: ANN001
        out: list[AtCommand] = []
        for seg in c:
            out.extend(seg if isinstance(seg, list) else [seg])
        return out

    def _line(self, c):  # noqa: ANN001
        return c[1] if len(c) > 1 else []
