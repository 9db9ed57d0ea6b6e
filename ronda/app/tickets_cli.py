"""`ronda tickets ...` and `ronda sites list`: the desk's records as a table for a person or
as JSON lines for a script, and changes to a case by the version an agent saw."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from ronda.app.context import EXIT_OK, CliError, iso, open_desk, open_store
from ronda.app.context import load as load_config
from ronda.model import Impact, Priority, Source, Status, Ticket
from ronda.tickets import Desk, QueueFilter


def ticket_json(ticket: Ticket, sla_state: str | None = None) -> dict:
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
        "first_response_at": iso(ticket.first_response_at),
        "resolved_at": iso(ticket.resolved_at),
        "billable": ticket.billable,
        "parent": ticket.parent_id,
        "evidence": ticket.evidence,
    }


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
            print(json.dumps(ticket_json(ticket, str(desk.sla_state(ticket, now)))))
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


def cmd_tickets_show(args: argparse.Namespace) -> int:
    desk = open_desk(args)
    ticket = desk.get(args.case)
    events = desk.events(ticket.id)
    state = str(desk.sla_state(ticket))
    if args.json:
        data = ticket_json(ticket, state)
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
    print(f"  {'sla':<12} {state} (limit {iso(ticket.sla_limit_at)})")
    for event in events:
        change = f" {event.field}: {event.old} -> {event.new}" if event.field else ""
        body = f"  {event.body}" if event.body else ""
        print(f"  {iso(event.at)}  {event.actor:<10} {event.kind}{change}{body}")
    return EXIT_OK


def cmd_tickets_new(args: argparse.Namespace) -> int:
    desk = open_desk(args)
    source = Source(args.source)
    if source == Source.PHONE:
        raise CliError(
            "phone help is only for an existing case: use `ronda tickets note CASE` "
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
        print(json.dumps(ticket_json(ticket, str(desk.sla_state(ticket)))))
    else:
        print(f"{ticket.case_number} {ticket.status} (version {ticket.version})")
    return EXIT_OK


def _ticket_action(
    run: Callable[[Desk, argparse.Namespace], Ticket],
) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        desk = open_desk(args)
        return _print_ticket(args, desk, run(desk, args))

    return command


cmd_tickets_claim = _ticket_action(lambda d, a: d.claim(a.case, a.agent, a.version))
cmd_tickets_respond = _ticket_action(lambda d, a: d.respond(a.case, a.agent, a.body, a.version))
cmd_tickets_note = _ticket_action(lambda d, a: d.note(a.case, a.agent, a.body))
cmd_tickets_status = _ticket_action(
    lambda d, a: d.set_status(a.case, Status(a.status), a.agent, a.version, a.reason)
)
cmd_tickets_resolve = _ticket_action(lambda d, a: d.resolve(a.case, a.agent, a.version, a.reason))
cmd_tickets_reopen = _ticket_action(lambda d, a: d.reopen(a.case, a.agent, a.version, a.reason))

# name -> (command, positional arguments after CASE): the parser makes one subcommand each.
TICKET_ACTIONS: dict[str, tuple[Callable[[argparse.Namespace], int], tuple[str, ...]]] = {
    "claim": (cmd_tickets_claim, ()),
    "respond": (cmd_tickets_respond, ("body",)),
    "note": (cmd_tickets_note, ("body",)),
    "status": (cmd_tickets_status, ("status",)),
    "resolve": (cmd_tickets_resolve, ()),
    "reopen": (cmd_tickets_reopen, ()),
}


def cmd_sites_list(args: argparse.Namespace) -> int:
    from ronda.sites import site_health, sync_config

    store = open_store(args)
    if args.config:
        sync_config(store, load_config(args.config))
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
    print(f"{'SITE':<24} {'STATE':<6} {'CLASS':<18} {'CODE':>4} {'MS':>7}  URL")
    for site in sites:
        state = "-" if site.up is None else ("up" if site.up else "DOWN")
        code = site.status_code if site.status_code is not None else "-"
        ms = f"{site.elapsed_ms:.0f}" if site.elapsed_ms is not None else "-"
        print(
            f"{site.name:<24} {state:<6} {site.failure_class or '-':<18} {code:>4} {ms:>7}  "
            f"{site.url}"
        )
    return EXIT_OK
