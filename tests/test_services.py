"""Mail and access service checks against real servers on 127.0.0.1: Postfix (SMTP with
STARTTLS, submission, SMTPS), Dovecot (IMAP and POP3, STARTTLS and implicit TLS), OpenSSH's
sshd (banner), a tiny FTP server (banner, AUTH TLS) and an HTTPS webmail page; certificates
from trustme (valid, expiring, expired, for another host). Each class is seen once and not
raised on a healthy target."""

from __future__ import annotations

import asyncio
import http.server
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import mailservers
import pytest
from mailservers import MAIL_HOST, Certs, TinyFtp

from ronda.checks import subjects
from ronda.checks.probe import ProbeResult
from ronda.checks.services import check_service
from ronda.checks.subjects import CheckContext
from ronda.config.services import ServiceCheck, service_subject
from ronda.model import FailureClass as FC
from ronda.model import Priority

LISTENERS = {
    "smtp": ("valid", "starttls"),
    "submission": ("valid", "encrypt"),
    "smtps": ("valid", "wrapper"),
    "expired": ("expired", "starttls"),
    "wronghost": ("wronghost", "starttls"),
    "expiring": ("expiring", "starttls"),
    "notls": ("valid", "none"),
}


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Certs:
    return mailservers.make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def postfix(tmp_path_factory, certs) -> Iterator[dict[str, int]]:
    with mailservers.postfix(tmp_path_factory.mktemp("postfix"), certs, LISTENERS) as ports:
        yield ports


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory, certs) -> Iterator[dict[str, int]]:
    with mailservers.dovecot(tmp_path_factory.mktemp("dovecot"), certs) as ports:
        yield ports


@pytest.fixture(scope="module")
def sshd(tmp_path_factory) -> Iterator[int]:
    with mailservers.sshd(tmp_path_factory.mktemp("sshd")) as port:
        yield port


@pytest.fixture
def context(certs) -> CheckContext:
    return CheckContext(extra_ca=certs.ca_file)


def closed_port() -> int:
    return mailservers.free_ports(1)[0]


async def check(context: CheckContext, service: str, port: int, **kw) -> ProbeResult:
    settings = ServiceCheck(
        server="srv-a",
        service=service,
        host="127.0.0.1",
        port=port,
        tls=kw.pop("tls", None) or _default_tls(service),
        tls_name=kw.pop("tls_name", MAIL_HOST),
        deadline=kw.pop("deadline", 5.0),
        **kw,
    )
    return await check_service(service_subject(settings), context)


def _default_tls(service: str) -> str:
    from ronda.config.services import SERVICES

    return SERVICES[service].tls


def classes(result: ProbeResult) -> list[FC]:
    return [f.failure_class for f in result.findings]


# ---- SMTP (Postfix) -------------------------------------------------------------------------


async def test_smtp_starttls_on_a_healthy_postfix_is_ok_with_its_evidence(postfix, context) -> None:
    result = await check(context, "smtp", postfix["smtp"])
    assert classes(result) == [] and result.ok
    extra = result.extra
    assert extra["greeting"] == f"220 {MAIL_HOST} ESMTP"
    assert extra["tls"] == "starttls"
    assert extra["cert"]["subject"] and extra["cert"]["days_left"] > 300
    assert set(result.phases) >= {"connect", "greeting", "tls"}
    assert result.cert_not_after is not None
    assert result.site == "srv-a/smtp:" + str(postfix["smtp"])


async def test_submission_and_smtps_are_ok(postfix, context) -> None:
    sub = await check(context, "submission", postfix["submission"])
    smtps = await check(context, "smtps", postfix["smtps"])
    assert (sub.ok, sub.extra["tls"]) == (True, "starttls")
    assert (smtps.ok, smtps.extra["tls"]) == (True, "implicit")
    assert smtps.extra["greeting"].startswith("220 ")


async def test_mail_down_when_nothing_listens_or_the_greeting_is_wrong(postfix, context) -> None:
    refused = await check(context, "smtp", closed_port())
    assert classes(refused) == [FC.MAIL_DOWN]
    assert "refused" in refused.detail
    wrong = await check(context, "smtp", postfix["smtp"], expect="220 other.example")
    assert classes(wrong) == [FC.MAIL_DOWN]
    assert "expected 220 other.example" in wrong.detail


