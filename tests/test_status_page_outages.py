"""A server outage on the status pages: the parent incident names no site, so its public
updates reach the pages through its children: one entry on the page of every customer with
a site among them (and on the public page when one of them is public), naming only that
page's sites, never the server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from ronda.config import Config, Site
from ronda.model import FailureClass, Impact, Priority, Source, Ticket
from ronda.status_page.build import fold_outages, outage_bounds
from ronda.status_page.gather import PageSpec, pages, publish, specs
from ronda.store import Store
from ronda.tickets import Desk
from tests.status_data import NOW, SECRETS, build_desk


def site_down(desk: Desk, site: str, customer: str) -> Ticket:
    return desk.open_ticket(
        source=Source.PROBE,
        subject=f"{site}: connection refused",
        priority=Priority.HIGH,
        impact=Impact.HIGH,
        actor="probe",
        failure_class=FailureClass.REFUSED,
        site=site,
        customer=customer,
        dedupe_key=f"{site}:down",
    )


def server_down(desk: Desk, children: list[Ticket]) -> Ticket:
    """The parent incident as the rounds open it: no site, no customer."""
    parent = desk.open_ticket(
        source=Source.PROBE,
        subject="Server web-04 down: 3 of 3 sites failing",
        priority=Priority.HIGH,
        impact=Impact.HIGH,
        actor="probe",
        failure_class=FailureClass.SERVER_OUTAGE,
        dedupe_key="server:web-04:down",
        evidence={"server": "web-04", "failing_sites": [c.site for c in children]},
    )
    for child in children:
        desk.link_parent(child.id, parent.id, "probe")
    return parent


@pytest.fixture
def outage(tmp_path: Path) -> Iterator[tuple[Store, Desk, Config, Ticket]]:
    """tienda-ana (already down with its own case and update), blog-ana and Bob's api-b,
    all on web-04, fail together 20 minutes before NOW; an agent posts on the server's
    case."""
    store, desk, cfg = build_desk(tmp_path)
    cfg = replace(
        cfg,
        sites=(*cfg.sites, Site("api-b", "https://api-b.example/", customer="Bob Ltd")),
    )
    desk.clock.now = NOW - timedelta(minutes=20)  # type: ignore[attr-defined]
    tienda = desk.find_open("tienda-ana:down")
    assert tienda is not None
    children = [tienda, site_down(desk, "blog-ana", "Tienda Ana")]
    children.append(site_down(desk, "api-b", "Bob Ltd"))
    parent = server_down(desk, children)
    desk.clock.now = NOW - timedelta(minutes=10)  # type: ignore[attr-defined]
    desk.public_update(parent.id, "ana", "Estamos reiniciando el servidor. / Restarting it.")
    yield store, desk, cfg, parent
    store.close()


def test_the_servers_update_shows_once_on_each_customers_page(outage, tmp_path: Path) -> None:
    store, _, cfg, parent = outage
    by_slug = {p.slug: p for p in pages(store, cfg, specs(cfg), NOW)}
    ana, bob = by_slug["tienda-ana"], by_slug["bob-ltd"]
    # Tienda Ana: one entry for the outage, not one per site and not tienda-ana's own case.
    (entry,) = ana.open_incidents
    assert entry.case == parent.case_number
    assert entry.title == "tienda-ana, blog-ana: el servidor que los aloja está caído"
    texts = [u.text for u in entry.updates]
    assert texts == [
        "Estamos restaurando la base de datos.\n<script>x</script>",  # the child's, earlier
        "Estamos reiniciando el servidor. / Restarting it.",
    ]
    # Began when its first case did (tienda-ana, 3 h before NOW, 07:00 in Bogotá).
    assert entry.span == "Desde 2026-11-20 07:00 (America/Bogota), 3 h hasta ahora"
    # Bob Ltd: the same outage, with only Bob's site in it, in English.
    bob_open = [i for i in bob.open_incidents]
    assert [i.case for i in bob_open] == [parent.case_number]
    assert bob_open[0].title == "api-b: the server that hosts it is down"
    assert [u.text for u in bob_open[0].updates] == [texts[1]]


def test_the_public_page_shows_it_with_its_public_sites_only(outage, tmp_path: Path) -> None:
    store, _, cfg, parent = outage
    out = tmp_path / "status"
    publish(store, cfg, out, specs(cfg, public=["blog-ana"], customers=True), NOW)
    public = (out / "public" / "index.html").read_text(encoding="utf-8")
    assert parent.case_number in public
    assert "blog-ana: the server that hosts it is down" in public
    assert "Estamos reiniciando el servidor." in public
    assert "tienda-ana" not in public and "api-b" not in public
    for folder in ("tienda-ana", "bob-ltd", "public"):
        html = (out / folder / "index.html").read_text(encoding="utf-8")
        assert "Server web-04" not in html
        for secret in SECRETS:
            assert secret not in html, (folder, secret)
    (only_shop,) = pages(store, cfg, [PageSpec("p", None, "en", ("shop-b",))], NOW)
    assert parent.case_number not in [i.case for i in only_shop.open_incidents]


def test_a_site_still_down_after_the_server_recovered_stays_on_its_own(outage) -> None:
    store, desk, cfg, parent = outage
    desk.clock.now = NOW - timedelta(minutes=5)  # type: ignore[attr-defined]
    blog = desk.find_open("blog-ana:down")
    assert blog is not None
    desk.resolve(blog.id, "probe", reason="recovered")
    desk.resolve(parent.id, "ana")
    # tienda-ana's own case is still open: it outlived the server's.
    (ana,) = pages(store, cfg, [PageSpec("a", "Tienda Ana", "es", ("tienda-ana", "blog-ana"))], NOW)
    assert [i.case for i in ana.open_incidents] == [desk.find_open("tienda-ana:down").case_number]
    (done,) = ana.resolved_incidents
    assert done.case == parent.case_number and done.resolved
    assert done.title == "tienda-ana, blog-ana: el servidor que los aloja está caído"


def test_an_outage_ends_for_a_page_when_its_sites_recovered(outage) -> None:
    store, desk, cfg, parent = outage
    desk.clock.now = NOW - timedelta(minutes=2)  # type: ignore[attr-defined]
    api = desk.find_open("api-b:down")
    assert api is not None
    desk.resolve(api.id, "probe", reason="recovered")
    by_slug = {p.slug: p for p in pages(store, cfg, specs(cfg), NOW)}
    # Bob's site is back while the server's case stays open for Tienda Ana's.
    assert by_slug["bob-ltd"].open_incidents == ()
    assert [i.case for i in by_slug["bob-ltd"].resolved_incidents][0] == parent.case_number
    assert [i.case for i in by_slug["tienda-ana"].open_incidents] == [parent.case_number]


def test_fold_and_bounds_are_pure(outage) -> None:
    _, desk, _, parent = outage
    parent = desk.get(parent.id)
    kids = [desk.find_open(f"{s}:down") for s in ("tienda-ana", "blog-ana", "api-b")]
    children = [k for k in kids if k is not None]
    other = desk.get(children[0].id)
    folded, alone = fold_outages([parent], children, [other], ["blog-ana", "tienda-ana"])
    (o,) = folded
    assert o.sites == ("blog-ana", "tienda-ana")  # the page's order
    assert {c.site for c in o.children} == {"tienda-ana", "blog-ana"}
    assert alone == []
    assert fold_outages([parent], children, [other], ["shop-b"]) == ([], [other])
    start, end = outage_bounds(o)
    assert start == other.opened_at and end is None
