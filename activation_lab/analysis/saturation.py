"""Saturation: how f⁽ⁿ⁾ behaves as x → −∞ (or +∞), exactly, with numerical evidence.

The leading term of f⁽ⁿ⁾ is found by dominant-term analysis of its stable form.  With
x = s·t (s = ±1, t → +∞) the expression is expanded bottom-up into a truncated asymptotic
series Σ cₖ·t^{pₖ}·e^{Eₖ(t)} + O(scale), where every exponent Eₖ is 0 or a sum of terms
that diverge (a small transseries calculus).  Sums, products and constant powers are
exact operations on such series; exp splits its argument into divergent, constant and
vanishing parts; tanh, sech, sigmoid and softplus at ±∞ are power series in e^{∓ku};
erfc at +∞ is its asymptotic series e^{−u²}/(u√π)·Σ(−1)ᵏ(2k−1)!!/(2u²)ᵏ; any function at a
finite point is its Taylor series.  Leading terms that cancel are met by retrying with
more terms.  Every step checks a deadline, so the analysis is time-bounded; what lies
outside the calculus (a logarithm of a power of x, oscillation) or past the deadline
falls back to a high-precision numerical fit, and the result says so
(``numerical_fallback``).  SymPy's ``limit`` is never called: it can run for minutes.

Evidence: the ratio f⁽ⁿ⁾(x)/leading(x) at x = s·20, s·100, s·1000, computed with mpmath at
adaptive precision, must tend to 1 (``ratios``, ``agree``).
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..errors import ActivationLabError
from ..numeric.evaluate import evaluate
from ..numeric.mpmath_target import mpmath_of
from ..symbolic.activation import Activation, resolve
from ..symbolic.functions import dsigmoid, expm1, log1p, sigmoid, softplus
from ..symbolic.parsing import X

__all__ = ["Saturation", "LeadingTerm", "saturation", "leading_term", "mp_value", "KINDS", "RATIO_POINTS"]

#: the kinds of behaviour, slowest decay first
KINDS = ("zero", "constant", "polynomial", "exponential", "super-exponential", "double-exponential")
#: |x| at which the ratio f⁽ⁿ⁾/leading is checked
RATIO_POINTS = (20, 100, 1000)

_T = sp.Symbol("t", positive=True)   # x = s·t, t → +∞
_Y = sp.Dummy("y")                   # the variable of Taylor coefficients
_ORDERS = (3, 6, 10)                 # series lengths tried in turn when leading terms cancel
_BIG_T = sp.Integer(10) ** 40        # where Piecewise conditions are decided


class _UnsupportedError(Exception):
    """The expression lies outside the asymptotic calculus."""


class _NeedMoreError(Exception):
    """Leading terms cancelled: the series were cut too short."""


class _OutOfTimeError(Exception):
    """The deadline passed."""


# ---------------------------------------------------------------------------------------------
# the asymptotic calculus (private): scales t^p·e^E, terms c·scale, truncated series
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Scale:
    p: sp.Expr           # power of t
    E: sp.Expr           # 0, or a sum of terms that diverge as t → ∞

    def __mul__(self, other: _Scale) -> _Scale:
        return _Scale(self.p + other.p, sp.expand(self.E + other.E))

    def __pow__(self, k: int) -> _Scale:
        return _Scale(self.p * k, sp.expand(self.E * k))

    def same(self, other: _Scale) -> bool:
        return self.p == other.p and sp.expand(self.E - other.E) == 0


_ONE = _Scale(sp.S.Zero, sp.S.Zero)


@dataclass(frozen=True)
class _Term:
    c: sp.Expr           # a non-zero real constant
    scale: _Scale

    def expr(self) -> sp.Expr:
        return self.c * _T**self.scale.p * sp.exp(self.scale.E)


@dataclass(frozen=True)
class _Series:
    terms: tuple[_Term, ...]             # most dominant first
    err: _Scale | None = None            # None: exact

    @property
    def exact_zero(self) -> bool:
        return not self.terms and self.err is None


def _const(c: sp.Expr) -> _Series:
    return _Series(()) if c == 0 else _Series((_Term(sp.sympify(c), _ONE),))


def _real_sign(c: sp.Expr) -> int:
    value = sp.N(c, 30)
    if not value.is_real:
        raise _UnsupportedError(f"coefficient {c} is not real")
    return _sign(value)


def _sign(value: sp.Expr) -> int:
    return 1 if bool(value > 0) else -1 if bool(value < 0) else 0


class _Calculus:
    """Expansions as t → +∞ with at most ``n`` terms per series, until ``deadline``."""

    def __init__(self, n: int, deadline: float):
        self.n = n
        self.deadline = deadline
        self._series: dict[sp.Expr, _Series] = {}
        self._cmp: dict[tuple, int] = {}

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise _OutOfTimeError

    # ordering of scales ------------------------------------------------------------------
    def compare(self, a: _Scale, b: _Scale) -> int:
        """sign of lim log(a/b): +1 when a dominates b, 0 when a and b are the same scale."""
        gap = sp.expand(a.E - b.E)
        if gap == 0:
            return _sign(a.p - b.p)
        key = (gap,)
        if key not in self._cmp:
            self._cmp[key] = self.sign_at_infinity(gap)
        return self._cmp[key]

    def sign_at_infinity(self, gap: sp.Expr) -> int:
        """±1 for an expression known to diverge to ±∞."""
        lead = self.lead(gap)
        if self.limit_class(lead) != "inf":
            raise _UnsupportedError(f"exponent {gap} does not diverge")
        return _real_sign(lead.c)

    def limit_class(self, term: _Term) -> str:
        """'inf', 'const' or 'zero': where |term| goes as t → ∞."""
        p, ex = term.scale.p, term.scale.E
        if ex == 0:
            return "inf" if p > 0 else "const" if p == 0 else "zero"
        return "inf" if self.sign_at_infinity(ex) > 0 else "zero"

    def lead(self, e: sp.Expr | _Series) -> _Term:
        s = self.series(e) if not isinstance(e, _Series) else e
        if not s.terms:
            if s.err is None:
                raise _UnsupportedError("the expression is exactly zero")
            raise _NeedMoreError
        return s.terms[0]

    # arithmetic on series ---------------------------------------------------------------
    def _max_scale(self, a: _Scale | None, b: _Scale | None) -> _Scale | None:
        if a is None:
            return b
        if b is None:
            return a
        return a if self.compare(a, b) >= 0 else b

    def normalise(self, terms: Sequence[_Term], err: _Scale | None) -> _Series:
        self.tick()
        merged: list[_Term] = []
        for term in terms:
            for i, kept in enumerate(merged):
                if kept.scale.same(term.scale):
                    merged[i] = _Term(kept.c + term.c, kept.scale)
                    break
            else:
                merged.append(term)
        alive = [t for t in merged if not _is_zero(t.c)]
        if err is not None:
            alive = [t for t in alive if self.compare(t.scale, err) > 0]
        alive.sort(key=functools.cmp_to_key(lambda a, b: -self.compare(a.scale, b.scale)))
        if len(alive) > self.n:
            err = self._max_scale(err, alive[self.n].scale)
            alive = alive[: self.n]
        return _Series(tuple(alive), err)

    def add(self, *items: _Series) -> _Series:
        terms: list[_Term] = []
        err = None
        for s in items:
            terms.extend(s.terms)
            err = self._max_scale(err, s.err)
        return self.normalise(terms, err)

    def mul(self, a: _Series, b: _Series) -> _Series:
        if a.exact_zero or b.exact_zero:
            return _Series(())
        terms = [_Term(ta.c * tb.c, ta.scale * tb.scale) for ta in a.terms for tb in b.terms]
        err = None
        a_top = a.terms[0].scale if a.terms else a.err
        b_top = b.terms[0].scale if b.terms else b.err
        if b.err is not None:
            err = self._max_scale(err, a_top * b.err)
        if a.err is not None:
            err = self._max_scale(err, b_top * a.err)
        return self.normalise(terms, err)

    def times(self, s: _Series, c: sp.Expr, scale: _Scale = _ONE) -> _Series:
        """s · c·scale."""
        if c == 0:
            return _Series(())
        return _Series(tuple(_Term(t.c * c, t.scale * scale) for t in s.terms),
                       None if s.err is None else s.err * scale)

    def compose(self, coeffs: Sequence[sp.Expr], delta: _Series) -> _Series:
        """Σ aₖ·δᵏ for δ → 0, with the truncation error O(δ^len(coeffs))."""
        if delta.exact_zero:
            return _const(coeffs[0])
        top = delta.terms[0].scale if delta.terms else delta.err
        if not delta.terms:
            return self.add(_const(coeffs[0]), _Series((), top))
        out = [_const(coeffs[0])]
        power = _const(sp.S.One)
        for a in coeffs[1:]:
            power = self.mul(power, delta)
            if a != 0:
                out.append(self.times(power, a))
        out.append(_Series((), top ** len(coeffs)))
        return self.add(*out)

    def split(self, s: _Series) -> tuple[_Term, _Series]:
        """s = top·(1 + δ) with top the leading term: (top, δ)."""
        top = self.lead(s)
        inv = _Scale(-top.scale.p, sp.expand(-top.scale.E))
        delta = self.times(_Series(s.terms[1:], s.err), 1 / top.c, inv)
        return top, delta

    def power(self, s: _Series, k: sp.Expr) -> _Series:
        if s.exact_zero:
            if k > 0:
                return s
            raise _UnsupportedError("a negative power of zero")
        if k.is_Integer and 0 <= k <= 8:
            out = _const(sp.S.One)
            for _ in range(int(k)):
                out = self.mul(out, s)
            return out
        top, delta = self.split(s)
        if _real_sign(top.c) < 0 and not k.is_Integer:
            raise _UnsupportedError("a fractional power of a negative quantity")
        coeffs = [sp.binomial(k, j) for j in range(self.n + 1)]
        lead = _Scale(top.scale.p * k, sp.expand(top.scale.E * k))
        return self.times(self.compose(coeffs, delta), top.c**k, lead)

    def exp(self, u: _Series) -> _Series:
        divergent, constant, small = [], sp.S.Zero, []
        for term in u.terms:
            cls = self.limit_class(term)
            if cls == "inf":
                divergent.append(term.expr())
            elif cls == "const":
                constant += term.c
            else:
                small.append(term)
        if u.err is not None and self.limit_class(_Term(sp.S.One, u.err)) != "zero":
            raise _NeedMoreError     # the exponent is not known to o(1)
        factorials = [1 / sp.factorial(j) for j in range(self.n + 1)]
        rest = self.compose(factorials, _Series(tuple(small), u.err))
        return self.times(rest, sp.exp(constant), _Scale(sp.S.Zero, sp.expand(sp.Add(*divergent))))

    def taylor(self, func: Callable[[sp.Expr], sp.Expr], at: sp.Expr, delta: _Series) -> _Series:
        """func(at + δ) for δ → 0 by Taylor's theorem."""
        f = func(_Y)
        coeffs = []
        for j in range(self.n + 1):
            a = sp.diff(f, _Y, j).subs(_Y, at) / sp.factorial(j)
            if a.has(sp.zoo, sp.nan, sp.oo, sp.S.NegativeInfinity):
                raise _UnsupportedError(f"{f} is singular at {at}")
            coeffs.append(a)
        return self.compose(coeffs, delta)

    def around(self, u: _Series) -> tuple[str, sp.Expr, _Series]:
        """Where u goes: ('inf', sign, _) or ('finite', u₀, δ) with u = u₀ + δ, δ → 0."""
        if u.exact_zero:
            return "finite", sp.S.Zero, u
        top = self.lead(u)
        cls = self.limit_class(top)
        if cls == "inf":
            return "inf", sp.Integer(_real_sign(top.c)), u
        if cls == "const":
            return "finite", top.c, _Series(u.terms[1:], u.err)
        return "finite", sp.S.Zero, u

    def at_infinity(self, gen: sp.Expr, u: _Series, k: int) -> _Series:
        """gen(e^{k·u}) for e^{k·u} → 0, gen analytic at 0."""
        v = self.exp(self.times(u, sp.Integer(k)))
        coeffs = _taylor_coefficients(gen, self.n)
        return self.compose(coeffs, v)

    # the expression walk ----------------------------------------------------------------
    def series(self, e: sp.Expr) -> _Series:
        self.tick()
        if e in self._series:
            return self._series[e]
        out = self._series_uncached(e)
        self._series[e] = out
        return out

    def _series_uncached(self, e: sp.Expr) -> _Series:
        if not e.has(_T):
            if not e.is_number or e.has(sp.zoo, sp.nan, sp.oo, sp.S.NegativeInfinity):
                raise _UnsupportedError(f"{e} is not a finite constant")
            return _const(e)
        if e == _T:
            return _Series((_Term(sp.S.One, _Scale(sp.S.One, sp.S.Zero)),))
        if e.is_Add:
            return self.add(*(self.series(a) for a in e.args))
        if e.is_Mul:
            out = _const(sp.S.One)
            for a in e.args:
                out = self.mul(out, self.series(a))
            return out
        if e.is_Pow:
            base, k = e.args
            if k.has(_T):
                return self.series(sp.exp(k * sp.log(base)))
            return self.power(self.series(base), k)
        if isinstance(e, sp.Piecewise):
            for value, cond in e.args:
                verdict = cond.subs(_T, _BIG_T) if cond is not sp.true else cond
                if verdict not in (sp.true, sp.false):
                    raise _UnsupportedError(f"cannot decide {cond} as t → ∞")
                if verdict is sp.true:
                    return self.series(value)
            raise _UnsupportedError("no branch of the Piecewise holds as t → ∞")
        if isinstance(e, sp.exp):
            return self.exp(self.series(e.args[0]))
        if isinstance(e, (sp.cosh, sp.sinh, expm1)):
            return self.series(e.rewrite(sp.exp))
        if isinstance(e, dsigmoid):   # σ'(u) = σ(u)·σ(−u)
            return self.series(sigmoid(e.args[0]) * sigmoid(-e.args[0]))
        if isinstance(e, (sp.Max, sp.Min)):
            return self.series(e.rewrite(sp.Piecewise))
        if not isinstance(e, sp.Function):
            raise _UnsupportedError(f"{type(e).__name__} is not handled")
        return self._function(e)

    def _function(self, e: sp.Function) -> _Series:
        if len(e.args) != 1 and not isinstance(e, sp.Heaviside):
            raise _UnsupportedError(f"{e.func} has several arguments")
        u = self.series(e.args[0])
        where, at, delta = self.around(u)
        if isinstance(e, (sp.Abs, sp.sign, sp.Heaviside)):
            if u.exact_zero:
                return self.series(e.func(sp.S.Zero, *e.args[1:]))
            sgn = _real_sign(self.lead(u).c)
            if isinstance(e, sp.Abs):
                return self.times(u, sp.Integer(sgn))
            return _const(sp.Integer(sgn) if isinstance(e, sp.sign) else sp.Integer(sgn > 0))
        if where == "finite":
            return self.taylor(e.func, at, delta)
        sgn = int(at)
        y = _Y
        if isinstance(e, sp.tanh):
            return self.at_infinity(sgn * (1 - y) / (1 + y), u, -2 * sgn)
        if isinstance(e, sp.sech):
            return self.at_infinity(2 * y / (1 + y**2), u, -sgn)
        if isinstance(e, sigmoid):
            return self.at_infinity(1 / (1 + y) if sgn > 0 else y / (1 + y), u, -sgn)
        if isinstance(e, softplus):
            tail = self.at_infinity(sp.log(1 + y), u, -sgn)
            return self.add(u, tail) if sgn > 0 else tail
        if isinstance(e, sp.erfc):   # the package's erfc and SymPy's
            if sgn < 0:
                return self.add(_const(sp.Integer(2)), self.times(self._erfc_plus(self.times(u, -1)), -1))
            return self._erfc_plus(u)
        if isinstance(e, sp.erf):
            tail = self._erfc_plus(self.times(u, sp.Integer(sgn)))
            return self.add(_const(sp.Integer(sgn)), self.times(tail, sp.Integer(-sgn)))
        if isinstance(e, sp.atan):
            inv = self.power(u, sp.Integer(-1))
            return self.add(_const(sgn * sp.pi / 2), self.times(self.taylor(sp.atan, sp.S.Zero, inv), -1))
        if isinstance(e, (sp.log, log1p)):
            return self._log(self.add(u, _const(sp.S.One)) if isinstance(e, log1p) else u)
        raise _UnsupportedError(f"{e.func} at infinity is not handled")

    def _erfc_plus(self, u: _Series) -> _Series:
        """erfc(u), u → +∞: e^{−u²}/(u√π)·Σₖ (−1)ᵏ(2k−1)!!/(2u²)ᵏ."""
        sq = self.mul(u, u)
        gauss = self.exp(self.times(sq, -1))
        z = self.power(sq, sp.Integer(-1))
        coeffs = [(-1) ** j * sp.factorial2(2 * j - 1) / sp.Integer(2) ** j for j in range(self.n + 1)]
        body = self.mul(self.mul(gauss, self.power(u, sp.Integer(-1))), self.compose(coeffs, z))
        return self.times(body, 1 / sp.sqrt(sp.pi))

    def _log(self, u: _Series) -> _Series:
        where, at, delta = self.around(u)
        if where == "finite" and at != 0:
            return self.taylor(sp.log, at, delta)
        top, delta = self.split(u)
        if top.scale.p != 0:
            raise _UnsupportedError("log of a power of x (log x terms are outside the calculus)")
        if _real_sign(top.c) < 0:
            raise _UnsupportedError("log of a negative quantity")
        parts = [_const(sp.log(top.c)), self.taylor(sp.log, sp.S.One, delta)]
        if top.scale.E != 0:
            parts.append(self.series(top.scale.E))
        return self.add(*parts)


