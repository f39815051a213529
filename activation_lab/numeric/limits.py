"""Limits of f⁽ⁿ⁾ at ±∞, which every target returns for x = ±inf, and the signs of tail zeros.

Found once per activation and order with mpmath far out (x = ±1e150, ±1e300), SymPy's
``limit`` deciding where the two disagree; cached.

Both run on user formulas, so both are bounded (:mod:`activation_lab.budget`): each side's
mpmath evaluation and each SymPy ``limit`` within :data:`LIMIT_SECONDS`, both sides together
within :data:`LIMITS_SECONDS`.  mpmath's
``sin``/``cos`` of a huge argument (``sin(exp(1e150))``) reduce it by π computed to as many
bits as the argument has, in C-level integer arithmetic that no budget can interrupt, so
those arguments are measured first: beyond 2^:data:`MAX_TRIG_BITS` that side skips mpmath and
SymPy's ``limit`` decides (``sin(exp(x))`` → nan at +∞).  A side that neither decides within
its budget makes :func:`limits` raise :class:`~activation_lab.errors.FormulaTooComplexError`
(the failure is cached like a result, so asking again costs nothing); :func:`zero_signs_matter`,
which every evaluation asks, then answers False (zeros keep the sign arithmetic gives them),
so evaluation at finite x never depends on the limits.
"""

from __future__ import annotations

import functools
import math

import sympy as sp

from ..budget import bounded, check_size, short_text
from ..errors import FormulaTooComplexError

__all__ = ["limits", "zero_signs_matter", "zero_limit_sides", "LIMIT_SECONDS", "LIMITS_SECONDS",
           "MAX_TRIG_BITS"]

#: time budget of each side's mpmath evaluation and of each SymPy ``limit``, in seconds
LIMIT_SECONDS = 2.0
#: time budget of both sides together, every step included
LIMITS_SECONDS = 3.0
#: largest argument of sin/cos (2^this) that mpmath evaluates far out (2^17 bits take ~50 ms,
#: 2^20 bits take seconds in C-level arithmetic)
MAX_TRIG_BITS = 17
#: largest expression (tree nodes) handed to SymPy's ``limit``
LIMIT_NODES = 3000

_FAR = ("1e150", "1e300")
_TRIG = (sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc)


def limits(expr: sp.Expr, n: int) -> tuple[float, float]:
    """(f⁽ⁿ⁾(−∞), f⁽ⁿ⁾(+∞)) as float64, signed zeros and ±inf included.

    Found with mpmath at x = ±1e150 and ±1e300 (far past every float's overflow of exp and
    powers): a value that has settled (the two agree to 1e-9, at any size) is itself; otherwise one
    still growing, or beyond 1e100, is ±inf, and one below 1e-100 is ±0 (the sign it approaches
    with).  f is assumed to have settled by |x| = 1e150: a formula that changes beyond that
    (a threshold at 1e200) is outside what the limits can see.
    Where the two disagree otherwise (sin(x), 1 + 1/log(x)), SymPy's limit decides, and nan is
    the answer where it finds none.  Raises :class:`FormulaTooComplexError` where a side is not
    decided within the budgets (see the module's docstring).
    """
    found = _limits(expr, n)
    if isinstance(found, FormulaTooComplexError):
        raise found
    return found


@functools.lru_cache(maxsize=1024)
def _limits(expr: sp.Expr, n: int) -> tuple[float, float] | FormulaTooComplexError:
    """:func:`limits`, with a budget overrun returned (and so cached) instead of raised."""
    try:
        return _sides(expr, n)
    except FormulaTooComplexError as err:
        return err


def _sides(expr: sp.Expr, n: int) -> tuple[float, float]:
    from .rewrite import stable_derivative

    # the stable rewrite too: on a user formula it may itself take long (a sum of twelve relus)
    with bounded("limits at -inf and +inf", LIMITS_SECONDS, formula=short_text(expr)):
        stable = stable_derivative(expr, n)
        return _side(stable, -1), _side(stable, 1)


def _side(stable: sp.Expr, sign: int) -> float:
    """The limit of ``stable`` as x → sign·∞: mpmath far out, SymPy where mpmath cannot tell."""
    side = "-inf" if sign < 0 else "+inf"
    try:
        with bounded(f"limit at {side} (mpmath at x = {'-' if sign < 0 else ''}1e150, 1e300)", LIMIT_SECONDS,
                     formula=short_text(stable)):
            return _numeric_side(stable, sign)
    except (FormulaTooComplexError, _UndecidedError, ArithmeticError, TypeError, ValueError):
        # over budget, a huge trig argument, or mpmath's own overflow: SymPy decides, unless f is
        # not real out there (SymPy's limit gave 0 for sqrt(log(sin(x)) - 1), real nowhere)
        if _not_real_far_out(stable, sign):
            return float("nan")
        return _symbolic_limit(stable, sign)


