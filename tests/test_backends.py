"""Backend choice by array type; the array-API code on array-api-strict; the CuPy backend.

Without a GPU the CuPy backend is run against a stand-in ``cupy`` module whose
``ElementwiseKernel`` compiles the kernel's C source with gcc: the parameter lists, the
outputs and the device handling are the real backend's.  The tests on a real GPU are in
``test_cupy.py``.
"""

from __future__ import annotations

import subprocess
import sys
import types

import numpy as np
import pytest

import activation_lab as al
from activation_lab.errors import ActivationLabError, UnsupportedDtypeError
from activation_lab.numeric import backends
from activation_lab.numeric.backends import BackendUnavailableError, backend_for, get_backend

from ._agreement import check, check_backend, numpy_double, points
from ._gcc import HAVE_GCC, build

xp = pytest.importorskip("array_api_strict")

ORDERS = (0, 1, 2)


@pytest.mark.parametrize("name", al.names())
def test_array_api_strict_matches_numpy_backend(name):
    check_backend(al.get(name), xp.asarray, np.asarray, 6000, "array-api", ORDERS)


def test_array_api_dtypes_and_input_untouched():
    act = al.get("gelu")
    x = xp.asarray(np.arange(-50, 50, dtype=np.int32))
    kept = np.asarray(x).copy()
    y = act.evaluate(x, n=1)
    assert y.dtype == xp.float64 and np.array_equal(np.asarray(x), kept)
    assert act.evaluate(xp.asarray([True, False]), n=0).dtype == xp.float64
    with pytest.raises(UnsupportedDtypeError):
        act.evaluate(xp.asarray([1 + 1j]))
    single = act.evaluate(xp.asarray([0.0, 1.0], dtype=xp.float32))
    assert single.dtype == xp.float32 and float(single[1]) == pytest.approx(0.8413447460685429, rel=1e-7)


def test_array_api_tail_zeros_carry_the_limit_sign():
    # TeLU'(-800) is a tiny negative number: it rounds to -0.0 (its sum of underflowed terms gave +0.0)
    for dtype in (xp.float32, xp.float64):     # the standard has no float16
        for name in ("telu", "silu", "gelu"):
            y = al.get(name).evaluate(xp.asarray([-800.0, -1e30], dtype=dtype), n=1)
            assert np.array_equal(np.signbit(np.asarray(y)), [True, True]), (name, dtype)
            assert float(np.abs(np.asarray(y)).max()) == 0.0


def test_array_api_constant_results():
    # 1e308 + 1e308 folds to an infinite constant; the generated source printed it as `inf`
    # (NameError) where NumPy gives inf (found by the cross-target property test)
    y0, y1 = al.define("x*(1e308 + 1e308)").evaluate(xp.asarray([1.0, -2.0]), n=(0, 1))
    assert np.array_equal(np.asarray(y0), [np.inf, -np.inf]) and np.array_equal(np.asarray(y1), [np.inf, np.inf])
    z = al.define("1e308 + 1e308 + x").evaluate(xp.asarray([0.5], dtype=xp.float32), n=0)
    assert z.dtype == xp.float32 and np.asarray(z)[0] == np.inf

    # a derivative that is a nan constant (d/dx 0**x) took the guarded path with a Python float
    # (AttributeError in array-api-strict); NumPy gives nan for every x
    y = al.define("ln(1)**x").evaluate(xp.asarray([0.5, -1.0, 0.0]), n=1)
    assert np.isnan(np.asarray(y)).all() and np.isnan(al.define("ln(1)**x").evaluate(np.array([0.5]), n=1)).all()


def test_array_api_leaves_warning_filters_alone_across_threads():
    import warnings
    from concurrent.futures import ThreadPoolExecutor

    act = al.get("telu")
    x = xp.asarray(np.linspace(-1000, 1000, 4001))      # e^x overflows: warned and handled inside
    before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: act.evaluate(x, n=(0, 1)), range(200)))
        after = list(warnings.filters)
    assert not [w for w in seen if issubclass(w.category, RuntimeWarning)]
    assert list(warnings.filters) == before and after[1:] == before   # only our "always" was added


def test_array_api_erfc_against_mpmath():
    """The standard has no erfc: ours (Chebyshev fits of erfcx, exact split of a²) stays within
    6 ULP up to the underflow at 26.6 (measured: ≤ 5; SciPy's erfc reaches ≈ 500 near 25)."""
    import mpmath

    from activation_lab.analysis.ulp import split_exact, ulp_error
    from activation_lab.numeric.xp_special import erf, erfc

    u = np.concatenate([np.linspace(-6, 27, 3001), np.geomspace(1e-300, 26, 500), -np.geomspace(1e-300, 1, 50)])
    with mpmath.workprec(200):
        exact_c = [mpmath.erfc(mpmath.mpf(float(v))) for v in u]
        exact = [mpmath.erf(mpmath.mpf(float(v))) for v in u]
    for fn, ref in ((erfc, exact_c), (erf, exact)):
        err = ulp_error(np.asarray(fn(xp, xp.asarray(u))), *split_exact(ref))
        worst = int(np.argmax(err))
        assert err[worst] <= 6.0, (fn.__name__, u[worst], err[worst])