@functools.lru_cache(maxsize=256)
def _taylor_coefficients(gen: sp.Expr, n: int) -> list[sp.Expr]:
    poly = sp.series(gen, _Y, 0, n + 1).removeO()
    return [sp.expand(poly).coeff(_Y, j) for j in range(n + 1)]


def _is_zero(c: sp.Expr) -> bool:
    """Whether a merged coefficient cancelled.  Undecided counts as non-zero: a spurious tiny
    constant then fails the numerical check (``agree``) instead of being dropped silently."""
    c = sp.expand(c)
    if c == 0 or c.is_zero:
        return True
    if c.is_zero is False or sp.count_ops(c) > 60:
        return False
    return sp.simplify(c.rewrite(sp.exp)) == 0


# ---------------------------------------------------------------------------------------------
# leading terms, public
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LeadingTerm:
    """g(x) ~ expr as x → direction·∞, expr = constant·x^power·e^{exponent(x)}.

    (For a non-integer power, expr = constant·(direction·x)^power·e^{exponent}, which is real.)
    Returned by :func:`leading_term`.

    Attributes
    ----------
    expr : sympy.Expr
        The leading term in ``x``; 0 when g is exactly 0 there.
    constant, power, exponent : sympy.Expr
        Its constant factor, the power of x and the exponent, as in the formula above.
    direction : int
        −1 for x → −∞, +1 for x → +∞.
    terms : tuple of sympy.Expr
        The first terms of the expansion in x, most dominant first.
    polynomial_part : sympy.Expr or None
        The sum of the terms c·x^p with p ≥ 0 (None if unknown).
    """

    expr: sp.Expr
    constant: sp.Expr
    power: sp.Expr
    exponent: sp.Expr
    direction: int
    terms: tuple[sp.Expr, ...]
    polynomial_part: sp.Expr | None = None   # Σ of the terms c·x^p with p ≥ 0 (None if unknown)


