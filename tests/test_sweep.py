"""Point sets: the default sweep of each format, and float32 space in chunks."""

import math

import mpmath
import numpy as np
import pytest

import activation_lab as al
from activation_lab.analysis.sweep import default_points, float32_chunks, float32_inputs, format_edges

DTYPES = ["float16", "float32", "float64"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_default_sweep_covers_the_format(dtype):
    pts = default_points(dtype)
    info = np.finfo(dtype)
    assert pts.dtype == np.dtype(dtype)
    finite = pts[np.isfinite(pts)]
    pos, neg = finite[finite > 0], -finite[finite < 0]
    for side in (pos, neg):
        # from the smallest subnormal to the overflow edge, no gap of more than two octaves
        assert side.min() == info.smallest_subnormal and side.max() == info.max
        gaps = np.diff(np.log2(np.sort(side).astype(np.float64)))
        assert gaps.max() <= 2.0
    assert np.count_nonzero(np.abs(finite) <= 1) >= 100                  # dense around 0
    tail = pts[-5:]                                                      # ±0, ±inf, nan last
    assert tail[0] == 0 and np.signbit(tail[0]) and tail[1] == 0 and not np.signbit(tail[1])
    assert tail[2] == -np.inf and tail[3] == np.inf and np.isnan(tail[4])
    assert np.array_equal(default_points(dtype), pts, equal_nan=True)    # deterministic


@pytest.mark.parametrize("dtype,point", [("float32", 88.72), ("float32", -87.33), ("float32", -103.97),
                                         ("float64", 709.78), ("float64", -745.1), ("float16", 11.09)])
def test_critical_points_with_neighbours(dtype, point):
    pts = default_points(dtype)
    v = np.array(point, dtype=dtype)
    want = [v]
    up = down = v
    for _ in range(8):
        up = np.nextafter(up, np.array(np.inf, dtype=dtype))
        down = np.nextafter(down, np.array(-np.inf, dtype=dtype))
        want += [up, down]
    assert set(np.array(want).tolist()) <= set(pts.tolist())


@pytest.mark.parametrize("dtype", DTYPES)
def test_format_edges_against_mpmath(dtype):
    info = np.finfo(dtype)
    want = [mpmath.log(float(info.max)), mpmath.log(float(info.smallest_normal)),
            mpmath.log(float(info.smallest_subnormal)), mpmath.log(float(info.smallest_subnormal) / 2)]
    for got, w in zip(format_edges(dtype), want, strict=True):
        assert abs(got - float(w)) <= 1e-12 * abs(float(w))
    # the computed edges are in the sweep with their neighbours
    pts = set(default_points(dtype).tolist())
    for e in format_edges(dtype):
        v = np.array(e, dtype=dtype)
        if np.isfinite(v):
            assert float(v) in pts


def test_float32_chunks_cover_the_range_exactly():
    chunks = float32_chunks(10, 1000, 64)
    assert chunks[0][0] == 10 and chunks[-1][1] == 1000
    assert all(a[1] == b[0] for a, b in zip(chunks[:-1], chunks[1:], strict=True))
    assert all(0 < hi - lo <= 64 for lo, hi in chunks)
    full = float32_chunks()
    assert len(full) == 2**32 // 2**22 and full[-1][1] == 2**32
    with pytest.raises(al.ActivationLabError, match="2\\*\\*32"):
        float32_chunks(0, 2**32 + 1)
    with pytest.raises(al.ActivationLabError, match="positive"):
        float32_chunks(0, 10, 0)


def test_float32_inputs_are_the_bit_patterns():
    x = float32_inputs(2**32 - 5, 2**32)
    assert x.dtype == np.float32 and np.all(np.isnan(x))                 # the top patterns are nans
    bits = np.arange(0x3F800000 - 3, 0x3F800000 + 3, dtype=np.uint32)
    got = float32_inputs(int(bits[0]), int(bits[-1]) + 1)
    assert np.array_equal(got.view(np.uint32), bits)
    assert got[3] == 1.0 and got[4] == np.nextafter(np.float32(1), np.float32(2))
    # 0x80000000 is -0.0, 0x7F800000 is +inf
    assert math.copysign(1, float(float32_inputs(0x80000000, 0x80000001)[0])) == -1
    assert float32_inputs(0x7F800000, 0x7F800001)[0] == np.inf


def test_bad_dtype():
    with pytest.raises(al.UnsupportedDtypeError):
        default_points("int32")
