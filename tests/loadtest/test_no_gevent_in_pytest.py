"""The pytest process must never be monkey-patched by gevent: ``import locust`` patches sockets,
threads and selectors process-wide, which would run every later test (asyncio servers, ptys) on
gevent's hub. Locust runs only in subprocesses (test_locust_smoke.py); this guard fails if any
test module or plugin imported it in-process."""

from __future__ import annotations

import sys


def test_gevent_did_not_patch_this_process() -> None:
    assert "locust" not in sys.modules
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None:
        assert not monkey.is_module_patched("socket")
        assert not monkey.is_module_patched("threading")
