"""One bounded pass over a page's HTML: the generator, mixed content, the page's own images.

The stdlib `html.parser` reads the tags that load something, at most `SCAN_BYTES` of the
page, and keeps at most `MAX_URLS` URLs of each kind, so a hostile page costs no more than
its first bytes. Pure. A regular expression first picks those tags out (skipping comments
and scripts' bodies, as a browser does): the parser then reads a few kilobytes of tags
instead of a whole page of text, several times faster (`bench/wordpress_checks.py`).

Mixed content is what makes a browser mark an HTTPS page "not secure" or block parts of it:
`http://` scripts, style sheets, images (`src` and `srcset`), iframes, media and embeds
(links and forms are navigation, not subresources, and are not counted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from ronda.checks.classify import Finding
from ronda.display import visible
from ronda.model import FailureClass

SCAN_BYTES = 512 * 1024
MAX_URLS = 50
SHOWN_URLS = 3  # named in a finding's detail; the rest are counted

# Tag -> the attributes that load a subresource.
_LOADS: dict[str, tuple[str, ...]] = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "track": ("src",),
}
_STYLESHEET_RELS = frozenset({"stylesheet", "preload", "icon"})


def srcset_urls(value: str) -> list[str]:
    """The URLs of a `srcset` ("a.jpg 300w, b.jpg 2x")."""
    out = []
    for part in value.split(",")[:20]:
        words = part.strip().split()
        if words:
            out.append(words[0])
    return out


@dataclass(slots=True)
class PageFacts:
    """What the scan kept: the generator meta, insecure subresources, image URLs (as written)."""

    generator: str | None = None
    insecure: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.facts = PageFacts()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        facts = self.facts
        values = {k: v for k, v in attrs if v is not None}
        if tag == "meta" and values.get("name", "").lower() == "generator":
            if facts.generator is None:
                facts.generator = values.get("content", "")[:200]
            return
        urls: list[tuple[str, str]] = []  # (attribute, url)
        if tag == "link":
            rels = set(values.get("rel", "").lower().split())
            if rels & _STYLESHEET_RELS and "href" in values:
                urls.append(("href", values["href"]))
        for attr in _LOADS.get(tag, ()):
            if attr in values:
                if attr == "srcset":
                    urls += [(attr, u) for u in srcset_urls(values[attr])]
                else:
                    urls.append((attr, values[attr]))
        for _attr, url in urls:
            url = url.strip()
            if url.lower().startswith("http://") and len(facts.insecure) < MAX_URLS:
                facts.insecure.append(url)
            if tag in ("img", "source") and len(facts.images) < MAX_URLS:
                if url and url not in facts.images and not url.lower().startswith("data:"):
                    facts.images.append(url)

    handle_startendtag = handle_starttag


# The start of a comment or of a tag that may load something (the page lower-cased).
_CANDIDATE = re.compile(
    rb"<(?:!--|script\b|meta\b|link\b|img\b|iframe\b|frame\b|source\b|video\b|audio\b"
    rb"|embed\b|object\b|track\b)"
)
MAX_TAGS = 2000


def _tags(head: bytes) -> bytes:
    """The tags of `head` the scanner reads, one after the other: comments and scripts'
    bodies skipped (they load nothing), `<meta>` and `<link>` only when they may matter."""
    low = head.lower()
    out: list[bytes] = []
    pos = 0
    while len(out) < MAX_TAGS:
        match = _CANDIDATE.search(low, pos)
        if match is None:
            break
        start, name = match.start(), match.group(0)
        if name == b"<!--":
            close = low.find(b"-->", start + 4)
            pos = len(low) if close < 0 else close + 3
            continue
        end = low.find(b">", start)
        if end < 0:
            break
        pos = end + 1
        tag = low[start:pos]
        if name == b"<script":
            close = low.find(b"</script", pos)
            pos = len(low) if close < 0 else close + 8
            # Self-closed: the parser must not read what follows as the script's body.
            out.append(head[start:end].rstrip(b"/") + b" />")
        elif name == b"<meta":
            if b"generator" in tag:
                out.append(head[start:pos])
        elif name == b"<link":
            if b"stylesheet" in tag or b"icon" in tag or b"preload" in tag:
                out.append(head[start:pos])
        else:
            out.append(head[start:pos])
    return b"\n".join(out)


def scan_page(body: bytes | None, charset: str = "utf-8") -> PageFacts:
    """The facts of the first `SCAN_BYTES` of `body` (decoded leniently)."""
    if not body:
        return PageFacts()
    tags = _tags(body[:SCAN_BYTES])
    try:
        text = tags.decode(charset, errors="replace")
    except LookupError:
        text = tags.decode("utf-8", errors="replace")
    scanner = _Scanner()
    try:
        scanner.feed(text)
        scanner.close()
    except (AssertionError, ValueError):  # the stdlib parser's own refusals: keep what it saw
        pass
    return scanner.facts


def _listed(urls: list[str]) -> str:
    shown = ", ".join(visible(u[:120]) for u in urls[:SHOWN_URLS])
    more = len(urls) - SHOWN_URLS
    return shown + (f" and {more} more" if more > 0 else "")


def judge_mixed_content(page_url: str, facts: PageFacts) -> Finding | None:
    """`mixed_content` when an HTTPS page loads anything over http://."""
    if not page_url.lower().startswith("https://") or not facts.insecure:
        return None
    unique = list(dict.fromkeys(facts.insecure))
    return Finding(
        FailureClass.MIXED_CONTENT,
        None,
        f"{len(unique)} resource(s) loaded over http:// on an HTTPS page: {_listed(unique)}",
    )


def own_images(page_url: str, facts: PageFacts, limit: int) -> list[str]:
    """Up to `limit` absolute image URLs on the page's own host (no third-party CDN is
    fetched: what fails there is not this site's), in page order."""
    host = (urlsplit(page_url).hostname or "").lower()
    out: list[str] = []
    for raw in facts.images:
        try:
            url = urljoin(page_url, raw)
            parts = urlsplit(url)
            same = parts.scheme in ("http", "https") and (parts.hostname or "").lower() == host
        except ValueError:
            continue
        if same and url not in out:
            out.append(url.split("#", 1)[0])
        if len(out) >= limit:
            break
    return out


def judge_images(answers: list[tuple[str, int | None, str]]) -> Finding | None:
    """`broken_images` from (url, status, error) of the sampled images: 4xx/5xx answers.

    A transport error (timeout, reset) is not evidence of a missing file, so it is not
    counted; the next sample tries again.
    """
    broken = [(u, s) for u, s, _err in answers if s is not None and s >= 400]
    if not broken:
        return None
    listed = ", ".join(f"{visible(u[:120])} (HTTP {s})" for u, s in broken[:SHOWN_URLS])
    more = len(broken) - SHOWN_URLS
    return Finding(
        FailureClass.BROKEN_IMAGES,
        None,
        f"{len(broken)} of {len(answers)} sampled images fail: {listed}"
        + (f" and {more} more" if more > 0 else ""),
    )
