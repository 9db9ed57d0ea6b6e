"""The intake: one received message -> a new case, an event on an existing one, or a count on
a flood's ticket, and the acknowledgement to send back (if any).

Shared by the SMTP server and the Maildir import. A message is claimed in the mail log by
its Message-ID before anything is stored, so a duplicated delivery makes one ticket, and the
claim is given back if storing fails, so the sender's retry is not lost.

The story of one message: authenticate the sender (`trust`), find the case it names
(`thread_match`) and add to it only if the sender may (`trust.may_add_to`) - otherwise it
opens a new case linked to that one; past a limit of new cases (`limits`) it joins the
flood's one ticket instead; an acknowledgement goes to the requester only, within limits.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import Message

from ronda.config import Config
from ronda.intake.limits import (
    Scope,
    ack_limit,
    case_limit,
    first_over,
    flood_subject,
    is_milestone,
    scopes,
    window_text,
)
from ronda.intake.parse import TRIAGE_TEXT_CAP, ParsedMail, parse_message, strip_quoted
from ronda.intake.replies import compose_ack, excerpt, queue_ack
from ronda.intake.thread_match import bare_subject, find_case
from ronda.intake.triage import (
    Rule,
    Triage,
    impact_for,
    match_customer,
    match_site,
    rules_for,
    triage,
)
from ronda.intake.trust import AuthVerdict, authenticate, may_add_to
from ronda.model import Impact, Priority, Source, Status, Ticket
from ronda.sla import SlaPolicy
from ronda.store import Store
from ronda.tickets import Desk, TicketError, utcnow

log = logging.getLogger("ronda.mail")

ACTOR = "mail"
NO_SUBJECT = "(no subject)"
FLOOD_DETAIL = 20  # first messages of a flood noted one by one on its ticket
FLOOD_BODY_EXCERPT = 500  # characters of each of those messages' bodies
FLOOD_SUBJECT_EXCERPT = 120  # characters of a flood message's subject on its ticket


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one message.

    action: opened (new case), followup (event on a case), flooded (counted on the ticket of
    a flood: past a limit of new cases), duplicate (already stored), dropped (the desk's own
    mail), busy (being stored by another worker: retry later).
    """

    action: str
    mail: ParsedMail
    ticket: Ticket | None = None
    triage: Triage | None = None
    ack: Message | None = None  # the acknowledgement queued in the outbox
    no_ack_reason: str | None = None
    reopened: bool = False
    about: Ticket | None = None  # the case it named but may not add to (now its parent)


def _notes(mail: ParsedMail) -> str:
    """What the stored body lacks: attachments, and parts the structure limits left out."""
    text = ""
    if mail.attachments:
        names = ", ".join(
            f"{a.name or a.content_type} ({max(1, a.size // 1024)} KiB)" for a in mail.attachments
        )
        text += f"\n\n[attachments not stored: {names}]"
    if mail.cut:
        text += f"\n\n[message structure not fully read: {'; '.join(mail.cut)}]"
    return text


def _stored_body(mail: ParsedMail) -> str:
    return (mail.body or "(empty message)") + _notes(mail)


