"""[replies]: saved replies (macros) agents start a reply from, written in the config and/or
as files in a folder.

```toml
[replies]
templates = "replies"         # NAME.es.txt, NAME.en.txt, NAME.txt (any language)
[[replies.saved]]
name = "Pedimos acceso"
lang = "es"                   # en | es; left out: offered in both
text = "Para revisar {site} necesitamos ..."
```

A field other than `{case}`, `{customer}`, `{site}`, `{limit}` is refused here, with the
file and the line it was written on, so an agent never sends a reply with `{cliente}` in it.
"""

from __future__ import annotations

from pathlib import Path

from ronda.config.errors import KeyPath
from ronda.config.model import SavedReply
from ronda.config.reader import BAD, Reader
from ronda.saved_replies import field_problems

REPLIES_KEYS = ("templates", "saved")
SAVED_KEYS = ("name", "lang", "text")
LANGS = ("en", "es")
# Bounds on a folder of templates: what an agency writes by hand, not a dump.
MAX_FILES = 200
MAX_BYTES = 16 * 1024
MAX_TEXT = 16 * 1024


def read_replies(r: Reader, raw: object, base_dir: Path) -> tuple[SavedReply, ...]:
    table = r.table(raw, ("replies",), REPLIES_KEYS)
    if not table:
        return ()
    out: list[SavedReply] = []
    names: dict[tuple[str, str | None], int] = {}
    for i, entry in r.array_of_tables(table.get("saved", []), ("replies", "saved")):
        path: KeyPath = ("replies", "saved", i)
        r.table(entry, path, SAVED_KEYS)
        reply = _saved(r, entry, path)
        if reply is not None:
            _add(r, out, names, reply, path + ("name",))
    if "templates" in table:
        path = ("replies", "templates")
        expected = "a folder of NAME.es.txt, NAME.en.txt and NAME.txt files"
        folder = r.folder(table["templates"], path, base_dir, expected)
        if folder is not BAD:
            for reply in _folder(r, folder, path):
                _add(r, out, names, reply, path)
    return tuple(out)


def _saved(r: Reader, entry: dict, path: KeyPath) -> SavedReply | None:
    if "name" not in entry:
        r.add(path + ("name",), "missing (every saved reply needs a name)")
        return None
    if "text" not in entry:
        r.add(path + ("text",), "missing (the reply's text)")
        return None
    name = r.string(entry["name"], path + ("name",))
    text = r.string(entry["text"], path + ("text",))
    lang = None
    if "lang" in entry:
        lang = r.choice(entry["lang"], path + ("lang",), LANGS)
    if BAD in (name, text, lang):
        return None
    if len(text) > MAX_TEXT:
        r.add(path + ("text",), f"is {len(text)} characters (expected at most {MAX_TEXT})")
        return None
    ok = True
    for problem in field_problems(text):
        r.add(path + ("text",), f"line {problem.line} of the text: {problem.message}")
        ok = False
    return SavedReply(name, entry["text"].strip("\n"), lang) if ok else None


def _folder(r: Reader, folder: Path, path: KeyPath) -> list[SavedReply]:
    files = sorted(p for p in folder.iterdir() if p.suffix == ".txt" and p.is_file())
    if len(files) > MAX_FILES:
        r.add(path, f"{folder} holds {len(files)} templates (expected at most {MAX_FILES})")
        return []
    out: list[SavedReply] = []
    for file in files:
        stem = file.stem
        lang: str | None = None
        base, dot, suffix = stem.rpartition(".")
        if dot and suffix in LANGS:
            stem, lang = base, suffix
        name = stem.replace("_", " ").replace("-", " ").strip()
        name = name[:1].upper() + name[1:]
        if not name:
            r.add(path, f"{file}: the file name gives no name (expected NAME.es.txt)")
            continue
        try:
            data = file.read_bytes()[: MAX_BYTES + 1]
        except OSError as exc:
            r.add(path, f"{file}:0: cannot read the file ({exc.strerror or exc})")
            continue
        if len(data) > MAX_BYTES:
            r.add(path, f"{file}:0: more than {MAX_BYTES} bytes (a saved reply is a message)")
            continue
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            r.add(path, f"{file}:{line}: not UTF-8 (expected a UTF-8 text file)")
            continue
        problems = field_problems(text)
        for problem in problems:
            r.add(path, f"{file}:{problem.line}: {problem.message}")
        if not text.strip():
            r.add(path, f"{file}:1: the file is empty (expected the reply's text)")
        elif not problems:
            out.append(SavedReply(name, text.strip("\n"), lang))
    return out


def _add(
    r: Reader,
    out: list[SavedReply],
    names: dict[tuple[str, str | None], int],
    reply: SavedReply,
    path: KeyPath,
) -> None:
    key = (reply.name.lower(), reply.lang)
    if key in names:
        lang = f" in {reply.lang}" if reply.lang else ""
        r.add(path, f"{reply.name!r}{lang} is a saved reply already (expected unique names)")
        return
    names[key] = len(out)
    out.append(reply)


__all__ = ["REPLIES_KEYS", "SAVED_KEYS", "read_replies"]
