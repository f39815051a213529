"""Native CPU kernels for float32 (activation_lab.numeric.native), built here with the C compiler.

Checked against the NumPy backend's double code (within an ULP where a libm difference of an
ULP of double meets a float32 rounding boundary, else mpmath decides), against the accurate
path at special inputs, and for the machinery: cache, fallbacks, switches.
"""

from __future__ import annotations

import ctypes.util
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import activation_lab as al
from activation_lab.numeric import native
from activation_lab.numeric.evaluate import signed_zeros
from activation_lab.numeric.fused import evaluate_fused

from ._agreement import check, numpy_double, points
from .conftest import sweep_points

HAVE_TOOLS = bool(sys.platform.startswith("linux") and shutil.which("gcc") and ctypes.util.find_library("mvec"))
pytestmark = pytest.mark.skipif(not HAVE_TOOLS,
                                reason="needs Linux with gcc and glibc's libmvec to build native kernels")


@pytest.fixture(autouse=True)
def native_on(monkeypatch):
    monkeypatch.delenv(native.NATIVE_ENV, raising=False)


@pytest.fixture
def fresh_cache(monkeypatch, tmp_path):
    """An empty kernel cache of this test's own, and no kernels remembered in the process."""
    monkeypatch.setenv("ACTIVATION_LAB_CACHE", str(tmp_path / "cache"))
    native._kernel.cache_clear()
    yield tmp_path / "cache" / "native"
    native._kernel.cache_clear()


def _ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ia, ib = a.view(np.int32).astype(np.int64), b.view(np.int32).astype(np.int64)
    ia = np.where(ia < 0, -(ia & 0x7FFFFFFF), ia)
    ib = np.where(ib < 0, -(ib & 0x7FFFFFFF), ib)
    return np.abs(ia - ib)


def test_kernel_builds_here_and_is_vectorised():
    kernel = native.native_kernel(al.get("telu").expr, (0, 1))
    assert kernel is not None, native.status(al.get("telu").expr)
    assert "#pragma omp simd" in kernel.source and "declare simd" in kernel.source
    with open(kernel.path, "rb") as f:
        assert b"_ZGV" in f.read()  # calls libmvec's vector variants, not scalar libm
    assert "native kernels for float32" in native.status(al.get("telu").expr)


@pytest.mark.parametrize("name", al.names())
def test_agrees_with_numpy_backend(name):
    """≥ 10⁵ float32 points with the extremes, every catalogue activation, f, f′ and f″."""
    act = al.get(name)
    orders = (0, 1, 2)
    assert native.native_kernel(act.expr, orders) is not None, native.status(act.expr)
    x = points("float32", 100_000)
    got = evaluate_fused(act, x, orders, threads=2)
    want = numpy_double(act, x, (*orders, 3))
    for k in orders:  # underflowed tails take the sign of their limit, as on every NumPy path
        signed_zeros(act.expr, k, x.astype(np.float64), want[k])
    for k, g in zip(orders, got, strict=True):
        assert g.dtype == np.float32
        check(act, k, g, want[k], x, want[k + 1], f"{name} f^({k}) native float32")


@pytest.mark.parametrize("name", ["telu", "silu", "gelu", "mish", "elu", "softplus", "sigmoid", "tanh"])
def test_special_inputs_as_the_accurate_path(name):
    """±0, ±inf, nan, subnormals, float32's max and the exp overflow/underflow edges: exactly the
    accurate path's value wherever that is not finite-and-nonzero, within an ULP elsewhere."""
    act = al.get(name)
    info = np.finfo(np.float32)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, info.smallest_subnormal, -info.smallest_subnormal,
                        info.tiny, -info.tiny, info.max, -info.max, 88.72283, 88.72284, -87.33655, -103.97208,
                        -104.0, -200.0, -1e4, 1e4], dtype=np.float32)
    x = np.concatenate([special, sweep_points("float32", 5000, seed=7)])
    got = evaluate_fused(act, x, (0, 1), native=True)
    want = evaluate_fused(act, x, (0, 1), native=False)  # bit for bit the accurate path
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        exact = ~np.isfinite(w) | (w == 0) | ~np.isfinite(x)
        same = np.array_equal(g[exact].view(np.int32), w[exact].view(np.int32))
        assert same, (name, k, x[exact][g[exact] != w[exact]])
        assert _ulps(g[~exact], w[~exact]).max() <= 1, (name, k)


