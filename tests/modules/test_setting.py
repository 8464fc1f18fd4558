"""The integer-setting helper (emulator/modules/handlers/setting.py) on a table of its own: which
forms it registers, how a values text is read, where the value is stored, and the answers for
a value the text does not offer (a bad argument, or the ``invalid`` result asked for)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from emulator.at.commands import Arg, ArgError, AtCommand, Kind
from emulator.core.results import CmeError
from emulator.modules.handlers.setting import allows, listed, setting
from emulator.modules.profile import CommandTable


def _ctx(**state):
    return SimpleNamespace(state=SimpleNamespace(**state), defaults={}, nvm={})


def _cmd(name: str, kind: Kind, *args: str) -> AtCommand:
    return AtCommand(name, kind, tuple(Arg(a) for a in args))


def test_listed_reads_each_group_of_a_test_text() -> None:
    groups = listed("(0-2,4),(0,1),(1-65535)")
    assert [[v for v in range(7) if allows(g, v)] for g in groups] == [[0, 1, 2, 4], [0, 1], [1, 2, 3, 4, 5, 6]]
    assert allows(groups[2], 65535) and not allows(groups[2], 65536)


def test_forms_registered_are_only_the_ones_asked_for() -> None:
    t = CommandTable("t")
    setting(t, "+AAA", "s.a", "(0-2)")
    setting(t, "+BBB", "s.b", "(0,1)", setter=False, reset=0)
    setting(t, "*CC", "s.c", "(0-9)", test=False)
    assert set(t.handlers) == {("+AAA", Kind.SET), ("+AAA", Kind.READ), ("+AAA", Kind.TEST),
                               ("+BBB", Kind.READ), ("+BBB", Kind.TEST), ("+BBB", Kind.EXEC),
                               ("*CC", Kind.SET), ("*CC", Kind.READ)}
    assert t.handlers[("+AAA", Kind.SET)].__name__ == "aaa_set"


def test_set_read_test_and_reset_through_a_dict_path() -> None:
    t = CommandTable("t")
    setting(t, "+GG", "info.gg", "(0-2),(0,1)", defaults=(None, 0), reset=(0, 0), sep=":")
    ctx = _ctx(info={"gg": (0, 0)})
    assert t.handlers[("+GG", Kind.SET)](_cmd("+GG", Kind.SET, "2"), ctx).lines == ()
    assert ctx.state.info["gg"] == (2, 0)
    assert t.handlers[("+GG", Kind.READ)](_cmd("+GG", Kind.READ), ctx).lines == ("+GG:2,0",)
    assert t.handlers[("+GG", Kind.TEST)](_cmd("+GG", Kind.TEST), ctx).lines == ("+GG:(0-2),(0,1)",)
    t.handlers[("+GG", Kind.EXEC)](_cmd("+GG", Kind.EXEC), ctx)
    assert ctx.state.info["gg"] == (0, 0)


@pytest.mark.parametrize("args", [("3",), ("-1",), ("x",), ("",), ("1", "2"), ("1", "1", "1")])
def test_a_value_not_offered_is_a_bad_argument_and_changes_nothing(args: tuple[str, ...]) -> None:
    t = CommandTable("t")
    setting(t, "+GG", "s.gg", "(0-2),(0,1)", defaults=(None, 0))
    ctx = _ctx(s=SimpleNamespace(gg=(1, 1)))
    with pytest.raises(ArgError):
        t.handlers[("+GG", Kind.SET)](_cmd("+GG", Kind.SET, *args), ctx)
    assert ctx.state.s.gg == (1, 1)


def test_invalid_answers_its_result_for_a_number_not_offered_but_not_for_garbage() -> None:
    t = CommandTable("t")
    setting(t, "+IF", "s.v", "(0,2),(0,2)", defaults=(None, lambda ctx, got: got[0]), invalid=CmeError(3))
    ctx = _ctx(s=SimpleNamespace(v=(0, 0)))
    set_ = t.handlers[("+IF", Kind.SET)]
    assert set_(_cmd("+IF", Kind.SET, "1"), ctx).final == CmeError(3)
    with pytest.raises(ArgError):
        set_(_cmd("+IF", Kind.SET, "x"), ctx)
    set_(_cmd("+IF", Kind.SET, "2"), ctx)
    assert ctx.state.s.v == (2, 2)  # the second defaults to the first


def test_values_from_the_context_and_get_put_instead_of_a_path() -> None:
    t = CommandTable("t")
    setting(t, "+TZ", None, lambda ctx: ctx.defaults["offer"], get=lambda ctx: ctx.nvm.get("tz", 1),
            put=lambda ctx, v: ctx.nvm.__setitem__("tz", v), answer=("+TZ: stored",))
    ctx = _ctx()
    ctx.defaults["offer"] = "(0,1,3)"
    assert t.handlers[("+TZ", Kind.READ)](_cmd("+TZ", Kind.READ), ctx).lines == ("+TZ: 1",)
    with pytest.raises(ArgError):
        t.handlers[("+TZ", Kind.SET)](_cmd("+TZ", Kind.SET, "2"), ctx)
    assert t.handlers[("+TZ", Kind.SET)](_cmd("+TZ", Kind.SET, "3"), ctx).lines == ("+TZ: stored",)
    assert ctx.nvm == {"tz": 3}
    assert t.handlers[("+TZ", Kind.TEST)](_cmd("+TZ", Kind.TEST), ctx).lines == ("+TZ: (0,1,3)",)
