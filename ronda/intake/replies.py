"""Mail the desk sends: acknowledgements with the promised response time, and agents'
replies, through the configured SMTP relay.

Every message carries the case tag in its subject and a Message-ID the mail log keeps, and
sets In-Reply-To / References, so the customer's answer threads onto the case whichever of
the two it keeps. Acknowledgements are automatic responses in the sense of RFC 3834: marked
`Auto-Submitted: auto-replied` and sent with a null envelope sender, so that another robot
neither answers nor bounces them back into a loop.

Both go to the case's requester (the From address of its first message), never to a
Reply-To: the address the agent sees on the case is the only one the desk writes to. What
they repeat of the sender's own text (the subject, the name) is an `excerpt`: bounded, with
controls and bidi overrides taken out, so the desk never relays spam or terminal escapes.
"""

from __future__ import annotations

import re
import smtplib
from datetime import datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, make_msgid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ronda.config import MailSettings
from ronda.intake.parse import SUBJECT_CAP, ParsedMail
from ronda.intake.thread_match import bare_subject, tagged_subject
from ronda.model import Ticket
from ronda.tickets import Desk, StaleTicket, TicketError

SEND_TIMEOUT = 10.0  # seconds for the whole relay conversation's socket operations
MAX_REFERENCES = 20  # References kept on a reply: the root and the latest ones
ACK_SUBJECT_EXCERPT = 60  # characters of the sender's subject an acknowledgement repeats
NAME_EXCERPT = 40  # characters of the sender's display name a message repeats

# Line and paragraph breaks of any kind become spaces; other controls (C0, C1 such as
# U+009B, the CSI of terminals), bidi overrides and isolates, and invisible joiners go.
_BREAKS = re.compile("[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]")
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)

_PRIORITY_NAMES = {
    "es": {"low": "baja", "medium": "media", "high": "alta"},
    "en": {"low": "low", "medium": "medium", "high": "high"},
}


class MailError(Exception):
    """A message could not be handed to the relay; the text says which relay and why."""


def excerpt(text: str, limit: int) -> str:
    """`text` as one plain line of at most `limit` characters (an ellipsis marks a cut),
    without controls, bidi overrides or invisible characters."""
    line = " ".join(_INVISIBLE.sub("", _BREAKS.sub(" ", text or "")).split())
    if len(line) <= limit:
        return line
    return line[: max(0, limit - 1)].rstrip() + "…"


def parse_hostport(text: str, default_port: int) -> tuple[str, int]:
    """`host:port`, `[::1]:2525` or `host` -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    if not host:
        raise ValueError(f"{text!r}: expected host:port")
    try:
        number = int(port) if port else default_port
    except ValueError:
        raise ValueError(f"{text!r}: port {port!r} is not a number") from None
    if not 0 <= number <= 65535:
        raise ValueError(f"{text!r}: port {number} out of range")
    return host, number


def _lang(lang: str | None) -> str:
    return "es" if (lang or "").lower().startswith("es") else "en"


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"


def format_limit(at: datetime, timezone: str) -> str:
    """`2026-05-12 14:00 (America/Bogota)`: the deadline in the agency's own time zone."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone, timezone = ZoneInfo("UTC"), "UTC"
    return f"{at.astimezone(zone):%Y-%m-%d %H:%M} ({timezone})"


def ack_text(ticket: Ticket, *, name: str, timezone: str, lang: str) -> str:
    """The acknowledgement's body: case number, priority and the promised answer time."""
    lang = _lang(lang)
    case = ticket.case_number
    priority = _PRIORITY_NAMES[lang][str(ticket.priority)]
    limit = format_limit(ticket.sla_limit_at, timezone) if ticket.sla_limit_at else None
    if lang == "es":
        lines = [
            f"Hola{' ' + name if name else ''},",
            "",
            f"Recibimos su mensaje y abrimos el caso {case} (prioridad {priority}).",
            f"Le responderemos a más tardar el {limit}." if limit else "",
            "",
            f"Para agregar información responda a este correo conservando [{case}] en el asunto.",
            f"Si necesita asistencia telefónica, tenga a mano el número de caso {case}.",
            "",
            "Este es un mensaje automático.",
        ]
    else:
        lines = [
            f"Hello{' ' + name if name else ''},",
            "",
            f"We have received your message and opened case {case} ({priority} priority).",
            f"We will answer by {limit}." if limit else "",
            "",
            f"To add information, reply to this e-mail and keep [{case}] in the subject.",
            f"For phone support, have the case number {case} at hand.",
            "",
            "This is an automatic message.",
        ]
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"


_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP  # readable in any mail source view, 7-bit safe


def _header(text: str) -> str | Header:
    """Encode only from the first non-ASCII word on, so the case tag stays plain text for
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


def _message(
    *,
    sender: tuple[str, str],
    to: tuple[str, str],
    subject: str,
    body: str,
    in_reply_to: str | None,
    references: list[str],
    now: datetime,
) -> Message:
    """A text/plain message. Built with the compat32 classes: the `email.policy.default`
    header registry costs milliseconds per message, a third of an ack's whole cost."""
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
    return msg


