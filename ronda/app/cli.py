"""`ronda`: the desk's one command. It parses the arguments and hands each subcommand to a
thin function; whatever runs for a while (rounds, exporter, mail intake, the TUI's probe
now and replies) is started and stopped through `ronda.app.service.Service`. Components
are imported by the commands that need them, so the core never depends on them."""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ronda.app.context import (
    EXIT_BROKEN_PIPE,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    config_path,
    load,
    open_store,
    policy,
    require_db,
)
from ronda.app.tickets_cli import (
    VIEWS,
    add_ticket_parsers,
    cmd_sites_list,
    cmd_tickets_list,
    cmd_tickets_new,
    cmd_tickets_show,
)
from ronda.display import VisibleStream
from ronda.model import Impact, Priority, Source, Status
from ronda.store import Store, default_db_path
from ronda.tickets import utcnow
from ronda.when import use_zone

if TYPE_CHECKING:
    from ronda.app.service import Service
    from ronda.config import Config

DEFAULT_LISTEN = "127.0.0.1:9464"  # the exporter's


# ---- check-config, sla ---------------------------------------------------------------


def cmd_check_config(args: argparse.Namespace) -> int:
    from ronda.config import ConfigError, check_config_summary, load_config
    from ronda.reach.templates import check as check_templates

    try:
        config = load_config(args.file)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    from ronda.reports.render import check as check_report_templates

    problems = check_templates(config.notices.templates) + check_report_templates(config.reports)
    if problems:
        for problem in problems:
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
    deadlines = policy(args).deadlines(Priority(args.priority), Impact(args.impact), opened)
    print(format_deadlines(deadlines))
    return EXIT_OK


# ---- probe now ------------------------------------------------------------------------


def cmd_probe(args: argparse.Namespace) -> int:
    """Probe now and print; only `--record` writes what was seen into the desk (tickets
    opened, updated or resolved, as a round of `ronda run` would)."""
    from ronda.app.probe_cli import probe_once

    if args.record and args.dry_run:
        raise CliError("--record writes tickets and --dry-run does not: give one of them")
    config = load(args.config)
    use_zone(config.calendar.timezone)
    return probe_once(
        config,
        open_store(args) if args.record else None,
        site_name=args.site,
        as_json=args.json,
        dry_run=not args.record,
    )


# ---- what runs until stopped: run, exporter, mail, demo, tui ----------------------------


def cmd_run(args: argparse.Namespace) -> int:
    """The daemon: rounds, exporter and retention until SIGTERM/SIGINT; SIGHUP or a changed
    config file reloads the config (a broken one is refused, the old one runs on). Under
    systemd (`Type=notify`) it says READY=1 once the first rounds are scheduled and pets the
    watchdog while their loop answers."""
    from ronda.app.notify import Notifier, Watchdog
    from ronda.app.runtime import (
        SignalInbox,
        configure_logging,
        log,
        log_event,
        serve_until_signalled,
    )
    from ronda.app.service import Service, ServiceOptions, file_signature
    from ronda.config import load_config
    from ronda.exporter.server import ExporterError
    from ronda.store.backup import DaemonLock

    config_path = Path(args.config)
    seen = file_signature(config_path)  # before reading: a later edit is a change
    config = load_config(config_path)  # ConfigError: its problems, exit 2 (main)
    configure_logging(fmt=args.log_format, zone=config.calendar.timezone)
    listen = None if args.listen == "off" else (args.listen or DEFAULT_LISTEN)
    db_path = args.db if args.db is not None else default_db_path()
    notifier = Notifier()
    with DaemonLock(db_path).hold_shared():  # a restore waits until this daemon stops
        service = Service(
            config,
            Store(db_path),
            ServiceOptions(
                rounds=True,
                exporter=listen,
                watch_config=True,
                retention=True,
                outbox=True,
                notifier=True,
                status_page=True,
                reports=True,
            ),
            config_path=config_path,
            on_event=log_event,
            loaded_signature=seen,
        )
        watchdog = Watchdog(notifier)

        def pet() -> None:
            # A rounds loop that has not answered for half the watchdog's interval is stuck.
            if watchdog.every is not None:
                watchdog.tick(service.rounds_responsive(watchdog.every))

        def on_signal(sig: signal.Signals) -> bool:
            if sig != signal.SIGHUP:
                log.info("%s received: stopping after the round in flight", sig.name)
                return False
            log.info("SIGHUP received: reloading %s", config_path)
            notifier.reloading()
            try:
                service.reload()
            except Exception as error:  # the daemon runs on with the config it has
                log.error("config not reloaded: %s", error)
            notifier.ready(_status(service))
            return True

        with SignalInbox((signal.SIGTERM, signal.SIGINT, signal.SIGHUP)) as inbox:
            try:
                service.start()
            except ExporterError as error:
                log.error("exporter: %s", error)
                return EXIT_ERROR
            notifier.ready(_status(service))
            try:
                serve_until_signalled(service, inbox, on_signal, on_tick=pet)
            finally:
                notifier.stopping()
                service.stop()
                if service.error is not None:
                    log.error("rounds stopped with an error: %s", service.error)
                log.info("stopped")
                notifier.close()
    return EXIT_ERROR if service.error is not None else EXIT_OK


