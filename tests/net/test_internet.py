"""FakeInternet as a table: names, routes and the addresses DNS hands out for routed names."""

from __future__ import annotations

from hypothesis import given, strategies as st

from emulator.net.internet import FakeInternet


def test_the_address_dns_gives_for_a_routed_name_routes_like_the_name():
    net = FakeInternet()
    net.add_user_route("echo.test:7=127.0.0.1:47001")
    net.add_user_route("any.test=127.0.0.1:47002")
    for name, port, target in (("echo.test", 7, 47001), ("any.test", 1234, 47002)):
        (ip,) = net.resolve(name)
        assert net.connect_target(ip, port) == (("127.0.0.1", target), "", None)
        assert net.route_for(ip, port) is net.route(name, port)
    assert net.connect_target(net.resolve("echo.test")[0], 8)[1] == "refused"
    assert net.connect_target("203.0.113.9", 7)[1] == "refused"
    assert net.connect_target("nosuch.test", 7)[1] == "dns"


@given(st.lists(st.from_regex(r"[a-z]{1,12}\.test", fullmatch=True), min_size=2, max_size=40, unique=True))
def test_routed_names_never_share_a_synthetic_address(names):
    net = FakeInternet()
    for i, name in enumerate(names):
        net.add_route(name, None, ("127.0.0.1", 40000 + i))
    addrs = [net.resolve(name)[0] for name in names]
    assert len(set(addrs)) == len(addrs)
    for i, addr in enumerate(addrs):
        assert net.connect_target(addr, 1)[0] == ("127.0.0.1", 40000 + i)


async def test_a_gate_wait_ended_by_its_timer_leaves_no_fault_watcher() -> None:
    """Held traffic under a standing delay waits on the clock; every wait watched the faults and
    the watchers piled up until the next fault change (one per held write under load)."""
    import asyncio

    from emulator.core.clock import VirtualClock
    from emulator.net.faultgate import RouteGate
    from emulator.net.internet import Fault, FakeInternet

    clock, net = VirtualClock(), FakeInternet()
    route = net.add_route("peer.example", 7, ("127.0.0.1", 9))
    net.add_fault("peer.example", 7, Fault("delay", seconds=5.0))
    gate = RouteGate(net, route, clock)
    for _ in range(3):
        waiting = asyncio.ensure_future(gate.passage(clock.now()))
        await asyncio.sleep(0)
        assert not waiting.done()
        clock.advance(5.0)
        assert await asyncio.wait_for(waiting, 1.0) is True
    assert net._watchers == []
