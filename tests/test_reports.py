"""Monthly customer reports computed from a store with a known November: uptime with and
without maintenance and gaps, incidents and their cases, first responses and compliance per
priority, hours; the HTML in both languages, escaped, self-contained; the agency's
templates; `ronda report` from the command line."""

from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path

import pytest
from freezegun import freeze_time
from jinja2.exceptions import SecurityError, UndefinedError
from report_desk import AFTER, BOGOTA, CONFIG, TIENDA_RATIO, at, build

from ronda.app.cli import main
from ronda.config import ReportSettings, parse_config
from ronda.model import Priority, SlaState
from ronda.reports.data import CustomerReport
from ronda.reports.period import Month
from ronda.reports.render import Renderer, bars
from ronda.reports.run import customer_reports, file_stem, write_reports
from ronda.reports.words import amount, percent

NOVEMBER = Month(2026, 11)


@pytest.fixture
def desk(tmp_path: Path):
    config, store = build(tmp_path)
    yield config, store
    store.close()


def reports(desk, **kwargs) -> dict[str, CustomerReport]:
    config, store = desk
    kwargs.setdefault("now", AFTER)
    return {r.customer: r for r in customer_reports(config, store, NOVEMBER, **kwargs)}


def test_uptime_leaves_out_maintenance_and_what_was_not_measured(desk) -> None:
    ana = reports(desk)["Ana Pérez"]
    tienda = next(s for s in ana.sites if s.name == "tienda-ana")
    assert tienda.down_seconds == 7200
    assert tienda.maintenance_seconds == 3600
    assert tienda.unmeasured_seconds == 6 * 3600
    assert tienda.ratio == pytest.approx(TIENDA_RATIO)
    blog = next(s for s in ana.sites if s.name == "blog-ana")
    assert blog.ratio == 1.0 and blog.maintenance_seconds == blog.unmeasured_seconds == 0
    # All sites together, time-weighted: (up + up) / (measured + measured).
    measured = tienda.up_seconds + tienda.down_seconds + blog.up_seconds
    assert ana.uptime == pytest.approx((tienda.up_seconds + blog.up_seconds) / measured)
    days = {d.day: d for d in tienda.days}
    assert len(days) == 30 and min(days) == date(2026, 11, 1)
    assert days[date(2026, 11, 10)].ratio == pytest.approx(1 - 7200 / 86400)
    assert days[date(2026, 11, 20)].ratio == 1.0  # maintenance is not downtime
    assert days[date(2026, 11, 20)].maintenance_seconds == 3600
    assert days[date(2026, 11, 25)].ratio == 1.0  # the gap is not downtime either
    assert days[date(2026, 11, 25)].unmeasured_seconds == 21600


def test_a_site_never_probed_is_not_measured_not_up(desk) -> None:
    _, store = desk
    extra = parse_config(
        CONFIG + '\n[[sites]]\nname = "nuevo"\nurl = "https://nuevo.example/"\ncustomer = "Quiet"\n'
    )
    quiet = {r.customer: r for r in customer_reports(extra, store, NOVEMBER, now=AFTER)}["Quiet"]
    (site,) = quiet.sites
    assert site.ratio is None and quiet.uptime is None
    assert site.unmeasured_seconds == 30 * 86400
    html = Renderer().render(quiet)
    assert "not measured" in html and "100.00 %" not in html


def test_a_month_not_over_is_reported_up_to_now(desk) -> None:
    ana = reports(desk, now=at(15, 0, 0))["Ana Pérez"]
    tienda = next(s for s in ana.sites if s.name == "tienda-ana")
    assert tienda.up_seconds + tienda.down_seconds == 14 * 86400
    assert tienda.unmeasured_seconds == 0  # the rest of the month is not in the period
    assert tienda.maintenance_seconds == 0
    high = ana.compliance[0]
    assert (high.met, high.due) == (1, 2)  # the late answer of the 12th; nothing after now


def test_incidents_carry_their_case_and_class(desk) -> None:
    by_name = reports(desk)
    (incident,) = by_name["Ana Pérez"].incidents
    assert incident.site == "tienda-ana" and incident.failure_class == "http_500"
    assert incident.start == at(10, 10) and incident.end == at(10, 12)
    assert incident.seconds == 7200 and incident.case_number == "R-1001"
    (luis,) = by_name["Luis Gómez"].incidents
    assert luis.failure_class == "timeout" and luis.seconds == 1800


