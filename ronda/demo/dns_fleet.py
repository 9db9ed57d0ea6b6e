"""The demo's customer domains: a small authoritative DNS server (dnspython over UDP and
TCP) with good and broken zones, and the registries that say when each domain expires (an
RDAP server with IANA's bootstrap for `.test`, a WHOIS server for `.co` and `.com.co`), all
on 127.0.0.1. `config_toml()` writes the `[dns]`, `[expiry]` and `[[domains]]` sections
that point the desk at them.

Every domain shows one thing: a healthy one (far from expiry), and one per domain class.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

from ronda.model import FailureClass

FC = FailureClass
NS = "ns1.agencia.test."
_SOA = f"@ 300 IN SOA {NS} hostmaster.agencia.test. 1 3600 600 86400 60\n@ 300 IN NS {NS}\n"
_MAIL = (
    "@ 300 IN A 127.0.0.1\n"
    "@ 300 IN MX 10 mail\n"
    "mail 300 IN A 127.0.0.1\n"
    '@ 300 IN TXT "v=spf1 mx ip4:127.0.0.0/8 -all"\n'
    '_dmarc 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@agencia.test"\n'
    "_autodiscover._tcp 300 IN SRV 0 0 443 mail\n"
)


@dataclass(frozen=True, slots=True)
class DemoDomain:
    """One customer domain of the demo: its zone (None: served nowhere), expiry and what
    the desk should see."""

    name: str
    customer: str
    zone: str | None
    expires_in_days: float
    shows: FailureClass | None
    note: str
    nameservers: tuple[str, ...] = ("ns1.agencia.test",)
    records: tuple[tuple[str, str, str], ...] = field(default=())


_SRV = (("_autodiscover._tcp", "SRV", "0 0 443 mail"),)

DOMAINS: tuple[DemoDomain, ...] = (
    DemoDomain("tienda-ana.co", "Ana Pérez", _MAIL, 300, None,
               "healthy: mail records in order, registered for most of a year (WHOIS)",
               records=_SRV),
    DemoDomain("mercadoorganico.com.co", "Mercado Orgánico", _MAIL, 20, FC.DOMAIN_EXPIRING,
               "renewal due in 20 days (the .com.co registry answers on WHOIS only)"),
    DemoDomain("hostalcandelaria.test", "Hostal La Candelaria", _MAIL, 5, FC.DOMAIN_EXPIRING,
               "renewal due in 5 days (RDAP): raised to high"),
    DemoDomain("eventosluna.test", "Eventos Luna", None, -3, FC.DOMAIN_EXPIRED,
               "the registration lapsed three days ago: its zone is served nowhere either"),
    DemoDomain("hotelmarazul.test", "Hotel Mar Azul", _MAIL.replace("@ 300 IN MX 10 mail\n", ""),
               200, FC.DNS_NO_MX, "the MX records were deleted in a zone edit: mail bounces"),
    DemoDomain("cafedealtura.test", "Café de Altura",
               _MAIL + '@ 300 IN TXT "v=spf1 include:_spf.mailer.test ~all"\n', 200,
               FC.DNS_SPF_INVALID, "a second SPF record added for a mailing service"),
    DemoDomain("inmobiliariasol.test", "Inmobiliaria Sol",
               _MAIL.replace("_dmarc 300 IN TXT", "; _dmarc 300 IN TXT"), 200,
               FC.DNS_DMARC_MISSING, "no DMARC record at _dmarc"),
    DemoDomain("dentalcaremiami.test", "Dental Care Miami LLC",
               _MAIL.replace("_autodiscover._tcp 300 IN SRV 0 0 443 mail\n", ""), 200,
               FC.DNS_RECORD_MISMATCH, "the autodiscover SRV record is missing: Outlook "
               "cannot configure the mailbox", records=_SRV),
    DemoDomain("colegiosanjose.test", "Colegio San José",
               _MAIL.replace("@ 300 IN A 127.0.0.1\n", ""), 200, FC.DOMAIN_UNRESOLVED,
               "the apex A record was deleted: the name has no address"),
)  # fmt: skip


def _zones() -> dict[dns.name.Name, dns.zone.Zone]:
    out = {}
    for d in DOMAINS:
        if d.zone is not None:
            origin = dns.name.from_text(d.name)
            out[origin] = dns.zone.from_text(_SOA + d.zone, origin=origin, relativize=False)
    return out


class DnsResponder:
    """Authoritative answers from in-memory zones, over UDP and TCP on one port. A name in
    no zone is NXDOMAIN (as if its delegation were gone)."""

    def __init__(self, zones: dict[dns.name.Name, dns.zone.Zone]) -> None:
        self.zones = zones

    def answer(self, wire: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except Exception:  # noqa: BLE001 (dnspython raises many kinds on garbage)
            return None
        reply = dns.message.make_response(query)
        reply.flags |= dns.flags.AA
        if not query.question:
            reply.set_rcode(dns.rcode.FORMERR)
            return reply.to_wire()
        question = query.question[0]
        zone = next((z for o, z in self.zones.items() if question.name.is_subdomain(o)), None)
        if zone is None:
            reply.set_rcode(dns.rcode.NXDOMAIN)
            return reply.to_wire()
        node = zone.get_node(question.name)
        if node is None:
            reply.set_rcode(dns.rcode.NXDOMAIN)
            return reply.to_wire()
        rdataset = node.get_rdataset(dns.rdataclass.IN, question.rdtype)
        if rdataset is not None:
            reply.answer.append(
                dns.rrset.from_rdata_list(question.name, rdataset.ttl, list(rdataset))
            )
        return reply.to_wire(max_size=65535)


class _Udp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        out = self.server.responder.answer(data)  # type: ignore[attr-defined]
        if out is not None:
            sock.sendto(out, self.client_address)  # loopback: no 512-byte limit to keep


class _Tcp(socketserver.StreamRequestHandler):
    timeout = 5

    def handle(self) -> None:
        size = self.rfile.read(2)
        if len(size) < 2:
            return
        wire = self.rfile.read(int.from_bytes(size, "big"))
        out = self.server.responder.answer(wire)  # type: ignore[attr-defined]
        if out is not None:
            self.wfile.write(len(out).to_bytes(2, "big") + out)


def _free_port() -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port
    raise OSError("no free port for the demo's DNS server")


def rdap_answer(name: str, expires: datetime) -> dict:
    """An RFC 9083 domain answer, as a registry writes it."""
    return {
        "rdapConformance": ["rdap_level_0"],
        "objectClassName": "domain",
        "ldhName": name.upper(),
        "events": [
            {"eventAction": "registration", "eventDate": "2018-05-02T14:00:00Z"},
            {"eventAction": "expiration", "eventDate": expires.strftime("%Y-%m-%dT%H:%M:%SZ")},
        ],
    }


def whois_answer(name: str, expires: datetime) -> str:
    """The .co registry's WHOIS format (ICANN's)."""
    return (
        f"Domain Name: {name}\r\nRegistry Domain ID: DEMO-CO\r\n"
        "Creation Date: 2016-02-01T00:00:00Z\r\n"
        f"Registry Expiry Date: {expires.strftime('%Y-%m-%dT%H:%M:%SZ')}\r\n"
        "Registrar: Agencia Registrar\r\nName Server: ns1.agencia.test\r\n"
        ">>> Last update of WHOIS database: 2026-01-01T00:00:00Z <<<\r\n"
    )


class DnsFleet:
    """The DNS server and both registries, in daemon threads, until `stop()`."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)
        self.domains = DOMAINS
        self._servers: list[socketserver.BaseServer] = []
        self.dns_port = 0
        self.rdap_port = 0
        self.whois_port = 0

    def expires(self, domain: DemoDomain) -> datetime:
        return self.now + timedelta(days=domain.expires_in_days)

    def start(self) -> DnsFleet:
        responder = DnsResponder(_zones())
        port = _free_port()
        udp = socketserver.ThreadingUDPServer(("127.0.0.1", port), _Udp)
        tcp = socketserver.ThreadingTCPServer(("127.0.0.1", port), _Tcp, bind_and_activate=False)
        tcp.allow_reuse_address = True
        tcp.server_bind()
        tcp.server_activate()
        for server in (udp, tcp):
            server.responder = responder  # type: ignore[attr-defined]
            server.daemon_threads = True  # type: ignore[attr-defined]
        self.dns_port = port
        rdap = self._rdap()
        whois = self._whois()
        self._servers = [udp, tcp, rdap, whois]
        for server in self._servers:
            threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
        return self

    def _rdap(self) -> ThreadingHTTPServer:
        fleet = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path == "/dns.json":
                    base = f"http://127.0.0.1:{fleet.rdap_port}/rdap/"
                    doc = {"version": "1.0", "services": [[["test"], [base]]]}
                    return self._send(200, doc)
                name = self.path.removeprefix("/rdap/domain/")
                for d in fleet.domains:
                    if d.name == name and name.endswith(".test"):
                        return self._send(200, rdap_answer(name, fleet.expires(d)))
                return self._send(404, {"errorCode": 404, "title": "Not Found"})

            def _send(self, status: int, doc: dict) -> None:
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/rdap+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.rdap_port = server.server_address[1]
        return server

    def _whois(self) -> socketserver.ThreadingTCPServer:
        fleet = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 5

            def handle(self) -> None:
                name = self.rfile.readline(300).decode("ascii", "replace").strip().lower()
                for d in fleet.domains:
                    if d.name == name:
                        self.wfile.write(whois_answer(name, fleet.expires(d)).encode())
                        return
                self.wfile.write(f'No match for "{name.upper()}".\r\n'.encode())

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.whois_port = server.server_address[1]
        return server

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers = []

    def config_toml(self, interval: float) -> str:
        """[dns], [expiry] and one [[domains]] entry per demo domain."""
        q = json.dumps
        whois = f"127.0.0.1:{self.whois_port}"
        out = [
            "[dns]",
            f'resolvers = ["127.0.0.1:{self.dns_port}"]',
            "timeout = 1.0",
            f"interval = {interval}",
            "[expiry]",
            f'rdap_bootstrap = "http://127.0.0.1:{self.rdap_port}/dns.json"',
            "timeout = 2.0",
            "[expiry.whois_servers]",
            f"co = {q(whois)}",
            f'"com.co" = {q(whois)}',
            "",
        ]
        for d in self.domains:
            out += ["[[domains]]", f"name = {q(d.name)}", f"customer = {q(d.customer)}"]
            out.append(f"nameservers = [{', '.join(q(n) for n in d.nameservers)}]")
            for name, rdtype, value in d.records:
                value = value if value.endswith(".") else f"{value}.{d.name}."
                out += [
                    "[[domains.records]]",
                    f"name = {q(name)}",
                    f"type = {q(rdtype)}",
                    f"value = {q(value)}",
                ]
            out.append("")
        return "\n".join(out)
