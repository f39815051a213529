"""The gradient quotient q(x) = f′(x)/ref′(x) (the paper's figure 12, made exact).

The paper divides each activation's derivative by TeLU′ and reads values below 1 in the
small-negative range as "TeLU saturates more slowly there".  The plain ratio has poles
where ref′ = 0 (TeLU′ vanishes at x ≈ −1.0789, TeLU's minimum) and changes sign at f's own
minimum; this module reports those poles instead of drawing them as spikes, and by
default takes absolute values (``absolute=True``).

Default grid: ``DEFAULT_X`` = 2001 points evenly spaced on [−10, 0] (step 0.005), the
negative range the paper's figure shows.

Blanking rule: q is set to nan at the grid points within ``blank`` of a pole (by distance, not
by grid index), so that a plot shows a gap instead of a spike.  The default is
:data:`DEFAULT_BLANK` (0.01, two steps of the default grid) on the default grid and 0 (no
point blanked; only a point exactly at a pole, where q has no value) for points the caller
gives.  The result states the distance used (``Quotient.blank``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..errors import ActivationLabError
from ..numeric.evaluate import evaluate
from ..numeric.mpmath_target import mpmath_of
from ..symbolic.activation import Activation, resolve
from .properties import sign_change_roots
from .saturation import leading_term

__all__ = ["Quotient", "quotient", "DEFAULT_X", "DEFAULT_BLANK"]

#: the default grid: the paper's negative range
DEFAULT_X = np.linspace(-10.0, 0.0, 2001)
DEFAULT_X.setflags(write=False)

_SCAN_POINTS = 20001     # the grid on which sign changes of ref′ and |f′| − |ref′| are bracketed
#: on the default grid, q is blanked (nan) within this distance of a pole
DEFAULT_BLANK = 0.01


@dataclass(frozen=True, eq=False)
class Quotient:
    """q(x) = f′(x)/ref′(x) on a grid, with its poles, limit at −∞ and where |q| < 1 or > 1.

    Attributes
    ----------
    name, reference : str
        The activation f and the reference (default TeLU).
    absolute : bool
        True when ``q`` holds |f′/ref′|.
    x : numpy.ndarray
        The grid (read-only copy).
    q : numpy.ndarray
        The quotient on the grid (read-only); nan at the points within ``blank`` of a pole (so a
        plot shows a gap, not a spike), at a pole itself, and where ref′ = 0 identically.
    limit_neg_inf : float
        lim q(x) as x → −∞ (its absolute value when ``absolute``); nan if ref′ is 0 there.
    limit_exact : sympy.Expr or None
        That limit as a SymPy number when found from the leading terms
        (:func:`activation_lab.saturation`), else None (then ``limit_neg_inf`` is a high-precision
        numerical extrapolation).
    poles : list of float
        The zeros of ref′ inside the grid's range, to ~1e-15 (mpmath root finding).
    below_one, above_one : list of tuple of float
        The intervals (a, b) of the grid's range where |q| < 1 and |q| > 1; ends are the range's
        ends, poles, or roots of |f′| = |ref′| (mpmath).
    blank : float
        The distance from a pole within which ``q`` is blanked (0: none blanked).
    """

    name: str
    reference: str
    absolute: bool
    x: np.ndarray
    q: np.ndarray
    limit_neg_inf: float
    limit_exact: sp.Expr | None
    poles: list[float]
    below_one: list[tuple[float, float]]
    above_one: list[tuple[float, float]]
    blank: float = 0.0

    def __str__(self) -> str:
        ratio = f"|{self.name}'/{self.reference}'|" if self.absolute else f"{self.name}'/{self.reference}'"
        def spans(items):
            return ", ".join(f"({a:.6g}, {b:.6g})" for a, b in items) or "none"
        limit = f"{self.limit_exact}" if self.limit_exact is not None else f"{self.limit_neg_inf:.12g} (numerical)"
        return "\n".join([
            f"gradient quotient {ratio} on [{self.x.min():g}, {self.x.max():g}] ({self.x.size} points)",
            f"  limit at -inf   {limit}",
            f"  poles           {', '.join(f'{p:.15g}' for p in self.poles) or 'none'}"
            + (f" (q blanked within {self.blank:g} of each)" if self.poles and self.blank else ""),
            f"  |q| < 1 on      {spans(self.below_one)}",
            f"  |q| > 1 on      {spans(self.above_one)}",
        ])


def _grid(x: Any) -> np.ndarray:
    if x is None:
        return DEFAULT_X.copy()
    try:
        xs = np.array(x, dtype=np.float64)      # a copy: the caller's array is never touched
    except (TypeError, ValueError):
        raise ActivationLabError(f"quotient: x must be a 1-D array of numbers, got {type(x).__name__}") from None
    if xs.ndim != 1 or xs.size < 2:
        raise ActivationLabError(f"quotient: x must be a 1-D array of at least 2 points, got shape {xs.shape}; "
                                 "e.g. numpy.linspace(-10, 0, 2001)")
    if not np.all(np.isfinite(xs)):
        raise ActivationLabError("quotient: x must be finite (no nan or inf); the limit at -inf is reported "
                                 "separately as limit_neg_inf")
    return xs


def _derivative_values(act: Activation, xs: np.ndarray) -> np.ndarray:
    return np.asarray(evaluate(act, xs, n=1), dtype=np.float64)


def _ratio(f1: Any, r1: Any, x: float) -> float:
    """f′(x)/ref′(x) with mpmath (used where float64 under- or overflows)."""
    import mpmath

    with mpmath.workprec(80):
        try:
            a, b = f1(mpmath.mpf(x)), r1(mpmath.mpf(x))
        except (ZeroDivisionError, ValueError):   # f itself has a pole here (1/x at 0): no value
            return math.nan
        return math.nan if b == 0 else float(a / b)


def quotient(act: Activation | str, reference: Activation | str = "telu", x: Any = None,
             absolute: bool = True, blank: float | None = None) -> Quotient:
    """The gradient quotient q(x) = f′(x)/ref′(x) on ``x`` (default :data:`DEFAULT_X`), see :class:`Quotient`.

    The paper's figure 12 made exact: the poles of q (the zeros of ref′; TeLU′ = 0 at
    x ≈ −1.0789) are found and reported instead of drawn as spikes, the limit at −∞ comes from the
    leading terms of f′ and ref′, and the intervals where |q| < 1 and > 1 end at roots found with
    mpmath.

    Parameters
    ----------
    act : Activation or str
        The activation f, or a catalogue name.
    reference : Activation or str, optional
        The reference (default ``"telu"``).
    x : array_like, optional
        A 1-D grid of at least 2 finite points (default :data:`DEFAULT_X`: 2001 points on
        [−10, 0]); the caller's array is not modified.
    absolute : bool, optional
        Take |f′/ref′| (default True), as the paper's figure does.
    blank : float, optional
        q is nan at points within this distance of a pole; default :data:`DEFAULT_BLANK` (0.01) on
        the default grid, 0 on points the caller gives.

    Returns
    -------
    Quotient
        q on the grid with its poles, limit at −∞ and the intervals where |q| < 1 and > 1.

    Raises
    ------
    UnknownActivationError
        An unknown catalogue name.
    ActivationLabError
        ``x`` is not a 1-D array of at least 2 finite numbers, or ``blank`` is not a distance ≥ 0.

    Examples
    --------
    >>> quotient("silu").limit_exact       # SiLU′ and TeLU′ share the leading term x·eˣ
    1
    """

    f, ref = resolve(act), resolve(reference)
    if blank is None:
        blank = DEFAULT_BLANK if x is None else 0.0
    if isinstance(blank, bool) or not isinstance(blank, (int, float)) or not 0 <= blank < math.inf:
        raise ActivationLabError(f"quotient: blank must be a distance >= 0, got {blank!r}; e.g. blank=0.01, "
                                 "or blank=0 to keep every point")
    xs = _grid(x)
    f1m, r1m = mpmath_of(f.expr, 1), mpmath_of(ref.expr, 1)

    df, dr = _derivative_values(f, xs), _derivative_values(ref, xs)
    with np.errstate(all="ignore"):
        q = df / dr
    tiny = (np.abs(dr) < 1e-290) | (np.abs(df) < 1e-290) | ~np.isfinite(q)
    for i in np.flatnonzero(tiny):
        q[i] = _ratio(f1m, r1m, float(xs[i]))

    lo, hi = float(xs.min()), float(xs.max())
    scan = np.union1d(np.linspace(lo, hi, _SCAN_POINTS), xs)
    sdf, sdr = _derivative_values(f, scan), _derivative_values(ref, scan)
    poles = [p for p in sign_change_roots(scan, sdr, r1m) if lo <= p <= hi]

    for p in poles:
        q[np.abs(xs - p) <= blank] = np.nan
    if absolute:
        q = np.abs(q)

    below, above = _intervals(scan, sdf, sdr, poles, f1m, r1m)
    limit, exact = _limit(f, ref, absolute)
    xs.setflags(write=False)
    q.setflags(write=False)
    return Quotient(name=f.name, reference=ref.name, absolute=absolute, x=xs, q=q, limit_neg_inf=limit,
                    limit_exact=exact, poles=poles, below_one=below, above_one=above, blank=float(blank))


def _intervals(scan: np.ndarray, df: np.ndarray, dr: np.ndarray, poles: list[float], f1m: Any, r1m: Any):
    """(below, above): where |f′| < |ref′| and > |ref′| on [scan[0], scan[-1]], split at poles."""
    import mpmath

    with np.errstate(all="ignore"):
        h = np.abs(df) - np.abs(dr)
    # equal to rounding: |f′| and |ref′| agree to 1e-13 (e.g. an activation against itself)
    h[np.abs(h) <= 1e-13 * np.maximum(np.abs(df), np.abs(dr))] = 0.0

    def hm(t):
        return abs(f1m(t)) - abs(r1m(t))
    cuts = sorted({float(scan[0]), float(scan[-1]), *poles, *sign_change_roots(scan, h, hm)})
    below: list[tuple[float, float]] = []
    above: list[tuple[float, float]] = []
    with mpmath.workprec(80):
        for a, b in itertools.pairwise(cuts):
            if b <= a:
                continue
            mid = mpmath.mpf((a + b) / 2)
            fa, ra = abs(f1m(mid)), abs(r1m(mid))
            if ra == 0 or abs(fa - ra) <= mpmath.mpf(10) ** -13 * max(fa, ra):
                continue
            target = below if fa < ra else above
            if target and target[-1][1] == a and a not in poles:
                target[-1] = (target[-1][0], b)
            else:
                target.append((a, b))
    return below, above


def _limit(f: Activation, ref: Activation, absolute: bool) -> tuple[float, sp.Expr | None]:
    """lim f′/ref′ at −∞ from the leading terms, else extrapolated from mpmath values."""
    from ..numeric.rewrite import stable_derivative

    lf = leading_term(stable_derivative(f.expr, 1), -1)
    lr = leading_term(stable_derivative(ref.expr, 1), -1)
    if lf is not None and lr is not None:
        if lr.expr == 0:
            return math.nan, sp.nan
        if lf.expr == 0:
            return 0.0, sp.S.Zero
        ratio = leading_term(sp.powsimp(lf.expr / lr.expr), -1)
        if ratio is not None:
            value = _term_limit(ratio)
            if value is not None:
                value = abs(value) if absolute else value
                return float(value), value
    return _numerical_limit(f, ref, absolute), None


def _term_limit(term) -> sp.Expr | None:
    """The limit at −∞ of a leading term c·xᵖ·e^{E}: c, 0 or ±oo (None if undecided)."""
    if term.expr == 0:
        return sp.S.Zero
    if term.exponent == 0 and term.power == 0:
        return term.constant
    if term.exponent != 0:            # e^{E} decides: E → +∞ or −∞
        inner = leading_term(term.exponent, -1)
        if inner is None:
            return None
        grows = _sign_far_left(inner.expr) > 0
    else:
        grows = bool(term.power > 0)
    return _sign_far_left(term.expr) * sp.oo if grows else sp.S.Zero


def _sign_far_left(e: sp.Expr) -> int:
    """The sign of a leading term far out on the left (it keeps one sign there)."""
    from ..symbolic.parsing import X

    return int(sp.sign(sp.N(e.subs(X, -1000), 30)))


def _numerical_limit(f: Activation, ref: Activation, absolute: bool) -> float:
    """q at x = −400, −800 with mpmath, extrapolated linearly in 1/x (Richardson)."""
    f1m, r1m = mpmath_of(f.expr, 1), mpmath_of(ref.expr, 1)
    a, b = _ratio(f1m, r1m, -400.0), _ratio(f1m, r1m, -800.0)
    value = 2 * b - a
    if abs(b) > 1e6 * max(1.0, abs(a)):
        value = math.copysign(math.inf, b)
    return abs(value) if absolute else value
