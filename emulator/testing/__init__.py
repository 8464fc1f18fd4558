"""Test doubles that ship with the product: harness and pytest plugin (on the scenario bench and
the control plane), host helpers and platform rigs.

Must not: be imported by emulator/ outside testing/ (it is for tests and benches)."""
