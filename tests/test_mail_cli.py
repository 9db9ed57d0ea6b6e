"""`ronda mail` as a process: a real SMTP session into a ticket, a clean stop, a taken port."""

from __future__ import annotations

import signal
import smtplib
import socket
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

from polling import wait_until

from ronda.store import Store

CONFIG = """
[[customers]]
name = "Ana Pérez"
emails = ["ana@tienda-ana.example"]

[mail]
desk_address = "soporte@desk.example"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(tmp_path: Path, listen: str) -> tuple[subprocess.Popen, Path]:
    config = tmp_path / "ronda.toml"
    config.write_text(CONFIG)
    out = tmp_path / "mail.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ronda",
            "mail",
            "--config",
            str(config),
            "--db",
            str(tmp_path / "ronda.db"),
            "--listen",
            listen,
        ],
        stdout=out.open("w"),
        stderr=subprocess.STDOUT,
    )
    return proc, out


def test_mail_command_turns_a_message_into_a_ticket(tmp_path: Path) -> None:
    port = free_port()
    proc, out = start(tmp_path, f"127.0.0.1:{port}")
    try:
        wait_until(lambda: "listening on" in out.read_text(), "the SMTP server", 20)
        message = EmailMessage()
        message["From"] = "Ana Pérez <ana@tienda-ana.example>"
        message["To"] = "soporte@desk.example"
        message["Subject"] = "La tienda muestra error 500"
        message["Message-ID"] = "<cli-1@tienda-ana.example>"
        message.set_content("Desde esta mañana la tienda no carga.")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.send_message(message)
        store = Store(tmp_path / "ronda.db")
        rows = wait_until(
            lambda: store.query("SELECT source, customer, subject FROM tickets"), "the ticket"
        )
        assert rows == [
            {"source": "email", "customer": "Ana Pérez", "subject": "La tienda muestra error 500"}
        ]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_mail_command_on_a_taken_port_says_so(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        proc, out = start(tmp_path, f"127.0.0.1:{port}")
        try:
            assert proc.wait(timeout=30) == 1
        finally:
            if proc.poll() is None:
                proc.kill()
    assert f"cannot listen on 127.0.0.1:{port}" in out.read_text()
    assert "Traceback" not in out.read_text()
