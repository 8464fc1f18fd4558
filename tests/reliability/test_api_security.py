"""Console API hardening (issue 16 item 4), against a real ``modemu serve`` over raw sockets
(every header under the test's control): DNS-rebinding Host check, cross-site form POSTs and
foreign Origins refused, bodies capped while streaming, non-finite numbers -> 422, an optional
bearer token, a fault without ``port``; and a seeded fuzzer that never gets a 500.
"""

from __future__ import annotations

import json
import random
import socket
import time
from pathlib import Path

import pytest

from relhelp import env, http, json_post, read_response, scale, serve

pytestmark = [pytest.mark.slow]
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    srv = serve(tmp_path_factory.mktemp("api"), "--module", "bg96", "--module", "ec800e")
    yield srv
    assert srv.stop() == 0


# --- Host (DNS rebinding) -------------------------------------------------------------------
@pytest.mark.parametrize("host", ["rebind.evil.example", "rebind.evil.example:{port}", "127.0.0.1",
                                  "127.0.0.1:1", "localhost.:{port}", "127.0.0.2:{port}", "[::2]:{port}",
                                  "::1:{port}", "127.0.0.1:{port}@evil.example", ""])
def test_foreign_host_is_refused(api, host: str) -> None:
    status, body = http(api, "GET", "/api/modems", headers={"Host": host.format(port=api.api_port)})
    assert status in (400, 421), body


def test_foreign_host_cannot_power_a_modem_off(api) -> None:
    status, _ = json_post(api, "/api/modems/bg96/power", {"on": False},
                          headers={"Host": f"rebind.evil.example:{api.api_port}"})
    assert status == 421
    assert http(api, "GET", "/api/modems/bg96")[1]["powered"] is True


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "[::1]:{port}"])
def test_loopback_names_with_our_port_are_accepted(api, host: str) -> None:
    status, body = http(api, "GET", "/api/modems/bg96", headers={"Host": host.format(port=api.api_port)})
    assert status == 200 and body["name"] == "bg96"


def test_two_host_headers_are_refused(api) -> None:
    raw = (f"GET /api/modems HTTP/1.1\r\nHost: {api.api}\r\nHost: evil.example\r\n"
           "Connection: close\r\n\r\n").encode()
    with socket.create_connection((api.api_host, api.api_port), timeout=10) as sock:
        sock.sendall(raw)
        status, _ = read_response(sock)
    assert status in (400, 421)


# --- cross-site requests --------------------------------------------------------------------
@pytest.mark.parametrize("ctype", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                   "text/plain", None])
def test_cross_site_simple_post_is_refused(api, ctype: str | None) -> None:
    status, body = http(api, "POST", "/api/modems/bg96/wake", b"on=1", headers={"Content-Type": ctype})
    assert status == 415, body
    status, _ = http(api, "POST", "/api/clock/advance", b'{"seconds": 1}', headers={"Content-Type": ctype})
    assert status == 415


def test_wake_without_a_body_is_refused_and_with_json_works(api) -> None:
    assert http(api, "POST", "/api/modems/bg96/wake", headers={"Content-Type": "application/json"})[0] == 422
    assert http(api, "POST", "/api/modems/bg96/wake", b"", headers={"Content-Type": "application/json"})[0] == 422
    status, body = json_post(api, "/api/modems/bg96/wake", {})
    assert status == 200 and body["name"] == "bg96"


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1",
                                    "https://127.0.0.1:{port}", "http://localhost.evil.example:{port}"])
def test_foreign_origin_is_refused_on_state_changing_routes(api, origin: str) -> None:
    headers = {"Origin": origin.format(port=api.api_port)}
    assert json_post(api, "/api/modems/bg96/wake", {}, headers=headers)[0] == 403
    assert http(api, "DELETE", "/api/network/faults", headers=headers)[0] == 403


