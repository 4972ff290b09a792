"""Contour lines of a function sampled on a regular grid (marching squares).

Vectorised over the cells: each cell's four corners give a case (which corners
lie at or above the level), a table gives the cell edges the line crosses, and the
crossings are linearly interpolated along those edges.  The result is a set of
line segments, drawn as pairs (pyqtgraph's ``connect="pairs"``): no joining into
polylines, which would take a Python loop over segments (pyqtgraph's own
``isocurve`` does that, ~10x slower at 200 x 200).

The two ambiguous cases (diagonal corners above the level) are resolved by the
cell's centre value, the mean of its corners, as is usual.
"""

from __future__ import annotations

import numpy as np

__all__ = ["contour_segments"]

# Edges of a cell: 0 bottom (y0, from x0 to x1), 1 right (x1), 2 top (y1), 3 left (x0).
# Corner bits: 1 = (x0, y0), 2 = (x1, y0), 4 = (x1, y1), 8 = (x0, y1).
# For each case, up to two segments as pairs of edges (-1: none).  Cases 16 and 17
# are the saddles 5 and 10 with the centre on the other side of the level.
_SEGMENTS = np.full((18, 2, 2), -1, dtype=np.intp)
for _case, _pairs in {
    1: [(3, 0)], 2: [(0, 1)], 3: [(3, 1)], 4: [(1, 2)],
    5: [(0, 1), (2, 3)],  # 00 and 11 above, centre above: cut off the corners below
    6: [(0, 2)], 7: [(3, 2)], 8: [(2, 3)], 9: [(0, 2)],
    10: [(3, 0), (1, 2)],  # 01 and 10 above, centre above
    11: [(1, 2)], 12: [(1, 3)], 13: [(0, 1)], 14: [(3, 0)],
    16: [(3, 0), (1, 2)],  # case 5, centre below: cut off the corners above
    17: [(0, 1), (2, 3)],  # case 10, centre below
}.items():
    for _slot, _pair in enumerate(_pairs):
        _SEGMENTS[_case, _slot] = _pair


def _crossing(va: np.ndarray, vb: np.ndarray, level: float) -> np.ndarray:
    """Where along an edge from value va to vb the level is crossed, in [0, 1]."""
    span = vb - va
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(span != 0, (level - va) / np.where(span != 0, span, 1.0), 0.5)
    return np.clip(t, 0.0, 1.0)


def contour_segments(x, y, values, level: float) -> np.ndarray:
    """The contour ``values == level`` as line segments.

    Parameters
    ----------
    x : array-like of shape (nx,), increasing
    y : array-like of shape (ny,), increasing
    values : array-like of shape (ny, nx)
        The function at the grid points (row = y).  Non-finite values count as
        below every level.
    level : float

    Returns
    -------
    ndarray of shape (n_segments, 2, 2)
        ``[s, 0]`` and ``[s, 1]`` are the (x, y) ends of segment s.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    f = np.asarray(values, dtype=np.float64)
    if f.shape != (y.size, x.size) or x.size < 2 or y.size < 2:
        raise ValueError(f"values must be (ny, nx) = ({y.size}, {x.size}) with both >= 2; "
                         f"got {f.shape}")
    f = np.where(np.isfinite(f), f, -np.inf)
    v00, v01, v11, v10 = f[:-1, :-1], f[:-1, 1:], f[1:, 1:], f[1:, :-1]
    case = ((v00 >= level).astype(np.intp) | (v01 >= level) << 1 | (v11 >= level) << 2
            | (v10 >= level) << 3)
    rows, cols = np.nonzero((case != 0) & (case != 15))
    if rows.size == 0:
        return np.empty((0, 2, 2))
    case = case[rows, cols]
    a, b, c, d = v00[rows, cols], v01[rows, cols], v11[rows, cols], v10[rows, cols]
    saddle = (case == 5) | (case == 10)
    if saddle.any():
        with np.errstate(invalid="ignore"):
            centre_below = (a + b + c + d) / 4.0 < level
        case = np.where(saddle & centre_below, np.where(case == 5, 16, 17), case)
    x0, x1, y0, y1 = x[cols], x[cols + 1], y[rows], y[rows + 1]
    # The crossing on each of the four edges, (4, m, 2); only the ones a case names are used.
    t = [_crossing(a, b, level), _crossing(b, c, level), _crossing(d, c, level),
         _crossing(a, d, level)]
    edge_points = np.stack([
        np.column_stack([x0 + t[0] * (x1 - x0), y0]),
        np.column_stack([x1, y0 + t[1] * (y1 - y0)]),
        np.column_stack([x0 + t[2] * (x1 - x0), y1]),
        np.column_stack([x0, y0 + t[3] * (y1 - y0)]),
    ])
    cells = np.arange(case.size)
    pieces = []
    for slot in range(2):
        pairs = _SEGMENTS[case, slot]  # (m, 2)
        has = pairs[:, 0] >= 0
        start = edge_points[pairs[has, 0], cells[has]]
        end = edge_points[pairs[has, 1], cells[has]]
        pieces.append(np.stack([start, end], axis=1))
    return np.concatenate(pieces)
