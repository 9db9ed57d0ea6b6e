"""The REST API's root (`/wp-json/`) answering JSON. Pure.

The block editor and Elementor load everything through the REST API: when a security
plugin disables it, a fatal error breaks it, or a firewall answers it with an HTML page,
they stop loading ("Elementor: no carga el sistema de edición"). A healthy root is a JSON
object naming its namespaces (or routes); anything else is `wp_rest_broken`.
"""

from __future__ import annotations

import json

from ronda.checks.classify import Finding
from ronda.display import visible
from ronda.model import FailureClass

MAX_JSON_BYTES = 2 * 1024 * 1024


def judge_rest(
    url: str,
    status: int | None,
    content_type: str,
    body: bytes | None,
    *,
    error: str | None = None,
    truncated: bool = False,
) -> Finding | None:
    """`wp_rest_broken` unless the answer is the REST index, or too big to read whole."""

    def broken(why: str) -> Finding:
        return Finding(FailureClass.WP_REST_BROKEN, None, f"REST API {url}: {why}")

    if error is not None:
        return broken(f"no answer ({error})")
    if status is None:
        return broken("no answer")
    if truncated:
        return None  # bigger than the probe reads: a large index, not evidence of a failure
    data = body or b""
    try:
        doc = json.loads(data[:MAX_JSON_BYTES]) if data.strip() else None
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: [[[[...
        doc = None
    if doc is None:
        kind = visible(content_type.split(";")[0].strip()[:60]) or "no content type"
        return broken(f"HTTP {status} is not JSON ({kind})")
    if not 200 <= status < 300:
        code = doc.get("code") if isinstance(doc, dict) else None
        said = f" ({visible(str(code)[:80])})" if code else ""
        return broken(f"HTTP {status}{said}")
    if not isinstance(doc, dict) or not ("namespaces" in doc or "routes" in doc):
        return broken("answers JSON that is not the REST index")
    return None
