"""Probe rounds: Ronda's prober against blackbox_exporter on the same loopback targets.

    python bench/probe_rounds.py [--sites 1000] [--probes 5000] [--concurrency 50] [--runs 3]

Serves >= 1,000 sites over HTTP and HTTPS from a separate server process (nginx when
installed, else a small uvloop server in a subprocess), so server CPU is never counted.
Each run probes every target with a fresh connection (and a full TLS handshake over
HTTPS) at the given concurrency:

- Ronda: `Prober.probe_site` (one GET, classification, result) in a child process that
  reports its own `getrusage` CPU and peak RSS for the probing window only;
- blackbox_exporter (`prometheus-blackbox-exporter`, module http_2xx) through its /probe
  endpoint, its CPU read from /proc/PID/stat (serving /probe and rendering metrics
  included, as in docs/probe-costs.md).

Prints the response parser's own cost first (one nginx-like response, in this process), then
probes/s, CPU ms per probe (with each run's figure), CPU s per 1,000 probes, peak RSS and the
ratio Ronda / blackbox per protocol (median of the runs). Goal: ratio <= 1.0; above 1.5 is a
defect.

Then the WordPress-health section (`bench/wordpress_checks.py`; `--no-wordpress` skips it):
CPU per judge, and what each WordPress-health check adds to a site's round.
    python bench/probe_rounds.py --services [--checks 400] [--sites 5000] [--domains N]
                                 [--duration 70]

Service checks instead: a mail server (SMTP with STARTTLS, submission, SMTPS, IMAP with
STARTTLS, IMAPS, POP3 with STLS, POP3S, SSH and FTP with AUTH TLS banners, all healthy)
runs in a subprocess so its CPU is not counted; prints the CPU per check of each service
kind (a fresh connection and full handshake each; `--checks 0` skips it), then the whole
contract in one run (bench/contract_round.py): `--sites` web sites (a fast in-process fake
probe, as bench/schedule_lag.py), five mail and access services per server of 25 sites and
`--domains` domains (default: one per site; DNS and expiry against the demo's DNS server
and registries in a child process) checked for real through the scheduler and round
runner over `--duration` seconds, every kind at a 60 s interval: the schedule lag (p50,
p99) and CPU. Goal: p99 lag < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PAGE = (
    b"<!DOCTYPE html><html lang='es'><head><meta charset='utf-8'><title>Sitio</title>"
    b"<link rel='stylesheet' href='/wp-content/themes/astra/style.css'></head><body>"
    + b"<p>Bienvenidos a nuestra tienda en linea. Envios a todo el pais.</p>" * 60
    + b"</body></html>"
)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def make_certs(workdir: Path) -> tuple[Path, Path, Path]:
    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, chain, key = workdir / "ca.pem", workdir / "chain.pem", workdir / "key.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    chain.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(key))
    return ca_file, chain, key


def parse_cost() -> float:
    """Microseconds the response reader spends on one nginx answer for PAGE (best of 5)."""
    from ronda.checks.http1 import _Reader

    raw = (
        b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
        b"Content-Type: text/html\r\nContent-Length: %d\r\n"
        b"Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\nConnection: close\r\n"
        b'ETag: "65920000-1234"\r\nAccept-Ranges: bytes\r\n\r\n' % len(PAGE)
    ) + PAGE
    loop = asyncio.new_event_loop()

    def one() -> None:
        reader = _Reader(loop.create_future(), 1 << 20, stop_at_redirect=True)
        reader.data_received(raw)
        assert len(reader.body) == len(PAGE)

    try:
        return min(timeit.repeat(one, number=20_000, repeat=5)) / 20_000 * 1e6
    finally:
        loop.close()


# --- the target server --------------------------------------------------------------------------


def start_nginx(workdir: Path, chain: Path, key: Path, http: int, https: int) -> subprocess.Popen:
    www = workdir / "www"
    www.mkdir()
    (www / "index.html").write_bytes(PAGE)
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {workdir}/tmp-body;
    proxy_temp_path {workdir}/tmp-proxy;
    fastcgi_temp_path {workdir}/tmp-fcgi;
    uwsgi_temp_path {workdir}/tmp-uwsgi;
    scgi_temp_path {workdir}/tmp-scgi;
    server {{
        listen 127.0.0.1:{http};
        listen 127.0.0.1:{https} ssl;
        ssl_certificate {chain};
        ssl_certificate_key {key};
        ssl_session_tickets off;
        ssl_session_cache off;
        root {www};
        default_type text/html;
        location /site/ {{ try_files /index.html =404; }}
    }}
}}
"""
    )
    return subprocess.Popen(["nginx", "-c", str(conf), "-p", str(workdir)])


