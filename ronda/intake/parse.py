"""MIME -> a plain message: decoded headers, one text body, attachment names, loop signals.

Pure and forgiving: customers' mail arrives malformed, in latin-1 or windows-1252 under any
label, HTML-only, or with no Message-ID; none of that may lose the message. The parser is
the stdlib's most tolerant (compat32), and every decode falls back instead of raising.

Bounded: a message whose structure is deep or has very many parts (the stdlib parser
recurses once per level and builds every part) is read by `_bounded_tree` instead, which
splits multiparts itself, stops at `MAX_MIME_DEPTH` levels and `MAX_MIME_PARTS` parts, and
says what it left out in `ParsedMail.cut`.
"""

from __future__ import annotations

import codecs
import email
import email.errors
import email.header
import email.parser
import email.utils
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.policy import compat32
from html.parser import HTMLParser

BODY_CAP_BYTES = 64 * 1024  # stored body text, UTF-8 bytes
SUBJECT_CAP = 300  # characters
TRIAGE_TEXT_CAP = 20_000  # characters of body the triage rules read
MAX_MIME_DEPTH = 20  # nesting levels of multipart and message/* parts that are read
MAX_MIME_PARTS = 200  # parts read of one message; the rest are left out (and said so)
AUTH_RESULTS_CAP = 20  # Authentication-Results headers kept (a trusted one is near the top)

# Header lines relays add on the way: a duplicated delivery may differ only in these, so a
# synthesized Message-ID hashes the message without them.
TRACE_HEADERS = frozenset(
    {
        "received",
        "return-path",
        "delivered-to",
        "x-original-to",
        "x-received",
        "arc-seal",
        "arc-message-signature",
        "arc-authentication-results",
        "authentication-results",
        "received-spf",
    }
)
NO_REPLY_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_ROBOT_LOCALPARTS = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)([+.\-_].*)?$"
)
_MSGID = re.compile(r"<[^<>\s]+>")
# C0 controls except tab and newline, and DEL: a stored body must not carry terminal escapes.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_WS = re.compile(r"[ \t\f\v\u00a0]+")
_BLANKS = re.compile(r"\n{3,}")


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    content_type: str
    size: int  # bytes as transferred (encoded), an estimate of the file's size


@dataclass(frozen=True, slots=True)
class ParsedMail:
    """What the desk keeps of one message."""

    message_id: str  # "<...>"; synthesized when missing (`message_id_synthetic`)
    from_addr: str | None  # lower-case address, None when unreadable
    from_name: str
    subject: str
    body: str  # plain text (HTML converted), control characters removed, capped
    size: int  # raw bytes
    message_id_synthetic: bool = False
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    reply_to: str | None = None
    to: tuple[str, ...] = ()
    date: datetime | None = None
    body_truncated: bool = False
    html_only: bool = False
    attachments: tuple[Attachment, ...] = ()
    auto_submitted: str | None = None  # the header's value, lower case
    precedence: str | None = None
    is_list: bool = False  # List-Id or List-Unsubscribe present
    suppress_auto_reply: bool = False  # X-Auto-Response-Suppress / X-Autoreply / X-Autorespond
    defects: tuple[str, ...] = ()  # what was malformed, and every `cut`
    cut: tuple[str, ...] = ()  # what the structure limits left unread, in words for the agent
    auth_results: tuple[str, ...] = ()  # Authentication-Results values, top (newest) first

    def no_reply_reason(self) -> str | None:
        """Why an automatic acknowledgement must not go back (RFC 3834), or None."""
        if self.auto_submitted and self.auto_submitted != "no":
            return f"auto-submitted: {self.auto_submitted}"
        if self.precedence in NO_REPLY_PRECEDENCE:
            return f"precedence: {self.precedence}"
        if self.is_list:
            return "mailing list"
        if self.suppress_auto_reply:
            return "auto-reply suppressed"
        if self.from_addr is None:
            return "no sender address"
        if _ROBOT_LOCALPARTS.match(self.from_addr.partition("@")[0]):
            return f"robot sender {self.from_addr}"
        return None

    def thread_ids(self) -> list[str]:
        """Message-IDs this one answers, nearest first: In-Reply-To, then References from
        the last (the parent) back to the root."""
        ids = [self.in_reply_to] if self.in_reply_to else []
        ids.extend(ref for ref in reversed(self.references) if ref not in ids)
        return ids


# ---- text decoding ----------------------------------------------------------------------


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    try:
        name = codecs.lookup(name).name
    except LookupError:
        return None
    # Mail labelled latin-1 or ASCII is very often windows-1252 (curly quotes, euro sign),
    # as web browsers also assume; cp1252 decodes every latin-1 printable the same.
    if name in ("latin-1", "iso8859-1", "ascii"):
        return "cp1252"
    return name


