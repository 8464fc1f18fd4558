"""Console API routes for SMS: the network's SMSC seen from the test side.

``POST /api/modems/{name}/sms`` ``{"from": "+8210...", "text": "..."}`` (or ``{"pdu": "<hex>"}``,
an SMS-DELIVER as ``+CMT`` shows it, SMSC field first, or a bare TPDU) delivers an MT SMS:
``{"status": "delivered", "parts": n, "index": i, "memory": "ME", "stored": [...]}``, or
``"queued"`` while the modem cannot be reached (PSM, eDRX, detached: it arrives when it wakes).
``GET /api/modems/{name}/sms`` lists the SMS the modem sent (``AT+CMGS``/``AT+CMSS``):
``[{"to", "text", "ts", "pdu", "mr", "srr", "status", "delivered_to", ...}]``.

Handlers are ``async def``: they run on the emulator's loop, like api/app.py's. Each calls one
:class:`emulator.control.Control` method (``sms_deliver``, ``sms_sent``); app.py maps its errors
(unknown modem 404, an undecodable PDU 400).

Must not: hold state (the SMSC in net/smsc.py does) or decide what a control does (control.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:  # pragma: no cover
    from ..control import Control


class MtSms(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    sender: str | None = Field(default=None, alias="from", max_length=20, pattern=r"^\+?[0-9]{1,20}$")
    text: str | None = Field(default=None, max_length=10 * 153)
    pdu: str | None = Field(default=None, max_length=2 * 176, pattern=r"^[0-9A-Fa-f]+$")

    @model_validator(mode="after")
    def one_form(self) -> "MtSms":
        if (self.pdu is None) == (self.text is None):
            raise ValueError('give either "text" (with "from") or "pdu"')
        if self.text is not None and not self.sender:
            raise ValueError('"text" needs "from"')
        return self


def router(control: "Control") -> APIRouter:
    api = APIRouter(tags=["sms"])

    @api.post("/api/modems/{name}/sms")
    async def deliver(name: str, body: MtSms) -> dict:
        """Deliver an MT SMS to the modem (stored + ``+CMTI``, or ``+CMT``, per its ``+CNMI``)."""
        return control.sms_deliver(name, sender=body.sender, text=body.text, pdu=body.pdu)

    @api.get("/api/modems/{name}/sms")
    async def sent(name: str) -> list[dict]:
        """The SMS this modem sent, oldest first, as the network recorded them."""
        return control.sms_sent(name)

    return api