async def _serve(chain: str, key: str, http: int, https: int) -> None:
    import ssl

    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
        + f"Content-Length: {len(PAGE)}\r\n\r\n".encode()
        + PAGE
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(response)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(chain, key)
    await asyncio.start_server(handle, "127.0.0.1", http, backlog=4096)
    await asyncio.start_server(handle, "127.0.0.1", https, ssl=ctx, backlog=4096)
    await asyncio.Event().wait()


def start_python_server(chain: Path, key: Path, http: int, https: int) -> subprocess.Popen:
    cmd = [sys.executable, __file__, "--role", "server", "--chain", str(chain), "--key", str(key)]
    return subprocess.Popen(cmd + ["--http-port", str(http), "--https-port", str(https)])


# --- Ronda's side (a child process, so only its own CPU is counted) -------------------------------


async def _ronda(urls: list[str], probes: int, concurrency: int, ca: Path) -> dict:
    from ronda.checks.probe import Prober
    from ronda.config import ProbeSettings, Site

    prober = Prober(extra_ca=ca, use_uvloop=False)  # the loop is already chosen by run()
    settings = ProbeSettings(deadline=10.0)
    sites = [
        Site(name=f"site{i:04d}", url=u, wordpress=False, probe=settings)
        for i, u in enumerate(urls)
    ]
    queue = list(range(probes))
    failures: dict[str, int] = {}
    # Warm-up (imports, caches) outside the measured window.
    for s in sites[:20]:
        await prober.probe_site(s)

    async def worker() -> None:
        while queue:
            i = queue.pop()
            result = await prober.probe_site(sites[i % len(sites)])
            if not result.ok:
                failures[str(result.failure_class)] = failures.get(str(result.failure_class), 0) + 1

    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall": wall,
        "cpu": cpu,
        "probes": probes,
        "maxrss_kib": after.ru_maxrss,
        "failures": failures,
    }


def run_ronda(urls_file: Path, probes: int, concurrency: int, ca: Path, uvloop: bool) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--role",
        "prober",
        "--urls-file",
        str(urls_file),
        "--probes",
        str(probes),
        "--concurrency",
        str(concurrency),
        "--ca",
        str(ca),
    ]
    if not uvloop:
        cmd.append("--no-uvloop")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- blackbox_exporter's side ------------------------------------------------------------------


