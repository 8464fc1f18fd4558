"""pytest plugin (entry point ``pytest11``): registers the emulator's markers."""


def pytest_configure(config):  # noqa: ANN001
    config.addinivalue_line("markers", "modem(module=..., backends=...): configure the modem fixture")
