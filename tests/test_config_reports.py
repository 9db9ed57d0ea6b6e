"""[reports] and the customers' opt-in: what the file may say, and each refusal on its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ronda.config import ConfigError, ReportSettings, parse_config


def refusals(text: str, path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, path)
    return caught.value.problems


def test_defaults_and_a_full_section(tmp_path: Path) -> None:
    assert parse_config("").reports == ReportSettings()
    (tmp_path / "look").mkdir()
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    config = parse_config(
        '[reports]\ntemplates = "look"\nlogo = "logo.png"\ncolour = "#ABCDEF"\n'
        'agency = " Hosting Andino "\n\n[[customers]]\nname = "Ana"\nreports = true\n',
        tmp_path / "ronda.toml",
    )
    assert config.reports == ReportSettings(
        templates=tmp_path / "look",
        logo=tmp_path / "logo.png",
        colour="#abcdef",
        agency="Hosting Andino",
    )
    assert config.customers[0].reports is True
    assert parse_config('[[customers]]\nname = "B"\n').customers[0].reports is False


def test_each_refusal_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "logo.gif").write_bytes(b"GIF89a")
    (tmp_path / "big.png").write_bytes(b"\0" * (600 * 1024))
    text = (
        "[reports]\n"
        'templates = "nowhere"\n'
        'logo = "logo.gif"\n'
        'colour = "red; background: url(http://evil.example/)"\n'
        "agency = 3\n"
        "font = 1\n"
        "\n[[customers]]\n"
        'name = "Ana"\n'
        'reports = "yes"\n'
    )
    problems = refusals(text, tmp_path / "ronda.toml")
    assert [p.split(":")[1] for p in problems] == ["2", "3", "4", "5", "6", "10"]
    assert "is not a folder" in problems[0]
    assert "is not an image Ronda inlines" in problems[1]
    assert "is not a colour" in problems[2]
    assert "font" in problems[4]
    assert "reports" in problems[5]
    big = refusals('[reports]\nlogo = "big.png"\n', tmp_path / "ronda.toml")
    assert "is over 512 KB" in big[0]


def test_check_config_reads_the_agencys_report_templates(tmp_path: Path, capsys) -> None:
    from ronda.app.cli import main

    look = tmp_path / "look"
    look.mkdir()
    (look / "report.html").write_text("<h1>{{ r.customer }</h1>\n")
    config = tmp_path / "ronda.toml"
    config.write_text('[reports]\ntemplates = "look"\n')
    assert main(["check-config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{look / 'report.html'}:1: ") and err.count("\n") == 1
    (look / "report.html").write_text("<h1>{{ r.customer }}</h1>\n")
    assert main(["check-config", str(config)]) == 0