def _to_x(expr: sp.Expr, direction: int) -> sp.Expr:
    return expr.subs(_T, direction * X)


def _tidy_constant(c: sp.Expr) -> sp.Expr:
    """A shorter form of a constant where one exists (tanh(log 2) → 3/5)."""
    if c.is_Rational or sp.count_ops(c) > 60:
        return c
    simpler = sp.simplify(c.rewrite(sp.exp))
    return simpler if sp.count_ops(simpler) < sp.count_ops(c) else c


def _term_to_x(term: _Term, direction: int) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """(constant, exponent, expr) of c·t^p·e^E with t = direction·x."""
    p = term.scale.p
    exponent = sp.expand(_to_x(term.scale.E, direction))
    if p.is_Integer:
        constant = _tidy_constant(term.c * sp.Integer(direction) ** p)
        body = constant * X**p
    else:
        constant = _tidy_constant(term.c)
        body = constant * (direction * X) ** p
    return constant, exponent, body * sp.exp(exponent)


def leading_term(expr: sp.Expr, direction: int = -1, time_limit: float = 5.0) -> LeadingTerm | None:
    """Leading asymptotic term of ``expr`` (in x) as x → direction·∞ (see the module docstring).

    Parameters
    ----------
    expr : sympy.Expr
        An expression in the real symbol ``x`` of :mod:`activation_lab.symbolic.parsing`.
    direction : {-1, 1}, optional
        −1 (default) for x → −∞, +1 for x → +∞.
    time_limit : float, optional
        Seconds the calculus may take (default 5).

    Returns
    -------
    LeadingTerm or None
        The leading term, or None when the calculus cannot decide within ``time_limit`` or the
        expression lies outside it (a logarithm of a power of x, oscillation).

    Raises
    ------
    ActivationLabError
        ``direction`` is not −1 or +1.
    """
    from ..numeric.rewrite import stable

    _check_direction(direction)
    g = stable(expr).subs(X, direction * _T)
    deadline = time.monotonic() + time_limit
    for n in _ORDERS:
        calc = _Calculus(n, deadline)
        try:
            s = calc.series(g)
            if s.exact_zero:
                return LeadingTerm(sp.S.Zero, sp.S.Zero, sp.S.Zero, sp.S.Zero, direction, (), sp.S.Zero)
            lead = calc.lead(s)
            # the polynomial part is known when what was cut off vanishes
            known = s.err is None or calc.limit_class(_Term(sp.S.One, s.err)) == "zero"
            if not known and calc.limit_class(lead) != "zero" and n != _ORDERS[-1]:
                continue
            poly = [t for t in s.terms if t.scale.E == 0 and t.scale.p >= 0]
        except _NeedMoreError:
            continue
        except (_UnsupportedError, _OutOfTimeError, RecursionError):
            return None
        except (TypeError, ValueError, ArithmeticError, NotImplementedError):
            return None     # SymPy could not decide a step (a sign, a series): the caller fits numerically
        constant, exponent, body = _term_to_x(lead, direction)
        terms = tuple(_term_to_x(t, direction)[2] for t in s.terms)
        poly_x = sp.Add(*(_term_to_x(t, direction)[2] for t in poly)) if known else None
        return LeadingTerm(body, constant, lead.scale.p, exponent, direction, terms, poly_x)
    return None


