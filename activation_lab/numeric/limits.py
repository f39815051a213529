"""Limits of f⁽ⁿ⁾ at ±∞, which every target returns for x = ±inf, and the signs of tail zeros.

Found once per activation and order with mpmath far out (x = ±1e150, ±1e300), SymPy's
``limit`` deciding where the two disagree; cached.  Both work on the far form of f⁽ⁿ⁾: each
``where`` (Piecewise) reduced to the piece taken at every x from ±1e100 to ±1e300 (its
conditions evaluated there first, a sin/cos too large to reduce taken as [−1, 1]), so that a
piece not taken far out does not matter.  A limit needs f real on a neighbourhood of the
infinity: every number mpmath holds far out is an (even) integer, so where a power with x in its
exponent may have a negative base (``(-0.1)**x``, ``x**x``: real at integers only) f is also
evaluated at non-integers (±(10¹⁵⁰ + 0.37), ±(10³⁰⁰ + 0.37)); not real there, or not tending
to the same value, is no limit (nan).

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
    the answer where it finds none.  Both on the pieces of each ``where`` taken far out; nan where
    f is not real at non-integer x far out (``(-0.1)**x`` at ±∞, ``x**x`` at −∞), see the
    module's docstring.  Raises :class:`FormulaTooComplexError` where a side is not
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
    """The limit of ``stable`` as x → sign·∞: mpmath far out, SymPy where mpmath cannot tell; both
    on the pieces of its where() taken far out (:func:`_far_form`)."""
    side = "-inf" if sign < 0 else "+inf"
    far = stable
    try:
        with bounded(f"limit at {side} (mpmath at x = {'-' if sign < 0 else ''}1e150, 1e300)", LIMIT_SECONDS,
                     formula=short_text(stable)):
            far = _far_form(stable, sign)
            return _numeric_side(far, sign)
    except (FormulaTooComplexError, _UndecidedError, ArithmeticError, TypeError, ValueError):
        # over budget, a huge trig argument, or mpmath's own overflow: SymPy decides (on the far
        # form), unless f is not real out there (SymPy's limit gave 0 for sqrt(log(sin(x)) - 1),
        # real nowhere; f itself at those points: a piece taken far out may not be real nearer in)
        if _not_real_far_out(stable, sign):
            return float("nan")
        return _symbolic_limit(far, sign)


#: where the conditions of a ``where`` are decided far out: each must hold at all of them or at
#: none (a threshold between them leaves the ``where`` as it is)
_CONDITION_PROBES = ("1e100", "1e150", "1e200", "1e250", "1e300")


def _far_form(expr: sp.Expr, sign: int, memo: dict | None = None) -> sp.Expr:
    """``expr`` with each ``where`` (Piecewise) reduced to the pieces taken at x = sign·1e100 …
    sign·1e300: a piece whose condition holds at all of them replaces it, one whose condition holds
    at none is dropped, and the rest is kept from the first undecided condition on.

    The limits are those of this far form: a sin/cos argument that grows in a piece not taken far
    out (``cos(where(x < 1e-300, x, 1e-300))`` at +∞) no longer stops mpmath, and SymPy's
    ``limit`` gets no Piecewise it gives up on.  Conditions are decided by :func:`_far_truth`."""
    if memo is None:
        memo = {}
    if not expr.args:
        return expr
    if expr in memo:
        return memo[expr]
    if isinstance(expr, sp.Piecewise):
        kept: list = []
        out = None
        for piece, cond in expr.args:
            truth = None                    # after an undecided condition every piece is kept
            if not kept:
                if (cond, "truth") not in memo:
                    memo[cond, "truth"] = _far_truth(cond, sign)
                truth = memo[cond, "truth"]
            if truth is True:
                out = _far_form(piece, sign, memo)
                break
            if truth is None:
                kept.append((_far_form(piece, sign, memo), cond))
        if out is None:
            # some condition undecided (or every one false: f is not defined out there, left as is)
            same = kept == [(pair.expr, pair.cond) for pair in expr.args]
            out = expr if not kept or same else sp.Piecewise(*kept)
    else:
        args = tuple(_far_form(a, sign, memo) for a in expr.args)
        out = expr.func(*args) if any(a is not b for a, b in zip(args, expr.args, strict=True)) else expr
    memo[expr] = out
    return out


def _far_truth(cond, sign: int) -> bool | None:
    """Whether a ``where`` condition holds at every one of x = sign·1e100 … sign·1e300 (True), at
    none (False), or undecided (None: it changes there, or cannot be evaluated).

    Evaluated with mpmath as the targets compare (nan compares false), or, where a sin/cos
    argument is too large to reduce (:data:`MAX_TRIG_BITS`), by intervals with that sin/cos as
    [−1, 1] (``sin(sin(x)) >= 1e30`` is false at every x).  A condition with a power real at
    integers only (:func:`_real_at_integers_only`) is evaluated at non-integers too."""
    import mpmath

    from .mpmath_target import mpmath_function

    if cond in (sp.true, sp.false):
        return bool(cond)
    cond = _far_form(cond, sign)
    if cond in (sp.true, sp.false):
        return bool(cond)
    if not isinstance(cond, sp.Basic) or cond.free_symbols - {_x()}:
        return None
    try:
        huge = _huge_trig(cond, sign)
        fn = mpmath_function(cond) if not huge else None
        points = [(mpmath.mpf(sign) * mpmath.mpf(m), 200) for m in _CONDITION_PROBES]
        if _real_at_integers_only(cond):
            points += _non_integer_points(sign)
        truths = set()
        for x, prec in points:
            with mpmath.workprec(prec):
                x = +x
                truth = bool(fn(x)) if fn is not None else _interval_truth(cond, x, huge)
            if truth is None:
                return None
            truths.add(truth)
    except (ArithmeticError, TypeError, ValueError, _UndecidedError):
        return None
    return truths.pop() if len(truths) == 1 else None


def _x() -> sp.Symbol:
    from ..symbolic.parsing import X

    return X


def _huge_trig(expr: sp.Expr, sign: int) -> set:
    """The sin/cos (…) nodes of ``expr`` whose argument exceeds 2^MAX_TRIG_BITS (or is not real) at
    some of x = sign·1e100, sign·1e150, sign·1e300, inner ones first: a node around one of them
    is one too (its argument is not evaluated)."""
    import mpmath

    from .mpmath_target import mpmath_function

    huge: set = set()
    for node in sp.postorder_traversal(expr):
        if not (isinstance(node, _TRIG) and node.args[0].has(sp.Symbol)) or node in huge:
            continue
        if huge and node.args[0].has(*huge):
            huge.add(node)
            continue
        arg = mpmath_function(node.args[0])
        with mpmath.workprec(64):
            for m in ("1e100", *_FAR):
                v = arg(mpmath.mpf(sign) * mpmath.mpf(m))
                if isinstance(v, mpmath.mpc) or (mpmath.isfinite(v) and v != 0 and mpmath.mag(v) > MAX_TRIG_BITS):
                    huge.add(node)
                    break
    return huge


#: functions increasing on the whole line (an interval maps to the interval of its ends)
_INCREASING = ("exp", "log", "tanh", "sinh", "atan", "erf", "sigmoid", "softplus", "expm1", "log1p")


def _interval_truth(cond, x, huge: set) -> bool | None:
    """A condition at x by interval arithmetic, each sin/cos in ``huge`` taken as [−1, 1]: True or
    False where every value in the intervals decides it the same way, else None."""
    if isinstance(cond, (sp.And, sp.Or)):
        parts = [_interval_truth(c, x, huge) for c in cond.args]
        if isinstance(cond, sp.And):
            return False if False in parts else None if None in parts else True
        return True if True in parts else None if None in parts else False
    if isinstance(cond, sp.Not):
        t = _interval_truth(cond.args[0], x, huge)
        return None if t is None else not t
    if not isinstance(cond, sp.core.relational.Relational):
        return None
    lhs, rhs = _interval(cond.lhs, x, huge), _interval(cond.rhs, x, huge)
    if lhs is None or rhs is None:
        return None
    (a, b), (c, d) = lhs, rhs
    if isinstance(cond, (sp.StrictLessThan, sp.LessThan, sp.StrictGreaterThan, sp.GreaterThan)):
        if isinstance(cond, (sp.StrictGreaterThan, sp.GreaterThan)):
            (a, b), (c, d) = (c, d), (a, b)          # lhs > rhs as rhs < lhs
        strict = isinstance(cond, (sp.StrictLessThan, sp.StrictGreaterThan))
        if (b < c) or (not strict and b <= c):
            return True
        if (a > d) or (strict and a >= d):
            return False
        return None
    if isinstance(cond, (sp.Eq, sp.Ne)):
        if b < c or a > d:
            return isinstance(cond, sp.Ne)
        if a == b == c == d:
            return isinstance(cond, sp.Eq)
        return None
    return None


def _interval(expr: sp.Expr, x, huge: set):
    """(lo, hi) bounding ``expr`` at x, each sin/cos in ``huge`` taken as [−1, 1]; None where these
    rules cannot bound it (or a bound is nan)."""
    import mpmath

    from .mpmath_target import mpmath_function

    if not huge or not expr.has(*huge):
        v = mpmath_function(expr)(x)
        if isinstance(v, mpmath.mpc) or mpmath.isnan(v):
            return None
        return v, v
    if expr in huge:
        return (mpmath.mpf(-1), mpmath.mpf(1)) if isinstance(expr, (sp.sin, sp.cos)) else None
    parts = [_interval(a, x, huge) for a in expr.args]
    if any(p is None for p in parts):
        return None
    if isinstance(expr, sp.Add):
        lo, hi = sum(p[0] for p in parts), sum(p[1] for p in parts)
    elif isinstance(expr, sp.Mul):
        lo, hi = parts[0]
        for c, d in parts[1:]:
            ends = [lo * c, lo * d, hi * c, hi * d]
            if any(mpmath.isnan(e) for e in ends):
                return None
            lo, hi = min(ends), max(ends)
    elif isinstance(expr, sp.Pow) and parts[1][0] == parts[1][1]:
        (a, b), p = parts[0], parts[1][0]
        if a > 0 or (p > 0 and p == int(p) and int(p) % 2 == 1):
            ends = [mpmath.power(a, p), mpmath.power(b, p)]
        elif p > 0 and p == int(p):                  # an even power: its least value at 0 if inside
            ends = [mpmath.power(a, p), mpmath.power(b, p)] + ([mpmath.mpf(0)] if a <= 0 <= b else [])
        else:
            return None
        lo, hi = min(ends), max(ends)
    elif len(parts) == 1 and type(expr).__name__ in _INCREASING:
        fn = mpmath_function(expr.func(_x()))
        lo, hi = fn(parts[0][0]), fn(parts[0][1])
    else:
        return None
    if any(isinstance(v, mpmath.mpc) or mpmath.isnan(v) for v in (lo, hi)):
        return None
    return lo, hi


def _real_at_integers_only(expr: sp.Expr) -> bool:
    """Whether ``expr`` has a power with x in its exponent and a base that may be negative
    (``(-0.1)**x``, ``x**x``): real at integer x only where that base is negative.  Far out every
    number mpmath holds at its working precision is an (even) integer, so such a power is also
    evaluated at the non-integer points of :func:`_non_integer_points`."""
    return any(node.is_Pow and node.exp.has(sp.Symbol) and not node.exp.is_Integer
               and node.base.is_nonnegative is not True for node in sp.preorder_traversal(expr))


def _non_integer_points(sign: int) -> list:
    """[(x, bits)]: x = sign·(10^150 + 0.37) and sign·(10^300 + 0.37) and the working precision that
    holds them (the fraction kept to 2^-120)."""
    import mpmath

    points = []
    for k in (150, 300):
        bits = int(k * 3.33) + 130
        with mpmath.workprec(bits):
            points.append((mpmath.mpf(sign) * (mpmath.mpf(10) ** k + mpmath.mpf("0.37")), bits))
    return points


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
    found = _settled(fn, sign, near, far)
    if _real_at_integers_only(stable) and not math.isnan(found) and not _same_at_non_integers(fn, sign, found):
        return float("nan")
    return found


def _settled(fn, sign: int, near, far) -> float:
    """The limit from f at x = sign·1e150 (``near``) and sign·1e300 (``far``); raises
    :class:`_UndecidedError` where these cannot tell."""
    import mpmath

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


def _same_at_non_integers(fn, sign: int, found: float) -> bool:
    """Whether f at the non-integer points sign·(10^150 + 0.37), sign·(10^300 + 0.37) is real and
    tends to ``found`` by the rules of :func:`_settled` (a power real at integers only, such as
    ``(-0.1)**x`` or ``x**x`` at −∞, is not: no real limit, since a limit needs f real on a
    neighbourhood of the infinity).  True where these points cannot be evaluated."""
    import mpmath

    values = []
    for x, bits in _non_integer_points(sign):
        try:
            with mpmath.workprec(bits):
                v = fn(x)
        except (ArithmeticError, TypeError, ValueError):
            return True
        if isinstance(v, mpmath.mpc) or mpmath.isnan(v):
            return False
        values.append(v)
    near, far = values
    if math.isinf(found):
        return all(v != 0 and mpmath.sign(v) == math.copysign(1, found) for v in values) and abs(far) > 1
    if found == 0:
        return far == 0 or (abs(far) < 1e-100 and abs(near) < 1e-40)
    return all(abs(v - found) <= 1e-9 * abs(found) for v in values)


def _check_trig_arguments(stable: sp.Expr, sign: int) -> None:
    """Raise :class:`_UndecidedError` where a sin/cos argument at x = sign·1e100 … sign·1e300 exceeds
    2^MAX_TRIG_BITS (inner ones first, so that each argument measured is itself safe)."""
    if _huge_trig(stable, sign):
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
