"""Argument types for the command line: a bad value is refused by the parser, before any
config is read or a JVM starts, with one line that says what the argument takes.

    parser.add_argument("--limit", type=count(), default=20)
    parser.add_argument("--margin", type=number(0, 0.5))
    parser.add_argument("--out", type=folder_path)
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Callable, NoReturn

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:\d{2})?$")
TIMESTAMP_FORMAT = "YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or YYYY-MM-DD HH:MM:SS.fff (UTC)"


class UsageError(Exception):
    """A command-line mistake found by the parser (exit 2); its message is the whole line."""


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one `error:` line (exit 2) instead of the usage block and
    a second line; `--help` still prints the whole usage."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace | None:
    """`parser.parse_args(argv)`, or None after printing the one-line error of a usage mistake."""
    try:
        return parser.parse_args(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _number(text: str, kind: type) -> int | float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {'a whole number' if kind is int else 'a number'}, "
                                         f"got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _between(low: float | None, high: float | None) -> str:
    if high is None:
        return f">= {low:,}"
    if low is None:
        return f"<= {high:,}"
    return f"between {low:,} and {high:,}"


def count(low: int = 1, high: int | None = None, what: str = "") -> Callable[[str], int]:
    """A whole number in [low, high] (high None: no upper bound)."""

    def parse_count(text: str) -> int:
        value = _number(text, int)
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {_between(low, high)} (got {text}){what}")
        return value

    parse_count.__name__ = "whole number"  # argparse names the type in some messages
    return parse_count


def version(text: str) -> int:
    """A table version: 0, 1, 2, ..."""
    return count(0, what=": table versions start at 0")(text)


def number(low: float, high: float) -> Callable[[str], float]:
    """A number in [low, high]."""

    def parse_number(text: str) -> float:
        value = _number(text, float)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {_between(low, high)} (got {text})")
        return value

    parse_number.__name__ = "number"
    return parse_number


def timestamp(text: str) -> str:
    """A point in time Delta's timestampAsOf reads the same way: checked here, passed on as written."""
    try:
        if not TIMESTAMP.match(text.strip()):
            raise ValueError(text)
        datetime.fromisoformat(text.strip())  # a real date and time: no month 13
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a timestamp: use {TIMESTAMP_FORMAT}, "
                                         f"e.g. '2026-11-21 08:00:00'") from None
    return text.strip()


def folder_path(text: str) -> str:
    """A folder to write into: it may not exist yet, but it cannot be a file, and neither can
    the nearest folder above it that exists."""
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder: name a folder (it is created if missing)")
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise argparse.ArgumentTypeError(f"{text} cannot be created: {parent} is a file, not a folder")
            break
    return text


def add_rebuild(parser: argparse.ArgumentParser) -> None:
    """--rebuild, for the stages that skip a table already built from the same inputs
    (stages/freshness.py)."""
    parser.add_argument("--rebuild", action="store_true",
                        help="recompute even when the last build read the same input versions with the same "
                             "settings and code (by default such a run is skipped as up to date)")