def decode_text(data: bytes, charset: str | None = None) -> str:
    """Bytes -> text: the declared charset if it is known and fits, then UTF-8, then
    windows-1252, then latin-1 (which never fails)."""
    tried: list[str] = []
    for name in (_codec(charset), "utf-8", "cp1252"):
        if name is None or name in tried:
            continue
        tried.append(name)
        try:
            return data.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")


def clean_text(text: str) -> str:
    """Remove control characters (terminal escapes, NULs) and normalise line ends."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def decode_header_value(value: str | None) -> str:
    """A raw header value -> one line of text: unfolded, RFC 2047 words decoded with any
    charset (unknown ones fall back), raw 8-bit bytes decoded as UTF-8 or windows-1252."""
    if value is None:
        return ""
    text = str(value)
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        # compat32 keeps undeclared 8-bit header bytes as surrogates.
        text = decode_text(text.encode("ascii", "surrogateescape"))
    text = re.sub(r"\r?\n[ \t]+", " ", text)
    if "=?" in text:
        try:
            parts = email.header.decode_header(text)
            text = "".join(
                chunk if isinstance(chunk, str) else decode_text(chunk, charset)
                for chunk, charset in parts
            )
        except Exception:  # noqa: BLE001 - a malformed encoded word leaves the raw text
            pass
    return " ".join(clean_text(text).split())


def _headers(msg: Message) -> dict[str, list[str]]:
    """Raw header values by lower-case name (raw_items skips compat32's Header wrapping)."""
    out: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        out.setdefault(name.strip().lower(), []).append(value)
    return out


def _first(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _address(value: str | None) -> tuple[str, str | None]:
    """(display name, lower-case address or None)."""
    if not value:
        return "", None
    name, addr = email.utils.parseaddr(decode_header_value(value))
    addr = addr.strip().lower()
    if "@" not in addr or " " in addr or addr.startswith("@") or addr.endswith("@"):
        return name, None
    if len(addr) > 254 or not all(_address_char(ch) for ch in addr):
        # An address shows on the case and in "To:" lines: one that hides or reorders
        # characters (U+202E, U+200B, controls) could pass for another.
        return name, None
    return name, addr


def _address_char(ch: str) -> bool:
    """Letters, marks, digits, punctuation and symbols: no controls, format characters
    (bidi overrides, zero-width) or separators."""
    return unicodedata.category(ch)[0] in "LMNPS"


def _message_ids(value: str | None) -> list[str]:
    if not value:
        return []
    return _MSGID.findall(decode_header_value(value))


def normalize_message_id(value: str | None) -> str | None:
    """`<id@host>` from a header value; bare ids are wrapped; None when empty."""
    if not value:
        return None
    found = _message_ids(value)
    if found:
        return found[0]
    bare = decode_header_value(value).strip()
    if not bare or " " in bare:
        return None
    return f"<{bare}>"


def synthetic_message_id(raw: bytes) -> str:
    """A stable id for a message without one: a hash of its bytes minus trace headers, so
    two deliveries of one message (through different relays) get the same id."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    kept: list[bytes] = []
    skipping = False
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t"):  # continuation of the previous header
            if not skipping:
                kept.append(line.strip())
            continue
        name = line.partition(b":")[0].strip().lower().decode("ascii", "replace")
        skipping = name in TRACE_HEADERS
        if not skipping:
            kept.append(line.rstrip())
    digest = hashlib.sha256(b"\n".join(kept) + b"\n\n" + body.replace(b"\r\n", b"\n"))
    return f"<ronda-{digest.hexdigest()[:40]}@synthetic.invalid>"


# ---- HTML -> text -----------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "br",
        "tr",
        "table",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "hr",
        "section",
        "article",
        "header",
        "footer",
        "title",
    }
)
_HIDDEN_TAGS = frozenset({"script", "style", "template", "title", "head"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden += 1
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Readable text of an HTML body: tags stripped, entities unescaped, script, style and
    head dropped, blocks on their own lines."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - HTMLParser is lenient; keep what it got so far
        pass
    text = "".join(parser.parts)
    lines = [_WS.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


# ---- the message ------------------------------------------------------------------------


def cap_utf8(text: str, limit: int) -> tuple[str, bool]:
    """`text` cut to at most `limit` UTF-8 bytes (on a character boundary)."""
    if len(text) * 4 <= limit:  # fast path: cannot exceed
        return text, False
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text, False
    return data[:limit].decode("utf-8", "ignore"), True


def _payload_size(part: Message) -> int:
    payload = part.get_payload()
    if isinstance(payload, str):
        return len(payload)
    if isinstance(payload, bytes):
        return len(payload)
    return 0


def _body(msg: Message) -> tuple[str, bool, tuple[Attachment, ...]]:
    """(text, html_only, attachments) from the inline text parts."""
    plain: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = (part.get("content-disposition") or "").split(";")[0].strip().lower()
        filename = part.get_param("filename", header="content-disposition") or part.get_param(
            "name"
        )
        if isinstance(filename, tuple):  # RFC 2231 (charset, language, value)
            filename = email.utils.collapse_rfc2231_value(filename)
        is_text = ctype in ("text/plain", "text/html")
        if disposition == "attachment" or filename or not is_text:
            if ctype == "message/rfc822" or part.get_content_maintype() == "multipart":
                continue
            attachments.append(
                Attachment(
                    name=decode_header_value(str(filename)) if filename else "",
                    content_type=ctype,
                    size=_payload_size(part),
                )
            )
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        text = decode_text(data, part.get_content_charset())
        (plain if ctype == "text/plain" else html).append(text)
    if plain:
        return "\n\n".join(t.strip("\r\n") for t in plain), False, tuple(attachments)
    if html:
        return "\n\n".join(html_to_text(t) for t in html), True, tuple(attachments)
    return "", False, tuple(attachments)


# A header line that opens a level of structure: the stdlib parser recurses into each. Read
# on the lower-cased bytes, where the literal prefix makes the search fast.
_CONTAINER = re.compile(rb"content-type:[ \t]*(?:\r?\n[ \t]+)*(?:multipart|message)/")


def _needs_bounds(raw: bytes) -> bool:
    """Whether the stdlib parser could recurse too deep or build too many parts: more
    structure headers than levels allowed, or more boundary-like lines than parts."""
    if raw.count(b"\n--") > 2 * MAX_MIME_PARTS:
        return True
    low = raw.lower()
    found = 1 if _CONTAINER.match(low) else 0
    for match in _CONTAINER.finditer(low):
        if match.start() and low[match.start() - 1] == 0x0A:  # at the start of a line
            found += 1
            if found > MAX_MIME_DEPTH:
                return True
    return False


def _container(part: Message) -> str | None:
    """ "multipart" or "message" when the part holds others (and its payload is still
    text), else None."""
    if part.is_multipart():
        return None
    maintype = part.get_content_maintype()
    if maintype == "multipart" and part.get_boundary():
        return "multipart"
    if part.get_content_type() == "message/rfc822":
        return "message"
    return None


def _split_multipart(text: str, boundary: str) -> tuple[list[str], bool]:
    """The bodies between a multipart's boundary lines, and whether the closing boundary
    was found. Stops reading after `MAX_MIME_PARTS + 1` parts."""
    delimiter = re.compile(r"^--" + re.escape(boundary) + r"(--)?[ \t]*\r?$\n?", re.M)
    bodies: list[str] = []
    start: int | None = None
    for found in delimiter.finditer(text):
        if start is not None:
            # The line break before a delimiter belongs to it (RFC 2046).
            bodies.append(text[start : found.start()].removesuffix("\n").removesuffix("\r"))
            if len(bodies) > MAX_MIME_PARTS:
                return bodies, True
        if found.group(1):
            return bodies, True
        start = found.end()
    if start is not None:
        bodies.append(text[start:])
    return bodies, False


def _bounded_tree(raw: bytes) -> tuple[Message, list[str]]:
    """A compat32 message tree of at most `MAX_MIME_DEPTH` levels and `MAX_MIME_PARTS`
    parts, built without recursion: each part's headers are parsed alone (headersonly)
    and multipart bodies are split on their boundary here. Returns the notes of what was
    left out."""
    text_parser = email.parser.Parser(policy=compat32)
    root = email.parser.BytesParser(policy=compat32).parsebytes(raw, headersonly=True)
    notes: list[str] = []
    parts = 1
    pending: list[tuple[Message, int]] = [(root, 0)]
    while pending:
        part, depth = pending.pop()
        kind = _container(part)
        if kind is None:
            continue
        # The bytes as received (get_payload() without decoding would replace 8-bit bytes),
        # back to text the way the stdlib parser keeps them.
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        payload = data.decode("ascii", "surrogateescape")
        if depth >= MAX_MIME_DEPTH:
            note = f"MIME nested deeper than {MAX_MIME_DEPTH} levels: the inner parts were not read"
            if note not in notes:
                notes.append(note)
            part.set_payload([])
            continue
        if kind == "message":
            bodies, closed = [payload], True
        else:
            bodies, closed = _split_multipart(payload, str(part.get_boundary()))
            if not closed:
                part.defects.append(email.errors.CloseBoundaryNotFoundDefect())
        children: list[Message] = []
        for body in bodies:
            if parts >= MAX_MIME_PARTS:
                note = f"more than {MAX_MIME_PARTS} MIME parts: only the first were read"
                if note not in notes:
                    notes.append(note)
                break
            parts += 1
            children.append(text_parser.parsestr(body, headersonly=True))
        part.set_payload(children)
        pending.extend((child, depth + 1) for child in reversed(children))
    return root, notes


def _tree(raw: bytes) -> tuple[Message, list[str]]:
    """The message's tree: the stdlib parser's for ordinary mail, a bounded one for deep
    or huge structures (and for whatever else makes the stdlib parser recurse too far)."""
    if not _needs_bounds(raw):
        try:
            return email.message_from_bytes(raw), []
        except RecursionError:
            pass
    return _bounded_tree(raw)


def parse_message(raw: bytes, *, body_cap: int = BODY_CAP_BYTES) -> ParsedMail:
    """Parse raw RFC 5322 bytes. Never raises on malformed input."""
    msg, cut = _tree(raw)
    headers = _headers(msg)
    from_name, from_addr = _address(_first(headers, "from"))
    if from_addr is None:
        from_name, from_addr = _address(_first(headers, "sender"))
    _, reply_to = _address(_first(headers, "reply-to"))
    to = tuple(
        addr.lower()
        for _, addr in email.utils.getaddresses(
            [decode_header_value(v) for v in headers.get("to", []) + headers.get("cc", [])]
        )
        if "@" in addr
    )
    message_id = normalize_message_id(_first(headers, "message-id"))
    synthetic = message_id is None
    if message_id is None:
        message_id = synthetic_message_id(raw)
    subject = decode_header_value(_first(headers, "subject"))[:SUBJECT_CAP]
    date: datetime | None = None
    try:
        raw_date = _first(headers, "date")
        if raw_date:
            date = email.utils.parsedate_to_datetime(decode_header_value(raw_date))
    except (TypeError, ValueError, IndexError):
        date = None
    try:
        text, html_only, attachments = _body(msg)
        defects = [type(d).__name__ for part in msg.walk() for d in part.defects]
    except Exception as exc:  # noqa: BLE001 - a broken structure still yields a ticket
        payload = raw.partition(b"\r\n\r\n")[2] or raw.partition(b"\n\n")[2]
        text, html_only, attachments = decode_text(payload), False, ()
        defects = [f"unparseable body: {type(exc).__name__}"]
    defects.extend(cut)
    body, truncated = cap_utf8(clean_text(text).strip(), body_cap)
    auto = decode_header_value(_first(headers, "auto-submitted")).lower() or None
    precedence = decode_header_value(_first(headers, "precedence")).lower() or None
    suppress = decode_header_value(_first(headers, "x-auto-response-suppress")).lower()
    return ParsedMail(
        message_id=message_id,
        message_id_synthetic=synthetic,
        from_addr=from_addr,
        from_name=from_name,
        subject=subject,
        body=body,
        size=len(raw),
        in_reply_to=normalize_message_id(_first(headers, "in-reply-to")),
        references=tuple(_message_ids(" ".join(headers.get("references", [])))),
        reply_to=reply_to,
        to=to,
        date=date,
        body_truncated=truncated,
        html_only=html_only,
        attachments=attachments,
        auto_submitted=auto.split(";")[0].strip() if auto else None,
        precedence=precedence,
        is_list="list-id" in headers or "list-unsubscribe" in headers,
        suppress_auto_reply=bool(
            {"all", "autoreply", "oof"} & {s.strip() for s in suppress.split(",")}
        )
        or "x-autoreply" in headers
        or "x-autorespond" in headers,
        defects=tuple(dict.fromkeys(defects)),
        cut=tuple(cut),
        auth_results=tuple(
            decode_header_value(v) for v in headers.get("authentication-results", [])
        )[:AUTH_RESULTS_CAP],
    )


def strip_quoted(text: str) -> str:
    """The new part of a reply: quoted lines ("> ..."), the "On ... wrote:" line and the
    signature ("-- ") removed, so triage reads what the customer wrote now."""
    kept: list[str] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if line.rstrip() == "--" or stripped.startswith("-----Original Message"):
            break
        if stripped.startswith(">"):
            continue
        if re.match(r"^(on|el)\b.{0,200}\b(wrote|escribi[oó])\s*:$", stripped, re.IGNORECASE):
            continue
        kept.append(line)
    return "\n".join(kept).strip()


__all__ = [
    "Attachment",
    "BODY_CAP_BYTES",
    "MAX_MIME_DEPTH",
    "MAX_MIME_PARTS",
    "ParsedMail",
    "cap_utf8",
    "clean_text",
    "decode_header_value",
    "decode_text",
    "html_to_text",
    "normalize_message_id",
    "parse_message",
    "strip_quoted",
    "synthetic_message_id",
]
