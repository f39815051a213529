"""Whether two activations are the same function: three outcomes, never two.

:func:`equivalent` answers with one of

* ``"proven"``: f − g was shown to be 0 symbolically (the package's primitives written out
  in exp/log, expanded, then simplified), within :data:`PROOF_SECONDS` of CPU time;
* ``"different"``: a witness x where f(x) ≠ g(x), with both values at high precision
  (confirmed by raising the precision until two precisions agree);
* ``"indistinguishable"``: no proof and no witness.  This is evidence, not a proof: the
  result says at which points, over which range and at which precision the two agreed.

The numerical search (run first: most differences are found in milliseconds) compares f and
g with mpmath at :data:`PRECISION` bits at

* log-spaced magnitudes over the whole float64 line on both signs (the smallest subnormal
  to 1e308; 16 per decade on 1e−3 … 1e4, sparser beyond),
* a dense grid on [−10, 10] (step 0.25), every kink of either formula and its neighbours,
* ``points`` random points (half uniform on [−10, 10], half log-uniform magnitudes
  1e−3 … 1e4 of random sign), drawn from ``seed`` (fresh on every call when None).

A relative difference above 2^−(PRECISION/2 − 8) (about 1e−58), confirmed at twice the
precision, is a witness: a relative 1e−50 is seen.  Where the two sides come close to
differing (a relative difference above 2^−(3·PRECISION/4), below the witness threshold),
the search refines: it climbs the difference from there (a compass search on its logarithm),
which finds bumps such as e^{−100(x+25)²} between the grid points.  A difference confined to
an interval narrower than the spacing of the points and invisible at its neighbours can
still pass: "indistinguishable" says so.
"""

from __future__ import annotations

import decimal
import fractions
import functools
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..budget import bounded
from ..errors import ActivationLabError, FormulaTooComplexError
from ..symbolic.activation import Activation, resolve
from ..symbolic.functions import dsigmoid, erfc, expm1, log1p, sigmoid, softplus
from .properties import breakpoints
from .saturation import mp_value

__all__ = ["Equivalence", "equivalent", "related", "RELATIONS", "catalog_match", "catalog_fit", "PRECISION",
           "PROOF_SECONDS", "SEARCH_SECONDS", "OUTCOMES"]

