"""The C source of the CuPy kernel, compiled here with gcc, against the NumPy backend.

The kernel's ``operation`` text is pasted unchanged into a C loop (as CuPy pastes it into a
CUDA loop), built into a shared library in a temporary directory and called through ctypes
(``tests/_gcc.py``).
"""

from __future__ import annotations

import numpy as np
import pytest

import activation_lab as al
from activation_lab.numeric.c_target import KernelSourceError, c_kernel

from ._agreement import check, numpy_double, points
from ._gcc import HAVE_GCC, kernel_function

pytestmark = pytest.mark.skipif(not HAVE_GCC, reason="gcc is not installed: cannot compile the C kernel")

ORDERS = (0, 1, 2)


@pytest.mark.parametrize("name", al.names())
def test_c_kernel_matches_numpy_backend(name, tmp_path):
    act = al.get(name)
    for dtype, count in (("float64", 100_000), ("float32", 30_000)):
        x = points(dtype, count)
        kernel = c_kernel(act.expr, ORDERS, dtype)
        got = kernel_function(kernel, tmp_path)(x)
        want = numpy_double(act, x, (*ORDERS, ORDERS[-1] + 1))
        for k, g in zip(ORDERS, got, strict=True):
            assert g.dtype == np.dtype(dtype)
            check(act, k, g, want[k], x, want[k + 1], f"{name} f^({k}) {dtype}")


@pytest.mark.parametrize("name", ["telu", "gelu", "relu6"])
def test_float16_output_is_rounded_once(name, tmp_path):
    """Every float16 input: where the kernel's double equals NumPy's, its half is NumPy's
    float64 → float16 rounding bit for bit (no double rounding through float)."""
    act = al.get(name)
    x = np.arange(2**16, dtype=np.uint16).view(np.float16)
    halves = kernel_function(c_kernel(act.expr, (0, 1), "float16"), tmp_path)(x)
    doubles = kernel_function(c_kernel(act.expr, (0, 1), "float16", "float64"), tmp_path)(x)
    want = numpy_double(act, x, (0, 1, 2))
    for k, (h, d) in enumerate(zip(halves, doubles, strict=True)):
        assert h.dtype == np.float16
        check(act, k, h, want[k], x, want[k + 1], f"{name} f^({k}) float16")
        same = (d == want[k]) & ~np.isnan(d)
        assert same.mean() > 0.5  # libms differ by an ULP of double at some points, not most
        with np.errstate(over="ignore"):
            assert np.array_equal(h[same].view(np.uint16), want[k][same].astype(np.float16).view(np.uint16))


def test_integer_input_gives_float64(tmp_path):
    act = al.get("telu")
    x = np.arange(-800, 800, 7, dtype=np.int32)
    kernel = c_kernel(act.expr, (0, 1), "int32")
    assert kernel.out_dtype == "float64"
    got = kernel_function(kernel, tmp_path)(x)
    want = numpy_double(act, x, (0, 1, 2))
    for k, g in enumerate(got):
        check(act, k, g, want[k], x.astype(np.float64), want[k + 1], "telu int32")


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


def test_kernel_orders_are_checked():
    from activation_lab.errors import ActivationLabError

    telu = al.get("telu").expr
    assert al.c_kernel(telu, [0, 1]).orders == (0, 1) and al.c_kernel(telu, 1).orders == (1,)
    for bad in [(-1,), (1.5,), (True,), (41,), ()]:
        with pytest.raises(ActivationLabError):
            al.c_kernel(telu, bad)