def start_blackbox(workdir: Path, ca: Path, port: int) -> subprocess.Popen:
    binary = shutil.which("prometheus-blackbox-exporter") or shutil.which("blackbox_exporter")
    if binary is None:
        raise SystemExit("prometheus-blackbox-exporter is not installed (apt-get install it)")
    conf = workdir / "blackbox.yml"
    conf.write_text(
        f"""modules:
  http_2xx:
    prober: http
    timeout: 10s
    http:
      method: GET
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      tls_config:
        ca_file: {ca}
"""
    )
    return subprocess.Popen(
        [binary, f"--config.file={conf}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of the whole line (11 and 12 after the name).
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


async def _drive_blackbox(port: int, urls: list[str], probes: int, concurrency: int) -> dict:
    """Ask blackbox for `probes` probes over keep-alive connections (this CPU is not counted)."""
    from urllib.parse import quote

    queue = list(range(probes))
    failed = 0

    async def worker() -> None:
        nonlocal failed
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while queue:
                i = queue.pop()
                target = quote(urls[i % len(urls)], safe="")
                writer.write(
                    f"GET /probe?module=http_2xx&target={target} HTTP/1.1\r\n"
                    f"Host: 127.0.0.1:{port}\r\n\r\n".encode()
                )
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                chunked = False
                for line in head.split(b"\r\n"):
                    low = line.lower()
                    if low.startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                    elif low.startswith(b"transfer-encoding:") and b"chunked" in low:
                        chunked = True
                if chunked:
                    body = b""
                    while True:
                        size = int((await reader.readline()).split(b";")[0], 16)
                        body += await reader.readexactly(size + 2)
                        if size == 0:
                            break
                else:
                    body = await reader.readexactly(length)
                if b"\nprobe_success 1" not in body:
                    failed += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"failed": failed}


def run_blackbox(pid: int, port: int, urls: list[str], probes: int, concurrency: int) -> dict:
    asyncio.run(_drive_blackbox(port, urls[:20], 20, 4))  # warm-up
    before = proc_cpu(pid)
    start = time.perf_counter()
    out = asyncio.run(_drive_blackbox(port, urls, probes, concurrency))
    wall = time.perf_counter() - start
    cpu = proc_cpu(pid) - before
    return {"wall": wall, "cpu": cpu, "probes": probes, "maxrss_kib": proc_rss_kib(pid), **out}


# --- main ---------------------------------------------------------------------------------


# --- service checks ---------------------------------------------------------------------------

SERVICE_KINDS = ("smtp", "submission", "smtps", "imap", "imaps", "pop3", "pop3s", "ssh", "ftp")


async def _mail_server(workdir: Path) -> None:
    """The healthy mail server of the service bench: ports as JSON on stdout, then serve."""
    import trustme

    from ronda.demo.mail_fleet import DemoService, MailFleet

    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(workdir / "mail-ca.pem"))
    services = (
        DemoService("smtp", "smtp", "valid"),
        DemoService("submission", "smtp", "valid"),
        DemoService("smtps", "smtp", "valid", implicit=True),
        DemoService("imap", "imap", "valid"),
        DemoService("imaps", "imap", "valid", implicit=True),
        DemoService("pop3", "pop3", "valid"),
        DemoService("pop3s", "pop3", "valid", implicit=True),
        DemoService("ssh", "ssh", None),
        DemoService("ftp", "ftp", "valid"),
    )
    fleet = await MailFleet(ca, 60.0, services).start()
    print(json.dumps(fleet.ports), flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await fleet.stop()


def start_mail_server(workdir: Path) -> tuple[subprocess.Popen, dict[str, int]]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--role", "mailserver", "--workdir", str(workdir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    ports = json.loads(proc.stdout.readline())
    return proc, ports


def _service_subject(server: str, service: str, port: int, interval: float = 60.0):
    from contract_round import service_subject  # bench/contract_round.py, next to this file

    return service_subject(server, service, port, interval)


async def _per_check(ports: dict[str, int], ca: Path, checks: int, concurrency: int) -> None:
    from ronda.checks.services import check_service
    from ronda.checks.subjects import CheckContext

    if checks <= 0:
        return
    context = CheckContext(extra_ca=ca)
    print(f"service checks: {checks} per kind, concurrency {concurrency}, fresh connections")
    for kind in SERVICE_KINDS:
        subject = _service_subject("bench", kind, ports[kind])
        for _ in range(10):  # warm-up: imports, the SSL contexts
            await check_service(subject, context)
        queue = list(range(checks))
        failed: dict[str, int] = {}

        async def worker(subject=subject, queue=queue, failed=failed) -> None:
            while queue:
                queue.pop()
                result = await check_service(subject, context)
                if not result.ok:
                    failed[str(result.failure_class)] = failed.get(str(result.failure_class), 0) + 1

        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print(
            f"  {kind:<10} {cpu / checks * 1000:6.2f} ms CPU per check  "
            f"{checks / wall:7.0f} checks/s" + (f"  failures {failed}" if failed else "")
        )


def run_services(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="ronda-bench-"))
    proc, ports = start_mail_server(workdir)
    try:
        from ronda.checks.probe import run

        ca = workdir / "mail-ca.pem"

        async def both() -> bool:
            await _per_check(ports, ca, args.checks, min(args.concurrency, 20))
            if args.sites <= 0:
                return True
            from contract_round import contract_round  # bench/contract_round.py

            domains = args.sites if args.domains is None else args.domains
            return await contract_round(ports, ca, args.sites, domains, args.duration, 100)

        ok = run(both(), use_uvloop=not args.no_uvloop)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