class Intake:
    """Turns raw messages into tickets and events for one desk and config."""

    def __init__(self, desk: Desk, config: Config, *, rules: tuple[Rule, ...] | None = None):
        self.desk = desk
        self.config = config
        self.settings = config.mail
        self.log = desk.store.mail
        self.rules = rules if rules is not None else rules_for(getattr(config.mail, "rules", ()))
        self.desk_address = config.mail.desk_address.strip().lower()
        # Called after an acknowledgement was queued (the service wakes its sender).
        self.on_queued: Callable[[], object] | None = None
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
        when unknown, as in a Maildir). The acknowledgement, if due, is queued in the outbox
        with the case; a sender worker delivers it."""
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
        verdict = authenticate(mail, self.settings.authserv_id)
        about: Ticket | None = None
        named = find_case(self.desk, self.log, mail)
        if named is not None:
            ticket = self.desk.get(named.ticket_id)
            if may_add_to(ticket, sender, self.config.customers, verdict):
                ticket, reopened = self._follow_up(ticket, mail, sender, automated is not None)
                self.log.finish(mail.message_id, "followup", ticket.id)
                return Outcome(
                    "followup", mail, ticket=ticket, no_ack_reason="follow-up", reopened=reopened
                )
            # Naming a case is no right to it: a new case, linked, tells the agent.
            about = ticket
        if reclaimed:
            # A worker died after opening the ticket but before finishing the claim.
            found = self.log.opened_ticket(mail.message_id)
            if found is not None:
                self.log.finish(mail.message_id, "opened", found)
                return Outcome("duplicate", mail, ticket=self.desk.get(found))
        over = first_over(
            scopes(sender),
            lambda scope: case_limit(self.settings, scope),
            lambda scope: self._new_cases(scope, now),
        )
        if over is not None:
            return self._flooded(mail, sender, over[0], over[1], now, about)
        reason = (
            self._no_ack_reason(mail, sender, envelope_from, verdict, now) if ack else "not asked"
        )
        # The case, its claim and its acknowledgement commit together: a crash leaves
        # either nothing (the sender's retry is stored afresh) or all three.
        with self.desk.transaction():
            ticket, suggestion = self._open(mail, sender, reason, verdict, about)
            self.log.finish(mail.message_id, "opened", ticket.id)
            message = None
            if reason is None:
                try:
                    message = self._queue_ack(ticket, mail, now)
                except Exception as exc:  # noqa: BLE001 - the case is stored; only the ack is lost
                    log.exception("acknowledgement of %s not composed", ticket.case_number)
                    reason = f"acknowledgement not composed: {exc}"
                    message = None
                    self.desk.record(ticket.id, ACTOR, "ack_failed", reason)
        if message is not None and self.on_queued is not None:
            self.on_queued()
        return Outcome("opened", mail, ticket, suggestion, message, reason, about=about)

    def _since(self, now: datetime) -> float:
        return now.timestamp() - self.settings.limit_window

    def _new_cases(self, scope: Scope, now: datetime) -> int:
        since = self._since(now)
        if scope.kind == "sender":
            return self.log.new_cases_since(since, sender=scope.value)
        if scope.kind == "domain":
            return self.log.new_cases_since(since, domain=scope.value)
        return self.log.new_cases_since(since)

    def _acks(self, scope: Scope, now: datetime) -> int:
        since = self._since(now)
        if scope.kind == "sender":
            return self.log.acks_since(since, to_addr=scope.value)
        if scope.kind == "domain":
            return self.log.acks_since(since, domain=scope.value)
        return self.log.acks_since(since)

    def _queue_ack(self, ticket: Ticket, mail: ParsedMail, now: datetime) -> Message:
        message = compose_ack(
            ticket,
            mail,
            self.settings,
            timezone=self.config.calendar.timezone,
            lang=self.config.lang,
            now=now,
        )
        # Logged as it is queued: the customer's answer to it threads at once.
        queue_ack(self.desk.store, ticket, message, now=now)
        return message

    def _no_ack_reason(
        self,
        mail: ParsedMail,
        sender: str | None,
        envelope_from: str | None,
        verdict: AuthVerdict,
        now: datetime,
    ) -> str | None:
        if not self.settings.relay:
            return "no relay configured"
        if envelope_from is not None and envelope_from.strip() in ("", "<>"):
            return "null envelope sender (a bounce)"
        reason = mail.no_reply_reason()
        if reason is not None:
            return reason
        if not sender:
            return "no sender address"
        if verdict.refuted:
            # An acknowledgement would go to whoever the forger named.
            return f"sender not authenticated: {verdict.detail}"
        over = first_over(
            scopes(sender),
            lambda scope: ack_limit(self.settings, scope),
            lambda scope: self._acks(scope, now),
        )
        if over is not None:
            scope, limit = over
            where = "sent by the desk" if scope.kind == "desk" else f"to {scope.describe()}"
            span = window_text(self.settings.limit_window)
            return f"{limit} acknowledgements {where} in the last {span}"
        return None

    def _open(
        self,
        mail: ParsedMail,
        sender: str | None,
        no_ack: str | None,
        verdict: AuthVerdict,
        about: Ticket | None,
    ) -> tuple[Ticket, Triage]:
        # A refuted sender is nobody's customer: the address is only what the forger wrote.
        customer = None if verdict.refuted else match_customer(self.config.customers, sender)
        site = match_site(self.config.sites, customer, mail.subject, mail.body)
        suggestion = triage(mail.subject, strip_quoted(mail.body)[:TRIAGE_TEXT_CAP], self.rules)
        evidence = {
            "triage": suggestion.as_evidence(),
            "unmatched_sender": customer is None,
            "auth": verdict.as_evidence(),
            "mail": {
                "message_id": mail.message_id,
                "message_id_synthetic": mail.message_id_synthetic,
                "from": sender,
                "from_name": mail.from_name,
                "reply_to": mail.reply_to,  # kept for the agent; never written to
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
        subject = mail.subject.strip()
        body = _stored_body(mail)
        if about is not None:
            evidence["about"] = about.case_number
            # The other case's tag stays off this one's subject: replies thread here.
            subject = bare_subject(subject)
            why = (
                f"the sender is not authenticated ({verdict.detail})"
                if verdict.refuted
                else "the sender is neither its requester nor an address of its customer"
            )
            who = sender or "an unknown sender"
            body = f"{who} says it is about {about.case_number}; not added there: {why}.\n\n{body}"
        ticket = self.desk.open_ticket(
            source=Source.EMAIL,
            subject=subject or NO_SUBJECT,
            priority=suggestion.priority,
            impact=impact_for(site),
            actor=ACTOR,
            category=suggestion.category,
            site=site.name if site else None,
            customer=customer.name if customer else None,
            requester=sender,
            evidence=evidence,
            billable=suggestion.billable,
            body=body,
            parent_id=about.id if about is not None else None,
        )
        return ticket, suggestion

    def _flooded(
        self,
        mail: ParsedMail,
        sender: str | None,
        scope: Scope,
        limit: int,
        now: datetime,
        about: Ticket | None,
    ) -> Outcome:
        """Count the message on its flood's one open ticket (opened by the first): its first
        messages are noted one by one, then at milestones; none is acknowledged."""
        dedupe_key = f"mail-flood:{scope.key}"
        ticket = self.desk.find_open(dedupe_key) or self._open_flood(dedupe_key, scope, limit, now)
        count = self.log.count_flood(ticket.id, scope.key, now=now.timestamp())
        if count <= FLOOD_DETAIL or is_milestone(count):
            flood = {**(ticket.evidence.get("flood") or {}), "messages": count}
            flood["last_at"] = now.isoformat()
            ticket = self.desk.record(
                ticket.id,
                ACTOR,
                "email_flood",
                self._flood_note(mail, sender, count, about),
                evidence={"flood": flood},
            )
        self.log.finish(mail.message_id, "flooded", ticket.id)
        span = window_text(self.settings.limit_window)
        reason = f"flood: over {limit} new cases in {span} from {scope.describe()}"
        return Outcome("flooded", mail, ticket=ticket, no_ack_reason=reason, about=about)

    def _open_flood(self, dedupe_key: str, scope: Scope, limit: int, now: datetime) -> Ticket:
        window = self.settings.limit_window
        subject = flood_subject(scope, limit, window, self.config.lang)
        body = (
            f"More than {limit} messages from {scope.describe()} would have opened a case "
            f"within {window_text(window)}. The next ones are counted here instead, the first "
            f"{FLOOD_DETAIL} noted one by one, and nobody is acknowledged. Resolve this case "
            "when the flood is over: a later one opens a new one."
        )
        try:
            return self.desk.open_ticket(
                source=Source.EMAIL,
                subject=subject,
                priority=Priority.LOW,
                impact=Impact.LOW,
                actor=ACTOR,
                dedupe_key=dedupe_key,
                evidence={
                    "flood": {
                        "scope": scope.kind,
                        "key": scope.key,
                        "limit": limit,
                        "window_seconds": window,
                        "first_at": now.isoformat(),
                        "messages": 0,
                    }
                },
                body=body,
            )
        except TicketError:
            # Another process opened it in between: that one gathers the flood.
            found = self.desk.find_open(dedupe_key)
            if found is None:
                raise
            return found

    @staticmethod
    def _flood_note(mail: ParsedMail, sender: str | None, count: int, about: Ticket | None) -> str:
        subject = excerpt(mail.subject, FLOOD_SUBJECT_EXCERPT) or NO_SUBJECT
        named = f" (says it is about {about.case_number})" if about is not None else ""
        if count > FLOOD_DETAIL:
            return (
                f"{count} messages in this flood so far; the latest from "
                f"{sender or 'an unknown sender'}: {subject}{named}"
            )
        text = excerpt(mail.body, FLOOD_BODY_EXCERPT)
        return (
            f"Message {count} of the flood{named}\nFrom: {sender or '(none)'}\n"
            f"Message-ID: {mail.message_id}\nSubject: {subject}\n\n{text}"
        )

    def _follow_up(
        self, ticket: Ticket, mail: ParsedMail, sender: str | None, automated: bool
    ) -> tuple[Ticket, bool]:
        body = _stored_body(mail)
        first_line = body.lstrip().partition("\n")[0].lower()
        if sender and (
            sender != (ticket.requester or "").lower() or first_line.startswith("from:")
        ):
            # Who wrote it comes first, in the desk's words: a "From:" line of the body
            # itself then cannot pass for it.
            body = f"From: {sender}\n\n{body}"
        if automated:
            # An out-of-office answer to the desk's reply must not reopen or resume a case,
            # nor make a reply due.
            return self.desk.record(ticket.id, ACTOR, "email_received", body), False
        reopened = ticket.status in (Status.RESOLVED, Status.CLOSED)
        # The customer wrote: a resolved case reopens, a paused one resumes (its SLA clock
        # runs again), and once the case was answered a reply is due (next-reply clock).
        ticket = self.desk.customer_wrote(
            ticket.id,
            ACTOR,
            "email_received",
            body,
            reopen_reason="the customer wrote again by e-mail",
            resume_reason="the customer answered by e-mail",
        )
        return ticket, reopened

    def process(self, raw: bytes, envelope_from: str | None = None, *, ack: bool = True) -> Outcome:
        """`ingest`, in the caller's thread (the acknowledgement, if any, is queued)."""
        return self.ingest(raw, envelope_from, ack=ack)


__all__ = ["FLOOD_DETAIL", "Intake", "Outcome"]
