"""The default install must not need a compiler: python-mbedtls (DTLS) is a default dependency
only where it publishes wheels, so `pip install modemu` never falls back to its sdist (which
needs Mbed TLS 2.28 headers and fails the whole install, e.g. on Python 3.13 or Linux aarch64).

WHEELS is what python-mbedtls 2.10.1 has on PyPI (checked with `pip download --only-binary=:all:
--python-version V --platform P python-mbedtls==2.10.1`, 2026-12): cp311/cp312 for
manylinux/musllinux x86_64, win_amd64, macosx arm64; nothing for 3.13, Linux aarch64, macOS
x86_64. Update both when a new python-mbedtls ships more wheels.

Must not: install anything or reach the network.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
WHEELS = {(py, plat, machine) for py in ("3.11", "3.12")
          for plat, machine in (("linux", "x86_64"), ("win32", "AMD64"), ("darwin", "arm64"))}
NO_WHEEL = [("3.13", "linux", "x86_64"), ("3.14", "linux", "x86_64"), ("3.11", "linux", "aarch64"),
            ("3.12", "darwin", "x86_64"), ("3.13", "darwin", "arm64"), ("3.11", "win32", "ARM64")]


def _requirement(name: str, extra: str | None = None) -> Requirement:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    deps = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    [req] = [Requirement(d) for d in deps if Requirement(d).name == name]
    return req


def _env(py: str, plat: str, machine: str) -> dict[str, str]:
    return {"python_version": py, "python_full_version": py + ".0", "sys_platform": plat,
            "platform_machine": machine, "platform_system": {"linux": "Linux", "win32": "Windows",
                                                              "darwin": "Darwin"}[plat]}


@pytest.mark.parametrize("py, plat, machine", sorted(WHEELS))
def test_mbedtls_is_a_default_dependency_where_it_has_wheels(py, plat, machine):
    req = _requirement("python-mbedtls")
    assert req.marker is None or req.marker.evaluate(_env(py, plat, machine))


@pytest.mark.parametrize("py, plat, machine", NO_WHEEL)
def test_mbedtls_is_not_pulled_in_where_pip_would_have_to_compile_it(py, plat, machine):
    req = _requirement("python-mbedtls")
    assert req.marker is not None and not req.marker.evaluate(_env(py, plat, machine))


def test_dtls_extra_installs_it_anywhere():
    assert _requirement("python-mbedtls", extra="dtls").marker is None
