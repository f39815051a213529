"""Backend-neutral evaluation of f⁽ⁿ⁾, written against the Python array API standard.

Any array with ``__array_namespace__`` (array-api-strict, PyTorch via array-api-compat, JAX,
Dask, …) is evaluated with its own namespace ``xp``; nothing is copied to NumPy.  The code
is the NumPy target's program and printer (:mod:`activation_lab.numeric.codegen`), run with
the array-API column of the table of primitives (:mod:`activation_lab.numeric.primitives`),
so every operation is the NumPy float64 path's.  What the standard lacks is built here:

* erf and erfc, which the standard lacks: erfc(a) = e^{−a²}·erfcx(a) for a ≥ 0, with
  erfcx from Chebyshev expansions fitted once with mpmath on [0, 16] and its asymptotic
  series beyond, and e^{−a²} from an exact split of a² (no a²·ε error at large a);
  erf(u) from its Taylor series for |u| < 1/2;
* the same nan guard (inf·0 = 0), limits at ±inf and float64 computation as the NumPy path.

Floating-point warnings that an array library may raise for intermediate overflow are
silenced, as on the NumPy path.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

__all__ = ["evaluate_array_api", "array_api_source", "erfc", "erf"]

@functools.lru_cache(maxsize=1024)
def array_api_source(expr: sp.Expr, guarded: bool = False) -> str:
    """Python source of ``def _generated(x): ...`` computing the stable expression ``expr``: the
    NumPy target's program and printer, run with the array-API column of the table of primitives."""
    from .codegen import print_python
    from .program import straight_line

    try:
        source, constants = print_python(straight_line((expr,), guarded))
    except NotImplementedError as err:
        from .c_target import KernelSourceError

        raise KernelSourceError(f"{expr} needs a function outside the array API standard ({err}); "
                                "evaluate it on NumPy arrays") from None
    return f"_K = {tuple(float(c) for c in constants)!r}\n" + source


def _where(xp: Any, c: Any, a: Any, b: Any) -> Any:
    """xp.where accepting Python numbers on either side (made float64 arrays on c's device)."""
    a = xp.asarray(float(a), dtype=xp.float64, device=c.device) if isinstance(a, (int, float)) else a
    b = xp.asarray(float(b), dtype=xp.float64, device=c.device) if isinstance(b, (int, float)) else b
    return xp.where(c, a, b)


# --- special functions -------------------------------------------------------------------

_CHEBYSHEV_INTERVALS = ((0.0, 1.0, 20), (1.0, 2.0, 20), (2.0, 4.0, 22), (4.0, 8.0, 20), (8.0, 16.0, 26))
_ASYMPTOTIC_FROM = 16.0
_ASYMPTOTIC_TERMS = 10   # at a ≥ 16 the 11th term is below 1e-18 of the sum


@functools.cache
def _erfcx_chebyshev() -> tuple[tuple[float, float, tuple[float, ...]], ...]:
    """Chebyshev coefficients of erfcx(a) = e^{a²}·erfc(a) on each interval, computed with mpmath."""
    import mpmath

    fits = []
    with mpmath.workprec(120):
        for lo, hi, n in _CHEBYSHEV_INTERVALS:
            mid, half = mpmath.mpf(lo + hi) / 2, mpmath.mpf(hi - lo) / 2
            nodes = [mpmath.cos(mpmath.pi * (j + mpmath.mpf(1) / 2) / n) for j in range(n)]
            values = [mpmath.exp((mid + half * t) ** 2) * mpmath.erfc(mid + half * t) for t in nodes]
            coeffs = [2 * mpmath.fsum(values[j] * mpmath.cos(mpmath.pi * k * (j + mpmath.mpf(1) / 2) / n)
                                      for j in range(n)) / n for k in range(n)]
            coeffs[0] /= 2
            fits.append((float(mid), float(half), tuple(float(c) for c in coeffs)))
    return tuple(fits)


def _erfcx_nonnegative(xp: Any, a: Any) -> Any:
    """erfcx(a) for a ≥ 0 (finite): piecewise Chebyshev, then the asymptotic series."""
    result = xp.zeros_like(a)
    for (lo, hi, _), (mid, half, coeffs) in zip(_CHEBYSHEV_INTERVALS, _erfcx_chebyshev(), strict=True):
        inside = (a >= lo) & (a < hi)
        t = (_where(xp, inside, a, mid) - mid) / half
        b1, b2 = xp.zeros_like(a), xp.zeros_like(a)
        for c in coeffs[:0:-1]:  # Clenshaw recurrence
            b1, b2 = 2 * t * b1 - b2 + c, b1
        result = xp.where(inside, t * b1 - b2 + coeffs[0], result)
    far = a >= _ASYMPTOTIC_FROM
    af = _where(xp, far, a, _ASYMPTOTIC_FROM)
    z = 1 / (2 * af * af)
    term, total = xp.ones_like(a), xp.ones_like(a)
    for k in range(1, _ASYMPTOTIC_TERMS):  # erfcx(a) ~ 1/(a√π)·Σ (−1)^k (2k−1)!!/(2a²)^k
        term = -term * (2 * k - 1) * z
        total = total + term
    return xp.where(far, total / (af * math.sqrt(math.pi)), result)


