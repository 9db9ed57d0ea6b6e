"""`ronda`: the desk's one command. Subcommands that need the probes, the TUI, the exporter
or the mail channel import them lazily, so the core never depends on them."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from ronda.model import Impact, Priority, Source, Status, Ticket

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


class CliError(Exception):
    """An error worth one clear line and a non-zero exit."""


def _store(args: argparse.Namespace):
    from ronda.store import Store

    return Store(args.db)


def _config(path: str | None):
    from ronda.config import load_config

    if path is None:
        from ronda.config import Config

        return Config()
    return load_config(path)


def _policy(args: argparse.Namespace):
    from ronda.sla import SlaPolicy

    config_path = getattr(args, "config", None)
    return SlaPolicy.from_config(_config(config_path)) if config_path else SlaPolicy.default()


def _desk(args: argparse.Namespace):
    from ronda.tickets import Desk

    return Desk(_store(args), _policy(args))


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


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
        "opened_at": _iso(ticket.opened_at),
        "sla_target_at": _iso(ticket.sla_target_at),
        "sla_limit_at": _iso(ticket.sla_limit_at),
        "sla_state": sla_state,
        "first_response_at": _iso(ticket.first_response_at),
        "resolved_at": _iso(ticket.resolved_at),
        "billable": ticket.billable,
        "parent": ticket.parent_id,
        "evidence": ticket.evidence,
    }


# ---- check-config, sla ---------------------------------------------------------------


def cmd_check_config(args: argparse.Namespace) -> int:
    from ronda.config import ConfigError, check_config_summary, load_config

    try:
        config = load_config(args.file)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    print(check_config_summary(config))
    return EXIT_OK


def cmd_sla_deadline(args: argparse.Namespace) -> int:
    from ronda.sla import format_deadlines

    try:
        opened = datetime.fromisoformat(args.opened)
    except ValueError as error:
        raise CliError(f"--opened: {args.opened!r} is not an ISO 8601 instant") from error
    if opened.tzinfo is None:
        raise CliError(f"--opened: {args.opened!r} needs a UTC offset, e.g. 2026-11-25T09:00-05:00")
    policy = _policy(args)
    deadlines = policy.deadlines(Priority(args.priority), Impact(args.impact), opened)
    print(format_deadlines(deadlines))
    return EXIT_OK


# ---- tickets ------------------------------------------------------------------------


def cmd_tickets_list(args: argparse.Namespace) -> int:
    from ronda.tickets import QueueFilter

    desk = _desk(args)
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
            f"{ticket.status:<16} {desk.sla_state(ticket, now):<9} {_duration(left):>8}  "
            f"{ticket.subject[:80]}"
        )
    return EXIT_OK


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    seconds = abs(int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{sign}{hours}h{rest // 60:02d}m"


def cmd_tickets_show(args: argparse.Namespace) -> int:
    desk = _desk(args)
    ticket = desk.get(args.case)
    events = desk.events(ticket.id)
    state = str(desk.sla_state(ticket))
    if args.json:
        data = ticket_json(ticket, state)
        data["events"] = [
            {
                "at": _iso(e.at),
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
    print(f"  {'sla':<12} {state} (limit {_iso(ticket.sla_limit_at)})")
    for event in events:
        change = f" {event.field}: {event.old} -> {event.new}" if event.field else ""
        body = f"  {event.body}" if event.body else ""
        print(f"  {_iso(event.at)}  {event.actor:<10} {event.kind}{change}{body}")
    return EXIT_OK


def cmd_tickets_new(args: argparse.Namespace) -> int:
    desk = _desk(args)
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


def _print_ticket(args: argparse.Namespace, desk, ticket: Ticket) -> int:
    if args.json:
        print(json.dumps(ticket_json(ticket, str(desk.sla_state(ticket)))))
    else:
        print(f"{ticket.case_number} {ticket.status} (version {ticket.version})")
    return EXIT_OK


def _ticket_action(run: Callable) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        desk = _desk(args)
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


def cmd_sites_list(args: argparse.Namespace) -> int:
    from ronda.sites import site_health, sync_config

    store = _store(args)
    if args.config:
        sync_config(store, _config(args.config))
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
                        "checked_at": _iso(site.checked_at),
                        "cert_not_after": _iso(site.cert_not_after),
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


# ---- the parts loaded lazily ---------------------------------------------------------


def cmd_probe(args: argparse.Namespace) -> int:
    from ronda.checks.cli import probe_once

    return probe_once(
        _config(args.config),
        _store(args),
        site_name=args.site,
        as_json=args.json,
        dry_run=args.dry_run,
    )


def cmd_run(args: argparse.Namespace) -> int:
    from ronda.daemon import run_daemon

    return run_daemon(Path(args.config), args.db, args.listen)


def cmd_exporter(args: argparse.Namespace) -> int:
    from ronda.exporter.server import run

    return run(_store(args), args.listen)


def cmd_mail(args: argparse.Namespace) -> int:
    if not args.config:
        raise CliError("ronda mail needs --config FILE (customers and the SMTP relay)")
    config = _config(args.config)
    if args.mail_command == "import":
        from ronda.intake.maildir import run_import

        return run_import(config, args.path, args.db, ack=args.ack)
    from ronda.intake.server import run

    return run(config, args.db, listen=args.listen)


def cmd_demo(args: argparse.Namespace) -> int:
    from ronda.demo.app import DemoSettings, run_demo

    return run_demo(
        headless=args.headless,
        duration=args.duration,
        workdir=args.dir,
        agent=args.agent,
        lang=args.lang,
        settings=DemoSettings(listen=args.listen, round_seconds=args.round),
    )


def cmd_tui(args: argparse.Namespace) -> int:
    from ronda.tui.app import run_tui

    config = _config(args.config) if args.config else None
    probe_now = None
    if config is not None:
        from ronda.checks.cli import probe_summary
        from ronda.store import Store

        probe_store = Store(args.db)  # "probe now" writes from the TUI's worker thread
        probe_now = lambda site: probe_summary(config, probe_store, site)  # noqa: E731
    mail_reply = None
    if config is not None and config.mail.relay:
        from ronda.intake.replies import send_reply

        def mail_reply(desk, ticket, agent, text):
            return send_reply(
                desk,
                ticket.id,
                agent,
                text,
                settings=config.mail,
                lang=config.lang,
                version=ticket.version,
            )

    run_tui(
        args.db, args.agent, args.lang, config=config, probe_now=probe_now, mail_reply=mail_reply
    )
    return EXIT_OK


# ---- the parser ---------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ronda", description="Ronda: the support desk of a WordPress hosting agency."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", type=Path, help="SQLite file (default: user data directory)")
    agent = argparse.ArgumentParser(add_help=False)
    agent.add_argument("--agent", default=getpass.getuser(), help="who acts (default: login)")
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="one JSON object per line")
    version = argparse.ArgumentParser(add_help=False)
    version.add_argument(
        "--version", type=int, help="the ticket version you saw (refused if it changed)"
    )

    p = sub.add_parser("check-config", help="validate a config file")
    p.add_argument("file")
    p.set_defaults(func=cmd_check_config)

    sla = sub.add_parser("sla", help="SLA clock")
    sla_sub = sla.add_subparsers(dest="sla_command", required=True)
    p = sla_sub.add_parser("deadline", help="target and limit for a case opened at an instant")
    p.add_argument("--priority", required=True, choices=[x.value for x in Priority])
    p.add_argument("--impact", required=True, choices=[x.value for x in Impact])
    p.add_argument("--opened", required=True, help="ISO 8601 with offset")
    p.add_argument("--config", help="config file with [sla] overrides")
    p.set_defaults(func=cmd_sla_deadline)

    tickets = sub.add_parser("tickets", help="list and work tickets")
    t_sub = tickets.add_subparsers(dest="tickets_command", required=True)
    p = t_sub.add_parser("list", parents=[common, agent, as_json], help="the queue")
    p.add_argument(
        "--view", default="open", choices=["open", "mine", "unassigned", "breached", "all"]
    )
    p.add_argument("--priority", choices=[x.value for x in Priority])
    p.add_argument("--status", choices=[x.value for x in Status])
    p.add_argument("--customer")
    p.add_argument("--search")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_tickets_list)
    p = t_sub.add_parser("show", parents=[common, as_json], help="one case and its history")
    p.add_argument("case")
    p.set_defaults(func=cmd_tickets_show)
    p = t_sub.add_parser("new", parents=[common, agent, as_json], help="open a case")
    p.add_argument("--subject", required=True)
    p.add_argument("--source", default="manual", choices=[x.value for x in Source])
    p.add_argument("--priority", default="medium", choices=[x.value for x in Priority])
    p.add_argument("--impact", default="medium", choices=[x.value for x in Impact])
    p.add_argument("--customer")
    p.add_argument("--site")
    p.add_argument("--category")
    p.add_argument("--requester")
    p.add_argument("--body")
    p.add_argument("--billable", action="store_true")
    p.set_defaults(func=cmd_tickets_new)
    for name, func, extra in (
        ("claim", cmd_tickets_claim, ()),
        ("respond", cmd_tickets_respond, ("body",)),
        ("note", cmd_tickets_note, ("body",)),
        ("status", cmd_tickets_status, ("status",)),
        ("resolve", cmd_tickets_resolve, ()),
        ("reopen", cmd_tickets_reopen, ()),
    ):
        p = t_sub.add_parser(name, parents=[common, agent, as_json, version])
        p.add_argument("case")
        for positional in extra:
            if positional == "status":
                p.add_argument("status", choices=[x.value for x in Status])
            else:
                p.add_argument(positional)
        if name in ("status", "resolve", "reopen"):
            p.add_argument("--reason")
        p.set_defaults(func=func)

    sites = sub.add_parser("sites", help="sites and their health")
    s_sub = sites.add_subparsers(dest="sites_command", required=True)
    p = s_sub.add_parser("list", parents=[common, as_json])
    p.add_argument("--config", help="sync sites from this config first")
    p.set_defaults(func=cmd_sites_list)

    p = sub.add_parser("probe", parents=[common, as_json], help="probe sites now")
    p.add_argument("--config", required=True)
    p.add_argument("--site", help="only this site")
    p.add_argument("--once", action="store_true", help="one round, then exit (the default)")
    p.add_argument("--dry-run", action="store_true", help="print only; open no tickets")
    p.set_defaults(func=cmd_probe)

    p = sub.add_parser("run", parents=[common], help="the daemon: rounds and exporter")
    p.add_argument("--config", required=True)
    p.add_argument(
        "--listen",
        default="127.0.0.1:9464",
        help="exporter address, or 'off' (default %(default)s)",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("exporter", parents=[common], help="Prometheus metrics from the store")
    p.add_argument("--listen", default="127.0.0.1:9464", help="address (default %(default)s)")
    p.set_defaults(func=cmd_exporter)

    p = sub.add_parser("mail", parents=[common], help="tickets by e-mail (SMTP server)")
    p.add_argument("--config")
    p.add_argument("--listen", help="SMTP address (default: [mail] listen, 127.0.0.1:2525)")
    p.set_defaults(func=cmd_mail, mail_command="serve")
    m_sub = p.add_subparsers(dest="mail_command", required=False)
    m = m_sub.add_parser("import", parents=[common], help="import a Maildir folder")
    m.add_argument("path", help="the Maildir (with cur/ and new/)")
    m.add_argument("--config", required=True)
    m.add_argument("--ack", action="store_true", help="acknowledge imported messages")
    m.set_defaults(func=cmd_mail)

    p = sub.add_parser("demo", parents=[agent], help="the whole desk on a local fleet")
    p.add_argument("--headless", action="store_true", help="no TUI; print a summary at the end")
    p.add_argument("--duration", type=float, default=60.0, help="headless run time, seconds")
    p.add_argument("--dir", type=Path, help="keep the demo's config and database here")
    p.add_argument("--listen", default="127.0.0.1:9464", help="exporter address")
    p.add_argument("--round", type=float, default=5.0, help="seconds between rounds")
    p.add_argument("--lang", default="en", choices=["en", "es"])
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("tui", parents=[common, agent], help="the agents' queue")
    p.add_argument("--lang", choices=["en", "es"], help="default: the config's, else English")
    p.add_argument("--config", help="config file (SLA matrix, language; enables probe now)")
    p.set_defaults(func=cmd_tui)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from ronda.config import ConfigError
    from ronda.store import StoreError
    from ronda.tickets import TicketError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    except (CliError, TicketError, StoreError) as error:
        print(f"ronda: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
