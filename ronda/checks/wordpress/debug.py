"""PHP warnings, notices and deprecations printed into a working (2xx) page. Pure.

With `display_errors` on, PHP writes `Warning: Undefined variable $x in /home/u/public_html/
wp-content/plugins/p/p.php on line 12` into the page (wrapped in `<b>` tags by its HTML
formatter): visitors see it, and it discloses the server's paths. The evidence keeps the
message and the file only from `wp-content/`, `wp-includes/` or `wp-admin/` on (enough to
name the plugin or theme), never the account's home directory.

Fatal and parse errors are outages and are classified elsewhere (`ronda.checks.classify`).
"""

from __future__ import annotations

import re

from ronda.checks.classify import Finding
from ronda.display import visible
from ronda.model import FailureClass

SCAN_BYTES = 512 * 1024
MAX_SHOWN = 3

_TAGS = re.compile(rb"</?b>", re.I)
_MESSAGE = re.compile(
    rb"(?:^|[\s>])(Warning|Notice|Deprecated|Strict Standards|User Warning|User Notice|"
    rb"User Deprecated):\s+([^\n<]{1,400}?) in (\S{1,300}\.php) on line (\d{1,7})",
    re.I,
)
_WP_DIRS = ("wp-content/", "wp-includes/", "wp-admin/")


def short_path(path: str) -> str:
    """A file path as evidence shows it: from the WordPress directory on, else its name."""
    for marker in _WP_DIRS:
        at = path.find(marker)
        if at >= 0:
            return path[at:]
    return path.replace("\\", "/").rsplit("/", 1)[-1]


_PATH_IN_MESSAGE = re.compile(r"( in (?:<b>)?)(/[^\s<>]{1,300}?\.php)((?:</b>)? on line )")


def redact_paths(text: str) -> str:
    """`text` (a body excerpt) with the files PHP's messages name cut as `short_path` does:
    the page discloses the account's home directory; the desk's evidence need not."""
    return _PATH_IN_MESSAGE.sub(lambda m: m.group(1) + short_path(m.group(2)) + m.group(3), text)


def php_messages(body: bytes | None) -> list[str]:
    """`Warning: message in wp-content/…/file.php on line N`, once each, in page order."""
    if not body or b" on line " not in body:
        return []
    text = _TAGS.sub(b"", body[:SCAN_BYTES])
    out: list[str] = []
    for match in _MESSAGE.finditer(text):
        kind, message, path, line = (g.decode("utf-8", "replace") for g in match.groups())
        shown = f"{kind.title()}: {message.strip()} in {short_path(path)} on line {line}"
        shown = visible(shown)
        if shown not in out:
            out.append(shown)
        if len(out) >= 20:
            break
    return out


def judge_php_warnings(status: int | None, body: bytes | None) -> Finding | None:
    """`php_warning` on a 2xx page that shows PHP's own messages."""
    if status is None or not 200 <= status < 300:
        return None
    messages = php_messages(body)
    if not messages:
        return None
    listed = "; ".join(m[:300] for m in messages[:MAX_SHOWN])
    more = len(messages) - MAX_SHOWN
    return Finding(
        FailureClass.PHP_WARNING,
        None,
        f"PHP prints {len(messages)} message(s) into the page (display_errors is on): {listed}"
        + (f"; and {more} more" if more > 0 else ""),
    )
