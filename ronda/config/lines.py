"""Where a key is written: key path -> line, by re-scanning TOML text.

tomllib keeps no positions, so the loader records problems by key path and this scanner,
run only when there are problems, maps each path to the line of the text that wrote it.
"""

from __future__ import annotations

import bisect

from ronda.config.errors import BARE_KEY, KeyPath


class LineMap:
    """Key path -> line, by scanning TOML text that tomllib has already accepted.

    Best effort: it follows table headers, arrays of tables, dotted keys, arrays and inline
    tables; a path it cannot place falls back to its nearest placed parent.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0
        self._starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
        self.lines: dict[KeyPath, int] = {}
        self._aot: dict[KeyPath, int] = {}  # array-of-tables path -> entries seen so far
        try:
            self._scan()
        except (IndexError, ValueError):
            pass  # keep whatever was placed before the scanner lost its way

    def line_of(self, path: KeyPath) -> int:
        for n in range(len(path), 0, -1):
            if (line := self.lines.get(path[:n])) is not None:
                return line
        return 1

    def _record(self, path: KeyPath, pos: int) -> None:
        line = bisect.bisect_right(self._starts, pos)
        for n in range(1, len(path) + 1):
            self.lines.setdefault(path[:n], line)

    def _resolve(self, parts: list[str]) -> KeyPath:
        """Header keys -> a path, entering the latest entry of each array of tables."""
        path: KeyPath = ()
        for part in parts:
            path += (part,)
            if path in self._aot:
                path += (self._aot[path] - 1,)
        return path

    def _scan(self) -> None:
        text = self._text
        table: KeyPath = ()
        while True:
            self._skip(newlines=True)
            if self._pos >= len(text):
                return
            start = self._pos
            if text.startswith("[[", start):
                self._pos += 2
                parts = self._key()
                self._skip()
                self._pos += 2
                array = self._resolve(parts[:-1]) + (parts[-1],)
                self._aot[array] = self._aot.get(array, 0) + 1
                table = array + (self._aot[array] - 1,)
                self._record(table, start)
            elif text[start] == "[":
                self._pos += 1
                parts = self._key()
                self._skip()
                self._pos += 1
                table = self._resolve(parts)
                self._record(table, start)
            else:
                path = table + tuple(self._key())
                self._record(path, start)
                self._skip()
                self._pos += 1  # "="
                self._skip()
                self._value(path)

    def _skip(self, *, newlines: bool = False) -> None:
        text = self._text
        while self._pos < len(text):
            ch = text[self._pos]
            if ch in " \t" or (newlines and ch in "\r\n"):
                self._pos += 1
            elif ch == "#":
                end = text.find("\n", self._pos)
                self._pos = len(text) if end < 0 else end
            else:
                return

    def _key(self) -> list[str]:
        parts = []
        while True:
            self._skip()
            text, pos = self._text, self._pos
            if text[pos] == '"':
                parts.append(self._basic_string())
            elif text[pos] == "'":
                end = text.index("'", pos + 1)
                parts.append(text[pos + 1 : end])
                self._pos = end + 1
            else:
                match = BARE_KEY.match(text, pos)
                if not match:
                    raise ValueError("not a key")
                parts.append(match.group())
                self._pos = match.end()
            self._skip()
            if self._pos < len(text) and text[self._pos] == ".":
                self._pos += 1
                continue
            return parts

    def _basic_string(self) -> str:
        text = self._text
        self._pos += 1
        out = []
        while text[self._pos] != '"':
            ch = text[self._pos]
            if ch == "\\":
                code = text[self._pos + 1]
                if code in "uU":
                    width = 4 if code == "u" else 8
                    out.append(chr(int(text[self._pos + 2 : self._pos + 2 + width], 16)))
                    self._pos += 2 + width
                    continue
                out.append({"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r"}.get(code, code))
                self._pos += 2
                continue
            out.append(ch)
            self._pos += 1
        self._pos += 1
        return "".join(out)

    def _value(self, path: KeyPath) -> None:
        text, pos = self._text, self._pos
        if text.startswith('"""', pos) or text.startswith("'''", pos):
            quote = text[pos : pos + 3]
            self._pos = pos + 3
            while not text.startswith(quote, self._pos):
                self._pos += 2 if quote == '"""' and text[self._pos] == "\\" else 1
            self._pos += 3
            while self._pos < len(text) and text[self._pos] == quote[0]:  # up to 2 more quotes
                self._pos += 1
        elif text[pos] == '"':
            self._basic_string()
        elif text[pos] == "'":
            self._pos = text.index("'", pos + 1) + 1
        elif text[pos] == "[":
            self._pos += 1
            index = 0
            while True:
                self._skip(newlines=True)
                if text[self._pos] == "]":
                    self._pos += 1
                    return
                self._record(path + (index,), self._pos)
                self._value(path + (index,))
                self._skip(newlines=True)
                if text[self._pos] == ",":
                    self._pos += 1
                    index += 1
        elif text[pos] == "{":
            self._pos += 1
            while True:
                self._skip(newlines=True)
                if text[self._pos] == "}":
                    self._pos += 1
                    return
                if text[self._pos] == ",":
                    self._pos += 1
                    continue
                start = self._pos
                sub = path + tuple(self._key())
                self._record(sub, start)
                self._skip()
                self._pos += 1  # "="
                self._skip()
                self._value(sub)
        else:  # number, bool, date-time (which may contain a space): up to a delimiter
            while self._pos < len(text) and text[self._pos] not in ",]}\n#":
                self._pos += 1