def message_text(msg: Message) -> str:
    """The text of a message built here."""
    payload = msg.get_payload(decode=True)
    return payload.decode("utf-8") if isinstance(payload, bytes) else str(payload)


def compose_ack(
    ticket: Ticket,
    mail: ParsedMail,
    settings: MailSettings,
    *,
    timezone: str,
    lang: str,
    now: datetime,
) -> Message:
    """The acknowledgement of a new case, to its requester (the sender of `mail`; a
    Reply-To is not followed). Repeats only an excerpt of the sender's subject, and greets
    by name only a known customer's sender (a stranger's name could carry anything)."""
    if not ticket.requester or "@" not in ticket.requester:
        raise TicketError(f"{ticket.case_number} has no requester e-mail address")
    name = excerpt(mail.from_name, NAME_EXCERPT) if ticket.customer else ""
    subject = excerpt(bare_subject(mail.subject or ticket.subject), ACK_SUBJECT_EXCERPT)
    msg = _message(
        sender=("", settings.desk_address),
        to=(name, ticket.requester),
        subject=tagged_subject(ticket.case_number, subject),
        body=ack_text(ticket, name=name, timezone=timezone, lang=lang),
        in_reply_to=mail.message_id,
        references=[*mail.references, mail.message_id],
        now=now,
    )
    msg["Auto-Submitted"] = "auto-replied"  # RFC 3834: robots must not answer this
    msg["X-Auto-Response-Suppress"] = "All"  # the same, in Exchange's words
    return msg


def reply_text(ticket: Ticket, body: str, *, lang: str) -> str:
    case = ticket.case_number
    footer = (
        f"Caso {case}: responda a este correo conservando [{case}] en el asunto."
        if _lang(lang) == "es"
        else f"Case {case}: reply to this e-mail and keep [{case}] in the subject."
    )
    return f"{body.rstrip()}\n\n-- \n{footer}\n"


def deliver(relay: str | None, msg: Message, *, envelope_from: str) -> None:
    """Hand `msg` to the relay (one SMTP conversation). Raises `MailError`."""
    if not relay:
        raise MailError('no mail relay configured (mail.relay = "host:port")')
    try:
        host, port = parse_hostport(relay, 25)
    except ValueError as exc:
        raise MailError(f"mail.relay: {exc}") from None
    to = msg["To"]
    try:
        with smtplib.SMTP(host, port, timeout=SEND_TIMEOUT) as smtp:
            refused = smtp.send_message(msg, from_addr=envelope_from)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"relay {host}:{port} did not take the message to {to}: {exc}") from exc
    if refused:
        raise MailError(f"relay {host}:{port} refused {', '.join(refused)}")


def send_reply(
    desk: Desk,
    ticket_ref: int | str,
    agent: str,
    body: str,
    *,
    settings: MailSettings,
    lang: str = "en",
    version: int | None = None,
) -> Ticket:
    """Mail an agent's reply to the case's requester through the relay and record it as a
    response (the first one stops the SLA clock). Nothing is recorded if the relay refuses
    (`MailError`); a stale `version` is refused before anything is sent."""
    ticket = desk.get(ticket_ref)
    if version is not None and ticket.version != version:
        raise StaleTicket(ticket, version)
    if not body.strip():
        raise TicketError("a reply needs a text")
    # The requester the agent sees on the case; a Reply-To of the first message is not used.
    to = ticket.requester
    if not to or "@" not in to:
        raise TicketError(f"{ticket.case_number} has no requester e-mail address to reply to")
    log = desk.store.mail
    thread = log.thread(ticket.id)
    incoming = [m for m in thread if m.direction == "in"]
    in_reply_to = (incoming or thread)[-1].message_id if thread else None
    now = desk.clock()
    msg = _message(
        sender=(agent, settings.desk_address),
        to=("", to),
        subject=tagged_subject(ticket.case_number, excerpt(ticket.subject, SUBJECT_CAP)),
        body=reply_text(ticket, body, lang=lang),
        in_reply_to=in_reply_to,
        references=[m.message_id for m in thread],
        now=now,
    )
    deliver(settings.relay, msg, envelope_from=settings.desk_address)
    log.record_outgoing(
        msg["Message-ID"],
        ticket_id=ticket.id,
        kind="reply",
        from_addr=settings.desk_address,
        to_addr=to,
        subject=str(msg["Subject"]),
        now=now.timestamp(),
    )
    # No version here: it was checked above, and the customer already has the reply.
    return desk.respond(ticket.id, agent, body)


__all__ = [
    "MailError",
    "ack_text",
    "compose_ack",
    "deliver",
    "excerpt",
    "format_limit",
    "message_text",
    "parse_hostport",
    "reply_text",
    "send_reply",
]
