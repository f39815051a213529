"""Agreement of two implementations of f⁽ⁿ⁾ (a new backend against the NumPy backend).

Used by the C-kernel and array-API tests: the two agree within a tolerance derived from
the conditioning of the formula, and where they do not, mpmath decides that the new one is
no less accurate than the NumPy backend.
"""

from __future__ import annotations

import numpy as np

from .conftest import sweep_points

# float32/float16: both compute in double and round once, so they may differ only where a
# libm difference of an ULP of double sits on a rounding boundary: at most 1 ULP (or the
# cancellation allowance below, near a root).
MAX_ULP = {"float16": 1, "float32": 1, "float64": 0}
# float64: glibc and NumPy/SciPy exp, tanh, erfc differ by an ULP or two.  A relative
# difference δ in an intermediate moves f⁽ⁿ⁾ by about δ·|x·f⁽ⁿ⁺¹⁾(x)| (TeLU's e^x·sech²(e^x)
# near x ≈ 6) or by δ·Σ|terms| where the terms of a sum cancel (near a root of f⁽ⁿ⁾):
# allowed |new − NumPy| ≤ 16ε·(|f⁽ⁿ⁾| + |x·f⁽ⁿ⁺¹⁾| + Σ|terms|).  Beyond that, mpmath decides.
EPS_FACTOR = 16


def numpy_double(act, x, orders):
    """The NumPy backend's generated code run in double, for each order: the arithmetic the C
    and array-API kernels do.  (``Activation.evaluate`` computes float64 inputs in long
    double where the platform has it, which no GPU kernel can; README: accuracy.)"""
    from activation_lab.numeric.evaluate import evaluate_order, signed_zeros

    x64 = np.asarray(x, dtype=np.float64)
    out = tuple(evaluate_order(act.expr, k, x64, "float64") for k in orders)
    for k, y in zip(orders, out, strict=True):
        signed_zeros(act.expr, k, x64, y)     # tail zeros carry their limit's sign on every backend
    return out


def _ordered(y: np.ndarray) -> np.ndarray:
    """Float bit patterns as integers increasing with the value (±0 both map to 0)."""
    width = {2: np.int16, 4: np.int32, 8: np.int64}[y.dtype.itemsize]
    bits = y.view(width).astype(np.int64)
    top = np.int64(1) << (8 * y.dtype.itemsize - 1)
    return np.where(bits < 0, -(bits + top), bits)


def points(dtype, count):
    info = np.finfo(dtype)
    extremes = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, info.smallest_subnormal, -info.smallest_subnormal,
                         info.smallest_subnormal * 3, info.tiny, -info.tiny, info.max, -info.max], dtype=dtype)
    return np.concatenate([sweep_points(dtype, count), extremes])


def _term_scale(act, k: int, x: np.ndarray) -> np.ndarray:
    """Σ|terms| of the stable form of f⁽ᵏ⁾ at x (the size of what cancels in the sum)."""
    from activation_lab.numeric.evaluate import term_scale

    with np.errstate(all="ignore"):
        return np.nan_to_num(term_scale(act.expr, k)(x), nan=0.0)


def _disagreements(got: np.ndarray, want: np.ndarray, x: np.ndarray, next_order: np.ndarray, terms) -> np.ndarray:
    """Mask of the points where the new backend and the NumPy backend disagree beyond the tolerance."""
    nan_got, nan_want = np.isnan(got), np.isnan(want)
    with np.errstate(all="ignore"):
        dist = np.abs(_ordered(got).astype(np.float64) - _ordered(want).astype(np.float64))
        zero_sign = (got == 0) & (want == 0) & (np.signbit(got) != np.signbit(want))
        scale = np.abs(want) + np.nan_to_num(np.abs(x * next_order), nan=0.0) + terms
        close = np.abs(got.astype(np.float64) - want) <= EPS_FACTOR * np.finfo(np.float64).eps * scale
        dist = np.where(close, 0.0, dist)
        limit = MAX_ULP.get(str(got.dtype), 0)
        inf_diff = (np.isinf(got) | np.isinf(want)) & (got != want)
    return (nan_got != nan_want) | (~nan_want & ((dist > limit) | inf_diff | zero_sign))