def _check_direction(direction: object) -> None:
    if direction not in (-1, 1) or isinstance(direction, bool):
        raise ActivationLabError(f"direction must be -1 (x → −∞) or +1 (x → +∞), got {direction!r}")


# ---------------------------------------------------------------------------------------------
# classification
# ---------------------------------------------------------------------------------------------
def _classify(lead: LeadingTerm) -> tuple[str, sp.Expr]:
    """(kind, rate) of a leading term; see :class:`Saturation`."""
    if lead.expr == 0:
        return "zero", sp.S.Zero
    if lead.exponent == 0:
        return ("constant", sp.S.Zero) if lead.power == 0 else ("polynomial", lead.power)
    ex = lead.exponent
    top = leading_term(ex, lead.direction)
    if top is None:
        raise _UnsupportedError("the exponent's own leading term is out of reach")
    if top.exponent != 0:
        return "double-exponential", top.constant
    q = top.power
    if q > 1:
        return "super-exponential", top.constant
    return "exponential", top.constant


# ---------------------------------------------------------------------------------------------
# mpmath evaluation for the evidence (no flushing of huge exponents: e^{−2e¹⁰⁰⁰} is fine)
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=512)
def _mp_callable(expr: sp.Expr) -> Callable[[Any], Any]:
    from ..numeric.mpmath_target import mpmath_function

    return mpmath_function(expr)


