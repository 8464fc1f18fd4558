"""The network side of USSD (3GPP TS 22.090 / 24.090), as a sans-IO model.

One :class:`UssdNetwork` per modem: the answers the network gives to the strings the module
sends (``AT+CUSD=1,"*100#"``), scripted from the console API (``POST
/api/modems/{name}/ussd``), a scenario or a test through :func:`script`; the data file's
``ussd:`` mapping (code -> text) seeds it. A string with no answer is "operation not supported"
(TS 27.007 §7.15 <m> 4) outside a dialogue and ends a dialogue inside one (<m> 2); an answer
marked ``session`` keeps the dialogue open (<m> 1, further user action required). The model
lives beside the modem, not in its state: like the real network it survives the module's
reboots.

Must not: print AT text (handlers/ussd.py does) or do I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ...core.modem import Context

# TS 27.007 §7.15 <m>
NO_FURTHER_ACTION, FURTHER_ACTION, TERMINATED, NOT_SUPPORTED = 0, 1, 2, 4


@dataclass(frozen=True)
class UssdAnswer:
    m: int
    text: str = ""


@dataclass
class UssdNetwork:
    answers: dict[str, tuple[str, bool]] = field(default_factory=dict)  # code -> (text, session)
    sent: list[str] = field(default_factory=list)  # every string the module sent, in order
    delay: float = 1.0  # virtual seconds until the network answers

    def script(self, code: str, text: str, session: bool = False) -> None:
        self.answers[code] = (text, session)

    def request(self, code: str, in_dialogue: bool) -> UssdAnswer:
        self.sent.append(code)
        if code not in self.answers:
            return UssdAnswer(TERMINATED if in_dialogue else NOT_SUPPORTED)
        text, session = self.answers[code]
        return UssdAnswer(FURTHER_ACTION if session else NO_FURTHER_ACTION, text)

    def describe(self) -> dict[str, Any]:
        return {"answers": {code: {"text": text, "session": session} for code, (text, session) in self.answers.items()},
                "sent": list(self.sent)}


def network_of(ctx: "Context") -> UssdNetwork:
    """This modem's USSD network (created on first use, seeded from the data file)."""
    net = getattr(ctx, "_ussd_network", None)
    if net is None:
        net = UssdNetwork(delay=float(ctx.defaults.get("ussd_delay", 1.0)))
        for code, text in (ctx.defaults.get("ussd") or {}).items():
            net.script(str(code), str(text))
        ctx._ussd_network = net  # type: ignore[attr-defined]
    return net


def script(ctx: "Context", code: str, text: str, session: bool = False) -> dict[str, Any]:
    """The one entry point for the console API, scenarios and tests: from now on the network
    answers ``code`` with ``text`` (``session``: and waits for the user's next string)."""
    if not code or len(code) > 182 or not text or len(text) > 182:  # TS 23.038 §6.1.2.3: 182 characters
        raise ValueError("code and text must be 1..182 characters")
    net = network_of(ctx)
    net.script(code, text, session)
    return net.describe()
