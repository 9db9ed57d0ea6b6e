"""The TOML line scanner on its own: key path -> the line that wrote it."""

from __future__ import annotations

import tomllib

from ronda.config.lines import LineMap


def test_headers_keys_and_array_entries_get_their_own_lines() -> None:
    text = (
        "lang = 'es'\n"  # 1
        "\n"
        "[probe]\n"  # 3
        "interval = 30\n"  # 4
        "[[sites]]\n"  # 5
        'name = "a"\n'  # 6
        "[[sites]]\n"  # 7
        'name = "b"\n'  # 8
        "[[sites.checks]]\n"  # 9
        "path = '/cart/'\n"  # 10
    )
    lines = LineMap(text)
    assert lines.line_of(("lang",)) == 1
    assert lines.line_of(("probe",)) == 3
    assert lines.line_of(("probe", "interval")) == 4
    assert lines.line_of(("sites", 0, "name")) == 6
    assert lines.line_of(("sites", 1)) == 7
    assert lines.line_of(("sites", 1, "checks", 0, "path")) == 10


def test_array_items_and_inline_table_keys_are_placed_where_written() -> None:
    text = (
        'hours = [\n  "08:00-12:00",\n  "14:00-18:00",\n]\n'  # 1-4
        'checks = [\n  { path = "/a/", keyword = "a" },\n  { path = "/b/", keyword = "b" },\n]\n'
    )
    tomllib.loads(text)  # the scanner only ever sees text tomllib accepted
    lines = LineMap(text)
    assert lines.line_of(("hours", 0)) == 2
    assert lines.line_of(("hours", 1)) == 3
    assert lines.line_of(("checks", 0, "keyword")) == 6
    assert lines.line_of(("checks", 1, "path")) == 7


def test_a_path_never_written_falls_back_to_its_nearest_parent() -> None:
    lines = LineMap('\n[[sites]]\nname = "a"\n')
    assert lines.line_of(("sites", 0, "impact")) == 2  # a missing key: its table's header
    assert lines.line_of(("mail", "listen")) == 1  # nothing placed at all: the first line


def test_quoted_and_escaped_keys_are_the_keys_tomllib_reads() -> None:
    text = '"caf\\u00e9" = 1\n\'a.b\' = 2\nx."y z" = 3\n'
    assert set(tomllib.loads(text)) == {"café", "a.b", "x"}
    lines = LineMap(text)
    assert lines.line_of(("café",)) == 1
    assert lines.line_of(("a.b",)) == 2
    assert lines.line_of(("x", "y z")) == 3
