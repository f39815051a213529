"""Limits of f⁽ⁿ⁾ at ±∞, which every target returns for x = ±inf, and the signs of tail zeros.

Found once per activation and order with mpmath far out (x = ±1e150, ±1e300), SymPy's
``limit`` deciding where the two disagree; cached.
"""

from __future__ import annotations

import functools
import math

import sympy as sp

__all__ = ["limits", "zero_signs_matter", "zero_limit_sides"]


@functools.lru_cache(maxsize=1024)
def limits(expr: sp.Expr, n: int) -> tuple[float, float]:
    """(f⁽ⁿ⁾(−∞), f⁽ⁿ⁾(+∞)) as float64, signed zeros and ±inf included.

    Found with mpmath at x = ±1e150 and ±1e300 (far past every float's overflow of exp and
    powers): a value still growing, or beyond 1e100, is taken as ±inf; one below 1e-100 as ±0
    (the sign it approaches with); a value that has settled (the two agree to 1e-9) as itself.
    Where the two disagree otherwise (sin(x), 1 + 1/log(x)), SymPy's limit decides, and nan is
    the answer where it finds none.
    """
    import mpmath

    from .mpmath_target import mpmath_function
    from .rewrite import stable_derivative

    stable = stable_derivative(expr, n)
    fn = mpmath_function(stable)
    out = []
    for sign in (-1, 1):
        with mpmath.workprec(200):
            near, far = fn(mpmath.mpf(sign) * mpmath.mpf("1e150")), fn(mpmath.mpf(sign) * mpmath.mpf("1e300"))
        if isinstance(far, mpmath.mpc) or isinstance(near, mpmath.mpc):
            out.append(float("nan"))   # not real out there (log(x) at -inf): no real limit
        elif mpmath.isnan(far) or mpmath.isnan(near):
            out.append(float("nan"))
        elif far == 0 or (abs(far) < 1e-100 and abs(near) < 1e-40):
            out.append(_approach_sign(fn, sign))
        elif (mpmath.isinf(far) or abs(far) > 1e100 or (abs(far) > 1 and abs(far) > 1.5 * abs(near))) \
                and _one_sign(fn, sign, far):
            out.append(float(mpmath.sign(far)) * float("inf"))
        elif abs(far - near) <= 1e-9 * abs(far):
            out.append(float(far))
        else:
            out.append(_symbolic_limit(stable, sign))
    return out[0], out[1]


def _one_sign(fn, sign: int, far) -> bool:
    """Whether f keeps far's sign out along ±1e100 … ±1e250 (growth, not x·sin(x)'s swings)."""
    import mpmath

    with mpmath.workprec(200):
        return all(mpmath.sign(fn(mpmath.mpf(sign) * mpmath.mpf(m))) == mpmath.sign(far)
                   for m in ("1e100", "1e150", "1e200", "1e250"))


def _symbolic_limit(expr: sp.Expr, sign: int) -> float:
    """lim f(x) as x → ±∞ by SymPy, as a float; nan where there is none (sin(x) oscillates)."""
    from ..symbolic.parsing import X

    try:
        value = sp.limit(expr, X, sign * sp.oo)
    except Exception:  # SymPy's limit gives up on some forms: no limit we can vouch for
        return float("nan")
    try:
        return float(value)     # a number, or ±oo
    except TypeError:
        return float("nan")     # AccumBounds (oscillation), complex, unevaluated


def zero_signs_matter(expr: sp.Expr, n: int) -> bool:
    """Whether :func:`signed_zeros` can change any result of f⁽ⁿ⁾: only a limit of −0.0 can
    correct anything, since sums of underflowed terms already give +0.0."""
    return any(v == 0 and math.copysign(1.0, v) < 0 for v in limits(expr, n))


def zero_limit_sides(expr: sp.Expr, n: int) -> tuple[tuple[int, float], ...]:
    """The tails whose tiny results :func:`signed_zeros` signs, as (−1 for x → −∞ or +1, the limit's
    signed zero), for every backend; empty where no limit is −0.0 (nothing to correct)."""
    if not zero_signs_matter(expr, n):
        return ()
    return tuple((sign, v) for sign, v in zip((-1, 1), limits(expr, n), strict=True) if v == 0)


def _approach_sign(fn, sign: int) -> float:
    """±0.0: the sign of f⁽ⁿ⁾ on its way to a zero limit, from the first nonzero value at
    x = ±1e150 … ±10 (far out, mpmath may flush e^{−2e^x} to an unsigned 0)."""
    import mpmath

    with mpmath.workprec(200):
        for mag in ("1e150", "1e50", "1e10", "1e4", "1000", "300", "100", "30", "10"):
            v = fn(mpmath.mpf(sign) * mpmath.mpf(mag))
            if v != 0 and not isinstance(v, mpmath.mpc):
                return math.copysign(0.0, float(mpmath.sign(v)))
    return 0.0