def mp_value(expr: sp.Expr, x: float, prec: int = 120) -> Any:
    """expr(x) at ``prec`` bits, raised until two precisions agree (≤ 8192 bits); nan if never.

    Far out the precision needed is large: e^{−2e¹⁰⁰⁰} needs its exponent to 1450 bits.

    Parameters
    ----------
    expr : sympy.Expr
        An expression in ``x``.
    x : float
        Where to evaluate it.
    prec : int, optional
        Starting precision in bits (default 120).

    Returns
    -------
    mpmath.mpf
        The value, confirmed at twice the precision it was found at; nan when it never settles.

    Raises
    ------
    ValueError
        ``x`` is not finite.
    """
    from ..numeric.mpmath_target import reference, wide_exponents

    with wide_exponents():   # e^{-2e^1000} at x = 1000 is evidence here
        return reference(_mp_callable(expr), x, prec=prec, max_prec=8192, strict=True)


def _ratio(num: sp.Expr, den: sp.Expr, x: float) -> float:
    import mpmath

    a, b = mp_value(num, x), mp_value(den, x)
    if mpmath.isnan(a) or mpmath.isnan(b):
        return math.nan
    if a == 0 and b == 0:
        return 1.0          # both exactly zero: the leading term is the function
    if b == 0:
        return math.inf
    return float(a / b)


def _agree(ratios: dict[float, float]) -> bool:
    """Ratios tend to 1: the farthest within 2 % of 1 and no worse than the nearest."""
    values = [ratios[k] for k in sorted(ratios, key=abs)]
    if any(not math.isfinite(v) for v in values[-1:]):
        return False
    errs = [abs(v - 1) for v in values if math.isfinite(v)]
    return errs[-1] <= 0.02 and errs[-1] <= errs[0] + 1e-12


