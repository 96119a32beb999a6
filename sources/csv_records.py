"""CSV bytes -> records, keeping everything needed to judge and trace each one.

Spark's CSV reader cannot do this job: it pads short rows with nulls and silently drops
the fields of long ones, replaces undecodable bytes without a trace, and gives no line
numbers. Here each file is parsed with Python's csv module (quoted fields with
newlines, CRLF, a UTF-8 byte-order mark all handled) and every record keeps its file,
its first line number, its raw text and the problems found:

  wrong_field_count    more or fewer fields than the header
  invalid_utf8         bytes that are not valid text in the declared encoding
  control_characters   NUL or other control characters inside a value
  unterminated_quote   a quote opened and never closed (the rest of the file is this record)
  malformed_quoting    a stray quote inside a field

Blank lines are not records; they are counted per file.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class Record:
    line: int                  # first line of the record, 1-based (the header is line 1)
    fields: list[str]
    raw: str                   # the record's text as in the file (undecodable bytes as \xNN)
    problems: list[str] = field(default_factory=list)


@dataclass
class ParsedFile:
    header: list[str] | None   # None: the file is empty
    records: list[Record]
    blank_lines: int = 0


class _Lines:
    """Line iterator that remembers what the csv reader consumed for the current record."""

    def __init__(self, text: str) -> None:
        self._it = iter(io.StringIO(text, newline=""))
        self.count = 0
        self.taken: list[str] = []

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        line = next(self._it)
        self.count += 1
        self.taken.append(line)
        return line


def parse_csv(content: bytes, *, delimiter: str = ",", quote: str = '"', encoding: str = "utf-8") -> ParsedFile:
    text = content.decode(encoding, errors="surrogateescape" if _surrogate_ok(encoding) else "replace")
    text = text.removeprefix("\ufeff")
    lines = _Lines(text)
    reader = csv.reader(lines, delimiter=delimiter, quotechar=quote, strict=True)
    parsed = ParsedFile(header=None, records=[])
    while True:
        lines.taken = []
        problems: list[str] = []
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            fields = []
            problems.append("unterminated_quote" if "unexpected end of data" in str(exc) else "malformed_quoting")
            if problems[0] == "unterminated_quote":
                lines.taken.extend(lines)  # the open quote swallowed the rest of the file
        raw = "".join(lines.taken)
        first_line = lines.count - len(lines.taken) + 1
        if not fields and not problems and not raw.strip("\r\n"):
            parsed.blank_lines += 1
            continue
        if parsed.header is None and not problems:
            parsed.header = [_text(f).strip() for f in fields]
            continue
        if _has_undecodable(raw):
            problems.append("invalid_utf8")
        if any(CONTROL.search(f) for f in fields):
            problems.append("control_characters")
        if parsed.header is not None and fields and len(fields) != len(parsed.header):
            problems.append("wrong_field_count")
        parsed.records.append(Record(first_line, [_text(f) for f in fields], _shown(raw), problems))
    return parsed


def _surrogate_ok(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in ("utf-8", "utf8", "ascii", "us-ascii")


def _has_undecodable(s: str) -> bool:
    try:
        s.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def _text(s: str) -> str:
    """A value as valid text: undecodable bytes become U+FFFD (the record is quarantined)."""
    return s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _shown(s: str) -> str:
    """The raw record with undecodable bytes visible as \\xNN (nothing hidden, nothing lost)."""
    return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
