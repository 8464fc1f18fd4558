"""Test doubles that ship with the product: harness and pytest plugin."""
