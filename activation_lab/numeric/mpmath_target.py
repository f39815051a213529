"""mpmath target: SymPy expressions as callables on mpmath numbers (the accuracy reference).

mpmath's own ``tanh``, ``sech``, ``erfc`` … fail on arguments whose exponential cannot be
represented (``tanh(exp(1e300))`` raises OverflowError), which is where activations meet
their limits.  The wrappers below return the value such a function rounds to at any
precision below 2**20 bits (``tanh(u) = ±1``, ``sech(u) = 0`` …) for those arguments and
call mpmath otherwise.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable
from typing import Any

import mpmath
import sympy as sp
from sympy.printing.pycode import MpmathPrinter

from ..symbolic.parsing import X

__all__ = ["mpmath_function", "mpmath_of", "MPMATH_NAMESPACE", "reference", "wide_exponents"]

# |u| beyond this: e^u is taken as 0 or inf.  2^1100 is past every float input (e^{-x²} at
# x = 1.8e308); mpmath's exp of such arguments takes ~20 ms at 800 bits, for a value no float
# can hold.  The saturation analysis widens it (e^{-2e^1000} ≈ e^{-2^1443}) with wide_exponents().
_HUGE_VAR: contextvars.ContextVar = contextvars.ContextVar("huge", default=mpmath.mpf(2) ** 1100)
_FLAT = mpmath.mpf(2) ** 20       # |u| beyond this: tanh(u) = ±1, erf(u) = ±1 at any sane precision


@contextlib.contextmanager
def wide_exponents(log2_limit: int = 1500):
    """Within this block, e^u is computed for |u| up to 2^log2_limit (default 2^1100)."""
    token = _HUGE_VAR.set(mpmath.mpf(2) ** log2_limit)
    try:
        yield
    finally:
        _HUGE_VAR.reset(token)


def _exp(u):
    u = mpmath.mpf(u)
    huge = _HUGE_VAR.get()
    if u > huge:
        return mpmath.inf
    if u < -huge:
        return mpmath.mpf(0)
    return mpmath.exp(u)


def _tanh(u):
    if abs(u) > _FLAT:
        return mpmath.sign(u) * (1 - 2 * _exp(-2 * abs(u)))
    return mpmath.tanh(u)


def _sech(u):
    if abs(u) > _FLAT:
        return 2 * _exp(-abs(u))
    return mpmath.sech(u)


def _cosh(u):
    return _exp(abs(u)) / 2 if abs(u) > _FLAT else mpmath.cosh(u)


def _sinh(u):
    return mpmath.sign(u) * _exp(abs(u)) / 2 if abs(u) > _FLAT else mpmath.sinh(u)


def _erfc(u):
    if u > 0 and u * u > _HUGE_VAR.get():
        return mpmath.mpf(0)         # e^{-u²} is flushed anyway
    if u > _FLAT:
        # asymptotic series; the next term is below 2**-120 relative here
        return _exp(-u * u) / (u * mpmath.sqrt(mpmath.pi)) * (1 - 1 / (2 * u * u) + 3 / (4 * u**4))
    if u < -_FLAT:
        return mpmath.mpf(2)
    return mpmath.erfc(u)


def _erf(u):
    if abs(u) > _FLAT:
        return mpmath.sign(u) * (1 - _erfc(abs(u)))
    return mpmath.erf(u)


def _sigmoid(u):
    # 1/(1 + e^-u); for u < 0 written as e^u/(1 + e^u) so nothing overflows
    if u >= 0:
        return 1 / (1 + _exp(-u))
    e = _exp(u)
    return e / (1 + e)


def _dsigmoid(u):
    return _sigmoid(u) * _sigmoid(-u)


def _softplus(u):
    if u > _FLAT:
        return u + mpmath.log1p(_exp(-u))
    return mpmath.log1p(_exp(u))


def _log1p(u):
    return mpmath.nan if u < -1 else mpmath.log1p(u)    # not real below -1: nan, as log's


def _expm1(u):
    if u > _HUGE_VAR.get():
        return mpmath.inf
    if u < -_FLAT:
        return _exp(u) - 1
    return mpmath.expm1(u)


def _real_pow(b, p):
    # a real power of a negative base is nan, as on every other target (IEEE pow; mpmath would
    # give a complex number, which then fails in a comparison: where(x**1.5 > 1, ...) at x < 0)
    if b < 0 and p != mpmath.floor(p):
        return mpmath.nan
    return mpmath.power(b, p)


def _sqrt(u):
    return mpmath.nan if u < 0 else mpmath.sqrt(u)


def _log(u):
    return mpmath.nan if u < 0 else mpmath.log(u)


def _heaviside(u, h0=None):
    return mpmath.mpf(1) if u > 0 else mpmath.mpf(0) if u < 0 else mpmath.mpf(0 if h0 is None else h0)


def _notnan(u):
    return mpmath.mpf(0) if isinstance(u, mpmath.mpc) or mpmath.isnan(u) else mpmath.mpf(1)


MPMATH_NAMESPACE: dict[str, Any] = {
    "exp": _exp, "tanh": _tanh, "sech": _sech, "cosh": _cosh, "sinh": _sinh,
    "erf": _erf, "erfc": _erfc, "sigmoid": _sigmoid, "dsigmoid": _dsigmoid, "softplus": _softplus,
    "log1p": _log1p, "expm1": _expm1, "Heaviside": _heaviside, "sqrt": _sqrt, "log": _log, "_real_pow": _real_pow,
    "notnan": _notnan,
}


class _RealPowerPrinter(MpmathPrinter):
    """lambdify's mpmath printer with non-integer powers as ``_real_pow`` (nan for a negative base)."""

    def _print_Pow(self, expr, rational=False):  # noqa: N802 - SymPy printer method name
        if expr.exp.is_Integer or expr.exp == sp.S.Half:    # integer powers are real; 1/2 prints as sqrt
            return super()._print_Pow(expr, rational)
        return f"_real_pow({self._print(expr.base)}, {self._print(expr.exp)})"

    def _print_log(self, expr):  # noqa: N802 - SymPy printer method name
        # SymPy turns log1p(c) of a number into log(1 + c): printed as log1p(c), since 1 + 1e-300
        # rounds to 1 at any working precision below a thousand bits
        arg = expr.args[0]
        if arg.is_Rational and abs(arg - 1) < sp.Rational(1, 2):
            return f"log1p({self._print(arg - 1)})"
        return super()._print_log(expr) if hasattr(super(), "_print_log") else f"log({self._print(arg)})"


