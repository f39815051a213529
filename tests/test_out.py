"""``out=``: results written into the caller's arrays, bit for bit what a fresh call returns."""

from __future__ import annotations

import numpy as np
import pytest

import activation_lab as al
from activation_lab.errors import ActivationLabError
from activation_lab.numeric.fused import BLOCK

from ._agreement import points


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a.view(np.uint8), b.view(np.uint8))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("size", [1000, 3 * BLOCK + 17])  # the plain path, and the fused one over blocks
def test_out_matches_a_fresh_call(dtype, size):
    act = al.get("telu")
    x = np.resize(points(dtype, size), size)  # ±0, ±inf, nan and extremes included
    kept = x.copy()
    want = act.evaluate(x, n=(0, 1, 2))
    outs = tuple(np.full(x.shape, 7, dtype=dtype) for _ in range(3))
    got = act.evaluate(x, n=(0, 1, 2), out=outs)
    assert all(g is o for g, o in zip(got, outs, strict=True))
    assert all(_same_bits(g, w) for g, w in zip(got, want, strict=True))
    assert _same_bits(x, kept)


def test_single_order_and_shapes():
    act = al.get("gelu")
    x = np.linspace(-6, 6, 2 * BLOCK, dtype=np.float32).reshape(BLOCK, 2)
    y = np.empty_like(x)
    assert act.evaluate(x, n=1, out=y) is y and _same_bits(y, act.evaluate(x, n=1))
    # strided outputs (the columns of one array) are filled too
    both = np.empty((2 * BLOCK, 2), dtype=np.float32)
    f, df = act.evaluate(x.ravel(), n=(0, 1), out=[both[:, 0], both[:, 1]])
    assert _same_bits(both[:, 0].copy(), act.evaluate(x.ravel(), n=0))
    assert _same_bits(both[:, 1].copy(), act.evaluate(x.ravel(), n=1))
    # numbers and integer arrays: the result dtype is float64
    z = np.empty(())
    assert act.evaluate(1.5, n=1, out=z) is z and float(z) == act.evaluate(1.5, n=1)
    ints = np.arange(-5000, 5000)
    w = np.empty(ints.shape)
    assert _same_bits(act.evaluate(ints, out=w), act.evaluate(ints))


@pytest.mark.parametrize("bad, message", [
    (lambda x: np.empty(3, np.float32), "out= needs 2 arrays"),
    (lambda x: (np.empty_like(x),), "out= needs 2 arrays"),
    (lambda x: (np.empty_like(x), np.empty(x.shape)), "this call needs shape .* and dtype float32"),
    (lambda x: (np.empty_like(x), np.empty(x.size + 1, np.float32)), "this call needs shape"),
    (lambda x: (x, np.empty_like(x)), "shares memory with the input"),
    (lambda x: (x[::-1], np.empty_like(x)), "shares memory with the input"),
    (lambda x: (np.empty_like(x),) * 2, "share memory with each other"),
    (lambda x: (np.empty_like(x), [0.0] * x.size), "must be of the input's type ndarray"),
])
def test_bad_out_is_a_clear_error(bad, message):
    x = np.linspace(-3, 3, 5000, dtype=np.float32)
    kept = x.copy()
    with pytest.raises(ActivationLabError, match=message):
        al.get("telu").evaluate(x, n=(0, 1), out=bad(x))
    assert _same_bits(x, kept)


def test_read_only_out_is_refused():
    x = np.linspace(-3, 3, 5000)
    y = np.empty_like(x)
    y.flags.writeable = False
    with pytest.raises(ActivationLabError, match="read-only"):
        al.get("telu").evaluate(x, out=y)


def test_array_api_arrays_take_no_out():
    xp = pytest.importorskip("array_api_strict")
    x = xp.asarray([0.0, 1.0])
    with pytest.raises(ActivationLabError, match="out= is supported for NumPy and CuPy arrays"):
        al.get("telu").evaluate(x, out=xp.asarray([0.0, 0.0]))
