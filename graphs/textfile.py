"""Reading files users hand us, safely: a size limit with bounded memory, UTF-8 with or without a
byte-order mark, comma- or semicolon-separated CSV, and every bad row reported in one pass.

Every reader of user files (network packs, shipments, deliveries, scenarios) goes through here.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import stat
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

from graphs.errors import DataPackError, DataPackErrors

MAX_FILE_BYTES = 64 * 1024 * 1024
_DELIMITERS = (",", ";", "\t")


def read_text(path: Path, *, max_bytes: int = MAX_FILE_BYTES, name: str | None = None) -> str:
    """The UTF-8 text of ``path`` (a leading byte-order mark dropped), read only up to
    ``max_bytes``: a larger file, or an endless one like ``/dev/zero``, is refused without being
    read whole. Errors name the file."""
    name = name or path.name
    if path.is_symlink() and not path.exists():
        raise DataPackError(
            f"is a symbolic link to '{os.readlink(path)}', which does not exist", file=name
        )
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise DataPackError("is a directory, not a file", file=name)
            if stat.S_ISREG(info.st_mode) and info.st_size > max_bytes:
                raise DataPackError(_too_large(info.st_size, max_bytes), file=name)
            data = handle.read(max_bytes + 1)
    except IsADirectoryError:
        raise DataPackError("is a directory, not a file", file=name) from None
    except OSError as exc:
        raise DataPackError(f"cannot be read ({exc.strerror or exc})", file=name) from None
    if len(data) > max_bytes:
        raise DataPackError(_too_large(None, max_bytes), file=name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataPackError("is not UTF-8 text", file=name, line=line) from None


def _too_large(size: int | None, max_bytes: int) -> str:
    limit = f"{max_bytes / 1_048_576:g} MB"
    if size is None:
        return f"is larger than the limit of {limit}"
    return f"is {size / 1_048_576:,.1f} MB, larger than the limit of {limit}"


def csv_reader(lines: Iterable[str] | str, columns: Collection[str]) -> Iterator[list[str]]:
    """A ``csv.reader`` over ``lines`` (or whole text) whose delimiter (``,``, ``;`` or tab) is
    the one under which the header names the most known ``columns``; a byte-order mark before
    the header is dropped. The reader's ``line_num`` counts physical lines as usual."""
    if isinstance(lines, str):
        lines = io.StringIO(lines, newline="")
    rest = iter(lines)
    first = next(rest, None)
    if first is None:
        return csv.reader(())
    first = first.removeprefix("\ufeff")
    known = {column.lower() for column in columns}
    best, best_score = ",", 0
    for delimiter in _DELIMITERS:
        try:
            header = next(csv.reader([first], delimiter=delimiter), [])
        except csv.Error:
            continue
        score = sum(cell.strip().lstrip("\ufeff").lower() in known for cell in header)
        if score > best_score:
            best, best_score = delimiter, score
    return csv.reader(itertools.chain([first], rest), delimiter=best)


def delimiter_hint(column: str) -> str:
    """A hint for a header cell that looks like a whole header under another delimiter."""
    for delimiter, name in ((";", "semicolon"), ("\t", "tab")):
        if delimiter in column:
            return f" (the file looks {name}-separated; its header names no known column that way)"
    return ""


def number_hint(text: str) -> str:
    """A hint for a number written with a decimal comma."""
    return " (use '.' for decimals)" if "," in text and "." not in text else ""


class Problems:
    """Problems found in one pass, up to ``DataPackErrors.MAX_PROBLEMS``: ``add`` each one,
    then ``check()`` raises them together (one alone as itself)."""

    def __init__(self) -> None:
        self.errors: list[DataPackError] = []

    def add(self, error: DataPackError) -> None:
        if isinstance(error, DataPackErrors):
            for each in error.errors:
                self.add(each)
            return
        self.errors.append(error)
        if len(self.errors) >= DataPackErrors.MAX_PROBLEMS:
            raise DataPackErrors(self.errors, truncated=True)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def check(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise DataPackErrors(self.errors)
