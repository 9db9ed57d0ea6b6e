"""`ronda tickets ...` and `ronda sites list`: the desk's records as a table for a person or
as JSON lines for a script, and every change an agent makes in the TUI, by the version the
agent saw.

Tables print instants in the desk's time zone with their offset (`ronda.when`); `--json`
keeps ISO 8601 with the offset, as stored (UTC).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from ronda.agents import UnknownAgent, check_agent
from ronda.app.context import EXIT_OK, CliError, desk_config, iso, open_desk, open_store
from ronda.durations import BadDuration, parse_spent
from ronda.model import Impact, Priority, Source, Status, Ticket
from ronda.sla import ticket_clock
from ronda.tickets import Desk, QueueFilter
from ronda.when import format_when, zone_label

VIEWS = ("open", "mine", "unassigned", "breached", "resolved", "all")


def ticket_json(ticket: Ticket, sla_state: str | None = None, time_spent: float = 0.0) -> dict:
    return {
        "case_number": ticket.case_number,
        "id": ticket.id,
        "version": ticket.version,
        "source": str(ticket.source),
        "subject": ticket.subject,
        "category": ticket.category,
        "failure_class": str(ticket.failure_class) if ticket.failure_class else None,
        "site": ticket.site,
        "customer": ticket.customer,
        "requester": ticket.requester,
        "priority": str(ticket.priority),
        "impact": str(ticket.impact),
        "status": str(ticket.status),
        "assignee": ticket.assignee,
        "opened_at": iso(ticket.opened_at),
        "sla_target_at": iso(ticket.sla_target_at),
        "sla_limit_at": iso(ticket.sla_limit_at),
        "sla_state": sla_state,
        "sla_clock": ticket_clock(ticket),
        "first_response_at": iso(ticket.first_response_at),
        "reply_due_at": iso(ticket.reply_due_at),
        "reply_target_at": iso(ticket.reply_target_at),
        "reply_limit_at": iso(ticket.reply_limit_at),
        "resolved_at": iso(ticket.resolved_at),
        "billable": ticket.billable,
        "time_spent_seconds": time_spent,
        "parent": ticket.parent_id,
        "evidence": ticket.evidence,
    }


def _json(desk: Desk, ticket: Ticket) -> dict:
    return ticket_json(ticket, str(desk.sla_state(ticket)), desk.time_spent(ticket.id))


# ---- reading ---------------------------------------------------------------------------


def cmd_tickets_list(args: argparse.Namespace) -> int:
    desk = open_desk(args)
    flt = QueueFilter(
        view=args.view,
        agent=args.agent,
        priority=Priority(args.priority) if args.priority else None,
        status=Status(args.status) if args.status else None,
        customer=args.customer,
        search=args.search,
        limit=args.limit,
    )
    tickets = desk.queue(flt)
    now = desk.clock()
    if args.json:
        for ticket in tickets:
            print(json.dumps(_json(desk, ticket)))
        return EXIT_OK
    if not tickets:
        print("no tickets")
        return EXIT_OK
    print(f"{'CASE':<8} {'PRI':<6} {'IMP':<6} {'STATUS':<16} {'SLA':<9} {'LEFT':>8}  SUBJECT")
    for ticket in tickets:
        left = desk.time_left(ticket, now)
        print(
            f"{ticket.case_number:<8} {ticket.priority:<6} {ticket.impact:<6} "
            f"{ticket.status:<16} {desk.sla_state(ticket, now):<9} {duration(left):>8}  "
            f"{ticket.subject[:80]}"
        )
    return EXIT_OK


def duration(seconds: float | None) -> str:
    """Time left as `3h05m` (`-0h20m` past the deadline), `-` when none applies."""
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    seconds = abs(int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{sign}{hours}h{rest // 60:02d}m"


def spent(seconds: float) -> str:
    """Time spent as `1 h 15 min`, `45 min`, `0 min`."""
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


def cmd_tickets_show(args: argparse.Namespace) -> int:
    desk = open_desk(args)
    ticket = desk.get(args.case)
    events = desk.events(ticket.id)
    state = str(desk.sla_state(ticket))
    if args.json:
        data = _json(desk, ticket)
        data["events"] = [
            {
                "at": iso(e.at),
                "actor": e.actor,
                "kind": e.kind,
                "field": e.field,
                "old": e.old,
                "new": e.new,
                "body": e.body,
            }
            for e in events
        ]
        print(json.dumps(data))
        return EXIT_OK
    print(f"{ticket.case_number}  {ticket.subject}")
    for key in ("status", "priority", "impact", "assignee", "site", "customer", "source"):
        print(f"  {key:<12} {getattr(ticket, key) or '-'}")
    print(f"  {'opened':<12} {format_when(ticket.opened_at)}")
    print(f"  {'sla':<12} {state}{_clock_text(desk, ticket)}")
    print(f"  {'billable':<12} {'yes' if ticket.billable else 'no'}")
    print(f"  {'time spent':<12} {spent(desk.time_spent(ticket.id))}")
    print(f"  times in {zone_label()}")
    for event in events:
        change = f" {event.field}: {event.old} -> {event.new}" if event.field else ""
        body = f"  {event.body}" if event.body else ""
        when = format_when(event.at, zone=False)
        print(f"  {when}  {event.actor:<10} {event.kind}{change}{body}")
    return EXIT_OK


def _clock_text(desk: Desk, ticket: Ticket) -> str:
    """Which clock runs and its limit: ` (first response by 2026-12-04 08:20 -05, 1h05m
    left)`; the first response's limit once judged; nothing once resolved unanswered."""
    left = desk.time_left(ticket)
    if ticket.reply_due_at is not None and ticket.status.is_open:
        return f" (next reply by {format_when(ticket.reply_limit_at)}, {duration(left)} left)"
    if left is not None:
        return f" (first response by {format_when(ticket.sla_limit_at)}, {duration(left)} left)"
    if ticket.first_response_at is not None:
        return f" (answered {format_when(ticket.first_response_at)})"
    return ""


