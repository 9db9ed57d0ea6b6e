"""The intake: one received message -> a new case or an event on an existing one, and the
acknowledgement to send back (if any).

Shared by the SMTP server and the Maildir import. A message is claimed in the mail log by
its Message-ID before anything is stored, so a duplicated delivery makes one ticket, and the
claim is given back if storing fails, so the sender's retry is not lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import Message

from ronda.config import Config
from ronda.intake.parse import TRIAGE_TEXT_CAP, ParsedMail, parse_message, strip_quoted
from ronda.intake.replies import MailError, compose_ack, deliver, message_text
from ronda.intake.thread_match import find_case
from ronda.intake.triage import (
    Rule,
    Triage,
    impact_for,
    match_customer,
    match_site,
    rules_for,
    triage,
)
from ronda.model import Source, Status, Ticket
from ronda.sla import SlaPolicy
from ronda.store import Store
from ronda.tickets import Desk, utcnow

log = logging.getLogger("ronda.mail")

ACTOR = "mail"
ACK_LIMIT_PER_HOUR = 10  # acknowledgements to one address: a loop with a robot stops here
NO_SUBJECT = "(no subject)"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one message.

    action: opened (new case), followup (event on a case), duplicate (already stored),
    dropped (the desk's own mail), busy (being stored by another worker: retry later).
    """

    action: str
    mail: ParsedMail
    ticket: Ticket | None = None
    triage: Triage | None = None
    ack: Message | None = None  # to send with `Intake.send_ack`
    no_ack_reason: str | None = None
    reopened: bool = False


def _attachment_note(mail: ParsedMail) -> str:
    if not mail.attachments:
        return ""
    names = ", ".join(
        f"{a.name or a.content_type} ({max(1, a.size // 1024)} KiB)" for a in mail.attachments
    )
    return f"\n\n[attachments not stored: {names}]"


