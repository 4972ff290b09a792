"""One block of a CSV file without quotes: its cells, and the plain numbers among them.

:func:`scan_block` splits whole lines of UTF-8 bytes into cells and parses every
plain number (``[+-]digits[.digits][e[+-]digits]``) exactly as ``float()``
would, bit for bit, with numpy alone: eight digits at a time from 64-bit
words, one correctly rounded division where the operands are exact (Clinger's
fast path) and a double-double product where they are not
(:func:`times_power`).  Cells it cannot prove exact are left to ``float()``
(``ok`` is False there).  :mod:`engine.data.csv_scan` runs it block by block.
"""

from __future__ import annotations

import threading
from fractions import Fraction
from typing import NamedTuple

import numpy as np

_PAD = 8  # bytes before a block's text, so that every 8-byte word before a cell exists
_NL, _DOT, _MINUS, _PLUS, _COMMA, _SPACE = 10, 46, 45, 43, 44, 32
_U = np.uint64
_ZEROS = _U(0x3030303030303030)
_M1, _M2, _M3 = _U(0x0F0F0F0F0F0F0F0F), _U(0x00FF00FF00FF00FF), _U(0x0000FFFF0000FFFF)
_K1, _K2, _K3 = _U(10 * 256 + 1), _U(100 * 65536 + 1), _U(10000 * 2**32 + 1)
_MAX_DIGITS = 24  # per side of the decimal point: three 8-digit words
_POW10_U64 = np.array([10**k % 2**64 for k in range(_MAX_DIGITS + 1)], dtype=_U)
_POW10 = np.array([10.0**k for k in range(23)])  # exact doubles
_TWO53 = _U(2**53)
_Q_MIN, _Q_MAX = -300, 300


def _power_table():
    """10**q as a double-double hi + lo, and hi split in two 26-bit halves, q in [-300, 300]."""
    exact = [Fraction(10) ** q for q in range(_Q_MIN, _Q_MAX + 1)]
    hi = np.array([float(f) for f in exact])
    lo = np.array([float(f - Fraction(h)) for f, h in zip(exact, hi.tolist(), strict=True)])
    scaled = hi * 134217729.0
    hi_hi = scaled - (scaled - hi)
    return hi, lo, hi_hi, hi - hi_hi


_TABLE: tuple[np.ndarray, ...] | None = None


def _powers():
    global _TABLE
    if _TABLE is None:
        _TABLE = _power_table()
    return _TABLE


_local = threading.local()


def _scratch(name: str, size: int, dtype) -> np.ndarray:
    """A per-thread buffer reused from block to block.

    Fresh megabytes per block cost page faults again and again on a worker
    thread, whose malloc arena gives freed memory back to the system.
    """
    buffer = getattr(_local, name, None)
    if buffer is None or buffer.size < size:
        buffer = np.empty(max(size, 1 << 16), dtype)
        setattr(_local, name, buffer)
    return buffer[:size]


class _Words:
    """The uint64 at every byte offset of a block, as aligned gathers from 8 shifted copies.

    Unaligned gathers cost numpy about five times as much.
    """

    def __init__(self, buf: np.ndarray, m: int):
        words = _scratch("words", 8 * m, _U).reshape(8, m)
        as_bytes = words.view(np.uint8)
        for r in range(8):
            as_bytes[r] = buf[r : r + 8 * m]
        self.flat = words.reshape(-1)
        self.m = m

    def before(self, end: np.ndarray) -> np.ndarray:
        """Where the word of the 8 bytes before each offset is; ``- i`` steps i words back."""
        start = end - 8
        index = start & 7
        index *= self.m
        start >>= 3
        index += start
        return index

    def digits(self, at: np.ndarray, n: np.ndarray) -> np.ndarray:
        """The value of the last n (uint64, 0..8) decimal digits of the words at ``at``."""
        v = self.flat[at]
        v ^= _ZEROS
        shift = _U(8) - n
        shift <<= _U(3)
        v >>= shift  # drops the bytes before the digits (little-endian: the low ones)
        v <<= shift
        # Eight digits to a number in three steps: pairs, quads, the whole word.
        v &= _M1
        v *= _K1
        v >>= _U(8)
        v &= _M2
        v *= _K2
        v >>= _U(16)
        v &= _M3
        v *= _K3
        v >>= _U(32)
        return v

    def number(self, at: np.ndarray, n: np.ndarray, n_words: int) -> np.ndarray:
        """The value of the last n (uint64, up to 8 * n_words) digits, modulo 2**64."""
        value = self.digits(at, np.minimum(n, _U(8)))
        for i in range(1, n_words):
            part = self.digits(at - i, _digits_in_word(n, i))
            part *= _U(10 ** (8 * i))
            value += part
        return value


