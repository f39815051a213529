"""The fused NumPy block program: bit for bit the plain accurate path, whatever the blocks and
threads.  (float32 arrays take the native kernel by default; here it is switched off with
``native=False`` where bits are compared: tests/test_native.py covers it.)"""

from __future__ import annotations

import numpy as np
import pytest

import activation_lab as al
from activation_lab.errors import ActivationLabError, UnsupportedDtypeError
from activation_lab.numeric import backends, fused
from activation_lab.numeric.fused import BLOCK, evaluate_fused, fused_program

from .conftest import mp_telu, sweep_points

SMALL = 4096  # a block size for the tests: several blocks without large arrays


def _mixed_points(dtype, count: int, seed: int = 1) -> np.ndarray:
    """Sweep points with ±0, ±inf, nan and the extremes scattered over several blocks."""
    rng = np.random.default_rng(seed)
    info = np.finfo(dtype)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, info.max, -info.max, info.smallest_subnormal,
                        -info.smallest_subnormal], dtype=dtype)
    x = np.concatenate([sweep_points(dtype, count, seed), np.repeat(special, 5)])
    return x[rng.permutation(x.size)]


@pytest.fixture
def plain(monkeypatch):
    """Activation.evaluate with the backends switched off: the accurate path of evaluate.py."""
    monkeypatch.setattr(backends, "FUSED_MIN_SIZE", 2**62)
    return lambda act, x, n: act.evaluate(x, n=n)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a.view(np.uint8), b.view(np.uint8))


@pytest.mark.parametrize("name", al.names())
def test_bit_for_bit_equal_to_accurate_path(name, plain):
    act = al.get(name)
    for dtype in ("float64", "float32", "float16"):
        x = _mixed_points(dtype, 3 * SMALL + 123)
        want = plain(act, x, (0, 1, 2))
        got = evaluate_fused(act, x, (0, 1, 2), threads=2, block=SMALL, native=False)
        for k in range(3):
            bits = f"u{x.dtype.itemsize}"
            bad = np.flatnonzero(got[k].view(bits) != want[k].view(bits))
            assert _same_bits(got[k], want[k]), f"{name} f^({k}) {dtype} differs, e.g. at x = {x[bad[:3]]}"


@pytest.mark.parametrize("native", [False, True])
def test_blocks_and_threads_do_not_change_results(native):
    act = al.get("telu")
    x = _mixed_points("float32", 5 * SMALL)
    reference = evaluate_fused(act, x, (0, 1), threads=1, native=native)
    for threads, block in ((2, BLOCK), (3, 1000), (1, 7), (2, SMALL), (2, 2 * SMALL)):
        got = evaluate_fused(act, x, (0, 1), threads=threads, block=block, native=native)
        assert all(_same_bits(g, r) for g, r in zip(got, reference, strict=True)), (threads, block)


def test_input_is_not_modified_and_may_be_read_only():
    act = al.get("gelu")
    for dtype in ("float32", "float64", "int64"):
        x = (np.random.default_rng(0).standard_normal(BLOCK + 3 * SMALL) * 40).astype(dtype)
        x[::97] = 0
        kept = x.copy()
        x.flags.writeable = False
        evaluate_fused(act, x, (0, 1))
        assert _same_bits(x, kept)


def test_dtypes_shapes_and_layouts(plain):
    act = al.get("mish")
    base = np.random.default_rng(2).standard_normal((300, 70)) * 30
    cases = {
        "float32 2-D": base.astype(np.float32),
        "float16": base.astype(np.float16),
        "strided view": base[::2, 1::3],
        "Fortran order": np.asfortranarray(base),
        "int32": base.astype(np.int32),
        "bool": base > 0,
        "empty": np.empty((0, 5), dtype=np.float32),
    }
    for label, x in cases.items():
        want = plain(act, x, (0, 1))
        got = evaluate_fused(act, x, (0, 1), threads=2, block=SMALL, native=False)
        expected_dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
        for g, w in zip(got, want, strict=True):
            assert g.shape == x.shape and g.dtype == expected_dtype, label
            assert _same_bits(np.ascontiguousarray(g), np.ascontiguousarray(w)), label
    single = evaluate_fused(act, cases["float32 2-D"], 1, native=False)
    assert isinstance(single, np.ndarray) and _same_bits(single, plain(act, cases["float32 2-D"], 1))


def test_bad_input_gives_clear_errors():
    act = al.get("telu")
    with pytest.raises(UnsupportedDtypeError, match="complex"):
        evaluate_fused(act, np.ones(10, dtype=complex))
    with pytest.raises(ActivationLabError, match="NumPy array"):
        evaluate_fused(act, [1.0, 2.0])
    with pytest.raises(ActivationLabError, match="non-negative integer"):
        evaluate_fused(act, np.ones(10), (0, -1))


def test_activation_evaluate_uses_the_fused_path_for_large_arrays(monkeypatch):
    calls = []
    original = fused.evaluate_fused
    monkeypatch.setattr(fused, "evaluate_fused", lambda *a, **k: calls.append(a[1].size) or original(*a, **k))
    act = al.get("telu")
    act.evaluate(np.ones(backends.FUSED_MIN_SIZE, dtype=np.float32), n=(0, 1))
    act.evaluate(np.ones(10, dtype=np.float32), n=(0, 1))
    act.evaluate([1.0, 2.0])
    assert calls == [backends.FUSED_MIN_SIZE]


