"""Scope triage of a customer's message, in Spanish and English: which category, which
priority to suggest, and whether the contract covers it or it is billed by the hour.

A pure matcher of rules. Each rule names keywords (accent- and case-insensitive whole words,
`*` at a word's end for a prefix, punctuation between words ignored) or regular expressions
(`re:` prefix, matched against the lower-cased text without accents) and sets any of
category, priority and scope. Rules are read in order and, for each of the three fields, the
first matching rule that sets it wins; the agency's `[[mail.rules]]` come before the
defaults, so they override them. The defaults follow the contract's catalogue and are data:
`triage_rules.toml` next to this module, the same `[[mail.rules]]` tables, read and checked
once. The result is a suggestion: agents change it.
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

# The config's own TOML error machinery, so a broken rules file reads like a broken config.
from ronda.config import Customer, KeyPath, Site, format_key_path
from ronda.config.errors import describe, syntax_problem
from ronda.config.lines import LineMap
from ronda.model import CATEGORIES, SCOPES, Impact, Priority

DEFAULT_PRIORITY = Priority.MEDIUM


class RuleError(ValueError):
    """Rules that cannot be used; `problems` names each by its `mail.rules[i]` position
    (after `FILE:LINE:` when the rules come from a file)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def fold(text: str) -> str:
    """Lower case without accents: "Caído" and "caido" read the same."""
    folded = text.casefold()
    if folded.isascii():  # nothing to decompose (every keyword of the rules, most mail)
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_WORD = re.compile(r"\w+")
_TERM_WORD = re.compile(r"\w+\*?")

# A keyword as words, each (word, is_prefix): "programada* no se public*" ->
# (("programada", True), ("no", False), ("se", False), ("public", True)).
Phrase = tuple[tuple[str, bool], ...]


def _phrase(term: str) -> Phrase:
    return tuple((w.rstrip("*"), w.endswith("*")) for w in _TERM_WORD.findall(fold(term)))


class Text:
    """A message folded and split into words once, for every rule to look up."""

    __slots__ = ("folded", "words", "at", "vocabulary")

    def __init__(self, text: str) -> None:
        self.folded = fold(text)
        self.words = _WORD.findall(self.folded)
        self.at: dict[str, list[int]] = {}
        for index, word in enumerate(self.words):
            self.at.setdefault(word, []).append(index)
        self.vocabulary = sorted(self.at)

    def _starts(self, word: str, prefix: bool) -> list[int]:
        if not prefix:
            return self.at.get(word, [])
        found: list[int] = []
        i = bisect_left(self.vocabulary, word)
        while i < len(self.vocabulary) and self.vocabulary[i].startswith(word):
            found.extend(self.at[self.vocabulary[i]])
            i += 1
        return found

    def has(self, phrase: Phrase) -> bool:
        """The words of `phrase` appear in a row (punctuation between them is ignored)."""
        if not phrase:
            return False
        (first, first_prefix), rest = phrase[0], phrase[1:]
        words = self.words
        for start in self._starts(first, first_prefix):
            if start + len(rest) >= len(words):
                continue
            for offset, (word, prefix) in enumerate(rest, start=start + 1):
                candidate = words[offset]
                if not (candidate.startswith(word) if prefix else candidate == word):
                    break
            else:
                return True
        return False


@dataclass(frozen=True, slots=True)
class Rule:
    """`match`: keywords or `re:` regexes; any of the three fields may be None."""

    name: str
    match: tuple[str, ...]
    category: str | None = None
    priority: Priority | None = None
    scope: str | None = None
    # Built once: keywords as word sequences (looked up, no scan per keyword) and the
    # `re:` terms as one alternation over the folded text.
    phrases: tuple[Phrase, ...] = field(init=False, repr=False, compare=False)
    regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        patterns = [t[3:] for t in self.match if t.startswith("re:")]
        phrases = tuple(_phrase(t) for t in self.match if not t.startswith("re:"))
        regex = re.compile("|".join(f"(?:{p})" for p in patterns), re.I) if patterns else None
        object.__setattr__(self, "phrases", tuple(p for p in phrases if p))  # frozen: once
        object.__setattr__(self, "regex", regex)

    def matches(self, text: Text) -> bool:
        if any(text.has(phrase) for phrase in self.phrases):
            return True
        return self.regex is not None and self.regex.search(text.folded) is not None


@dataclass(frozen=True, slots=True)
class Triage:
    """The suggestion an agent sees on the ticket (evidence `triage`)."""

    category: str | None
    priority: Priority
    scope: str  # one of SCOPES, or "unknown" when no rule said anything about scope
    matched_rules: tuple[str, ...]

    @property
    def billable(self) -> bool:
        return self.scope == "billable"

    def as_evidence(self) -> dict:
        return {
            "category": self.category,
            "priority": str(self.priority),
            "scope": self.scope,
            "matched_rules": list(self.matched_rules),
        }