def _digits_in_word(n: np.ndarray, i: int) -> np.ndarray:
    """How many of the last n digits fall in the i-th word back: n - 8i within [0, 8]."""
    low = _U(8 * i)
    part = np.maximum(n, low)
    part -= low
    np.minimum(part, _U(8), out=part)
    return part


class Block(NamedTuple):
    values: np.ndarray  # (T,) float64, valid where ok
    ok: np.ndarray  # (T,) bool: the cell is a plain number, read exactly
    starts: np.ndarray  # (T,) cell start offsets in the data
    ends: np.ndarray  # (T,) cell end offsets
    line_ends: np.ndarray  # indices of the cells that end a line
    bare: np.ndarray | None  # (T,) bool: the cell has no digit (for a single column only)


def scan_block(
    data: bytes, lo: int, hi: int, delimiter: int, comma_is_point: bool, single_column=False
) -> Block:
    """Split data[lo:hi] (whole lines) into cells and read the plain numbers among them."""
    with np.errstate(all="ignore"):  # the arithmetic runs on every cell, text included
        return _scan_block_unchecked(data, lo, hi, delimiter, comma_is_point, single_column)


def _scan_block_unchecked(data, lo, hi, delimiter, comma_is_point, single_column) -> Block:
    n = hi - lo
    m = (_PAD + n + 1 + 15) // 8
    buf = _scratch("buf", 8 * m + 8, np.uint8)
    buf[:_PAD] = 48
    buf[_PAD : _PAD + n] = np.frombuffer(data, np.uint8, n, lo)
    end = _PAD + n
    if buf[end - 1] != _NL:
        buf[end] = _NL  # the last line of a file without a final newline
        end += 1
    buf[end:] = 48
    text = buf[_PAD:end]
    special = np.flatnonzero((text - 48) > 9)  # every byte that is not a digit
    kind = text[special]
    special += _PAD
    is_newline = kind == _NL
    is_separator = kind == delimiter
    is_separator |= is_newline
    separators = np.flatnonzero(is_separator)
    cell_end = special[separators]
    cell_start = np.empty_like(cell_end)
    cell_start[0] = _PAD
    np.add(cell_end[:-1], 1, out=cell_start[1:])
    line_ends = np.flatnonzero(is_newline[separators])

    # Walk each cell's non-digit bytes in order: a space, sign, point, e, exponent
    # sign; a plain number has used them all when the walk reaches the separator
    # (or a last space before it: "1.5, 2.5" is common).
    k = np.empty_like(separators)
    k[0] = 0
    np.add(separators[:-1], 1, out=k[1:])
    bare = (separators - k) == (cell_end - cell_start) if single_column else None
    number_start, number_end, trailing = cell_start, cell_end, 0
    if (kind == _SPACE).any():
        space = kind[k] == _SPACE
        space &= special[k] == cell_start
        number_start = cell_start + space
        k += space
        last = separators - 1
        trailing = kind[last] == _SPACE
        trailing &= special[last] == cell_end - 1
        number_end = cell_end - trailing
    first = kind[k]
    lead = (first == _MINUS) | (first == _PLUS)
    lead &= special[k] == number_start
    negative = lead & (first == _MINUS)
    k += lead
    at = kind[k]
    has_point = at == _DOT
    if comma_is_point:
        has_point |= at == _COMMA
    point = special[k]  # the point, else the e or the end of the cell
    k += has_point
    has_e = (kind[k] | 32) == ord("e")
    mantissa_end = special[k]  # the e, else the end of the cell
    any_e = bool(has_e.any())
    if any_e:
        k += has_e
        at = kind[k]
        e_sign = (at == _MINUS) | (at == _PLUS)
        e_sign &= has_e
        e_sign &= special[k] == mantissa_end + 1
        e_negative = e_sign & (at == _MINUS)
        k += e_sign
    ok = k == separators - trailing
    n_int = point - number_start
    n_int -= lead
    n_frac = mantissa_end - point
    n_frac -= has_point
    n_digits = n_int + n_frac
    ok &= n_digits >= 1
    ok &= n_int <= _MAX_DIGITS
    ok &= n_frac <= _MAX_DIGITS

    # The digits without the point, as an integer w < 2**64.
    words = _Words(buf, m)
    n_int_u = n_int.astype(_U)
    np.minimum(n_int_u, _U(_MAX_DIGITS), out=n_int_u)
    n_frac_u = n_frac.astype(_U)
    np.minimum(n_frac_u, _U(_MAX_DIGITS), out=n_frac_u)
    int_words = max(1, (int(n_int_u.max()) + 7) // 8)
    frac_words = (int(n_frac_u.max()) + 7) // 8
    w = words.number(words.before(point), n_int_u, int_words)
    if frac_words:
        # More than 19 digits fit only as leading zeros: 0.000123... up to 1.8e19.
        fits = n_digits <= 19
        fits |= w == 0
        w *= _POW10_U64[n_frac_u]
        frac_at = words.before(mantissa_end)
        w += words.number(frac_at, n_frac_u, min(frac_words, 2))
        if frac_words == 3:
            top = words.digits(frac_at - 2, _digits_in_word(n_frac_u, 2))
            fits &= (top < _U(1800)) | (n_digits <= 19)
            top *= _U(10**16)
            w += top
        ok &= fits
    else:
        ok &= n_digits <= 19

    # value = w * 10**q, q = exponent - n_frac
    w_float = w.astype(np.float64)
    values = w_float / _POW10[np.minimum(n_frac, 22)]  # exact operands: one rounding (Clinger)
    fast = w <= _TWO53
    fast &= n_frac <= 22
    q = None
    if any_e:
        rows = np.flatnonzero(has_e)
        e_end = number_end[rows]
        n_exp = e_end - mantissa_end[rows]
        n_exp -= 1
        n_exp -= e_sign[rows]
        exp_ok = (n_exp >= 1) & (n_exp <= 4)
        exponent = words.digits(words.before(e_end), (n_exp * exp_ok).astype(_U)).view(np.int64)
        np.negative(exponent, out=exponent, where=e_negative[rows])
        q = -n_frac
        q[rows] += exponent
        ok[rows] &= exp_ok
        q_e = q[rows]
        fast_e = fast[rows]
        fast_e &= (q_e >= -22) & (q_e <= 22)
        fast[rows] = fast_e
        power = _POW10[np.minimum(np.abs(q_e), 22)]
        w_e = w_float[rows]
        values[rows] = np.where(q_e < 0, w_e / power, w_e * power)
    hard = ~fast
    hard &= ok
    n_hard = int(np.count_nonzero(hard))
    if n_hard and q is None:
        q = -n_frac
    if 2 * n_hard > len(hard):  # 17-digit numbers: nearly all of them (w_float is spent)
        exact, good = times_power(w, w_float, q)
        values = np.where(hard, exact, values)
        good |= ~hard
        ok &= good
    elif n_hard:
        rows = np.flatnonzero(hard)
        exact, good = times_power(w[rows], w_float[rows], q[rows])
        values[rows] = exact
        ok[rows] = good
    values = np.where(negative, -values, values)
    offset = lo - _PAD
    cell_start += offset
    cell_end += offset
    return Block(values, ok, cell_start, cell_end, line_ends, bare)


def times_power(w: np.ndarray, w_float: np.ndarray, q: np.ndarray):
    """w * 10**q correctly rounded, and where that is certain (else ask float()).

    The product is formed in double-double arithmetic (Dekker), exact to about
    2**-100; its rounding to a double is the true one unless the product lies
    within that error of a midpoint between two doubles, which the two perturbed
    roundings detect.  Results near the ends of the double range are left out.
    """
    hi, lo, hi_hi, hi_lo = _powers()
    in_range = (q >= _Q_MIN) & (q <= _Q_MAX)
    index = q - _Q_MIN
    index *= in_range
    p, p_lo, p_hi_hi, p_hi_lo = hi[index], lo[index], hi_hi[index], hi_lo[index]
    a = w_float
    a_lo = (w - a.astype(_U)).view(np.int64).astype(np.float64)  # w = a + a_lo exactly
    scaled = a * 134217729.0
    a_hi = scaled - (scaled - a)
    a_hi_lo = a - a_hi
    x = a * p
    err = a_hi * p_hi_hi
    err -= x
    err += a_hi * p_hi_lo
    err += a_hi_lo * p_hi_hi
    err += a_hi_lo * p_hi_lo  # x + err = a * p exactly
    a *= p_lo
    a_lo *= p
    a += a_lo
    err += a
    result = x + err
    tail = x - result
    tail += err  # result + tail is the double-double product
    margin = result * 2.0**-98
    below = tail - margin
    below += result
    tail += margin
    tail += result
    good = below == result
    good &= tail == result
    good &= result >= 1e-270
    good &= result <= 1e290
    good &= in_range
    return result, good
