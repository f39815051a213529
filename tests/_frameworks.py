"""Shared machinery of tests/test_frameworks_*.py: each framework's activations, as its
documentation writes them, in plain mpmath, against ``al.get("framework:name")``.

The references here are written from the frameworks' documented formulas and defaults (not from
the catalogue); the framework itself is not needed.  Values and first derivatives are checked at
50 points spread over [-20, 20], at ±0, ±inf and nan, and at the dtype's extremes (±max,
±smallest normal, ±smallest subnormal), in float32 and float64.  f' is a central difference at
300 bits with a step relative to |x| (no point is within the step of a kink).
"""

from __future__ import annotations

import warnings

import mpmath
import numpy as np

import activation_lab as al
from activation_lab.frameworks import NAMES

PREC = 300
#: beyond every float format: the value there is the limit at ±inf to far below any ULP
HUGE = mpmath.mpf("1e400")


def sig(u):
    return 1 / (1 + mpmath.exp(-u))


def softplus(u):
    return mpmath.log1p(mpmath.exp(u)) if u < 0 else u + mpmath.log1p(mpmath.exp(-u))


def where(cond, a, b):
    return a if cond else b


def clip(u, lo, hi):
    return min(max(u, lo), hi)


def log_cosh(u):
    a = abs(u)
    return a + mpmath.log1p(mpmath.exp(-2 * a)) - mpmath.log(2)


def derivative(f, t):
    """f'(t) by a central difference with a step relative to |t| (2⁻¹²⁰⁰ at t = 0), so that the
    tiny points never straddle a kink at 0 (the value at a kink comes from ``at_kinks``)."""
    h = abs(t) * mpmath.mpf(2) ** -100 if t else mpmath.mpf(2) ** -1200
    # enough bits that t ± h differ from t where f is ~1 (t down to the smallest subnormal)
    with mpmath.workprec(mpmath.mp.prec + max(0, -int(mpmath.floor(mpmath.log(h, 2))))):
        return (f(t + h) - f(t - h)) / (2 * h)


def points(dtype) -> np.ndarray:
    info = np.finfo(dtype)
    grid = np.linspace(-20.0, 20.0, 50)
    extremes = [info.max, -info.max, info.smallest_normal, -info.smallest_normal,
                info.smallest_subnormal, -info.smallest_subnormal]
    return np.concatenate([grid, extremes, [0.0, -0.0, np.inf, -np.inf, np.nan]]).astype(dtype)


def _bits(x: float) -> int:
    """Working bits at x: 300 plus twice its binary exponent's size (squareplus(−1.8e308) = 5.6e−309
    sits beside x² ≈ 3e616; log cosh(2e−308) ≈ 2.5e−616 beside log 2)."""
    return PREC + (2 * abs(int(np.frexp(x)[1])) if np.isfinite(x) and x != 0 else 0)


def _reference(f, x: float, n: int, kinks: dict):
    with mpmath.workprec(_bits(x)):
        if np.isnan(x):
            return None
        if n == 1 and x in kinks:
            return mpmath.mpf(kinks[x])
        t = HUGE if x == np.inf else -HUGE if x == -np.inf else mpmath.mpf(float(x))
        return f(t) if n == 0 else derivative(f, t)


def _close(got, want, dtype) -> bool:
    info = np.finfo(dtype)
    if want is None:
        return bool(np.isnan(got))
    w = float(want) if abs(want) < mpmath.mpf("1e400") else (np.inf if want > 0 else -np.inf)
    with np.errstate(over="ignore"):
        w_d = np.array(w).astype(dtype)
    if np.isinf(w_d) or np.isinf(got):
        return bool(got == w_d)
    tol = 8 * float(info.eps) * abs(w) + 4 * float(info.smallest_subnormal)
    return abs(float(got) - w) <= tol


def check_framework(framework: str, refs: dict, exports: set[str], at_kinks: dict | None = None) -> None:
    """Every element-wise export in ``exports`` is in the frameworks' table, every row of the
    framework has a reference in ``refs``, and each agrees with it in float32 and float64;
    ``at_kinks``: name -> {x: f'(x)} at the test points that are kinks, as the framework's
    autodiff gives it."""
    at_kinks = at_kinks or {}
    rows = {r.name for r in NAMES if r.framework == framework}
    assert rows == exports, (sorted(exports - rows), sorted(rows - exports))
    assert set(refs) == rows
    failures = []
    for name, f in refs.items():
        act = al.get(f"{framework}:{name}")
        for dtype in ("float32", "float64"):
            xs = points(dtype)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                got = act.evaluate(xs, n=(0, 1))
            for n in (0, 1):
                for x, g in zip(xs, got[n], strict=True):
                    want = _reference(f, float(x), n, at_kinks.get(name, {}))
                    if not _close(g, want, dtype):
                        failures.append(f"{framework}:{name} f^({n}) {dtype} x={x!r}: got {g!r}, want {want}")
    assert not failures, f"{len(failures)} disagreements:\n" + "\n".join(failures[:20])


def phi(t):
    """Φ(t), the normal CDF; 0 or 1 beyond |t| = 1e6 (erfc(10⁶/√2) < e^{-10¹¹}; mpmath's erfc
    overflows a float there)."""
    if abs(t) > 10**6:
        return mpmath.mpf(1) if t > 0 else mpmath.mpf(0)
    return mpmath.erfc(-t / mpmath.sqrt(2)) / 2


def gelu_tanh(t):
    """x/2·(1 + tanh(√(2/π)(x + 0.044715x³))) as x·σ(2u): the same function (1 + tanh u = 2σ(2u)),
    without the cancellation of 1 + tanh(u) far on the left (u ≈ −300 at x = −20)."""
    u = mpmath.sqrt(2 / mpmath.pi) * (t + mpmath.mpf("0.044715") * t**3)
    return t * sig(2 * u)


#: SELU's constants as the frameworks document them (Klambauer et al. 2017)
SELU_SCALE = mpmath.mpf("1.0507009873554804934193349852946")
SELU_ALPHA = mpmath.mpf("1.6732632423543772848170429916717")


def relu6(t):
    return clip(t, 0, 6)


def hard_silu(t):
    """x·relu6(x + 3)/6, hardswish as the frameworks write it."""
    return t * relu6(t + 3) / 6
