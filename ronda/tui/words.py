"""Words the TUI shows that the store keeps in English: failure classes and the subjects
probes write, in the UI language.

A failure class reads as its name in the catalogue (`class.<code>`), or its code where the
catalogue has none (English: the codes are what the CLI, metrics and logs say too). A
probe's subject is stored in English (`ronda.model.SUBJECT_WORDS`), searched
as written; shown, its words are the UI language's when it still reads as a probe wrote it.
"""

from __future__ import annotations

from collections.abc import Callable

from ronda.model import SUBJECT_WORDS, FailureClass, Source, Ticket


def class_label(failure_class: str | None, t: Callable[..., str]) -> str:
    """The failure class's name in the UI language (the code when it has none)."""
    if not failure_class:
        return ""
    return t(f"class.{failure_class}", str(failure_class))


def shown_subject(ticket: Ticket, t: Callable[..., str]) -> str:
    """The ticket's subject in the UI language: `shop: conexión rechazada en https://...`
    for what a probe wrote as `shop: connection refused on https://...`; any other subject
    as it is."""
    if ticket.source is not Source.PROBE or not ticket.failure_class or not ticket.site:
        return ticket.subject
    try:
        english = SUBJECT_WORDS.get(FailureClass(ticket.failure_class))
    except ValueError:
        return ticket.subject
    prefix = f"{ticket.site}: {english}"
    if english is None or not ticket.subject.startswith(prefix):
        return ticket.subject
    rest = ticket.subject[len(prefix) :]
    if rest.startswith((" on http://", " on https://")):  # what `subject_for` writes
        rest = t("subject.on", url=rest.removeprefix(" on "))
    return f"{ticket.site}: {t(f'subject.{ticket.failure_class}', english)}{rest}"


__all__ = ["class_label", "shown_subject"]
