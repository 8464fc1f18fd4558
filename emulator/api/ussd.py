"""Console API for USSD: script the network's answers, send network-initiated USSD, and see
what a modem sent.

``POST /api/modems/{name}/ussd`` with ``{"code": "*100#", "text": "Balance 1000", "session":
false}`` scripts the answer to ``code`` (``session`` true: <m> 1, the network waits for the
user's next string); without ``code`` the text goes to the modem now as a network-initiated
USSD (``+CUSD: 0,"<text>",15``, or 1 with ``session``). ``GET /api/modems/{name}/ussd`` lists
the scripted answers and the strings the modem sent. Included from ``api/app.py``.

Must not: hold state (the network model is ``modules/handlers/ussd_network.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from ..modules.handlers.ussd import UssdFromNetwork
from ..modules.handlers.ussd_network import network_of, script

if TYPE_CHECKING:  # pragma: no cover
    from ..transport.runner import Emulator


class UssdBody(BaseModel):
    code: str | None = Field(default=None, min_length=1, max_length=182)
    text: str = Field(min_length=1, max_length=182)
    session: bool = False


def ussd_router(emulator: "Emulator") -> APIRouter:
    router = APIRouter(tags=["modems"])

    def port_or_404(name: str):
        port = emulator.ports.get(name)
        if port is None:
            raise HTTPException(404, f"no modem {name!r}; modems: {', '.join(emulator.ports)}")
        return port

    @router.post("/api/modems/{name}/ussd")
    async def post_ussd(name: str, body: UssdBody) -> dict:
        port = port_or_404(name)
        if body.code is not None:
            return {"name": name, **emulator.on_loop(script, port.modem.ctx, body.code, body.text, body.session)}
        emulator.on_loop(port.stimulus, UssdFromNetwork(body.text, body.session))
        return {"name": name, "sent": body.text}

    @router.get("/api/modems/{name}/ussd")
    async def get_ussd(name: str) -> dict:
        port = port_or_404(name)
        return {"name": name, **emulator.on_loop(lambda: network_of(port.modem.ctx).describe())}

    return router
