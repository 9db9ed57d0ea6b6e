"""The response reader on the framing cases that decide how a parser must behave.

Fed byte strings directly (whole, byte by byte, in odd pieces), then a few through a real
server on 127.0.0.1, so EOF and the connection's end are the kernel's, not simulated.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ronda.checks.http1 import ProbeError, Response, _Reader, exchange, request_bytes
from ronda.checks.probe import Prober
from ronda.checks.targets import allowed_from, basic_authorization, parse_url
from ronda.config import ProbeSettings

FAST = ProbeSettings(deadline=1.0, slow_first_byte=0.5, slow_total=0.9)
SPLITS = [0, 1, 7]


def read(raw: bytes, split: int = 0, max_body: int = 1 << 20) -> _Reader:
    loop = asyncio.new_event_loop()
    try:
        reader = _Reader(loop.create_future(), max_body, stop_at_redirect=True)
        pieces = [raw] if not split else [raw[i : i + split] for i in range(0, len(raw), split)]
        for piece in pieces:
            reader.data_received(piece)
        reader.eof_received()
        return reader
    finally:
        loop.close()


def protocol_error(reader: _Reader) -> str:
    exc = reader.waiter.exception()
    assert isinstance(exc, ProbeError) and exc.kind == "protocol", exc
    return exc.detail


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize(
    "head",
    [
        b"Content-Length: 3\r\nContent-Length: 4",
        b"Content-Length: 3, 4",
        b"Content-Length: 4\r\nTransfer-Encoding: gzip\r\nContent-Length: 3",
    ],
)
def test_two_different_content_lengths_are_a_protocol_error(head: bytes, split: int) -> None:
    reader = read(b"HTTP/1.1 200 OK\r\n" + head + b"\r\n\r\nabcd", split)
    assert "Content-Length" in protocol_error(reader)


@pytest.mark.parametrize(
    "value", [b"ten", b"+5", b"-1", b"0x10", b"1 0", b"\xb2", b"\xb9\xb2", b"9" * 5000]
)
def test_a_content_length_that_is_not_digits_is_a_protocol_error(value: bytes) -> None:
    reader = read(b"HTTP/1.1 200 OK\r\nContent-Length: " + value + b"\r\n\r\nabcdefghij")
    assert "Content-Length" in protocol_error(reader)


@pytest.mark.parametrize("split", SPLITS)
def test_bare_lf_line_endings_are_read(split: int) -> None:
    raw = b"HTTP/1.1 200 OK\nContent-Type: text/html\nContent-Length: 5\n\nhello"
    reader = read(raw, split)
    assert reader.waiter.result() is None
    assert reader.status == 200 and bytes(reader.body) == b"hello"
    assert reader.headers["content-type"] == "text/html"


@pytest.mark.parametrize("split", SPLITS)
def test_interim_responses_before_the_final_one(split: int) -> None:
    raw = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: nginx\r\n\r\nok"
    )
    reader = read(raw, split)
    assert reader.waiter.result() is None
    assert reader.status == 200 and bytes(reader.body) == b"ok"
    assert reader.headers == {"content-length": "2", "server": "nginx"}  # no interim header


@pytest.mark.parametrize("split", SPLITS)
def test_a_body_without_length_ends_at_eof(split: int) -> None:
    body = b"<html><body>" + b"x" * 5000 + b"</body></html>"
    reader = read(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + body, split)
    assert reader.waiter.result() is None
    assert bytes(reader.body) == body and not reader.truncated


@pytest.mark.parametrize("split", SPLITS)
def test_a_header_line_without_a_colon_is_skipped(split: int) -> None:
    raw = b"HTTP/1.1 200 OK\r\nX-Broken\r\nContent-Length: 2\r\n\r\nok"
    reader = read(raw, split)
    assert reader.waiter.result() is None  # as browsers do: no false alarm for a stray line
    assert bytes(reader.body) == b"ok" and reader.headers == {"content-length": "2"}


@pytest.mark.parametrize("split", SPLITS)
def test_bare_lf_chunked_framing_is_read(split: int) -> None:
    raw = b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n5\nhello\n1 \n!\n0\n\n"
    reader = read(raw, split)
    assert reader.waiter.result() is None
    assert bytes(reader.body) == b"hello!"


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        b"HTTP/1.1 200 OK\r\nContent-Le",
    ],
)
def test_eof_inside_a_framed_response_is_a_protocol_error(raw: bytes) -> None:
    assert "closed in the middle" in protocol_error(read(raw))


def test_the_body_cap_holds_for_chunked_gzip() -> None:
    packed = gzip.compress(b"<p>a</p>" * 100_000)
    chunks = b"".join(
        f"{len(packed[i : i + 300]):x}\r\n".encode() + packed[i : i + 300] + b"\r\n"
        for i in range(0, len(packed), 300)
    )
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
        + chunks
        + b"0\r\n\r\n"
    )
    reader = read(raw, split=1000, max_body=10_000)
    assert reader.waiter.result() is None
    assert len(reader.body) == 10_000 and reader.truncated


def test_an_endless_header_line_is_cut_at_the_head_cap() -> None:
    loop = asyncio.new_event_loop()
    try:
        reader = _Reader(loop.create_future(), 1000, stop_at_redirect=True)
        reader.data_received(b"HTTP/1.1 200 OK\r\nX-Endless: ")
        for _ in range(100):
            reader.data_received(b"a" * 1024)
            if reader.waiter.done():
                break
        assert "64 KiB" in protocol_error(reader)
    finally:
        loop.close()


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(
        st.sampled_from(
            [
                b"Content-Length: 5",
                b"Content-Length: 3, 3",
                b"Content-Length: \xb2",
                b"Transfer-Encoding: chunked",
                b"Content-Encoding: gzip",
                b"Content-Encoding: deflate",
                b"X-No-Colon",
                b"  folded",
                b"",
                b"HTTP/1.1 103 Early Hints",
                b"5",
                b"0",
                b"hello",
            ]
        ),
        max_size=12,
    ),
    sep=st.sampled_from([b"\r\n", b"\n"]),
    tail=st.binary(max_size=100),
    cut=st.integers(1, 30),
)
def test_reader_fails_only_with_probe_errors_on_header_like_input(
    lines: list[bytes], sep: bytes, tail: bytes, cut: int
) -> None:
    raw = b"HTTP/1.1 200 OK" + sep + sep.join(lines) + sep + tail
    reader = read(raw, split=cut, max_body=1000)
    assert reader.waiter.done()
    exc = reader.waiter.exception()
    assert exc is None or isinstance(exc, ProbeError)
    assert len(reader.body) <= 1000


# --- through a real server ----------------------------------------------------------------------


async def serve_raw(raw: bytes) -> tuple[asyncio.Server, str]:
    """A server that answers any request with `raw`, then closes its end."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(raw)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"