def test_kernel_reports_the_fix_ups_each_block_needs():
    """The loop's result bits: a non-finite x, a nan result, and per output a zero; they decide
    which elements the caller recomputes, so a missed bit would leave a wrong value."""
    kernel = native.native_kernel(al.get("telu").expr, (0, 1))

    def bits(values):
        x = np.array(values, dtype=np.float32)
        return kernel.run(x, [np.empty_like(x), np.empty_like(x)])

    assert bits([0.5, -1.0, 2.0]) == 0
    assert bits([0.5, np.inf]) & native.NONFINITE_X
    assert bits([0.5, np.nan]) & native.NONFINITE_X and bits([0.5, np.nan]) & native.NAN_RESULT
    assert bits([0.5, 0.0]) == native.ZERO_RESULT  # TeLU(0) = 0; TeLU'(0) = tanh(1)
    assert bits([-200.0, 0.5]) == native.ZERO_RESULT | native.ZERO_RESULT << 1  # both underflow
    # the first element of a vector, the last of a remainder loop: none is skipped
    for i in (0, 13, 64, 99):
        x = np.full(100, 0.5, dtype=np.float32)
        x[i] = np.nan
        assert kernel.run(x, [np.empty_like(x), np.empty_like(x)]) & native.NAN_RESULT, i


def test_nearly_always_bit_for_bit_the_accurate_path():
    """Both compute in double and round once: they differ only where a double-ULP difference sits
    on a float32 rounding boundary (about 2⁻²⁹ of the points, a few at most here)."""
    act = al.get("telu")
    x = np.random.default_rng(11).standard_normal(300_000).astype(np.float32) * 4
    for g, w in zip(evaluate_fused(act, x, (0, 1)), evaluate_fused(act, x, (0, 1), native=False), strict=True):
        assert np.count_nonzero(g != w) <= 3 and _ulps(g, w).max() <= 1


def test_input_untouched_layouts_and_byte_order():
    act = al.get("gelu")
    base = (np.random.default_rng(2).standard_normal((400, 90)) * 20).astype(np.float32)
    base.flags.writeable = False
    kept = base.copy()
    flat = base.ravel()
    cases = {"2-D": base, "strided": base[::3, 1::2], "Fortran": np.asfortranarray(base),
             "big-endian": base.astype(">f4"), "empty": np.empty((0, 3), np.float32),
             # 1-d views stay strided under reshape: the native loop must not read them as contiguous
             "1-d step 3": flat[::3], "reversed": flat[::-1], "column": base[:, 7],
             "broadcast": np.broadcast_to(flat[5:6], (20000,))}
    for label, x in cases.items():
        got = evaluate_fused(act, x, (0, 1))
        # expected: the NumPy double code on a contiguous copy, rounded once
        want = [w.astype(np.float32) for w in numpy_double(act, np.ascontiguousarray(x, np.float64), (0, 1))]
        for g, w in zip(got, want, strict=True):
            assert g.shape == x.shape and g.dtype.name == "float32", label
            assert g.size == 0 or _ulps(np.ascontiguousarray(g).ravel(), w.ravel()).max() <= 1, label
    assert np.array_equal(base, kept)


def test_switched_off_by_environment(monkeypatch):
    act = al.get("telu")
    x = sweep_points("float32", 6000, seed=3)
    monkeypatch.setenv(native.NATIVE_ENV, "0")
    assert native.native_kernel(act.expr, (0, 1)) is None
    assert "off" in native.status()
    got = evaluate_fused(act, x, (0, 1))
    want = evaluate_fused(act, x, (0, 1), native=False)
    assert all(np.array_equal(g.view(np.int32), w.view(np.int32)) for g, w in zip(got, want, strict=True))


def test_cache_is_written_once_and_reused(fresh_cache, monkeypatch):
    act = al.define("x*tanh(exp(x)) + x/7")  # a kernel no other test builds
    kernel = native.native_kernel(act.expr, (0, 1))
    assert kernel is not None
    files = sorted(p.name for p in fresh_cache.iterdir())
    name = kernel.path.rsplit("/", 1)[1]
    # the library and its record only: no sources, no build folders
    assert files == [name.replace(".so", ".json"), name]
    native._kernel.cache_clear()

    def no_compiler(*args, **kwargs):
        raise AssertionError("the cached library should have been used")

    monkeypatch.setattr(native.subprocess, "run", no_compiler)
    again = native.native_kernel(act.expr, (0, 1))
    assert again is not None and again.path == kernel.path
    x = sweep_points("float32", 5000, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(evaluate_fused(act, x, (0, 1)),
                                                     evaluate_fused(act, x, (0, 1)), strict=True))


def test_one_source_for_two_orders_gives_two_kernels(fresh_cache, capsys):
    """exp(x) has one kernel source for f and f′; both kernels had one library name, so the second
    could not be loaded beside the first ("does not load as it" on stderr, NumPy blocks instead)
    and each alternation rebuilt the library."""
    act = al.get("exponential")
    assert act.expr == al.define("exp(x)").expr
    first, second = native.native_kernel(act.expr, (0,)), native.native_kernel(act.expr, (1,))
    assert first is not None and second is not None, native.status(act.expr)
    assert first.source == second.source and first.path != second.path
    x = sweep_points("float32", 5000, seed=11)
    x = x[np.isfinite(x) & (x < 80)]
    with np.errstate(over="ignore"):
        want = np.exp(x.astype(np.float64)).astype(np.float32)
    for orders in ((0,), (1,), (0,), (1,)):
        (y,) = evaluate_fused(act, x, orders, native=True)
        assert np.max(_ulps(y, want)) <= 1, orders
    assert "does not load" not in capsys.readouterr().err