def _status(service: Service) -> str:
    """`systemctl status`'s line for the daemon."""
    exporter = f", exporter {service.exporter.url}" if service.exporter is not None else ""
    return f"rounds of {len(service.config.sites)} sites{exporter}"


def _stop_on_any(_sig: signal.Signals) -> bool:
    return False


def run_exporter(
    store: Store,
    listen: str = DEFAULT_LISTEN,
    clock: Callable[[], datetime] = utcnow,
    *,
    out: TextIO | None = None,
) -> int:
    """`ronda exporter`: serve `/metrics` until SIGINT or SIGTERM. Returns the exit code
    (0, or 1 with the reason on `out` when the address cannot be used)."""
    from ronda.app.runtime import SignalInbox, serve_until_signalled
    from ronda.app.service import Service, ServiceOptions
    from ronda.exporter.server import ExporterError, is_loopback

    out = out or sys.stderr
    service = Service(None, store, ServiceOptions(exporter=listen), clock=clock)
    with SignalInbox((signal.SIGTERM, signal.SIGINT)) as inbox:
        try:
            service.start()
        except ExporterError as error:
            print(f"ronda exporter: {error}", file=out)
            return EXIT_ERROR
        handle = service.exporter
        assert handle is not None
        print(f"ronda exporter: serving {handle.url} (database {store.path})", file=out, flush=True)
        if not is_loopback(handle.host):
            print(
                f"ronda exporter: {handle.host} is reachable from other machines, and the "
                "metrics name customers and sites; put a firewall or an authenticating proxy "
                "in front",
                file=out,
                flush=True,
            )
        try:
            serve_until_signalled(service, inbox, _stop_on_any)
        finally:
            service.stop()
    return EXIT_OK


def cmd_exporter(args: argparse.Namespace) -> int:
    return run_exporter(open_store(args), args.listen)


def cmd_mail(args: argparse.Namespace) -> int:
    """`ronda mail`: the SMTP intake until SIGINT/SIGTERM; `ronda mail import`: a Maildir."""
    if not args.config:
        raise CliError("ronda mail needs --config FILE (customers and the SMTP relay)")
    config = load(args.config)
    if args.mail_command == "import":
        from ronda.intake.maildir import run_import

        code = run_import(config, args.path, args.db, ack=args.ack)
        if args.ack:
            _send_queued(config, args)
        return code
    from ronda.app.notify import Notifier
    from ronda.app.runtime import SignalInbox, configure_logging, log, serve_until_signalled
    from ronda.app.service import Service, ServiceOptions
    from ronda.store.backup import DaemonLock

    configure_logging(fmt=args.log_format, zone=config.calendar.timezone)
    as_json = args.log_format == "json"
    db_path = args.db if args.db is not None else default_db_path()
    notifier = Notifier()
    with DaemonLock(db_path).hold_shared():  # a restore waits until this daemon stops
        store = Store(db_path)
        service = Service(
            config, store, ServiceOptions(mail=True, mail_listen=args.listen, outbox=True)
        )
        try:
            with SignalInbox((signal.SIGINT, signal.SIGTERM)) as inbox:
                try:
                    service.start()
                except OSError as error:  # the address is taken or not ours: one clear line
                    if as_json:
                        log.error("ronda mail: %s", error)
                    else:
                        print(f"ronda mail: {error}", file=sys.stderr)
                    return EXIT_ERROR
                assert service.mail is not None
                host, port = service.mail.address
                relay = config.mail.relay or "none (no acknowledgements)"
                line = f"ronda mail: listening on {host}:{port}; relay {relay}"
                if as_json:
                    log.info("%s", line)
                else:
                    print(line, flush=True)
                notifier.ready(f"listening on {host}:{port}")
                try:
                    serve_until_signalled(service, inbox, _stop_on_any)
                finally:
                    notifier.stopping()
                    service.stop()
                    notifier.close()
        finally:
            store.close()
    return EXIT_OK