#: the three outcomes of :func:`equivalent`
OUTCOMES = ("proven", "different", "indistinguishable")
#: working precision of the numerical search, in bits (witnesses confirmed at twice this)
PRECISION = 400
#: CPU-time budget of the symbolic proof
PROOF_SECONDS = 2.0
#: time budget of the numerical search (wall clock; the points evaluated by then are the evidence)
SEARCH_SECONDS = 4.0
#: a confirmed relative difference above this is a witness
_WITNESS = 2.0 ** -(PRECISION // 2 - 8)
#: a relative difference above this (but below the witness level) starts a refinement
_HINT = 2.0 ** -(3 * PRECISION // 4)
_REFINE_STEPS = 80        # evaluations per refinement at most
_REFINE_STARTS = 6        # refinements per call at most


@dataclass(frozen=True)
class Equivalence:
    """The verdict of :func:`equivalent`: ``outcome`` is "proven", "different" or "indistinguishable".

    Truthy only when proven (an indistinguishable pair is not known to be equal; read ``outcome``).

    Attributes:
        a, b: the two activations' names.
        outcome: "proven" (f − g is 0 symbolically), "different" (``witness`` shows it) or
            "indistinguishable" (no proof, no witness: the evidence is below).
        method: "symbolic" for a proof, else "numerical".
        points: how many points were compared numerically (0 when proven before any search).
        max_difference: the largest relative difference |f − g|/max(|f|, |g|) seen (0 for a proof).
        witness: an x where they differ (None unless different).
        values: (f(witness), g(witness)) as decimal text to 30 digits, confirmed at twice the
            working precision (None unless different).
        seed: the seed of the random points (reproduce with ``equivalent(a, b, seed=...)``).
        precision: the working precision of the comparison, in bits.
        span: (smallest, largest) x compared, or None.
        skipped: points where a side has no real finite-precision value (complex, a pole).
        note: how the proof or the search ended (time budget, refinements), or "".
    """

    a: str
    b: str
    outcome: str
    method: str
    points: int
    max_difference: float
    witness: float | None
    values: tuple[str, str] | None
    seed: int | None
    precision: int
    span: tuple[float, float] | None
    skipped: int
    note: str = ""

    def __bool__(self) -> bool:
        return self.outcome == "proven"

    @property
    def proven(self) -> bool:
        """f − g was shown to be 0 symbolically."""
        return self.outcome == "proven"

    @property
    def different(self) -> bool:
        """A witness x shows f(x) ≠ g(x)."""
        return self.outcome == "different"

    @property
    def indistinguishable(self) -> bool:
        """Neither proven nor refuted: they agree at every point compared."""
        return self.outcome == "indistinguishable"

    @property
    def evidence(self) -> str:
        """Where and how precisely the two were compared, in words."""
        if not self.points:
            return "no numerical comparison"
        lo, hi = self.span if self.span else (math.nan, math.nan)
        skipped = f", {self.skipped} points without a real value skipped" if self.skipped else ""
        return (f"{self.points} points over [{lo:.3g}, {hi:.3g}] at {self.precision} bits "
                f"(largest relative difference {self.max_difference:.2g}; seed {self.seed}{skipped})")

    def __str__(self) -> str:
        if self.outcome == "proven":
            return f"{self.a} == {self.b}: proven the same function (f - g simplifies to 0)"
        if self.outcome == "different":
            fa, fb = self.values or ("?", "?")
            return (f"{self.a} != {self.b}: different; at x = {self.witness!r}, {self.a} = {fa} and "
                    f"{self.b} = {fb} (relative difference {self.max_difference:.3g})")
        note = f"; {self.note}" if self.note else ""
        return (f"{self.a} ~ {self.b}: indistinguishable at the evidence, not proven equal: they agree at "
                f"{self.evidence}{note}")


def _plain(expr: sp.Expr) -> sp.Expr:
    """The package's stable primitives written out in exp/log/erfc (same function)."""
    ours = (sigmoid, dsigmoid, softplus, expm1, log1p)
    expr = expr.replace(lambda e: isinstance(e, ours), lambda e: e.rewrite(sp.exp))
    expr = expr.replace(lambda e: isinstance(e, erfc), lambda e: sp.erfc(e.args[0]))
    return expr.replace(lambda e: isinstance(e, sp.erfc), lambda e: 1 - sp.erf(e.args[0]))


def _quickly_zero(diff: sp.Expr) -> bool:
    """f − g expands to 0 once the primitives are written out (cheap: no simplify)."""
    return sp.expand(_plain(diff)) == 0


def _zero_pieces(d: sp.Expr) -> bool:
    """Every branch of the folded Piecewise d is 0 (so d is 0 wherever it is defined)."""
    folded = sp.piecewise_fold(d)
    if not isinstance(folded, sp.Piecewise):
        return False
    return all(sp.simplify(sp.expand(value)) == 0 for value, _ in folded.args)


def _symbolically_zero(diff: sp.Expr) -> bool:
    """f − g simplifies to 0 (run inside a time budget: simplify can take minutes)."""
    d = sp.expand(_plain(diff))
    if d == 0:
        return True
    if d.has(sp.Piecewise):
        return _zero_pieces(d)
    if sp.count_ops(d) > 60:   # simplify grows steeply in time beyond this; the search decides
        return False
    return sp.simplify(d.rewrite(sp.exp)) == 0


def _line() -> np.ndarray:
    """Magnitudes over the whole float64 line: dense where activations bend, sparse far out."""
    tiny = np.array([5e-324, 1e-320, 2.2250738585072014e-308, 1e-300, 1e-250, 1e-200, 1e-150, 1e-100,
                     1e-60, 1e-30, 1e-20, 1e-15, 1e-10, 1e-7, 1e-5, 1e-4])
    dense = 10.0 ** np.arange(-3.0, 4.0 + 1 / 32, 1 / 16)
    large = np.concatenate([10.0 ** np.arange(4.25, 8.01, 0.25), 10.0 ** np.arange(9.0, 21.0),
                            10.0 ** np.arange(30.0, 301.0, 10.0), [1e308, 1.7976931348623157e308]])
    return np.concatenate([tiny, dense, large])


#: the fixed part of the search: 0 and the magnitudes on both signs
_LINE = _line()


def _points(seed: int, count: int, kinks: list[float]) -> list[float]:
    """The search's points, in the order they are compared (see the module docstring)."""
    rng = np.random.default_rng(seed)
    half = count // 2
    uniform = rng.uniform(-10, 10, half)
    logs = 10 ** rng.uniform(-3, 4, count - half) * rng.choice([-1.0, 1.0], count - half)
    near = [k + d for k in kinks for d in (0.0, -1e-9, 1e-9, -0.5, 0.5)]
    grid = np.arange(-40, 41) / 4
    seq = (*near, *uniform, *logs, *grid, 0.0, *_LINE, *(-_LINE))
    seen: set[float] = set()
    out = []
    for v in seq:
        v = float(v)
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


@functools.lru_cache(maxsize=1024)
def _mp(expr: sp.Expr) -> Callable[[Any], Any]:
    from ..numeric.mpmath_target import mpmath_function
    from ..numeric.rewrite import stable

    return mpmath_function(stable(expr))


def _value(fn: Callable[[Any], Any], x: float) -> Any:
    """fn(x) at the working precision (set by the caller), or None where it has no real value."""
    import mpmath

    try:
        v = fn(mpmath.mpf(x))
    except (ZeroDivisionError, ValueError, OverflowError, TypeError):
        return None
    if not isinstance(v, mpmath.mpf) or mpmath.isnan(v):
        return None
    return v


def _relative(va: Any, vb: Any) -> Any:
    """|va − vb|/max(|va|, |vb|) as an mpf (0 when equal, inf when only one is infinite)."""
    import mpmath

    if va == vb:
        return mpmath.mpf(0)
    if mpmath.isinf(va) or mpmath.isinf(vb):
        return mpmath.inf
    return abs(va - vb) / max(abs(va), abs(vb))


@dataclass
class _Search:
    """The numerical search's state (kept when a time budget cuts it short)."""

    fa: Callable[[Any], Any]
    fb: Callable[[Any], Any]
    sa: sp.Expr
    sb: sp.Expr
    deadline: float
    compared: int = 0
    skipped: int = 0
    lo: float = math.inf
    hi: float = -math.inf
    worst: Any = 0
    witness: tuple[float, Any, Any, Any] | None = None
    stopped: str = ""
    refined: int = 0

    def rel(self, x: float) -> Any:
        """The relative difference at x (None where a side has no value); confirms witnesses."""
        va, vb = _value(self.fa, x), _value(self.fb, x)
        if va is None or vb is None:
            self.skipped += 1
            return None
        self.compared += 1
        self.lo, self.hi = min(self.lo, x), max(self.hi, x)
        r = _relative(va, vb)
        if r > _WITNESS:
            confirmed = self.confirm(x)
            if confirmed is not None:
                self.witness = confirmed
                return confirmed[3]
            return None
        self.worst = max(self.worst, r)
        return r

    def confirm(self, x: float) -> tuple[float, Any, Any, Any] | None:
        """(x, f, g, relative difference) when values confirmed at twice the precision still differ."""
        import mpmath

        va, vb = mp_value(self.sa, x, prec=PRECISION), mp_value(self.sb, x, prec=PRECISION)
        if not all(isinstance(v, mpmath.mpf) and not mpmath.isnan(v) for v in (va, vb)):
            return None
        r = _relative(va, vb)
        return (x, va, vb, r) if r > _WITNESS else None

    def refine(self, x: float, r: Any) -> None:
        """Climb the relative difference from x (a compass search on its size) toward a witness."""
        self.refined += 1
        step = abs(x) * 0.05 if x != 0 else 1e-3
        for _ in range(_REFINE_STEPS):
            if self.witness is not None or time.monotonic() > self.deadline or step < abs(x) * 1e-15 + 1e-300:
                return
            best = None
            for cand in (x + step, x - step):
                rc = self.rel(cand) if math.isfinite(cand) else None
                if self.witness is not None:
                    return
                if rc is not None and rc > r and (best is None or rc > best[1]):
                    best = (cand, rc)
            if best is None:
                step /= 2
            else:
                x, r = best
                step *= 1.5


def _search(sa: sp.Expr, sb: sp.Expr, xs: list[float], seconds: float) -> _Search:
    """Compare at every point of ``xs``, then refine from the closest calls (see the module docstring)."""
    import mpmath

    from ..numeric.mpmath_target import wide_exponents

    state = _Search(_mp(sa), _mp(sb), sa, sb, time.monotonic() + seconds)
    hints: list[tuple[Any, float]] = []
    try:
        with bounded("equivalence search", seconds), mpmath.workprec(PRECISION), wide_exponents():
            for i, x in enumerate(xs):
                if time.monotonic() > state.deadline:
                    state.stopped = (f"the search stopped at its time budget ({seconds:g} s) "
                                     f"after {i} of {len(xs)} points")
                    return state
                r = state.rel(x)
                if state.witness is not None:
                    return state
                if r is not None and r > _HINT:
                    hints.append((r, x))
            for r, x in sorted(hints, reverse=True)[:_REFINE_STARTS]:
                state.refine(x, r)
                if state.witness is not None:
                    return state
    except FormulaTooComplexError:
        state.stopped = f"the search stopped at its time budget ({seconds:g} s)"
    return state


def equivalent(a: Activation | str, b: Activation | str, *, points: int = 64, seed: int | None = None,
               proof_seconds: float = PROOF_SECONDS, search_seconds: float = SEARCH_SECONDS) -> Equivalence:
    """Whether ``a`` and ``b`` are the same function of x: "proven", "different" (with a
    witness) or "indistinguishable" (with the evidence); see the module docstring.

    A symbolic proof is tried first (simplify a − b to 0, within ``proof_seconds``); failing
    that, a numerical search over the whole float64 line (log-spaced magnitudes up to 1e308 on
    both signs, dense and random points, the kinks of both) compares the two at
    ``PRECISION`` bits and refines where they come close to differing.

    Parameters
    ----------
    a, b : Activation or str
        Catalogue names, formulas in ``x`` or :class:`~activation_lab.Activation` objects.
    points : int, optional
        Random points of the numerical search beside the fixed grid (at least 8).
    seed : int, optional
        Seed of the random points; None draws one (the result records it, so a run can be
        repeated).
    proof_seconds : float, optional
        CPU-time budget of the symbolic proof.
    search_seconds : float, optional
        CPU-time budget of the numerical search.

    Returns
    -------
    Equivalence
        ``outcome`` is ``"proven"``, ``"different"`` (``witness``, ``values``: an x where the two
        differ and both values at high precision) or ``"indistinguishable"`` (``points``,
        ``span``, ``precision``: the evidence; no proof, no witness).

    Raises
    ------
    UnknownActivationError
        A name that is not in the catalogue (with close matches).
    FormulaError
        A formula the safe parser refuses, or one too complex for the budgets.
    ActivationLabError
        ``points`` is not an integer >= 8.

    Examples
    --------
    >>> equivalent("tanhexp", "telu").outcome
    'proven'
    >>> equivalent(define("x*tanh(exp(x))*(1 + 1e-50)"), "telu").outcome    # doctest: +SKIP
    'different'
    """
    import mpmath

    from ..numeric.rewrite import stable

    fa, fb = resolve(a), resolve(b)
    if isinstance(points, bool) or not isinstance(points, int) or points < 8:
        raise ActivationLabError(f"points must be an integer >= 8, got {points!r}; e.g. points=64")
    diff = fa.expr - fb.expr

    def verdict(outcome: str, **kw: Any) -> Equivalence:
        base: dict[str, Any] = dict(method="numerical", points=0, max_difference=0.0, witness=None, values=None,
                                    seed=None, precision=PRECISION, span=None, skipped=0, note="")
        base.update(kw)
        return Equivalence(fa.name, fb.name, outcome, **base)

    try:
        with bounded("equivalence proof", proof_seconds, formula=fa.formula):
            if _quickly_zero(diff):
                return verdict("proven", method="symbolic")
    except FormulaTooComplexError:
        pass
    seed = secrets.randbits(63) if seed is None else int(seed)
    kinks = sorted({float(k) for k in (*breakpoints(fa.expr), *breakpoints(fb.expr))})
    state = _search(stable(fa.expr), stable(fb.expr), _points(seed, points, kinks), search_seconds)
    span = (state.lo, state.hi) if state.compared else None
    evidence = dict(points=state.compared, seed=seed, span=span, skipped=state.skipped)
    if state.witness is not None:
        x, va, vb, r = state.witness
        # enough digits to show the difference (a relative 1e-50 needs 60)
        digits = min(int(PRECISION * 0.3), max(30, int(-mpmath.log10(r)) + 10 if r > 0 else 30))
        return verdict("different", max_difference=float(r), witness=x,
                       values=(mpmath.nstr(va, digits), mpmath.nstr(vb, digits)), **evidence)
    if state.compared == 0:
        raise ActivationLabError(f"cannot compare {fa.name} and {fb.name}: neither has a real value at any of "
                                 f"the {state.skipped} points tried; both must be real functions of x")
    try:
        with bounded("equivalence proof", proof_seconds, formula=fa.formula):
            if _symbolically_zero(diff):
                return verdict("proven", method="symbolic", max_difference=float(state.worst), **evidence)
        why = "no symbolic proof found"
    except FormulaTooComplexError:
        why = f"no symbolic proof within {proof_seconds:g} s"
    notes = [why] + ([state.stopped] if state.stopped else [])
    if state.refined:
        plural = "s" if state.refined > 1 else ""
        notes.append(f"{state.refined} refinement{plural} near close calls found no difference")
    return verdict("indistinguishable", max_difference=float(state.worst), note="; ".join(notes), **evidence)


#: the relations :func:`related` builds: c·g(x), g(x) + c and g(x + c)
RELATIONS = ("scaled", "offset", "shifted")


def related(g: Activation | str, kind: str, constant: sp.Expr | int | fractions.Fraction) -> Activation:
    """c·g(x) (``kind`` "scaled"), g(x) + c ("offset") or g(x + c) ("shifted") as an activation,
    with the exact ``constant`` c (a SymPy number, an int or a Fraction); ask :func:`equivalent`
    whether a formula is it, so that a relation gets the same three outcomes as an identity.

    >>> equivalent(define("2*x*tanh(exp(x))"), related("telu", "scaled", 2)).outcome    # doctest: +SKIP
    'proven'
    """
    from ..symbolic.parsing import X

    base = resolve(g)
    if kind not in RELATIONS:
        raise ActivationLabError(f"unknown relation {kind!r}; use one of {', '.join(RELATIONS)}")
    if isinstance(constant, fractions.Fraction):
        constant = sp.Rational(constant.numerator, constant.denominator)
    if not isinstance(constant, (int, sp.Expr)) or isinstance(constant, bool):
        raise ActivationLabError(f"the constant of a relation must be an exact number (int, Fraction or SymPy "
                                 f"number), got {constant!r}")
    c = sp.Integer(constant) if isinstance(constant, int) else constant
    if c.free_symbols or not c.is_real:
        raise ActivationLabError(f"the constant of a relation must be a real number, got {c}")
    expr, text, name = {
        "scaled": (c * base.expr, f"({c})*({base.formula})", f"{c}*{base.name}"),
        "offset": (base.expr + c, f"({base.formula}) + ({c})", f"{base.name} + {c}"),
        "shifted": (base.expr.subs(X, X + c), f"{base.name}(x + ({c}))", f"{base.name}(x + {c})"),
    }[kind]
    # a new symbolic activation holding the related expression (the formula text says how it was made)
    out = object.__new__(Activation)
    out.__dict__.update(name=name, formula=text, expr=expr, _exact_params=dict(base._exact_params),
                        params=dict(base.params), description=f"{kind} {base.name}", source="relation",
                        family="user", aliases=())
    return out


def catalog_match(act: Activation | str) -> str | None:
    """The name of the catalogue activation (default parameters) that ``act`` is, or None.

    A catalogue entry is named when :func:`equivalent` finds it "proven" or "indistinguishable"
    (never "different"); ``equivalent(act, name)`` says which, with its evidence.  A cheap
    filter (values at five points, 64 bits) picks candidates first.  For
    ``define("x*tanh(exp(x))")`` this is ``"telu"`` (TanhExp is TeLU).
    """
    import mpmath

    from ..catalog import CATALOG
    from ..symbolic.activation import get

    act = resolve(act)
    probe = (-2.5, -0.7, 0.3, 1.9, 4.2)
    mine = _mp(act.expr)
    with mpmath.workprec(64):
        own = [mine(mpmath.mpf(x)) for x in probe]
        # its own entry first: CELU with α = 1 is ELU, but celu is still celu
        for entry in sorted(CATALOG, key=lambda e: e.name != act.name):
            other = get(entry.name)
            theirs = [_mp(other.expr)(mpmath.mpf(x)) for x in probe]
            close = all(abs(u - v) <= 1e-12 * max(1, abs(u)) for u, v in zip(own, theirs, strict=True))
            if close and not equivalent(act, other).different:
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

    act = resolve(act)
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
        if not equivalent(act, candidate).different:
            return entry.name, exact
    return None


def _short_fraction(v: float) -> str:
    """v as a short exact number, as a user would write it: '2', '1.702' (851/500), '1/3'; the
    proof that follows judges whether it is right."""
    return decimal_or_fraction(fractions.Fraction(v).limit_denominator(10_000))


def decimal_or_fraction(q: fractions.Fraction) -> str:
    """q as a user writes it: 2, 0.25, 1.702 (a terminating decimal), else p/q."""
    if q.denominator == 1:
        return str(q.numerator)
    d = q.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    if d == 1:      # a terminating decimal: as the user wrote it (0.1, 1.702)
        return format(decimal.Decimal(q.numerator) / decimal.Decimal(q.denominator), "f")
    return f"{q.numerator}/{q.denominator}"


@functools.lru_cache(maxsize=64)
def _with_parameters(formula: str, names: tuple[str, ...]):
    """A catalogue formula as an mpmath function of (x, *parameters)."""
    from ..numeric.mpmath_target import MPMATH_NAMESPACE
    from ..symbolic.parsing import X, parse_with_symbols

    symbols = {n: sp.Symbol(f"p_{n}", real=True) for n in names}
    expr = parse_with_symbols(formula, symbols)
    return sp.lambdify((X, *symbols.values()), expr, modules=[MPMATH_NAMESPACE, "mpmath"])
