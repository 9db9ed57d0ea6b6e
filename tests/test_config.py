"""The config loader: one TOML file into Config, every problem reported with file:line."""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import trustme

from ronda.config import (
    BlindSettings,
    CalendarConfig,
    Canary,
    Config,
    ConfigError,
    IncidentSettings,
    KeywordCheck,
    MailSettings,
    ProbeSettings,
    Server,
    SlaCellConfig,
    check_config_summary,
    format_key_path,
    load_config,
    parse_config,
    parse_duration,
)
from ronda.config.blind import BLIND_KINDS
from ronda.config.load import INCIDENT_KINDS
from ronda.config.mail import MAIL_KINDS
from ronda.config.sites import PROBE_KINDS
from ronda.config.sla import CALENDAR_KEYS
from ronda.model import FailureClass, Impact, Priority

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ronda.toml"
NAME = Path("ronda.toml")
PROBLEM_LINE = re.compile(r"^[^\n]+:\d+: \S+: .+$")


def problems(text: str, path: Path = NAME) -> list[str]:
    """The problem lines of a config that must be refused."""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, path)
    for line in caught.value.problems:
        assert PROBLEM_LINE.match(line), line
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def only_problem(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


# --- valid files ---------------------------------------------------------------------------


def test_full_example_loads_every_section() -> None:
    config = load_config(EXAMPLE)

    assert config.path == EXAMPLE
    assert config.lang == "en" and config.concurrency == 100 and config.per_server_concurrency == 4
    assert [c.name for c in config.customers] == ["Ana Pérez", "Clínica Norte", "Colegio Andino"]
    assert config.customers[0].emails == ("ana@tienda-ana.example", "pedidos@tienda-ana.example")
    assert config.customers[1].domains == ("clinicanorte.example", "clinicanorte-citas.example")

    # shared-01 is named only by a site: created so outage correlation sees it
    assert [s.name for s in config.servers] == ["web-03", "web-04", "shared-01"]
    bogota_minus_5 = timezone(timedelta(hours=-5))
    window = config.servers[0].maintenance[0]
    assert window.start == datetime(2026, 11, 28, 22, tzinfo=bogota_minus_5)
    assert window.end == datetime(2026, 11, 29, 2, tzinfo=bogota_minus_5)
    assert window.reason == "kernel update"

    shop = config.site("tienda-ana")
    assert shop is not None
    assert shop.impact is Impact.HIGH and shop.wordpress is True
    assert shop.customer == "Ana Pérez" and shop.server == "web-03"
    assert shop.checks == (
        KeywordCheck("/cart/", "Carrito"),
        KeywordCheck("/tienda/", "Añadir al carrito"),
    )
    assert shop.probe == ProbeSettings(slow_total=3.0)  # [probe] defaults + the site's override
    naive_window = shop.maintenance[0]  # written without offset: the calendar's zone
    assert naive_window.start == datetime(2026, 12, 1, 6, tzinfo=ZoneInfo("America/Bogota"))
    assert naive_window.end - naive_window.start == timedelta(minutes=90)

    clinic = config.site("clinica-norte")
    assert clinic is not None and clinic.probe.interval == 120.0
    assert clinic.checks == (KeywordCheck("/citas/", "Agendar cita"),)
    assert config.site("landing-promo") is not None
    assert config.site("landing-promo").impact is Impact.MEDIUM  # type: ignore[union-attr]

    assert config.sla[(Priority.HIGH, Impact.MEDIUM)] == SlaCellConfig(
        timedelta(minutes=20), timedelta(minutes=45), "24x7"
    )
    assert set(config.sla) == {(Priority.HIGH, Impact.MEDIUM), (Priority.LOW, Impact.LOW)}
    assert config.calendar.timezone == "America/Bogota"
    assert config.calendar.holidays_country == "CO"
    assert config.calendar.extra_holidays == ("2026-12-24", "2026-12-31")
    assert config.calendar.hours[4] == ((time(8), time(17)),)
    assert config.calendar.hours[5] == ((time(9), time(12)),)
    assert 6 not in config.calendar.hours  # sun = "": closed

    assert config.incidents == IncidentSettings()  # the example spells out the defaults
    assert config.class_priority == {
        FailureClass.SLOW: Priority.HIGH,
        FailureClass.RSS_INVALID: Priority.MEDIUM,
    }
    assert config.mail == MailSettings(
        desk_address="soporte@agencia.example",
        relay="smtp.agencia.example:587",
        smtp_tls="starttls",
        smtp_user="ronda@agencia.example",
        smtp_password_env="RONDA_SMTP_PASSWORD",
    )
    assert config.tls.extra_ca is None
    assert config.blind == BlindSettings(
        canaries=(
            Canary("tcp://192.168.1.1:80", "tcp", "192.168.1.1", 80),
            Canary("dns://wordpress.org", "dns", "wordpress.org"),
            Canary("https://www.google.com/generate_204", "http", "www.google.com", 443),
        )
    )  # and the example spells out the other defaults
    assert config.status_page.out == Path("/var/www/status") and config.status_page.every == 60
    assert config.status_page.public == ("tienda-ana",) and config.status_page.lang == "es"
    assert config.retention.site_history_days == 400  # left out: the default

    assert check_config_summary(config) == (
        f"ok: {EXAMPLE}: 4 sites, 3 customers, 3 servers, 2 domains, "
        "SLA matrix 9 cells (2 overridden), 3 agents"
    )


def test_minimal_site_entry_takes_every_default() -> None:
    config = parse_config('[[sites]]\nname = "a"\nurl = "https://a.example"\n')
    (site,) = config.sites
    assert (site.name, site.url) == ("a", "https://a.example")
    assert site.customer is None and site.server is None and site.wordpress is None
    assert site.impact is Impact.MEDIUM and site.checks == () and site.maintenance == ()
    assert site.probe == ProbeSettings()
    assert config.servers == ()


def test_empty_file_is_the_default_config(tmp_path: Path) -> None:
    path = tmp_path / "ronda.toml"
    path.write_text("# nothing yet\n")
    config = load_config(path)
    assert config == Config(path=path)
    assert check_config_summary(config) == (
        f"ok: {path}: 0 sites, 0 customers, 0 servers, SLA matrix 9 cells (0 overridden)"
    )


def test_summary_counts_in_singular() -> None:
    config = parse_config('[[sites]]\nname = "a"\nurl = "http://a.example"\n', NAME)
    assert check_config_summary(config).startswith("ok: ronda.toml: 1 site, 0 customers,")


def test_site_probe_settings_are_probe_defaults_overridden_by_the_site() -> None:
    config = parse_config(
        '[probe]\ninterval = 30\ndeadline = "8s"\n'
        '[[sites]]\nname = "a"\nurl = "https://a.example"\ndeadline = 4\nmax_redirects = 0\n'
        '[[sites]]\nname = "b"\nurl = "https://b.example"\n'
    )
    a, b = config.sites
    assert config.probe == ProbeSettings(interval=30.0, deadline=8.0)
    assert a.probe == ProbeSettings(interval=30.0, deadline=4.0, max_redirects=0)
    assert b.probe == config.probe


def test_partial_sla_override_is_filled_from_the_default_matrix() -> None:
    from ronda.sla import default_matrix

    config = parse_config('[sla.medium.low]\ntarget = "10h"\n')
    default = default_matrix()[(Priority.MEDIUM, Impact.LOW)]
    assert config.sla == {
        (Priority.MEDIUM, Impact.LOW): SlaCellConfig(
            timedelta(hours=10), default.limit, default.calendar
        )
    }


def test_calendar_as_inline_table_and_naive_windows_take_its_zone() -> None:
    config = parse_config(
        '[sla]\ncalendar = { timezone = "Europe/Madrid", holidays = false, '
        'hours = { mon = ["09:00-13:00", "15:00-24:00"], sat = "10:00-14:00" } }\n'
        '[[servers]]\nname = "s"\n[[servers.maintenance]]\n'
        'start = "2026-03-01 22:00"\nend = 2026-03-02T01:00:00\n'
    )
    cal = config.calendar
    assert cal.timezone == "Europe/Madrid" and cal.holidays_country is None
    # 24:00 is written as the 00:00 end that ronda.calendar reads as the close of the day
    assert cal.hours[0] == ((time(9), time(13)), (time(15), time(0)))
    assert cal.hours[1] == ((time(8), time(18)),)  # days not listed keep the default
    assert cal.hours[5] == ((time(10), time(14)),)
    window = config.servers[0].maintenance[0]
    assert window.start == datetime(2026, 3, 1, 22, tzinfo=ZoneInfo("Europe/Madrid"))
    assert window.covers(datetime(2026, 3, 2, 0, 30, tzinfo=ZoneInfo("Europe/Madrid")))


def test_the_next_reply_clock_is_on_unless_turned_off() -> None:
    from ronda.sla import SlaPolicy

    assert parse_config("").next_response is True
    assert SlaPolicy.from_config(parse_config("")).next_response is True
    off = parse_config("[sla]\nnext_response = false\n")
    assert off.next_response is False and SlaPolicy.from_config(off).next_response is False
    with pytest.raises(ConfigError) as error:
        parse_config('[sla]\nnext_response = "no"\n')
    assert "sla.next_response: 'no' is not true or false" in str(error.value)


def test_extra_ca_is_read_relative_to_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "certs" / "ca.pem"))
    path = tmp_path / "ronda.toml"
    path.write_text('[tls]\nextra_ca = "certs/ca.pem"\n')
    assert load_config(path).tls.extra_ca == (tmp_path / "certs" / "ca.pem").resolve()


