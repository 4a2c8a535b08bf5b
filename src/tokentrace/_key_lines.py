"""Where each key of a JSON or TOML document is written, for error messages that name a line."""

from __future__ import annotations

import json
import re
from typing import Mapping, Union

KeyPath = tuple[Union[str, int], ...]
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = re.compile(r"[,\]}\n#]")


class KeyLines:
    """The line of each key and array element of a JSON or TOML document, by key path.

    A forgiving scanner, run only to report an error in a document its parser already accepted:
    it follows JSON objects, TOML tables, ``[[array tables]]``, dotted and quoted keys, inline
    tables and arrays spanning lines, and skips strings (multi-line ones too) and comments.
    """

    def __init__(self, text: str, toml: bool) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines: dict[KeyPath, int] = {}
        try:
            self._document() if toml else self._value(())
        except RecursionError:  # absurdly deep nesting: keep what was found
            pass

    def line_of(self, path: KeyPath) -> int:
        """The line of ``path``, else of its nearest written parent (a missing field), else 1."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return 1

    def _record(self, path: KeyPath) -> None:
        for end in range(1, len(path) + 1):  # a parent first seen here (TOML super-tables) too
            self.lines.setdefault(path[:end], self.line)

    def _peek(self, count: int = 1) -> str:
        return self.text[self.pos:self.pos + count]

    def _skip(self, newlines: bool) -> None:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t\r":
                self.pos += 1
            elif char == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            elif char == "\n" and newlines:
                self.pos += 1
                self.line += 1
            else:
                return

    def _string(self) -> str:
        text, quote = self.text, self.text[self.pos]
        delimiter = quote * 3 if text.startswith(quote * 3, self.pos) else quote
        end = self.pos + len(delimiter)
        while end < len(text) and not text.startswith(delimiter, end):
            end += 2 if text[end] == "\\" and quote == '"' else 1
        raw = text[self.pos + len(delimiter):end]
        self.line += raw.count("\n")
        self.pos = end + len(delimiter)
        if quote == "'":
            return raw
        try:
            return json.loads(f'"{raw}"')
        except ValueError:
            return raw

    def _key(self) -> KeyPath:
        parts: list[str] = []
        while True:
            self._skip(newlines=False)
            if self._peek() in ('"', "'"):
                parts.append(self._string())
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if match is None:
                    break
                parts.append(match.group())
                self.pos = match.end()
            self._skip(newlines=False)
            if self._peek() != ".":
                break
            self.pos += 1
        return tuple(parts)

    def _value(self, path: KeyPath) -> None:
        self._skip(newlines=True)
        char = self._peek()
        if char == "{":
            self._table(path)
        elif char == "[":
            self._array(path)
        elif char in ('"', "'"):
            self._string()
        else:
            match = _SCALAR_END.search(self.text, self.pos)
            self.pos = match.start() if match else len(self.text)

    def _table(self, path: KeyPath) -> None:
        """A JSON object or a TOML inline table."""
        self.pos += 1
        while self.pos < len(self.text):
            self._skip(newlines=True)
            if self._peek() == "}":
                self.pos += 1
                return
            start = self.pos
            if self._peek() == ",":
                self.pos += 1
                continue
            key = path + self._key()
            self._record(key)
            self._skip(newlines=True)
            if self._peek() in (":", "="):
                self.pos += 1
            self._value(key)
            if self.pos == start:  # not a key: step over it
                self.pos += 1

    def _array(self, path: KeyPath) -> None:
        self.pos += 1
        index = 0
        while self.pos < len(self.text):
            self._skip(newlines=True)
            if self._peek() == "]":
                self.pos += 1
                return
            start = self.pos
            if self._peek() == ",":
                self.pos += 1
                index += 1
                continue
            self._record(path + (index,))
            self._value(path + (index,))
            if self.pos == start:
                self.pos += 1

    def _document(self) -> None:
        """TOML: table headers and ``key = value`` lines."""
        table: KeyPath = ()
        array_tables: dict[KeyPath, int] = {}
        while True:
            self._skip(newlines=True)
            if self.pos >= len(self.text):
                return
            start = self.pos
            if self._peek() == "[":
                table = self._header(array_tables)
            else:
                key = table + self._key()
                self._record(key)
                self._skip(newlines=False)
                if self._peek() == "=":
                    self.pos += 1
                self._value(key)
            if self.pos == start:
                self.pos += 1

    def _header(self, array_tables: dict[KeyPath, int]) -> KeyPath:
        is_array = self._peek(2) == "[["
        self.pos += 2 if is_array else 1
        path = _within_array_tables(self._key(), array_tables)
        self._skip(newlines=False)
        self.pos += 2 if is_array else 1
        if is_array:
            index = array_tables.get(path, -1) + 1
            array_tables[path] = index
            path += (index,)
        self._record(path)
        return path


def _within_array_tables(path: KeyPath, array_tables: Mapping[KeyPath, int]) -> KeyPath:
    """``path`` with the current element index after each ``[[array table]]`` it passes through."""
    resolved: KeyPath = ()
    for index, part in enumerate(path):
        resolved += (part,)
        if resolved in array_tables and index < len(path) - 1:
            resolved += (array_tables[resolved],)
    return resolved
