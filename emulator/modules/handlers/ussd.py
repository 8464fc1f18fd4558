"""``AT+CUSD`` (TS 27.007 §7.15): USSD requests answered by the network model in
``ussd_network.py``, on every module.

``AT+CUSD=<n>[,<str>[,<dcs>]]``: <n> 0/1 turns the ``+CUSD`` result code off/on, 2 cancels the
dialogue; with <str> the string goes to the network (``OK`` at once) and its answer follows as
``+CUSD: <m>[,"<str>",<dcs>]`` after the network's delay on the virtual clock (data file
``ussd_delay``, 1 s). Strings are text in the GSM/IRA character sets (<dcs> 15) and hex
UCS2 with ``AT+CSCS="UCS2"`` (<dcs> 72). A network-initiated USSD is the
:class:`UssdFromNetwork` stimulus. Not registered: ``+CME ERROR: 30``; a request while one is
waiting for its answer: ``+CME ERROR: 3``.

Must not: decide answers (ussd_network.py does).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...at.commands import ArgError, AtCommand
from ...core.modem import Context
from ...core.results import CmeError
from ...core.stimuli import Stimulus
from ..profile import CommandTable, Feature, Reply
from .setting import setting
from .ussd_network import FURTHER_ACTION, NO_FURTHER_ACTION, UssdAnswer, network_of

T = CommandTable("ussd")


@dataclass(frozen=True)
class UssdFromNetwork(Stimulus):
    """A network-initiated USSD: a notification, or (``session``) a request for an answer."""

    text: str
    session: bool = False


@dataclass
class UssdState:
    n: int = 0
    dialogue: bool = False  # the network asked for further action (<m> 1)
    waiting: object = None  # the timer of an answer under way


def _init(ctx: Context) -> None:
    ctx.state.ussd = UssdState()


def _ucs2(ctx: Context) -> bool:
    return getattr(ctx.state, "cscs", "GSM") == "UCS2"


def _decode(ctx: Context, text: str) -> str:
    if not _ucs2(ctx):
        return text
    try:
        return bytes.fromhex(text).decode("utf-16-be")
    except ValueError:
        raise ArgError("not hex UCS2") from None


def _show(ctx: Context, answer: UssdAnswer) -> None:
    st: UssdState = ctx.state.ussd
    st.dialogue = answer.m == FURTHER_ACTION
    if not st.n:
        return
    if not answer.text:
        ctx.urc(f"+CUSD: {answer.m}")
    elif _ucs2(ctx):
        ctx.urc(f'+CUSD: {answer.m},"{answer.text.encode("utf-16-be").hex().upper()}",72')
    else:
        ctx.urc(f'+CUSD: {answer.m},"{answer.text}",15')


@T.set("+CUSD")
def cusd_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(3)
    st: UssdState = ctx.state.ussd
    n = cmd.int(0, 0, lo=0, hi=2)
    if n == 2:
        st.dialogue = False
        if st.waiting is not None:
            st.waiting.cancel()
            st.waiting = None
        return Reply()
    if not cmd.has(1):
        st.n = n
        return Reply()
    code = _decode(ctx, cmd.str(1, max_len=4 * 182))
    cmd.int(2, 15, lo=0, hi=255)
    if not code or len(code) > 182:
        raise ArgError("USSD string length")
    if not ctx.state.radio.registered:
        return Reply(final=CmeError(30))
    if st.waiting is not None:
        return Reply(final=CmeError(3))
    st.n = n  # a command that fails changes nothing
    net = network_of(ctx)
    answer = net.request(code, st.dialogue)

    def deliver(c: Context) -> None:
        c.state.ussd.waiting = None
        _show(c, answer)
    st.waiting = ctx.later(net.delay, deliver, "ussd")
    from .ts27007 import rrc_activity  # a USSD exchange is signalling on the air
    rrc_activity(ctx, len(code))
    return Reply()


setting(T, "+CUSD", "ussd.n", "(0-2)", reset=0, setter=False)  # the set form: cusd_set


def _from_network(stim: UssdFromNetwork, ctx: Context) -> None:
    _show(ctx, UssdAnswer(FURTHER_ACTION if stim.session else NO_FURTHER_ACTION, stim.text))


FEATURE = Feature("ussd", T, init=_init, stimuli={UssdFromNetwork: _from_network})