def test_value_and_derivative_share_subexpressions():
    source = fused_program(al.get("telu").expr, (0, 1)).source
    assert source.count("_exp(") == 1 and source.count("_tanh(") == 1  # eˣ and tanh(eˣ) once for f and f′
    assert "out0" in source and "out1" in source


def test_telu_float32_fast_path_within_one_ulp_of_mpmath():
    """The catalogue's float32 target on the fast path, against mpmath computed here."""
    from activation_lab.analysis.ulp import split_exact, ulp_error

    act = al.get("telu")
    x = np.concatenate([np.random.default_rng(3).standard_normal(SMALL).astype(np.float32),
                        sweep_points("float32", 600, seed=4)])
    f, df = evaluate_fused(act, x, (0, 1))
    idx = np.random.default_rng(5).choice(x.size, 800, replace=False)
    exact_f, exact_df = mp_telu(x[idx])
    for got, exact in ((f[idx], exact_f), (df[idx], exact_df)):
        err = ulp_error(got, *split_exact(exact), dtype="float32")
        worst = int(np.argmax(err))
        assert err[worst] <= 1.0, (x[idx][worst], got[worst], err[worst])


@pytest.mark.parametrize("formula", ["x*atan(x)", "abs(x)*x", "max(x, 0) + sqrt(abs(x))", "x**3/(1 + x**2)"])
def test_user_formulas_bit_for_bit(formula, plain):
    act = al.define(formula)
    x = _mixed_points("float64", 2 * SMALL)
    want = plain(act, x, (0, 1))
    got = evaluate_fused(act, x, (0, 1), threads=2, block=SMALL)
    assert all(_same_bits(g, w) for g, w in zip(got, want, strict=True))


def test_unlowerable_code_falls_back_to_the_accurate_path(monkeypatch, plain):
    act = al.get("elu")
    monkeypatch.setattr(fused, "fused_program", lambda expr, orders: None)
    x = _mixed_points("float32", SMALL)
    want = plain(act, x, (0, 1))
    assert all(_same_bits(g, w) for g, w in zip(evaluate_fused(act, x, (0, 1), native=False), want, strict=True))
    assert _same_bits(evaluate_fused(act, x, 1, native=False), want[1])


def test_works_in_a_forked_child_after_use_in_the_parent():
    import multiprocessing

    act = al.get("telu")
    x = np.linspace(-5, 5, 4 * SMALL)
    want = evaluate_fused(act, x, (0, 1), threads=2, block=SMALL)  # the parent's pool is started
    with multiprocessing.get_context("fork").Pool(1) as pool:
        got = pool.apply_async(evaluate_fused, (act, x, (0, 1), 2, SMALL)).get(timeout=60)
    assert all(_same_bits(g, w) for g, w in zip(got, want, strict=True))


def test_spans_are_shared_once_each_and_errors_come_back():
    """The caller and the pool workers take the spans in turn: each exactly once; an error in
    any of them reaches the caller after all have stopped."""
    import threading

    spans = [(i, i + 1) for i in range(40)]
    done, names = [], set()
    lock = threading.Lock()

    def work(lo, hi):
        with lock:
            done.append((lo, hi))
            names.add(threading.current_thread().name)

    fused._share(work, spans, 3)
    assert sorted(done) == spans

    def failing(lo, hi):
        if lo == 17:
            raise ValueError("span 17")

    with pytest.raises(ValueError, match="span 17"):
        fused._share(failing, spans, 2)


def test_threads_by_default_only_where_they_pay():
    """Transcendental f⁽ⁿ⁾ go parallel from PARALLEL_MIN elements, arithmetic alone (memory
    speed) only from PARALLEL_MIN_CHEAP; the choice never changes a result."""
    assert fused._costly(al.get("telu").expr, (0, 1)) and fused._costly(al.get("gelu").expr, (1,))
    assert not fused._costly(al.get("relu").expr, (0, 1)) and not fused._costly(al.get("softsign").expr, (0, 1, 2))
    assert fused.PARALLEL_MIN < fused.PARALLEL_MIN_CHEAP


def test_float64_streams_in_blocks():
    """float64 inputs compute in long double block by block: extra memory is the outputs and a few
    block buffers per thread, not a full-size long-double temporary per operation (was 6x the input)."""
    import tracemalloc

    x = np.random.default_rng(3).standard_normal(1 << 20)
    telu = al.get("telu")
    telu.evaluate(x[:BLOCK], (0, 1))          # compile outside the measurement
    tracemalloc.start()
    try:
        f, df = telu.evaluate(x, (0, 1))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    outputs = 2 * x.nbytes
    from activation_lab.numeric.fused import workers

    # eight long-double block buffers per thread at most (the whole-array path took 96 MiB here)
    assert peak < outputs + workers() * 8 * BLOCK * 16, (peak, outputs)
    want = (telu.evaluate(x[:1000], 0), telu.evaluate(x[:1000], 1))   # the plain path
    assert np.array_equal(f[:1000], want[0]) and np.array_equal(df[:1000], want[1])