def _exp_minus_square(xp: Any, a: Any) -> Any:
    """e^{−a²} with a² split exactly into hi + lo (Dekker), so large a loses no accuracy."""
    c = a * 134217729.0          # 2^27 + 1
    a_hi = c - (c - a)
    a_lo = a - a_hi
    square_hi = a_hi * a_hi      # exact: 26-bit halves
    square_lo = 2 * a_hi * a_lo + a_lo * a_lo
    return xp.exp(-square_hi) * xp.exp(-square_lo)


def erfc(xp: Any, u: Any) -> Any:
    """erfc(u) = 1 − erf(u) on a float64 array of namespace ``xp``."""
    a = xp.abs(u)
    finite = xp.isfinite(a)
    a_safe = _where(xp, finite & (a < 30.0), a, 30.0)  # erfc(30) ≈ 2e-393 underflows: no need to go further
    positive = _exp_minus_square(xp, a_safe) * _erfcx_nonnegative(xp, a_safe)
    positive = _where(xp, a >= 30.0, 0.0, positive)
    out = xp.where(u < 0, 2 - positive, positive)
    return xp.where(xp.isnan(u), u, out)


def erf(xp: Any, u: Any) -> Any:
    """erf(u) on a float64 array of namespace ``xp``: Taylor series below 1/2, 1 − erfc beyond."""
    small = xp.abs(u) < 0.5
    s = _where(xp, small, u, 0.0)
    s2 = s * s
    term, total = s, s
    for n in range(1, 24):  # (−1)^n u^{2n+1}/(n!(2n+1)): ratio ≤ 1/4 per step
        term = -term * s2 / n
        total = total + term / (2 * n + 1)
    series = total * (2 / math.sqrt(math.pi))
    large = 1 - erfc(xp, xp.abs(u))
    out = xp.where(small, series, xp.where(u < 0, -large, large))
    return xp.where(xp.isnan(u), u, out)


# --- the namespace of the generated code ------------------------------------------------------

@functools.lru_cache(maxsize=1024)
def _compiled(expr: sp.Expr, guarded: bool) -> tuple[str, Any]:
    source = array_api_source(expr, guarded)
    return source, compile(source, f"<activation_lab array API: {expr}>", "exec")


def _function(expr: sp.Expr, guarded: bool, xp: Any, like: Any) -> Callable[[Any], Any]:
    _, code = _compiled(expr, guarded)
    from .primitives import array_api_namespace

    namespace = array_api_namespace(xp, like)
    namespace["_nan"] = math.nan
    exec(code, namespace)  # noqa: S102 - source generated from a SymPy expression of the package
    return namespace["_generated"]


def _result_dtype(xp: Any, dtype: Any) -> Any:
    from ..errors import UnsupportedDtypeError

    if dtype == xp.float32 or dtype == xp.float64 or dtype == getattr(xp, "float16", object()):
        return dtype
    if xp.isdtype(dtype, ("integral", "bool")):
        return xp.float64
    raise UnsupportedDtypeError(dtype)


def _evaluate_order(expr: sp.Expr, k: int, xp: Any, x64: Any) -> Any:
    from .limits import limits, zero_limit_sides
    from .rewrite import stable_derivative

    stable = stable_derivative(expr, k)
    y = _function(stable, False, xp, x64)(x64)
    y = xp.broadcast_to(xp.asarray(y, dtype=xp.float64, device=x64.device), x64.shape)
    finite = xp.isfinite(x64)
    bad = finite & xp.isnan(y)
    if bool(xp.any(bad)):
        guarded = xp.broadcast_to(_function(stable, True, xp, x64)(x64), x64.shape)
        y = xp.where(bad, guarded, y)
    if not bool(xp.all(finite)):
        lo, hi = limits(expr, k)
        y = _where(xp, x64 == -math.inf, lo, _where(xp, x64 == math.inf, hi, y))
        y = _where(xp, xp.isnan(x64), math.nan, y)
    sides = zero_limit_sides(expr, k)
    if sides:
        # tail zeros take their limit's sign, as evaluate.signed_zeros gives them (TeLU'(-800) = -0.0)
        zero = (y == 0) & (xp.abs(x64) >= 1)
        for sign, limit in sides:
            y = _where(xp, zero & ((x64 < 0) if sign < 0 else (x64 > 0)), limit, y)
    return y


def evaluate_array_api(act: Any, x: Any, n: int | tuple[int, ...] | list[int] = 0) -> Any:
    """f⁽ⁿ⁾(x) for an array of any array-API library, returned in that library, on x's device.

    Computed in float64 and rounded once to x's floating dtype (integers and bools give
    float64), as the NumPy path.  ``n`` may be a tuple of orders.
    """
    from ..requests import orders_of

    orders = orders_of(n)
    xp = x.__array_namespace__()
    dtype = _result_dtype(xp, x.dtype)
    x64 = xp.astype(x, xp.float64)
    results = []
    # intermediate overflow (e^x at x > 709.78, then inf·0) is expected and guarded above; libraries
    # built on NumPy (array-api-strict) report it through NumPy's error state, which is per thread
    # (warnings.catch_warnings would change the filters of every thread)
    with np.errstate(all="ignore"):
        for k in orders:
            results.append(xp.astype(_evaluate_order(act.expr, k, xp, x64), dtype))
    return tuple(results) if isinstance(n, (tuple, list)) else results[0]