def test_kinds_cover_every_settings_field() -> None:
    """A field added to a settings dataclass must become configurable, not silently fixed."""
    assert set(PROBE_KINDS) == {f.name for f in fields(ProbeSettings)}
    assert set(INCIDENT_KINDS) == {f.name for f in fields(IncidentSettings)}
    assert set(MAIL_KINDS) | {"rules"} == {f.name for f in fields(MailSettings)}
    assert set(BLIND_KINDS) | {"canaries"} == {f.name for f in fields(BlindSettings)}
    calendar_keys = {"timezone", "hours", "holidays", "holidays_subdiv", "extra_holidays"}
    assert set(CALENDAR_KEYS) == calendar_keys
    assert {f.name for f in fields(CalendarConfig)} == calendar_keys - {"holidays"} | {
        "holidays_country"
    }


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5m", 300), ("1h30m", 5400), ("36h", 129600), ("1.5s", 1.5), ("500ms", 0.5),
     ("2d", 172800), (" 1h 5m ", 3900), (90, 90), (0.25, 0.25)],
)  # fmt: skip
def test_parse_duration(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5", "1 hour", "m5", "-5m", 0, -3, True, "5x", "1h-5m"])
def test_parse_duration_refuses(text: str | float) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_key_paths_are_zero_based_and_quote_odd_keys() -> None:
    assert format_key_path(("sites", 3, "impact")) == "sites[3].impact"
    assert format_key_path(("customers", 0, "emails", 1)) == "customers[0].emails[1]"
    assert format_key_path(("a b", "c")) == '"a b".c'


# --- each kind of problem, with its line and key path --------------------------------------

SITE = '[[sites]]\nname = "a"\nurl = "https://a.example"\n'  # lines 1-3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            SITE + 'impact = "hgh"\n',
            "ronda.toml:4: sites[0].impact: 'hgh' is not one of low, medium, high",
        ),
        (
            '[[sites]]\nname = "a"\nurl = "ftp://a.example"\n',
            "ronda.toml:3: sites[0].url: 'ftp://a.example' is not a web address (expected "
            "http:// or https:// and a host, e.g. https://tienda-ana.example/)",
        ),
        (
            '[[sites]]\nname = "a"\nurl = "https:///path"\n',
            "ronda.toml:3: sites[0].url: 'https:///path' is not a web address (expected "
            "http:// or https:// and a host, e.g. https://tienda-ana.example/)",
        ),
        (
            '[[sites]]\nname = "a"\nurl = "https://a.example:99999/"\n',
            "ronda.toml:3: sites[0].url: 'https://a.example:99999/' is not a web address "
            "(expected http:// or https:// and a host, e.g. https://tienda-ana.example/)",
        ),
        (
            '\n[[sites]]\nname = "a"\n',
            "ronda.toml:2: sites[0].url: missing (expected http:// or https:// and a host, "
            "e.g. https://tienda-ana.example/)",
        ),
        (
            '[[sites]]\nurl = "https://a.example"\n',
            "ronda.toml:1: sites[0].name: missing (every entry needs a name)",
        ),
        ('[[sites]]\nname = "  "\nurl = "https://a.example"\n',
         "ronda.toml:2: sites[0].name: must not be empty"),
        ("concurrency = 0\n", "ronda.toml:1: concurrency: 0 is not a positive integer"),
        ("concurrency = true\n", "ronda.toml:1: concurrency: true is not a positive integer"),
        ("per_server_concurrency = 2.5\n",
         "ronda.toml:1: per_server_concurrency: 2.5 is not a positive integer"),
        ('lang = "fr"\n', "ronda.toml:1: lang: 'fr' is not one of en, es"),
        (
            SITE + "interval = -1\n",
            "ronda.toml:4: sites[0].interval: -1 is not a positive duration (expected seconds "
            'as a number, or e.g. "90s", "5m", "1h30m")',
        ),
        ("[probe]\nmax_redirects = -1\n",
         "ronda.toml:2: probe.max_redirects: -1 is not an integer >= 0"),
        (
            "[probe]\ncert_warning_days = 5\n",
            "ronda.toml:2: probe.cert_warning_days: cert_critical_days (7) is more than "
            "cert_warning_days (5) (expected critical <= warning)",
        ),
        (
            SITE + "cert_critical_days = 40\n",
            "ronda.toml:4: sites[0].cert_critical_days: cert_critical_days (40) is more than "
            "cert_warning_days (30) (expected critical <= warning)",
        ),
        (SITE + 'wordpress = "yes"\n',
         "ronda.toml:4: sites[0].wordpress: 'yes' is not true or false"),
        (
            '[sla.high.high]\ntarget = "1 hour"\n',
            "ronda.toml:2: sla.high.high.target: '1 hour' is not a positive duration "
            '(expected e.g. "5m", "1h30m", "36h" or seconds as a number)',
        ),
        (
            '[sla.low.high]\ntarget = "2h"\nlimit = "1h"\n',
            "ronda.toml:2: sla.low.high.target: target 2h is after limit 1h "
            "(expected target <= limit)",
        ),
        (
            '[sla.high.high]\ntarget = "20m"\n',
            "ronda.toml:2: sla.high.high.target: target 20m is after the contract's limit 15m "
            "(expected target <= limit)",
        ),
        ('[sla.low.low]\ncalendar = "weekdays"\n',
         "ronda.toml:2: sla.low.low.calendar: 'weekdays' is not one of business, 24x7"),
        ('[sla.urgent.low]\ntarget = "1m"\n',
         "ronda.toml:1: sla.urgent: unknown key "
         "(expected one of calendar, next_response, low, medium, high)"),
        ("[sla]\nhigh = 3\n", "ronda.toml:2: sla.high: 3 is not a table (expected [sla.high])"),
        (
            '[sla.calendar]\ntimezone = "America/Bogot"\n',
            "ronda.toml:2: sla.calendar.timezone: 'America/Bogot' is not a known time zone "
            "(expected e.g. America/Bogota)",
        ),
        ('[sla.calendar]\nholidays = "XX"\n',
         "ronda.toml:2: sla.calendar.holidays: 'XX' is not a supported country "
         '(expected an ISO code such as "CO")'),
        (
            '[sla.calendar]\nholidays = "CO"\nholidays_subdiv = "DC"\n',
            "ronda.toml:3: sla.calendar.holidays_subdiv: 'DC' is not a subdivision of CO "
            "(expected none for this country)",
        ),
        (
            '[sla.calendar]\nextra_holidays = ["2026-12-24", "24/12/2026"]\n',
            "ronda.toml:2: sla.calendar.extra_holidays[1]: '24/12/2026' is not a date "
            "(expected YYYY-MM-DD)",
        ),
        (
            '[sla.calendar.hours]\nmon = "18:00-08:00"\n',
            "ronda.toml:2: sla.calendar.hours.mon: '18:00-08:00' is not a range of hours "
            '(expected e.g. "08:00-18:00", "08:00-12:00, 14:00-18:00", or "" for closed)',
        ),
        (
            '[sla.calendar.hours]\ntue = "08:00-12:00, 11:00-14:00"\n',
            "ronda.toml:2: sla.calendar.hours.tue: '08:00-12:00, 11:00-14:00' has overlapping "
            'ranges (expected e.g. "08:00-18:00", "08:00-12:00, 14:00-18:00", or "" for closed)',
        ),
        (
            '[sla.calendar.hours]\nmon = ""\ntue = ""\nwed = ""\nthu = ""\nfri = ""\n',
            "ronda.toml:1: sla.calendar.hours: no opening hours on any day "
            "(expected at least one open day)",
        ),
        ('[priorities]\nslow = "urgent"\n',
         "ronda.toml:2: priorities.slow: 'urgent' is not one of low, medium, high"),
        ("[incidents]\noutage_fraction = 1.5\n",
         "ronda.toml:2: incidents.outage_fraction: 1.5 is not a fraction (expected 0 < x <= 1)"),
        ('[mail]\nlisten = "localhost"\n',
         "ronda.toml:2: mail.listen: 'localhost' is not host:port (expected e.g. 127.0.0.1:25)"),
        ('[mail]\ndesk_address = "soporte"\n',
         "ronda.toml:2: mail.desk_address: 'soporte' is not an e-mail address"),
        (
            '[[customers]]\nname = "Ana"\nemails = ["ana@x.example", "ana at x"]\n',
            "ronda.toml:3: customers[0].emails[1]: 'ana at x' is not valid "
            "(expected e.g. ana@tienda-ana.example)",
        ),
        (
            '[[customers]]\nname = "Ana"\ndomains = ["x.example"]\n'
            '[[customers]]\nname = "Beto"\ndomains = [\n  "y.example",\n  "X.example",\n]\n',
            "ronda.toml:8: customers[1].domains[1]: 'x.example' already belongs to "
            "customer 'Ana'",
        ),
        (
            '[[customers]]\nname = "Ana Pérez"\n' + SITE + 'customer = "Ana Perez"\n',
            "ronda.toml:6: sites[0].customer: 'Ana Perez' is not a declared customer "
            "(did you mean 'Ana Pérez'?)",
        ),
        (
            SITE + '[[sites.checks]]\npath = "cart"\nkeyword = "Carrito"\n',
            "ronda.toml:5: sites[0].checks[0].path: 'cart' does not start with / "
            "(expected e.g. /cart/)",
        ),
        (
            SITE + 'checks = [{ path = "/cart/" }]\n',
            "ronda.toml:4: sites[0].checks[0].keyword: missing "
            "(a check needs a path and a keyword)",
        ),
        (
            '[[servers]]\nname = "s"\n[[servers.maintenance]]\n'
            "start = 2026-11-28T22:00:00-05:00\nend = 2026-11-28T21:00:00-05:00\n",
            "ronda.toml:5: servers[0].maintenance[0].end: 2026-11-28T21:00:00-05:00 is not after "
            "start 2026-11-28T22:00:00-05:00",
        ),
        (
            SITE + "[[sites.maintenance]]\nstart = 2026-11-28\nend = 2026-11-29T01:00:00Z\n",
            "ronda.toml:5: sites[0].maintenance[0].start: 2026-11-28 is not a date-time "
            "(expected a date-time such as 2026-11-28T22:00:00-05:00)",
        ),
        (
            SITE + '[[sites.maintenance]]\nstart = "2026-11-28"\nend = "2026-11-29 01:00"\n',
            "ronda.toml:5: sites[0].maintenance[0].start: '2026-11-28' is not a date-time "
            "(expected a date-time such as 2026-11-28T22:00:00-05:00)",
        ),
        (
            '[[servers]]\nname = "s"\n[[servers.maintenance]]\nstart = "2026-11-28T22:00"\n',
            "ronda.toml:3: servers[0].maintenance[0].end: missing "
            "(expected a date-time such as 2026-11-28T22:00:00-05:00)",
        ),
        ('sites = "all"\n',
         "ronda.toml:1: sites: 'all' is not an array of tables (expected [[sites]])"),
        ("sites = [1]\n", "ronda.toml:1: sites[0]: 1 is not a table"),
        ("probe = 5\n", "ronda.toml:1: probe: 5 is not a table (expected [probe])"),
    ],
)  # fmt: skip
def test_each_problem_names_line_and_key_path(text: str, expected: str) -> None:
    assert only_problem(text) == expected


