"""Output that piles up before the port drains (a flooded modem) is queued in linear work.

``Modem._emit`` used to build a new ``bytes`` (old + new) per emit, so N queued answers copied
O(N^2) bytes. Counted without a clock: every ``ToHost`` the modem constructs is measured.
"""

from __future__ import annotations

import emulator.core.modem as modem_mod
from emulator.core.events import ToHost
from emulator.core.modem import Modem
from emulator.modules import load_module


def test_piled_up_output_is_built_in_linear_work(monkeypatch) -> None:
    built = []

    def counting(data: bytes) -> ToHost:
        built.append(len(data))
        return ToHost(data)

    monkeypatch.setattr(modem_mod, "ToHost", counting)
    modem = Modem(load_module("bg96"))
    while modem.next_event() is not None:
        pass
    built.clear()
    lines = 2000
    modem.receive_data(b"AT\r" * lines)  # nothing drained in between: the answers pile up
    events = []
    while (ev := modem.next_event()) is not None:
        events.append(ev)
    out = b"".join(e.data for e in events if isinstance(e, ToHost))
    assert out.count(b"OK\r\n") == lines  # every line answered, nothing dropped
    assert sum(built) <= 2 * len(out), f"copied {sum(built)} bytes to queue {len(out)}"