# ---- rules from tables: the agency's [[mail.rules]] and the package's own -----------------

RULES_FILE = Path(__file__).with_name("triage_rules.toml")  # package data: Ronda's own rules
_RULE_KEYS = ("name", "match", "category", "priority", "scope")
_PRIORITIES = tuple(p.value for p in Priority)
# (key path under mail.rules, message): (3, "match", 0) is mail.rules[3].match[0].
_Problems = list[tuple[KeyPath, str]]


def _text_list(value: object, path: KeyPath, problems: _Problems) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not value:
        what = "is missing" if value is None else f"{describe(value)} is not a list"
        what = "is empty" if isinstance(value, list | tuple) else what
        problems.append((path, f"{what} (expected a non-empty list of keywords or 're:' patterns)"))
        return ()
    out: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            problems.append(
                (path + (i,), f"{describe(item)} is not a keyword (expected a non-empty string)")
            )
            continue
        out.append(item)
    patterns = [(i, item[3:]) for i, item in enumerate(out) if item.startswith("re:")]
    if patterns:
        # The rule runs its patterns as one alternation (Rule.regex): compiling that exact
        # text checks what will run, and re's cache hands the result to the Rule.
        try:
            re.compile("|".join(f"(?:{p})" for _, p in patterns), re.I)
        except re.error as combined:
            located = False
            for i, pattern in patterns:
                try:
                    re.compile(pattern, re.I)
                except re.error as exc:
                    problems.append(
                        (
                            path + (i,),
                            f"invalid regular expression {pattern!r}: {exc} "
                            "(expected a Python regular expression after 're:')",
                        )
                    )
                    located = True
            if not located:  # each compiles alone, not together (a group name used twice)
                problems.append(
                    (
                        path,
                        f"the 're:' patterns do not compile together: {combined} "
                        "(expected patterns that can be joined with '|')",
                    )
                )
            return ()
    return tuple(out)


def _compile(entries: Iterable[Mapping | Rule]) -> tuple[tuple[Rule, ...], _Problems]:
    """Rules from tables, and every problem found on the way (paths under mail.rules)."""
    rules: list[Rule] = []
    problems: _Problems = []
    for index, entry in enumerate(entries):
        if isinstance(entry, Rule):
            rules.append(entry)
            continue
        if not isinstance(entry, Mapping):
            problems.append(((index,), f"expected a table, got {type(entry).__name__}"))
            continue
        unknown = set(entry) - set(_RULE_KEYS)
        if unknown:
            problems.append(
                (
                    (index,),
                    f"unknown keys {', '.join(sorted(unknown))} (expected {', '.join(_RULE_KEYS)})",
                )
            )
        match = _text_list(entry.get("match"), (index, "match"), problems)
        category = entry.get("category")
        if category is not None and category not in CATEGORIES:
            problems.append(
                (
                    (index, "category"),
                    f"{describe(category)} is not a category "
                    f"(expected one of {', '.join(CATEGORIES)})",
                )
            )
        priority = entry.get("priority")
        if priority is not None and priority not in _PRIORITIES:
            problems.append(
                (
                    (index, "priority"),
                    f"{describe(priority)} is not a priority (expected low, medium or high)",
                )
            )
        scope = entry.get("scope")
        if scope is not None and scope not in SCOPES:
            problems.append(
                (
                    (index, "scope"),
                    f"{describe(scope)} is not a scope (expected one of {', '.join(SCOPES)})",
                )
            )
        if category is None and priority is None and scope is None:
            problems.append(
                ((index,), "sets none of category, priority, scope (expected at least one)")
            )
        if problems:
            continue  # the rules are not returned: building more would be wasted
        rules.append(
            Rule(
                name=str(entry.get("name") or f"config_{index}"),
                match=match,
                category=category,
                priority=Priority(priority) if priority is not None else None,
                scope=scope,
            )
        )
    return tuple(rules), problems


def compile_rules(entries: Iterable[Mapping | Rule]) -> tuple[Rule, ...]:
    """The agency's `[[mail.rules]]` tables -> rules, checked; raises `RuleError` listing
    every problem. Keys: match (required), name, category, priority, scope."""
    rules, problems = _compile(entries)
    if problems:
        raise RuleError(
            [f"{format_key_path(('mail', 'rules', *path))}: {what}" for path, what in problems]
        )
    return rules


