"""Last month's reports, mailed by `ronda run` to the customers who opted in
(`[[customers]] reports = true`), at their contact address, through the outbox: a short
text in their language with the report attached as an HTML file.

Last month's report is due from local midnight on the 1st (the desk's calendar) until the
month ends: the first look on or after the 1st queues it, so a desk that was down on the
1st sends it when it comes back. Each report is queued once per customer and month: the
outbox key `report:<month>:<customer>` is unique, so later looks, restarts and two passes
queue nothing more. A customer without an address is skipped and said so. A report for an
earlier month is made with `ronda report` and sent by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

from ronda.config import Config, Customer
from ronda.outbox import compose_mail, excerpt, queue_mail
from ronda.periodic import PeriodicThread
from ronda.reports.period import Month
from ronda.reports.render import Renderer
from ronda.reports.run import customer_reports, file_stem
from ronda.reports.words import lang_of, month_name
from ronda.sla import SlaPolicy
from ronda.store import Store
from ronda.tickets import utcnow

CHECK_EVERY = 900.0  # seconds between two looks at the calendar
KIND = "report"

_TEXT = {
    "en": (
        "Monthly report: {month}",
        "Hello {name},\n\nattached is the report of {month}: your sites' uptime, the cases "
        "we worked on and how fast we answered, and the hours logged.\n\nOpen the attached "
        "file in any browser; it needs no internet connection, and the browser can print it "
        "to PDF.\n\n{agency}\n",
    ),
    "es": (
        "Informe mensual: {month}",
        "Hola, {name}:\n\nadjuntamos el informe de {month}: la disponibilidad de sus sitios, "
        "los casos que atendimos y qué tan rápido respondimos, y las horas registradas.\n\n"
        "Abra el archivo adjunto en cualquier navegador; no necesita conexión a internet, y "
        "el navegador puede imprimirlo a PDF.\n\n{agency}\n",
    ),
}


def report_key(month: Month, customer: str) -> str:
    return f"report:{month}:{customer}"


def due_month(now: datetime, config: Config) -> Month:
    """The month whose reports are due now: last month's on the desk's calendar, on any day
    (not only the 1st: a desk down on the 1st catches up at its first look after it)."""
    return Month.before(now, SlaPolicy.from_config(config).timezone)


def recipients(config: Config) -> list[tuple[Customer, str]]:
    """The customers who opted in and have an address to write to."""
    return [
        (c, c.contact_address)  # type: ignore[misc]
        for c in config.customers
        if c.reports and c.contact_address
    ]


@dataclass(frozen=True, slots=True)
class MonthlyResult:
    month: Month
    queued: int = 0
    already: int = 0
    without_address: tuple[str, ...] = ()

    def describe(self) -> str:
        text = f"reports for {self.month}: {self.queued} queued, {self.already} sent before"
        if self.without_address:
            text += f"; no address for {', '.join(self.without_address)}"
        return text


def report_mail(
    config: Config, customer: Customer, to: str, month: Month, html: str, now: datetime
) -> MIMEMultipart:
    """The mail: a text part and the report as an attached HTML file, headers as the
    desk's other automatic messages have them."""
    lang = lang_of(customer.lang or config.lang)
    subject, body = _TEXT[lang]
    agency = config.reports.agency
    name = excerpt(customer.name, 60)
    shown = month_name(month.year, month.month, lang)
    subject = subject.format(month=shown) + (f" - {excerpt(agency, 60)}" if agency else "")
    text = compose_mail(
        sender=(agency, config.mail.desk_address),
        to=(name, to),
        subject=subject,
        body=body.format(name=name, month=shown, agency=agency),
        now=now,
        automatic=True,
    )
    msg = MIMEMultipart("mixed")
    for header in ("From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted"):
        msg[header] = text[header]
    msg["X-Auto-Response-Suppress"] = "All"
    msg.attach(text)
    attachment = MIMEText(html, "html", "utf-8")
    attachment.add_header(
        "Content-Disposition", "attachment", filename=f"{file_stem(customer.name, month)}.html"
    )
    msg.attach(attachment)
    return msg


def send_monthly(config: Config, store: Store, now: datetime) -> MonthlyResult:
    """Queue last month's report of every customer who opted in and has none queued yet."""
    month = due_month(now, config)
    wanted = recipients(config)
    missing = tuple(c.name for c in config.customers if c.reports and not c.contact_address)
    todo = [(c, to) for c, to in wanted if store.outbox.get(report_key(month, c.name)) is None]
    queued = 0
    if todo:
        renderer = Renderer(config.reports)
        built = customer_reports(config, store, month, [c.name for c, _ in todo], now=now)
        for (customer, to), report in zip(todo, built, strict=True):
            msg = report_mail(config, customer, to, month, renderer.render(report), now)
            if queue_mail(
                store,
                msg,
                key=report_key(month, customer.name),
                kind=KIND,
                to=to,
                ticket_id=None,
                envelope_from=config.mail.desk_address,
                now=now,
                thread=False,
            ):
                queued += 1
    return MonthlyResult(month, queued, len(wanted) - len(todo), missing)


class MonthlyReportsThread(PeriodicThread):
    """Looks at the calendar every `every` seconds and sends what `send_monthly` says."""

    thread_name = "ronda-reports"

    def __init__(
        self,
        store: Store,
        config: Callable[[], Config],
        on_report: Callable[[str, bool], object],
        *,
        queued: Callable[[], object] = lambda: None,
        every: float = CHECK_EVERY,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`config` is asked at each look (the running one); `on_report` gets a line when
        something was queued or failed; `queued` wakes the outbox's sender."""
        super().__init__()
        self.store = store
        self.config = config
        self.on_report = on_report
        self.queued = queued
        self.every = every
        self.clock = clock
        self._told: set[Month] = set()  # months whose missing addresses were reported

    def interval(self) -> float:
        return self.every

    def run_once(self) -> MonthlyResult | None:
        """One look now; a failure is reported and tried again at the next look."""
        config = self.config()
        if not any(c.reports for c in config.customers):
            return None
        try:
            result = send_monthly(config, self.store, self.clock())
        except Exception as error:  # the store's errors among them: the next look retries
            self.on_report(f"reports: not queued, tried again later: {error}", True)
            return None
        if result.queued or (result.without_address and result.month not in self._told):
            self.on_report(result.describe(), False)
            self._told.add(result.month)
        if result.queued:
            self.queued()
        return result


__all__ = [
    "CHECK_EVERY",
    "KIND",
    "MonthlyReportsThread",
    "MonthlyResult",
    "due_month",
    "recipients",
    "report_key",
    "report_mail",
    "send_monthly",
]
