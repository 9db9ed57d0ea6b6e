"""WordPress health: the `[wordpress]` section and each site's `[sites.wordpress_checks]`.

```toml
[wordpress]
latest = "6.7.1"                 # the current release; without it, the version-check API
version_check_url = "https://api.wordpress.org/core/version-check/1.7/"
version_check_every = "24h"      # how often that API is asked (cached in between)
php_warning_days = 30            # php_eol this long before a branch's end of support
images_per_round = 3             # images of the home page sampled when their turn comes
safe_browsing = "safebrowsing"   # or "webrisk"; needs a key (below), else not looked up
safe_browsing_key_env = "RONDA_SAFE_BROWSING_KEY"   # or safe_browsing_key_file = "key.txt"
safe_browsing_every = "24h"
safe_browsing_concurrency = 4    # lookups in flight at once (they spend no server's budget)
[wordpress.checks]               # every check is on for WordPress sites; turn one off here
images = false
[[sites]]
...
[sites.wordpress_checks]         # or for one site
login = false
```
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ronda.config.errors import KeyPath
from ronda.config.reader import BAD, Reader

# The checks a site may turn off, in the order the extra requests take turns.
CHECKS = (
    "core",
    "php",
    "mixed_content",
    "php_warnings",
    "images",
    "rest_api",
    "login",
    "safe_browsing",
)
MAX_IMAGES_PER_ROUND = 10
VERSION_CHECK_URL = "https://api.wordpress.org/core/version-check/1.7/"
LOOKUP_APIS = ("safebrowsing", "webrisk")
_KINDS = {
    "version_check_every": "seconds",
    "php_warning_days": "count0",
    "images_per_round": "count",
    "safe_browsing_every": "seconds",
    "safe_browsing_concurrency": "count",
    "deadline": "seconds",
}
KEYS = (
    "latest",
    "version_check_url",
    "safe_browsing",
    "safe_browsing_url",
    "safe_browsing_key_env",
    "safe_browsing_key_file",
    "checks",
    *_KINDS,
)


@dataclass(frozen=True, slots=True)
class WordPressSettings:
    """What the WordPress-health checks need besides each site's own switches."""

    latest: str | None = None  # "6.7.1": the current release, instead of asking the API
    version_check_url: str = VERSION_CHECK_URL
    version_check_every: float = 86400.0
    php_warning_days: int = 30
    images_per_round: int = 3
    safe_browsing: str | None = None  # safebrowsing | webrisk (None: no lookups)
    safe_browsing_url: str | None = None  # None: Google's own endpoint for the API
    safe_browsing_key_env: str | None = None
    safe_browsing_key_file: Path | None = None
    safe_browsing_every: float = 86400.0  # per site: Google's quotas are per day
    # Lookups in flight at once across the desk: they go to Google, so they spend no
    # server's budget (`per_server_concurrency`), but are bounded all the same.
    safe_browsing_concurrency: int = 4
    deadline: float = 10.0  # seconds per request to WordPress.org or Google
    checks: frozenset[str] = field(default_factory=lambda: frozenset(CHECKS))  # on by default


def read_wordpress(r: Reader, raw: object, base_dir: Path) -> WordPressSettings:
    """[wordpress]: the current release, the APIs, the default checks."""
    table = r.table(raw, ("wordpress",), KEYS)
    if not table:
        return WordPressSettings()
    path: KeyPath = ("wordpress",)
    values: dict[str, Any] = r.settings(table, path, _KINDS)
    if "latest" in table:
        text = r.string(table["latest"], path + ("latest",))
        if text is not BAD:
            from ronda.checks.wordpress.core import parse_version

            if parse_version(text) is None:
                r.add(path + ("latest",), f'{text!r} is not a version (expected e.g. "6.7.1")')
            else:
                values["latest"] = text
    for key in ("version_check_url", "safe_browsing_url"):
        if key in table:
            url = r.string(table[key], path + (key,))
            if url is not BAD and not url.startswith(("http://", "https://")):
                r.add(path + (key,), f"{url!r} is not a web address (expected https://...)")
            elif url is not BAD:
                values[key] = url
    if "safe_browsing" in table:
        api = r.choice(table["safe_browsing"], path + ("safe_browsing",), LOOKUP_APIS)
        if api is not BAD:
            values["safe_browsing"] = api
    if "safe_browsing_key_env" in table:
        name = r.string(table["safe_browsing_key_env"], path + ("safe_browsing_key_env",))
        if name is not BAD:
            values["safe_browsing_key_env"] = name
    if "safe_browsing_key_file" in table:
        key_file = r.path(
            table["safe_browsing_key_file"], path + ("safe_browsing_key_file",), base_dir
        )
        if key_file is not BAD:
            values["safe_browsing_key_file"] = key_file
    if values.get("safe_browsing") and not (
        "safe_browsing_key_env" in values or "safe_browsing_key_file" in values
    ):
        r.add(
            path + ("safe_browsing",),
            "needs an API key (expected safe_browsing_key_env or safe_browsing_key_file)",
        )
    if values.get("images_per_round", 0) > MAX_IMAGES_PER_ROUND:
        r.add(
            path + ("images_per_round",),
            f"{values.pop('images_per_round')} is more than {MAX_IMAGES_PER_ROUND} (a round "
            "must not send a customer's server a burst; expected 1 to "
            f"{MAX_IMAGES_PER_ROUND})",
        )
    if "checks" in table:
        values["checks"] = switched(frozenset(CHECKS), read_switches(r, table["checks"], path))
    return replace(WordPressSettings(), **values)


def read_switches(r: Reader, raw: object, path: KeyPath) -> tuple[tuple[str, bool], ...]:
    """A `checks` table (`path` is its parent): (check, on) for each valid switch."""
    here = path + ("checks",) if path == ("wordpress",) else path + ("wordpress_checks",)
    table = r.table(raw, here, CHECKS)
    out = []
    for key, value in (table or {}).items():
        if key in CHECKS:
            on = r.kind("bool", value, here + (key,))
            if on is not BAD:
                out.append((key, on))
    return tuple(out)


def switched(base: frozenset[str], switches: tuple[tuple[str, bool], ...]) -> frozenset[str]:
    """`base` with each switch applied."""
    on = set(base)
    for key, value in switches:
        (on.add if value else on.discard)(key)
    return frozenset(on)


def read_site_checks(r: Reader, entry: dict, path: KeyPath) -> tuple[tuple[str, bool], ...]:
    """A site's `[sites.wordpress_checks]` switches over `[wordpress.checks]`."""
    if "wordpress_checks" not in entry:
        return ()
    return read_switches(r, entry["wordpress_checks"], path)


__all__ = [
    "CHECKS",
    "WordPressSettings",
    "read_site_checks",
    "read_wordpress",
    "switched",
]