# ---------------------------------------------------------------------------------------------
# the numerical fit (fallback)
# ---------------------------------------------------------------------------------------------
def _round(value: float, tol: float, denominator: int = 12, relative: bool = False) -> sp.Expr:
    """A rational with a small denominator when ``value`` is within ``tol`` of one (absolute for
    |value| ≤ 1 unless ``relative``; a coefficient such as 0.0714 needs a relative test, or it
    snaps to 1/12), else the float."""
    r = sp.Rational(value).limit_denominator(denominator)
    scale = abs(value) if relative else max(1.0, abs(value))
    return r if abs(float(r) - value) <= tol * scale else sp.Float(value, 6)


#: t = |x| where the fallback fits log|g|: doubling, so a power t^q shows as Δ ratios 2^q
_FIT_T = (100, 200, 400, 800, 1600)


def _fit(g: sp.Expr, direction: int) -> LeadingTerm:
    """Leading term of g fitted to mpmath values of log|g| at |x| = 100 … 1600.

    With ΔL the change of L = log|g| as t doubles, ΔL stays ≈ p·log 2 for a power t^p and
    doubles for e^{ct}; its growth ratio 2^q gives the power of t in the exponent.  The
    constant is g/shape at the last two points, extrapolated in 1/t (Richardson).
    """
    import mpmath

    vals = [mp_value(g, direction * t) for t in _FIT_T]
    if all(v == 0 for v in vals):
        return LeadingTerm(sp.S.Zero, sp.S.Zero, sp.S.Zero, sp.S.Zero, direction, ())
    if any(v == 0 or not mpmath.isfinite(v) for v in vals) or not _one_sign(g, direction):
        raise ActivationLabError(
            f"no leading term for {g} as x -> {'+' if direction > 0 else '-'}inf: it is zero, infinite or changes sign "
            "far out (an oscillating function has no leading term)")
    sign = int(mpmath.sign(vals[-1]))
    logs = [float(mpmath.log(abs(v))) for v in vals]
    steps = [b - a for a, b in itertools.pairwise(logs)]
    p, exponent_t = sp.S.Zero, sp.S.Zero
    if abs(steps[-1]) < 1e-3 and abs(steps[-2]) < 2e-3:
        return _fitted(g, direction, sign, p, exponent_t)      # a constant
    q = math.log2(abs(steps[-1] / steps[-2])) if steps[-2] != 0 else 0.0
    if q > 6:                                                  # log|g| itself grows exponentially
        b = _round((math.log(abs(logs[-2])) - math.log(abs(logs[-3]))) / (_FIT_T[-2] - _FIT_T[-3]), 2e-3)
        a = _round(logs[-2] / math.exp(float(b) * _FIT_T[-2]), 0.02, relative=True)
        return _fitted(g, direction, sign, p, a * sp.exp(b * _T))
    if q > 1.5:                                                # a·t^q, then the rest as below
        q = _round(q, 0.05, 4)
        # the lower-order terms shift this estimate by ~1e-5 relative at t = 1600
        a = _round(logs[-1] / _FIT_T[-1] ** float(q), 1e-4, relative=True)
        exponent_t = a * _T**q
        logs = [v - float(a) * t ** float(q) for v, t in zip(logs, _FIT_T, strict=True)]
    # logs = c·t + p·log t + k through the last three points
    design = np.array([[t, math.log(t), 1.0] for t in _FIT_T[-3:]])
    c, pp, _ = np.linalg.solve(design, np.array(logs[-3:]))
    c = _round(c, 2e-3) if abs(c) > 1e-3 else sp.S.Zero
    return _fitted(g, direction, sign, _round(pp, 0.05, 4), exponent_t + c * _T)


def _one_sign(g: sp.Expr, direction: int) -> bool:
    """g keeps one sign on 60 points spread over |x| ∈ [50, 1600] (it does not oscillate there)."""
    import mpmath

    from ..numeric.mpmath_target import wide_exponents

    fn = _mp_callable(g)
    with mpmath.workprec(64), wide_exponents():
        signs = {int(mpmath.sign(fn(mpmath.mpf(direction * t)))) for t in np.geomspace(50, 1600, 60)}
    return len(signs) == 1


def _fitted(g: sp.Expr, direction: int, sign: int, p: sp.Expr, exponent_t: sp.Expr) -> LeadingTerm:
    """The fitted shape |x|^p·e^{E} with its constant g/shape extrapolated in 1/t (Richardson)."""
    exponent_t = sp.sympify(exponent_t)
    shape_x = (_T**p * sp.exp(exponent_t)).subs(_T, direction * X)
    scaled = [float(abs(mp_value(g, direction * t)) / abs(mp_value(shape_x, direction * t))) for t in _FIT_T[-2:]]
    c = sign * sp.Float(2 * scaled[1] - scaled[0], 12)   # Richardson: corrections are O(1/t)
    constant, exponent, expr = _term_to_x(_Term(c, _Scale(p, exponent_t)), direction)
    return LeadingTerm(expr, constant, p, exponent, direction, ())