async def test_mail_tls_expired(postfix, context) -> None:
    result = await check(context, "smtp", postfix["expired"])
    assert classes(result) == [FC.MAIL_TLS_EXPIRED]
    # Read again without verification: the dates are still reported.
    assert result.extra["cert"]["days_left"] < 0
    assert result.cert_not_after is not None and result.cert_not_after < datetime.now(UTC)


async def test_mail_tls_invalid_for_another_host_untrusted_or_no_starttls(postfix, context) -> None:
    other = await check(context, "smtp", postfix["wronghost"])
    assert classes(other) == [FC.MAIL_TLS_INVALID]
    assert "another host" in other.detail
    untrusted = await check(CheckContext(), "smtp", postfix["smtp"])  # without the test CA
    assert classes(untrusted) == [FC.MAIL_TLS_INVALID]
    assert "not trusted" in untrusted.detail
    plain = await check(context, "smtp", postfix["notls"])
    assert classes(plain) == [FC.MAIL_TLS_INVALID]
    assert "STARTTLS not offered" in plain.detail
    # Where TLS is optional, a server without it is fine.
    assert (await check(context, "smtp", postfix["notls"], tls="optional")).ok


async def test_mail_tls_expiring_medium_within_the_critical_days(postfix, context) -> None:
    result = await check(context, "smtp", postfix["expiring"])
    assert classes(result) == [FC.MAIL_TLS_EXPIRING]
    assert result.findings[0].priority == Priority.MEDIUM  # 5 days left, under 7
    assert "days left" in result.detail
    healthy = await check(context, "smtp", postfix["smtp"])
    assert FC.MAIL_TLS_EXPIRING not in classes(healthy)


# ---- IMAP and POP3 (Dovecot) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "tls"),
    [("imap", "starttls"), ("imaps", "implicit"), ("pop3", "starttls"), ("pop3s", "implicit")],
)
async def test_dovecot_imap_and_pop3_with_tls_are_ok(dovecot, context, service, tls) -> None:
    result = await check(context, service, dovecot[service])
    assert classes(result) == [] and result.extra["tls"] == tls
    assert "Dovecot ready." in result.extra["greeting"]
    assert result.extra["cert"]["days_left"] > 300


async def test_dovecot_seen_down_with_a_wrong_expected_greeting(dovecot, context) -> None:
    result = await check(context, "imap", dovecot["imap"], expect="* OK [other]")
    assert classes(result) == [FC.MAIL_DOWN]
    pop = await check(context, "pop3s", dovecot["pop3s"], tls_name="other.example.test")
    assert classes(pop) == [FC.MAIL_TLS_INVALID]


# ---- access: SSH and FTP ------------------------------------------------------------------


async def test_ssh_banner_ok_and_access_down_on_a_wrong_banner_or_no_server(sshd, context) -> None:
    ok = await check(context, "ssh", sshd)
    assert classes(ok) == [] and ok.extra["banner"].startswith("SSH-2.0-OpenSSH")
    wrong = await check(context, "ssh", sshd, expect="SSH-2.0-dropbear")
    assert classes(wrong) == [FC.ACCESS_DOWN]
    gone = await check(context, "ssh", closed_port())
    assert classes(gone) == [FC.ACCESS_DOWN]


async def test_ftp_banner_and_auth_tls(certs, context) -> None:
    good = await TinyFtp(cert=certs.files["valid"]).start()
    no_tls = await TinyFtp().start()
    hostile = await TinyFtp(banner=b"530 go away\r\n").start()
    try:
        ok = await check(context, "ftp", good.port)
        assert classes(ok) == [] and ok.extra["tls"] == "starttls"
        assert ok.extra["banner"] == "220 tiny FTP ready"
        plain = await check(context, "ftp", no_tls.port)
        assert classes(plain) == [FC.ACCESS_TLS_INVALID]
        assert (await check(context, "ftp", no_tls.port, tls="none")).ok
        refused = await check(context, "ftp", hostile.port)
        assert classes(refused) == [FC.ACCESS_DOWN]
    finally:
        for server in (good, no_tls, hostile):
            await server.stop()


# ---- hostile servers ------------------------------------------------------------------------


