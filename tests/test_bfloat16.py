"""bfloat16 (ml_dtypes) in evaluate, the ULP measures, accuracy, the exhaustive check and ``check``.

Expected values: mpmath at 200 bits rounded straight to bfloat16's 8-bit significand here
(:func:`round_bf16`, no double rounding through float64 or float32), or closed forms.
"""

from __future__ import annotations

import json

import ml_dtypes
import mpmath
import numpy as np
import pytest

import activation_lab as al
from activation_lab.analysis.accuracy import accuracy
from activation_lab.analysis.exhaustive import exhaustive
from activation_lab.analysis.ulp import ulp, ulp_distance, ulp_error
from activation_lab.present.cli import main

from .conftest import mp_telu

BF16 = np.dtype(ml_dtypes.bfloat16)
ALL_BF16 = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(BF16)
#: bfloat16's largest finite value, (2 − 2⁻⁷)·2¹²⁷, and its smallest subnormal 2⁻¹³³
BF16_MAX = mpmath.mpf(2 - 2**-7) * mpmath.mpf(2) ** 127
BF16_TINY = mpmath.mpf(2) ** -133


@mpmath.workprec(400)     # a/q keeps every bit of a 200-bit value (mpmath rounds to the working precision)
def round_bf16(v) -> float:
    """The mpmath number ``v`` rounded to nearest-even with an 8-bit significand, exponents from −126
    (subnormals in steps of 2⁻¹³³), overflowing to inf at max + half an ULP: as a Python float (exact)."""
    if mpmath.isnan(v):
        return float("nan")
    if v == 0:
        return 0.0
    sign = -1 if v < 0 else 1
    a = abs(v)
    _, e = mpmath.frexp(a)                    # a = m·2^e with 0.5 <= m < 1
    q = mpmath.mpf(2) ** (max(e - 1, -126) - 7)
    k = mpmath.floor(a / q)
    rest = a / q - k
    if rest > 0.5 or (rest == 0.5 and int(k) % 2 == 1):
        k += 1
    r = k * q
    if r > BF16_MAX:
        return sign * float("inf")
    return sign * float(r)


def _points() -> np.ndarray:
    """Every 16th bfloat16 (both signs, subnormals to the largest) and the neighbours of the edges."""
    edges = np.array([0.0, -1.0789, 88.72, -87.33, -103.97, -89.4, 1.0, -1.0], dtype=BF16)
    near = [edges]
    up, down = edges.copy(), edges.copy()
    for _ in range(4):
        up = np.nextafter(up, np.array(np.inf, BF16))
        down = np.nextafter(down, np.array(-np.inf, BF16))
        near += [up, down]
    tiny = np.array([9.183549615799121e-41, -9.183549615799121e-41, 1.1754943508222875e-38], dtype=BF16)
    pts = np.concatenate([ALL_BF16[::16], *near, tiny])
    with np.errstate(invalid="ignore"):
        return pts[np.isfinite(pts.astype(np.float32))]


@mpmath.workprec(200)
def test_round_bf16_agrees_with_closed_forms():
    assert round_bf16(mpmath.mpf(1) + mpmath.mpf(2) ** -8) == 1.0                 # a tie: to even
    assert round_bf16(mpmath.mpf(1) + 3 * mpmath.mpf(2) ** -8) == 1 + 2**-6        # a tie: to even, upwards
    assert round_bf16(mpmath.mpf(1) + mpmath.mpf(2) ** -8 + mpmath.mpf(2) ** -60) == 1 + 2**-7
    assert round_bf16(BF16_TINY / 2) == 0.0 and round_bf16(BF16_TINY * 0.75) == 2.0**-133
    assert round_bf16(BF16_MAX + mpmath.mpf(2) ** 119) == float("inf")            # max + ulp/2 overflows
    assert round_bf16(-BF16_MAX - mpmath.mpf(2) ** 118) == -float(BF16_MAX)


