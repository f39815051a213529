"""ULP measurement on hand-made cases, and against an independent exact-rational computation."""

from fractions import Fraction

import mpmath
import numpy as np
import pytest

from activation_lab.analysis.ulp import rounding_boundary_distance, split_exact, ulp, ulp_error

DTYPES = ["float16", "float32", "float64"]
# (significand bits, emin): IEEE 754 binary16/32/64, written here independently of the module
IEEE = {"float16": (11, -14), "float32": (24, -126), "float64": (53, -1022)}


def _ulp_exact(r: Fraction, dtype: str) -> Fraction:
    """ulp(r) = 2^(max(floor(log2|r|), emin) - p + 1), by exact rational arithmetic."""
    p, emin = IEEE[dtype]
    r = abs(r)
    e = emin
    if r != 0:
        e = r.numerator.bit_length() - r.denominator.bit_length()
        if Fraction(2) ** e > r:
            e -= 1
        e = max(e, emin)
    return Fraction(2) ** (e - p + 1)


def _samples(dtype, count=300, seed=0):
    rng = np.random.default_rng(seed)
    info = np.finfo(dtype)
    lo, hi = np.log2(float(info.smallest_subnormal)), np.log2(float(info.max)) - 1
    mags = np.exp2(rng.uniform(lo, hi, count))
    vals = (mags * rng.choice([-1.0, 1.0], count)).astype(dtype)
    return vals[np.isfinite(vals) & (vals != 0)]


