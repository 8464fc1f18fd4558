"""Embedded SKT ThingPlug 2.0 platform (simple_v1 MQTT): see ``backend.ThingPlugBackend``.

Must not: import its servers eagerly; no state lives here."""
