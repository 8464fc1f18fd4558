"""What every embedded platform (backend) looks like to the rest of the emulator.

A backend is a fake carrier cloud reached over real protocols on loopback (moto-style): pure
models (registry, data store, command queue) plus thin servers, a console-API router and
scenario actions. This file only defines the contract; it must not import any backend.

Lifecycle, driven by ``transport/runner.py`` (the ``Emulator``):
``Backend(config, clock=..., internet=...)`` -> ``await start(ephemeral)`` returns the ready-file
endpoints ``{"thingplug_mqtt": ("127.0.0.1", 40001), ...}`` -> the backend registers the names
and addresses modems dial with ``internet.add_route(...)`` -> ``await stop()``. With
``BackendContext.attach_later`` (``modemu serve``), ``start()`` only binds the listening sockets
and returns; the protocol library is loaded and attached to them right after (``prebind.py``),
and ``await ready()`` waits for that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from ..core.clock import VirtualClock
    from ..net.internet import FakeInternet

LOOPBACK = "127.0.0.1"

Endpoint = tuple[str, int]


@dataclass
class ScenarioAction:
    """A platform-side step a scenario can run: ``{<backend>.<name>: {...args}}``.

    ``run(args)`` may be a coroutine function; it returns a value that the scenario can capture.
    """

    name: str
    run: Callable[[Mapping[str, Any]], Any]
    doc: str = ""


@dataclass
class BackendContext:
    clock: "VirtualClock"
    internet: "FakeInternet"
    ephemeral: bool = False
    extras: dict[str, Any] = field(default_factory=dict)
    # live events (``observe/bus.py``): ``publish(type, device=..., **fields)`` at each place a
    # platform logs a device in or refuses it, stores an uplink or changes a downlink's status
    publish: Callable[..., Any] = field(default=lambda *_a, **_k: None)
    # True: start() binds the sockets and returns, the servers attach to them in a task right
    # after (prebind.py); an asyncio.Event: that task waits for it first (serve sets it once the
    # ready file is written, so the libraries' imports do not slow the start-up they follow)
    attach_later: Any = False


class Backend:
    """Base class; subclasses set ``name`` and implement ``start``/``stop``/``reset``."""

    name: ClassVar[str] = ""
    ca_file: str | None = None  # PEM of the CA that signs its TLS servers (once started); modems trust it

    def __init__(self, config: Mapping[str, Any] | None, ctx: BackendContext) -> None:
        self.config = dict(config or {})
        self.ctx = ctx

    @property
    def clock(self) -> "VirtualClock":
        return self.ctx.clock

    async def start(self) -> dict[str, Endpoint]:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def ready(self) -> None:
        """Return once every listener ``start()`` bound is served (at once unless ``attach_later``)."""

    def reset(self) -> None:
        """Wipe stored data (not the registry defaults)."""

    def api_router(self) -> Any | None:
        """A FastAPI ``APIRouter`` mounted on the console API, or None."""
        return None

    def scenario_actions(self) -> list[ScenarioAction]:
        return []

    def port_for(self, key: str, default: int) -> int:
        """Listening port for endpoint ``key``: 0 with --ephemeral-ports, else config or default."""
        if self.ctx.ephemeral:
            return 0
        return int(self.config.get("ports", {}).get(key, default))
