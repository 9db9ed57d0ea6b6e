"""Which checked subjects the server correlation counts together, and the rules' memory as
stored. Pure."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from ronda.checks.incidents import SiteState
from ronda.config import Site

log = logging.getLogger(__name__)


def group_of(site: Site) -> str | None:
    """The correlation group of a site or subject: its own `group`, else its server. Web
    sites of a server form one group; a server's mail services another (a mail server down
    is one incident of its own, not the web server's)."""
    return site.group or site.server or None


def correlation_groups(
    subjects: Iterable[Site],
) -> tuple[dict[str, list[Site]], dict[str, str]]:
    """Group -> its members, and group -> the server whose maintenance windows it keeps."""
    members: dict[str, list[Site]] = {}
    servers: dict[str, str] = {}
    for site in subjects:
        group = group_of(site)
        if group is None:
            continue
        members.setdefault(group, []).append(site)
        if site.server:
            servers.setdefault(group, site.server)
    return members, servers


def parse_state(text: str | None) -> SiteState:
    """The rules' memory of one subject as stored (an unreadable one starts afresh)."""
    try:
        return SiteState.from_json(json.loads(text or "{}"))
    except (ValueError, TypeError):
        log.warning("unreadable rules memory %r; starting afresh", (text or "")[:80])
        return SiteState()