def check(act, k, got, want, x, next_order, label):
    """``got`` (new backend) and ``want`` (NumPy backend, float64) agree at every point, or else
    ``got`` is the more accurate of the two there, against mpmath.

    (NumPy's scipy-based expit and erfc flush to 0 below x ≈ −709 and beyond erfc ≈ 1e-308, where
    glibc and our sigmoid keep the subnormal result.)  Where the exact result is subnormal, each
    subnormal intermediate is off by up to half a spacing, and the formula multiplies it by
    coefficients such as x²/2 (GELU″) or x³ (GELU-tanh): there the new backend may be up to
    twice as far off as NumPy, or (1 + |x|)² spacings more.
    """
    from activation_lab.analysis.ulp import split_exact, ulp_error
    from activation_lab.numeric.mpmath_target import reference

    terms = _term_scale(act, k, x.astype(np.float64))
    with np.errstate(over="ignore"):  # beyond float32's range rounds to inf, as in the backend
        want = want.astype(got.dtype)
    bad = np.flatnonzero(_disagreements(got, want, x, next_order, terms))
    assert bad.size <= x.size // 50, \
        f"{label}: new and NumPy backends disagree at {bad.size} points, e.g. x = {x[bad[:5]]}"
    if bad.size == 0:
        return
    finite = np.isfinite(x[bad])
    assert finite.all(), f"{label}: new and NumPy backends disagree at x = {x[bad][~finite]}"
    fn = act.mpmath(k)
    hi, lo = split_exact([reference(fn, float(v)) for v in x[bad]])
    err_c = ulp_error(got[bad], hi, lo)
    err_np = ulp_error(want[bad], hi, lo)
    subnormal = np.abs(hi) < np.finfo(got.dtype).tiny
    slack = np.maximum(2 * err_np, err_np + (1 + np.abs(x[bad].astype(np.float64))) ** 2)
    worse = err_c > np.where(subnormal, slack, np.maximum(err_np, 1.0))
    if worse.any():
        # the catalogue's own target also clears a point: ≤ T·max(1, κ) ULP, κ = |x·g′/g| (mpmath)
        import mpmath

        g, dg = act.mpmath(k), act.mpmath(k + 1)
        target = 16.0 if k >= 2 else 4.0
        for j in np.flatnonzero(worse):
            xv = mpmath.mpf(float(x[bad][j]))
            with mpmath.workprec(200):
                gv = g(xv)
                kappa = float("inf") if gv == 0 else float(abs(xv * dg(xv) / gv))
            if err_c[j] <= target * max(1.0, kappa):
                worse[j] = False
    i = int(np.argmax(np.where(worse, err_c, -1.0)))
    assert not worse.any(), (f"{label}: at x = {x[bad][i]!r} the new backend gives {got[bad][i]!r} "
                             f"({err_c[i]:.3g} ULP), NumPy {want[bad][i]!r} ({err_np[i]:.3g} ULP), exact {hi[i]!r}")




def check_backend(act, to_device, to_host, count: int, label: str, orders=(0, 1, 2)) -> None:
    """A backend's f⁽ⁿ⁾ (arrays made by ``to_device``, read back by ``to_host``) against the
    NumPy backend at ``count`` sweep points and the extremes, float64 and float32: results of
    the input's array type, dtype, device and shape, agreeing as :func:`check` requires."""
    for dtype in ("float64", "float32"):
        x = points(dtype, count)
        xd = to_device(x)
        got = act.evaluate(xd, n=orders)
        want = numpy_double(act, x, (*orders, orders[-1] + 1))
        for k, g in zip(orders, got, strict=True):
            assert type(g) is type(xd) and g.dtype == xd.dtype and g.device == xd.device and g.shape == xd.shape
            check(act, k, to_host(g), want[k], x, want[k + 1], f"{act.name} f^({k}) {label} {dtype}")
