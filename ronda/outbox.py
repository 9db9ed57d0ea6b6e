"""The outbox, from the side of whoever has something to send: every message Ronda sends
(acknowledgements, agents' replies, customer notices, agent notifications) is composed here
and queued in the store, inside the transaction of the ticket change that caused it
(`Desk.transaction()`); a sender worker delivers it later, with retries.

Mail is kept exactly as it will be sent (RFC 5322 bytes with CRLF line ends), Message-ID
included: a retry, or a second delivery after a crash, sends the same bytes, so a
duplicate is recognisable as one. Its Message-ID also goes into the mail log at once, so a
customer's answer threads onto the case even before the relay has taken the message.

What a message repeats of outside text (a sender's subject, a site's name or error) is an
`excerpt`: one bounded line without controls, bidi overrides or invisible characters.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from email.charset import QP, Charset
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

from ronda.store import Store
from ronda.store.outbox import NewMessage

MAX_REFERENCES = 20  # References kept on a reply: the root and the latest ones

# Line and paragraph breaks of any kind become spaces; other controls (C0, C1 such as
# U+009B, the CSI of terminals), bidi overrides and isolates, and invisible joiners go.
_BREAKS = re.compile("[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]")
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP  # readable in any mail source view, 7-bit safe
_WIRE = compat32.clone(linesep="\r\n")  # SMTP's line ends, stored as they are sent


def excerpt(text: str, limit: int) -> str:
    """`text` as one plain line of at most `limit` characters (an ellipsis marks a cut),
    without controls, bidi overrides or invisible characters."""
    line = " ".join(_INVISIBLE.sub("", _BREAKS.sub(" ", text or "")).split())
    if len(line) <= limit:
        return line
    return line[: max(0, limit - 1)].rstrip() + "…"


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"


def _header(text: str) -> str | Header:
    """Encode only from the first non-ASCII word on, so a case tag stays plain text for
    filters that read the raw subject."""
    if text.isascii():
        return text
    words = text.split(" ")
    cut = next(i for i, word in enumerate(words) if not word.isascii())
    header = Header()
    if cut:
        header.append(" ".join(words[:cut]), "us-ascii")
    header.append(" ".join(words[cut:]), _UTF8)
    return header


def compose_mail(
    *,
    sender: tuple[str, str],
    to: tuple[str, str],
    subject: str,
    body: str,
    now: datetime,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    automatic: bool = False,
) -> Message:
    """A text/plain message. Built with the compat32 classes: the `email.policy.default`
    header registry costs milliseconds per message, a third of an ack's whole cost.
    `automatic`: an automatic message in the sense of RFC 3834, which robots must not
    answer (acknowledgements, notices, notifications)."""
    msg = MIMEText(body, "plain", _UTF8)
    msg["From"] = formataddr(sender, "utf-8")
    msg["To"] = formataddr(to, "utf-8")
    msg["Subject"] = _header(subject)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid("ronda", domain=_domain(sender[1]))
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        # The root and the latest: RFC 5322 lets a long thread trim the middle.
        if len(references) > MAX_REFERENCES:
            references = references[:1] + references[-(MAX_REFERENCES - 1) :]
        msg["References"] = " ".join(references)
    if automatic:
        msg["Auto-Submitted"] = "auto-replied" if in_reply_to else "auto-generated"
        msg["X-Auto-Response-Suppress"] = "All"  # the same, in Exchange's words
    return msg


def message_text(msg: Message) -> str:
    """The text of a message built here."""
    payload = msg.get_payload(decode=True)
    return payload.decode("utf-8") if isinstance(payload, bytes) else str(payload)


def wire_bytes(msg: Message) -> bytes:
    """The message as the relay receives it (CRLF line ends)."""
    out = io.BytesIO()
    BytesGenerator(out, policy=_WIRE).flatten(msg)
    return out.getvalue()


def queue_mail(
    store: Store,
    msg: Message,
    *,
    key: str,
    kind: str,
    to: str,
    ticket_id: int | None,
    envelope_from: str,
    now: datetime,
    thread: bool = True,
) -> bool:
    """Queue `msg` for `to` and log its Message-ID, in the caller's transaction when there
    is one. `envelope_from` "" is the null sender (RFC 3834's for automatic replies).
    `thread`: an answer to it belongs on the case (not so for an agent's notification: the
    agent answers in the TUI). False when `key` was queued before: nothing is written then."""
    message_id = str(msg["Message-ID"])
    subject = str(msg["Subject"])
    with store.write():
        queued = store.outbox.enqueue(
            NewMessage(
                key=key,
                kind=kind,
                channel="mail",
                recipient=to,
                body=wire_bytes(msg),
                ticket_id=ticket_id,
                envelope_from=envelope_from,
                subject=subject,
                message_id=message_id,
            ),
            now=now.timestamp(),
        )
        if queued and thread and ticket_id is not None:
            store.mail.record_outgoing(
                message_id,
                ticket_id=ticket_id,
                kind=kind,
                from_addr=envelope_from or _from_address(msg),
                to_addr=to,
                subject=subject,
                now=now.timestamp(),
            )
    return queued


def _from_address(msg: Message) -> str:
    return parseaddr(str(msg["From"]))[1]


def queue_notification(
    store: Store,
    *,
    key: str,
    agent: str,
    target: str,
    title: str,
    body: str,
    ticket_id: int | None,
    now: datetime,
) -> bool:
    """Queue a notification for one of `agent`'s Apprise URLs (`target` names which, never
    the URL itself: secrets stay in the config and the environment)."""
    return store.outbox.enqueue(
        NewMessage(
            key=key,
            kind="notification",
            channel="apprise",
            recipient=agent,
            target=target,
            body=body.encode("utf-8"),
            ticket_id=ticket_id,
            subject=title,
        ),
        now=now.timestamp(),
    )


__all__ = [
    "MAX_REFERENCES",
    "compose_mail",
    "excerpt",
    "message_text",
    "queue_mail",
    "queue_notification",
    "wire_bytes",
]
