"""Test doubles that ship with the product: harness and pytest plugin (on the scenario bench and
the control plane), host helpers and platform rigs."""