def test_own_origin_is_accepted(api) -> None:
    for origin in (f"http://127.0.0.1:{api.api_port}", f"http://localhost:{api.api_port}"):
        assert json_post(api, "/api/modems/bg96/wake", {}, headers={"Origin": origin})[0] == 200


# --- body size ------------------------------------------------------------------------------
def test_declared_20_mib_body_is_refused_before_it_is_sent(api) -> None:
    head = (f"POST /api/clock/advance HTTP/1.1\r\nHost: {api.api}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {20 * MIB}\r\n\r\n").encode()
    with socket.create_connection((api.api_host, api.api_port), timeout=10) as sock:
        sock.sendall(head + b'{"seconds": ')  # the rest never comes: the answer must not wait for it
        status, body = read_response(sock)
    assert status == 413, body


def test_streamed_body_over_1_mib_is_cut_off(api) -> None:
    head = (f"POST /api/clock/advance HTTP/1.1\r\nHost: {api.api}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    piece = b" " * 65536
    with socket.create_connection((api.api_host, api.api_port), timeout=10) as sock:
        sock.sendall(head)
        for _ in range(17):  # 1 MiB + 64 KiB, no final chunk: the server must answer anyway
            sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
        status, body = read_response(sock)
    assert status == 413, body


def test_a_body_just_under_the_cap_is_read(api) -> None:
    body = b'{"seconds": 0}' + b" " * (MIB - 64)
    assert http(api, "POST", "/api/clock/advance", body, headers={"Content-Type": "application/json"})[0] == 200


# --- numbers --------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "-1", "-0.5", "1e12",
                                 '"soon"', "null", "[1]", "99999999999999999999999999999"])
def test_bad_seconds_are_422_not_500(api, raw: str) -> None:
    status, body = http(api, "POST", "/api/clock/advance", b'{"seconds": %s}' % raw.encode(),
                        headers={"Content-Type": "application/json"})
    assert status == 422, body


@pytest.mark.parametrize("field,raw", [("seconds", "NaN"), ("seconds", "-1"), ("seconds", "Infinity"),
                                       ("count", "-1"), ("port", "70000"), ("port", "-5"), ("count", "1e999")])
def test_bad_fault_numbers_are_422(api, field: str, raw: str) -> None:
    fields = {"host": '"test.sktiot.com"', "kind": '"delay"', field: raw}
    body = ("{" + ",".join(f'"{k}": {v}' for k, v in fields.items()) + "}").encode()
    status, answer = http(api, "POST", "/api/network/faults", body, headers={"Content-Type": "application/json"})
    assert status == 422, answer
    assert not any(r["faults"] for r in http(api, "GET", "/api/network/routes")[1]["routes"])


def test_fault_without_port_applies_to_every_route_of_the_host(api) -> None:
    try:
        status, body = json_post(api, "/api/network/faults", {"host": "test.sktiot.com", "kind": "refuse"})
        assert status == 200, body
        routes = [r for r in http(api, "GET", "/api/network/routes")[1]["routes"] if r["host"] == "test.sktiot.com"]
        assert {r["port"] for r in routes} == {1883, 8883}
        assert all(r["faults"] and r["faults"][0]["kind"] == "refuse" for r in routes)
        assert json_post(api, "/api/network/faults", {"host": "nowhere.example", "kind": "refuse"})[0] == 404
    finally:
        assert http(api, "DELETE", "/api/network/faults")[0] == 200


# --- fuzz -----------------------------------------------------------------------------------
def _value(rng: random.Random, depth: int = 0):
    pick = rng.randrange(12 if depth < 3 else 8)
    return [lambda: None, lambda: rng.choice([True, False]), lambda: rng.randint(-2**70, 2**70),
            lambda: rng.uniform(-1e6, 1e6), lambda: rng.choice(["", "on", "x" * 300, "\u00e9\u4e2d", "\x00"]),
            lambda: rng.choice([0, 1, 99, 31, -1, 65535, 86400]), lambda: rng.random() * 1e300,
            lambda: rng.choice(["detach", "attach", "signal", "refuse", "drop", "delay"]),
            lambda: [_value(rng, depth + 1) for _ in range(rng.randrange(3))],
            lambda: {rng.choice(KEYS): _value(rng, depth + 1) for _ in range(rng.randrange(4))},
            lambda: {rng.choice(KEYS): _value(rng, depth + 1) for _ in range(rng.randrange(4))},
            lambda: {rng.choice(KEYS): _value(rng, depth + 1) for _ in range(rng.randrange(4))}][pick]()


