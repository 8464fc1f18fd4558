"""FakeInternet owns its routes (add / replace / remove / list) and the one cut mechanism.

Before: a socket listener deleted its route by editing ``FakeInternet._routes``, and a console
``cut`` went two ways (``Emulator.cut_hooks`` for AT+QI* sockets, ``FakeInternet.cut_open`` for
MQTT sessions), with different matching and count rules. Now every open stream registers with
``watch_cut`` and ``cut`` resets the matching ones in one call.
"""

from __future__ import annotations

import sys
import threading

import pytest
from hypothesis import given, strategies as st

from emulator.errors import ConfigError
from emulator.net.internet import Fault, FakeInternet


def _net() -> FakeInternet:
    net = FakeInternet()
    net.add_name("mqtt.ctwing.cn", "221.229.214.205")
    net.add_route("mqtt.ctwing.cn", 1883, ("127.0.0.1", 41883), "ctwing-mqtt")
    net.add_route("mqtt.ctwing.cn", 8996, ("127.0.0.1", 48996), "ctwing-tcp")
    net.add_route("echo.test", None, ("127.0.0.1", 47007), "echo")
    return net


def test_add_replaces_remove_forgets_and_routes_lists_in_order() -> None:
    net = _net()
    assert [(r.host, r.port, r.label) for r in net.routes()] == [
        ("mqtt.ctwing.cn", 1883, "ctwing-mqtt"), ("mqtt.ctwing.cn", 8996, "ctwing-tcp"), ("echo.test", -1, "echo")]
    net.add_fault("echo.test", 7, Fault("refuse"))
    new = net.add_route("ECHO.test.", None, ("127.0.0.1", 47008), "again")  # same key: replaced
    assert net.route("echo.test", 9) is new and new.faults == []
    assert len(net.routes()) == 3
    # a listener unrouting itself: only while the route still goes to its own port
    assert net.remove_route("echo.test", None, ("127.0.0.1", 47007)) is False
    assert net.route("echo.test", 9) is new
    assert net.remove_route("echo.test", None, ("127.0.0.1", 47008)) is True
    assert net.route("echo.test", 9) is None and net.connect_target("echo.test", 9)[1] == "dns"
    assert net.remove_route("echo.test", None) is False  # nothing left to remove
    assert net.remove_route("mqtt.ctwing.cn", 1883) is True
    assert net.route("mqtt.ctwing.cn", 8996) is not None  # the other port's route stays
    with pytest.raises(ConfigError):
        net.add_route("evil.test", 1, ("192.0.2.1", 1))  # never a route off loopback


class Streams:
    """Open streams as executors register them: (route, dialled host, port) -> reset count."""

    def __init__(self, net: FakeInternet) -> None:
        self.net, self.resets, self.unwatch = net, {}, {}

    def open(self, name: str, host: str, port: int) -> None:
        self.resets[name] = 0

        def reset() -> None:
            self.resets[name] += 1
        self.unwatch[name] = self.net.watch_cut(self.net.route_for(host, port), host, port, reset)

    def reset_ones(self) -> set[str]:
        return {k for k, v in self.resets.items() if v}


def test_one_cut_resets_sockets_and_mqtt_sessions_on_the_route_only() -> None:
    net = _net()
    s = Streams(net)
    s.open("qmt", "mqtt.ctwing.cn", 1883)         # an AT+QMT session
    s.open("qi-by-ip", "221.229.214.205", 1883)   # an AT+QI socket dialled to the address DNS gave
    s.open("qi-tcp", "mqtt.ctwing.cn", 8996)      # another port: another route
    s.open("echo", "echo.test", 7)
    net.add_fault("mqtt.ctwing.cn", 1883, Fault("cut"))
    assert net.cut("mqtt.ctwing.cn", 1883) == 2
    assert s.reset_ones() == {"qmt", "qi-by-ip"}
    assert net.cut("mqtt.ctwing.cn", 1883) == 0  # reset once: a reset stream is gone
    assert net.cut("mqtt.ctwing.cn", None) == 1  # the name without a port: every port
    assert s.reset_ones() == {"qmt", "qi-by-ip", "qi-tcp"} and s.resets["qmt"] == 1
    assert net.cut("nothing.test", None) == 0 and s.resets["echo"] == 0


def test_a_cut_count_is_spent_on_the_streams_it_resets_oldest_first() -> None:
    net = _net()
    s = Streams(net)
    for i in range(3):
        s.open(f"c{i}", "echo.test", 7)
    fault = Fault("cut", 2)
    net.add_fault("echo.test", 7, fault)
    assert net.cut("echo.test", 7) == 2
    assert s.reset_ones() == {"c0", "c1"} and fault.count == 0
    assert net.connect_target("echo.test", 7)[2] is None  # spent: the next connect is not cut


def test_an_unwatched_stream_is_not_reset() -> None:
    net = _net()
    s = Streams(net)
    s.open("closed", "echo.test", 7)
    s.open("open", "echo.test", 7)
    s.unwatch["closed"]()
    s.unwatch["closed"]()  # twice is harmless
    assert net.cut("echo.test", 7) == 1 and s.reset_ones() == {"open"}


def test_cuts_from_several_threads_reset_each_stream_once() -> None:
    """The console's sync routes run in worker threads: two cuts at once must not both pick
    (and reset) the same stream."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        for _ in range(20):
            net = _net()
            s = Streams(net)
            for i in range(200):
                s.open(f"c{i}", "echo.test", 7)
            hits: list[int] = []
            threads = [threading.Thread(target=lambda: hits.append(net.cut("echo.test", None)))
                       for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sum(hits) == 200 and set(s.resets.values()) == {1}
    finally:
        sys.setswitchinterval(before)


@given(st.lists(st.tuples(st.sampled_from(["echo.test", "mqtt.ctwing.cn", "221.229.214.205"]),
                          st.sampled_from([7, 1883, 8996])), max_size=12),
       st.sampled_from(["echo.test", "mqtt.ctwing.cn", "221.229.214.205"]),
       st.one_of(st.none(), st.sampled_from([7, 1883, 8996])))
def test_cut_resets_exactly_the_streams_through_the_route_or_to_the_name(opened, host, port) -> None:
    net = _net()
    s = Streams(net)
    for i, (h, p) in enumerate(opened):
        s.open(f"s{i}", h, p)
    route = net.route(host, port)
    expected = {f"s{i}" for i, (h, p) in enumerate(opened)
                if (route is not None and net.route_for(h, p) is route) or (h == host and port in (None, p))}
    assert net.cut(host, port) == len(expected)
    assert s.reset_ones() == expected
