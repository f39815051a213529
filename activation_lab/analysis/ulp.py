"""Errors in units in the last place (ULP), measured against exact (mpmath) values.

Convention (glibc manual, Zimmermann et al., SLEEF): for an exact value r and a result y
of a binary floating-point format with p significand bits and minimum exponent emin,

    err = |y − r| / ulp(r),   ulp(r) = 2^(max(⌊log₂|r|⌋, emin) − p + 1),

so a correctly rounded result scores at most 0.5 and subnormal results are measured in
units of the subnormal spacing.  Exact values are carried as float64 pairs (hi + lo, a
106-bit "double-double"), enough for every format up to float64.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["FORMATS", "split_exact", "ulp", "ulp_error"]

#: dtype name -> (significand bits p, minimum normal exponent emin, largest finite value)
FORMATS: dict[str, tuple[int, int, float]] = {
    "float16": (11, -14, 65504.0),
    "float32": (24, -126, float(np.finfo(np.float32).max)),
    "float64": (53, -1022, float(np.finfo(np.float64).max)),
}


def _format(dtype: Any) -> tuple[int, int, float]:
    name = np.dtype(dtype).name
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
    if True:
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
    """ulp(r) in ``dtype``'s format, for exact values r given as float64 (or hi of a pair)."""
    p, emin, _ = _format(dtype)
    r = np.abs(np.asarray(r, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        _, e = np.frexp(r)  # r = m·2^e with m in [0.5, 1): ⌊log₂ r⌋ = e − 1
    exponent = np.maximum(e.astype(np.int64) - 1, emin)
    return np.ldexp(1.0, exponent - p + 1)


def ulp_error(got: Any, hi: Any, lo: Any = 0.0, dtype: Any = None) -> np.ndarray:
    """|got − (hi + lo)| / ulp(hi + lo) in the format of ``dtype`` (default: got's dtype).

    Special values: a nan where the exact value is nan, or the exact inf of the same sign,
    scores 0; a nan or inf result where the exact value is finite, or the wrong infinity,
    scores inf.  An exact value beyond the format's largest finite number that rounds to
    inf (≥ max + ulp/2) is treated as inf.
    """
    got_arr = np.asarray(got)
    dtype = np.dtype(dtype if dtype is not None else got_arr.dtype)
    _, _, largest = _format(dtype)
    y = got_arr.astype(np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    lo = np.asarray(lo, dtype=np.float64)
    hi, lo, y = np.broadcast_arrays(hi, lo, y)
    with np.errstate(all="ignore"):
        u = ulp(hi, dtype)
        exact_inf = np.isinf(hi) | (np.abs(hi) >= largest + u / 2)
        exact_signed_inf = np.where(exact_inf, np.copysign(np.inf, hi), hi)
        err = np.abs((y - hi) - lo) / u
        err = np.where(np.isnan(hi), np.where(np.isnan(y), 0.0, np.inf), err)
        err = np.where(exact_inf & ~np.isnan(hi), np.where(y == exact_signed_inf, 0.0, np.inf), err)
        finite_exact = np.isfinite(hi) & ~exact_inf
        err = np.where(finite_exact & ~np.isfinite(y), np.inf, err)
    return err
