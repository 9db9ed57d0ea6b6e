"""Mail the desk sends about a case: acknowledgements with the promised response time, and
agents' replies, queued in the outbox (`ronda.outbox`) in the transaction of the change
they belong to; the sender worker hands them to the configured SMTP relay.

Every message carries the case tag in its subject and a Message-ID the mail log keeps, and
sets In-Reply-To / References, so the customer's answer threads onto the case whichever of
the two it keeps. Acknowledgements are automatic responses in the sense of RFC 3834: marked
`Auto-Submitted: auto-replied` and sent with a null envelope sender, so that another robot
neither answers nor bounces them back into a loop.

Both go to the case's requester (the From address of its first message; for a probe case,
the site's customer contact), never to a Reply-To: the address the agent sees on the case
is the only one the desk writes to. What they repeat of the sender's own text (the subject,
the name) is an `excerpt`: bounded, with controls and bidi overrides taken out, so the desk
never relays spam or terminal escapes.
"""

from __future__ import annotations

from datetime import datetime
from email.message import Message
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ronda.config import MailSettings
from ronda.config.values import parse_hostport
from ronda.intake.parse import SUBJECT_CAP, ParsedMail
from ronda.intake.thread_match import bare_subject, tagged_subject
from ronda.model import Ticket
from ronda.outbox import compose_mail, excerpt, message_text, queue_mail
from ronda.store import Store
from ronda.tickets import Desk, StaleTicket, TicketError

ACK_SUBJECT_EXCERPT = 60  # characters of the sender's subject an acknowledgement repeats
NAME_EXCERPT = 40  # characters of the sender's display name a message repeats

_PRIORITY_NAMES = {
    "es": {"low": "baja", "medium": "media", "high": "alta"},
    "en": {"low": "low", "medium": "medium", "high": "high"},
}


class MailError(Exception):
    """A message cannot be queued for the relay (there is none); the text says why."""


def _lang(lang: str | None) -> str:
    return "es" if (lang or "").lower().startswith("es") else "en"


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
    return compose_mail(
        sender=("", settings.desk_address),
        to=(name, ticket.requester),
        subject=tagged_subject(ticket.case_number, subject),
        body=ack_text(ticket, name=name, timezone=timezone, lang=lang),
        in_reply_to=mail.message_id,
        references=[*mail.references, mail.message_id],
        now=now,
        automatic=True,  # RFC 3834: robots must not answer this
    )


def queue_ack(store: Store, ticket: Ticket, msg: Message, *, now: datetime) -> bool:
    """Queue the acknowledgement of `ticket` (one per case: a second one is ignored), with
    the null envelope sender RFC 3834 asks of automatic replies."""
    return queue_mail(
        store,
        msg,
        key=f"ack:{ticket.id}",
        kind="ack",
        to=ticket.requester or "",
        ticket_id=ticket.id,
        envelope_from="",
        now=now,
    )


def reply_text(ticket: Ticket, body: str, *, lang: str, signature: str | None = None) -> str:
    """An agent's reply as mailed: their text, their signature (`[[agents]] signature`, or
    their name), and how to answer on the case."""
    case = ticket.case_number
    footer = (
        f"Caso {case}: responda a este correo conservando [{case}] en el asunto."
        if _lang(lang) == "es"
        else f"Case {case}: reply to this e-mail and keep [{case}] in the subject."
    )
    signed = f"{signature.strip()}\n\n" if signature and signature.strip() else ""
    return f"{body.rstrip()}\n\n-- \n{signed}{footer}\n"


def send_reply(
    desk: Desk,
    ticket_ref: int | str,
    agent: str,
    body: str,
    *,
    settings: MailSettings,
    lang: str = "en",
    version: int | None = None,
    signature: str | None = None,
) -> Ticket:
    """Record an agent's reply as a response (the first one stops the SLA clock) and queue
    it for the case's requester, in one transaction: the reply is never recorded without
    its mail, nor mailed without being recorded. The sender worker delivers it; until the
    relay takes it the outbox shows it queued. A stale `version` is refused before anything
    is written; without a relay (`MailError`) nothing is. `signature` closes the mail
    (after the agent's text; the recorded reply is the text alone)."""
    if not settings.relay:
        raise MailError('no mail relay configured ([mail] relay = "host:port")')
    if not body.strip():
        raise TicketError("a reply needs a text")
    with desk.transaction():
        ticket = desk.get(ticket_ref)
        if version is not None and ticket.version != version:
            raise StaleTicket(ticket, version)
        # The requester the agent sees on the case; a Reply-To of the first message is not
        # used.
        to = ticket.requester
        if not to or "@" not in to:
            raise TicketError(f"{ticket.case_number} has no requester e-mail address to reply to")
        thread = desk.store.mail.thread(ticket.id)
        incoming = [m for m in thread if m.direction == "in"]
        in_reply_to = (incoming or thread)[-1].message_id if thread else None
        now = desk.clock()
        msg = compose_mail(
            sender=(agent, settings.desk_address),
            to=("", to),
            subject=tagged_subject(ticket.case_number, excerpt(ticket.subject, SUBJECT_CAP)),
            body=reply_text(ticket, body, lang=lang, signature=signature),
            in_reply_to=in_reply_to,
            references=[m.message_id for m in thread],
            now=now,
        )
        queue_mail(
            desk.store,
            msg,
            key=f"reply:{msg['Message-ID']}",
            kind="reply",
            to=to,
            ticket_id=ticket.id,
            envelope_from=settings.desk_address,
            now=now,
        )
        return desk.respond(ticket.id, agent, body, version)


__all__ = [
    "MailError",
    "ack_text",
    "compose_ack",
    "excerpt",
    "format_limit",
    "message_text",
    "parse_hostport",
    "queue_ack",
    "reply_text",
    "send_reply",
]
