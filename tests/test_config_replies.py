"""[replies] (saved replies, inline and from a folder) and [[agents]] signatures: what loads,
and every refusal as `FILE:LINE: key.path: what`, a template file's own line included."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_config import EXAMPLE, only_problem, problems

from ronda.config import SavedReply, load_config, parse_config


def test_the_example_has_saved_replies_in_both_languages_and_a_signature() -> None:
    config = load_config(EXAMPLE)
    by = {(r.name, r.lang): r for r in config.replies}
    assert ("Recibido", "es") in by and ("Received", "en") in by
    assert ("Pedimos acceso", "es") in by and ("Need access", "en") in by
    assert by[("Recibido", "es")].text.startswith("Hola, recibimos su mensaje sobre {site}")
    assert config.agents[0].signature == "Laura Gómez\nSoporte · Agencia Ejemplo · +57 601 555 0100"
    assert config.agents[1].signature is None


def test_inline_saved_replies() -> None:
    config = parse_config(
        '[[replies.saved]]\nname = "Gracias"\nlang = "es"\ntext = "Gracias, {customer}: {case}"\n'
        '[[replies.saved]]\nname = "Thanks"\ntext = "Braces {{like this}} stay"\n'
    )
    assert config.replies == (
        SavedReply("Gracias", "Gracias, {customer}: {case}", "es"),
        SavedReply("Thanks", "Braces {{like this}} stay", None),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[replies.saved]]\nname = "x"\ntext = "Hola {cliente}"\n',
            "ronda.toml:3: replies.saved[0].text: line 1 of the text: {cliente} is not a field "
            "(expected {case}, {customer}, {site}, {limit})",
        ),
        (
            '[[replies.saved]]\nname = "x"\ntext = """\nuno\ndos {limit:%H}"""\n',
            "ronda.toml:3: replies.saved[0].text: line 2 of the text: {limit:%H} is not a field "
            "(expected {case}, {customer}, {site}, {limit})",
        ),
        (
            '[[replies.saved]]\nname = "x"\ntext = "abre { y no cierra"\n',
            "ronda.toml:3: replies.saved[0].text: line 1 of the text: expected '}' before end "
            "of string (write {{ and }} for a literal brace)",
        ),
        (
            '[[replies.saved]]\nname = "x"\nlang = "fr"\ntext = "hola"\n',
            "ronda.toml:3: replies.saved[0].lang: 'fr' is not one of en, es",
        ),
        (
            '[[replies.saved]]\nname = "x"\n',
            "ronda.toml:1: replies.saved[0].text: missing (the reply's text)",
        ),
        (
            '[[replies.saved]]\nname = "x"\ntext = "a"\ncolor = 1\n',
            "ronda.toml:4: replies.saved[0].color: unknown key (expected one of name, lang, text)",
        ),
        (
            '[[replies.saved]]\nname = "X"\ntext = "a"\n'
            '[[replies.saved]]\nname = "x"\ntext = "b"\n',
            "ronda.toml:5: replies.saved[1].name: 'x' is a saved reply already "
            "(expected unique names)",
        ),
        (
            '[replies]\ntemplates = "nowhere"\n',
            "is not a folder (expected a folder of NAME.es.txt",
        ),
        (
            '[[agents]]\nname = "laura"\nsignature = 3\n',
            "ronda.toml:3: agents[0].signature: 3 is not a string",
        ),
        (
            '[[agents]]\nname = "laura"\nsignature = "' + "x" * 1001 + '"\n',
            "ronda.toml:3: agents[0].signature: is 1001 characters (expected at most 1000)",
        ),
    ],
)
def test_refusals(text: str, expected: str) -> None:
    assert expected in only_problem(text)


def test_a_template_file_is_refused_with_its_own_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "replies"
    folder.mkdir()
    (folder / "espera.es.txt").write_text("Hola {customer}:\n\nsu caso {caso}\nlisto {site}\n")
    (folder / "bien.en.txt").write_text("Fine {site}\n")
    (folder / "vacio.txt").write_text("\n\n")
    (folder / "latin1.es.txt").write_bytes("línea\nseñal".encode("latin-1"))
    (folder / "notes.md").write_text("{not a template}")  # only .txt files are templates
    config_path = tmp_path / "ronda.toml"
    config_path.write_text('lang = "es"\n[replies]\ntemplates = "replies"\n')
    found = problems(config_path.read_text(), config_path)
    assert found == [
        f"{config_path}:3: replies.templates: {folder / 'espera.es.txt'}:3: {{caso}} is not a "
        "field (expected {case}, {customer}, {site}, {limit})",
        f"{config_path}:3: replies.templates: {folder / 'latin1.es.txt'}:1: not UTF-8 "
        "(expected a UTF-8 text file)",
        f"{config_path}:3: replies.templates: {folder / 'vacio.txt'}:1: the file is empty "
        "(expected the reply's text)",
    ]
    (folder / "espera.es.txt").write_text("Hola {customer}: su caso {case}\n")
    (folder / "latin1.es.txt").unlink()
    (folder / "vacio.txt").unlink()
    config = load_config(config_path)
    assert config.replies == (
        SavedReply("Bien", "Fine {site}", "en"),
        SavedReply("Espera", "Hola {customer}: su caso {case}", "es"),
    )


def test_check_config_reports_a_bad_template(tmp_path: Path, capsys) -> None:
    from ronda.app.cli import main

    (tmp_path / "replies").mkdir()
    (tmp_path / "replies" / "x.txt").write_text("{agente}")
    path = tmp_path / "ronda.toml"
    path.write_text('[replies]\ntemplates = "replies"\n')
    assert main(["check-config", str(path)]) != 0
    err = capsys.readouterr().err
    assert "x.txt:1: {agente} is not a field" in err


# ---- filling a saved reply (pure) -----------------------------------------------------


def _ticket(**changes):
    from datetime import UTC, datetime

    from ronda.model import Impact, Priority, Source, Status, Ticket

    base = dict(
        id=1016,
        case_number="R-1016",
        version=1,
        source=Source.EMAIL,
        subject="x",
        status=Status.OPEN,
        priority=Priority.HIGH,
        impact=Impact.LOW,
        opened_at=datetime(2026, 12, 4, 12, 0, tzinfo=UTC),
        sla_target_at=datetime(2026, 12, 4, 13, 0, tzinfo=UTC),
        sla_limit_at=datetime(2026, 12, 4, 13, 20, tzinfo=UTC),
        customer="Ferretería López",
        site="ferreteria",
    )
    base.update(changes)
    return Ticket(**base)


def test_fields_are_filled_from_the_case_in_the_desks_zone() -> None:
    from ronda.saved_replies import field_values, fill
    from ronda.when import use_zone

    use_zone("America/Bogota")
    text = "Caso {case} de {customer} ({site}): antes de {limit}. {{literal}}"
    assert fill(text, field_values(_ticket())) == (
        "Caso R-1016 de Ferretería López (ferreteria): antes de 2026-12-04 08:20 -05. {literal}"
    )


def test_the_limit_is_the_answer_owed_next() -> None:
    from datetime import UTC, datetime

    from ronda.saved_replies import reply_limit

    answered = datetime(2026, 12, 4, 12, 30, tzinfo=UTC)
    due = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
    assert reply_limit(_ticket()) == datetime(2026, 12, 4, 13, 20, tzinfo=UTC)
    assert reply_limit(_ticket(first_response_at=answered)) is None
    assert reply_limit(_ticket(first_response_at=answered, reply_limit_at=due)) == due


def test_a_text_that_slipped_past_the_check_is_left_as_written() -> None:
    from ronda.saved_replies import fill

    assert fill("Hola {cliente}", {"case": "R-1"}) == "Hola {cliente}"


def test_the_agents_language_comes_first() -> None:
    from ronda.saved_replies import offered

    replies = (SavedReply("b", "", "en"), SavedReply("a", "", None), SavedReply("c", "", "es"))
    assert [r.name for r in offered(replies, "es")] == ["c", "a", "b"]
    assert [r.name for r in offered(replies, "en")] == ["b", "a", "c"]