def parse_rules(text: str, name: str) -> tuple[Rule, ...]:
    """A rules file (`[[mail.rules]]` tables, as in the config; each with a unique name) ->
    rules, checked as `compile_rules` checks the config's. Raises `RuleError` with one
    `FILE:LINE: mail.rules[i].key: what (expected ...)` line per problem, in line order."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError([syntax_problem(name, text, str(exc))]) from None
    problems: _Problems = [
        ((key,), "unknown key (expected only [[mail.rules]] tables)")
        for key in doc
        if key != "mail"
    ]
    mail = doc.get("mail")
    entries = mail.get("rules") if isinstance(mail, dict) else None
    if isinstance(mail, dict):
        problems += [
            (("mail", key), "unknown key (expected only [[mail.rules]] tables)")
            for key in mail
            if key != "rules"
        ]
    if not isinstance(entries, list) or not entries:
        problems.append((("mail", "rules"), "no rules (expected [[mail.rules]] tables)"))
        entries = []
    rules, found = _compile(entries)
    problems += [(("mail", "rules", *path), what) for path, what in found]
    first: dict[str, int] = {}  # rule name -> index of the rule that has it
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        path = ("mail", "rules", index, "name")
        rule_name = entry.get("name")
        if not isinstance(rule_name, str) or not rule_name.strip():
            where = path if "name" in entry else path[:-1]
            problems.append((where, "has no name (expected a name: the triage evidence lists it)"))
        elif rule_name in first:
            problems.append(
                (
                    path,
                    f"{rule_name!r} is the name of mail.rules[{first[rule_name]}] too "
                    "(expected a unique name)",
                )
            )
        else:
            first[rule_name] = index
    if problems:
        lines = LineMap(text)
        located = sorted(
            (lines.line_of(path), n, path, what) for n, (path, what) in enumerate(problems)
        )
        raise RuleError(
            [
                f"{name}:{line}: {format_key_path(path) or '(top)'}: {what}"
                for line, _, path, what in located
            ]
        )
    return rules


@functools.cache
def default_rules() -> tuple[Rule, ...]:
    """Ronda's own rules, read from the package data file and checked on first use."""
    try:
        text = RULES_FILE.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise RuleError([f"{RULES_FILE}:0: (file): cannot read the file ({reason})"]) from None
    return parse_rules(text, str(RULES_FILE))


def rules_for(config_rules: Iterable[Mapping | Rule] = ()) -> tuple[Rule, ...]:
    """The agency's rules first (they override), then the defaults."""
    return compile_rules(config_rules) + default_rules()


def triage(subject: str, body: str, rules: Iterable[Rule] | None = None) -> Triage:
    """Suggest category, priority and scope for a message from its subject and body, by
    `rules` (default: Ronda's own, `default_rules()`)."""
    text = Text(f"{subject}\n{body}")
    category: str | None = None
    priority: Priority | None = None
    scope: str | None = None
    matched: list[str] = []
    for rule in default_rules() if rules is None else rules:
        if not rule.matches(text):
            continue
        matched.append(rule.name)
        if category is None and rule.category is not None:
            category = rule.category
        if priority is None and rule.priority is not None:
            priority = rule.priority
        if scope is None and rule.scope is not None:
            scope = rule.scope
    if scope is None:
        scope = "covered" if matched else "unknown"
    return Triage(category, priority or DEFAULT_PRIORITY, scope, tuple(matched))


# ---- who wrote, about which site ---------------------------------------------------------


def match_customer(customers: Iterable[Customer], address: str | None) -> Customer | None:
    """The customer of a sender: an exact address first, then the longest matching domain
    (a subdomain of a listed domain counts)."""
    if not address or "@" not in address:
        return None
    address = address.strip().lower()
    domain = address.rpartition("@")[2]
    best: tuple[int, Customer] | None = None
    for customer in customers:
        if address in (e.strip().lower() for e in customer.emails):
            return customer
        for listed in customer.domains:
            listed = listed.strip().lower().lstrip("@")
            if domain == listed or domain.endswith("." + listed):
                if best is None or len(listed) > best[0]:
                    best = (len(listed), customer)
    return best[1] if best else None


def _host(url: str) -> str:
    host = (urlsplit(url if "//" in url else f"//{url}").hostname or "").lower()
    return host.removeprefix("www.")


def match_site(
    sites: Iterable[Site], customer: Customer | None, subject: str, body: str
) -> Site | None:
    """The site a message is about: one whose host name it mentions (the customer's own
    first), else the customer's only site."""
    text = f"{subject}\n{body}".lower()
    own = [s for s in sites if customer is not None and s.customer == customer.name]
    candidates = own + [s for s in sites if s not in own]
    for site in candidates:
        host = _host(site.url)
        if host and re.search(rf"(?<![\w.-]){re.escape(host)}(?![\w-])", text):
            return site
    return own[0] if len(own) == 1 else None


def impact_for(site: Site | None) -> Impact:
    return site.impact if site is not None else Impact.MEDIUM


__all__ = [
    "CATEGORIES",
    "RULES_FILE",
    "Rule",
    "RuleError",
    "SCOPES",
    "Triage",
    "compile_rules",
    "default_rules",
    "fold",
    "impact_for",
    "match_customer",
    "match_site",
    "parse_rules",
    "rules_for",
    "triage",
]
