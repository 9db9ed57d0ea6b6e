"""The report as one self-contained HTML file: Jinja2 templates, the agency's over ours.

Templates live in `ronda/reports/templates/` (`report.html`, which includes `report.css`);
`[reports] templates = "folder"` names a folder whose files of the same name replace them.
The environment is sandboxed (an agency's template cannot reach Python's internals) and
autoescapes, so every value from outside (a subject, a site's name, a note) is text, never
markup. The logo is inlined as a data URI and the charts are inline SVG: the file opens
with no network. The print CSS (`@page`, page breaks) makes a browser's "Print to PDF", or
WeasyPrint's, a clean document.
"""

from __future__ import annotations

import base64
import mimetypes
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from ronda.config import ReportSettings
from ronda.reach.words import FAILURES, PRIORITIES
from ronda.reports import words
from ronda.reports.data import CustomerReport, SiteAvailability

SHIPPED = Path(__file__).resolve().parent / "templates"
TEMPLATE = "report.html"
DAY_WIDTH = 10  # the daily bars' SVG units per day
BAR_HEIGHT = 28
# Bar colour classes by a day's uptime (the CSS colours them).
_BANDS = ((0.999, "good"), (0.99, "fair"), (0.0, "poor"))


@dataclass(frozen=True, slots=True)
class Part:
    """A stretch of a day's bar: from `y` down `height` SVG units, coloured by `css`."""

    y: float
    height: float
    css: str


@dataclass(frozen=True, slots=True)
class Bar:
    """One day's bar in the site's chart: from the top, the time not measured (grey), in
    maintenance (blue), then the measured time coloured by the day's uptime."""

    x: int
    width: int
    css: str
    title: str
    parts: tuple[Part, ...]


def band(ratio: float | None) -> str:
    if ratio is None:
        return "none"
    return next(name for floor, name in _BANDS if ratio >= floor)


def bars(site: SiteAvailability, lang: str) -> list[Bar]:
    """The site's daily bars, left to right."""
    out = []
    text = words.TEXT[words.lang_of(lang)]
    for i, day in enumerate(site.days):
        label = words.percent(day.ratio, lang) if day.ratio is not None else text["not_measured"]
        length = day.seconds or 1.0
        parts, y = [], 0.0
        for seconds, css in (
            (day.unmeasured_seconds, "none"),
            (day.maintenance_seconds, "maintenance"),
        ):
            if seconds > 0:
                height = BAR_HEIGHT * min(1.0, seconds / length)
                parts.append(Part(round(y, 2), round(height, 2), css))
                y += height
        if y < BAR_HEIGHT - 0.01:
            parts.append(Part(round(y, 2), round(BAR_HEIGHT - y, 2), band(day.ratio)))
        extra = []
        if day.maintenance_seconds:
            extra.append(f"{text['maintenance']} {words.amount(day.maintenance_seconds, lang)}")
        if day.unmeasured_seconds and day.ratio is not None:
            extra.append(f"{text['not_measured']} {words.amount(day.unmeasured_seconds, lang)}")
        title = f"{day.day}: {label}" + (f" ({', '.join(extra)})" if extra else "")
        out.append(Bar(i * DAY_WIDTH, DAY_WIDTH - 2, band(day.ratio), title, tuple(parts)))
    return out


def logo_uri(path: Path | None) -> str | None:
    """The logo as a data URI (it travels inside the file); None without one."""
    if path is None:
        return None
    kind = "image/svg+xml" if path.suffix.lower() == ".svg" else mimetypes.guess_type(path)[0]
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:{kind or 'application/octet-stream'};base64,{data}"


class Renderer:
    """The templates, loaded once: render as many reports as asked."""

    def __init__(self, settings: ReportSettings | None = None) -> None:
        self.settings = settings or ReportSettings()
        folders = [SHIPPED]
        if self.settings.templates is not None:
            folders.insert(0, self.settings.templates)
        self.env = SandboxedEnvironment(
            loader=ChoiceLoader([FileSystemLoader(str(f)) for f in folders]),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,  # a typo in a template is an error, not a blank
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["amount"] = words.amount
        self.env.filters["percent"] = words.percent
        self.env.globals["band"] = band
        self._logo = logo_uri(self.settings.logo)
        self._template = self.env.get_template(TEMPLATE)

    def render(self, report: CustomerReport) -> str:
        lang = words.lang_of(report.lang)
        tz = report.tz

        def when(at: object) -> str:
            return words.when(at, tz)  # type: ignore[arg-type]

        def stamp(at: object) -> Markup:
            """`when(at)` with its date kept on one line: a narrow cell (a printed page)
            breaks it at the space, never inside `2026-11-10`."""
            text = when(at)
            date, _, clock = text.partition(" ")
            if not clock:
                return Markup("{}").format(text)
            return Markup('<span class="day">{}</span> {}').format(date, clock)

        return self._template.render(
            r=report,
            t=words.TEXT[lang],
            lang=lang,
            states=words.STATES[lang],
            statuses=words.STATUSES[lang],
            when=when,
            stamp=stamp,
            day=lambda at: words.day(at, tz),
            amount=lambda s: words.amount(s, lang),
            percent=lambda x: words.percent(x, lang),
            month_name=words.month_name(report.month.year, report.month.month, lang),
            first_day=words.day(report.start, tz),
            last_day=words.day(report.end - timedelta(seconds=1), tz),
            failures={str(k): v for k, v in FAILURES[lang].items()},
            sentence=sentence,
            priorities={str(k): v for k, v in PRIORITIES[lang].items()},
            attention_words=words.ATTENTION[lang],
            zone=getattr(tz, "key", str(tz)),
            bars=lambda site: bars(site, lang),
            day_width=DAY_WIDTH,
            bar_height=BAR_HEIGHT,
            colour=self.settings.colour,
            agency=self.settings.agency,
            logo=self._logo,
        )


def sentence(text: str) -> str:
    """`it answers with ...` as a cell's text begins: its first letter a capital (the rest
    as it is: `HTTP 500` stays)."""
    return text[:1].upper() + text[1:]


def check(settings: ReportSettings) -> list[str]:
    """The problems of the agency's report templates (empty when they load): a syntax error
    names the file and line, for `ronda check-config`."""
    from jinja2 import TemplateError, TemplateSyntaxError

    if settings.templates is None:
        return []
    try:
        renderer = Renderer(settings)
        renderer.env.get_template("report.css")
    except TemplateSyntaxError as error:
        return [f"{error.filename or settings.templates}:{error.lineno}: {error.message}"]
    except (TemplateError, OSError, UnicodeDecodeError) as error:
        return [f"{settings.templates}: the report templates cannot be used ({error})"]
    return []


__all__ = [
    "BAR_HEIGHT",
    "DAY_WIDTH",
    "SHIPPED",
    "TEMPLATE",
    "Bar",
    "Part",
    "Renderer",
    "band",
    "bars",
    "check",
    "sentence",
]
