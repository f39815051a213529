"""Point sets for accuracy checks: the default sweep of a format, and float32 space in chunks.

The default sweep of a floating format holds, all as values of that format:

* both signs of log-spaced magnitudes from the smallest subnormal to the largest finite value;
* a dense linear grid around 0 (where activations bend) and a coarser one out to the
  format's underflow edge of exp, ln(smallest subnormal / 2);
* the known critical points (exp overflow and underflow edges of float16/32/64, kinks,
  TeLU's minimum …) and the edges computed from the format itself, each with its
  neighbouring floats on both sides;
* the format's extremes (±max, ±smallest normal, ±smallest subnormal);
* ±0, ±inf and nan, last.

Exhaustive float32 checks address every input by its bit pattern b ∈ [0, 2³²): chunks are
half-open ranges of bit patterns, so a chunk is the same set of inputs on any machine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..requests import finfo, float_dtype

__all__ = ["CRITICAL_POINTS", "FLOAT32_INPUTS", "default_points", "float32_chunks", "float32_inputs",
           "format_edges"]

#: points where activations or their floating-point evaluation change behaviour (REFERENCE.md):
#: exp overflow/underflow in float16 (11.09, −9.70, −16.64, −17.33), float32 (88.72, −87.33, −89.4,
#: −103.28, −103.97) and float64 (709.78, −708.4, −744.44, −745.1), GELU's and the Logish/Smish
#: float32 gradient underflow (−14.42, −51.99), TeLU's minimum (−1.0789), kinks (0, ±3, 6).
CRITICAL_POINTS: tuple[float, ...] = (
    0.0, 1.0, -1.0, -1.0789, 3.0, -3.0, 6.0,
    11.09, -9.70, -16.64, -17.33,
    88.72, -87.33, -89.4, -103.28, -103.97, -14.42, -51.99,
    709.78, -708.4, -744.44, -745.1,
)

#: number of float32 inputs: every bit pattern
FLOAT32_INPUTS = 2**32


def format_edges(dtype: Any) -> tuple[float, ...]:
    """The exp edges of a format: ln(max), ln(smallest normal), ln(smallest subnormal), ln(smallest subnormal/2)."""
    info = finfo(dtype)
    tiny_sub = float(info.smallest_subnormal)
    return (float(np.log(float(info.max))), float(np.log(float(info.smallest_normal))),
            float(np.log(tiny_sub)), float(np.log(tiny_sub) - np.log(2.0)))


def _neighbours(values: np.ndarray, count: int) -> np.ndarray:
    """``values`` with ``count`` neighbouring floats of their own dtype on each side."""
    out = [values]
    up, down = values.copy(), values.copy()
    pos_inf, neg_inf = np.array(np.inf, values.dtype), np.array(-np.inf, values.dtype)
    for _ in range(count):
        up = np.nextafter(up, pos_inf)
        down = np.nextafter(down, neg_inf)
        out += [up, down]
    return np.concatenate(out)


def default_points(dtype: Any = "float32", magnitudes: int | None = None, dense: int = 641, wide: int = 601,
                   neighbours: int = 8) -> np.ndarray:
    """The default sweep of ``dtype`` (see the module docstring), finite points sorted, then ±0, ±inf, nan.

    Deterministic: the same call gives the same points.  ``magnitudes`` log-spaced magnitudes
    per sign (default: 400, or one per two octaves where the format spans more), ``dense``
    points on [−8, 8], ``wide`` points on ±1.05·|ln(smallest subnormal/2)|,
    ``neighbours`` floats each side of every critical point and extreme.
    """
    dtype = float_dtype(dtype)
    if dtype.name not in ("float16", "bfloat16", "float32", "float64"):
        from ..errors import UnsupportedDtypeError

        raise UnsupportedDtypeError(dtype)
    info = finfo(dtype)
    tiny_sub, big = float(info.smallest_subnormal), float(info.max)
    reach = 1.05 * abs(format_edges(dtype)[3])
    if magnitudes is None:
        magnitudes = max(400, int(np.log2(big) - np.log2(tiny_sub)) // 2 + 2)
    with np.errstate(over="ignore"):
        mags = np.geomspace(tiny_sub, big, magnitudes)   # 10**log10(max) may overflow; the end is set to max
        critical = np.array([*CRITICAL_POINTS, *format_edges(dtype)], dtype=np.float64)
        critical = np.concatenate([critical, -critical]).astype(dtype)
        critical = critical[np.isfinite(critical)]
        extremes = np.array([big, float(info.smallest_normal), tiny_sub], dtype=dtype)
        extremes = np.concatenate([extremes, -extremes])
        parts = [
            np.concatenate([mags, -mags]).astype(dtype),
            np.linspace(-8.0, 8.0, dense).astype(dtype),
            np.linspace(-reach, reach, wide).astype(dtype),
            _neighbours(critical, neighbours),
            _neighbours(extremes, neighbours),
        ]
    finite = np.concatenate(parts)
    finite = finite[np.isfinite(finite) & (finite != 0)]
    specials = np.array([-0.0, 0.0, -np.inf, np.inf, np.nan], dtype=dtype)
    return np.concatenate([np.unique(finite), specials])


def float32_chunks(start: int = 0, stop: int = FLOAT32_INPUTS, size: int = 2**22) -> tuple[tuple[int, int], ...]:
    """Half-open bit-pattern ranges [lo, hi) of at most ``size`` inputs covering [start, stop)."""
    if not (0 <= start <= stop <= FLOAT32_INPUTS):
        from ..errors import ActivationLabError

        raise ActivationLabError(f"float32 bit-pattern range [{start}, {stop}) is not within [0, 2**32); "
                                 "give 0 <= start <= stop <= 2**32")
    if size < 1:
        from ..errors import ActivationLabError

        raise ActivationLabError(f"chunk size must be a positive number of inputs, got {size}")
    return tuple((lo, min(lo + size, stop)) for lo in range(start, stop, size))


def float32_inputs(lo: int, hi: int) -> np.ndarray:
    """The float32 values whose bit patterns are lo, lo + 1, …, hi − 1 (nan patterns included)."""
    return np.arange(lo, hi, dtype=np.uint64).astype(np.uint32).view(np.float32)
