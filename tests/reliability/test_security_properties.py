"""Hypothesis on the console API middleware itself (emulator/api/security.py), driven as ASGI:
a Host header is accepted only when it names the server exactly, and a body split into any
number of ``http.request`` messages reaches the app byte for byte (or is refused whole)."""

from __future__ import annotations

import asyncio
import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from emulator.api.security import MAX_BODY, ApiSecurity

PORT = 8765
ACCEPTED = {f"{h}:{PORT}" for h in ("127.0.0.1", "localhost", "[::1]")}


def _call(headers: list[tuple[bytes, bytes]], chunks: list[bytes], method: str = "POST") -> tuple[int, bytes]:
    seen = bytearray()

    async def app(scope, receive, send) -> None:
        while True:
            message = await receive()
            seen.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
                for i, c in enumerate(chunks)] or [{"type": "http.request", "body": b"", "more_body": False}]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": "/api/clock/advance", "headers": headers,
             "server": ("127.0.0.1", PORT)}
    asyncio.run(ApiSecurity(app)(scope, receive, send))
    return sent[0]["status"], bytes(seen)


HOSTISH = st.one_of(
    st.sampled_from(sorted(ACCEPTED)),
    st.builds(lambda h, p: f"{h}:{p}", st.sampled_from(["127.0.0.1", "localhost", "[::1]", "127.0.0.2", "evil.example",
                                                       "localhost.", "LocalHost", "[::1", "::1", "0x7f.1", ""]),
              st.one_of(st.integers(0, 99999).map(str), st.just(""), st.text("0123456789:@x", max_size=6))),
    st.text(max_size=30))


@settings(max_examples=300, deadline=None)
@given(host=HOSTISH)
@example(host=f"127.0.0.1:0{PORT}")
@example(host=f"localhost:{PORT}:{PORT}")
@example(host=f"127.0.0.1:{PORT}\x00")
@example(host=f"127.0.0.1:\u0038765")
@example(host="127.0.0.1:８７６５")
def test_only_hosts_naming_the_server_pass(host: str) -> None:
    status, _ = _call([(b"host", host.encode("utf-8", "surrogateescape")),
                       (b"content-type", b"application/json")], [b"{}"])
    expected = host.lower() in ACCEPTED or host.lower() == f"127.0.0.1:{PORT}"
    assert (status == 200) == expected, (host, status)


@settings(max_examples=200, deadline=None)
@given(value=st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                          | st.text(st.characters(blacklist_categories=["Cs"])),
                          lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=5), kids, max_size=4),
                          max_leaves=20),
       cuts=st.lists(st.integers(0, 10_000), max_size=6))
def test_a_body_split_anywhere_reaches_the_app_unchanged(value, cuts: list[int]) -> None:
    body = json.dumps(value).encode()
    points = sorted({c % (len(body) + 1) for c in cuts})
    chunks = [body[a:b] for a, b in zip([0, *points], [*points, len(body)])]
    status, seen = _call([(b"host", f"127.0.0.1:{PORT}".encode()), (b"content-type", b"application/json")], chunks)
    assert status == 200 and seen == body


@settings(max_examples=30, deadline=None)
@given(pieces=st.integers(2, 9))
def test_a_body_over_the_cap_is_refused_however_it_is_split(pieces: int) -> None:
    body = b'{"seconds": 1}' + b" " * MAX_BODY
    size = len(body) // pieces + 1
    chunks = [body[i:i + size] for i in range(0, len(body), size)]
    status, seen = _call([(b"host", f"localhost:{PORT}".encode()), (b"content-type", b"application/json")], chunks)
    assert status == 413 and seen == b""