def test_zero_based_index_points_at_the_right_entry() -> None:
    """sites[3] is the fourth [[sites]] entry, and the line is that entry's own line."""
    entries = "".join(
        f'[[sites]]\nname = "s{i}"\nurl = "https://s{i}.example"\nimpact = "low"\n'
        for i in range(3)
    )
    text = entries + '[[sites]]\nname = "s3"\nurl = "https://s3.example"\n\nimpact = "hgh"\n'
    assert (
        only_problem(text)
        == "ronda.toml:17: sites[3].impact: 'hgh' is not one of low, medium, high"
    )


def test_line_finder_is_not_fooled_by_strings_and_multiline_values() -> None:
    text = (
        '[[sites]]\nname = "a"\nurl = "https://a.example"\n'
        'checks = [\n  { path = "/x/", keyword = """\n[[sites]]\nimpact = "hgh"\n""" },\n'
        "  { path = 'no-slash', keyword = 'k' },  # a comment with [[sites]] in it\n]\n"
        '"impact" = "hgh"\n'
    )
    assert problems(text) == [
        "ronda.toml:9: sites[0].checks[1].path: 'no-slash' does not start with / "
        "(expected e.g. /cart/)",
        "ronda.toml:11: sites[0].impact: 'hgh' is not one of low, medium, high",
    ]


