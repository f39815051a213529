"""Properties of an activation: values at 0, extremes, Lipschitz constant, smoothness, moments.

Every number is computed with mpmath, never by sampling: extremes are found where f′ (or
f″) changes sign — bracketed on a float64 grid and refined with ``mpmath.findroot`` at
128 bits — and compared with the values at kinks and the limits at ±∞; the Gaussian
moments are ``mpmath.quad`` integrals split at the kinks.  Values (at 0, at critical points)
and moments are computed at rising precision until two precisions agree, so that every
printed digit is right even where terms cancel (SELU's E[f(Z)] ≈ −1.2e−32).  The grid only brackets roots:
it covers [−50, 50] densely (step 0.005) and reaches ±700 logarithmically, so sign changes
of f′ or f″ beyond |x| = 700 (where exp over/underflows float64) are not looked for.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..errors import ActivationLabError
from ..numeric.evaluate import evaluate
from ..numeric.mpmath_target import mpmath_of
from ..symbolic.activation import Activation, resolve
from ..symbolic.parsing import X

__all__ = ["Properties", "properties", "breakpoints", "sign_change_roots", "GRID"]

_PREC = 128          # bits for root finding and values (≈ 38 digits)
_SMOOTH_MAX = 6      # the highest derivative compared across a kink
_MOMENT_MAX_PREC = 1536   # bits at most for the Gaussian moments


def _grid() -> np.ndarray:
    tail = np.geomspace(50, 700, 400)
    return np.unique(np.concatenate([-tail, np.linspace(-50, 50, 20001), tail]))


#: the float64 grid on which sign changes are bracketed
GRID = _grid()


# ---------------------------------------------------------------------------------------------
# roots and kinks (also used by quotient)
# ---------------------------------------------------------------------------------------------
def sign_change_roots(xs: np.ndarray, values: np.ndarray, fn: Callable[[Any], Any],
                      snap: tuple[float, ...] = ()) -> list[float]:
    """Roots of fn where ``values`` (fn on the sorted grid ``xs``) changes sign, refined with mpmath.

    Zeros and nans on the grid are skipped over: a change from + to − across them is one
    bracket.  Each bracket is refined by ``mpmath.findroot`` (Anderson's bracketing method)
    at 128 bits, with bisection where that fails.  A root within 1e-20 of a point in ``snap``
    (a kink, or 0) is that point: the solver stops at about 1e-26, so it cannot tell them apart.

    Parameters
    ----------
    xs : numpy.ndarray
        A sorted float64 grid.
    values : numpy.ndarray
        fn on ``xs`` (float64; zeros and nans allowed).
    fn : callable
        The function on mpmath numbers.
    snap : tuple of float, optional
        Points a root that close is taken to be.

    Returns
    -------
    list of float
        The roots, in grid order.
    """
    signs = np.sign(values)
    idx = np.flatnonzero((signs != 0) & np.isfinite(values))
    roots = []
    for i, j in itertools.pairwise(idx):
        if signs[i] != signs[j]:
            if j == i + 1 or not np.any(np.isnan(values[i + 1:j])):
                r = _refine(fn, float(xs[i]), float(xs[j]))
                near = [s for s in snap if abs(r - s) <= 1e-20 * max(1.0, abs(s))]
                roots.append(float(near[0]) if near else r)
    return roots


def _refine(fn: Callable[[Any], Any], a: float, b: float) -> float:
    """The root of fn in [a, b] (a sign change): Anderson's method, accepted only if fn still
    changes sign within 1e-24 of it (a multiple root stalls the solver early), else bisection."""
    import mpmath

    with mpmath.workprec(_PREC):
        lo, hi = mpmath.mpf(a), mpmath.mpf(b)
        f_lo = fn(lo)
        try:
            r = mpmath.findroot(fn, (lo, hi), solver="anderson", tol=mpmath.mpf(2) ** (-2 * _PREC // 3))
            d = mpmath.mpf("1e-24") * max(1, abs(r))
            if lo <= r <= hi and (fn(r) == 0 or mpmath.sign(fn(r - d)) != mpmath.sign(fn(r + d))):
                return float(r)
        except (ValueError, ZeroDivisionError):
            pass
        for _ in range(_PREC):                # bisection: always converges on a sign change
            mid = (lo + hi) / 2
            f_mid = fn(mid)
            if f_mid == 0:
                return float(mid)
            if mpmath.sign(f_mid) == mpmath.sign(f_lo):
                lo, f_lo = mid, f_mid
            else:
                hi = mid
        return float((lo + hi) / 2)


def breakpoints(expr: sp.Expr) -> list[sp.Expr]:
    """The real x where the stable form of ``expr`` switches Piecewise branch (kinks), sorted.

    Parameters
    ----------
    expr : sympy.Expr
        An expression in ``x``.

    Returns
    -------
    list of sympy.Expr
        The kinks, exact (roots of the conditions' polynomials), in increasing order.

    Raises
    ------
    ActivationLabError
        A condition that is not a polynomial comparison in x.
    """
    from ..numeric.rewrite import stable

    points: set[sp.Expr] = set()
    for pw in stable(expr).atoms(sp.Piecewise):
        for _, cond in pw.args:
            for rel in cond.atoms(sp.Rel):
                diff = rel.lhs - rel.rhs
                if not diff.has(X):
                    continue
                try:
                    poly = sp.Poly(diff, X)
                except sp.PolynomialError:
                    raise ActivationLabError(f"cannot locate where the condition {rel} switches; "
                                             "write piecewise conditions as polynomial comparisons in x") from None
                points.update(r for r in poly.real_roots())
    return sorted(points, key=lambda r: float(r))


def _branch(expr: sp.Expr, at: sp.Expr, side: int) -> sp.Expr:
    """expr with every Piecewise replaced by the branch that holds just ``side`` of ``at``."""
    probe = at + side * sp.Rational(1, 10**30)

    def pick(pw: sp.Piecewise) -> sp.Expr:
        for value, cond in pw.args:
            if bool(cond.subs(X, probe)):
                return value
        return sp.nan
    while expr.has(sp.Piecewise):
        expr = expr.replace(lambda e: isinstance(e, sp.Piecewise) and not e.args[0][0].has(sp.Piecewise)
                            and not any(v.has(sp.Piecewise) for v, _ in e.args), pick)
    return expr


# ---------------------------------------------------------------------------------------------
# the result
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Properties:
    """Properties of f on the real line (all values from mpmath, at least 12 significant digits).

    Attributes
    ----------
    name : str
        The activation.
    f0, df0, d2f0 : float
        f(0), f′(0), f″(0) (at a kink: the value the formula gives at 0, the left-hand one for the
        catalogue's ``where(x > 0, …)``).
    minimum, maximum : tuple of float or None
        (argmin, value) of the global minimum / maximum, or None where there is none (unbounded,
        or approached only as x → ±∞).  A minimum attained on a whole interval (ReLU on x ≤ 0) is
        reported at the interval's kink.
    derivative_min, derivative_max : tuple of float
        (location, value): the infimum / supremum of f′.  The location is where it is attained,
        the kink it is approached at from one side, or ±inf when it is approached as x → ±∞.
    lipschitz : float
        sup |f′| (inf when f′ is unbounded).
    monotonic : bool
        f′ ≥ 0 everywhere or f′ ≤ 0 everywhere.
    bounded_below, bounded_above : bool
        f is bounded below / above on ℝ.
    limits : tuple of float
        (f(−∞), f(+∞)).
    smoothness : str
        ``"analytic"`` (no kinks), ``"C0"``, ``"C1"``, … (the highest k with f⁽ᵏ⁾ continuous),
        ``"C6+"`` (continuous up to f⁽⁶⁾ at every kink), or ``"discontinuous"``.
    kinks : tuple of float
        The x where the formula switches branch.
    zero_crossings : tuple of float
        The x where f changes sign.
    self_gated : sympy.Expr or None
        g(x) when f = x·g(x) as written (TeLU: tanh(eˣ)), else None.
    E_f, E_f2, E_df, E_df2 : float
        E[f(Z)], E[f(Z)²], E[f′(Z)], E[f′(Z)²] for Z ~ N(0, 1).
    init_gain : float
        The gain in the "variance" convention, 1/√E[f(Z)²] (see :func:`activation_lab.gain`:
        PyTorch's ``calculate_gain`` and the edge-of-chaos σ_w are the other conventions).
    """

    name: str
    f0: float
    df0: float
    d2f0: float
    minimum: tuple[float, float] | None
    maximum: tuple[float, float] | None
    derivative_min: tuple[float, float]
    derivative_max: tuple[float, float]
    lipschitz: float
    monotonic: bool
    bounded_below: bool
    bounded_above: bool
    limits: tuple[float, float]
    smoothness: str
    kinks: tuple[float, ...]
    zero_crossings: tuple[float, ...]
    self_gated: sp.Expr | None
    E_f: float
    E_f2: float
    E_df: float
    E_df2: float
    init_gain: float

    def __str__(self) -> str:
        def pair(p):
            return "none" if p is None else f"{p[1]:.15g} at x = {p[0]:.15g}"
        rows = [
            ("f(0), f'(0), f''(0)", f"{self.f0:.15g}, {self.df0:.15g}, {self.d2f0:.15g}"),
            ("minimum", pair(self.minimum)), ("maximum", pair(self.maximum)),
            ("inf f'", pair(self.derivative_min)), ("sup f'", pair(self.derivative_max)),
            ("Lipschitz", f"{self.lipschitz:.15g}"), ("monotonic", _yes(self.monotonic)),
            ("bounded", f"below {_yes(self.bounded_below)}, above {_yes(self.bounded_above)}"),
            ("f(-inf), f(+inf)", f"{self.limits[0]:.15g}, {self.limits[1]:.15g}"),
            ("smoothness", self.smoothness + (f" (kinks at {', '.join(f'{k:g}' for k in self.kinks)})"
                                              if self.kinks else "")),
            ("zero crossings", ", ".join(f"{z:.15g}" for z in self.zero_crossings) or "none"),
            ("self-gated", f"x*{self.self_gated}" if self.self_gated is not None else "no"),
            ("E[f(Z)], E[f(Z)^2]", f"{self.E_f:.15g}, {self.E_f2:.15g}"),
            ("E[f'(Z)], E[f'(Z)^2]", f"{self.E_df:.15g}, {self.E_df2:.15g}"),
            ("init gain (variance)", f"{self.init_gain:.15g}"),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join([f"properties of {self.name}"] + [f"  {k.ljust(width)}  {v}" for k, v in rows])


# ---------------------------------------------------------------------------------------------
# the computation
# ---------------------------------------------------------------------------------------------
def properties(act: Activation | str) -> Properties:
    """Values at 0, extremes, Lipschitz constant, smoothness, zero crossings, self-gating and
    Gaussian moments of f (see :class:`Properties`).

    No sampling: extremes are where f′ (f″) changes sign, bracketed on :data:`GRID` and refined
    with ``mpmath.findroot`` at 128 bits, then compared with the values at kinks and the limits at
    ±∞; the Gaussian moments are ``mpmath.quad`` integrals split at the kinks, computed at rising
    precision until two precisions agree.

    Parameters
    ----------
    act : Activation or str
        The activation, or a catalogue name.

    Returns
    -------
    Properties
        Every property, each value to at least 12 significant digits (cached per activation).

    Raises
    ------
    UnknownActivationError
        An unknown catalogue name.
    ActivationLabError
        A piecewise condition that is not a polynomial comparison in x (its kinks cannot be
        located).

    Examples
    --------
    >>> p = properties("telu"); round(p.minimum[0], 5), round(p.minimum[1], 5)
    (-1.07886, -0.35329)
    """

    act = resolve(act)
    return _properties(act)


@functools.lru_cache(maxsize=64)
def _properties(act: Activation) -> Properties:

    from ..numeric.limits import limits

    values = evaluate(act, GRID, n=(0, 1, 2))
    if not np.all(np.isfinite(values[0])):
        bad = GRID[~np.isfinite(values[0])][0]
        raise ActivationLabError(f"properties() needs f finite on the real line; {act.name} is not finite near "
                                 f"x = {bad:g}; restrict the formula, e.g. with where(x > 0, ..., ...)")
    lim = limits(act.expr, 0)
    kinks = breakpoints(act.expr)
    kink_values = [float(k) for k in kinks]
    f = [mpmath_of(act.expr, k) for k in range(3)]
    at0 = [_settled(fn, 0.0) for fn in f]

    snap = (0.0, *kink_values)
    crit = sign_change_roots(GRID, values[1], f[1], snap)
    lo, hi = _extremes(f[0], crit, kinks, lim)
    dlim = _derivative_limits(act)
    dcrit = sign_change_roots(GRID, values[2], f[2], snap)
    dlo, dhi = _extremes(f[1], dcrit, kinks, dlim)
    lipschitz = max(abs(dlo[1]), abs(dhi[1]))
    e_f, e_f2, e_df, e_df2 = _moments(f[0], f[1], kink_values)
    return Properties(
        name=act.name, f0=at0[0], df0=at0[1], d2f0=at0[2],
        minimum=lo if math.isfinite(lo[0]) and math.isfinite(lo[1]) else None,
        maximum=hi if math.isfinite(hi[0]) and math.isfinite(hi[1]) else None,
        derivative_min=dlo, derivative_max=dhi, lipschitz=lipschitz,
        monotonic=dlo[1] >= 0 or dhi[1] <= 0,
        bounded_below=lo[1] > -math.inf, bounded_above=hi[1] < math.inf, limits=lim,
        smoothness=_smoothness(act.expr, kinks), kinks=tuple(kink_values),
        zero_crossings=tuple(sign_change_roots(GRID, values[0], f[0], snap)),
        self_gated=_gate(act.expr), E_f=e_f, E_f2=e_f2, E_df=e_df, E_df2=e_df2,
        init_gain=1 / math.sqrt(e_f2) if e_f2 > 0 else math.inf)


def _settled(fn: Callable[[Any], Any], x: float) -> float:
    """fn(x) from _PREC bits up, doubled until two precisions agree (no digit lost to cancellation)."""
    from ..numeric.mpmath_target import reference

    return float(reference(fn, float(x), prec=_PREC, max_prec=16 * _PREC))


def _derivative_limits(act: Activation) -> tuple[float, float]:
    from ..numeric.limits import limits

    return limits(act.expr, 1)


def _extremes(fn: Callable[[Any], Any], critical: list[float], kinks: list[sp.Expr],
              lim: tuple[float, float]) -> tuple[tuple[float, float], tuple[float, float]]:
    """((where, inf), (where, sup)) of fn over critical points, kinks (value and one-sided
    limits) and the limits at ±∞; attained candidates win ties."""
    import mpmath

    # (value, location, rank): rank 0 attained at a point, 1 one-sided at a kink, 2 at infinity
    cands: list[tuple[float, float, int]] = []
    with mpmath.workprec(_PREC):
        for x in critical:
            cands.append((_settled(fn, x), x, 0))
        eps = mpmath.mpf(2) ** (-_PREC // 2)
        for k in kinks:
            xk = mpmath.mpf(sp.N(k, 40))
            cands.append((float(fn(xk)), float(xk), 0))
            for side in (-1, 1):
                cands.append((float(fn(xk + side * eps)), float(xk), 1))
    cands.append((lim[0], -math.inf, 2))
    cands.append((lim[1], math.inf, 2))
    cands = [c for c in cands if not math.isnan(c[0])]
    lo = min(cands, key=lambda c: (c[0], c[2]))
    hi = max(cands, key=lambda c: (c[0], -c[2]))
    return (lo[1], lo[0]), (hi[1], hi[0])


def _moments(f0: Callable[[Any], Any], f1: Callable[[Any], Any], kinks: list[float]) -> tuple[float, ...]:
    """E[f(Z)], E[f(Z)²], E[f′(Z)], E[f′(Z)²] = ∫ g(z)ᵏ φ(z) dz by tanh-sinh quadrature split at
    the kinks, the precision raised until two precisions agree to 2⁻⁵⁴ relative (SELU's E[f(Z)]
    ≈ −1.2e−32 is the difference of two terms near 0.4: 128 bits got its 4th digit wrong)."""
    inner = sorted({k for k in kinks if -60 < k < 60} | ({0.0} if not kinks else set()))
    # beyond |z| = 60 the weight e^{−z²/2} < e^{−1800}: nothing an activation's growth can lift
    # to 1e−15 of the integral
    nodes = [-60, *inner, 60]
    return tuple(_agreed_moment(fn, power, nodes) for fn, power in ((f0, 1), (f0, 2), (f1, 1), (f1, 2)))


def _agreed_moment(fn: Callable[[Any], Any], power: int, nodes: list[float]) -> float:
    """∫ fn(z)^power φ(z) dz over ``nodes``, at 72, 144, … bits until two agree to 2⁻⁵⁴ relative."""
    import mpmath

    with mpmath.workprec(53):   # the size of what may cancel: ∫|fn|^power φ
        scale = mpmath.quad(lambda z: abs(fn(z)) ** power * mpmath.exp(-z * z / 2), nodes) / mpmath.sqrt(2 * mpmath.pi)
    previous = None
    prec = 72
    while True:
        with mpmath.workprec(prec):
            phi = 1 / mpmath.sqrt(2 * mpmath.pi)

            def weighted(z, phi=phi):
                return fn(z) ** power * phi * mpmath.exp(-z * z / 2)
            value = mpmath.quad(weighted, nodes)
        if previous is not None and (value == previous or abs(value - previous) <= abs(value) * mpmath.mpf(2) ** -54):
            return float(value)
        # at the rounding floor of two precisions in a row: an exact 0 (E[tanh(Z)] of an odd f′),
        # where no relative agreement can come (SELU's 1.2e-32 is above the floor from 144 bits)
        if previous is not None and abs(value) <= scale * mpmath.mpf(2) ** (16 - prec) \
                and abs(previous) <= scale * mpmath.mpf(2) ** (16 - prec // 2):
            return 0.0
        if prec >= _MOMENT_MAX_PREC:
            raise ActivationLabError("a Gaussian moment did not settle to 16 digits at "
                                     f"{_MOMENT_MAX_PREC} bits; the integrand may be too irregular")
        previous, prec = value, 2 * prec


def _smoothness(expr: sp.Expr, kinks: list[sp.Expr]) -> str:
    """The highest k with f⁽ᵏ⁾ continuous at every kink (left and right limits equal)."""
    from ..numeric.rewrite import stable

    if not kinks:
        return "analytic"
    form = stable(expr)
    best = _SMOOTH_MAX
    for k in kinks:
        left, right = _branch(form, k, -1), _branch(form, k, 1)
        at = form.subs(X, k)
        for order in range(_SMOOTH_MAX + 1):
            a = sp.N(sp.diff(left, X, order).subs(X, k), 40)
            b = sp.N(sp.diff(right, X, order).subs(X, k), 40)
            same = abs(a - b) <= 1e-30 * max(1, abs(a), abs(b))
            if order == 0 and same and at.is_number:
                same = abs(sp.N(at, 40) - a) <= 1e-30 * max(1, abs(a))
            if not same:
                best = min(best, order - 1)
                break
    if best < 0:
        return "discontinuous"
    return f"C{best}+" if best == _SMOOTH_MAX else f"C{best}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _gate(expr: sp.Expr) -> sp.Expr | None:
    """g with f = x·g(x), when f is written as a product with the factor x."""
    if not expr.is_Mul or X not in expr.args:
        return None
    g = expr / X
    return g if g.has(X) else None
