"""Pure tests of emulator.backends.lwm2m.models: query parsing, link format, registry, expiry."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from emulator.backends.lwm2m.models import (
    BAD_REQUEST, NOT_FOUND, Lwm2mError, RegisterParams, Registry, UpdateParams,
    imei_of_endpoint, parse_object_links, parse_register_query, parse_update_query,
)
from emulator.core.clock import VirtualClock

IMEI = "868543060974334"


# ------------------------------------------------------------------ queries

def test_register_query_as_ctwing_sees_it():
    # guide 001 §4.1, docs/guides.md: POST /rd?b=U&lwm2m=1.0&lt=86400&ep=<IMEI>
    p = parse_register_query(["b=U", "lwm2m=1.0", "lt=86400", f"ep={IMEI}"])
    assert p == RegisterParams(IMEI, 86400, "U", "1.0")


def test_register_query_defaults_and_ignored_params():
    assert parse_register_query([f"ep=urn:imei:{IMEI}", "sms=123"]) == RegisterParams(
        f"urn:imei:{IMEI}", 86400, "U", "1.0")


@pytest.mark.parametrize("query, version, binding, queue", [
    (["lwm2m=1.2"], "1.2", "U", False),            # 1.1/1.2 may leave b= out (Core §6.2.1.1)
    (["lwm2m=1.1", "b=U", "Q"], "1.1", "U", True),  # 1.1 queue mode: the value-less Q parameter
    (["lwm2m=1.0", "b=UQ"], "1.0", "UQ", True),     # 1.0 queue mode: the binding
    (["lwm2m=1.0", "b=U"], "1.0", "U", False),
])
def test_register_query_versions_and_queue_mode(query, version, binding, queue):
    params = parse_register_query([f"ep={IMEI}", *query])
    assert (params.version, params.binding, params.queue) == (version, binding, queue)


@pytest.mark.parametrize("query, needle", [
    ([], "ep"),
    (["ep="], "ep"),
    (["lt=60"], "ep"),
    ([f"ep={IMEI}", "lt=0"], "lifetime"),
    ([f"ep={IMEI}", "lt=-5"], "lifetime"),
    ([f"ep={IMEI}", "lt=1e3"], "lifetime"),
    ([f"ep={IMEI}", "b=X"], "binding"),
    ([f"ep={IMEI}", "b=UU"], "binding"),
    ([f"ep={IMEI}", "lwm2m=2.0"], "version"),
    ([f"ep={IMEI}", f"ep={IMEI}"], "twice"),
    (["ep=has space"], "endpoint"),
    (["=x", f"ep={IMEI}"], "malformed"),
])
def test_register_query_malformed_is_400(query, needle):
    with pytest.raises(Lwm2mError) as err:
        parse_register_query(query)
    assert err.value.code == BAD_REQUEST and needle in err.value.message


def test_update_query():
    assert parse_update_query([]) == UpdateParams()
    assert parse_update_query(["lt=600", "b=UQ"]) == UpdateParams(600, "UQ")
    with pytest.raises(Lwm2mError):
        parse_update_query([f"ep={IMEI}"])
    with pytest.raises(Lwm2mError):
        parse_update_query(["lt=x"])


@given(st.lists(st.text(max_size=12), max_size=5))
def test_register_query_never_crashes(query):
    try:
        p = parse_register_query(query)
    except Lwm2mError as exc:
        assert exc.code == BAD_REQUEST
    else:
        assert p.endpoint and p.lifetime > 0


def test_imei_of_endpoint():
    assert imei_of_endpoint(IMEI) == IMEI
    assert imei_of_endpoint(f"urn:imei:{IMEI}") == IMEI
    assert imei_of_endpoint(f"urn:imei-imsi:{IMEI}-460115472446714") == IMEI
    assert imei_of_endpoint("device001") is None
    assert imei_of_endpoint("urn:imei:12") is None


# ------------------------------------------------------------------ link format

def test_links_of_the_quectel_module():
    root, links = parse_object_links(b'</>;rt="oma.lwm2m",</1/0>,</19/0>,</19/1>')
    assert root == "" and [l.path for l in links] == [(1, 0), (19, 0), (19, 1)]


def test_links_with_attributes_and_alternate_root():
    root, links = parse_object_links('</lwm2m>;rt="oma.lwm2m";ct=11543, </lwm2m/3/0>,</lwm2m/19/0/0>;obs')
    assert root == "/lwm2m"
    assert [l.path for l in links] == [(3, 0), (19, 0, 0)]
    assert links[1].attributes == {"obs": ""}


def test_links_without_root_link():
    assert [l.path for l in parse_object_links("</19/0>,</19/1>")[1]] == [(19, 0), (19, 1)]
    assert parse_object_links(b"") == ("", [])


@pytest.mark.parametrize("payload", [
    "</19/0", "19/0", "</19/0>;;", "</19/0> </19/1>", "</a/b>", "</1/2/3/4>", "</70000>",
    '</lwm2m>;rt="oma.lwm2m",</19/0>', "</19/0>,",
])
def test_links_malformed_is_400(payload):
    with pytest.raises(Lwm2mError) as err:
        parse_object_links(payload)
    assert err.value.code == BAD_REQUEST


@given(st.text(alphabet='</>;,="0123456789abrt.', max_size=40))
def test_links_never_crash(payload):
    try:
        _, links = parse_object_links(payload)
    except Lwm2mError as exc:
        assert exc.code == BAD_REQUEST
    else:
        assert all(1 <= len(l.path) <= 3 for l in links)


# ------------------------------------------------------------------ registry

@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def offline():
    return []


@pytest.fixture
def registry(clock, offline):
    return Registry(clock, lambda reg, reason: offline.append((reg.device_id, reason)))


def _register(registry, lifetime=300, ep=IMEI, links="</19/0>,</19/1>"):
    return registry.register(RegisterParams(ep, lifetime, "U", "1.0"), parse_object_links(links)[1],
                             "dev1", ("127.0.0.1", 5000))[0]


def test_register_stores_times_and_location(registry, clock):
    reg = _register(registry)
    assert reg.location == "/rd/0"
    assert reg.registered_at == reg.last_update == clock.now()
    assert reg.expires_at == clock.now() + 300
    assert reg.lists((19, 0, 0)) and reg.lists((19, 1, 0)) and not reg.lists((3, 0, 0))
    assert registry.by_device("dev1") is reg and registry.get("/rd/0") is reg


def test_lifetime_expiry_marks_offline(registry, clock, offline):
    _register(registry, lifetime=300)
    clock.advance(299.9)
    assert len(registry) == 1 and offline == []
    clock.advance(0.1)
    assert len(registry) == 0 and offline == [("dev1", "expired")]
    with pytest.raises(Lwm2mError) as err:
        registry.get("/rd/0")
    assert err.value.code == NOT_FOUND


def test_update_extends_lifetime(registry, clock, offline):
    _register(registry, lifetime=300)
    clock.advance(200)
    reg = registry.update("/rd/0", UpdateParams(lifetime=100), ("127.0.0.1", 6000))
    assert reg.lifetime == 100 and reg.remote == ("127.0.0.1", 6000) and reg.expires_at == clock.now() + 100
    clock.advance(99)
    assert offline == []
    clock.advance(1)
    assert offline == [("dev1", "expired")]


def test_deregister_cancels_expiry(registry, clock, offline):
    _register(registry)
    assert registry.deregister("/rd/0").device_id == "dev1"
    clock.advance(10_000)
    assert offline == [] and len(registry) == 0


def test_reregistration_replaces_previous(registry, clock, offline):
    first = _register(registry)
    reg, old = registry.register(RegisterParams(IMEI, 600, "U", "1.0"), [], "dev1", ("127.0.0.1", 1))
    assert old is first and reg.location == "/rd/1" and len(registry) == 1
    clock.advance(300)  # the old timer must not fire
    assert offline == []


def test_observation_bookkeeping(registry, clock):
    _register(registry)
    obs = registry.observe("/rd/0", (19, 0, 0), b"\x01\x02", 0)
    clock.advance(5)
    registry.notified("/rd/0", (19, 0, 0), 1)
    registry.notified("/rd/0", (19, 0, 0), 2)
    assert (obs.seq, obs.notifications, obs.token) == (2, 2, b"\x01\x02")
    assert registry.get("/rd/0").last_seen == clock.now()
    with pytest.raises(Lwm2mError):
        registry.notified("/rd/0", (19, 1, 0), 1)


def test_reachability_window(registry, clock):
    _register(registry)
    assert registry.reachable("dev1", None) and registry.reachable("dev1", 20)
    clock.advance(21)
    assert registry.reachable("dev1", None) and not registry.reachable("dev1", 20)
    assert not registry.reachable("nobody", None)
