"""The [reports] section: how the monthly customer reports look (the agency's templates,
logo, accent colour and name). Customers opt in to receiving them with `reports = true`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ronda.config.errors import describe
from ronda.config.model import ReportSettings
from ronda.config.reader import BAD, Reader

REPORT_KEYS = ("templates", "logo", "colour", "agency")
LOGO_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg")
MAX_LOGO_BYTES = 512 * 1024  # the logo travels inline in every report
_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def read_reports(r: Reader, raw: object, base_dir: Path) -> ReportSettings:
    """[reports]: a templates folder and a logo relative to the config's folder, a colour."""
    table = r.table(raw, ("reports",), REPORT_KEYS)
    if not table:
        return ReportSettings()
    values: dict[str, Any] = {}
    if "templates" in table:
        folder = r.folder(
            table["templates"], ("reports", "templates"), base_dir, "a folder of report templates"
        )
        if folder is not BAD:
            values["templates"] = folder
    if "logo" in table:
        logo = r.path(table["logo"], ("reports", "logo"), base_dir)
        if logo is not BAD:
            if not logo.is_file():
                r.add(("reports", "logo"), f"{logo} is not a file (expected an image)")
            elif logo.suffix.lower() not in LOGO_SUFFIXES:
                r.add(
                    ("reports", "logo"),
                    f"{logo} is not an image Ronda inlines (expected {', '.join(LOGO_SUFFIXES)})",
                )
            elif logo.stat().st_size > MAX_LOGO_BYTES:
                r.add(
                    ("reports", "logo"),
                    f"{logo} is over {MAX_LOGO_BYTES // 1024} KB (expected a small image: "
                    "it is inlined in every report)",
                )
            else:
                values["logo"] = logo
    if "colour" in table:
        colour = table["colour"]
        if not isinstance(colour, str) or not _COLOUR.fullmatch(colour.strip()):
            r.add(
                ("reports", "colour"),
                f'{describe(colour)} is not a colour (expected e.g. "#1f5f8b")',
            )
        else:
            values["colour"] = colour.strip().lower()
    if "agency" in table:
        agency = r.string(table["agency"], ("reports", "agency"))
        if agency is not BAD:
            values["agency"] = agency.strip()
    return ReportSettings(**values)


__all__ = ["LOGO_SUFFIXES", "MAX_LOGO_BYTES", "REPORT_KEYS", "read_reports"]