def test_every_case_with_its_first_response_and_compliance_per_priority(desk) -> None:
    ana = reports(desk)["Ana Pérez"]
    states = {c.subject: c.state for c in ana.cases}
    assert states == {
        "tienda-ana: http_500": SlaState.MET,
        "<script>alert('x')</script> factura": SlaState.MISSED,
        "blog-ana: rss_invalid": SlaState.NOT_DUE,
        "Consulta": SlaState.BREACHED,
        "Sin respuesta": SlaState.BREACHED,
    }
    by_priority = {c.priority: (c.met, c.due) for c in ana.compliance}
    # High: met (10th), missed (12th), unanswered past its limit (28th); the case of the
    # 30th is due in December. Low: the probe's own blip owed no answer.
    assert by_priority == {Priority.HIGH: (1, 3), Priority.MEDIUM: (0, 0), Priority.LOW: (0, 0)}
    assert ana.responses_met == (1, 3)
    assert reports(desk)["Luis Gómez"].compliance[0].ratio == 1.0


def test_hours_logged_billable_and_included(desk) -> None:
    ana = reports(desk)["Ana Pérez"]
    assert [(h.case_number, h.seconds, h.billable) for h in ana.hours.lines] == [
        ("R-1001", 4500, False),
        ("R-1002", 1800, True),
    ]
    assert ana.hours.total == 6300 and ana.hours.billable == 1800
    assert ana.hours.included == 4500
    assert [h.note for h in ana.hours.lines][0] == "Restauré la base de datos"


def test_attention_lists_certificates_expiring_by_next_months_end(desk) -> None:
    by_name = reports(desk)
    (item,) = by_name["Ana Pérez"].attention
    assert item.kind == "certificate" and item.site == "tienda-ana"
    assert item.at.astimezone(BOGOTA).date() == date(2026, 12, 14)  # 15th 00:00 UTC
    assert by_name["Luis Gómez"].attention == ()  # blog-ana's is far off; Luis has none seen


def test_html_in_spanish_escaped_and_self_contained(desk) -> None:
    ana = reports(desk)["Ana Pérez"]
    assert ana.lang == "es"  # the customer's language
    html = Renderer(desk[0].reports).render(ana)
    assert "Informe mensual: noviembre de 2026" in html
    assert '<html lang="es">' in html
    assert "99,71 %" in html  # tienda-ana, floored, Spanish decimal comma
    assert "1 h 15 min" in html and "Facturable" in html
    assert "cumplido" in html and "incumplido" in html and "no requería respuesta" in html
    assert "Vence el certificado de seguridad" in html
    # A subject from a stranger is text, never markup; internal notes never appear.
    assert "<script>" not in html and "&lt;script&gt;alert(" in html
    assert "hunter2" not in html and "INTERNAL" not in html
    # Nothing to fetch: no external stylesheet, script, image or font.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "<script" not in html
    # The incident, in Bogota's time; the date is kept on one line in a narrow cell.
    assert '<span class="day">2026-11-10</span> 10:00' in html
    # A probe's case says its failure in the customer's words, not the probe's subject.
    assert "Responde con un error del servidor (HTTP 500)" in html
    assert "Su canal de noticias (RSS) no es válido" in html
    assert "http_500" not in html and "rss_invalid" not in html
    assert "America/Bogota" in html
    assert "#225588" in html  # the agency's colour


def test_html_in_english_when_asked(desk) -> None:
    ana = reports(desk, lang="en")["Ana Pérez"]
    html = Renderer().render(ana)
    assert "Monthly report: November 2026" in html
    assert "99.71 %" in html and "overdue, unanswered" in html and "not due" in html
    assert "Uptime is the time a site was up" in html


def test_daily_bars_show_gaps_and_maintenance(desk) -> None:
    ana = reports(desk)["Ana Pérez"]
    tienda = next(s for s in ana.sites if s.name == "tienda-ana")
    drawn = bars(tienda, "en")
    assert len(drawn) == 30
    assert drawn[9].css == "poor"  # the 10th: 91.67 %
    assert [p.css for p in drawn[24].parts] == ["none", "good"]  # the 25th: a 6 h gap on top
    assert drawn[24].parts[0].height == pytest.approx(28 * 0.25)
    assert [p.css for p in drawn[19].parts] == ["maintenance", "good"]
    assert "Maintenance 1 h" in drawn[19].title


