"""What an agent types in the search box, as a query of the `ticket_search` index.

Word by word: a ticket matches when each word of the search is in it somewhere (its
number, subject, site, customer, requester or the bodies of its messages), in any order,
whatever the case and the accents (the index folds both, see migration 13). Each word of two
letters or more matches as a prefix, so the list narrows as the agent types; a word of one
letter is a word of its own (as a prefix it would match most of the desk). A case number
may be typed as it is read out: `R-1016`, `r 1016`, `r1016` all look for 1016.
"""

from __future__ import annotations

import re
import unicodedata

# The index's tokenizer (unicode61) keeps letters, digits and private-use characters
# together and splits on everything else; so does this, on the agent's text.
_WORD = re.compile(r"[^\W_]+")
# The letter of a case number before its digits: `R-1016`, `r 1016`, `R1016`.
_CASE = re.compile(r"(?<![^\W_])r[\s-]*(?=\d)", re.IGNORECASE)
MIN_PREFIX = 2


def search_words(text: str) -> list[str]:
    """The words of a search, as the index cuts them (case number letters dropped)."""
    text = unicodedata.normalize("NFC", text)
    return _WORD.findall(_CASE.sub("", text))


def match_expression(text: str) -> str | None:
    """The FTS5 MATCH expression for a search, or None when it has no word to look for.

    Every word is quoted, so nothing the agent types is read as FTS5 syntax (AND, NEAR,
    column filters); the words are ANDed.
    """
    words = search_words(text)
    if not words:
        return None
    return " ".join(f'"{w}"*' if len(w) >= MIN_PREFIX else f'"{w}"' for w in words)


__all__ = ["MIN_PREFIX", "match_expression", "search_words"]
