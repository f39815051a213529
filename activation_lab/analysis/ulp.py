"""Errors in units in the last place (ULP), measured against exact (mpmath) values.

Convention (glibc manual, Zimmermann et al., SLEEF): for an exact value r and a result y
of a binary floating-point format with p significand bits and minimum exponent emin,

    err = |y − r| / ulp(r),   ulp(r) = 2^(max(⌊log₂|r|⌋, emin) − p + 1),

so a correctly rounded result scores at most 0.5 and subnormal results are measured in
units of the subnormal spacing.  Exact values are carried as float64 pairs (hi + lo, a
106-bit "double-double"), enough for every format up to float64.

bfloat16 (``ml_dtypes.bfloat16``: float32's exponent range with an 8-bit significand) is one
more row of :data:`FORMATS`.  :func:`ulp_distance` counts the floats between two results of one
format from their bit patterns, viewed as unsigned integers of the format's width and put in
numeric order (an ml_dtypes array viewed as a NumPy integer type is its raw bits).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..requests import float_dtype

__all__ = ["FORMATS", "rounding_boundary_distance", "split_exact", "ulp", "ulp_distance", "ulp_error"]

#: dtype name -> (significand bits p, minimum normal exponent emin, largest finite value)
FORMATS: dict[str, tuple[int, int, float]] = {
    "float16": (11, -14, 65504.0),
    "bfloat16": (8, -126, float.fromhex("0x1.fep127")),
    "float32": (24, -126, float(np.finfo(np.float32).max)),
    "float64": (53, -1022, float(np.finfo(np.float64).max)),
}

_UINT = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def _format(dtype: Any) -> tuple[int, int, float]:
    name = float_dtype(dtype).name
    if name not in FORMATS:
        raise TypeError(f"ULPs are defined here for {', '.join(FORMATS)}, not {name}")
    return FORMATS[name]


def split_exact(values: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
    """mpmath numbers → (hi, lo) float64 arrays with hi + lo ≈ value to ~106 bits.

    Values beyond float64's range give hi = ±inf, lo = 0; nan gives nan.
    """
    import mpmath

    his, los = [], []
    with mpmath.workprec(max(mpmath.mp.prec, 256)):
        for v in values:
            _split_one(mpmath, v, his, los)
    return np.array(his, dtype=np.float64), np.array(los, dtype=np.float64)


def _split_one(mpmath: Any, v: Any, his: list, los: list) -> None:
    v = mpmath.mpf(v)
    if mpmath.isnan(v):
        his.append(np.nan)
        los.append(0.0)
        return
    hi = float(v) if abs(v) < mpmath.mpf(2) ** 1024 else (np.inf if v > 0 else -np.inf)
    if np.isfinite(hi) and hi == 0 and v != 0:
        hi = 0.0 if v > 0 else -0.0
    lo = float(v - hi) if np.isfinite(hi) and v != hi else 0.0
    his.append(hi)
    los.append(lo)


def ulp(r: Any, dtype: Any = "float64") -> np.ndarray:
    """ulp(r) = 2^(max(⌊log₂|r|⌋, emin) − p + 1) in ``dtype``'s format, for exact values r as float64."""
    p, emin, _ = _format(dtype)
    # the exponent bits alone are 2^⌊log₂|r|⌋ (0 for zeros and float64 subnormals, which the
    # clamp at emin ≥ −1022 covers); scaling by the power of two 2^(1−p) is exact
    top = (np.asarray(r, dtype=np.float64).view(np.uint64) & np.uint64(0x7FF0000000000000)).view(np.float64)
    return np.maximum(top * 2.0 ** (1 - p), 2.0 ** (emin - p + 1))