async def test_a_hostile_greeting_is_bounded_and_made_visible(context) -> None:
    async def flood(reader, writer):
        writer.write(b"220 \x1b]0;owned\x07" + b"A" * 100_000)
        await writer.drain()
        writer.close()

    async def escape(reader, writer):
        writer.write(b"220 mail \x1b[2J\xe2\x80\xae ready\r\n")
        await writer.drain()
        await reader.read(100)
        writer.close()

    async def silent(reader, writer):
        await reader.read(100)  # never greets
        writer.close()

    servers = [await asyncio.start_server(h, "127.0.0.1", 0) for h in (flood, escape, silent)]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    try:
        long = await check(context, "smtp", ports[0])
        assert classes(long) == [FC.MAIL_DOWN] and "longer than" in long.detail
        shown = await check(context, "smtp", ports[1], tls="none")
        assert shown.ok
        assert "\x1b" not in shown.extra["greeting"] and "\\x1b" in shown.extra["greeting"]
        assert "<U+202E>" in shown.extra["greeting"]
        mute = await check(context, "smtp", ports[2], deadline=0.3)
        assert classes(mute) == [FC.MAIL_DOWN] and "within 0.3 s" in mute.detail
    finally:
        for s in servers:
            s.close()
            await s.wait_closed()


# ---- webmail and cPanel over HTTPS -------------------------------------------------------


@pytest.fixture(scope="module")
def webmail(certs) -> Iterator[int]:
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            body = b"<html><title>Webmail login</title></html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    crt, key = certs.files["valid"]
    ctx.load_cert_chain(str(crt), str(key))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


async def test_webmail_and_cpanel_as_https(webmail, context) -> None:
    ok = await check(context, "webmail", webmail, tls_name=None)
    assert classes(ok) == [] and ok.extra["greeting"].startswith("HTTP 200")
    assert ok.extra["cert"]["days_left"] > 300
    down = await check(context, "webmail", closed_port(), tls_name=None)
    assert classes(down) == [FC.MAIL_DOWN]
    cpanel = await check(context, "cpanel", closed_port(), tls_name=None)
    assert classes(cpanel) == [FC.ACCESS_DOWN]
    untrusted = await check(CheckContext(), "cpanel", webmail, tls_name=None)
    assert classes(untrusted) == [FC.ACCESS_TLS_INVALID]


def test_the_service_kind_is_registered() -> None:
    assert "service" in subjects.kinds()
    assert subjects.check_of("service") is check_service


# ---- configuration --------------------------------------------------------------------------


def test_services_on_servers_become_subjects() -> None:
    from ronda.config import parse_config

    config = parse_config(
        """
[[customers]]
name = "ana"
[[servers]]
name = "srv-a"
host = "mail.srv-a.example"
[[servers.services]]
service = "submission"
[[servers.services]]
service = "ssh"
port = 2222
expect = "SSH-2.0-OpenSSH"
interval = "10m"
customer = "ana"
impact = "high"
"""
    )
    sub, ssh = config.subjects
    assert (sub.name, sub.url, sub.kind, sub.server, sub.group) == (
        "srv-a/submission:587",
        "smtp://mail.srv-a.example:587",
        "service",
        "srv-a",
        "srv-a/mail",
    )
    assert sub.check.tls == "starttls" and sub.probe.interval == 300
    assert (ssh.name, ssh.group, ssh.probe.interval, ssh.customer) == (
        "srv-a/ssh:2222",
        "srv-a/access",
        600,
        "ana",
    )
    assert ssh.check.expect == "SSH-2.0-OpenSSH" and ssh.impact == "high"
    assert config.sites == ()


def test_service_config_problems_name_file_line_and_key() -> None:
    from ronda.config import ConfigError, parse_config

    text = """[[servers]]
name = "srv-a"
[[servers.services]]
service = "gopher"
[[servers.services]]
service = "smtp"
port = 70000
tls = "sometimes"
customer = "nobody"
[[servers.services]]
service = "ssh"
tls = "implicit"
[[servers.services]]
service = "imaps"
[[servers.services]]
service = "imaps"
"""
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    problems = "\n".join(err.value.problems)
    assert "<config>:4: servers[0].services[0].service" in problems
    assert "<config>:7: servers[0].services[1].port" in problems
    assert "<config>:8: servers[0].services[1].tls" in problems
    assert "<config>:9: servers[0].services[1].customer" in problems
    assert "<config>:12: servers[0].services[2].tls: SSH has no TLS" in problems
    assert "srv-a/imaps:993 is listed twice" in problems