KEYS = ["seconds", "on", "high", "action", "rssi", "host", "port", "kind", "count", "name", "token",
        "descriptor", "running", "method", "params", "payload", "payload_hex", "ttl", "product_id", "imei"]
ROUTES = [("POST", "/api/modems/{m}/network"), ("POST", "/api/modems/{m}/dtr"), ("POST", "/api/clock/advance"),
          ("POST", "/api/network/faults"), ("POST", "/api/thingplug/services"),
          ("PUT", "/api/thingplug/services/{s}/descriptor"), ("POST", "/api/thingplug/{s}/devices"),
          ("PATCH", "/api/thingplug/{s}/d1/attributes"), ("POST", "/api/thingplug/{s}/d1/rpc"),
          ("POST", "/api/ctwing/products"), ("POST", "/api/ctwing/devices"),
          ("POST", "/api/ctwing/devices/1/commands")]
RAW = [b"NaN", b"{", b'{"seconds": NaN}', b'{"a": Infinity}', b"[" * 5000, b"\xff\xfe", b'"\\ud800"',
       b'{"seconds": 1e999}', b"1" * 5000, b"{}" * 3]


def test_fuzzed_bodies_never_get_a_500(api) -> None:
    rng = random.Random(16)
    failures = []
    for i in range(scale(200, 5000)):
        method, path = rng.choice(ROUTES)
        path = path.format(m=rng.choice(["bg96", "ec800e", "nope"]), s=rng.choice(["svc", "x"]))
        if rng.random() < 0.2:
            body = rng.choice(RAW)
        else:
            value = _value(rng)
            if isinstance(value, dict) and "seconds" in value and isinstance(value["seconds"], (int, float)):
                value["seconds"] = min(abs(value["seconds"]), 3600)  # keep the clock sane
            body = json.dumps(value).encode()
        status, answer = http(api, method, path, body, headers={"Content-Type": "application/json"})
        if status >= 500:
            failures.append((method, path, body[:200], status, answer))
    http(api, "DELETE", "/api/network/faults")
    assert not failures, failures[:5]
    assert http(api, "GET", "/api/modems")[0] == 200


# --- bearer token ---------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["flag", "env"])
def test_bearer_token_is_required_on_every_route_when_set(tmp_path: Path, how: str) -> None:
    token = "s3cret-token"
    if how == "flag":
        srv = serve(tmp_path, "--no-backends", "--module", "bg96", "--api-token", token)
    else:
        srv = serve(tmp_path, "--no-backends", "--module", "bg96", environ=env(MODEMU_API_TOKEN=token))
    try:
        for method, path in (("GET", "/api/modems"), ("GET", "/docs"), ("GET", "/openapi.json")):
            assert http(srv, method, path)[0] == 401
            assert http(srv, method, path, headers={"Authorization": "Bearer wrong"})[0] == 401
            assert http(srv, method, path, headers={"Authorization": f"Bearer {token}"})[0] == 200
        assert json_post(srv, "/api/modems/bg96/wake", {})[0] == 401
        ok = json_post(srv, "/api/modems/bg96/wake", {}, headers={"Authorization": f"Bearer {token}"})
        assert ok[0] == 200
    finally:
        assert srv.stop() == 0


def test_without_a_token_no_authorization_is_needed(api) -> None:
    started = time.monotonic()
    assert http(api, "GET", "/api/clock")[0] == 200
    assert time.monotonic() - started < 10