# ---- writing ---------------------------------------------------------------------------


def cmd_tickets_new(args: argparse.Namespace) -> int:
    args.agent = checked_agent(args, args.agent)  # before a first case starts a desk
    desk = open_desk(args, create=True)  # the first case may start a desk
    source = Source(args.source)
    if source == Source.PHONE:
        raise CliError(
            "phone help is only for an existing case: use `ronda tickets call CASE` "
            "or `ronda tickets show CASE`"
        )
    ticket = desk.open_ticket(
        source=source,
        subject=args.subject,
        priority=Priority(args.priority),
        impact=Impact(args.impact),
        actor=args.agent,
        customer=args.customer,
        site=args.site,
        category=args.category,
        requester=args.requester,
        billable=args.billable,
        body=args.body,
    )
    return _print_ticket(args, desk, ticket)


def _print_ticket(args: argparse.Namespace, desk: Desk, ticket: Ticket) -> int:
    if args.json:
        print(json.dumps(_json(desk, ticket)))
    else:
        print(f"{ticket.case_number} {ticket.status} (version {ticket.version})")
    return EXIT_OK


def checked_agent(args: argparse.Namespace, name: str) -> str:
    """`name` checked against the desk's [[agents]] (any name when it declares none)."""
    known = [a.name for a in desk_config(args).agents]
    try:
        return check_agent(name, known)
    except UnknownAgent as exc:
        raise CliError(str(exc)) from None


def _ticket_action(
    run: Callable[[Desk, argparse.Namespace], Ticket],
) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        desk = open_desk(args)
        args.agent = checked_agent(args, args.agent)
        return _print_ticket(args, desk, run(desk, args))

    return command


