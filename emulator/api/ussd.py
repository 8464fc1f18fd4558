"""Console API for USSD: script the network's answers, send network-initiated USSD, and see
what a modem sent.

``POST /api/modems/{name}/ussd`` with ``{"code": "*100#", "text": "Balance 1000", "session":
false}`` scripts the answer to ``code`` (``session`` true: <m> 1, the network waits for the
user's next string); without ``code`` the text goes to the modem now as a network-initiated
USSD (``+CUSD: 0,"<text>",15``, or 1 with ``session``). ``GET /api/modems/{name}/ussd`` lists
the scripted answers and the strings the modem sent. Included from ``api/app.py``.

Must not: hold state (the network model is ``modules/handlers/ussd_network.py``) or reach
the emulator except through the control plane (``emulator/control.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter
from pydantic import BaseModel, Field

if TYPE_CHECKING:  # pragma: no cover
    from ..control import Control


class UssdBody(BaseModel):
    code: str | None = Field(default=None, min_length=1, max_length=182)
    text: str = Field(min_length=1, max_length=182)
    session: bool = False


def ussd_router(control: "Control") -> APIRouter:
    """The routes; an unknown modem is the control plane's NotFound (404 in api/app.py)."""
    router = APIRouter(tags=["modems"])

    @router.post("/api/modems/{name}/ussd")
    async def post_ussd(name: str, body: UssdBody) -> dict:
        return {"name": name, **control.ussd(name, body.text, code=body.code, session=body.session)}

    @router.get("/api/modems/{name}/ussd")
    async def get_ussd(name: str) -> dict:
        return {"name": name, **control.ussd_state(name)}

    return router
