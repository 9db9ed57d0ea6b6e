"""Real mail and access servers for the service checks, started on 127.0.0.1 high ports with
their whole configuration in a test's directory: Postfix (SMTP, submission, SMTPS), Dovecot
(IMAP, POP3, with STARTTLS and implicit TLS), OpenSSH's sshd, and a tiny FTP server.

Postfix's and Dovecot's masters must start as root (they drop to their own users, which the
Debian packages create); the system's own instances and their configuration are never
touched: every path, queue and socket lives under the given directory.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trustme
from polling import wait_until

MAIL_HOST = "mail.example.test"


def free_ports(n: int) -> list[int]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def wait_listening(ports: list[int], proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """Poll until every port accepts a connection (bounded), or fail at once if the server
    exited."""
    pending = list(ports)

    def listening() -> bool:
        while pending:
            try:
                socket.create_connection(("127.0.0.1", pending[0]), 0.2).close()
            except OSError:
                return False
            pending.pop(0)
        return True

    def alive() -> str | None:
        code = proc.poll()
        return f"server exited with {code}" if code not in (None, 0) else None

    wait_until(listening, f"ports {pending} listening", timeout, alive=alive)


@dataclass
class Certs:
    """A CA and three server certificates: valid, expired, and for another host."""

    ca: trustme.CA
    ca_file: Path
    files: dict[str, tuple[Path, Path]] = field(default_factory=dict)  # name -> (cert, key)


def make_certs(where: Path, host: str = MAIL_HOST) -> Certs:
    where.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    ca_file = where / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    certs = Certs(ca, ca_file)
    now = datetime.now(UTC)
    made = {
        "valid": ca.issue_cert(host, "127.0.0.1"),
        "expiring": ca.issue_cert(
            host,
            "127.0.0.1",
            not_before=now - timedelta(days=80),
            not_after=now + timedelta(days=5),
        ),
        "expired": ca.issue_cert(
            host, not_before=now - timedelta(days=90), not_after=now - timedelta(days=2)
        ),
        "wronghost": ca.issue_cert("other.example.test"),
    }
    for name, cert in made.items():
        crt, key = where / f"{name}.crt", where / f"{name}.key"
        with crt.open("wb") as f:
            for blob in cert.cert_chain_pems:
                f.write(blob.bytes())
        cert.private_key_pem.write_to_path(str(key))
        os.chmod(key, 0o644)  # the servers read them after dropping to their own users
        certs.files[name] = (crt, key)
    return certs


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# ---- Postfix ----------------------------------------------------------------------------

POSTFIX_SERVICES = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


@contextmanager
def postfix(root: Path, certs: Certs, listeners: dict[str, tuple[str, str]]) -> Iterator[dict]:
    """A Postfix master with one smtpd per listener: name -> (cert name, mode), mode one of
    starttls (offered), encrypt (required, submission), wrapper (implicit TLS), none (no
    TLS offered). Yields name -> port."""
    # Postfix's daemons run as `postfix` and chdir into the queue: pytest's temporary
    # directories are private to root (0700), so the instance lives in a directory of its
    # own under the system's temporary folder, open to that user, removed afterwards.
    with tempfile.TemporaryDirectory(prefix="ronda-postfix-") as private:
        os.chmod(private, 0o755)
        root.mkdir(parents=True, exist_ok=True)
        (root / "instance").write_text(private + "\n")
        with _postfix(Path(private), certs, listeners) as ports:
            yield ports


@contextmanager
def _postfix(root: Path, certs: Certs, listeners: dict[str, tuple[str, str]]) -> Iterator[dict]:
    conf, queue, data = root / "conf", root / "queue", root / "data"
    for d in (conf, queue, data):
        d.mkdir(parents=True)
    tls = root / "tls"
    tls.mkdir()
    for crt, key in certs.files.values():
        shutil.copy(crt, tls / crt.name)
        shutil.copy(key, tls / key.name)
    files = {name: (tls / c.name, tls / k.name) for name, (c, k) in certs.files.items()}
    shutil.chown(data, "postfix")
    ports = dict(zip(listeners, free_ports(len(listeners)), strict=True))
    main = f"""\
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = {MAIL_HOST}
mydestination =
maillog_file = /dev/stdout
smtpd_banner = $myhostname ESMTP
smtpd_tls_chain_files = {files["valid"][1]}, {files["valid"][0]}
smtpd_tls_security_level = may
"""
    (conf / "main.cf").write_text(main)
    lines = [POSTFIX_SERVICES]
    for name, (cert, mode) in listeners.items():
        crt, key = files[cert]
        opts = [f"-o smtpd_tls_chain_files={key},{crt}"]
        if mode == "encrypt":
            opts.append("-o smtpd_tls_security_level=encrypt")
        elif mode == "wrapper":
            opts.append("-o smtpd_tls_wrappermode=yes")
        elif mode == "none":
            opts.append("-o smtpd_tls_security_level=none")
        lines.append(f"127.0.0.1:{ports[name]} inet n - n - - smtpd\n  " + "\n  ".join(opts))
    (conf / "master.cf").write_text("\n".join(lines) + "\n")
    env = {**os.environ, "MAIL_CONFIG": str(conf)}
    # `postfix check` makes the queue's folders and sets their owners (fatal on problems).
    subprocess.run(
        ["/usr/sbin/postfix", "-c", str(conf), "check"],
        env=env,
        check=True,
        stdout=(root / "check.out").open("wb"),
        stderr=subprocess.STDOUT,
    )
    # `master -s`: in the foreground, logging to its standard output (as `start-fg` runs it).
    proc = subprocess.Popen(
        ["/usr/lib/postfix/sbin/master", "-s"],
        env=env,
        stdout=(root / "master.out").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_listening(list(ports.values()), proc)
        yield ports
    finally:
        _stop(proc)


# ---- Dovecot ----------------------------------------------------------------------------


@contextmanager
def dovecot(root: Path, certs: Certs, cert: str = "valid") -> Iterator[dict]:
    """Dovecot with IMAP (143-like, STARTTLS), IMAPS, POP3 (STLS) and POP3S on free ports."""
    root.mkdir(parents=True, exist_ok=True)
    run = root / "run"
    run.mkdir()
    names = ("imap", "imaps", "pop3", "pop3s")
    ports = dict(zip(names, free_ports(4), strict=True))
    crt, key = certs.files[cert]
    conf = root / "dovecot.conf"
    conf.write_text(f"""\
