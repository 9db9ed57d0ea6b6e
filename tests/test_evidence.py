"""The probe's evidence on the ticket screen, readable: what failed and since when, the
facts of its class, every raw fact folded below; literal and free of control characters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ronda.tui.i18n import Catalogue
from ronda.tui.widgets.evidence import MATCH_STYLE, evidence_text, excerpt_text, summary_text
from ronda.when import use_zone

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # 10:00 in Bogota
EN, ES = Catalogue("en"), Catalogue("es")


@pytest.fixture(autouse=True)
def bogota() -> None:
    use_zone("America/Bogota")


def ago(minutes: float) -> str:
    return (NOW - timedelta(minutes=minutes)).isoformat()


REFUSED = {
    "url": "https://cafe.test/",
    "final_url": None,
    "peer": None,
    "status_code": None,
    "headers": {},
    "body_excerpt": "",
    "phases": {"dns": 0.003},
    "elapsed_ms": 4.1,
    "cert": {"not_after": None, "subject": None, "issuer": None},
    "failure_class": "refused",
    "detail": "connection refused: https://cafe.test/",
    "first_failure_at": ago(12),
    "last_failure_at": ago(1),
}


def test_a_refused_connection_says_so_since_when_and_nothing_empty() -> None:
    summary = summary_text(REFUSED, EN, now=NOW).plain
    first = summary.splitlines()[0]
    assert first == "The server refused the connection · since 2026-11-25 09:48 -05"
    assert "last seen failing 2026-11-25 09:59 -05" in summary
    raw = evidence_text(REFUSED, EN).plain
    for text in (summary, raw):
        assert "None" not in text
        assert "status_code" not in text and "not_after" not in text and "cert" not in text
    assert "detail: connection refused" in raw and "phases: dns 3 ms" in raw


def test_in_spanish() -> None:
    summary = summary_text(REFUSED, ES, now=NOW).plain
    assert summary.startswith("El servidor rechazó la conexión · desde 2026-11-25 09:48 -05")


def test_a_certificate_shows_its_issuer_and_the_days_left() -> None:
    evidence = {
        "url": "https://blog.test/",
        "status_code": 200,
        "cert": {
            "not_after": (NOW + timedelta(days=5, hours=3)).isoformat(),
            "subject": "CN=blog.test",
            "issuer": "CN=R11, O=Let's Encrypt, C=US",
        },
        "failure_class": "ssl_expiring",
    }
    summary = summary_text(evidence, EN, now=NOW).plain
    assert "Issuer: CN=R11, O=Let's Encrypt, C=US" in summary
    assert "Expires: 2026-11-30 13:00 -05 (5 days left)" in summary
    today = {
        **evidence,
        "cert": {**evidence["cert"], "not_after": (NOW + timedelta(hours=10)).isoformat()},
    }
    assert "(0 days left)" in summary_text(today, EN, now=NOW).plain
    expired = {**evidence, "failure_class": "ssl_expired"}
    expired["cert"] = {**evidence["cert"], "not_after": (NOW - timedelta(days=3)).isoformat()}
    assert "(expired 3 days ago)" in summary_text(expired, EN, now=NOW).plain
    assert "(venció hace 3 días)" in summary_text(expired, ES, now=NOW).plain


def test_a_slow_site_names_the_phase_that_took_the_time() -> None:
    evidence = {
        "url": "https://shop.test/",
        "elapsed_ms": 4620.0,
        "phases": {"dns": 0.004, "connect": 0.012, "tls": 0.031, "first_byte": 4.21},
        "failure_class": "slow",
    }
    summary = summary_text(evidence, EN, now=NOW).plain
    assert "Slowest phase: first byte 4210 ms (99%)" in summary
    assert "DNS 4 ms  connect 12 ms  TLS 31 ms  first byte 4210 ms" in summary
    assert "Fase más lenta: primer byte 4210 ms" in summary_text(evidence, ES, now=NOW).plain


def test_a_wordpress_error_page_highlights_the_matched_message() -> None:
    body = '<html><head><title>[red]x[/red]</title></head><body id="error-page">' + (
        "<h1>Error establishing a database connection</h1></body></html>"
    )
    evidence = {"status_code": 500, "body_excerpt": body, "failure_class": "wp_db_connection"}
    summary = summary_text(evidence, EN, now=NOW)
    assert summary.plain.startswith("WordPress shows an error page")
    assert "[red]x[/red]" in summary.plain  # markup shows as written
    marked = [
        summary.plain[span.start : span.end]
        for span in summary.spans
        if str(span.style) == MATCH_STYLE
    ]
    assert marked == ["Error establishing a database connection"]


def test_a_long_page_is_cut_around_the_match() -> None:
    body = "x" * 5000 + "Fatal error: Uncaught Error in /var/www/a.php on line 3" + "y" * 5000
    shown = excerpt_text(body, around=100)
    assert shown.plain.startswith("… " + "x" * 100 + "Fatal error")
    assert shown.plain.endswith("y" * 100 + " …")
    assert len(excerpt_text(body).plain) < 2100  # the raw fact is bounded too


def test_control_characters_and_markup_from_the_site_are_shown_not_obeyed() -> None:
    evidence = {
        "url": "https://x.test/\x1b]0;pwned\x07",
        "status_code": 503,
        "headers": {"server": "nginx\x1b[2J", "x-evil\u202e": "[@click=app.quit]y[/]"},
        "body_excerpt": "<title>\x9b31m[bold]t[/bold]</title>",
        "failure_class": "http_503",
        "detail": "HTTP 503 from \u202ehome",
    }
    for text in (summary_text(evidence, EN, now=NOW), evidence_text(evidence, EN)):
        plain = text.plain
        assert "\x1b" not in plain and "\x9b" not in plain and "\u202e" not in plain
        assert "\\x1b" in plain and "<U+202E>" in plain
        assert not any(span.style and "@click" in str(span.style) for span in text.spans)
    raw = evidence_text(evidence, EN).plain
    assert "[@click=app.quit]y[/]" in raw and "[bold]t[/bold]" in raw


def test_no_evidence() -> None:
    assert summary_text({}, EN).plain == "No probe evidence (not opened by a probe)."


def test_the_highlight_lands_on_the_message_after_accents_and_emoji() -> None:
    body = "<p>Señor cliente 🙂 ñandú</p>"
    body += "<h1>Error al establecer una conexión con la base de datos</h1>"
    shown = excerpt_text(body)
    marked = [shown.plain[s.start : s.end] for s in shown.spans if str(s.style) == MATCH_STYLE]
    assert marked == ["Error al establecer una conexión con la base de datos"]


def test_the_cli_logs_time_as_the_tui_does(tmp_path, capsys) -> None:  # noqa: ANN001
    from ronda.app.cli import main
    from ronda.store import Store
    from ronda.tickets import Desk

    db = str(tmp_path / "ronda.db")
    assert main(["tickets", "new", "--subject", "x", "--db", db, "--agent", "ana"]) == 0
    assert main(["tickets", "log-time", "R-1001", "1.5h", "--db", db, "--agent", "ana"]) == 0
    assert main(["tickets", "log-time", "R-1001", "una hora", "--db", db, "--agent", "ana"]) != 0
    err = capsys.readouterr().err
    assert "'una hora' is not a time spent (expected e.g. 1h15, 75m, 1:15 or 1.5h)" in err
    store = Store(tmp_path / "ronda.db")
    assert Desk(store).time_spent(1) == 5400.0
    store.close()