def _send_queued(config: Config, args: argparse.Namespace) -> None:
    """Deliver what the outbox holds due now (an import's acknowledgements) before the
    command ends; what the relay does not take waits for `ronda mail` or `ronda run`."""
    from ronda.reach.sender import Sender

    def sent() -> int:
        return sum(n for (_, state), n in store.outbox.totals().items() if state == "sent")

    store = open_store(args)
    try:
        before = sent()
        Sender(store, lambda: config, report=lambda text, failed: None).drain(["mail"])
        print(
            f"{sent() - before} messages taken by the relay; {store.outbox.pending()} "
            "waiting in the outbox"
        )
    finally:
        store.close()


def cmd_demo(args: argparse.Namespace) -> int:
    """The whole desk on a local fleet: the TUI on its live queue, or headless for a while
    with a summary at the end."""
    from ronda.demo.app import DemoDesk, DemoSettings

    settings = DemoSettings(listen=args.listen, round_seconds=args.round)
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="ronda-demo-"))
    demo = DemoDesk(workdir, settings, out=sys.stderr)
    demo.narrate = args.headless
    try:
        demo.start()
        if args.headless:
            _demo_headless(demo, args.duration)
        else:
            from ronda.sla import SlaPolicy
            from ronda.tui.app import RondaApp

            mail_reply, mail_off = demo.reply_channel()
            app = RondaApp(
                demo.store,
                args.agent or getpass.getuser(),
                args.lang,
                probe_now=demo.probe_now,
                mail_reply=mail_reply,
                mail_off_reason=mail_off,
                policy=SlaPolicy.from_config(demo.config),
                idle_gc=True,
                agents=demo.config.agents,
                saved_replies=demo.config.replies,
                config_source=str(demo.config_path),
            )
            app.run()
    finally:
        demo.stop()
    if demo.store is not None:
        print(demo.summary())
        print(f"demo files kept in {workdir}")
    return EXIT_OK


def _demo_headless(demo, duration: float) -> None:  # noqa: ANN001 - a DemoDesk
    from ronda.app.runtime import SIGNAL_POLL, SignalInbox

    demo.say(f"running headless for {duration:g} s (Ctrl-C stops early)")
    deadline = time.monotonic() + duration
    with SignalInbox((signal.SIGINT, signal.SIGTERM)) as inbox:
        while (left := deadline - time.monotonic()) > 0:
            if demo.wait(min(left, SIGNAL_POLL)):
                return  # the rounds ended on their own; stop() reports why
            if inbox.drain():
                demo.say("interrupted")
                return


def _tui_agent(agent: str | None, config: Config) -> str:
    """Who the TUI acts as: `--agent`, else the login name; with [[agents]] declared, one
    of them (a near miss gets a did-you-mean)."""
    from ronda.agents import UnknownAgent, check_agent

    name = agent or getpass.getuser()
    try:
        return check_agent(name, [a.name for a in config.agents])
    except UnknownAgent as exc:
        given = "" if agent else " (the login name; give --agent NAME)"
        raise CliError(f"{exc}{given}") from None


