"""Benchmark of the mail intake, end to end over loopback SMTP.

1. Throughput: messages per second accepted into tickets. The intake server runs in its own
   process (real aiosmtpd, real SQLite file); client threads in this process keep SMTP
   connections open and send distinct messages; a relay sink takes the acknowledgements.
   A message counts when the server answered 250, which it does only after the ticket is
   stored. Half the messages answer an earlier one by In-Reply-To (follow-ups).
2. Memory: peak RSS of the server process while it takes 10 MB messages (a base64
   attachment just under the default 10 MiB cap) and refuses one over the cap with 552.

Run: python bench/mail_intake.py [--messages 2000] [--clients 4] [--big 5]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import smtplib
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DESK = "soporte@desk.example"


class _Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
        self.count += 1
        return "250 OK"


def _server(db: str, max_bytes: int, relay: bool, pipe) -> None:  # noqa: ANN001
    """Child process: the intake (and a relay sink) until told to stop; reports RSS."""
    from ronda.config import Config, Customer, MailSettings
    from ronda.intake.ingest import Intake
    from ronda.intake.server import MailServer, SmtpThread
    from ronda.store import Store

    sink = _Sink()
    relay_thread = SmtpThread(sink).start() if relay else None
    config = Config(
        customers=(Customer("Acme", domains=("acme.example",)),),
        mail=MailSettings(
            listen="127.0.0.1:0",
            desk_address=DESK,
            relay=f"127.0.0.1:{relay_thread.port}" if relay_thread else None,
            max_message_bytes=max_bytes,
            # Throughput, not the flood path: the bench's thousand cases from one domain
            # would trip the desk's rate limits (0: no limit).
            new_cases_per_sender=0,
            new_cases_per_domain=0,
            new_cases_per_desk=0,
            acks_per_sender=0,
            acks_per_domain=0,
            acks_per_desk=0,
        ),
    )
    store = Store(db)
    server = MailServer(Intake.from_config(config, store)).start()
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pipe.send(server.address[1])
    pipe.recv()  # stop
    server.stop()
    if relay_thread:
        relay_thread.stop()
    counts = store.row_counts()
    tickets, events = counts["tickets"], counts["ticket_events"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pipe.send(
        {
            "baseline_kib": baseline,
            "peak_kib": peak,
            "tickets": tickets,
            "events": events,
            "acks": sink.count,
        }
    )


def _start(db: str, max_bytes: int, relay: bool) -> tuple[mp.Process, object, int]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_server, args=(db, max_bytes, relay, child), daemon=True)
    proc.start()
    if not parent.poll(30):
        raise RuntimeError("intake server did not start")
    return proc, parent, parent.recv()


def _stop(proc: mp.Process, pipe) -> dict:  # noqa: ANN001
    pipe.send("stop")
    result = pipe.recv() if pipe.poll(120) else {}
    proc.join(30)
    return result


def _message(n: int, reply_to: int | None) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Cliente {n} <c{n}@acme.example>"
    msg["To"] = DESK
    msg["Message-ID"] = f"<bench-{n}@acme.example>"
    if reply_to is not None:
        msg["Subject"] = "Re: seguimiento"
        msg["In-Reply-To"] = f"<bench-{reply_to}@acme.example>"
        msg.set_content("Sigue igual, adjunto más datos.\n" * 5)
    else:
        msg["Subject"] = f"La tienda no carga #{n}"
        msg.set_content("Hola, el carrito de WooCommerce da error 500 desde hoy.\n" * 5)
    return msg.as_bytes(policy=SMTP_POLICY)


def throughput(messages: int, clients: int, relay: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        proc, pipe, port = _start(str(Path(tmp) / "bench.db"), 10 * 1024 * 1024, relay)
        # First half: new cases; second half: follow-ups to them (threading by header).
        half = messages // 2
        bodies = [_message(n, None) for n in range(half)]
        bodies += [_message(n, n - half) for n in range(half, messages)]
        errors: list[str] = []

        def client(share: list[bytes]) -> None:
            try:
                send_all(share)
            except Exception as exc:  # noqa: BLE001 - counted, reported
                errors.append(repr(exc))

        def send_all(share: list[bytes]) -> None:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
                smtp.ehlo()
                for raw in share:
                    smtp.mail("c@acme.example")
                    smtp.rcpt(DESK)
                    code, reply = smtp.data(raw)
                    if code != 250:
                        errors.append(reply.decode())

        def run(batch: list[bytes]) -> None:
            threads = [
                threading.Thread(target=client, args=(batch[i::clients],)) for i in range(clients)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        start = time.perf_counter()
        run(bodies[:half])
        new_elapsed = time.perf_counter() - start
        start2 = time.perf_counter()
        run(bodies[half:])
        follow_elapsed = time.perf_counter() - start2
        result = _stop(proc, pipe)
    return {
        "messages": messages,
        "new_per_s": half / new_elapsed,
        "followups_per_s": (messages - half) / follow_elapsed,
        "overall_per_s": messages / (new_elapsed + follow_elapsed),
        "errors": len(errors),
        **result,
    }


def memory(big: int) -> dict:
    cap = 10 * 1024 * 1024
    attachment = bytes(range(256)) * (int(cap * 0.72) // 256)  # base64 grows it by 4/3
    with tempfile.TemporaryDirectory() as tmp:
        proc, pipe, port = _start(str(Path(tmp) / "bench.db"), cap, True)
        sizes: list[int] = []
        start = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
            smtp.ehlo()
            for n in range(big):
                msg = EmailMessage()
                msg["From"] = "c1@acme.example"
                msg["To"] = DESK
                msg["Subject"] = f"Backup adjunto {n}"
                msg["Message-ID"] = f"<big-{n}@acme.example>"
                msg.set_content("Adjunto la copia de seguridad.")
                msg.add_attachment(
                    attachment, maintype="application", subtype="zip", filename=f"backup-{n}.zip"
                )
                raw = msg.as_bytes(policy=SMTP_POLICY)
                sizes.append(len(raw))
                smtp.mail("c1@acme.example")
                smtp.rcpt(DESK)
                code, reply = smtp.data(raw)
                assert code == 250, reply
            elapsed = time.perf_counter() - start
            over = b"Subject: too big\r\n\r\n" + (b"A" * 998 + b"\r\n") * (cap // 1000 + 100)
            smtp.mail("c1@acme.example")
            smtp.rcpt(DESK)
            refused, _ = smtp.data(over)
        result = _stop(proc, pipe)
    return {
        "big": big,
        "message_mb": max(sizes) / 1e6,
        "seconds_per_message": elapsed / big,
        "oversize_reply": refused,
        **result,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--big", type=int, default=5)
    args = parser.parse_args()
    for relay in (True, False):
        r = throughput(args.messages, args.clients, relay)
        label = "with acks to relay" if relay else "no relay (no acks)"
        print(
            f"throughput {label}: {r['messages']} msgs, {args.clients} clients: "
            f"new cases {r['new_per_s']:.0f}/s, follow-ups {r['followups_per_s']:.0f}/s, "
            f"overall {r['overall_per_s']:.0f}/s; errors {r['errors']}; "
            f"tickets {r.get('tickets')}, events {r.get('events')}, acks {r.get('acks')}; "
            f"server peak RSS {r.get('peak_kib', 0) / 1024:.0f} MiB"
        )
    m = memory(args.big)
    print(
        f"memory: {m['big']} x {m['message_mb']:.1f} MB messages, "
        f"{m['seconds_per_message'] * 1000:.0f} ms each; over-cap reply {m['oversize_reply']}; "
        f"server RSS after start {m['baseline_kib'] / 1024:.0f} MiB, "
        f"peak {m['peak_kib'] / 1024:.0f} MiB; tickets {m['tickets']}"
    )


if __name__ == "__main__":
    main()
