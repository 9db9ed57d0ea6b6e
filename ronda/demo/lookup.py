"""The demo's stand-in for Google's Web Risk lookup (`uris:search`), on 127.0.0.1.

It answers in Web Risk's JSON: `{"threat": {"threatTypes": ["MALWARE"], ...}}` for a site
the fleet currently lists (`flagged()`), `{}` for any other; a request without the demo's
key gets Google's 403. The desk reaches it through `[wordpress] safe_browsing_url`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

DEMO_KEY = "demo-lookup-key"
PATH = "/v1/uris:search"
_MAX_HEAD = 16 * 1024


def answer(target: str, key: str | None, flagged: set[str]) -> tuple[int, bytes]:
    """(status, JSON body) for one request target and the key it carried. Pure."""
    parts = urlsplit(target)
    if parts.path != PATH:
        return 404, b'{"error": {"code": 404, "status": "NOT_FOUND"}}'
    if key != DEMO_KEY:
        return 403, b'{"error": {"code": 403, "status": "PERMISSION_DENIED"}}'
    uri = (parse_qs(parts.query).get("uri") or [""])[0]
    if uri in flagged:
        doc = {"threat": {"threatTypes": ["MALWARE"], "expireTime": "2030-01-01T00:00:00Z"}}
        return 200, json.dumps(doc).encode()
    return 200, b"{}"


class LookupServer:
    """Serves `answer` on a loopback port of the running loop; `flagged` is asked per request."""

    def __init__(self, flagged: Callable[[], set[str]]) -> None:
        self.flagged = flagged
        self.server: asyncio.Server | None = None
        self.port = 0
        self.requests = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            if len(head) > _MAX_HEAD:
                return
            lines = head.decode("latin-1").split("\r\n")
            target = lines[0].split(" ")[1] if len(lines[0].split(" ")) == 3 else "/"
            key = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in lines[1:]
                    if line.lower().startswith("x-goog-api-key:")
                ),
                None,
            )
            self.requests += 1
            status, body = answer(target, key, self.flagged())
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (
            ConnectionError,
            TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