class Intake:
    """Turns raw messages into tickets and events for one desk and config."""

    def __init__(self, desk: Desk, config: Config, *, rules: tuple[Rule, ...] | None = None):
        self.desk = desk
        self.config = config
        self.settings = config.mail
        self.log = desk.store.mail
        self.rules = rules if rules is not None else rules_for(getattr(config.mail, "rules", ()))
        self.desk_address = config.mail.desk_address.strip().lower()
        # One message at a time per process: claims already serialize processes, this keeps
        # a process's own workers from queueing on SQLite's write lock.
        self._lock = threading.Lock()

    @classmethod
    def from_config(
        cls, config: Config, store: Store, clock: Callable[[], datetime] = utcnow
    ) -> Intake:
        return cls(Desk(store, SlaPolicy.from_config(config), clock), config)

    # ---- receiving ------------------------------------------------------------------

    def ingest(self, raw: bytes, envelope_from: str | None = None, *, ack: bool = True) -> Outcome:
        """Store one message. `envelope_from` is the SMTP MAIL FROM ("" for a bounce, None
        when unknown, as in a Maildir). The acknowledgement, if due, is composed and logged
        but not sent: call `send_ack` (the server does it off the receiving path)."""
        mail = parse_message(raw)
        envelope = (envelope_from or "").strip().lower()
        sender = mail.from_addr or (envelope if "@" in envelope else None)
        now = self.desk.clock()
        if self.desk_address in (mail.from_addr, envelope):
            # The desk's own mail come back (a misrouted ack, a loop): never a ticket.
            self.log.record_dropped(
                mail.message_id,
                now=now.timestamp(),
                from_addr=sender,
                subject=mail.subject,
                size=mail.size,
            )
            return Outcome("dropped", mail, no_ack_reason="from the desk's own address")
        with self._lock:
            claim = self.log.claim(
                mail.message_id,
                now=now.timestamp(),
                from_addr=sender,
                to_addr=", ".join(mail.to)[:500] or None,
                subject=mail.subject,
                size=mail.size,
            )
            if claim == "duplicate":
                existing = self.log.get(mail.message_id)
                ticket = (
                    self.desk.get(existing.ticket_id) if existing and existing.ticket_id else None
                )
                return Outcome("duplicate", mail, ticket=ticket, no_ack_reason="duplicate")
            if claim == "own":
                return Outcome("dropped", mail, no_ack_reason="the desk's own message")
            if claim == "busy":
                return Outcome("busy", mail, no_ack_reason="being stored by another worker")
            try:
                return self._store(mail, sender, envelope_from, now, ack, claim == "reclaimed")
            except BaseException:
                self.log.release(mail.message_id)
                raise

    def _store(
        self,
        mail: ParsedMail,
        sender: str | None,
        envelope_from: str | None,
        now: datetime,
        ack: bool,
        reclaimed: bool,
    ) -> Outcome:
        automated = mail.no_reply_reason()
        ticket_id = find_case(self.desk, self.log, mail)
        if ticket_id is not None:
            ticket, reopened = self._follow_up(ticket_id, mail, sender, automated is not None)
            self.log.finish(mail.message_id, "followup", ticket.id)
            return Outcome(
                "followup", mail, ticket=ticket, no_ack_reason="follow-up", reopened=reopened
            )
        if reclaimed:
            # A worker died after opening the ticket but before finishing the claim.
            found = self.log.opened_ticket(mail.message_id)
            if found is not None:
                self.log.finish(mail.message_id, "opened", found)
                return Outcome("duplicate", mail, ticket=self.desk.get(found))
        reason = self._no_ack_reason(mail, sender, envelope_from, now) if ack else "not asked"
        ticket, suggestion = self._open(mail, sender, reason)
        self.log.finish(mail.message_id, "opened", ticket.id)
        message = None
        if reason is None:
            try:
                message = self._compose_ack(ticket, mail, sender, now)
            except Exception as exc:  # noqa: BLE001 - the case is stored; only the ack is lost
                log.exception("acknowledgement of %s not composed", ticket.case_number)
                reason = f"acknowledgement not composed: {exc}"
                self.desk.record(ticket.id, ACTOR, "ack_failed", reason)
        return Outcome("opened", mail, ticket, suggestion, message, reason)

    def _compose_ack(
        self, ticket: Ticket, mail: ParsedMail, sender: str | None, now: datetime
    ) -> Message:
        message = compose_ack(
            ticket,
            mail,
            self.settings,
            timezone=self.config.calendar.timezone,
            lang=self.config.lang,
            now=now,
        )
        # Logged before it is sent: the customer's answer to it threads at once.
        self.log.record_outgoing(
            message["Message-ID"],
            ticket_id=ticket.id,
            kind="ack",
            from_addr=self.settings.desk_address,
            to_addr=mail.reply_to or sender or "",
            subject=str(message["Subject"]),
            now=now.timestamp(),
        )
        return message

    def _no_ack_reason(
        self, mail: ParsedMail, sender: str | None, envelope_from: str | None, now: datetime
    ) -> str | None:
        if not self.settings.relay:
            return "no relay configured"
        if envelope_from is not None and envelope_from.strip() in ("", "<>"):
            return "null envelope sender (a bounce)"
        reason = mail.no_reply_reason()
        if reason is not None:
            return reason
        to = mail.reply_to or sender
        if not to:
            return "no sender address"
        if self.log.acks_since(to, now.timestamp() - 3600) >= ACK_LIMIT_PER_HOUR:
            return f"{ACK_LIMIT_PER_HOUR} acknowledgements to {to} in the last hour"
        return None

    def _open(
        self, mail: ParsedMail, sender: str | None, no_ack: str | None
    ) -> tuple[Ticket, Triage]:
        customer = match_customer(self.config.customers, sender)
        site = match_site(self.config.sites, customer, mail.subject, mail.body)
        suggestion = triage(mail.subject, strip_quoted(mail.body)[:TRIAGE_TEXT_CAP], self.rules)
        evidence = {
            "triage": suggestion.as_evidence(),
            "unmatched_sender": customer is None,
            "mail": {
                "message_id": mail.message_id,
                "message_id_synthetic": mail.message_id_synthetic,
                "from": sender,
                "from_name": mail.from_name,
                "reply_to": mail.reply_to,
                "to": list(mail.to),
                "date": mail.date.isoformat() if mail.date else None,
                "size": mail.size,
                "attachments": [
                    {"name": a.name, "type": a.content_type, "size": a.size}
                    for a in mail.attachments
                ],
                "html_only": mail.html_only,
                "body_truncated": mail.body_truncated,
                "defects": list(mail.defects),
                "no_ack": no_ack,
            },
        }
        ticket = self.desk.open_ticket(
            source=Source.EMAIL,
            subject=mail.subject.strip() or NO_SUBJECT,
            priority=suggestion.priority,
            impact=impact_for(site),
            actor=ACTOR,
            category=suggestion.category,
            site=site.name if site else None,
            customer=customer.name if customer else None,
            requester=sender,
            evidence=evidence,
            billable=suggestion.billable,
            body=(mail.body or "(empty message)") + _attachment_note(mail),
        )
        return ticket, suggestion

    def _follow_up(
        self, ticket_id: int, mail: ParsedMail, sender: str | None, automated: bool
    ) -> tuple[Ticket, bool]:
        ticket = self.desk.get(ticket_id)
        body = (mail.body or "(empty message)") + _attachment_note(mail)
        if sender and sender != (ticket.requester or "").lower():
            body = f"From: {sender}\n\n{body}"
        ticket = self.desk.record(ticket.id, ACTOR, "email_received", body)
        if automated:
            # An out-of-office answer to the desk's reply must not reopen or resume a case.
            return ticket, False
        if ticket.status in (Status.RESOLVED, Status.CLOSED):
            reason = "the customer wrote again by e-mail"
            return self.desk.reopen(ticket.id, ACTOR, reason=reason), True
        if ticket.status == Status.PENDING_CUSTOMER:
            # The customer answered: the paused SLA clock runs again.
            reason = "the customer answered by e-mail"
            return self.desk.set_status(ticket.id, Status.OPEN, ACTOR, reason=reason), False
        return ticket, False

    # ---- acknowledging --------------------------------------------------------------

    def send_ack(self, outcome: Outcome) -> bool:
        """Send the outcome's acknowledgement through the relay (null envelope sender, as
        RFC 3834 asks) and note it on the case; a relay failure is noted, not raised."""
        if outcome.ack is None or outcome.ticket is None:
            return False
        message = outcome.ack
        try:
            deliver(self.settings.relay, message, envelope_from="")
        except MailError as exc:
            log.warning("acknowledgement of %s not sent: %s", outcome.ticket.case_number, exc)
            self.desk.record(outcome.ticket.id, ACTOR, "ack_failed", str(exc))
            return False
        self.desk.record(
            outcome.ticket.id,
            ACTOR,
            "ack_sent",
            f"To: {message['To']}\nSubject: {str(message['Subject'])}\n\n{message_text(message)}",
        )
        return True

    def process(self, raw: bytes, envelope_from: str | None = None, *, ack: bool = True) -> Outcome:
        """`ingest` then `send_ack`, in the caller's thread."""
        outcome = self.ingest(raw, envelope_from, ack=ack)
        if outcome.ack is not None:
            self.send_ack(outcome)
        return outcome


__all__ = ["ACK_LIMIT_PER_HOUR", "Intake", "Outcome"]
