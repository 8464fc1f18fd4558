"""China Telecom CTWing (AEP) platform: registry, data store, command queue, MQTT/TCP access servers.

The LwM2M access server is a separate component that plugs into
:class:`~emulator.backends.ctwing.backend.CtwingBackend` through ``extra_servers`` and uses
``backend.registry`` / ``backend.store``.

Must not: import its servers eagerly; no state lives here.
"""