def test_unwritable_cache_builds_in_a_temporary_folder(monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("ACTIVATION_LAB_CACHE", str(blocker))
    native._kernel.cache_clear()
    try:
        kernel = native.native_kernel(al.define("x*exp(-x*x/3)").expr, (0, 1))
        assert kernel is not None and not kernel.path.startswith(str(blocker))
        assert blocker.read_text() == "a file where the cache folder would go"
    finally:
        native._kernel.cache_clear()


def test_temporary_build_folder_is_removed_at_exit(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "ACTIVATION_LAB_CACHE": str(blocker), "TMPDIR": str(scratch)}
    code = ("import numpy as np, activation_lab as al; from activation_lab.numeric import native; "
            "k = native.native_kernel(al.define('x*exp(-x*x/5)').expr, (0, 1)); print(k.path)")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(scratch))     # it did build in a temporary folder
    assert list(scratch.iterdir()) == []                     # and removed it when the process ended
    assert blocker.read_text() == "a file where the cache folder would go"


def test_failed_build_falls_back_to_numpy_blocks(fresh_cache, monkeypatch):
    act = al.get("telu")
    monkeypatch.setattr(native, "_compiler", lambda: (shutil.which("false") or "/bin/false", "a compiler that fails"))
    assert native.native_kernel(act.expr, (0, 1)) is None
    assert "build failed" in native.status(act.expr)
    x = sweep_points("float32", 6000, seed=9)
    got = evaluate_fused(act, x, (0, 1))
    want = evaluate_fused(act, x, (0, 1), native=False)
    assert all(np.array_equal(g.view(np.int32), w.view(np.int32)) for g, w in zip(got, want, strict=True))
    assert not list(fresh_cache.glob(".build-*"))  # the failed build leaves nothing behind


def test_float32_tanh_and_sech_helpers_against_mpmath(tmp_path):
    """The float32-only helpers (tanh, sech, sech² from one exp) to 2⁻³⁵ relative, at every scale."""
    import mpmath

    from activation_lab.numeric.c_target import C_PREAMBLE
    from activation_lab.numeric.native import _FLAGS, _LIBS

    source = "#include <math.h>\n" + C_PREAMBLE + """
void run(long n, const double *u, double *t, double *s, double *s2) {
    for (long i = 0; i < n; i++) { t[i] = al_tanh_f32(u[i]); s[i] = al_sech_f32(u[i]); s2[i] = al_sech2_f32(u[i]); }
}
"""
    (tmp_path / "h.c").write_text(source)
    import subprocess

    subprocess.run(["gcc", *_FLAGS, "-o", str(tmp_path / "h.so"), str(tmp_path / "h.c"), *_LIBS], check=True)
    lib = ctypes.CDLL(str(tmp_path / "h.so"))
    rng = np.random.default_rng(4)
    u = np.concatenate([np.exp2(rng.uniform(-40, 8, 3000)) * rng.choice([-1, 1], 3000), [0.0, 2.0**-17, 3e-6]])
    t, s, s2 = (np.empty_like(u) for _ in range(3))
    ptr = lambda a: ctypes.c_void_p(a.ctypes.data)  # noqa: E731
    lib.run(ctypes.c_long(u.size), ptr(u), ptr(t), ptr(s), ptr(s2))
    with mpmath.workprec(120):
        for i in range(u.size):
            v = mpmath.mpf(float(u[i]))
            for got, exact in ((t[i], mpmath.tanh(v)), (s[i], mpmath.sech(v)), (s2[i], mpmath.sech(v) ** 2)):
                if exact == 0:
                    assert got == 0
                else:
                    assert abs((mpmath.mpf(float(got)) - exact) / exact) < mpmath.mpf(2) ** -35, (u[i], got)


def test_public_evaluate_on_one_dimensional_views():
    # closed forms: ReLU(x) = max(x, 0), and its derivative 1 for x > 0 and 0 for x < 0
    x = np.arange(-8192, 8192, dtype=np.float32) + np.float32(0.5)
    relu = al.get("relu")
    for view in (x.reshape(-1, 2)[:, 1], x[::-1], x[::7], np.broadcast_to(x[-1:], (9000,))):
        assert np.array_equal(relu.evaluate(view), np.maximum(view, 0))
        assert np.array_equal(relu.evaluate(view, n=1), (view > 0).astype(np.float32))
