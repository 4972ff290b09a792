"""Reading a delimited text file: bytes to UTF-8, pandas for the body, the csv module else.

:func:`parse_csv` turns a file into the fields of :class:`engine.data.tables.Table`:

* the bytes become UTF-8 with '\\n' line ends (:func:`_utf8`: a BOM, UTF-16,
  else UTF-8, else latin-1; NUL bytes refused);
* the head (:mod:`engine.data.csv_head`: the first records, read by the csv
  module) fixes the delimiter, the number of fields, the header and which
  columns hold text: pandas guesses none of these as we do;
* pandas' C parser reads the body in chunks (:mod:`engine.data.csv_pandas`),
  and checks every chunk against what the csv module and ``float()`` would
  make of it; a file under ``csv_pandas.MIN_BYTES`` (256 KiB) goes straight to
  the csv module, faster there (150 rows: 0.3 ms, against 2.1 ms by pandas);
* a file it declines (one with a cell pandas reads otherwise, a ragged row, a
  blank line, a quoted line break...: a file with something wrong, or rare)
  is read whole by the :mod:`csv` module, whose reading is the meaning every
  file has (:func:`_parse_text`), and which names the file, line and column
  of whatever is wrong.

What stays hand-written and why: pandas has no encoding, delimiter or header
guess, reads decimal commas only when told, pads short rows and reads
``'nan'``, ``'1_000'`` and ``' NA '`` otherwise than ``float()``, and its errors
name neither the file nor the column.  Measured on bench/run.py's 1e6 x 10 file
(102 MiB): see :mod:`engine.data.csv_pandas`.
"""

from __future__ import annotations

import codecs
import gc
import mmap
import os
import re
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np

from engine.data import csv_pandas
from engine.data.csv_head import (
    DataError,
    Head,
    cell_problem,
    check_row_count,
    check_stop,
    is_text,
    looks_like_header,
    parse_column,
    ragged_error,
    read_records,
    shown,
    sniff_delimiter,
    unique_names,
)
from engine.data.csv_rows import LineRows, ParsedCSV

__all__ = [
    "DataError",
    "LineRows",
    "ParsedCSV",
    "cell_problem",
    "is_text",
    "parse_csv",
    "read_bytes",
    "shown",
    "unique_names",
]

_NOT_SPACE = re.compile(rb"\S")
# Files from 4 MiB on (two huge pages) are read into private memory the kernel may back
# with huge pages.
_HUGE_PAGE_READ_BYTES = 1 << 22
_CR_BLOCK = 1 << 24  # bytes per block when line ends are made '\n'
_HUGE_PAGES = all(hasattr(mmap, name) for name in ("MADV_HUGEPAGE", "MAP_PRIVATE", "MAP_ANONYMOUS"))


def parse_csv(
    path,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    use_pandas: bool = True,
) -> ParsedCSV:
    """Read a delimited text file; see :func:`engine.data.tables.read_csv`.

    ``use_pandas=False`` reads every file by the csv module (the reference).
    """
    path = os.fsdecode(path)
    data = _read_file(path)
    n_bytes = len(data)
    check_stop(should_stop, path)
    data, base = _utf8(data, path)
    if data.find(b"\r") != -1:
        # '\r\n', '\r' and '\n' all end a line, as an editor counts them; csv's
        # universal newlines make the same change inside quoted cells.
        data = _unix_line_ends(data)
    if not _NOT_SPACE.search(data, base):
        raise DataError("is empty", path=path)
    parsed = None
    if use_pandas:
        progress = None if progress is None else _Monotone(progress)
        parsed = _read_by_pandas(data, base, path, n_bytes, progress, should_stop)
    if parsed is None:
        text = data[base:].decode("utf-8")
        del data  # the bytes, the text and the cells would all be held at once
        with _gc_paused():
            parsed = _parse_text(text, path, n_bytes, progress, should_stop)
    if progress is not None:
        progress(n_bytes, n_bytes)
    return parsed


def _read_by_pandas(data, base, path, n_bytes, progress, should_stop) -> ParsedCSV | None:
    """The file read by pandas, or None: a head the csv module must read, or a body pandas
    declines (its progress stays where pandas left it), or a small file."""
    if len(data) - base < csv_pandas.MIN_BYTES:
        return None
    try:
        head = Head.read(data, base, path)
    except DataError:
        return None  # the csv module says what is wrong, where
    if head.ragged is not None:
        return None
    quoted = data.find(b'"', head.body_start) != -1
    read = csv_pandas.read_with_pandas
    return read(data, head, path, n_bytes, progress, should_stop, quoted=quoted)


class _Monotone:
    """A progress callback that never reports less than it already did."""

    def __init__(self, progress):
        self._progress = progress
        self._done = 0

    def __call__(self, done: int, total: int) -> None:
        self._done = max(self._done, done)
        self._progress(self._done, total)


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while millions of cell lists are made.

    Each batch of new lists triggers a collection that walks all the older ones,
    which makes reading three times slower; none of them can be garbage.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --- bytes and text ---------------------------------------------------------------------


def read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as err:
        raise DataError(err.strerror or str(err), path=path) from err