def test_dotted_keys_and_nested_array_tables_are_located() -> None:
    text = (
        '[[sites]]\nname = "a"\nurl = "https://a.example"\n'
        '[[sites]]\nname = "b"\nurl = "https://b.example"\n'
        "[[sites.maintenance]]\nstart = 2026-01-01T00:00:00Z\nend = 2026-01-02T00:00:00Z\n"
        '[[sites.maintenance]]\nstart = 2026-01-01T00:00:00Z\nend = "soon"\n'
        'sla.high.low.limit = "1d"\n'
    )
    assert problems(text) == [
        "ronda.toml:12: sites[1].maintenance[1].end: 'soon' is not a date-time "
        "(expected a date-time such as 2026-11-28T22:00:00-05:00)",
        "ronda.toml:13: sites[1].maintenance[1].sla: unknown key "
        "(expected one of start, end, reason)",
    ]


def test_every_problem_is_reported_together_in_line_order() -> None:
    text = (
        'lang = "de"\n'  # 1
        "[[sites]]\n"  # 2
        'name = "a"\n'  # 3
        'url = "gopher://a"\n'  # 4
        'impact = "huge"\n'  # 5
        "[[sites]]\n"  # 6
        'name = "a"\n'  # 7
        'url = "https://a.example"\n'  # 8
        "[probe]\n"  # 9
        "deadline = 0\n"  # 10
        "[priorities]\n"  # 11
        'teapot = "low"\n'  # 12
    )
    found = problems(text)
    assert [line.split(":", 3)[1:3] for line in found] == [
        ["1", " lang"],
        ["4", " sites[0].url"],
        ["5", " sites[0].impact"],
        ["7", " sites[1].name"],
        ["10", " probe.deadline"],
        ["12", " priorities.teapot"],
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('sties = []\n', "ronda.toml:1: sties: unknown key (did you mean 'sites'?)"),
        (SITE + 'impcat = "low"\n',
         "ronda.toml:4: sites[0].impcat: unknown key (did you mean 'impact'?)"),
        (SITE + '[[sites.checks]]\npath = "/"\nkeywrod = "x"\nkeyword = "y"\n',
         "ronda.toml:6: sites[0].checks[0].keywrod: unknown key (did you mean 'keyword'?)"),
        ('[mail]\nrelay_host = "x:25"\n',
         "ronda.toml:2: mail.relay_host: unknown key (did you mean 'relay'?)"),
        ('[sla.calendar]\ntimezon = "UTC"\n',
         "ronda.toml:2: sla.calendar.timezon: unknown key (did you mean 'timezone'?)"),
        ('[calendar]\ntimezone = "UTC"\n',
         "ronda.toml:1: calendar: unknown key (did you mean 'sla.calendar'?)"),
        ("[incidents]\nconfirm = 3\n",
         "ronda.toml:2: incidents.confirm: unknown key (did you mean 'confirm_rounds'?)"),
    ],
)  # fmt: skip
def test_unknown_keys_are_errors_with_a_suggestion(text: str, expected: str) -> None:
    assert only_problem(text) == expected


