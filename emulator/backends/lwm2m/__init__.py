"""Embedded LwM2M server of the fake CTWing platform: pure ``models``, the aiocoap ``server``
(plain CoAP + DTLS-PSK) and the ``dtls_adapter`` that contains aiocoap's DTLS-server quirks.

Must not: import the CTWing registry; the platform is reached through ``Lwm2mPlatformHooks``.
"""
