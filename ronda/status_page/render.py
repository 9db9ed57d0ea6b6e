"""Status pages to HTML (Jinja2, autoescaped, sandboxed: the agency may override the
templates) and onto disk as one folder swapped in whole, so a web server never serves a
half-written page."""

from __future__ import annotations

import base64
import hashlib
import hmac
import mimetypes
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from ronda.status_page.build import BAR_WIDTH, RECENT_DAYS, Bar, Page

TEMPLATE = "status.html.j2"
BUILT_IN = Path(__file__).resolve().parent / "templates"
DEFAULT_COLOUR = "#1f4e79"
LOGO_MAX_BYTES = 256 * 1024
KEEP_GENERATIONS = 2  # the one served and the one before (a reader may still hold it)


class StatusPageError(Exception):
    """The pages cannot be written where asked (one line naming the path)."""


def environment(templates: Path | None = None) -> SandboxedEnvironment:
    """The template environment: the agency's folder first, then the built-in templates.
    Sandboxed (a template cannot reach Python) and autoescaped (site text is hostile)."""
    loaders = [FileSystemLoader(str(templates))] if templates is not None else []
    loaders.append(FileSystemLoader(str(BUILT_IN)))
    return SandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(["html", "j2", "htm"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def logo_src(logo: str | None, base: Path | None = None) -> str | None:
    """An https:// URL as it is, or a small image file embedded as a data URI (the page
    then needs nothing else from the web server)."""
    if not logo:
        return None
    if logo.startswith("https://"):
        return logo
    path = Path(logo).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    kind = mimetypes.guess_type(path.name)[0]
    if kind is None or not kind.startswith("image/"):
        raise StatusPageError(f"{path}: the logo must be an image file (png, svg, jpg)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StatusPageError(f"{path}: cannot read the logo ({exc.strerror})") from exc
    if len(data) > LOGO_MAX_BYTES:
        raise StatusPageError(f"{path}: the logo is over {LOGO_MAX_BYTES // 1024} KiB")
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def bars_svg(bars: Sequence[Bar], width: int, height: int, label: str) -> Markup:
    """A site's day bars as inline SVG, each with its tooltip (`<title>`). Made here rather
    than in the template: it is most of a page, and the sandbox's per-attribute checks
    would make it the slowest part. Every text is escaped."""
    rects = "".join(
        f'<rect x="{int(b.x)}" y="0" width="{BAR_WIDTH}" height="{int(height)}" rx="1" '
        f'class="{escape(b.css)}"><title>{escape(b.label)}</title></rect>'
        for b in bars
    )
    return Markup(
        f'<svg class="bars" viewBox="0 0 {int(width)} {int(height)}" '
        f'preserveAspectRatio="none" role="img" aria-label="{escape(label)}">{rects}</svg>'
    )


def render(
    page: Page,
    env: SandboxedEnvironment,
    *,
    colour: str | None = None,
    logo: str | None = None,
) -> str:
    return env.get_template(TEMPLATE).render(
        page=page,
        colour=colour or DEFAULT_COLOUR,
        logo=logo,
        recent_days=RECENT_DAYS,
        bars_svg=bars_svg,
    )


_SLUG = re.compile(r"[^a-z0-9]+")


def slug(name: str) -> str:
    """A folder name from a customer's name: `Cliente Sano` -> `cliente-sano`."""
    import unicodedata

    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _SLUG.sub("-", ascii_name.lower()).strip("-") or "page"


def private_slug(name: str, secret: str | None) -> str:
    """The customer's folder: its slug, and with a secret a keyed digest of the name too
    (HMAC-SHA256, 16 hex digits), stable across passes and unguessable without it."""
    base = slug(name)
    if not secret:
        return base
    digest = hmac.new(secret.encode(), name.encode(), hashlib.sha256).hexdigest()[:16]
    return f"{base}-{digest}"


def write_site(out: Path, pages: Iterable[tuple[str, str]]) -> Path:
    """Write (folder, html) pages as `out/<folder>/index.html`, all at once: the files go
    into a new sibling folder, and `out` (a symbolic link Ronda owns) is switched to it
    with one rename. Returns the folder now served.

    `out` must not exist, or be such a link, or an empty folder (replaced by the link)."""
    out = Path(out)
    parent = out.parent
    parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and not out.is_symlink():
        if out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        else:
            raise StatusPageError(
                f"{out}: exists and is not a status page Ronda wrote; give a new path"
            )
    stamp = f"{time.time_ns()}"
    generation = Path(tempfile.mkdtemp(prefix=f".{out.name}.{stamp}.", dir=parent))
    try:
        generation.chmod(0o755)  # served by a web server: world-readable, as pages are
        for folder, html in pages:
            if not folder or "/" in folder or folder.startswith("."):
                raise StatusPageError(f"{folder!r} is not a page folder name")
            target = generation / folder
            target.mkdir(mode=0o755)
            target.chmod(0o755)
            index = target / "index.html"
            index.write_text(html, encoding="utf-8")
            index.chmod(0o644)
        link = parent / f".{out.name}.{stamp}.link"
        os.symlink(generation.name, link)  # relative: the pair may move together
        os.replace(link, out)  # atomic: readers see the old site or the new one
    except BaseException:
        shutil.rmtree(generation, ignore_errors=True)
        raise
    _prune(parent, out.name, generation)
    return generation


def _prune(parent: Path, name: str, current: Path) -> None:
    """Remove older generations, keeping the newest few."""
    olds = sorted(
        (p for p in parent.glob(f".{name}.*") if p.is_dir() and not p.is_symlink()),
        key=lambda p: p.name,
    )
    for old in olds[:-KEEP_GENERATIONS]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)


__all__ = [
    "DEFAULT_COLOUR",
    "StatusPageError",
    "environment",
    "logo_src",
    "render",
    "slug",
    "write_site",
]
