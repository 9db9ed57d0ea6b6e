"""The texts the desk sends customers and agents, as files the agency can edit.

Each template is `<lang>/<name>.txt` (lang `en` or `es`): a first line `Subject: ...`, then
the text, with `$name` (or `${name}`) placeholders. `[notices] templates = "folder"` points
at a folder laid out the same way; a file there replaces the shipped one of the same name,
and a missing one falls back to it.

Why `string.Template` and not Jinja2: the people who edit these are support staff, not
programmers, and the texts need no logic of their own; the few lists they hold (an outage's
sites) are written out by the desk before they are put in. A template can then only place
values, never run anything, and every placeholder it names is checked against the known
ones before the desk starts (`check`), so a typo is a config problem, not a customer's
e-mail with `$csae` in it. Values are plain lines of text the desk made safe (controls
stripped) before they are put in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Template

SHIPPED = Path(__file__).resolve().parent / "templates"
LANGS = ("en", "es")
_NOTICE = frozenset({"case", "customer", "desk_address"})
_AGENT = frozenset(
    {
        "case",
        "customer",
        "site",
        "url",
        "failure",
        "priority",
        "impact",
        "opened_at",
        "time_left",
        "limit",
        "on_call",
        "agent",
    }
)
# Every template and the placeholders it may use.
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "notice_opened": _NOTICE | {"site", "url", "failure", "detected_at", "next_answer"},
    "notice_outage": _NOTICE | {"sites", "count", "detected_at", "next_answer"},
    "notice_resolved": _NOTICE | {"site", "url", "recovered_at"},
    "notice_outage_resolved": _NOTICE | {"sites", "count", "recovered_at"},
    "agent_opened": _AGENT,
    "agent_warning": _AGENT,
    "agent_breached": _AGENT,
}


class TemplateError(Exception):
    """A template that cannot be used; the text names the file and what is wrong."""


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    body: str


def _split(path: Path, text: str) -> tuple[Template, Template]:
    first, _, rest = text.partition("\n")
    if not first.startswith("Subject:"):
        raise TemplateError(f"{path}:1: the first line must be 'Subject: ...'")
    return Template(first.removeprefix("Subject:").strip()), Template(rest.lstrip("\n"))


def _read(path: Path, name: str) -> tuple[Template, Template]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{path}: cannot read the template ({exc})") from None
    subject, body = _split(path, text)
    allowed = PLACEHOLDERS[name]
    for part in (subject, body):
        if not part.is_valid():
            raise TemplateError(
                f"{path}: a $ that starts no placeholder (write $$ for a dollar sign)"
            )
        unknown = sorted(set(part.get_identifiers()) - allowed)
        if unknown:
            raise TemplateError(
                f"{path}: ${unknown[0]} is not a placeholder of {name} "
                f"(expected some of {', '.join('$' + p for p in sorted(allowed))})"
            )
    return subject, body


class Templates:
    """The shipped templates with the agency's folder over them, read and checked once."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._loaded: dict[tuple[str, str], tuple[Template, Template]] = {}
        for lang in LANGS:
            for name in PLACEHOLDERS:
                self._loaded[(lang, name)] = _read(self.path_of(lang, name), name)

    def path_of(self, lang: str, name: str) -> Path:
        """The file a template is read from: the agency's when it has one."""
        if self.folder is not None:
            own = self.folder / lang / f"{name}.txt"
            if own.is_file():
                return own
        return SHIPPED / lang / f"{name}.txt"

    def render(self, name: str, lang: str, values: Mapping[str, str]) -> Rendered:
        """The template filled in; every placeholder it may use must be in `values`."""
        lang = lang if lang in LANGS else "en"
        subject, body = self._loaded[(lang, name)]
        full = {key: values.get(key, "") for key in PLACEHOLDERS[name]}
        return Rendered(subject.substitute(full).strip(), body.substitute(full).rstrip() + "\n")


def check(folder: Path | None) -> list[str]:
    """Every problem of the agency's templates (empty when they are all usable)."""
    problems: list[str] = []
    if folder is None:
        return problems
    for lang in LANGS:
        for name in PLACEHOLDERS:
            own = folder / lang / f"{name}.txt"
            if own.is_file():
                try:
                    _read(own, name)
                except TemplateError as exc:
                    problems.append(str(exc))
    for path in sorted(folder.glob("*/*.txt")):
        if path.parent.name not in LANGS or path.stem not in PLACEHOLDERS:
            problems.append(
                f"{path}: not a template Ronda uses (expected {{en,es}}/NAME.txt with NAME one "
                f"of {', '.join(sorted(PLACEHOLDERS))})"
            )
    return problems


__all__ = ["LANGS", "PLACEHOLDERS", "SHIPPED", "Rendered", "TemplateError", "Templates", "check"]