# ---------------------------------------------------------------------------------------------
# the result
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Saturation:
    """How f⁽ⁿ⁾ behaves as x → direction·∞.

    For direction = −1 the fields describe f⁽ⁿ⁾ itself.  For direction = +1 when f⁽ⁿ⁾ tends
    to an asymptote A(x) that is a non-zero polynomial (x for TeLU, 1 for TeLU′), they
    describe the relative deviation 1 − f⁽ⁿ⁾(x)/A(x) — TeLU: 1 − f(x)/x = 1 − tanh(eˣ) ≈
    2·exp(−2eˣ), double-exponential; otherwise (f⁽ⁿ⁾ → 0, or growing like eˣ, or known only
    from a numerical fit) f⁽ⁿ⁾ itself.

    Attributes
    ----------
    name : str
        The activation's name.
    direction : int
        −1 for x → −∞, +1 for x → +∞.
    order : int
        The derivative order n.
    describes : str
        The quantity described, as text (e.g. ``"f'(x)"`` or ``"1 - f(x)/(x)"``).
    asymptote : sympy.Expr or None
        A(x) for direction = +1 (None when not used).
    leading : sympy.Expr
        The leading term, constant included, in x (0 when the quantity is exactly 0 there).
    constant : sympy.Expr
        Its constant factor: leading = constant·x^prefactor_power·e^{exponent}.
    kind : str
        One of :data:`KINDS`: ``"zero"`` (exactly 0 far out), ``"constant"``, ``"polynomial"``,
        ``"exponential"`` (e^{cx}; also a stretched e^{c|x|^q}, q < 1), ``"super-exponential"``
        (e^{c x^q}, q > 1, e.g. GELU′ ~ x·e^{−x²/2}/√(2π)), ``"double-exponential"`` (e^{a e^{bx}}).
    rate : sympy.Expr
        Polynomial: the power; exponential: c in e^{cx}; super-exponential: the coefficient of the
        leading power of x in the exponent; double-exponential: a in e^{a e^{bx}}; 0 for
        zero/constant.
    exponent : sympy.Expr
        The whole exponent E(x) of the leading term (0 for zero/constant/polynomial).
    prefactor_power : sympy.Expr
        The power of x multiplying the exponential.
    ratios : dict of float to float
        {x: described(x)/leading(x)} at x = direction·(20, 100, 1000), mpmath at adaptive
        precision (1.0 where both are exactly 0, kind ``"zero"``).
    agree : bool
        The ratios tend to 1 (the farthest within 2 % and no worse than the nearest).
    numerical_fallback : bool
        The leading term comes from a numerical fit, not the calculus.
    terms : tuple of sympy.Expr
        The first terms of the expansion (symbolic route only).
    activation : Activation or None
        The activation analysed (``local_rate`` evaluates it).
    """

    name: str
    direction: int
    order: int
    describes: str
    asymptote: sp.Expr | None
    leading: sp.Expr
    constant: sp.Expr
    kind: str
    rate: sp.Expr
    exponent: sp.Expr
    prefactor_power: sp.Expr
    ratios: dict[float, float]
    agree: bool
    numerical_fallback: bool
    terms: tuple[sp.Expr, ...] = ()
    activation: Activation | None = field(default=None, repr=False, compare=False)

    def local_rate(self, x: Any) -> np.ndarray:
        """−d/dx ln|f⁽ⁿ⁾(x)| = −f⁽ⁿ⁺¹⁾(x)/f⁽ⁿ⁾(x) on a grid (float64; nan where f⁽ⁿ⁾ = 0).

        ≈ −c for f⁽ⁿ⁾ ~ e^{cx} (TeLU′ at −∞: −1 − 1/x).  float64 where f⁽ⁿ⁾ is a normal
        number, mpmath where it underflows (x < −745 for TeLU′).

        Parameters
        ----------
        x : array_like
            Points, e.g. ``numpy.linspace(-30, 0, 301)``.

        Returns
        -------
        numpy.ndarray
            The local decay rate at each point, float64, nan where f⁽ⁿ⁾ = 0.

        Raises
        ------
        ActivationLabError
            The result carries no activation (``activation`` is None).
        """
        return _local_rate(self.activation, self.order, x)

    def __str__(self) -> str:
        where = "-inf" if self.direction < 0 else "+inf"
        lines = [f"saturation of {self.name}: {self.describes} as x -> {where}",
                 f"  kind      {self.kind}" + (" (numerical fit)" if self.numerical_fallback else ""),
                 f"  leading   {self.leading}",
                 f"  constant  {self.constant}",
                 f"  rate      {self.rate}   exponent {self.exponent}   prefactor x^{self.prefactor_power}"]
        if self.asymptote is not None:
            lines.append(f"  asymptote {self.asymptote}")
        lines.append("  ratio to leading: " + ", ".join(f"x={x:g}: {r:.12g}" for x, r in self.ratios.items())
                     + ("   (tends to 1)" if self.agree else "   (DOES NOT tend to 1)"))
        return "\n".join(lines)


def _prime(order: int) -> str:
    return "f" + "'" * order + "(x)" if order <= 3 else f"f^({order})(x)"


