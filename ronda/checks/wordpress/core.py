"""The WordPress core version a site shows, against the current release. Pure.

A site shows its version in the home page's `<meta name="generator" content="WordPress
6.6.2">` or in its feed's `<generator>https://wordpress.org/?v=6.6.2</generator>` (many
security plugins remove both: then there is nothing to judge). The current releases come
from `[wordpress] latest` or WordPress.org's version-check API (its JSON: `offers`, each
with a `version`; the first is the current release, the others the latest patch of each
older branch still offered).

WordPress numbers its feature releases x.y (6.6, 6.7; 5.9 is followed by 6.0) and its
security and maintenance releases x.y.z. The monthly update is due (`wp_outdated`) when a
site is more than one feature release behind the current one, or misses a patch release
of its own branch (every patch release of an old branch is a security fix).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ronda.checks.classify import Finding
from ronda.model import FailureClass

Version = tuple[int, int, int]

_VERSION = re.compile(r"(\d{1,2})\.(\d{1,2})(?:\.(\d{1,3}))?")
_FEED_GENERATOR = re.compile(
    rb"<generator>\s*https?://wordpress\.org/\?v=(\d{1,2}\.\d{1,2}(?:\.\d{1,3})?)", re.I
)
MAX_API_BYTES = 256 * 1024


def parse_version(text: str | None) -> Version | None:
    """`"6.6"` -> (6, 6, 0), `"6.6.2"` -> (6, 6, 2); None for anything else."""
    if not text:
        return None
    match = _VERSION.fullmatch(text.strip())
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def shown(version: Version) -> str:
    """(6, 6, 0) -> "6.6", (6, 6, 2) -> "6.6.2", as WordPress writes them."""
    major, minor, patch = version
    return f"{major}.{minor}" + (f".{patch}" if patch else "")


def version_from_generator(content: str | None) -> Version | None:
    """The version in a generator meta tag's content ("WordPress 6.6.2"), if it is one."""
    if not content:
        return None
    words = content.strip().split()
    if len(words) >= 2 and words[0].lower() == "wordpress":
        return parse_version(words[1])
    return None


def version_from_feed(body: bytes | None) -> Version | None:
    """The version in a WordPress feed's `<generator>` (the first 64 KiB are enough)."""
    if not body:
        return None
    match = _FEED_GENERATOR.search(body[: 64 * 1024])
    return parse_version(match.group(1).decode()) if match else None


@dataclass(frozen=True, slots=True)
class Releases:
    """The current release and the latest patch of each older branch (major, minor)."""

    current: Version
    branches: dict[tuple[int, int], Version] = field(default_factory=dict)

    def latest_of(self, branch: tuple[int, int]) -> Version | None:
        if branch == self.current[:2]:
            return self.current
        return self.branches.get(branch)


def releases_from_api(data: bytes) -> Releases | None:
    """The version-check API's JSON (format 1.7) -> Releases; None when it is not that."""
    if len(data) > MAX_API_BYTES:
        return None
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: [[[[...
        return None
    offers = doc.get("offers") if isinstance(doc, dict) else None
    if not isinstance(offers, list):
        return None
    versions = [
        v
        for offer in offers[:100]
        if isinstance(offer, dict) and (v := parse_version(str(offer.get("version", ""))))
    ]
    if not versions:
        return None
    current = max(versions)
    branches: dict[tuple[int, int], Version] = {}
    for v in versions:
        if v[:2] not in branches or v > branches[v[:2]]:
            branches[v[:2]] = v
    return Releases(current, branches)


def _feature_index(version: Version) -> int:
    """Feature releases in order: 5.9 -> 59, 6.0 -> 60 (WordPress never goes past x.9)."""
    return version[0] * 10 + version[1]


def judge_core(version: Version | None, releases: Releases | None) -> Finding | None:
    """`wp_outdated` when the monthly update is due; None when current, or nothing known."""
    if version is None or releases is None:
        return None
    current = releases.current
    behind = _feature_index(current) - _feature_index(version)
    site, now = shown(version), shown(current)
    if behind > 1:
        return Finding(
            FailureClass.WP_OUTDATED,
            None,
            f"WordPress {site} is {behind} feature releases behind {now}",
        )
    latest = releases.latest_of(version[:2])
    if latest is not None and version < latest:
        what = "the current release" if latest == current else "the security release"
        return Finding(
            FailureClass.WP_OUTDATED,
            None,
            f"WordPress {site} misses {shown(latest)}, {what} of its branch (current {now})",
        )
    return None
