"""`ronda status-page`: write the customers' status pages (static HTML) once."""

from __future__ import annotations

import argparse
from pathlib import Path

from ronda.app.context import EXIT_OK, CliError, desk_config, open_store
from ronda.tickets import utcnow


def cmd_status_page(args: argparse.Namespace) -> int:
    from ronda.status_page.gather import publish, specs
    from ronda.status_page.render import StatusPageError

    config = desk_config(args)
    out = args.out or config.status_page.out
    if out is None:
        raise CliError("give --out DIR (or set [status_page] out in the config)")
    public = None
    if args.public is not None:
        public = [name.strip() for name in args.public.split(",") if name.strip()]
        if not public:
            raise CliError("--public needs site names, comma-separated")
    elif args.customer is None:
        public = list(config.status_page.public) or None
    try:
        wanted = specs(
            config,
            customer=args.customer,
            public=public,
            customers=args.public is None,
        )
    except ValueError as error:
        raise CliError(str(error)) from error
    if not wanted:
        raise CliError("no page to write: no customer has a site in the config")
    store = open_store(args)
    try:
        built = publish(store, config, Path(out), wanted, utcnow())
    except StatusPageError as error:
        raise CliError(str(error)) from error
    finally:
        store.close()
    for page in built:
        sites = f"{page.sites} site" + ("" if page.sites == 1 else "s")
        incidents = f"{page.open_incidents} open incident" + (
            "" if page.open_incidents == 1 else "s"
        )
        print(f"{Path(out) / page.slug / 'index.html'}: {sites}, {incidents}")
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "status-page",
        parents=[common],
        help="write the customers' status pages (static HTML for any web server)",
    )
    p.add_argument("--config", help="the desk's config (customers, sites, [status_page])")
    p.add_argument("--out", type=Path, help="the folder to serve (default: [status_page] out)")
    p.add_argument("--customer", help="only this customer's page")
    p.add_argument(
        "--public", metavar="SITE,...", help="one public page of these sites (no customer pages)"
    )
    p.set_defaults(func=cmd_status_page)
