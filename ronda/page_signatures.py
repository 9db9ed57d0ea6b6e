"""What WordPress and PHP error pages say, as byte patterns: the classifier
(`ronda.checks.classify`) finds a failure with them, and the ticket screen marks where in the
page excerpt the message matched. Pure."""

from __future__ import annotations

import re

from ronda.model import FailureClass

MAINTENANCE = re.compile(
    rb"Briefly unavailable for scheduled maintenance|"
    rb"Temporalmente no disponible por mantenimiento programado",
    re.I,
)
SIGNATURES: tuple[tuple[FailureClass, re.Pattern[bytes], str], ...] = (
    (
        FailureClass.WP_DB_CONNECTION,
        re.compile(
            rb"Error establishing a database connection|"
            rb"Error al establecer una conexi(?:\xc3\xb3|&oacute;|&#243;|o)n con la base de datos",
            re.I,
        ),
        "WordPress cannot reach its database",
    ),
    (
        FailureClass.PHP_FATAL_TIMEOUT,
        re.compile(rb"Maximum execution time of \d+ seconds? exceeded", re.I),
        "PHP fatal error: maximum execution time exceeded",
    ),
    (
        FailureClass.PHP_SYNTAX_ERROR,
        re.compile(rb"Parse error(?:</b>)?:\s*(?:syntax error|[^<\n]{0,40}unexpected)", re.I),
        "PHP parse error (syntax error)",
    ),
    (
        FailureClass.PHP_FATAL,
        re.compile(
            rb"There has been a critical error on (?:this|your) website|"
            rb"Ha habido un error cr(?:\xc3\xad|&iacute;|&#237;)tico|"
            rb"The site is experiencing technical difficulties|"
            rb"Fatal error(?:</b>)?:\s",
            re.I,
        ),
        "PHP fatal error (critical error page)",
    ),
)
# PHP's plain-text error format: "Fatal error: ... in /path/file.php on line 12".
PHP_PLAIN = re.compile(rb"(?:Fatal|Parse) error:\s[^\n]{0,400}? in \S+ on line \d+", re.I)


def matched_span(text: str) -> tuple[int, int] | None:
    """Where in `text` (a page excerpt) a WordPress or PHP error signature matches, as
    character offsets, for the ticket screen to highlight; None when none does."""
    body = text.encode("utf-8", "surrogatepass")
    patterns = [pattern for _, pattern, _ in SIGNATURES] + [MAINTENANCE, PHP_PLAIN]
    found = [m for p in patterns if (m := p.search(body))]
    if not found:
        return None
    first = min(found, key=lambda m: (m.start(), -m.end()))

    def chars(offset: int) -> int:
        return len(body[:offset].decode("utf-8", "ignore"))

    return chars(first.start()), chars(first.end())


__all__ = ["MAINTENANCE", "PHP_PLAIN", "SIGNATURES", "matched_span"]
