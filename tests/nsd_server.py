"""A real authoritative DNS server for the tests: NSD on a loopback port, zones in tmp_path.

`NsdServer(tmp, {"tienda.test": "zone text", ...})` writes one zone file per domain and a
config that binds 127.0.0.1 on a free port, runs NSD in the foreground (its own process,
ended by its pid) and waits until it answers.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rdatatype

from tests.polling import wait_until

NSD = shutil.which("nsd") or "/usr/sbin/nsd"


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (NSD binds both)."""
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
    raise AssertionError("no free port for NSD")


def zone(origin: str, body: str) -> str:
    """A zone's text: SOA and NS of the agency, then `body`."""
    return (
        f"$ORIGIN {origin}.\n$TTL 60\n"
        "@ IN SOA ns1.agencia.test. hostmaster.agencia.test. 1 3600 600 86400 60\n"
        "@ IN NS ns1.agencia.test.\n" + body.strip() + "\n"
    )


class NsdServer:
    """NSD serving `zones` on 127.0.0.1:`port` until `stop()`."""

    def __init__(self, root: Path, zones: dict[str, str]) -> None:
        self.root = root
        self.port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        entries = []
        for name, text in zones.items():
            (root / f"{name}.zone").write_text(text)
            entries.append(f"zone:\n  name: {name}\n  zonefile: {name}.zone\n")
        (root / "nsd.conf").write_text(
            "server:\n"
            "  ip-address: 127.0.0.1\n"
            f"  port: {self.port}\n"
            "  do-ip6: no\n"
            '  username: ""\n'
            '  chroot: ""\n'
            f'  zonesdir: "{root}"\n'
            f'  pidfile: "{root}/nsd.pid"\n'
            '  database: ""\n'
            f'  zonelistfile: "{root}/zone.list"\n'
            f'  xfrdfile: "{root}/xfrd.state"\n'
            f'  xfrdir: "{root}"\n'
            f'  logfile: "{root}/nsd.log"\n'
            "  server-count: 1\n"
            "  verbosity: 1\n"
            "remote-control:\n  control-enable: no\n" + "".join(entries)
        )
        self.process = subprocess.Popen(
            [NSD, "-d", "-c", str(root / "nsd.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        first = next(iter(zones))
        wait_until(
            lambda: self._answers(first),
            "NSD to answer",
            timeout=15,
            ignore=(OSError, dns.exception.DNSException),
            alive=self._died,
        )

    def reload(self, name: str, text: str, probe: tuple[str, str], present: bool) -> None:
        """Rewrite one zone and have NSD read it again (SIGHUP), waiting until the record
        `probe` (name, type) is `present` or absent."""
        (self.root / f"{name}.zone").write_text(text)
        self.process.send_signal(signal.SIGHUP)

        def changed() -> bool:
            query = dns.message.make_query(probe[0], dns.rdatatype.from_text(probe[1]))
            reply = dns.query.udp(query, "127.0.0.1", port=self.port, timeout=0.5)
            return bool(reply.answer) == present

        wait_until(changed, f"NSD to reload {name}", timeout=15, ignore=(OSError,), poll=0.05)

    @property
    def resolver(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _answers(self, name: str) -> bool:
        query = dns.message.make_query(name, dns.rdatatype.SOA)
        reply = dns.query.udp(query, "127.0.0.1", port=self.port, timeout=0.5)
        return bool(reply.answer)

    def _died(self) -> str | None:
        if self.process.poll() is None:
            return None
        log = self.root / "nsd.log"
        text = log.read_text() if log.exists() else ""
        err = self.process.stderr.read().decode() if self.process.stderr else ""
        return f"nsd exited {self.process.returncode}: {err}{text}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stderr:
            self.process.stderr.close()
