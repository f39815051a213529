"""erf and erfc for any array-API namespace (the standard has neither), in float64.

erfc(a) = e^{−a²}·erfcx(a) for a ≥ 0, with erfcx from Chebyshev expansions fitted once with
mpmath on [0, 16] and its asymptotic series beyond, and e^{−a²} from an exact split of a² (no
a²·ε error at large a); erf(u) from its Taylor series for |u| < 1/2.  The array-API column of
the table of primitives (:mod:`activation_lab.numeric.primitives`) uses them.
"""

from __future__ import annotations

import functools
import math
from typing import Any

__all__ = ["erf", "erfc", "where"]


def where(xp: Any, c: Any, a: Any, b: Any) -> Any:
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
        t = (where(xp, inside, a, mid) - mid) / half
        b1, b2 = xp.zeros_like(a), xp.zeros_like(a)
        for c in coeffs[:0:-1]:  # Clenshaw recurrence
            b1, b2 = 2 * t * b1 - b2 + c, b1
        result = xp.where(inside, t * b1 - b2 + coeffs[0], result)
    far = a >= _ASYMPTOTIC_FROM
    af = where(xp, far, a, _ASYMPTOTIC_FROM)
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
    a_safe = where(xp, finite & (a < 30.0), a, 30.0)  # erfc(30) ≈ 2e-393 underflows: no need to go further
    positive = _exp_minus_square(xp, a_safe) * _erfcx_nonnegative(xp, a_safe)
    positive = where(xp, a >= 30.0, 0.0, positive)
    out = xp.where(u < 0, 2 - positive, positive)
    return xp.where(xp.isnan(u), u, out)


def erf(xp: Any, u: Any) -> Any:
    """erf(u) on a float64 array of namespace ``xp``: Taylor series below 1/2, 1 − erfc beyond."""
    small = xp.abs(u) < 0.5
    s = where(xp, small, u, 0.0)
    s2 = s * s
    term, total = s, s
    for n in range(1, 24):  # (−1)^n u^{2n+1}/(n!(2n+1)): ratio ≤ 1/4 per step
        term = -term * s2 / n
        total = total + term / (2 * n + 1)
    series = total * (2 / math.sqrt(math.pi))
    large = 1 - erfc(xp, xp.abs(u))
    out = xp.where(small, series, xp.where(u < 0, -large, large))
    return xp.where(xp.isnan(u), u, out)