def saturation(act: Activation | str, direction: int = -1, order: int = 1, *,
               time_limit: float = 5.0) -> Saturation:
    """Describe f⁽ⁿ⁾ (n = ``order``) as x → −∞ (direction = −1) or +∞ (direction = +1).

    The leading term f⁽ⁿ⁾(x) ~ c·xᵖ·e^{E(x)} comes from a small asymptotic calculus on the stable
    form (module docstring); SymPy's ``limit`` is never called.  For direction = +1, when f⁽ⁿ⁾ tends
    to a non-zero polynomial asymptote A(x) (x for TeLU), the relative deviation 1 − f⁽ⁿ⁾/A is
    described instead: TeLU's 1 − f(x)/x ≈ 2·exp(−2eˣ) is double-exponential.

    Parameters
    ----------
    act : Activation or str
        The activation, or a catalogue name.
    direction : {-1, 1}, optional
        −1 (default) for x → −∞, +1 for x → +∞.
    order : int, optional
        Derivative order n (default 1: f′, the gradient that saturates).
    time_limit : float, optional
        Seconds each symbolic expansion may take (default 5; there are at most three: f⁽ⁿ⁾, the
        deviation from the asymptote, the exponent).  Past it, or outside the calculus, the
        leading term comes from a high-precision numerical fit (``numerical_fallback``).

    Returns
    -------
    Saturation
        The kind (``"exponential"``, ``"super-exponential"``, ...), the leading term with its
        constant, rate and exponent, and the ratios f⁽ⁿ⁾/leading at x = ∓20, ∓100, ∓1000 as evidence.

    Raises
    ------
    UnknownActivationError
        An unknown catalogue name.
    ActivationLabError
        ``direction``, ``order`` or ``time_limit`` is out of range, or f⁽ⁿ⁾ has no leading term
        there (it oscillates, as Snake′ = 1 + sin 2ax does).

    Examples
    --------
    >>> saturation("telu").leading          # TeLU′(x) ~ x·eˣ as x → −∞
    x*exp(x)
    >>> saturation("gelu").kind
    'super-exponential'
    """
    from ..numeric.rewrite import stable, stable_derivative
    from ..requests import check_order

    act = resolve(act)
    _check_direction(direction)
    check_order(order)
    if not (isinstance(time_limit, (int, float)) and time_limit >= 0):
        raise ActivationLabError(f"time_limit must be a number of seconds >= 0, got {time_limit!r}")
    g = stable_derivative(act.expr, order)
    describes, asymptote, target = _prime(order), None, g
    lead = leading_term(g, direction, time_limit)
    fallback = lead is None
    if fallback:
        lead = _fit(g, direction)
    if direction > 0 and not fallback and lead.expr != 0 and lead.exponent == 0 and lead.power >= 0:
        # not decaying: describe the approach 1 − g/A to its asymptote A (known exactly only
        # from the calculus; a fitted asymptote would make the deviation meaningless)
        asymptote = _asymptote(lead)
        target = stable(sp.expand(1 - g / asymptote))
        describes = f"1 - {_prime(order)}/({asymptote})"
        lead = leading_term(target, direction, time_limit)
        if lead is None:
            fallback = True
            lead = _fit(target, direction)
    try:
        kind, rate = _classify(lead)
    except _UnsupportedError:           # an exponent beyond the calculus: fit instead (simple exponents)
        fallback, lead = True, _fit(target, direction)
        kind, rate = _classify(lead)
    ratios = {float(direction * x): _ratio(target, lead.expr, direction * x) for x in RATIO_POINTS}
    if fallback and any(math.isfinite(r) and not 0.5 <= abs(r) <= 2 for x, r in ratios.items() if abs(x) >= 100):
        # a fit that does not hold far out describes nothing (snake's f' = 1 + sin 2x oscillates)
        raise ActivationLabError(
            f"no leading term for {describes} of {act.name} as x -> {'+' if direction > 0 else '-'}inf: the "
            f"numerical fit {lead.expr} does not hold far out (ratios "
            f"{', '.join(f'{v:.3g}' for v in ratios.values())}); an oscillating function has no leading term")
    return Saturation(
        name=act.name, direction=direction, order=order, describes=describes, asymptote=asymptote,
        leading=lead.expr, constant=lead.constant, kind=kind, rate=rate, exponent=lead.exponent,
        prefactor_power=lead.power, ratios=ratios, agree=_agree(ratios), numerical_fallback=fallback,
        terms=lead.terms, activation=act)


def _asymptote(lead: LeadingTerm) -> sp.Expr:
    """The polynomial part of g's expansion (its terms c·x^p, p ≥ 0), else its leading term."""
    return lead.expr if lead.polynomial_part is None or lead.polynomial_part == 0 else lead.polynomial_part


def _local_rate(act: Activation | None, order: int, x: Any) -> np.ndarray:
    import mpmath

    if act is None:
        raise ActivationLabError("local_rate needs the activation; build the result with saturation()")
    xs = np.array(x, dtype=np.float64)   # a copy: the caller's array is never touched
    d0, d1 = evaluate(act, xs, n=(order, order + 1))
    d0, d1 = np.atleast_1d(d0), np.atleast_1d(d1)
    flat = np.atleast_1d(xs)
    out = np.full(flat.shape, np.nan)
    good = np.abs(d0) > 1e-280
    out[good] = -d1[good] / d0[good]
    redo = np.flatnonzero(~good & np.isfinite(flat))
    if redo.size:
        f0, f1 = mpmath_of(act.expr, order), mpmath_of(act.expr, order + 1)
        with mpmath.workprec(80):
            for i in redo:
                a = f0(mpmath.mpf(float(flat[i])))
                if a != 0:
                    out[i] = float(-f1(mpmath.mpf(float(flat[i]))) / a)
    return out.reshape(xs.shape)
