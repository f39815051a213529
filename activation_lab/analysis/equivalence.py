"""Whether two activations are the same function: symbolic first, then a randomised check.

1. Symbolic: the difference f − g, with the package's primitives written out in exp/log
   (σ(u) = 1/(1 + e^{−u}), softplus(u) = log(1 + eᵘ), …), is expanded and, if still small
   enough to be affordable, simplified; 0 proves equality.
2. Numerical: f and g are compared with mpmath at 300 bits (confirmed at 600) at
   ``points`` points drawn afresh on every call — half uniform on [−10, 10], half with
   log-uniform magnitudes from 1e−3 to 1e3 and random sign — plus every kink of either
   formula and its neighbours, and eight fixed points far out in both tails (±40 … ±1000).
   A relative difference beyond 1e−40 at any point (the values
   are confirmed at twice the precision, so this holds for tiny values too) disproves
   equality and is reported with the point.  A fixed handful of points could be fooled
   (f + sin(πx) agrees with f at every integer); fresh random ones catch any difference
   that is not confined to a narrow region, but a bump narrower than the spacing of the
   points (width 1e−2, say) can slip through: the symbolic proof is the one to trust.
"""

from __future__ import annotations

import fractions
import functools
import secrets
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..errors import ActivationLabError
from ..symbolic.activation import Activation
from ..symbolic.functions import dsigmoid, erfc, expm1, log1p, sigmoid, softplus
from .properties import breakpoints
from .saturation import _resolve, mp_value

__all__ = ["Equivalence", "equivalent", "catalog_match", "catalog_fit"]

_REL = 1e-40


@dataclass(frozen=True)
class Equivalence:
    """The verdict of :func:`equivalent`; true in a boolean context when the functions are equal.

    Attributes:
        a, b: the two activations' names.
        equal: whether they are the same function on ℝ.
        method: "symbolic" (f − g simplified to 0) or "numerical" (random high-precision check).
        points: how many points were compared numerically (0 for a symbolic proof).
        max_difference: the largest relative difference seen (0 for a symbolic proof).
        witness: an x where they differ (None when equal).
        seed: the seed of the random points (reproduce with ``equivalent(a, b, seed=...)``).
    """

    a: str
    b: str
    equal: bool
    method: str
    points: int
    max_difference: float
    witness: float | None
    seed: int | None

    def __bool__(self) -> bool:
        return self.equal

    def __str__(self) -> str:
        if self.equal:
            how = "proved symbolically" if self.method == "symbolic" else \
                f"agree to {self.max_difference:.1e} relative at {self.points} random points (300 bits)"
            return f"{self.a} == {self.b}: the same function ({how})"
        return (f"{self.a} != {self.b}: they differ at x = {self.witness!r} "
                f"(relative difference {self.max_difference:.3g})")


def _plain(expr: sp.Expr) -> sp.Expr:
    """The package's stable primitives written out in exp/log/erfc (same function)."""
    ours = (sigmoid, dsigmoid, softplus, expm1, log1p)
    expr = expr.replace(lambda e: isinstance(e, ours), lambda e: e.rewrite(sp.exp))
    return expr.replace(lambda e: isinstance(e, erfc), lambda e: sp.erfc(e.args[0]))


def _symbolically_zero(diff: sp.Expr) -> bool:
    d = sp.expand(_plain(diff))
    if d == 0:
        return True
    if sp.count_ops(d) > 40:   # simplify grows steeply in time beyond this
        return False
    try:
        return sp.simplify(d.rewrite(sp.exp)) == 0
    except Exception:          # simplify may fail on unusual forms; the numerical check decides
        return False


def _points(seed: int, count: int, kinks: list[float]) -> list[float]:
    rng = np.random.default_rng(seed)
    half = count // 2
    uniform = rng.uniform(-10, 10, half)
    logs = 10 ** rng.uniform(-3, 3, count - half) * rng.choice([-1.0, 1.0], count - half)
    near = [k + d for k in kinks for d in (0.0, -1e-9, 1e-9, -0.5, 0.5)]
    return [float(v) for v in (*uniform, *logs, *near, *_TAILS)]


#: always compared: far out in both tails, where activations differ by terms too small to see
#: elsewhere (TeLU and TeLU + e^-200·x part only beyond x = -110)
_TAILS = (-1000.0, -400.0, -150.0, -40.0, 40.0, 150.0, 400.0, 1000.0)


@functools.lru_cache(maxsize=1024)
def _mp(expr: sp.Expr):
    from ..numeric.mpmath_target import mpmath_function
    from ..numeric.rewrite import stable

    return mpmath_function(stable(expr))


