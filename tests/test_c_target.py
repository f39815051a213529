"""The C source of the CuPy kernel, compiled here with gcc, against the NumPy backend.

The kernel's ``operation`` text is pasted unchanged into a C loop (as CuPy pastes it into a
CUDA loop), built into a shared library in a temporary directory and called through ctypes.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest

import activation_lab as al
from activation_lab.numeric.c_target import KernelSourceError, c_kernel

from .conftest import sweep_points

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed: cannot compile the C kernel")

C_TYPE = {"float16": "_Float16", "float32": "float", "float64": "double"}

# float32/float16: both compute in double and round once, so they may differ only where a
# libm difference of an ULP of double sits on a rounding boundary: at most 1 ULP (or the
# cancellation allowance below, near a root).
MAX_ULP = {"float16": 1, "float32": 1, "float64": 0}
# float64: glibc and NumPy/SciPy exp, tanh, erfc differ by an ULP or two.  A relative
# difference δ in an intermediate moves f⁽ⁿ⁾ by about δ·|x·f⁽ⁿ⁺¹⁾(x)| (TeLU's e^x·sech²(e^x)
# near x ≈ 6) or by δ·Σ|terms| where the terms of a sum cancel (near a root of f⁽ⁿ⁾):
# allowed |C − NumPy| ≤ 16ε·(|f⁽ⁿ⁾| + |x·f⁽ⁿ⁺¹⁾| + Σ|terms|).  Beyond that, mpmath decides.
EPS_FACTOR = 16


def _compile(kernel, tmp_path):
    """The kernel as a C function run(x, n, y0, y1, ...) loaded with ctypes."""
    outs = ", ".join(f"{C_TYPE[kernel.out_dtype]}* out{i}" for i in range(len(kernel.orders)))
    declare = " ".join(f"{C_TYPE[kernel.out_dtype]} y{i};" for i in range(len(kernel.orders)))
    store = " ".join(f"out{i}[i] = y{i};" for i in range(len(kernel.orders)))
    source = (f"{kernel.preamble}\n"
              f"void run(const {C_TYPE[kernel.in_dtype]}* xs, long n, {outs}) {{\n"
              f"  for (long i = 0; i < n; ++i) {{\n"
              f"    const {C_TYPE[kernel.in_dtype]} x_in = xs[i];\n    {declare}\n"
              f"{kernel.operation}\n    {store}\n  }}\n}}\n")
    c_file = tmp_path / f"{kernel.name}.c"
    so_file = tmp_path / f"{kernel.name}.so"
    c_file.write_text(source)
    # -ffp-contract=off: no fused multiply-add, as the CuPy backend compiles with --fmad=false
    subprocess.run(["gcc", "-std=c11", "-O2", "-ffp-contract=off", "-fno-fast-math", "-Wall", "-Werror",
                    "-fPIC", "-shared", "-o", str(so_file), str(c_file), "-lm"], check=True, capture_output=True)
    lib = ctypes.CDLL(str(so_file))

    def run(x):
        x = np.ascontiguousarray(x, dtype=kernel.in_dtype)
        ys = [np.empty(x.shape, dtype=kernel.out_dtype) for _ in kernel.orders]
        lib.run(x.ctypes.data_as(ctypes.c_void_p), ctypes.c_long(x.size),
                *[y.ctypes.data_as(ctypes.c_void_p) for y in ys])
        return ys

    return run


def _ordered(y: np.ndarray) -> np.ndarray:
    """Float bit patterns as integers increasing with the value (±0 both map to 0)."""
    width = {2: np.int16, 4: np.int32, 8: np.int64}[y.dtype.itemsize]
    bits = y.view(width).astype(np.int64)
    top = np.int64(1) << (8 * y.dtype.itemsize - 1)
    return np.where(bits < 0, -(bits + top), bits)


def _points(dtype, count):
    info = np.finfo(dtype)
    extremes = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, info.smallest_subnormal, -info.smallest_subnormal,
                         info.smallest_subnormal * 3, info.tiny, -info.tiny, info.max, -info.max], dtype=dtype)
    return np.concatenate([sweep_points(dtype, count), extremes])


def _term_scale(act, k: int, x: np.ndarray) -> np.ndarray:
    """Σ|terms| of the stable form of f⁽ᵏ⁾ at x (the size of what cancels in the sum)."""
    import sympy as sp

    from activation_lab.numeric.codegen import compile_numpy
    from activation_lab.numeric.rewrite import stable_derivative

    def abs_terms(e):
        if isinstance(e, sp.Piecewise):
            return sp.Piecewise(*[(abs_terms(v), c) for v, c in e.args])
        return sp.Add(*[sp.Abs(t) for t in sp.Add.make_args(e)])

    with np.errstate(all="ignore"):
        return np.nan_to_num(np.broadcast_to(compile_numpy(abs_terms(stable_derivative(act.expr, k)))(x), x.shape),
                             nan=0.0)


def _disagreements(got: np.ndarray, want: np.ndarray, x: np.ndarray, next_order: np.ndarray, terms) -> np.ndarray:
    """Mask of the points where the C kernel and the NumPy backend disagree beyond the tolerance."""
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


def _check(act, k, got, want, x, next_order, label):
    """C and NumPy agree, or else C is the more accurate of the two (against mpmath) at every point.

    (NumPy's scipy-based expit and erfc flush to 0 below x ≈ −709 and beyond erfc ≈ 1e-308, where
    glibc and the kernel's expit keep the subnormal result.)  Where the exact result is subnormal,
    each subnormal intermediate is off by up to half a spacing, and the formula multiplies it by
    coefficients such as x²/2 (GELU″) or x³ (GELU-tanh): there C may be up to twice as far off
    as NumPy, or (1 + |x|)² spacings more.
    """
    from activation_lab.analysis.ulp import split_exact, ulp_error
    from activation_lab.numeric.mpmath_target import reference

    terms = _term_scale(act, k, x.astype(np.float64))
    with np.errstate(over="ignore"):  # beyond float32's range rounds to inf, as in the backend
        want = want.astype(got.dtype)
    bad = np.flatnonzero(_disagreements(got, want, x, next_order, terms))
    assert bad.size <= x.size // 50, f"{label}: C and NumPy disagree at {bad.size} points, e.g. x = {x[bad[:5]]}"
    if bad.size == 0:
        return
    finite = np.isfinite(x[bad])
    assert finite.all(), f"{label}: C and NumPy disagree at x = {x[bad][~finite]}"
    fn = act.mpmath(k)
    hi, lo = split_exact([reference(fn, float(v)) for v in x[bad]])
    err_c = ulp_error(got[bad], hi, lo)
    err_np = ulp_error(want[bad], hi, lo)
    subnormal = np.abs(hi) < np.finfo(got.dtype).tiny
    slack = np.maximum(2 * err_np, err_np + (1 + np.abs(x[bad].astype(np.float64))) ** 2)
    worse = err_c > np.where(subnormal, slack, np.maximum(err_np, 1.0))
    i = int(np.argmax(np.where(worse, err_c, -1.0)))
    assert not worse.any(), (f"{label}: at x = {x[bad][i]!r} C gives {got[bad][i]!r} ({err_c[i]:.3g} ULP), "
                             f"NumPy {want[bad][i]!r} ({err_np[i]:.3g} ULP), exact {hi[i]!r}")


ORDERS = (0, 1, 2)


@pytest.mark.parametrize("name", al.names())
def test_c_kernel_matches_numpy_backend(name, tmp_path):
    act = al.get(name)
    for dtype, count in (("float64", 100_000), ("float32", 30_000)):
        x = _points(dtype, count)
        kernel = c_kernel(act.expr, ORDERS, dtype)
        got = _compile(kernel, tmp_path)(x)
        want = act.evaluate(x.astype(np.float64), n=(*ORDERS, ORDERS[-1] + 1))
        for k, g in zip(ORDERS, got):
            assert g.dtype == np.dtype(dtype)
            _check(act, k, g, want[k], x, want[k + 1], f"{name} f^({k}) {dtype}")


@pytest.mark.parametrize("name", ["telu", "gelu", "relu6"])
def test_float16_output_is_rounded_once(name, tmp_path):
    """Every float16 input: where the kernel's double equals NumPy's, its half is NumPy's
    float64 → float16 rounding bit for bit (no double rounding through float)."""
    act = al.get(name)
    x = np.arange(2**16, dtype=np.uint16).view(np.float16)
    halves = _compile(c_kernel(act.expr, (0, 1), "float16"), tmp_path)(x)
    doubles = _compile(c_kernel(act.expr, (0, 1), "float16", "float64"), tmp_path)(x)
    want = act.evaluate(x.astype(np.float64), n=(0, 1, 2))
    for k, (h, d) in enumerate(zip(halves, doubles)):
        assert h.dtype == np.float16
        _check(act, k, h, want[k], x, want[k + 1], f"{name} f^({k}) float16")
        same = (d == want[k]) & ~np.isnan(d)
        assert same.mean() > 0.5  # libms differ by an ULP of double at some points, not most
        with np.errstate(over="ignore"):
            assert np.array_equal(h[same].view(np.uint16), want[k][same].astype(np.float16).view(np.uint16))


def test_integer_input_gives_float64(tmp_path):
    act = al.get("telu")
    x = np.arange(-800, 800, 7, dtype=np.int32)
    kernel = c_kernel(act.expr, (0, 1), "int32")
    assert kernel.out_dtype == "float64"
    C_TYPE["int32"] = "int"
    try:
        got = _compile(kernel, tmp_path)(x)
    finally:
        del C_TYPE["int32"]
    want = act.evaluate(x, n=(0, 1, 2))
    for k, g in enumerate(got):
        _check(act, k, g, want[k], x.astype(np.float64), want[k + 1], "telu int32")


def test_kernel_source_shares_subexpressions():
    source = c_kernel(al.get("telu").expr, (0, 1), "float32").operation
    fast = source.split("} else {", 1)[1].split("if (isnan", 1)[0]
    assert fast.count("exp(x)") == 1 and fast.count("tanh(") == 1  # e^x and tanh(e^x) computed once for f and f'


def test_unprintable_expression_is_a_clear_error():
    import sympy as sp

    from activation_lab.symbolic.parsing import X

    with pytest.raises(KernelSourceError, match="C/CuPy target cannot print"):
        c_kernel(sp.besselj(0, X) * X, (0,), "float64")
    with pytest.raises(KernelSourceError, match="output dtype"):
        c_kernel(X, (0,), "float64", "int32")
