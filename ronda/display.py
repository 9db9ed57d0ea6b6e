"""Text from outside, made safe to show on a terminal or in a log line.

Sites (headers, redirect targets, certificates, pages) and mail (subjects, bodies, names)
are written by strangers, some of them hostile. A terminal obeys control characters: ESC
sequences can retitle the window (OSC 0), set the agent's clipboard (OSC 52) or wipe the
screen and draw a fake prompt; C1 controls (U+0080-U+009F) do the same on terminals that
read them; bidi overrides (U+202E) reorder what the agent reads. The one rule here shows
each such character visibly instead of letting it act, so an agent still sees that a site
sends garbage: `\\x1b`, `\\x9b`, `<U+202E>`. Everything else, accents and emoji included,
passes unchanged. `--json` output keeps exact values (JSON escapes them itself).

Rich markup needs no escaping here: the TUI renders text as `Text`, never as markup.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import TextIO

# Kept as they are where a caller asks for lines: a newline or a tab acts on layout only.
_LAYOUT = frozenset("\n\t")


@lru_cache(maxsize=4096)
def _shown(ch: str) -> str:
    code = ord(ch)
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return f"\\x{code:02x}"
    # Format characters (bidi controls, zero-width joiners and spaces, BOM), line and
    # paragraph separators, and unassigned or private-use code points.
    return f"<U+{code:04X}>"


def visible(text: object, *, lines: bool = False) -> str:
    """`text` with every control, format and separator character shown as an escape.

    With `lines=True` newlines and tabs stay (a message body shown as lines); otherwise
    they are escaped too, so one value stays one line.
    """
    text = text if isinstance(text, str) else str(text)
    if text.isprintable():  # the common case, at C speed
        return text
    out = []
    for ch in text:
        if ch.isprintable() or (lines and ch in _LAYOUT) or ch == " ":
            out.append(ch)
        elif unicodedata.category(ch) == "Zs":  # other spaces (no-break, thin): harmless
            out.append(ch)
        else:
            out.append(_shown(ch))
    return "".join(out)


def visible_tree(value: object) -> object:
    """A JSON-like value (evidence) with every string in it made `visible`, keys too."""
    if isinstance(value, str):
        return visible(value, lines=True)
    if isinstance(value, Mapping):
        return {visible(str(k)): visible_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [visible_tree(v) for v in value]
    return value


class VisibleStream(io.TextIOBase):
    """A text stream (stdout, stderr) that writes everything through `visible`, lines kept:
    the CLI's output can then never carry a live control character, whichever value it
    prints. JSON output passes unchanged: `json.dumps` escapes to plain ASCII."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(visible(text, lines=True))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.stream.encoding


__all__ = ["VisibleStream", "visible", "visible_tree"]