def test_duplicate_names_are_refused_in_every_section() -> None:
    text = (
        '[[customers]]\nname = "Ana"\n[[customers]]\nname = "Ana"\n'  # 1-4
        '[[servers]]\nname = "web"\n[[servers]]\nname = "web"\n'  # 5-8
        + SITE  # 9-11
        + SITE  # 12-14
    )
    assert problems(text) == [
        "ronda.toml:4: customers[1].name: 'Ana' is already used by customers[0] "
        "(names must be unique)",
        "ronda.toml:8: servers[1].name: 'web' is already used by servers[0] (names must be unique)",
        "ronda.toml:13: sites[1].name: 'a' is already used by sites[0] (names must be unique)",
    ]


# --- file-level problems -------------------------------------------------------------------


def test_toml_syntax_error_gives_its_line() -> None:
    text = SITE + 'impact = "high\n[probe]\n'
    assert only_problem(text) == (
        "ronda.toml:4: (syntax): the line ends inside a string (a quote is not closed) "
        "at column 15 (expected valid TOML)"
    )
    assert only_problem("a = 1\na = 2\n").startswith("ronda.toml:2: (syntax): cannot overwrite")
    assert only_problem("[[sites]]\nname = ").startswith("ronda.toml:2: (syntax): invalid value")


