"""The config of reaching people: customers' contacts and opt-in, [[agents]] with Apprise
URLs (their schemes checked against Apprise's own list), [oncall], [notices], [outbox] and
the relay's TLS and login. Every refusal is one `FILE:LINE: key.path: what` line, and none
repeats more of an Apprise URL than its scheme (the rest may be a token)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from test_config import EXAMPLE, only_problem, problems

from ronda.app.cli import main
from ronda.config import load_config, parse_config
from ronda.model import Priority

AGENTS = '[[agents]]\nname = "laura"\n[[agents]]\nname = "mateo"\n'  # lines 1-4


def test_the_example_declares_agents_rota_notices_and_the_relays_login() -> None:
    config = load_config(EXAMPLE)
    ana, clinic, school = config.customers
    assert (ana.lang, ana.notices, ana.contact_address) == ("es", True, "ana@tienda-ana.example")
    assert clinic.contact_address == "soporte-ti@clinicanorte.example" and not clinic.notices
    assert school.contact_address is None
    colegio = config.site("colegio-andino")
    assert colegio is not None and colegio.contact == "rectoria@colegioandino.example"
    assert colegio.notices is True
    laura, mateo, jefa = config.agents
    assert laura.notify == (
        "ntfy://ntfy.agencia.example/ronda-laura",
        "tgram://${TELEGRAM_BOT_TOKEN}/123456789",  # the variable, put in when it is sent
    )
    assert laura.notify_by_email and not mateo.notify_by_email and jefa.notify == ()
    oncall = config.oncall
    assert (oncall.business_hours, oncall.after_hours) == (("laura", "mateo"), ("mateo", "laura"))
    assert oncall.escalation == ("jefa",)
    assert oncall.rotation_start == datetime(2026, 1, 5, 8, tzinfo=ZoneInfo("America/Bogota"))
    assert oncall.warning == (Priority.HIGH, Priority.MEDIUM)
    assert (oncall.rate_limit, oncall.rate_window, oncall.catch_up) == (10, 600.0, 3600.0)
    assert config.notices.delay == 120.0 and config.notices.recovery_after == 600.0
    assert config.notices.priorities == (Priority.HIGH, Priority.MEDIUM)
    assert (config.outbox.retry_first, config.outbox.retry_max) == (30.0, 3600.0)
    assert config.outbox.give_up_after == 86400.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[agents]]\nname = "laura"\nnotify = ["ntfyy://ntfy.sh/SECRET-topic"]\n',
            "ronda.toml:3: agents[0].notify[0]: ntfyy:// is not a scheme Apprise knows "
            "(did you mean ntfy://?)",
        ),
        (
            '[[agents]]\nname = "laura"\nnotify = ["ntfy.sh/SECRET-topic"]\n',
            "ronda.toml:3: agents[0].notify[0]: has no scheme (expected an Apprise URL such "
            "as ntfy://..., tgram://..., mailto://..., json://...)",
        ),
        (
            '[[agents]]\nname = "laura"\nnotify = ["tgram://${bot token}/1"]\n',
            "ronda.toml:3: agents[0].notify[0]: ${bot token} is not an environment variable's "
            "name (expected ${NAME} with letters, digits and _)",
        ),
        (
            '[[agents]]\nname = "laura"\nnotify = "ntfy://ntfy.sh/x"\n',
            "ronda.toml:3: agents[0].notify: 'ntfy://ntfy.sh/x' is not an array of Apprise "
            'URLs (expected e.g. ["ntfy://ntfy.sh/ronda-oncall"])',
        ),
        (
            '[[agents]]\nname = "laura"\nlang = "fr"\n',
            "ronda.toml:3: agents[0].lang: 'fr' is not one of en, es",
        ),
        (
            AGENTS + '[oncall]\nbusiness_hours = ["laura", "mteo"]\n',
            "ronda.toml:6: oncall.business_hours[1]: 'mteo' is not a declared agent "
            "(did you mean 'mateo'?)",
        ),
        (
            AGENTS + '[oncall]\nwarning = ["high", "urgent"]\n',
            "ronda.toml:6: oncall.warning[1]: 'urgent' is not one of low, medium, high",
        ),
        (
            AGENTS + '[oncall]\nrotation_start = "monday"\n',
            "ronda.toml:6: oncall.rotation_start: 'monday' is not a date-time (expected the "
            "start of a turn, e.g. 2026-01-05T08:00:00)",
        ),
        (
            AGENTS + "[oncall]\nrate_limit = -1\n",
            "ronda.toml:6: oncall.rate_limit: -1 is not an integer >= 0",
        ),
        (
            "[notices]\ndelay = -5\n",
            "ronda.toml:2: notices.delay: -5 is not a positive duration (expected seconds as "
            'a number, or e.g. "90s", "5m", "1h30m")',
        ),
        (
            "[outbox]\nretry_first = \"1m\"\nretry_max = \"30s\"\n",
            "ronda.toml:3: outbox.retry_max: retry_max (30 s) is less than retry_first (60 s) "
            "(expected first <= max)",
        ),
        (
            '[[customers]]\nname = "Ana"\ncontact = "ana"\n',
            "ronda.toml:3: customers[0].contact: 'ana' is not an e-mail address",
        ),
        (
            '[[customers]]\nname = "Ana"\nnotices = "yes"\n',
            "ronda.toml:3: customers[0].notices: 'yes' is not true or false",
        ),
        (
            '[mail]\nrelay = "smtp.x:587"\nsmtp_user = "ronda"\n',
            "ronda.toml:3: mail.smtp_user: has no password (expected smtp_password_env or "
            "smtp_password_file next to it)",
        ),
        (
            '[mail]\nrelay = "smtp.x:587"\nsmtp_password_env = "P"\n',
            "ronda.toml:3: mail.smtp_password_env: is a password without a user (expected "
            "smtp_user next to it)",
        ),
        (
            '[mail]\nsmtp_user = "r"\nsmtp_password_env = "RONDA-PASSWORD"\n',
            "ronda.toml:3: mail.smtp_password_env: 'RONDA-PASSWORD' is not an environment "
            "variable's name (expected e.g. RONDA_SMTP_PASSWORD)",
        ),
        (
            '[mail]\nrelay = "smtp.x:25"\nsmtp_tls = "none"\nsmtp_user = "r"\n'
            'smtp_password_env = "P"\n',
            "ronda.toml:3: mail.smtp_tls: 'none' would send the relay's password in clear over "
            "the network (expected auto, starttls or tls; none only for a relay on this "
            "machine)",
        ),
        (
            '[mail]\nsmtp_tls = "ssl"\n',
            "ronda.toml:2: mail.smtp_tls: 'ssl' is not one of auto, starttls, tls, none",
        ),
    ],
)  # fmt: skip
def test_each_problem_names_line_and_key_path(text: str, expected: str) -> None:
    assert only_problem(text) == expected
    assert "SECRET" not in expected


def test_files_are_read_relative_to_the_config_and_must_exist(tmp_path: Path) -> None:
    (tmp_path / "relay-ca.pem").write_text("not a certificate\n")
    (tmp_path / "password").write_text("s3cret\n")
    text = (
        '[mail]\nrelay = "127.0.0.1:25"\nsmtp_tls = "none"\nsmtp_user = "r"\n'
        'smtp_password_file = "password"\nsmtp_ca = "relay-ca.pem"\n'
        '[notices]\ntemplates = "nope"\n'
    )
    found = problems(text, tmp_path / "ronda.toml")
    assert len(found) == 2
    assert "mail.smtp_ca" in found[0] and "is not a usable CA bundle" in found[0]
    assert f"notices.templates: {tmp_path / 'nope'} is not a folder" in found[1]
    ok = parse_config(
        text.replace('smtp_ca = "relay-ca.pem"\n', "").replace(
            'templates = "nope"', 'templates = "."'
        ),
        tmp_path / "ronda.toml",
    )
    assert ok.mail.smtp_password_file == tmp_path / "password"  # the path, not the password
    assert ok.notices.templates == tmp_path


def test_check_config_refuses_a_template_with_an_unknown_placeholder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t" / "es").mkdir(parents=True)
    (tmp_path / "t" / "es" / "notice_opened.txt").write_text("Subject: [$case] $sitio\n\nhola\n")
    config = tmp_path / "ronda.toml"
    config.write_text('[notices]\ntemplates = "t"\n')
    assert main(["check-config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "notice_opened.txt: $sitio is not a placeholder of notice_opened" in err
    (tmp_path / "t" / "es" / "notice_opened.txt").write_text("Subject: [$case] $site\n\nhola\n")
    assert main(["check-config", str(config)]) == 0