def parse_time_spent(text: str) -> float:
    """Seconds of `1h15`, `75m`, `1:15`, `1.5h` or plain minutes (`45`): `ronda.durations`."""
    try:
        return parse_spent(text)
    except BadDuration as exc:
        raise CliError(str(exc)) from None


def _reprioritize(desk: Desk, a: argparse.Namespace) -> Ticket:
    if a.priority is None and a.impact is None:
        raise CliError("give --priority, --impact or both")
    return desk.reprioritize(
        a.case,
        a.agent,
        a.version,
        priority=Priority(a.priority) if a.priority else None,
        impact=Impact(a.impact) if a.impact else None,
        reason=a.reason,
    )


def _assign(desk: Desk, a: argparse.Namespace) -> Ticket:
    if (a.assignee is None) == (not a.nobody):
        raise CliError("give the agent to assign to, or --nobody")
    assignee = None if a.nobody else checked_agent(a, a.assignee)
    return desk.assign(a.case, assignee, a.agent, a.version)


def _link(desk: Desk, a: argparse.Namespace) -> Ticket:
    if (a.parent is None) == (not a.none):
        raise CliError("give the parent case, or --none to unlink")
    return desk.link_parent(a.case, None if a.none else a.parent, a.agent, a.version)


def _log_time(desk: Desk, a: argparse.Namespace) -> Ticket:
    return desk.log_time(a.case, a.agent, parse_time_spent(a.spent), a.note)


cmd_tickets_claim = _ticket_action(lambda d, a: d.claim(a.case, a.agent, a.version))
cmd_tickets_respond = _ticket_action(lambda d, a: d.respond(a.case, a.agent, a.body, a.version))
cmd_tickets_note = _ticket_action(lambda d, a: d.note(a.case, a.agent, a.body))
cmd_tickets_status = _ticket_action(
    lambda d, a: d.set_status(a.case, Status(a.status), a.agent, a.version, a.reason)
)
cmd_tickets_resolve = _ticket_action(lambda d, a: d.resolve(a.case, a.agent, a.version, a.reason))
cmd_tickets_reopen = _ticket_action(lambda d, a: d.reopen(a.case, a.agent, a.version, a.reason))
cmd_tickets_pending = _ticket_action(
    lambda d, a: d.set_status(a.case, Status.PENDING_CUSTOMER, a.agent, a.version, a.reason)
)
cmd_tickets_back = _ticket_action(
    lambda d, a: d.set_status(a.case, Status.OPEN, a.agent, a.version, a.reason)
)
cmd_tickets_reprioritize = _ticket_action(_reprioritize)
cmd_tickets_assign = _ticket_action(_assign)
cmd_tickets_billable = _ticket_action(
    lambda d, a: d.set_billable(a.case, a.billable == "yes", a.agent, a.version)
)
cmd_tickets_link = _ticket_action(_link)
cmd_tickets_log_time = _ticket_action(_log_time)


def _update(desk: Desk, a: argparse.Namespace) -> Ticket:
    if a.public is None:
        raise CliError("give the update's text with --public (customers see it)")
    return desk.public_update(a.case, a.agent, a.public)


cmd_tickets_update = _ticket_action(_update)
cmd_tickets_call = _ticket_action(
    lambda d, a: d.phone_call(a.case, a.agent, a.body, answered=a.answered, version=a.version)
)