def ulp_error(got: Any, hi: Any, lo: Any = 0.0, dtype: Any = None) -> np.ndarray:
    """|got − (hi + lo)| / ulp(hi + lo) in the format of ``dtype`` (default: got's dtype).

    Special values: a nan where the exact value is nan, or the exact inf of the same sign,
    scores 0; a nan or inf result where the exact value is finite, or the wrong infinity,
    scores inf.  An exact value beyond the format's largest finite number that rounds to
    inf (≥ max + ulp/2) is treated as inf.
    """
    got_arr = np.asarray(got)
    dtype = float_dtype(dtype if dtype is not None else got_arr.dtype)
    _, _, largest = _format(dtype)
    with np.errstate(invalid="ignore"):     # a signalling nan (a bfloat16 pattern) warns when widened
        y = np.asarray(got_arr, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    lo = np.asarray(lo, dtype=np.float64)
    has_lo = bool(lo.any())
    hi, lo, y = np.broadcast_arrays(hi, lo, y)
    with np.errstate(all="ignore"):
        diff = y - hi
        if has_lo:
            diff = diff - lo
        err = np.abs(diff) / ulp(hi, dtype)   # ulp is a power of two: the division is exact
        # the rare elements with a non-finite operand or an exact value at the overflow edge
        special = ~np.isfinite(err) | (np.abs(hi) >= largest)
        if special.any():
            err = np.array(err, dtype=np.float64, copy=True)
            err[special] = _special_errors(y[special], hi[special], lo[special], dtype)
    return err


def _special_errors(y: np.ndarray, hi: np.ndarray, lo: np.ndarray, dtype: np.dtype) -> np.ndarray:
    _, _, largest = _format(dtype)
    u = ulp(hi, dtype)
    exact_inf = np.isinf(hi) | (np.abs(hi) >= largest + u / 2)
    exact_signed_inf = np.where(exact_inf, np.copysign(np.inf, hi), hi)
    err = np.abs((y - hi) - lo) / u
    err = np.where(np.isnan(hi), np.where(np.isnan(y), 0.0, np.inf), err)
    err = np.where(exact_inf & ~np.isnan(hi), np.where(y == exact_signed_inf, 0.0, np.inf), err)
    finite_exact = np.isfinite(hi) & ~exact_inf
    return np.where(finite_exact & ~np.isfinite(y), np.inf, err)


def rounding_boundary_distance(r: Any, dtype: Any = "float32") -> np.ndarray:
    """Distance |r − b| / |r| from float64 values r to the nearest round-to-nearest boundary b of ``dtype``.

    The boundaries are the midpoints between neighbouring values of the format, the midpoint
    between 0 and the smallest subnormal, and the overflow threshold max + ulp(max)/2.  A
    float64 approximation of an exact value whose error is below this distance rounds to
    the same ``dtype`` value as the exact one.  Values of r that ``dtype`` holds exactly
    (zero included) give inf; nan gives nan.
    """
    dtype = float_dtype(dtype)
    _, _, largest = _format(dtype)
    r = np.asarray(r, dtype=np.float64)
    with np.errstate(all="ignore"):
        near = r.astype(dtype)
        d = r - near.astype(np.float64)          # exact: r and its rounding agree to within half an ulp
        step = np.abs(np.nextafter(near, np.copysign(np.inf, d).astype(dtype)).astype(np.float64) - near)
        dist = np.where(d == 0, np.inf, step / 2 - np.abs(d))
        big = np.abs(r) >= largest
        if big.any():
            overflow_edge = largest + float(ulp(largest, dtype)) / 2
            dist = np.where(big, np.abs(np.abs(r) - overflow_edge), dist)
            dist = np.where(np.isinf(r), np.inf, dist)
        return dist / np.abs(r)


def _ordered(y: np.ndarray) -> np.ndarray:
    """Bit patterns of ``y`` as int64 in numeric order: −0 and +0 both 0, the negatives below."""
    bits = y.view(_UINT[y.dtype.itemsize]).astype(np.int64)
    sign = np.int64(1) << np.int64(8 * y.dtype.itemsize - 1)
    return np.where(bits >= sign, sign - bits, bits)


def ulp_distance(a: Any, b: Any) -> np.ndarray:
    """How many floats of their common format lie from a to b: 0 for equal values (±0 alike), 1 for
    neighbours, across zero and powers of two alike; nan where either is nan.

    ``a`` and ``b`` are arrays of one floating format (float16, bfloat16, float32 or float64).
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype:
        raise TypeError(f"ulp_distance compares arrays of one format, got {a.dtype} and {b.dtype}")
    _format(a.dtype)
    a, b = np.broadcast_arrays(a, b)
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    dist = np.abs(_ordered(a) - _ordered(b)).astype(np.float64)
    with np.errstate(invalid="ignore"):
        nan = np.isnan(a.astype(np.float32) if a.dtype.itemsize == 2 else a) | np.isnan(
            b.astype(np.float32) if b.dtype.itemsize == 2 else b)
    return np.where(nan, np.nan, dist)
