"""The fixed phrases the probe rounds write as event bodies, in the UI language.

The store keeps what the rounds wrote, in English (`ronda.checks.incidents`, `outages`,
`blind`): `shop: still failing (for 3 h 05 min): HTTP 500`, `http_502 is worse than
http_500`, `site recovered`. Shown in the TUI, a body that still reads as the rounds wrote it
is said again in the UI language; the facts inside it (the site's name, the finding's
detail, durations) are kept as written. Anything else (a note an agent typed, a phrase this
table does not know) is shown as it is: nothing an agent wrote is ever rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ronda.model import FailureClass
from ronda.tui.words import class_label

PROBE_ACTORS = frozenset({"probe"})  # `ronda.checks.rounds.PROBE_ACTOR`

_SITE = r"(?:(?P<site>[^:\n]{1,200}): )?"
_CLS = r"(?P<cls>[a-z][a-z0-9_]{0,60})"
# (pattern, catalogue key): the first that matches the whole body wins.
_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.DOTALL), key)
    for pattern, key in (
        (_SITE + r"still failing \(for (?P<since>[^)\n]{1,40})\): (?P<detail>.*)", "still_for"),
        (_SITE + r"failing again \(for (?P<since>[^)\n]{1,40})\): (?P<detail>.*)", "again_for"),
        (_SITE + r"still failing: (?P<detail>.*)", "still"),
        (_SITE + r"failing again, now " + _CLS + r": (?P<detail>.*)", "again_now"),
        (_SITE + r"now " + _CLS + r": (?P<detail>.*)", "now"),
        (r"failing again (?P<ago>[^\n]{1,40}) after it was resolved", "reopened"),
        (_SITE + r"failing again: (?P<detail>.*)", "again"),
        (
            _SITE + r"recovered after (?P<lasted>[^\n]{1,40}) of failures "
            r"\((?P<rounds>\d{1,6}) good rounds\)",
            "recovered_after",
        ),
        (_CLS + r" is worse than the earlier failure", "worse_earlier"),
        (_CLS + r" is worse than (?P<was>[a-z][a-z0-9_]{0,60})", "worse"),
        (_CLS + r": failing again", "cls_again"),
        (r"WordPress maintenance mode for (?P<lasted>[^\n]{1,40})", "maintenance_for"),
        (r"site recovered", "site_recovered"),
        (r"server recovered", "server_recovered"),
        (r"the desk sees again", "desk_sees"),
        (r"the desk cannot see again", "desk_blind"),
    )
)
# Details the rounds themselves write (not a finding's): said in the UI language too.
_DETAILS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"down and up (?P<n>\d{1,6}) times within (?P<window>[^\n]{1,40})"),
        "flapping",
    ),
)
_CLASS_FIELDS = ("cls", "was")


def _is_class(code: str) -> bool:
    try:
        FailureClass(code)
    except ValueError:
        return False
    return True


def _detail(text: str, t: Callable[..., str]) -> str:
    for pattern, key in _DETAILS:
        match = pattern.fullmatch(text)
        if match:
            return t(f"probe.detail.{key}", **match.groupdict())
    return text


def phrase_words(body: str, t: Callable[..., str]) -> str:
    """`body`, as the rounds wrote it, in the UI language (as it is when unknown)."""
    head, sep, rest = body.partition("\n")
    for pattern, key in _PHRASES:
        match = pattern.fullmatch(head)
        if match is None:
            continue
        fields = {k: v for k, v in match.groupdict().items()}
        for name in _CLASS_FIELDS:
            code = fields.get(name)
            if code is not None:
                if not _is_class(code):
                    break
                fields[name] = class_label(code, t)
        else:
            site = fields.pop("site", None)
            if "detail" in fields:
                fields["detail"] = _detail(fields["detail"], t)
            words = t(f"probe.{key}", **fields)
            if site:
                words = f"{site}: {words}"
            return words + sep + rest
    return body


def event_words(actor: str, body: str, t: Callable[..., str]) -> str:
    """An event's body to show: the rounds' phrases translated, anyone else's as written."""
    if actor not in PROBE_ACTORS or not body:
        return body
    return phrase_words(body, t)


EN_PHRASES: dict[str, str] = {
    "actor.probe": "probe",
    "probe.still_for": "still failing (for {since}): {detail}",
    "probe.again_for": "failing again (for {since}): {detail}",
    "probe.still": "still failing: {detail}",
    "probe.again_now": "failing again, now {cls}: {detail}",
    "probe.now": "now {cls}: {detail}",
    "probe.reopened": "failing again {ago} after it was resolved",
    "probe.again": "failing again: {detail}",
    "probe.recovered_after": "recovered after {lasted} of failures ({rounds} good rounds)",
    "probe.worse_earlier": "{cls} is worse than the earlier failure",
    "probe.worse": "{cls} is worse than {was}",
    "probe.cls_again": "{cls}: failing again",
    "probe.maintenance_for": "WordPress maintenance mode for {lasted}",
    "probe.site_recovered": "site recovered",
    "probe.server_recovered": "server recovered",
    "probe.desk_sees": "the desk sees again",
    "probe.desk_blind": "the desk cannot see again",
    "probe.detail.flapping": "down and up {n} times within {window}",
}

ES_PHRASES: dict[str, str] = {
    "actor.probe": "sonda",
    "probe.still_for": "sigue fallando (desde hace {since}): {detail}",
    "probe.again_for": "vuelve a fallar (desde hace {since}): {detail}",
    "probe.still": "sigue fallando: {detail}",
    "probe.again_now": "vuelve a fallar, ahora {cls}: {detail}",
    "probe.now": "ahora {cls}: {detail}",
    "probe.reopened": "vuelve a fallar {ago} después de resuelto",
    "probe.again": "vuelve a fallar: {detail}",
    "probe.recovered_after": "se recuperó tras {lasted} de fallas ({rounds} rondas buenas)",
    "probe.worse_earlier": "{cls} es peor que la falla anterior",
    "probe.worse": "{cls} es peor que {was}",
    "probe.cls_again": "{cls}: vuelve a fallar",
    "probe.maintenance_for": "WordPress en modo mantenimiento desde hace {lasted}",
    "probe.site_recovered": "el sitio se recuperó",
    "probe.server_recovered": "el servidor se recuperó",
    "probe.desk_sees": "la mesa vuelve a ver",
    "probe.desk_blind": "la mesa vuelve a no ver",
    "probe.detail.flapping": "cae y vuelve {n} veces en {window}",
}


__all__ = ["EN_PHRASES", "ES_PHRASES", "PROBE_ACTORS", "event_words", "phrase_words"]