def add_ticket_parsers(
    t_sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    """One subcommand per change to a case (`parents`: --db, --agent, --json, --version)."""

    def action(name: str, func: Callable, help: str, **kwargs) -> argparse.ArgumentParser:  # noqa: A002
        p = t_sub.add_parser(name, parents=parents, help=help, **kwargs)
        p.add_argument("case", help="the case number, e.g. R-1016")
        p.add_argument(
            "--config",
            help="the desk's config: its [[agents]] are the names --agent and assign accept "
            "(default: ronda.toml next to the database)",
        )
        p.set_defaults(func=func)
        return p

    action("claim", cmd_tickets_claim, "take an unassigned case")
    p = action("respond", cmd_tickets_respond, "reply to the customer")
    p.add_argument("body")
    p = action("note", cmd_tickets_note, "an internal note")
    p.add_argument("body")
    p = action("status", cmd_tickets_status, "change the status")
    p.add_argument("status", choices=[x.value for x in Status])
    p.add_argument("--reason")
    for name, func, text in (
        ("resolve", cmd_tickets_resolve, "resolve the case"),
        ("reopen", cmd_tickets_reopen, "reopen a resolved or closed case"),
        ("pending", cmd_tickets_pending, "wait on the customer (the SLA clock stops)"),
        ("back", cmd_tickets_back, "back from pending customer (the SLA clock runs again)"),
    ):
        action(name, func, text).add_argument("--reason")
    p = action(
        "reprioritize",
        cmd_tickets_reprioritize,
        "change priority and/or impact, with a reason",
        aliases=["priority"],
    )
    p.add_argument("--priority", choices=[x.value for x in Priority])
    p.add_argument("--impact", choices=[x.value for x in Impact])
    p.add_argument("--reason", required=True)
    p = action("assign", cmd_tickets_assign, "assign the case to an agent, or to nobody")
    p.add_argument("assignee", nargs="?", help="the agent")
    p.add_argument("--nobody", action="store_true", help="leave the case unassigned")
    p = action("log-time", cmd_tickets_log_time, "log time spent (1h15, 75m, 1:15, 1.5h, 45)")
    p.add_argument("spent", help="time spent: 1h15, 75m, 1:15, 1.5h, or minutes")
    p.add_argument("--note")
    p = action("billable", cmd_tickets_billable, "mark the case billable or not")
    p.add_argument("billable", choices=["yes", "no"])
    p = action("link", cmd_tickets_link, "link the case under a parent case")
    p.add_argument("parent", nargs="?", help="the parent case number")
    p.add_argument("--none", action="store_true", help="unlink it from its parent")
    p = action("update", cmd_tickets_update, "post an update customers see on the status page")
    p.add_argument("--public", metavar="TEXT", help="the update, as customers will read it")
    p = action("call", cmd_tickets_call, "record a phone call from the customer")
    p.add_argument("body", help="what the customer asked (or was told)")
    p.add_argument(
        "--answered",
        action="store_true",
        help="answered on the phone: no reply is due (else the next-reply clock starts)",
    )


def cmd_sites_list(args: argparse.Namespace) -> int:
    from ronda.sites import site_health, sync_config

    store = open_store(args)
    config = desk_config(args)
    if args.config:
        sync_config(store, config)
    sites = site_health(store)
    if args.json:
        for site in sites:
            print(
                json.dumps(
                    {
                        "name": site.name,
                        "url": site.url,
                        "customer": site.customer,
                        "server": site.server,
                        "impact": site.impact,
                        "up": site.up,
                        "class": site.failure_class,
                        "status_code": site.status_code,
                        "elapsed_ms": site.elapsed_ms,
                        "checked_at": iso(site.checked_at),
                        "cert_not_after": iso(site.cert_not_after),
                        "in_maintenance": site.in_maintenance,
                    }
                )
            )
        return EXIT_OK
    if not sites:
        print("no sites (give --config to load them)")
        return EXIT_OK
    print(f"{'SITE':<24} {'STATE':<6} {'CLASS':<18} {'CODE':>4} {'MS':>7}  {'CHECKED':<16}  URL")
    for site in sites:
        state = "-" if site.up is None else ("up" if site.up else "DOWN")
        code = site.status_code if site.status_code is not None else "-"
        ms = f"{site.elapsed_ms:.0f}" if site.elapsed_ms is not None else "-"
        checked = format_when(site.checked_at, zone=False)
        print(
            f"{site.name:<24} {state:<6} {site.failure_class or '-':<18} {code:>4} {ms:>7}  "
            f"{checked:<16}  {site.url}"
        )
    print(f"times in {zone_label()}")
    return EXIT_OK