base_dir = {run}
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <{crt}
ssl_key = <{key}
mail_location = maildir:{root}/mail/%u
default_internal_user = dovecot
default_login_user = dovenull
login_greeting = Dovecot ready.
passdb {{
  driver = static
  args = password=unused
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {ports["imap"]}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ports["imaps"]}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {ports["pop3"]}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {ports["pop3s"]}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
""")
    proc = subprocess.Popen(
        ["/usr/sbin/dovecot", "-F", "-c", str(conf)],
        stdout=(root / "dovecot.out").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_listening(list(ports.values()), proc)
        yield ports
    finally:
        _stop(proc)


# ---- OpenSSH ----------------------------------------------------------------------------


@contextmanager
def sshd(root: Path) -> Iterator[int]:
    """OpenSSH's sshd on a free port with a host key made here (only its banner is read)."""
    root.mkdir(parents=True, exist_ok=True)
    key = root / "host_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    (port,) = free_ports(1)
    conf = root / "sshd_config"
    conf.write_text(f"""\
ListenAddress 127.0.0.1
Port {port}
HostKey {key}
PidFile none
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
""")
    proc = subprocess.Popen(
        ["/usr/sbin/sshd", "-D", "-e", "-f", str(conf)],
        stdout=(root / "sshd.out").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_listening([port], proc)
        yield port
    finally:
        _stop(proc)


# ---- a tiny FTP server ------------------------------------------------------------------


class TinyFtp:
    """An FTP control channel: a 220 banner, AUTH TLS (when a certificate is given), QUIT."""

    def __init__(self, banner: bytes = b"220 tiny FTP ready\r\n", cert: tuple | None = None):
        self.banner = banner
        self.context: ssl.SSLContext | None = None
        if cert is not None:
            self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.context.load_cert_chain(str(cert[0]), str(cert[1]))
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> TinyFtp:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(self.banner)
            await writer.drain()
            for _ in range(10):
                line = (await reader.readline()).strip().upper()
                if not line or line == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    break
                if line == b"AUTH TLS" and self.context is not None:
                    writer.write(b"234 AUTH TLS ok\r\n")
                    await writer.drain()
                    await writer.start_tls(self.context)
                else:
                    writer.write(b"502 not implemented\r\n")
                await writer.drain()
        except (OSError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
