"""Google Safe Browsing (Lookup API v4) and Web Risk (v1 `uris:search`): the requests and
their answers. Pure: `health` sends them.

The API key travels in the `X-Goog-Api-Key` header, never in the URL, so no log line,
exception or evidence can carry it. A listed site is `flagged_unsafe` ("marcado como
inseguro por Google"): browsers show visitors a red warning page instead of the site.
"""

from __future__ import annotations

import json
from typing import Any

from ronda.checks.classify import Finding
from ronda.display import visible
from ronda.model import FailureClass

SAFE_BROWSING_URL = "https://safebrowsing.googleapis.com/v4/threatMatches:find"
WEB_RISK_URL = "https://webrisk.googleapis.com/v1/uris:search"
THREAT_TYPES = ("MALWARE", "SOCIAL_ENGINEERING", "UNWANTED_SOFTWARE")
MAX_ANSWER_BYTES = 256 * 1024


def safe_browsing_body(urls: list[str]) -> dict[str, Any]:
    """The Lookup API's request for `urls`."""
    return {
        "client": {"clientId": "ronda", "clientVersion": "0.1"},
        "threatInfo": {
            "threatTypes": [*THREAT_TYPES, "POTENTIALLY_HARMFUL_APPLICATION"],
            "platformTypes": ["ANY_PLATFORM"],
            "threatEntryTypes": ["URL"],
            "threatEntries": [{"url": u} for u in urls],
        },
    }


def web_risk_params(url: str) -> list[tuple[str, str]]:
    """The query of Web Risk's `uris:search` for `url` (the key goes in a header)."""
    return [("uri", url), *(("threatTypes", t) for t in THREAT_TYPES)]


class AnswerError(ValueError):
    """The lookup's answer is not in the API's format."""


def threats_of(api: str, data: bytes) -> list[str]:
    """The threat types an answer lists ([] for a clean site); AnswerError when unreadable."""
    if len(data) > MAX_ANSWER_BYTES:
        raise AnswerError("answer too large")
    try:
        doc = json.loads(data) if data.strip() else {}
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: [[[[...
        raise AnswerError("answer is not JSON") from None
    if not isinstance(doc, dict):
        raise AnswerError("answer is not a JSON object")
    found: list[str] = []
    if api == "webrisk":
        threat = doc.get("threat") or {}
        types = threat.get("threatTypes", []) if isinstance(threat, dict) else []
        found = [str(t) for t in types if isinstance(t, str)]
    else:
        for match in doc.get("matches", []) or []:
            if isinstance(match, dict) and isinstance(match.get("threatType"), str):
                found.append(match["threatType"])
    return list(dict.fromkeys(visible(t[:60]) for t in found))[:10]


def judge_threats(url: str, api: str, threats: list[str]) -> Finding | None:
    if not threats:
        return None
    who = "Web Risk" if api == "webrisk" else "Safe Browsing"
    return Finding(
        FailureClass.FLAGGED_UNSAFE,
        None,
        f"Google {who} lists {url} as {', '.join(threats)}",
    )