def _read_file(path: str):
    """The file's bytes: bytes, or for a big file an mmap.mmap of private memory.

    Both have what the readers use (slices as bytes, find, rfind, len, the buffer
    protocol).  The kernel backs a big private mapping with huge pages when
    asked: reading bench/run.py's 102 MiB file into it took 20-22 ms in a fresh
    process, ``file.read()`` 56-65 ms, its fresh buffer costing a page fault every
    4 KiB (7 runs each, interleaved, load 2.7 on 2 cores).  Reading the two halves
    on two threads, as before, gained nothing measurable (18-24 ms against 20-21).
    """
    try:
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size < _HUGE_PAGE_READ_BYTES or not _HUGE_PAGES:
                return file.read()
            buffer = _private_buffer(size)
            done = 0
            with memoryview(buffer) as view:
                while done < size and (got := file.readinto(view[done:])):
                    done += got
            return buffer if done == size else buffer[:done]  # the file shrank meanwhile
    except OSError as err:
        raise DataError(err.strerror or str(err), path=path) from err


def _private_buffer(size: int) -> mmap.mmap:
    """size bytes of private memory, backed by huge pages where the kernel has them."""
    buffer = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    buffer.madvise(mmap.MADV_HUGEPAGE)
    return buffer


def _unix_line_ends(data):
    """data with every '\\r\\n' and lone '\\r' made '\\n'.

    bytes.replace for bytes; for a big file's mapping, numpy in blocks into a new
    mapping.  On bench/run.py's file with '\\r\\n' (a million lines, 110 MB) that
    took 0.12 s (median 0.14), copying the mapping to bytes and replacing 0.31 s
    (median 0.33), 7 fresh processes each, interleaved, load 2.5 on 2 cores; the
    blocks on two threads, as before, gained nothing measurable.
    """
    if isinstance(data, bytes):
        return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    text = np.frombuffer(data, np.uint8)
    blocks = [(lo, min(lo + _CR_BLOCK, len(text))) for lo in range(0, len(text), _CR_BLOCK)]
    returns = [_carriage_returns(text, block) for block in blocks]
    out = _private_buffer(len(text) - sum(len(pairs) for pairs, _ in returns))
    target, start = np.frombuffer(out, np.uint8), 0
    for (lo, hi), (pairs, lone) in zip(blocks, returns, strict=True):
        keep = np.ones(hi - lo, dtype=bool)
        keep[pairs - lo] = False
        target[start : start + hi - lo - len(pairs)] = text[lo:hi][keep]  # 3x np.compress(out=)
        target[start + lone - lo - np.searchsorted(pairs, lone)] = 10
        start += hi - lo - len(pairs)
    return out


def _carriage_returns(text: np.ndarray, block: tuple[int, int]):
    """Offsets of the '\\r's of text[lo:hi] before a '\\n', and of the others (text: (n,) uint8)."""
    lo, hi = block
    found = np.flatnonzero(text[lo:hi] == 13) + lo
    after = np.minimum(found + 1, len(text) - 1)
    pair = (text[after] == 10) & (found + 1 < len(text))
    return found[pair], found[~pair]


def _utf8(data, path: str) -> tuple[bytes, int]:
    """The file as UTF-8 bytes (or an mmap of them) and the offset of its text (after a BOM).

    Sniffs as before: UTF-16 with a BOM, else UTF-8 (with or without BOM), else
    latin-1, in which every byte decodes.
    """
    start = data[:4]
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Windows' "Unicode text" export: its NUL bytes are text, not binary.
        try:
            return data[:].decode("utf-16").encode("utf-8"), 0
        except UnicodeDecodeError:
            pass
    if data.find(b"\x00") != -1:
        raise DataError("is not a text CSV file (it contains NUL bytes)", path=path)
    if _is_ascii(data) or _is_utf8(data):
        return data, len(codecs.BOM_UTF8) if start.startswith(codecs.BOM_UTF8) else 0
    # Excel on Western Windows writes cp1252/latin-1.
    return data[:].decode("latin-1").encode("utf-8"), 0


def _is_ascii(data) -> bool:
    if isinstance(data, bytes):
        return data.isascii()
    return int(np.frombuffer(data, np.uint8).max(initial=0)) < 0x80


def _is_utf8(data: bytes, step: int = 1 << 24) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(data), step):
            decoder.decode(data[start : start + step])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


# --- the csv-module path (files with quotes) ------------------------------------------


def _parse_text(text, path, n_bytes, progress, should_stop) -> ParsedCSV:
    delimiter = sniff_delimiter(text)
    decimal_comma = delimiter != ","
    records, lines, counts = read_records(text, delimiter, path, n_bytes, progress, should_stop)
    if not records:
        raise DataError("is empty", path=path)
    del text

    differs = counts != counts[0]
    ragged = int(np.argmax(differs)) if differs.any() else None
    has_header = looks_like_header(records[:ragged], decimal_comma)
    if ragged is not None:
        raise ragged_error(len(records[ragged]), records, lines, ragged, has_header, path)
    header_cells = records[0]
    if has_header:
        names = [cell.strip() or f"column_{j + 1}" for j, cell in enumerate(records[0])]
        header = unique_names(names)
        header_line = lines[0]
        records, lines = records[1:], lines[1:]
    else:
        header = [f"column_{j + 1}" for j in range(len(records[0]))]
    check_row_count(len(records), header_line if has_header else None, lines, path)

    numeric = {}
    for name, cells in zip(header, zip(*records, strict=True), strict=True):
        check_stop(should_stop, path)
        values = parse_column(cells, decimal_comma)
        if values is not None and not np.isnan(values).all():
            numeric[name] = values
    source = tuple(header_cells) if has_header else None
    return ParsedCSV(path, header, records, numeric, delimiter, has_header, lines, source)