@pytest.mark.parametrize("dtype", DTYPES)
def test_adjacent_floats_are_one_ulp_apart(dtype):
    x = _samples(dtype)
    for direction in (np.inf, -np.inf):
        y = np.nextafter(x, np.array(direction, dtype=dtype))
        ok = np.isfinite(y) & (np.abs(y) >= np.abs(x))   # moving away from 0: same binade or the next one up
        err = ulp_error(y[ok], x[ok].astype(np.float64), 0.0, dtype)
        assert np.all(err == 1.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_across_a_power_of_two(dtype):
    p, emin = IEEE[dtype]
    for k in (0, 1, 5, -3, emin + 1):
        two_k = np.array(2.0**k, dtype=dtype)
        below = np.nextafter(two_k, np.array(0, dtype=dtype))
        # below 2^k the spacing is half the spacing above it
        assert ulp_error(below, float(two_k), 0.0, dtype) == 0.5
        assert ulp_error(two_k, float(below), 0.0, dtype) == 1.0
        assert ulp(float(two_k), dtype) == 2.0 ** (k - p + 1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_subnormals_and_zero(dtype):
    p, emin = IEEE[dtype]
    tiny = 2.0 ** (emin - p + 1)                       # smallest subnormal
    t = np.array(tiny, dtype=dtype)
    assert float(t) == tiny
    assert ulp_error(t, 0.0, 0.0, dtype) == 1.0       # 0 and the smallest subnormal are adjacent
    assert ulp_error(np.array(0.0, dtype=dtype), tiny, 0.0, dtype) == 1.0
    assert ulp_error(np.array(2 * tiny, dtype=dtype), tiny, 0.0, dtype) == 1.0
    if dtype != "float64":   # float64 cannot carry tiny/2 (hi + lo are float64 too)
        # the exact value half-way between 0 and tiny: both are half an ULP off
        assert ulp_error(np.array(0.0, dtype=dtype), tiny / 2, 0.0, dtype) == 0.5
        assert ulp_error(t, tiny / 2, 0.0, dtype) == 0.5
    assert ulp(0.0, dtype) == tiny and ulp(tiny, dtype) == tiny
    # every subnormal has the same spacing
    sub = np.array([3 * tiny, 1000 * tiny], dtype=np.float64)
    assert np.all(ulp(sub, dtype) == tiny)


@pytest.mark.parametrize("dtype", DTYPES)
def test_signed_zero_inf_and_nan(dtype):
    z = np.array([0.0, -0.0], dtype=dtype)
    assert np.all(ulp_error(z, np.array([-0.0, 0.0]), 0.0, dtype) == 0)
    inf = np.array([np.inf, -np.inf, np.nan], dtype=dtype)
    assert list(ulp_error(inf, np.array([np.inf, -np.inf, np.nan]), 0.0, dtype)) == [0, 0, 0]
    assert list(ulp_error(inf, np.array([-np.inf, np.inf, 1.0]), 0.0, dtype)) == [np.inf, np.inf, np.inf]
    big = np.array(np.finfo(dtype).max, dtype=dtype)
    assert ulp_error(big, np.inf, 0.0, dtype) == np.inf                          # finite for an infinite value
    assert ulp_error(np.array([np.inf, np.nan], dtype=dtype), 1.0, 0.0, dtype).tolist() == [np.inf, np.inf]
    if dtype != "float64":
        p, _ = IEEE[dtype]
        edge = float(big) + 2.0 ** (np.log2(float(big)).astype(int) - p + 1) / 2   # max + ulp/2 rounds to inf
        assert ulp_error(np.array(np.inf, dtype=dtype), edge, 0.0, dtype) == 0
        assert ulp_error(big, edge, 0.0, dtype) == np.inf
        quarter = float(big) + 2.0 ** (np.log2(float(big)).astype(int) - p + 1) / 4
        assert ulp_error(big, quarter, 0.0, dtype) == 0.25


@pytest.mark.parametrize("dtype", DTYPES)
def test_against_exact_rationals(dtype):
    rng = np.random.default_rng(5)
    exact = _samples(dtype, 200, seed=1).astype(np.float64)
    exact = exact * (1 + rng.uniform(-1e-3, 1e-3, exact.size))        # not representable in dtype
    with np.errstate(over="ignore"):
        got = (exact * (1 + rng.uniform(-1e-2, 1e-2, exact.size))).astype(dtype)
    keep = np.isfinite(got) & (np.abs(exact) < float(np.finfo(dtype).max))
    got, exact = got[keep], exact[keep]
    lo = exact * 2.0**-60 * rng.uniform(-1, 1, exact.size)
    err = ulp_error(got, exact, lo, dtype)
    for g, h, low, e in zip(got, exact, lo, err, strict=True):
        r = Fraction(float(h)) + Fraction(float(low))
        want = abs(Fraction(float(g)) - r) / _ulp_exact(r, dtype)
        assert abs(Fraction(float(e)) - want) <= want * Fraction(1, 2**50), (g, h, e, float(want))


def test_double_double_low_part():
    # got = 1, exact = 1 + 2^-60: 2^-60 / 2^-52 = 2^-8 ULP in float64
    assert ulp_error(np.float64(1.0), 1.0, 2.0**-60, "float64") == 2.0**-8


def test_split_exact_keeps_106_bits():
    with mpmath.workprec(300):
        vals = [mpmath.pi, -mpmath.e ** 100, mpmath.mpf(1) / 3 * mpmath.mpf(2) ** -900, mpmath.mpf(0)]
        hi, lo = split_exact(vals)
        for v, h, low in zip(vals, hi, lo, strict=True):
            assert abs(mpmath.mpf(h) + mpmath.mpf(low) - v) <= abs(v) * mpmath.mpf(2) ** -104
    hi, lo = split_exact([mpmath.mpf("1e400"), mpmath.mpf("-1e-400"), mpmath.nan])
    assert hi[0] == np.inf and hi[1] == 0 and np.signbit(hi[1]) and np.isnan(hi[2])


def test_rounding_boundary_distance():
    f32 = "float32"
    # the midpoint between 1 and its float32 successor, and values near it
    mid = 1 + 2.0**-24
    got = rounding_boundary_distance([mid, mid + 2.0**-50, mid - 2.0**-48, 1.0, 0.0, np.nan], f32)
    assert got[0] == 0
    assert got[1] == pytest.approx(2.0**-50 / (mid + 2.0**-50), rel=1e-12)
    assert got[2] == pytest.approx(2.0**-48 / (mid - 2.0**-48), rel=1e-12)
    assert np.isinf(got[3]) and np.isinf(got[4]) and np.isnan(got[5])
    # around a power of two the spacing halves below it: midpoints 2 - 2^-24 and 2 + 2^-23
    assert rounding_boundary_distance([2.0 - 2.0**-24, 2.0 + 2.0**-23], f32).tolist() == [0, 0]
    assert rounding_boundary_distance(2.0 - 2.0**-25, f32) == pytest.approx(2.0**-25 / 2, rel=1e-6)
    # between 0 and the smallest subnormal, and at the overflow threshold max + ulp/2
    assert rounding_boundary_distance(2.0**-150, f32) == 0
    edge = float(np.finfo(np.float32).max) + 2.0**103
    assert rounding_boundary_distance(edge, f32) == 0
    assert rounding_boundary_distance(edge * (1 + 2.0**-45), f32) == pytest.approx(2.0**-45, rel=1e-6)
    # a random float64 is on average about 2^-26 relative from a float32 boundary
    x = np.random.default_rng(0).uniform(1, 2, 10000)
    d = rounding_boundary_distance(x, f32)
    assert np.all((d >= 0) & (d <= 2.0**-24)) and np.median(d) > 2.0**-28