def test_telu_on_bfloat16_is_correctly_rounded():
    x = _points()
    before = x.copy()
    y, dy = al.get("telu").evaluate(x, (0, 1))
    assert y.dtype == BF16 and dy.dtype == BF16
    assert np.array_equal(x.view(np.uint16), before.view(np.uint16))      # the input is not modified
    f, df = mp_telu(x.astype(np.float64))
    for got, exact in ((y, f), (dy, df)):
        want = np.array([round_bf16(v) for v in exact], dtype=np.float64).astype(BF16)
        dist = ulp_distance(got, want)
        assert np.all(dist <= 1)
        # correctly rounded except where the exact value is within 2^-40 (relative) of a tie
        off = np.flatnonzero(dist != 0)
        for i in off:
            v = exact[i]
            lo = mpmath.mpf(float(got[i].astype(np.float64)))
            hi = mpmath.mpf(float(want[i].astype(np.float64)))
            assert abs(v - (lo + hi) / 2) <= abs(v) * mpmath.mpf(2) ** -40, (x[i], got[i], want[i])
        assert off.size <= 0.001 * x.size


def test_bfloat16_special_values():
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 2.0**-133, -(2.0**-133), 3.0e38, -3.0e38], dtype=BF16)
    y, dy = al.get("telu").evaluate(x, (0, 1))
    y64, dy64 = y.astype(np.float64), dy.astype(np.float64)
    assert y64[0] == np.inf and y64[1] == 0 and np.signbit(y64[1]) and np.isnan(y64[2])
    assert y64[3] == 0 and not np.signbit(y64[3]) and y64[4] == 0 and np.signbit(y64[4])
    # TeLU(±2^-133) = ±2^-133·tanh(1) ≈ ±0.76·2^-133: rounds to ±2^-133
    assert y64[5] == 2.0**-133 and y64[6] == -(2.0**-133)
    assert y64[7] == float(np.array(3.0e38, dtype=BF16).astype(np.float64)) and y64[8] == 0 and np.signbit(y64[8])
    assert dy64[0] == 1.0 and dy64[1] == 0 and np.isnan(dy64[2])
    assert dy64[3] == dy64[4] == round_bf16(mpmath.tanh(1))


def test_bfloat16_scalars_lists_and_masked_arrays():
    telu = al.get("telu")
    s = telu.evaluate(ml_dtypes.bfloat16(1.0))
    assert isinstance(s, ml_dtypes.bfloat16) and float(s) == round_bf16(mpmath.tanh(mpmath.e))
    m = np.ma.MaskedArray(np.array([1.0, 2.0], dtype=BF16), mask=[False, True])
    out = telu.evaluate(m)
    assert out.dtype == BF16 and out.mask.tolist() == [False, True]


def test_bfloat16_large_array_matches_the_accurate_path():
    # arrays of 4096 elements and more take the fused block path; small ones the accurate path
    telu = al.get("gelu")
    with np.errstate(invalid="ignore"):
        finite = ALL_BF16[np.isfinite(ALL_BF16.astype(np.float32))]
    big = telu.evaluate(finite, (0, 1))
    small = [np.concatenate([telu.evaluate(finite[i:i + 1000], k) for i in range(0, finite.size, 1000)])
             for k in (0, 1)]
    for a, b in zip(big, small, strict=True):
        assert a.dtype == BF16 and np.array_equal(a.view(np.uint16), b.view(np.uint16))


def test_ulp_of_bfloat16_against_closed_forms():
    assert ulp(np.array([1.0, 1.5, 2.0, 2.0**-126, 2.0**-130, 0.0]), "bfloat16").tolist() == \
        [2.0**-7, 2.0**-7, 2.0**-6, 2.0**-133, 2.0**-133, 2.0**-133]
    got = np.array([1.0, 1.0], dtype=BF16)
    assert ulp_error(got, np.array([1 + 2**-8, 1 + 2**-7])).tolist() == [0.5, 1.0]
    assert ulp_error(np.array([np.inf], dtype=BF16), 3.5e38).tolist() == [0.0]    # beyond max + ulp/2
    assert ulp_error(np.array([np.inf], dtype=BF16), 3.3e38).tolist() == [np.inf]


