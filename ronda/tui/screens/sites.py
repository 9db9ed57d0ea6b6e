"""Every site's health as the last round saw it, and "probe now"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from ronda.sites import SiteHealth
from ronda.tui.data import QueueSnapshot, format_duration, load_sites
from ronda.tui.screens.base import RondaScreen
from ronda.tui.widgets.footer import FittedFooter
from ronda.tui.words import class_label

SITE_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("name", "col.site", 18),
    ("customer", "col.customer", 14),
    ("server", "sites.server", 10),
    ("state", "sites.state", 11),
    ("class", "ticket.class", 20),
    ("checked", "sites.checked", 10),
    ("latency", "sites.latency", 8),
    ("cert", "sites.cert", 6),
    ("maintenance", "sites.maintenance", 6),
)
CHECKED_COLUMN = 5
CERT_COLUMN = 7


def site_cells(site: SiteHealth, now: datetime, t: Callable[..., str]) -> list[Text]:
    if site.in_maintenance:
        state = Text(t("sites.in_maintenance"), style="cyan")
    elif site.up is None:
        state = Text(t("sites.unknown"), style="dim")
    elif site.up:
        state = Text(t("sites.up"), style="green")
    else:
        state = Text(t("sites.down"), style="bold white on red")
    checked = format_duration((now - site.checked_at).total_seconds()) if site.checked_at else "-"
    latency = f"{site.elapsed_ms:.0f} ms" if site.elapsed_ms is not None else "-"
    days = site.cert_days_left(now)
    cert = Text("-", style="dim")
    if days is not None:
        style = "red" if days < 7 else "yellow" if days < 30 else ""
        cert = Text(f"{days:.0f} d", style=style)
    return [
        Text(site.name, style="bold"),
        Text(site.customer or "-"),
        Text(site.server or "-"),
        state,
        Text(class_label(site.failure_class, t) or "-", style="" if site.failure_class else "dim"),
        Text(checked),
        Text(latency),
        cert,
        Text(t("form.yes") if site.in_maintenance else "-"),
    ]


class SitesScreen(RondaScreen):
    KIND = "sites"
    DEFAULT_CSS = """
    SitesScreen #sites-title { height: 1; padding: 0 1; background: $boost; }
    SitesScreen DataTable { height: 1fr; }
    SitesScreen #site-detail { height: auto; max-height: 4; padding: 0 1; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.sites: tuple[SiteHealth, ...] = ()
        self.loads = 0
        self._seen_probe: object = object()
        self._load_seq = 0

    def compose(self) -> ComposeResult:
        yield Static(Text(self.t("sites.title"), style="bold"), id="sites-title")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="sites")
        yield Static("", id="site-detail")
        yield FittedFooter(self.KIND, self.t)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label, width in SITE_COLUMNS:
            table.add_column(Text(self.t(label)), width=width, key=key)
        table.focus()
        self.reload()

    def reload(self) -> None:
        self._load_seq += 1
        seq, store = self._load_seq, self.ronda.store

        def loaded(sites: tuple[SiteHealth, ...]) -> None:
            if seq == self._load_seq:
                self.show_sites(sites)

        self.ronda.run_io(lambda: load_sites(store), loaded)

    def show_sites(self, sites: tuple[SiteHealth, ...]) -> None:
        if not self.is_attached:
            return
        if not self.is_mounted:
            self.call_after_refresh(self.show_sites, sites)
            return
        table = self.query_one(DataTable)
        current = self.highlighted()
        self.sites = sites
        now = self.ronda.clock()
        table.clear()
        table.add_rows(site_cells(site, now, self.t) for site in sites)
        if current is not None:
            for index, site in enumerate(sites):
                if site.name == current.name:
                    table.move_cursor(row=index, animate=False)
        self.loads += 1
        self._show_detail()

    def tick(self, now: datetime) -> None:
        """Keep "last round" and certificate days current on the rows on screen."""
        if not self.is_mounted or not self.sites:
            return
        table = self.query_one(DataTable)
        first = max(0, int(table.scroll_y))
        for row in range(first, min(table.row_count, first + table.size.height + 1)):
            cells = site_cells(self.sites[row], now, self.t)
            table.update_cell_at(Coordinate(row, CHECKED_COLUMN), cells[CHECKED_COLUMN])
            table.update_cell_at(Coordinate(row, CERT_COLUMN), cells[CERT_COLUMN])

    def highlighted(self) -> SiteHealth | None:
        table = self.query_one(DataTable)
        if not self.sites or not 0 <= table.cursor_row < len(self.sites):
            return None
        return self.sites[table.cursor_row]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        site = self.highlighted()
        detail = Text()
        if site is not None:
            detail.append(site.url, style="underline")
            if site.detail:
                detail.append("  ")
                detail.append(site.detail)  # literal: it may quote the probed page
        elif not self.sites:
            detail.append(self.t("sites.none"), style="dim")
        self.query_one("#site-detail", Static).update(detail)

    def data_changed(self, snapshot: QueueSnapshot) -> None:
        probe = snapshot.stamp.last_probe if snapshot.stamp else None
        if probe != self._seen_probe:
            self._seen_probe = probe
            self.reload()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_site()

    def action_open_site(self) -> None:
        """`enter`: the site's open ticket, or else its history (the tickets list, every
        view, filtered by the site)."""
        site = self.highlighted()
        if site is None:
            return
        if site.open_ticket is not None:
            self.ronda.open_ticket(site.open_ticket)
            return
        self.ronda.set_filter(view="all", site=site.name, search=None)
        self.dismiss()

    def action_probe_now(self) -> None:
        site = self.highlighted()
        if site is None:
            self.ronda.say(self.t("sites.none"), "warning")
            return
        self.ronda.probe_site(site.name, then=self.reload)

    def action_back(self) -> None:
        self.dismiss()
