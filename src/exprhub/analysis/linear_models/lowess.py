"""LOWESS scatterplot smoothing (Cleveland 1979; the program of Cleveland 1981).

:func:`lowess` smooths ``y`` against ``x`` as R ``stats::lowess`` does (the robust trend of
``robust=True, trend=True`` uses it with span 0.4). Rules:

* Points are sorted by ``x``; ``ns = max(min(floor(f n + 1e-7), n), 2)`` nearest points form
  each neighbourhood, found by sliding a window of ``ns`` points to the right while the left
  end is farther from the point than the next point on the right.
* At a point ``x_i`` with ``h`` the distance to the farther end of its window, neighbours
  within ``0.999 h`` (the window extended to tied points) get tricube weights
  ``(1 - (|x_j - x_i| / h)^3)^3`` (1 within ``0.001 h``) times the robustness weights; the
  fitted value is the weighted least-squares line at ``x_i`` (the weighted mean when the
  spread of the neighbours' x is at most ``0.001`` times the range of x, or ``h = 0``). A point
  whose weights sum to 0 keeps its ``y``.
* ``delta`` (default 1 % of the range of x): after fitting at ``x_i``, points within ``delta``
  to its right are not fitted but linearly interpolated between fitted points; points tied
  with a fitted point take its value.
* ``iterations`` (default 3) robustness steps: with residuals ``e`` and ``s = 6 median |e|``
  the weights are the bisquare ``(1 - (e / s)^2)^2`` (1 below ``0.001 s``, 0 above
  ``0.999 s``); the steps stop early when ``s < 1e-7`` times the mean absolute residual.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["lowess"]


def _fit_at(
    x: np.ndarray, y: np.ndarray, i: int, nleft: int, nright: int, rw: np.ndarray | None
) -> float | None:
    n = x.size
    xs = x[i]
    span = x[-1] - x[0]
    h = max(xs - x[nleft], x[nright] - xs)
    # the window extended to the right over points still within 0.999 h (ties)
    stop = nright + 1
    while stop < n and abs(x[stop] - xs) <= 0.999 * h:
        stop += 1
    xj = x[nleft:stop]
    r = np.abs(xj - xs)
    w = np.where(r <= 0.001 * h, 1.0, (1 - (r / h) ** 3) ** 3) if h > 0 else np.ones_like(r)
    w = np.where(r <= 0.999 * h, w, 0.0)
    if rw is not None:
        w = w * rw[nleft:stop]
    total = float(np.sum(w))
    if total <= 0:
        return None
    w = w / total
    if h > 0:
        a = float(np.sum(w * xj))
        c = float(np.sum(w * (xj - a) ** 2))
        if math.sqrt(c) > 0.001 * span:
            w = w * ((xs - a) / c * (xj - a) + 1)
    return float(np.sum(w * y[nleft:stop]))


def _smooth(x: np.ndarray, y: np.ndarray, ns: int, delta: float, rw: np.ndarray | None):  # type: ignore[no-untyped-def]
    n = x.size
    ys = np.empty(n)
    nleft, nright, last, i = 0, ns - 1, -1, 0
    while True:
        while nright < n - 1 and x[i] - x[nleft] > x[nright + 1] - x[i]:
            nleft += 1
            nright += 1
        fitted = _fit_at(x, y, i, nleft, nright, rw)
        ys[i] = y[i] if fitted is None else fitted
        if last < i - 1:
            denom = x[i] - x[last]
            j = np.arange(last + 1, i)
            alpha = (x[j] - x[last]) / denom
            ys[j] = alpha * ys[i] + (1 - alpha) * ys[last]
        last = i
        cut = x[last] + delta
        i = last + 1
        while i < n:
            if x[i] > cut:
                break
            if x[i] == x[last]:
                ys[i] = ys[last]
                last = i
            i += 1
        i = max(last + 1, i - 1)
        if last >= n - 1:
            return ys


def lowess(
    x: np.ndarray,
    y: np.ndarray,
    *,
    f: float = 2 / 3,
    iterations: int = 3,
    delta: float | None = None,
) -> np.ndarray:
    """Fitted LOWESS values at every ``x`` (in the input order).

    Parameters
    ----------
    x, y
        The points (finite).
    f
        The span: the fraction of points in each neighbourhood.
    iterations
        Robustness iterations.
    delta
        Interpolation distance; default 1 % of the range of ``x``.

    Returns
    -------
    numpy.ndarray
        The smoothed values, aligned with ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    xs, ysrt = x[order], y[order]
    n = xs.size
    if n < 2:
        return y.copy()
    if delta is None:
        delta = 0.01 * (xs[-1] - xs[0])
    ns = max(min(int(f * n + 1e-7), n), 2)
    rw: np.ndarray | None = None
    fitted = ysrt
    for step in range(iterations + 1):
        fitted = _smooth(xs, ysrt, ns, delta, rw)
        if step == iterations:
            break
        resid = np.abs(ysrt - fitted)
        scale = float(np.mean(resid))
        cmad = 6 * float(np.median(resid))
        if cmad < 1e-7 * scale:
            break
        r = resid / cmad
        rw = np.where(r <= 0.001, 1.0, np.where(r > 0.999, 0.0, (1 - r**2) ** 2))
    out = np.empty(n)
    out[order] = fitted
    return out