def test_agency_templates_replace_ours_and_stay_sandboxed(desk, tmp_path: Path) -> None:
    folder = tmp_path / "agency"
    folder.mkdir()
    (folder / "report.css").write_text("body { font-family: 'Agency Sans'; }\n")
    ana = reports(desk)["Ana Pérez"]
    html = Renderer(ReportSettings(templates=folder)).render(ana)
    assert "Agency Sans" in html and "Informe mensual" in html
    (folder / "report.html").write_text("{{ r.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises((SecurityError, UndefinedError)):
        Renderer(ReportSettings(templates=folder)).render(ana)


def test_logo_is_inlined(desk, tmp_path: Path) -> None:
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    ana = reports(desk)["Ana Pérez"]
    html = Renderer(ReportSettings(logo=logo, agency="Hosting Andino")).render(ana)
    assert 'src="data:image/svg+xml;base64,' in html


def test_words() -> None:
    assert amount(75 * 60) == "1 h 15 min"
    assert amount(3600) == "1 h" and amount(45 * 60) == "45 min"
    assert amount(26 * 3600 + 60) == "26 h 1 min"
    assert amount(20) == "under 1 min" and amount(20, "es") == "menos de 1 min"
    assert amount(0) == "0 min"
    assert percent(0.99999) == "99.99 %"  # floored: never 100 % with any downtime
    assert percent(1.0, "es") == "100,00 %" and percent(None) == "-"


def test_file_names_are_safe() -> None:
    assert file_stem("Ana Pérez", NOVEMBER).startswith("report-ana-perez-")
    assert file_stem("../../etc/passwd", NOVEMBER).startswith("report-etc-passwd-")
    assert file_stem("Ana Pérez", NOVEMBER) != file_stem("Ana Perez", NOVEMBER)
    assert "/" not in file_stem("日本", NOVEMBER)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@freeze_time("2026-12-01 14:00:00")
def test_cli_writes_one_report_or_all(desk, tmp_path: Path, capsys) -> None:
    config, store = desk
    toml = tmp_path / "ronda.toml"
    toml.write_text(CONFIG)
    out = tmp_path / "out"
    base = ("report", "--db", str(store.path), "--config", str(toml), "--month", "2026-11")
    code, printed, err = run(capsys, *base, "--customer", "Luis Gómez", "--out", str(out))
    assert code == 0, err
    (path,) = [Path(line) for line in printed.splitlines()]
    html = path.read_text()
    assert "Monthly report: November 2026" in html and "Luis Gómez" in html
    assert "Generated 2026-12-01 09:00" in html  # frozen now, in Bogota
    code, printed, _ = run(capsys, *base, "--all", "--out", str(out), "--lang", "es")
    assert code == 0 and len(printed.splitlines()) == 3
    assert all("Informe mensual" in Path(p).read_text() for p in printed.splitlines())
    code, _, err = run(capsys, *base, "--customer", "Nadie", "--out", str(out))
    assert code == 1 and err == "ronda: no customer named 'Nadie' in the config\n"
    code, _, err = run(capsys, *base, "--out", str(out))
    assert code == 1 and "--customer NAME or --all" in err


def test_pdf_without_weasyprint_is_one_line(desk, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import fails as if not installed
    config, store = desk
    toml = tmp_path / "ronda.toml"
    toml.write_text(CONFIG)
    code, _, err = run(
        capsys,
        "report",
        "--db",
        str(store.path),
        "--config",
        str(toml),
        "--month",
        "2026-11",
        "--all",
        "--pdf",
        "--out",
        str(tmp_path / "pdf"),
    )
    assert code == 1
    assert err.count("\n") == 1 and "pip install 'ronda[pdf]'" in err
    assert not (tmp_path / "pdf").exists()  # refused before any work


def test_write_reports_names_files_by_customer_and_month(desk, tmp_path: Path) -> None:
    config, store = desk
    paths = write_reports(config, store, NOVEMBER, out=tmp_path / "r", now=AFTER)
    assert [p.name.endswith("-2026-11.html") for p in paths] == [True, True, True]
    assert len({p.name for p in paths}) == 3


def test_attention_reads_the_domain_and_wordpress_checks_when_present(desk) -> None:
    from ronda.reports.attention import Scope, attention

    config, store = desk
    scope = Scope(["tienda-ana", "web-luis"], ["Ana Pérez", "Luis Gómez"])
    horizon = NOVEMBER.next().end(BOGOTA)
    before = attention(store.reports, scope, horizon)
    assert [a.kind for a in before] == ["certificate"]  # no domain known to this desk
    # The domain checks' expiry dates and the WordPress checks' cases, as those checks keep
    # them.
    store.domains.sync(
        [
            ("tienda-ana.example", "Ana Pérez"),
            ("luis.example", "Luis Gómez"),
            ("other.example", "Someone"),
        ]
    )
    for domain, expires in (
        ("tienda-ana.example", at(28, 0).timestamp() + 20 * 86400),
        ("luis.example", at(1, 0).timestamp() + 400 * 86400),
        ("other.example", 0.0),
    ):
        store.domains.save_expiry(domain, expires, "rdap", "", at(1, 0).timestamp())
    store.db.execute(
        "INSERT INTO tickets (case_number, source, subject, site, customer, priority, impact, "
        "status, opened_at, updated_at, failure_class) VALUES ('R-9001', 'probe', 'x', "
        "'web-luis', 'Luis Gómez', 'low', 'low', 'open', ?, ?, 'wp_outdated')",
        (at(20, 0).timestamp(), at(20, 0).timestamp()),
    )
    items = attention(store.reports, scope, horizon)
    assert [(a.kind, a.site, a.customer) for a in items] == [
        ("certificate", "tienda-ana", None),
        ("domain", "tienda-ana.example", "Ana Pérez"),  # expires Dec 18th
        ("wordpress", "web-luis", None),
    ]