def cmd_tui(args: argparse.Namespace) -> int:
    """The agents' queue; with a config, "probe now" and replies by mail too."""
    from ronda.tui.app import run_tui

    require_db(args)
    path = config_path(args)  # --config, else the ronda.toml next to the database
    if path is None:
        run_tui(args.db, args.agent, args.lang)
        return EXIT_OK
    from ronda.app.service import Service

    config = load(path)
    args.agent = _tui_agent(args.agent, config)
    # The service's own store: "probe now" writes from the TUI's worker threads.
    service = Service(config, open_store(args)).start()  # no part runs: probes on demand only
    try:
        run_tui(
            args.db,
            args.agent,
            args.lang,
            config=config,
            probe_now=service.probe_site,
            mail_reply=service.mail_reply if service.replies_by_mail else None,
            mail_off_reason="why.no_relay",
            config_source=str(path),
        )
    finally:
        service.stop()
        service.store.close()
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
    log_format = argparse.ArgumentParser(add_help=False)
    log_format.add_argument(
        "--log-format",
        choices=["plain", "json"],
        default="plain",
        help="plain lines (default), or one JSON object per line for log shippers",
    )
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
    p.add_argument("--view", default="open", choices=VIEWS)
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
    add_ticket_parsers(t_sub, [common, agent, as_json, version])

    sites = sub.add_parser("sites", help="sites and their health")
    s_sub = sites.add_subparsers(dest="sites_command", required=True)
    p = s_sub.add_parser("list", parents=[common, as_json])
    p.add_argument("--config", help="sync sites from this config first")
    p.set_defaults(func=cmd_sites_list)

    p = sub.add_parser(
        "probe", parents=[common, as_json], help="probe sites now and print what was seen"
    )
    p.add_argument("--config", required=True)
    p.add_argument(
        "--site", help="only this site or check subject (srv-a/smtp:587, domain:tienda.co)"
    )
    p.add_argument("--once", action="store_true", help="one round, then exit (the default)")
    p.add_argument(
        "--record",
        action="store_true",
        help="also write the round into the desk (--db): open, update or resolve tickets",
    )
    p.add_argument("--dry-run", action="store_true", help="print only (the default)")
    p.set_defaults(func=cmd_probe)

    p = sub.add_parser("run", parents=[common, log_format], help="the daemon: rounds and exporter")
    p.add_argument("--config", required=True)
    p.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        help="exporter address, or 'off' (default %(default)s)",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("exporter", parents=[common], help="Prometheus metrics from the store")
    p.add_argument("--listen", default=DEFAULT_LISTEN, help="address (default %(default)s)")
    p.set_defaults(func=cmd_exporter)

    p = sub.add_parser("mail", parents=[common, log_format], help="tickets by e-mail (SMTP server)")
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
    p.add_argument("--listen", default=DEFAULT_LISTEN, help="exporter address")
    p.add_argument("--round", type=float, default=5.0, help="seconds between rounds")
    p.add_argument("--lang", default="en", choices=["en", "es"])
    p.set_defaults(func=cmd_demo)

    from ronda.app.admin_cli import add_parsers

    add_parsers(sub, common)

    from ronda.app.status_cli import add_parsers as add_status_parsers

    add_status_parsers(sub, common)
    from ronda.app.report_cli import add_parsers as add_report_parsers

    add_report_parsers(sub, common)

    p = sub.add_parser("tui", parents=[common, agent], help="the agents' queue")
    p.add_argument("--lang", choices=["en", "es"], help="default: the config's, else English")
    p.add_argument(
        "--config",
        help="config file (SLA matrix, language, agents, saved replies; enables probe now); "
        "default: ronda.toml next to the database",
    )
    p.set_defaults(func=cmd_tui)

    return parser


# Commands that own the terminal through Textual (which shows text through
# `ronda.tui.data`'s display rule) instead of printing lines.
FULL_SCREEN = frozenset({"tui", "demo"})


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    streams = sys.stdout, sys.stderr
    if args.command not in FULL_SCREEN:
        # Whatever a command prints (a ticket's subject, a site's error page, an e-mail's
        # name) reaches the terminal with its control characters shown, never obeyed.
        sys.stdout, sys.stderr = VisibleStream(sys.stdout), VisibleStream(sys.stderr)
    try:
        code = _run(args)
        sys.stdout.flush()  # here, so that a reader gone away is seen while we can say so
        return code
    except BrokenPipeError:
        # `ronda tickets list | head`: the reader has what it wanted. Nothing more is
        # written, not even at exit (Python flushes stdout then).
        _silence_stdout(streams[0])
        return EXIT_BROKEN_PIPE
    finally:
        sys.stdout, sys.stderr = streams


def _silence_stdout(stdout: TextIO) -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # not a file descriptor (a test's capture): nothing is flushed at exit


def _run(args: argparse.Namespace) -> int:
    from ronda.config import ConfigError
    from ronda.store import StoreError
    from ronda.tickets import TicketError

    try:
        return int(args.func(args) or 0)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    except (CliError, TicketError, StoreError) as error:
        print(f"ronda: {error}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        raise
    except OSError as error:  # a folder not ours, a full disk: one line, never a traceback
        where = f"{error.filename}: " if error.filename else ""
        print(f"ronda: {where}{error.strerror or error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