def test_missing_extra_ca_is_reported_with_the_resolved_path(tmp_path: Path) -> None:
    path = tmp_path / "ronda.toml"
    path.write_text('\n[tls]\nextra_ca = "certs/nope.pem"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    expected = tmp_path.resolve() / "certs" / "nope.pem"
    assert caught.value.problems == [
        f"{path}:3: tls.extra_ca: {expected} does not exist "
        "(expected a PEM file or a folder of them, relative to the config's folder)"
    ]
    path.write_text('[tls]\nextra_ca = "."\n')  # a capath folder, as checks/tls.py accepts
    assert load_config(path).tls.extra_ca == tmp_path.resolve()


def test_extra_ca_that_is_not_pem_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    path = tmp_path / "ronda.toml"
    path.write_text('[tls]\nextra_ca = "ca.pem"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path}:2: tls.extra_ca: {(tmp_path / 'ca.pem').resolve()} is not")
    assert problem.endswith("(expected PEM certificates)")


def test_non_utf8_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "ronda.toml"
    path.write_bytes('[[customers]]\nname = "Ana Pérez"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [
        f"{path}:2: (file): byte 0xe9 at column 14 is not UTF-8 "
        "(expected a UTF-8 text file; re-save it as UTF-8)"
    ]


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "ronda.toml"
    path.write_bytes("\ufefflang = 'es'\n".encode())
    assert load_config(path).lang == "es"


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [
        f"{path}:0: (file): cannot read the file (No such file or directory)"
    ]


def test_file_name_defaults_when_parsing_text_without_a_path() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('lang = "xx"\n')
    assert caught.value.problems == ["<config>:1: lang: 'xx' is not one of en, es"]


def test_servers_named_by_sites_are_created_once_after_declared_ones() -> None:
    config = parse_config(
        '[[servers]]\nname = "web-03"\n'
        + "".join(
            f'[[sites]]\nname = "s{i}"\nurl = "https://s{i}.example"\nserver = "{srv}"\n'
            for i, srv in enumerate(["shared-01", "web-03", "shared-01", "shared-02"])
        )
    )
    assert config.servers == (Server("web-03"), Server("shared-01"), Server("shared-02"))


def test_wrong_types_anywhere_in_the_example_never_crash() -> None:
    """Every value of the example replaced by each wrong type: a ConfigError, never a crash."""
    lines = EXAMPLE.read_text().splitlines()
    assignment = re.compile(r"^(\s*[A-Za-z_.\"]+\s*=\s*)(.+)$")
    replacements = ["true", '"x"', "[1]", "{ a = 1 }", "-1", "2026-01-01", "1e400"]
    refused = 0
    for n, line in enumerate(lines):
        match = assignment.match(line)
        if not match:
            continue
        for value in replacements:
            text = "\n".join(lines[:n] + [match.group(1) + value] + lines[n + 1 :])
            try:
                parse_config(text, EXAMPLE)
            except ConfigError as exc:
                refused += 1
                assert all(PROBLEM_LINE.match(p) for p in exc.problems), exc.problems
                # "x" may be a valid value here (a renamed customer) whose fault shows elsewhere
                if value != '"x"':
                    on_line = [p for p in exc.problems if p.startswith(f"{EXAMPLE}:{n + 1}: ")]
                    assert on_line, exc.problems
    assert refused > 300  # nearly every replacement is a type error somewhere


def test_mail_rules_are_read_and_checked(tmp_path: Path) -> None:
    good = parse_config(
        """
[[mail.rules]]
name = "migraciones"
match = ["migración", "re:migra(r|tion)"]
category = "hosting"
scope = "billable"
"""
    )
    assert good.mail.rules == (
        {
            "match": ["migración", "re:migra(r|tion)"],
            "name": "migraciones",
            "category": "hosting",
            "scope": "billable",
        },
    )
    with pytest.raises(ConfigError) as error:
        parse_config(
            """
[[mail.rules]]
match = "migración"
category = "hostng"
""",
            tmp_path / "ronda.toml",
        )
    problems = error.value.problems
    assert any("mail.rules[0].match" in p and ":3:" in p for p in problems), problems
    assert any("mail.rules[0].category: 'hostng' is not one of" in p for p in problems), problems


# ---- credentials in a site's URL, and the interval floor ------------------------------


def test_credentials_in_a_site_url_become_basic_auth_and_leave_the_url() -> None:
    config = parse_config(
        '[[sites]]\nname = "staging"\nurl = "https://deploy:s3cr%40t@staging.example/wp/"\n'
    )
    (site,) = config.sites
    assert site.url == "https://staging.example/wp/"
    assert site.basic_auth == ("deploy", "s3cr@t")
    assert "s3cr" not in repr(site) and "s3cr" not in repr(config)
    assert "s3cr" not in check_config_summary(config)


def test_a_bad_url_with_a_password_is_reported_without_it() -> None:
    found = problems('[[sites]]\nname = "a"\nurl = "ftp://deploy:hunter2@a.example/"\n')
    assert found and all("hunter2" not in line for line in found)
    assert any("deploy:***@a.example" in line for line in found)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (SITE + "interval = 0.001\n", "ronda.toml:4: sites[0].interval: 0.001 s is below"),
        ("[probe]\ninterval = 2\n" + SITE, "ronda.toml:2: probe.interval: 2 s is below"),
    ],
)
def test_an_interval_under_the_floor_is_refused_for_a_real_site(text: str, where: str) -> None:
    (line,) = problems(text)
    assert line.startswith(where) and "10 s floor" in line


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8080", "localhost", "[::1]:9000", "shop.localhost", "gone.invalid"]
)
def test_sites_on_loopback_may_be_probed_faster(host: str) -> None:
    config = parse_config(f'[[sites]]\nname = "t"\nurl = "http://{host}/"\ninterval = 0.3\n')
    assert config.sites[0].probe.interval == 0.3
    assert parse_config(SITE + "interval = 10\n").sites[0].probe.interval == 10.0