def test_backend_by_array_type():
    assert backend_for(np.zeros(3)).name == "numpy"
    assert backend_for(xp.zeros(3)).name == "array-api"
    assert backend_for([1.0]) is None and backend_for(1.0) is None
    assert get_backend("numpy").name == "numpy"
    with pytest.raises(ActivationLabError, match="unknown backend 'torchy'"):
        get_backend("torchy")


def test_cupy_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy raises ImportError
    with pytest.raises(BackendUnavailableError, match=r"pip install 'activation-lab\[cuda\]'"):
        get_backend("cupy")
    assert not backends.CuPyBackend().available()
    assert backend_for(np.zeros(3)).name == "numpy"  # detection never needs CuPy


def test_cupy_without_a_gpu_is_a_clear_error(monkeypatch):
    import types

    def no_driver():
        raise RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")

    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_driver))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    with pytest.raises(BackendUnavailableError, match="CuPy is installed but cannot use a CUDA GPU here "
                                                      r"\(RuntimeError: cudaErrorInsufficientDriver"):
        get_backend("cupy")
    assert not backends.CuPyBackend().available()
    fake.cuda.runtime.getDeviceCount = lambda: 0
    with pytest.raises(BackendUnavailableError, match="no CUDA device found"):
        get_backend("cupy")


def test_importing_backends_does_not_import_cupy():
    code = ("import sys, numpy, activation_lab as al\n"
            "from activation_lab.numeric import backends\n"
            "backends.backend_for(numpy.zeros(3)); al.get('telu').evaluate(numpy.zeros(5000))\n"
            "assert 'cupy' not in sys.modules and 'array_api_strict' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


# --- the CuPy backend against a stand-in CuPy that compiles the kernels with gcc ---------------

class _Device:
    entered = 0

    def __enter__(self):
        _Device.entered += 1
        return self

    def __exit__(self, *exc):
        return False

    def __eq__(self, other):  # one GPU: every array is on it (cupy.cuda.Device compares ids)
        return isinstance(other, _Device)

    __hash__ = object.__hash__


class _FakeCuPyArray:
    """A device array: shape, dtype, device; data reachable only through the stand-in kernels."""

    def __init__(self, data: np.ndarray):
        self._data = np.ascontiguousarray(data)
        self.shape, self.dtype, self.size = self._data.shape, self._data.dtype, self._data.size
        self.device = _Device()

    def get(self) -> np.ndarray:  # cupy.ndarray.get(): an explicit copy to the host
        return self._data.copy()


def _fake_cupy(tmp_path) -> types.ModuleType:
    module = types.ModuleType("cupy")
    module.ndarray = _FakeCuPyArray
    module.kernels = []

    def empty(shape, dtype):
        return _FakeCuPyArray(np.empty(shape, dtype=dtype))

    class ElementwiseKernel:
        def __init__(self, in_params, out_params, operation, name, preamble="", options=()):
            assert "--fmad=false" in options
            self.run = build(preamble, operation, in_params, out_params, name, tmp_path)
            module.kernels.append(name)

        def __call__(self, *arrays):
            assert all(isinstance(a, _FakeCuPyArray) for a in arrays)  # nothing copied to the host
            self.run(*[a._data for a in arrays])

    module.empty = empty
    module.ElementwiseKernel = ElementwiseKernel
    module.may_share_memory = lambda a, b: np.may_share_memory(a._data, b._data)
    return module


@pytest.mark.skipif(not HAVE_GCC, reason="gcc is not installed: cannot compile the stand-in CuPy kernels")
@pytest.mark.parametrize("name", ["telu", "gelu", "relu", "smish", "softsign"])
def test_cupy_backend_with_stand_in(name, tmp_path, monkeypatch):
    cupy = _fake_cupy(tmp_path)
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    backends._cupy_kernel.cache_clear()
    act = al.get(name)
    for dtype in ("float32", "float64"):
        x = points(dtype, 5000)
        xc = _FakeCuPyArray(x.reshape(-1, 1))
        entered = _Device.entered
        f, df = act.evaluate(xc, n=(0, 1))
        assert _Device.entered == entered + 1
        assert isinstance(f, _FakeCuPyArray) and f.dtype == x.dtype and f.shape == xc.shape
        want = numpy_double(act, x, (0, 1, 2))
        for k, g in enumerate((f, df)):
            check(act, k, g.get().ravel(), want[k], x, want[k + 1], f"{name} f^({k}) cupy {dtype}")
        assert np.array_equal(xc.get().ravel(), x, equal_nan=True)
        # out=: the same kernel writes into the caller's device arrays
        outs = (cupy.empty(xc.shape, x.dtype), cupy.empty(xc.shape, x.dtype))
        got = act.evaluate(xc, n=(0, 1), out=outs)
        assert got[0] is outs[0] and got[1] is outs[1]
        assert all(np.array_equal(g.get(), w.get(), equal_nan=True) for g, w in zip(got, (f, df), strict=True))
        with pytest.raises(ActivationLabError, match="shares memory with the input"):
            act.evaluate(xc, n=0, out=xc)
    assert len(cupy.kernels) == 2  # one fused kernel (f and f′ together) per dtype
    backends._cupy_kernel.cache_clear()