def equivalent(a: Activation | str, b: Activation | str, *, points: int = 48, seed: int | None = None) -> Equivalence:
    """Whether ``a`` and ``b`` are the same function of x (see the module docstring).

    >>> bool(equivalent("tanhexp", "telu"))
    True
    >>> bool(equivalent(define("x/(1+exp(-x))"), "silu"))    # doctest: +SKIP
    True
    """
    import mpmath

    from ..numeric.rewrite import stable

    fa, fb = _resolve(a), _resolve(b)
    if isinstance(points, bool) or not isinstance(points, int) or points < 8:
        raise ActivationLabError(f"points must be an integer >= 8, got {points!r}")
    if _symbolically_zero(fa.expr - fb.expr):
        return Equivalence(fa.name, fb.name, True, "symbolic", 0, 0.0, None, None)
    seed = secrets.randbits(63) if seed is None else int(seed)
    kinks = sorted({float(k) for k in (*breakpoints(fa.expr), *breakpoints(fb.expr))})
    xs = _points(seed, points, kinks)
    sa, sb = stable(fa.expr), stable(fb.expr)
    worst, compared = 0.0, 0
    with mpmath.workprec(300):
        for x in xs:
            # 300 bits, confirmed at 600 or more (nan: no agreement up to 8192 bits; skipped)
            va, vb = mp_value(sa, x, prec=300), mp_value(sb, x, prec=300)
            if mpmath.isnan(va) or mpmath.isnan(vb):
                continue
            compared += 1
            gap = abs(va - vb)
            scale = max(abs(va), abs(vb))
            rel = float(gap / scale) if scale else 0.0
            # values are confirmed at twice the precision, so their relative difference is
            # trustworthy however small they are (e^-200·x beside TeLU far out is a real difference)
            if rel > _REL:
                return Equivalence(fa.name, fb.name, False, "numerical", compared, rel, x, seed)
            worst = max(worst, rel)
    if compared < len(xs) // 2:
        raise ActivationLabError(f"cannot decide whether {fa.name} and {fb.name} are equal: only {compared} of "
                                 f"{len(xs)} points could be evaluated reliably")
    return Equivalence(fa.name, fb.name, True, "numerical", compared, worst, None, seed)


def catalog_match(act: Activation | str) -> str | None:
    """The name of the catalogue activation (default parameters) that ``act`` equals, or None.

    A cheap filter (values at five points, 64 bits) picks candidates; :func:`equivalent`
    decides.  For ``define("x*tanh(exp(x))")`` this is ``"telu"`` (TanhExp is TeLU).
    """
    import mpmath

    from ..catalog import CATALOG
    from ..symbolic.activation import get

    act = _resolve(act)
    probe = (-2.5, -0.7, 0.3, 1.9, 4.2)
    mine = _mp(act.expr)
    with mpmath.workprec(64):
        own = [mine(mpmath.mpf(x)) for x in probe]
        # its own entry first: CELU with α = 1 is ELU, but celu is still celu
        for entry in sorted(CATALOG, key=lambda e: e.name != act.name):
            other = get(entry.name)
            theirs = [_mp(other.expr)(mpmath.mpf(x)) for x in probe]
            close = all(abs(u - v) <= 1e-12 * max(1, abs(u)) for u, v in zip(own, theirs, strict=True))
            if close and equivalent(act, other):
                return entry.name
    return None


def catalog_fit(act: Activation | str) -> tuple[str, dict[str, str]] | None:
    """The catalogue activation that ``act`` equals with other parameter values, as
    (name, {parameter: exact text}), or None: ``x*sigmoid(2*x)`` is ``("swish", {"beta": "2"})``.

    For each catalogue entry with parameters, the values are solved for (mpmath's findroot,
    one equation per parameter at irregular points, from the defaults), read as short
    fractions, and the result is then proved or refuted by :func:`equivalent`.  Matches at
    the default values are :func:`catalog_match`'s, not reported here.
    """
    import mpmath

    from ..catalog import CATALOG
    from ..symbolic.activation import get

    act = _resolve(act)
    mine = _mp(act.expr)
    pivots = ("-0.61275", "3.17719", "-2.71734", "1.2917")   # a negative one first: the pieces for x < 0 hold α
    for entry in CATALOG:
        if not entry.params or entry.name == act.name:
            continue
        family = _with_parameters(entry.formula, tuple(entry.params))
        names = list(entry.params)
        with mpmath.workprec(128):
            xs = [mpmath.mpf(p) for p in pivots[:len(names)]]
            targets = [mine(x) for x in xs]

            def equations(*p, xs=xs, targets=targets, family=family):
                return [family(x, *p) - t for x, t in zip(xs, targets, strict=True)]

            start = [mpmath.mpf(v) for v in entry.params.values()]   # decimal text, read at 128 bits
            try:
                found = mpmath.findroot(equations if len(names) > 1 else (lambda p: equations(p)[0]),
                                        start if len(names) > 1 else start[0], tol=mpmath.mpf(2) ** -100)
            except (ValueError, ZeroDivisionError, TypeError, OverflowError, ArithmeticError):
                continue
        values = list(found) if len(names) > 1 else [found]
        if not all(isinstance(v, mpmath.mpf) and mpmath.isfinite(v) for v in values):
            continue
        exact = {n: _short_fraction(float(v)) for n, v in zip(names, values, strict=True)}
        if exact == {n: _short_fraction(float(fractions.Fraction(v))) for n, v in entry.params.items()}:
            continue   # the defaults: catalog_match's answer
        try:
            candidate = get(entry.name, **exact)
        except ActivationLabError:
            continue
        if equivalent(act, candidate):
            return entry.name, exact
    return None


def _short_fraction(v: float) -> str:
    """v as a short exact fraction ('2', '3/2'); the proof that follows judges whether it is right."""
    frac = fractions.Fraction(v).limit_denominator(10_000)
    return str(frac.numerator) if frac.denominator == 1 else f"{frac.numerator}/{frac.denominator}"


@functools.lru_cache(maxsize=64)
def _with_parameters(formula: str, names: tuple[str, ...]):
    """A catalogue formula as an mpmath function of (x, *parameters)."""
    import ast

    from ..numeric.mpmath_target import MPMATH_NAMESPACE
    from ..symbolic.parsing import X, _Builder

    symbols = {n: sp.Symbol(f"p_{n}", real=True) for n in names}
    expr = _Builder(formula, symbols, 0).build(ast.parse(formula.strip(), mode="eval").body)
    return sp.lambdify((X, *symbols.values()), expr, modules=[MPMATH_NAMESPACE, "mpmath"])
