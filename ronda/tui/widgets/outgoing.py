"""The messages the desk sent or queued on a case, one line each: what, to whom, and where
it stands ("sent" only once the relay or the channel took it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from rich.text import Text

from ronda.store.outbox import OutboxMessage
from ronda.tui.data import format_when

STATE_STYLES = {"queued": "yellow", "sending": "yellow", "sent": "green", "failed": "bold red"}


def _when(epoch: float | None) -> str:
    return format_when(datetime.fromtimestamp(epoch, UTC)) if epoch is not None else "-"


def outgoing_line(message: OutboxMessage, t: Callable[..., str]) -> Text:
    line = Text(no_wrap=False)
    line.append(_when(message.created_at), style="dim")
    line.append(" ")
    line.append(t(f"outbox.kind.{message.kind}", default=message.kind), style="bold")
    line.append(" → ")
    line.append(message.recipient)
    if message.channel == "apprise" and message.target:
        line.append(f" ({message.target.partition(':')[0]})")
    line.append(": ")
    line.append(t(f"outbox.state.{message.state}"), style=STATE_STYLES.get(message.state, ""))
    if message.state == "sent":
        line.append(f" {_when(message.sent_at)}")
    elif message.state == "queued" and message.attempts:
        line.append(f", {t('outbox.next_try', when=_when(message.due_at))}")
    if message.last_error and message.state != "sent":
        line.append(" — ")
        line.append(message.last_error, style="red")
    return line


def outgoing_text(messages: Iterable[OutboxMessage], t: Callable[..., str]) -> Text:
    return Text("\n").join(outgoing_line(message, t) for message in messages)


__all__ = ["outgoing_line", "outgoing_text"]