def _with_more_precision(raw: Callable[[Any], Any], x: Any) -> Any:
    """``raw(x)`` at 4, 16 and 64 times the working precision, rounded to it; ZeroDivisionError
    (a true pole) if every one of them divides by 0."""
    prec = mpmath.mp.prec
    for factor in (4, 16, 64):
        try:
            with mpmath.workprec(prec * factor):
                value = raw(x)
        except ZeroDivisionError:
            continue
        return +value if isinstance(value, (mpmath.mpf, mpmath.mpc)) else value
    raise ZeroDivisionError(f"division by zero at x = {x} even at {prec * 64} bits (a pole)")


@functools.lru_cache(maxsize=2048)
def mpmath_function(expr: sp.Expr) -> Callable[[Any], Any]:
    """Compile ``expr`` (in the symbol x only) to a function of one mpmath number."""
    # lambdify prints code from the expression; ours contain only x, numbers and known
    # functions (built by the safe parser), so no user text reaches the generated code
    printer = _RealPowerPrinter({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True,
                                 "user_functions": {name: name for name in MPMATH_NAMESPACE}})
    raw = sp.lambdify(X, expr, modules=[MPMATH_NAMESPACE, "mpmath"], printer=printer)

    def fn(x: Any) -> Any:
        try:
            value = raw(x)
        except ZeroDivisionError:
            # a divisor that is 0 at this precision but not exactly (1/(x + 1 - 1e-1200) at
            # x = -1 is -1e1200): again at 4, 16 and 64 times the precision, rounded back
            value = _with_more_precision(raw, x)
        # a constant piece (ReLU's 0 for x < 0) comes back as a Python int: always an mpf
        return mpmath.mpf(value) if isinstance(value, (int, float)) else value

    fn.__doc__ = f"{expr} at the current mpmath precision"
    return fn


def mpmath_of(expr: sp.Expr, n: int = 0) -> Callable[[Any], Any]:
    """f⁽ⁿ⁾ of ``expr`` as a callable on mpmath numbers, at the current ``mp.prec``.

    From the stable form, which is the same function and keeps mpmath clear of cancellation
    (1 − tanh(u)² is 0 at 200 bits once u > 70, sech(u)² is not)."""
    from ..requests import check_order
    from .rewrite import stable_derivative

    check_order(n)
    return mpmath_function(stable_derivative(expr, n))


def reference(fn: Callable[[Any], Any], x: float, prec: int = 200, max_prec: int = 3200,
              strict: bool = False) -> Any:
    """``fn(x)`` at ``prec`` bits, checked against twice the precision.

    The precision doubles (up to ``max_prec``) until two successive results agree to
    2**-(prec/2) relative, so cancellation inside ``fn`` cannot go unnoticed.  Returns an mpf.
    ``strict``: an exact 0 may be total cancellation, so two zeros do not count as agreement,
    and a value that never settles is nan (a 0 at the highest precision is kept).
    """
    if mpmath.isnan(x) or mpmath.isinf(x):
        raise ValueError(f"reference() needs a finite x, got {x!r}")
    previous = None
    p = prec
    while True:
        with mpmath.workprec(p):
            value = fn(mpmath.mpf(x))
        if previous is not None:
            close = value != 0 and abs(value - previous) <= abs(value) * mpmath.mpf(2) ** (-prec // 2)
            if close or (not strict and value == previous):
                return value
        if 2 * p > max_prec:
            return value if not strict or value == 0 else mpmath.nan
        previous = value
        p *= 2