def summarize(name: str, runs: list[dict]) -> dict:
    cpu_ms = statistics.median(r["cpu"] / r["probes"] * 1000 for r in runs)
    rate = statistics.median(r["probes"] / r["wall"] for r in runs)
    rss = max(r["maxrss_kib"] for r in runs) / 1024
    each = " ".join(f"{r['cpu'] / r['probes'] * 1000:.3f}" for r in runs)
    print(
        f"  {name:<9} {rate:8.0f} probes/s  {cpu_ms:6.3f} CPU ms/probe  "
        f"{cpu_ms:6.3f} CPU s/1000  peak RSS {rss:6.1f} MiB  (runs: {each})"
    )
    return {"cpu_ms": cpu_ms, "rate": rate, "rss_mib": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--role", default="main", choices=["main", "prober", "server", "mailserver"]
    )
    parser.add_argument("--services", action="store_true", help="service checks instead")
    parser.add_argument("--checks", type=int, default=400, help="per service kind (0: none)")
    parser.add_argument(
        "--domains", type=int, help="domains in the --services round (default: one per site)"
    )
    parser.add_argument("--duration", type=float, default=70.0)
    parser.add_argument("--workdir")
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--probes", type=int, default=5000, help="per protocol and run")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-uvloop", action="store_true")
    parser.add_argument("--python-server", action="store_true", help="even if nginx exists")
    parser.add_argument("--urls-file")
    parser.add_argument("--ca")
    parser.add_argument("--chain")
    parser.add_argument("--key")
    parser.add_argument("--http-port", type=int)
    parser.add_argument("--https-port", type=int)
    parser.add_argument("--no-wordpress", action="store_true", help="skip the WordPress section")
    args = parser.parse_args()

    if args.role == "mailserver":
        from ronda.checks.probe import run

        run(_mail_server(Path(args.workdir)))
        return
    if args.services:
        sys.exit(run_services(args))
    if args.role == "server":
        from ronda.checks.probe import run

        run(_serve(args.chain, args.key, args.http_port, args.https_port))
        return
    if args.role == "prober":
        from ronda.checks.probe import run

        urls = Path(args.urls_file).read_text().split()
        result = run(
            _ronda(urls, args.probes, args.concurrency, Path(args.ca)),
            use_uvloop=not args.no_uvloop,
        )
        print(json.dumps(result))
        return

    print(f"response parser: {parse_cost():.2f} us per nginx response of {len(PAGE)} bytes")
    workdir = Path(tempfile.mkdtemp(prefix="ronda-bench-"))
    workdir.chmod(0o755)  # nginx workers run as an unprivileged user and read the page here
    ca, chain, key = make_certs(workdir)
    http, https, bb_port = free_port(), free_port(), free_port()
    procs: list[subprocess.Popen] = []
    try:
        if shutil.which("nginx") and not args.python_server:
            server_name = "nginx (1 worker)"
            procs.append(start_nginx(workdir, chain, key, http, https))
        else:
            server_name = "python asyncio server (subprocess)"
            procs.append(start_python_server(chain, key, http, https))
        blackbox = start_blackbox(workdir, ca, bb_port)
        procs.append(blackbox)
        for port in (http, https, bb_port):
            wait_port(port)
        print(
            f"server: {server_name}; {args.sites} sites per protocol; {args.probes} probes per "
            f"protocol and run; concurrency {args.concurrency}; {args.runs} runs (median); "
            f"uvloop {'off' if args.no_uvloop else 'on'}; {os.cpu_count()} CPUs"
        )
        ratios = {}
        for scheme, port in (("http", http), ("https", https)):
            urls = [f"{scheme}://127.0.0.1:{port}/site/{i:04d}/" for i in range(args.sites)]
            urls_file = workdir / f"{scheme}.txt"
            urls_file.write_text("\n".join(urls))
            ronda_runs, bb_runs = [], []
            for _ in range(args.runs):
                ronda_runs.append(
                    run_ronda(urls_file, args.probes, args.concurrency, ca, not args.no_uvloop)
                )
                bb_runs.append(
                    run_blackbox(blackbox.pid, bb_port, urls, args.probes, args.concurrency)
                )
            print(f"{scheme.upper()}:")
            ours = summarize("ronda", ronda_runs)
            theirs = summarize("blackbox", bb_runs)
            fails = [r["failures"] for r in ronda_runs if r["failures"]]
            bb_fails = sum(r["failed"] for r in bb_runs)
            if fails or bb_fails:
                print(f"  failures: ronda {fails} blackbox {bb_fails}")
            ratios[scheme] = ours["cpu_ms"] / theirs["cpu_ms"]
            verdict = (
                "ok"
                if ratios[scheme] <= 1.0
                else ("DEFECT" if ratios[scheme] > 1.5 else "above goal")
            )
            print(f"  ratio ronda/blackbox CPU per probe: {ratios[scheme]:.2f}  ({verdict})")
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    if not args.no_wordpress:
        from wordpress_checks import report  # bench/wordpress_checks.py, next to this file

        report(sites=min(args.sites, 200), rounds=4, concurrency=args.concurrency)


if __name__ == "__main__":
    main()
