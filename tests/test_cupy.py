"""The CuPy backend on a real CUDA GPU (marked ``cupy``; skipped, with the reason, without one).

Without a GPU the same kernel source is compiled with gcc (``test_c_target.py``) and run
through a stand-in CuPy (``test_backends.py``); here it runs as CuPy runs it: NVRTC, one
``ElementwiseKernel`` per activation, orders and dtypes.  Results are compared with the NumPy
backend's double code at ≥ 10⁵ points per activation (extremes, ±0, ±inf, nan included), and
where the two disagree mpmath decides (``_agreement.check``).
"""

from __future__ import annotations

import numpy as np
import pytest

import activation_lab as al

from ._agreement import check, check_backend, numpy_double
from .conftest import mp_telu, sweep_points


def _gpu_unavailable() -> str:
    """Why the GPU tests cannot run here ("" if they can)."""
    try:
        import cupy
    except ImportError as err:
        return f"CuPy is not installed ({err}; pip install 'activation-lab[cuda]')"
    except Exception as err:  # noqa: BLE001 - a broken CUDA setup can fail the import itself
        return f"CuPy cannot be imported: {type(err).__name__}: {err}"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # noqa: BLE001 - CuPy raises its own CUDA errors without a driver
        return f"no usable CUDA GPU: {type(err).__name__}: {err}"
    return "" if count > 0 else "no CUDA GPU"


_WHY = _gpu_unavailable()
pytestmark = [pytest.mark.cupy, pytest.mark.skipif(bool(_WHY), reason=_WHY or "-")]

ORDERS = (0, 1, 2)


@pytest.fixture(scope="module")
def cupy():
    import cupy

    return cupy


@pytest.mark.parametrize("name", al.names())
def test_gpu_matches_numpy_backend(name, cupy):
    check_backend(al.get(name), cupy.asarray, cupy.asnumpy, 100_000, "GPU", ORDERS)


@pytest.mark.parametrize("name", ["telu", "gelu", "mish", "relu6", "silu"])
def test_gpu_every_float16(name, cupy):
    """Every float16 value (subnormals, ±inf, nan included): rounded once from double."""
    act = al.get(name)
    x = np.arange(2**16, dtype=np.uint16).view(np.float16)
    f, df = act.evaluate(cupy.asarray(x), n=(0, 1))
    want = numpy_double(act, x, (0, 1, 2))
    for k, g in enumerate((f, df)):
        assert g.dtype == cupy.float16
        check(act, k, cupy.asnumpy(g), want[k], x, want[k + 1], f"{name} f^({k}) GPU float16")


def test_gpu_telu_float32_within_one_ulp_of_mpmath(cupy):
    """The catalogue's float32 target for TeLU on the GPU, against mpmath computed here."""
    from activation_lab.analysis.ulp import split_exact, ulp_error

    x = np.concatenate([np.random.default_rng(3).standard_normal(400).astype(np.float32),
                        sweep_points("float32", 600, seed=4)])
    f, df = al.get("telu").evaluate(cupy.asarray(x), n=(0, 1))
    for got, exact in zip((f, df), mp_telu(x), strict=True):
        err = ulp_error(cupy.asnumpy(got), *split_exact(exact), dtype="float32")
        worst = int(np.argmax(err))
        assert err[worst] <= 1.0, (x[worst], err[worst])


def test_gpu_special_inputs_give_limits(cupy):
    x = cupy.asarray([np.inf, -np.inf, np.nan, 0.0, -0.0, -800.0], dtype=cupy.float64)
    f, df = (cupy.asnumpy(v) for v in al.get("telu").evaluate(x, n=(0, 1)))
    assert f[0] == np.inf and f[1] == 0.0 and np.isnan(f[2]) and f[3] == 0.0
    assert df[0] == 1.0 and df[1] == 0.0 and np.isnan(df[2]) and df[3] == pytest.approx(np.tanh(1.0), rel=1e-15)
    assert not np.isnan(f[[0, 1, 3, 4, 5]]).any() and not np.isnan(df[[0, 1, 3, 4, 5]]).any()


def test_gpu_shapes_strides_and_dtypes(cupy):
    act = al.get("telu")
    base = cupy.linspace(-10, 10, 6000, dtype=cupy.float32).reshape(60, 100)
    kept = base.copy()
    for x in (base, base.T, base[::3, 1::2], base[5, 7]):  # C order, Fortran order, strided, 0-d
        y = act.evaluate(x, n=1)
        assert isinstance(y, cupy.ndarray) and y.shape == x.shape and y.dtype == cupy.float32
        want = act.evaluate(cupy.asnumpy(x).astype(np.float64), n=1)
        assert np.allclose(cupy.asnumpy(y), want, rtol=2e-7, atol=0)
    assert bool((base == kept).all())  # the input is never written
    ints = act.evaluate(cupy.arange(-50, 50, dtype=cupy.int32), n=0)
    assert ints.dtype == cupy.float64
    single = act.evaluate(cupy.asarray([1.0]), n=(1,))
    assert isinstance(single, tuple) and len(single) == 1


def test_gpu_out_arrays(cupy):
    act = al.get("mish")
    x = cupy.linspace(-20, 20, 100_001, dtype=cupy.float32)
    f, df = act.evaluate(x, n=(0, 1))
    outs = (cupy.empty_like(x), cupy.empty_like(x))
    got = act.evaluate(x, n=(0, 1), out=outs)
    assert got[0] is outs[0] and got[1] is outs[1]
    assert bool((got[0] == f).all()) and bool((got[1] == df).all())
    strided = cupy.empty((x.size, 2), dtype=cupy.float32)
    act.evaluate(x, n=(0, 1), out=(strided[:, 0], strided[:, 1]))
    assert bool((strided[:, 0] == f).all()) and bool((strided[:, 1] == df).all())


def test_gpu_results_stay_on_the_input_device(cupy):
    count = cupy.cuda.runtime.getDeviceCount()
    device = count - 1  # the last GPU: on a machine with several, not the default one
    with cupy.cuda.Device(device):
        x = cupy.linspace(-5, 5, 1000, dtype=cupy.float32)
    f, df = al.get("gelu").evaluate(x, n=(0, 1))
    assert f.device.id == device and df.device.id == device


def test_bench_on_gpu(cupy):
    from activation_lab.analysis.benchmark import MODES, OUT_MODE, benchmark

    result = benchmark(["telu"], n=20_000, backends=["numpy", "cupy"], repeat=3, others=False)
    rows = {(t.activation, t.backend, t.mode): t for t in result.timings}
    for mode in ("copy", *MODES, OUT_MODE):
        t = rows[("" if mode == "copy" else "telu", "cupy", mode)]
        assert 0 < t.q25_ns <= t.median_ns <= t.q75_ns
    assert any(note.startswith("cupy ") for note in result.notes)
