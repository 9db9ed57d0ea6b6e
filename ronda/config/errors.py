"""What a refused config says: `ConfigError`, one line per problem, `FILE:LINE: key.path: what`.

While a document is read each problem is recorded as (key path, message); `format_problem`
writes it once `ronda.config.lines` has found the line. A message ends in "(expected ...)"
when the user needs to know what would be accepted.
"""

from __future__ import annotations

import json
import re
from datetime import date, time

KeyPath = tuple[str | int, ...]  # ("sites", 3, "impact"): table keys and 0-based indexes

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")  # a TOML key that needs no quotes
_TOML_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")


class ConfigError(Exception):
    """A config that cannot be used; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def format_key_path(path: KeyPath) -> str:
    """`("sites", 3, "impact")` -> `sites[3].impact` (indexes are 0-based)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part if BARE_KEY.fullmatch(part) else json.dumps(part, ensure_ascii=False)
            out += f".{name}" if out else name
    return out


def format_problem(name: str, line: int, path: KeyPath, message: str) -> str:
    """One problem as the user reads it; the document itself is `(top)`."""
    return f"{name}:{line}: {format_key_path(path) or '(top)'}: {message}"


def syntax_problem(name: str, text: str, message: str) -> str:
    """tomllib's message, reshaped as FILE:LINE: (syntax): what is wrong."""
    match = _TOML_POSITION.search(message)
    what = _TOML_POSITION.sub("", message) if match else message
    what = what[:1].lower() + what[1:]
    if what == "illegal character '\\n'":  # tomllib's words for a quote left open
        what = "the line ends inside a string (a quote is not closed)"
    if match and match.group(1):
        line, where = int(match.group(1)), f" at column {match.group(2)}"
    else:  # "at end of document": an unterminated value, reported on the last line
        line, where = max(1, text.count("\n") + (0 if text.endswith("\n") else 1)), ""
    return f"{name}:{line}: (syntax): {what}{where} (expected valid TOML)"


def describe(value: object) -> str:
    """A value as the user wrote it, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, date | time):  # datetime is a date too
        return value.isoformat()
    return str(value)
