"""Console API: the CA certificate of each embedded platform's TLS servers, for upload.

``GET /api/platforms/{name}/ca.pem`` (``thingplug``, ``ctwing``) returns the PEM that signs the
platform's TLS listeners (ThingPlug MQTTS 8883, CTWing MQTTS 8883), so a host can upload it to a
module (``AT+QFUPL``) and verify the server with ``AT+QSSLCFG="seclevel",<ctx>,1``. The CA is made
fresh each time a platform starts. 404 for a platform that is not running or has no TLS.

Must not: hold state of its own or read anything but the backends' CA files.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

if TYPE_CHECKING:  # pragma: no cover
    from ..transport.runner import Emulator


def _ca_file(backend: object) -> str | None:
    """The backend's CA file: ``ca_file`` (ThingPlug), else its MQTT broker's self-signed
    certificate (CTWing: the certificate is its own CA)."""
    ca = getattr(backend, "ca_file", None)
    if ca:
        return str(ca)
    cert = getattr(getattr(backend, "mqtt", None), "tls_cert", None)
    return str(cert) if cert else None


def tls_router(emulator: "Emulator") -> APIRouter:
    router = APIRouter(tags=["tls"])

    @router.get("/api/platforms/{name}/ca.pem", response_class=Response,
                responses={200: {"content": {"application/x-pem-file": {}}}})
    async def platform_ca(name: str) -> Response:
        backend = emulator.backends.get(name)
        ca = _ca_file(backend) if backend is not None else None
        if not ca or not Path(ca).is_file():
            known = ", ".join(n for n, b in emulator.backends.items() if _ca_file(b)) or "none"
            raise HTTPException(404, f"no TLS CA for platform {name!r}; platforms with one: {known}")
        return Response(Path(ca).read_bytes(), media_type="application/x-pem-file")

    return router