def _not_real_far_out(stable: sp.Expr, sign: int) -> bool:
    """Whether f is not real (nan or complex in mpmath) at some of x ≈ sign·10³ … sign·10⁷, where
    it has no real limit (a limit needs f defined on a neighbourhood of the infinity)."""
    import mpmath

    from .mpmath_target import mpmath_function

    fn = mpmath_function(stable)
    trig_args = [mpmath_function(node.args[0]) for node in sp.preorder_traversal(stable)
                 if isinstance(node, _TRIG) and node.args[0].has(sp.Symbol)]
    with mpmath.workprec(100):
        # not integers: a real power of a negative base is real at integers only (x**x)
        for m in ("1000.5", "10000.25", "100000.125", "1000000.0625", "10000000.03125"):
            x = mpmath.mpf(sign) * mpmath.mpf(m)
            try:
                # a point where a trig argument is too large to reduce (sin(e^x)) is not tried
                if any(isinstance(a, mpmath.mpc) or (mpmath.isfinite(a) and a != 0 and mpmath.mag(a) > MAX_TRIG_BITS)
                       for a in (arg(x) for arg in trig_args)):
                    continue
                v = fn(x)
            except (ArithmeticError, TypeError, ValueError):
                continue
            if isinstance(v, mpmath.mpc) or mpmath.isnan(v):
                return True
    return False


class _UndecidedError(Exception):
    """mpmath far out cannot decide this side (a trig argument too large to reduce)."""


def _numeric_side(stable: sp.Expr, sign: int) -> float:
    import mpmath

    from .mpmath_target import mpmath_function

    _check_trig_arguments(stable, sign)
    fn = mpmath_function(stable)
    with mpmath.workprec(200):
        near, far = (fn(mpmath.mpf(sign) * mpmath.mpf(m)) for m in _FAR)
    if isinstance(far, mpmath.mpc) or isinstance(near, mpmath.mpc):
        return float("nan")   # not real out there (log(x) at -inf): no real limit
    if mpmath.isnan(far) or mpmath.isnan(near):
        return float("nan")
    if far != 0 and not mpmath.isinf(far) and abs(far - near) <= 1e-9 * abs(far):
        return float(far)     # settled, at any size: a constant 1e-280 or 1e308 is its own limit
    if far == 0 or (abs(far) < 1e-100 and abs(near) < 1e-40):
        return _approach_sign(fn, sign)
    if (mpmath.isinf(far) or abs(far) > 1e100 or (abs(far) > 1 and abs(far) > 1.5 * abs(near))) \
            and _one_sign(fn, sign, far):
        return float(mpmath.sign(far)) * float("inf")
    raise _UndecidedError


def _check_trig_arguments(stable: sp.Expr, sign: int) -> None:
    """Raise :class:`_UndecidedError` where a sin/cos argument at x = sign·1e100 … sign·1e300 exceeds
    2^MAX_TRIG_BITS (inner ones first, so that each argument measured is itself safe)."""
    import mpmath

    from .mpmath_target import mpmath_function

    for node in sp.postorder_traversal(stable):
        if isinstance(node, _TRIG) and node.args[0].has(sp.Symbol):
            arg = mpmath_function(node.args[0])
            with mpmath.workprec(64):
                for m in ("1e100", *_FAR):
                    v = arg(mpmath.mpf(sign) * mpmath.mpf(m))
                    if isinstance(v, mpmath.mpc) or (mpmath.isfinite(v) and v != 0
                                                     and mpmath.mag(v) > MAX_TRIG_BITS):
                        raise _UndecidedError


def _one_sign(fn, sign: int, far) -> bool:
    """Whether f keeps far's sign out along ±1e100 … ±1e250 (growth, not x·sin(x)'s swings)."""
    import mpmath

    with mpmath.workprec(200):
        return all(mpmath.sign(fn(mpmath.mpf(sign) * mpmath.mpf(m))) == mpmath.sign(far)
                   for m in ("1e100", "1e150", "1e200", "1e250"))


def _symbolic_limit(expr: sp.Expr, sign: int) -> float:
    """lim f(x) as x → ±∞ by SymPy, as a float; nan where there is none (sin(x) oscillates).
    Within :data:`LIMIT_SECONDS` and :data:`LIMIT_NODES`, else :class:`FormulaTooComplexError`."""
    from ..symbolic.parsing import X

    step = f"limit at {'-' if sign < 0 else '+'}inf (SymPy)"
    check_size(expr, step, LIMIT_NODES, formula=short_text(expr))
    try:
        with bounded(step, LIMIT_SECONDS, formula=short_text(expr)):
            value = sp.limit(expr, X, sign * sp.oo)
    except FormulaTooComplexError:
        raise
    except Exception:  # SymPy's limit gives up on some forms: no limit we can vouch for
        return float("nan")
    try:
        return float(value)     # a number, or ±oo
    except TypeError:
        return float("nan")     # AccumBounds (oscillation), complex, unevaluated


def zero_signs_matter(expr: sp.Expr, n: int) -> bool:
    """Whether :func:`signed_zeros` can change any result of f⁽ⁿ⁾: only a limit of −0.0 can
    correct anything, since sums of underflowed terms already give +0.0.  False where the
    limits are not decided within their budget: zeros then keep the sign arithmetic gives them."""
    found = _limits(expr, n)
    if isinstance(found, FormulaTooComplexError):
        return False
    return any(v == 0 and math.copysign(1.0, v) < 0 for v in found)


def zero_limit_sides(expr: sp.Expr, n: int) -> tuple[tuple[int, float], ...]:
    """The tails whose tiny results :func:`signed_zeros` signs, as (−1 for x → −∞ or +1, the limit's
    signed zero), for every backend; empty where no limit is −0.0 (nothing to correct)."""
    if not zero_signs_matter(expr, n):
        return ()
    return tuple((sign, v) for sign, v in zip((-1, 1), _limits(expr, n), strict=True) if v == 0)


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
