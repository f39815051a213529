"""Shared helpers: sweep points and mpmath references computed in the tests themselves."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

import activation_lab as al

# Edges worth testing with their neighbours: exp overflow/underflow per format.
EDGES = [11.09, 88.72, -87.33, -89.4, -103.97, 709.78, -708.4, -745.1, 0.0, 1.0, -1.0, -1.0789, 3.0, -3.0, 6.0]


def sweep_points(dtype, count: int, seed: int = 0) -> np.ndarray:
    """Finite points of ``dtype``: both signs, log-spaced magnitudes from the smallest
    subnormal to the largest finite value, dense near 0 and the critical edges."""
    dtype = np.dtype(dtype)
    info = np.finfo(dtype)
    rng = np.random.default_rng(seed)
    lo = np.log2(float(info.smallest_subnormal))
    hi = np.log2(float(info.max))
    n_log = count * 2 // 5
    mags = np.exp2(rng.uniform(lo, hi, n_log))
    logs = mags * rng.choice([-1.0, 1.0], n_log)
    dense = rng.uniform(-40, 40, count * 3 // 10)
    wide = rng.uniform(-800, 800, count // 10)
    edges = []
    for e in EDGES:
        v = dtype.type(e)
        for _ in range(8):
            edges.append(v)
            v = np.nextafter(v, dtype.type(np.inf))
        v = dtype.type(e)
        for _ in range(8):
            v = np.nextafter(v, dtype.type(-np.inf))
            edges.append(v)
    extremes = [info.max, -info.max, info.smallest_subnormal, -info.smallest_subnormal,
                info.smallest_normal, -info.smallest_normal]
    rest = count - n_log - len(dense) - len(wide) - len(edges) - len(extremes)
    small = rng.uniform(-1e-3, 1e-3, max(rest, 0))
    with np.errstate(over="ignore"):
        pts = np.concatenate([logs, dense, wide, np.array(edges, dtype=np.float64), extremes, small]).astype(dtype)
    pts = pts[np.isfinite(pts)]
    return pts


def mp_values(fn, xs, prec: int = 200) -> list:
    """fn at each x (float) with mpmath at ``prec`` bits."""
    with mpmath.workprec(prec):
        return [fn(mpmath.mpf(float(x))) for x in xs]


def mp_telu(xs, prec: int = 200) -> tuple[list, list]:
    """TeLU(x) = x·tanh(eˣ) and TeLU′(x) = tanh(eˣ) + x·eˣ·sech²(eˣ) at each x, with mpmath.

    tanh and sech² come from q = e^{−2eˣ} (mpmath's cosh runs out of memory for huge eˣ);
    beyond x = 50, q < e^{−10^21}: zero to far more than ``prec`` bits.
    """
    f, df = [], []
    with mpmath.workprec(prec):
        for x in xs:
            v = mpmath.mpf(float(x))
            e = mpmath.exp(v) if v < 50 else mpmath.mpf(0)
            q = mpmath.exp(-2 * e) if v < 50 else mpmath.mpf(0)
            tanh = -mpmath.expm1(-2 * e) / (1 + q) if v < 50 else mpmath.mpf(1)
            f.append(v * tanh)
            df.append(tanh + v * e * 4 * q / (1 + q) ** 2)
    return f, df


def mp_raw_namespace() -> dict:
    """Plain mpmath meanings of the package's primitives, written here independently."""
    return {
        "sigmoid": lambda u: 1 / (1 + mpmath.exp(-u)),
        "softplus": lambda u: mpmath.log(1 + mpmath.exp(u)),
        "log1p": mpmath.log1p, "expm1": mpmath.expm1, "erfc": mpmath.erfc,
    }


@pytest.fixture(params=al.names())
def act(request):
    return al.get(request.param)