def test_ulp_distance_orders_bfloat16_bits():
    one = np.array(1.0, dtype=BF16)
    after = np.nextafter(one, np.array(2.0, dtype=BF16))
    assert float(after) == 1 + 2**-7 and ulp_distance(one, after) == 1
    tiny = np.array([2.0**-133], dtype=BF16)
    assert ulp_distance(tiny, -tiny).tolist() == [2.0]                               # across zero
    assert ulp_distance(np.array([0.0], BF16), np.array([-0.0], BF16)).tolist() == [0.0]
    two = np.array([2.0], dtype=BF16)
    below = np.nextafter(two, np.array([0.0], dtype=BF16))
    assert ulp_distance(two, below).tolist() == [1.0] and float(below[0]) == 2 - 2**-7
    assert ulp_distance(np.array([-1.0], BF16), np.array([1.0], BF16)).tolist() == [2 * 16256.0]
    assert np.isnan(ulp_distance(np.array([np.nan], BF16), np.array([1.0], BF16))[0])
    with pytest.raises(TypeError):
        ulp_distance(np.array([1.0], BF16), np.array([1.0], np.float16))


def test_accuracy_report_in_bfloat16():
    r = accuracy("telu", 1, "bfloat16")
    assert r.dtype == "bfloat16" and r.passed and r.max_ulp <= 0.5 + 2.0**-30 and r.count > 1000

    def one_ulp_high(x):
        return np.nextafter(al.get("telu").evaluate(x), np.array(np.inf, dtype=BF16))

    bad = accuracy("telu", 0, "bfloat16", points=[0.5, 1.0], implementation=one_ulp_high)
    assert 0.5 <= bad.max_ulp <= 1.5


@pytest.mark.parametrize("name", ["telu", "gelu", "mish"])
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_every_16_bit_input_within_half_an_ulp(name, dtype):
    for n in (0, 1):
        r = exhaustive(name, n, dtype=dtype, workers=1, progress=False)
        assert r.complete and r.count == 2**16 and r.dtype == dtype
        assert r.passed and r.within(0.5) == r.finite and r.n_signed_zero_mismatches == 0
        assert r.reference_ok


def test_every_64th_bfloat16_telu_is_mpmath_rounded():
    """evaluate gives mpmath's value rounded here at every 64th bfloat16 (zeros compared without sign:
    mpmath has no −0)."""
    x = ALL_BF16[::64]
    with np.errstate(invalid="ignore"):
        x = x[np.isfinite(x.astype(np.float32))]
    f, _ = mp_telu(x.astype(np.float64))
    want = np.array([round_bf16(v) for v in f]).astype(BF16)
    got = al.get("telu").evaluate(x)
    assert np.array_equal(got.view(np.uint16) & 0x7FFF, want.view(np.uint16) & 0x7FFF)


def test_planted_bfloat16_error_found():
    def planted(x):
        y = al.get("telu").evaluate(x)
        return np.where(x.astype(np.float32) == 1.0, np.nextafter(y, np.array(np.inf, BF16)), y).astype(BF16)

    r = exhaustive("telu", 0, implementation=planted, dtype="bfloat16", workers=1, progress=False)
    assert r.worst[0].x == 1.0 and 0.5 < r.max_ulp < 1.5 and r.passed        # within 4 ULP: still met


def test_cli_exhaustive_16_bit(tmp_path, capsys):
    assert main(["check", "telu", "--dtype", "float16,bfloat16", "--exhaustive", "--order", "0,1", "--json",
                 "--out", str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {(r["n"], r["dtype"]): r for r in data["rows"]}
    assert set(rows) == {(0, "float16"), (0, "bfloat16"), (1, "float16"), (1, "bfloat16")}
    assert all(r["count"] == 2**16 and r["passed"] for r in rows.values())
    assert (tmp_path / "check-exhaustive-telu-0-bfloat16.json").exists()


def test_cli_sweep_bfloat16(capsys):
    assert main(["check", "telu", "--dtype", "bfloat16", "--order", "0", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "bfloat16" in out and "NOT met" not in out


def test_import_does_not_load_ml_dtypes():
    import subprocess
    import sys

    code = "import sys, activation_lab; sys.exit(int('ml_dtypes' in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
