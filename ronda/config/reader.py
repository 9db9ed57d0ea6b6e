"""Reading values out of a parsed TOML document, one problem recorded for each refusal.

A `Reader` checks the generic shapes (a table with known keys, an array of tables, a string,
a choice, one scalar setting) and collects (key path, message) problems instead of raising,
so a user fixes a broken file in one pass. A value it refuses comes back as `BAD`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ronda.config.errors import KeyPath, describe, format_key_path
from ronda.config.values import EMAIL, is_number, parse_duration, valid_host_port

BAD: Any = object()  # a value that failed validation; its problem is already recorded


class Reader:
    """Checks values of one document, collecting (key path, message) problems."""

    def __init__(self) -> None:
        self.problems: list[tuple[KeyPath, str]] = []

    def add(self, path: KeyPath, message: str) -> None:
        self.problems.append((path, message))

    def table(self, value: object, path: KeyPath, allowed: Sequence[str]) -> dict | None:
        """A table whose keys must all be in `allowed`; unknown keys are reported."""
        if not isinstance(value, dict):
            self.add(path, f"{describe(value)} is not a table (expected [{format_key_path(path)}])")
            return None
        for key in value:
            if key not in allowed:
                self.unknown(path + (key,), key, allowed)
        return value

    def unknown(self, path: KeyPath, key: str, allowed: Sequence[str]) -> None:
        if path == ("calendar",):  # the calendar lives with the matrix it times
            close = ["sla.calendar"]
        else:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        if close:
            self.add(path, f"unknown key (did you mean '{close[0]}'?)")
        else:
            self.add(path, f"unknown key (expected one of {', '.join(allowed)})")

    def array_of_tables(self, value: object, path: KeyPath) -> list[tuple[int, dict]]:
        """(index, entry) for each table of an array; other items are reported."""
        if not isinstance(value, list):
            what = format_key_path(path)
            self.add(path, f"{describe(value)} is not an array of tables (expected [[{what}]])")
            return []
        good: list[tuple[int, dict]] = []
        for i, item in enumerate(value):
            if isinstance(item, dict):
                good.append((i, item))
            else:
                self.add(path + (i,), f"{describe(item)} is not a table")
        return good

    def string(self, value: object, path: KeyPath, *, empty: bool = False) -> Any:
        if not isinstance(value, str):
            self.add(path, f"{describe(value)} is not a string")
            return BAD
        if not empty and not value.strip():
            self.add(path, "must not be empty")
            return BAD
        return value.strip()

    def path(self, value: object, path: KeyPath, base_dir: Path) -> Any:
        """A path as written (`~` expanded), relative to the config's folder, resolved."""
        text = self.string(value, path)
        return BAD if text is BAD else (base_dir / Path(text).expanduser()).resolve()

    def folder(
        self, value: object, path: KeyPath, base_dir: Path, expected: str | None = None
    ) -> Any:
        """`path` that must be an existing folder; `expected` says what it should hold."""
        folder = self.path(value, path, base_dir)
        if folder is not BAD and not folder.is_dir():
            hint = f" (expected {expected}, relative to the config's folder)" if expected else ""
            self.add(path, f"{folder} is not a folder{hint}")
            return BAD
        return folder

    def choice(self, value: object, path: KeyPath, options: Sequence[str]) -> Any:
        if not isinstance(value, str) or value.strip().lower() not in options:
            self.add(path, f"{describe(value)} is not one of {', '.join(options)}")
            return BAD
        return value.strip().lower()

    def kind(self, kind: str, value: object, path: KeyPath) -> Any:
        """One scalar setting of [probe], [incidents] or [mail], converted."""
        if kind == "bool":
            if not isinstance(value, bool):
                self.add(path, f"{describe(value)} is not true or false")
                return BAD
            return value
        if kind in ("count", "count0"):
            low = 1 if kind == "count" else 0
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                what = "a positive integer" if low else "an integer >= 0"
                self.add(path, f"{describe(value)} is not {what}")
                return BAD
            return value
        if kind == "seconds":
            try:
                return parse_duration(value).total_seconds()  # type: ignore[arg-type]
            except ValueError:
                self.add(
                    path,
                    f"{describe(value)} is not a positive duration "
                    '(expected seconds as a number, or e.g. "90s", "5m", "1h30m")',
                )
                return BAD
        if kind == "fraction":
            if not is_number(value) or not 0 < value <= 1:  # type: ignore[operator]
                self.add(path, f"{describe(value)} is not a fraction (expected 0 < x <= 1)")
                return BAD
            return float(value)  # type: ignore[arg-type]
        if kind == "email":
            text = self.string(value, path)
            if text is not BAD and not EMAIL.fullmatch(text):
                self.add(path, f"{describe(value)} is not an e-mail address")
                return BAD
            return text
        if kind in ("listen", "relay"):
            if kind == "relay" and value == "":
                return None
            text = self.string(value, path)
            if text is not BAD and not valid_host_port(text, allow_zero=kind == "listen"):
                self.add(path, f"{describe(value)} is not host:port (expected e.g. 127.0.0.1:25)")
                return BAD
            return text
        raise AssertionError(kind)

    def settings(self, raw: dict, path: KeyPath, kinds: dict[str, str]) -> dict[str, Any]:
        """The known keys of `raw` converted; unknown keys are reported by the caller."""
        out = {}
        for key, kind in kinds.items():
            if key in raw:
                value = self.kind(kind, raw[key], path + (key,))
                if value is not BAD:
                    out[key] = value
        return out

    def required_name(self, entry: dict, path: KeyPath, names: dict[str, int], section: str) -> str:
        """The entry's unique `name`, or "" after reporting why it is missing or taken."""
        if "name" not in entry:
            self.add(path + ("name",), "missing (every entry needs a name)")
            return ""
        name = self.string(entry["name"], path + ("name",))
        if name is BAD:
            return ""
        if name in names:
            self.add(
                path + ("name",),
                f"{name!r} is already used by {section}[{names[name]}] (names must be unique)",
            )
        else:
            names[name] = path[1]  # type: ignore[assignment]
        return name