@pytest.fixture
def probe_raw():
    prober = Prober(use_uvloop=False)

    async def probe(raw: bytes) -> Response | ProbeError:
        server, url = await serve_raw(raw)
        try:
            async with asyncio.timeout(FAST.deadline):
                return await exchange(url, prober.ssl_context, FAST.max_body_bytes)
        except ProbeError as exc:
            return exc
        finally:
            server.close()

    return probe


async def test_served_body_closed_by_eof(probe_raw) -> None:
    body = b"<html><body>" + b"<p>hola</p>" * 3000 + b"</body></html>"
    got = await probe_raw(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + body)
    assert isinstance(got, Response), got
    assert got.status == 200 and got.body == body and not got.truncated


async def test_served_interim_then_final(probe_raw) -> None:
    got = await probe_raw(
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy"
    )
    assert isinstance(got, Response), got
    assert got.status == 503 and got.body == b"busy" and "link" not in got.headers


async def test_served_conflicting_lengths(probe_raw) -> None:
    got = await probe_raw(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 20\r\n\r\nok")
    assert isinstance(got, ProbeError) and got.kind == "protocol"


# --- locations, credentials and where a hop may connect -------------------------------------------


def test_two_different_locations_are_kept_apart_and_a_repeated_one_is_one() -> None:
    two = read(b"HTTP/1.1 302 Found\r\nLocation: /a\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n")
    assert two.headers["location"] == "/a\n/b"  # no header value holds a newline
    same = read(b"HTTP/1.1 302 Found\r\nLocation: /a\r\nLocation: /a\r\nContent-Length: 0\r\n\r\n")
    assert same.headers["location"] == "/a"
    other = read(b"HTTP/1.1 200 OK\r\nVary: a\r\nVary: b\r\nContent-Length: 0\r\n\r\n")
    assert other.headers["vary"] == "a, b"


def test_the_request_carries_authorization_only_when_given() -> None:
    token = basic_authorization("ana", "contraseña")
    assert token == "Basic " + base64.b64encode("ana:contraseña".encode()).decode()
    with_auth = request_bytes("/", "h.example", token)
    assert f"\r\nAuthorization: {token}\r\n".encode() in with_auth
    assert with_auth.endswith(b"Connection: close\r\n\r\n")
    assert b"Authorization" not in request_bytes("/", "h.example")


@pytest.mark.parametrize(
    ("url", "shown", "port"),
    [
        ("http://bob:hunter2@h.example:0/", "http://bob:***@h.example:0/", 0),
        ("https://tok@h.example/a b", "https://***@h.example/a%20b", 443),
        ("http://ti\u00e9nda.example/\u00f1", "http://xn--tinda-csa.example/%C3%B1", 80),
        (
            "http://h.example/go?to=http://bob:hunter2@x/",
            "http://h.example/go?to=http://bob:***@x/",
            80,
        ),
    ],
)
def test_parse_url_shows_what_is_requested_without_the_password(
    url: str, shown: str, port: int
) -> None:
    t = parse_url(url)
    assert t.shown == shown and t.port == port
    assert "hunter2" not in t.shown and "hunter2" not in t.host_header


async def test_a_screened_hop_is_refused_before_any_connection() -> None:
    dialled: list[tuple] = []

    async def connector(family: int, addr: tuple) -> socket.socket:
        dialled.append(addr)
        raise ConnectionRefusedError

    for url, said in (
        ("http://169.254.169.254/latest/", "169.254.169.254 is a link-local address"),
        ("http://127.0.0.1:0/", "port 0 is never dialled"),
    ):
        with pytest.raises(ProbeError) as error:
            await exchange(url, None, 1000, allowed=allowed_from("127.0.0.1"), connector=connector)
        assert error.value.kind == "redirect_refused" and said in error.value.detail
    assert dialled == []
    with pytest.raises(ProbeError) as error:  # the site's own URL: any address, but not port 0
        await exchange("http://127.0.0.1:0/", None, 1000, connector=connector)
    assert error.value.kind == "refused" and dialled == []
