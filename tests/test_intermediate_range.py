"""Issue 13's evaluation cases: intermediates beyond double's range, constants beyond every dtype's,
and functions of numbers, on the plain path, the block program and the native float32 loop.

Each expected value is mpmath's at 200 bits of the formula as written, rounded to the dtype.
"""

from __future__ import annotations

import time

import mpmath
import numpy as np
import pytest

import activation_lab as al
from activation_lab.numeric.fused import evaluate_fused

CASES = [
    # formula, x, exact f(x) as mpmath computes the formula
    ("x + 1e-280", 1e30, lambda x: x + mpmath.mpf("1e-280")),
    ("1e-300*exp(2*x)", 355.0, lambda x: mpmath.mpf("1e-300") * mpmath.exp(2 * x)),
    ("exp(x**2)*erfc(x)", 27.0, lambda x: mpmath.exp(x**2) * mpmath.erfc(x)),
    ("1e308*10*x", 1.0, lambda x: mpmath.mpf("1e309") * x),
    ("x*softplus(1)", 2.0, lambda x: x * mpmath.log1p(mpmath.e)),
    ("x + erfc(1000)", 0.5, lambda x: x + mpmath.erfc(1000)),
    ("(-a)*(-a)*x", 0.5, lambda x: mpmath.mpf("1e600") * x),
]


def _exact(fn, x: float, dtype) -> float:
    with mpmath.workprec(200), np.errstate(over="ignore"):   # beyond the dtype's range: inf, as expected
        return float(np.dtype(dtype).type(float(fn(mpmath.mpf(float(np.dtype(dtype).type(x)))))))


# every case in each dtype whose range holds its x (1e30 and 355 are beyond float16's)
PAIRS = [(case, dtype) for case in CASES for dtype in (np.float32, np.float64, np.float16)
         if abs(case[1]) <= float(np.finfo(dtype).max)]


@pytest.mark.parametrize(("case", "dtype"), PAIRS, ids=[f"{c[0]}-{np.dtype(d).name}" for c, d in PAIRS])
def test_value_on_every_numpy_path(case, dtype):
    formula, x0, fn = case
    start = time.monotonic()
    act = al.define(formula, **({"a": "1e300"} if "a" in formula.replace("softplus", "") else {}))
    want = _exact(fn, x0, dtype)
    small = np.array([x0, -x0], dtype=dtype)
    big = np.resize(small, 5000)
    results = {"plain": act.evaluate(small), "fused": act.evaluate(big)[:2]}
    if dtype != np.float64:
        results["block program"] = evaluate_fused(act, big, 0, native=False)[:2]
    for label, got in results.items():
        assert got.dtype == np.dtype(dtype)
        w = np.dtype(dtype).type(want)
        assert got[0] == w or abs(float(got[0]) - want) <= 2 * float(np.spacing(w)), (label, got[0], want)
        assert np.isinf(w) or np.isfinite(got[0]), (label, got[0], want)
    assert time.monotonic() - start < 10


def test_a_huge_real_power_of_a_negative_base_is_nan_everywhere():
    """(−8)^(1/3) is not real: nan on the plain path, in blocks, natively and in float64."""
    act = al.define("x**(1/3)")
    for x in (np.float32([-8, 8]), np.tile(np.float32([-8, 8]), 5000), np.float64([-8, 8])):
        y = act.evaluate(x)
        assert np.isnan(y[0]) and y[1] == 2
