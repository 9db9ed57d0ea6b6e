"""The [status_page] section: where `ronda run` writes the customers' status pages, how
often, which sites make the public page, and the agency's templates and branding."""

from __future__ import annotations

import re
from pathlib import Path

from ronda.config.errors import describe
from ronda.config.model import Site, StatusPageSettings
from ronda.config.reader import BAD, Reader

STATUS_PAGE_KEYS = (
    "out",
    "every",
    "customers",
    "public",
    "lang",
    "templates",
    "logo",
    "colour",
    "secret",
)
MIN_SECRET = 16  # characters: a digest keyed by less is guessable
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
MIN_EVERY = 10.0  # seconds: a page rebuilt more often than this only costs


def read_status_page(
    r: Reader, raw: object, base_dir: Path, sites: tuple[Site, ...]
) -> StatusPageSettings:
    """[status_page]: paths relative to the config's folder; `public` names known sites."""
    section = ("status_page",)
    table = r.table(raw, section, STATUS_PAGE_KEYS)
    if not table:
        return StatusPageSettings()
    values: dict = {}
    if "out" in table and (out := r.path(table["out"], section + ("out",), base_dir)) is not BAD:
        values["out"] = out
    if "templates" in table:
        folder = r.folder(table["templates"], section + ("templates",), base_dir)
        if folder is not BAD:
            values["templates"] = folder
    if "every" in table:
        every = r.kind("seconds", table["every"], section + ("every",))
        if every is not BAD and every < MIN_EVERY:
            r.add(section + ("every",), f"{describe(table['every'])} is under {MIN_EVERY:g} s")
        elif every is not BAD:
            values["every"] = every
    if "customers" in table:
        flag = r.kind("bool", table["customers"], section + ("customers",))
        if flag is not BAD:
            values["customers"] = flag
    if "lang" in table:
        lang = r.choice(table["lang"], section + ("lang",), ("en", "es"))
        if lang is not BAD:
            values["lang"] = lang
    if "logo" in table:
        logo = r.string(table["logo"], section + ("logo",))
        if logo is not BAD:
            values["logo"] = logo
    if "colour" in table:
        colour = r.string(table["colour"], section + ("colour",))
        if colour is not BAD and not COLOUR.fullmatch(colour):
            r.add(section + ("colour",), f"{describe(colour)} is not a colour (expected #1a73e8)")
        elif colour is not BAD:
            values["colour"] = colour
    if "secret" in table:
        secret = r.string(table["secret"], section + ("secret",))
        if secret is not BAD and len(secret) < MIN_SECRET:
            r.add(section + ("secret",), f"is under {MIN_SECRET} characters (a long random text)")
        elif secret is not BAD:
            values["secret"] = secret
    if "public" in table:
        values["public"] = _public(r, table["public"], sites)
    return StatusPageSettings(**values)


def _public(r: Reader, raw: object, sites: tuple[Site, ...]) -> tuple[str, ...]:
    path = ("status_page", "public")
    if not isinstance(raw, list):
        r.add(path, f"{describe(raw)} is not a list of site names")
        return ()
    known = {s.name for s in sites}
    out = []
    for i, value in enumerate(raw):
        name = r.string(value, path + (i,))
        if name is BAD:
            continue
        if name not in known:
            r.add(path + (i,), f"{describe(name)} is not a site of this config")
            continue
        out.append(name)
    return tuple(dict.fromkeys(out))
