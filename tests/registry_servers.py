"""Local registries for the tests: an HTTP server answering IANA's RDAP bootstrap and RFC
9083 domain answers, and a WHOIS (port 43 protocol) TCP server answering registry-shaped
text. Both on 127.0.0.1, in threads, counting what they were asked."""

from __future__ import annotations

import json
import socketserver
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def rdap_domain(name: str, expires: str, registered: str = "2019-03-04T12:00:00Z") -> dict:
    """An RDAP domain answer as registries write it (RFC 9083 section 5.3)."""
    return {
        "rdapConformance": ["rdap_level_0", "icann_rdap_response_profile_0"],
        "objectClassName": "domain",
        "handle": f"D{abs(hash(name)) % 10**8}-TEST",
        "ldhName": name.upper(),
        "status": ["client transfer prohibited"],
        "events": [
            {"eventAction": "registration", "eventDate": registered},
            {"eventAction": "expiration", "eventDate": expires},
            {"eventAction": "last update of RDAP database", "eventDate": "2026-12-01T00:00:00Z"},
        ],
        "nameservers": [{"objectClassName": "nameserver", "ldhName": "NS1.AGENCIA.TEST"}],
        "notices": [{"title": "Terms of Use", "description": ["Test registry."]}],
    }


class RdapServer:
    """`/dns.json` (the bootstrap) and `/rdap/domain/<name>` from `domains` (name -> answer
    dict, or an int status). `tlds` are the suffixes the bootstrap says this server serves."""

    def __init__(self, tlds: list[str], domains: dict[str, dict | int | bytes]) -> None:
        self.domains = domains
        self.tlds = tlds
        self.asked: Counter[str] = Counter()
        self.bootstrap_extra: list = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                outer.asked[self.path] += 1
                if self.path == "/dns.json":
                    return self._json(200, outer.bootstrap())
                prefix = "/rdap/domain/"
                if self.path.startswith(prefix):
                    answer = outer.domains.get(self.path[len(prefix) :], 404)
                    if isinstance(answer, int):
                        return self._json(answer, {"errorCode": answer})
                    if isinstance(answer, bytes):
                        return self._raw(200, answer)
                    return self._json(200, answer)
                if self.path.startswith("/redirect/"):
                    self.send_response(302)
                    self.send_header("Location", "http://192.0.2.1/rdap/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                return self._json(404, {})

            def _json(self, status: int, doc: object) -> None:
                self._raw(status, json.dumps(doc).encode(), "application/rdap+json")

            def _raw(self, status: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bootstrap(self) -> dict:
        """IANA's format (RFC 9224): version, publication, services [[tlds], [urls]]."""
        return {
            "version": "1.0",
            "publication": "2026-11-30T18:00:02Z",
            "description": "RDAP bootstrap file for Domain Name System registrations",
            "services": [
                [["example", "invalid"], ["https://rdap.elsewhere.example/"]],
                [self.tlds, [f"{self.base}/rdap/"]],
                *self.bootstrap_extra,
            ],
        }

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# Real-shaped WHOIS answers of the .co registry (ICANN's format) and older spellings.
def co_whois(name: str, expires: str) -> str:
    return (
        f"Domain Name: {name}\r\n"
        "Registry Domain ID: D2C8E7A1B9F3-CO\r\n"
        "Registrar WHOIS Server: whois.registrar.test\r\n"
        "Updated Date: 2026-02-01T10:11:12Z\r\n"
        "Creation Date: 2015-03-04T15:16:17Z\r\n"
        f"Registry Expiry Date: {expires}\r\n"
        "Registrar: Registrar de Prueba S.A.S.\r\n"
        "Domain Status: clientTransferProhibited https://icann.org/epp#clientTransferProhibited\r\n"
        "Name Server: ns1.agencia.test\r\n"
        "DNSSEC: unsigned\r\n"
        ">>> Last update of WHOIS database: 2026-12-01T00:00:00Z <<<\r\n"
        "\r\n"
        "For more information on Whois status codes, please visit https://icann.org/epp\r\n"
    )


class WhoisServer:
    """Answers each query line from `answers` (name -> text, bytes, or a callable)."""

    def __init__(self, answers: dict[str, object]) -> None:
        self.answers = answers
        self.asked: Counter[str] = Counter()
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 5

            def handle(self) -> None:
                line = self.rfile.readline(512).decode("ascii", "replace").strip().lower()
                outer.asked[line] += 1
                answer = outer.answers.get(line, "No match for domain.\r\n")
                if callable(answer):
                    answer = answer(self)
                if answer is None:
                    return
                data = answer if isinstance(answer, bytes) else answer.encode()
                try:
                    self.wfile.write(data)
                except OSError:
                    pass  # the client stopped reading (a bounded read)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
