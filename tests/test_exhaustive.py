"""Exhaustive float32 checks on slices of the input space (the full 2^32 run is a benchmark, not CI)."""

import json
import pickle

import numpy as np
import pytest

import activation_lab as al
from activation_lab.analysis.exhaustive import BOUNDARY_REL, exhaustive

M91 = int(np.array(-91.0, dtype=np.float32).view(np.uint32))   # bit pattern of -91.0
ONE = int(np.array(1.0, dtype=np.float32).view(np.uint32))


def naive_telu32(x):
    """TeLU op by op in float32: e^x is subnormal near x = -91 and loses bits."""
    return x * np.tanh(np.exp(x))


def zeroed_specials(x):
    return np.nan_to_num(al.get("telu").evaluate(x))


def _same(a, b, sampled=True):
    """Equal reports but for the time (and, if not ``sampled``, the chunk count and the per-chunk
    random sample of reference checks)."""
    skip = {"seconds"} | (set() if sampled else {"reference_checks", "reference_max_rel_error", "reference_ok",
                                                 "chunks", "chunks_done"})
    da, db = ({k: v for k, v in r.to_dict().items() if k not in skip} for r in (a, b))
    return da == db


def _f32_ulp_errors(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """|got - ref| / ulp(ref) in float32, ulp(r) = 2^(max(floor(log2|r|), -126) - 23), via frexp."""
    _, e = np.frexp(np.abs(ref))
    return np.abs(got.astype(np.float64) - ref) / np.ldexp(1.0, np.maximum(e - 1, -126) - 23)


def test_planted_float32_error_found_with_its_worst_input():
    lo, hi = M91 - 2**15, M91 + 2**15
    r = exhaustive("telu", 0, implementation=naive_telu32, start=lo, stop=hi, chunk_size=2**14,
                   workers=1, progress=False)
    # independent measurement: the float64 formula is good to ~1e-16 relative here
    x = np.arange(lo, hi, dtype=np.uint64).astype(np.uint32).view(np.float32)
    x64 = x.astype(np.float64)
    err = _f32_ulp_errors(naive_telu32(x.copy()), x64 * np.tanh(np.exp(x64)))
    assert r.count == r.finite == x.size and r.complete and r.chunks == 4
    assert r.max_ulp == pytest.approx(err.max(), abs=1e-6) and r.max_ulp > 4
    assert r.worst[0].x == float(x[np.argmax(err)])
    for t in (0.5, 1.0, 2.0):
        assert abs(r.within(t) - int(np.count_nonzero(err <= t))) <= 2
    assert r.over_tolerance == pytest.approx(np.count_nonzero(err > 4), abs=2)
    assert r.reference_ok and r.reference_checks >= 4 * 4


def test_project_evaluation_on_a_slice_is_correctly_rounded():
    r = exhaustive("telu", 0, start=ONE - 2**17, stop=ONE + 2**17, chunk_size=2**16, workers=1, progress=False)
    assert r.passed and r.max_ulp <= 0.5 + 2.0**-20
    assert r.confirmed >= 1 and r.corrected == 0 and r.reference_ok
    assert r.p99_ulp == 0.5 and r.within(0.5) == r.finite == 2**18


def test_ill_conditioned_float64_reference_is_flagged():
    # expm1(x) - x - x²/2 ≈ x³/6 cancels by ~2^35 at x = 1e-5: even computed in long double the
    # float64 reference is then worse than 2^-40 relative
    act = al.define("exp(x) - 1 - x - x**2/2")
    start = int(np.array(1e-5, dtype=np.float32).view(np.uint32))
    r = exhaustive(act, 0, start=start, stop=start + 2**12, chunk_size=2**11, workers=1, progress=False)
    assert r.reference_max_rel_error > BOUNDARY_REL and not r.reference_ok


def test_special_inputs():
    inf = int(np.array(np.inf, dtype=np.float32).view(np.uint32))
    kw = dict(start=inf - 8, stop=inf + 8, chunk_size=16, workers=1, progress=False)
    good = exhaustive("telu", 0, **kw)
    assert good.count == 16 and good.finite == 8 and good.n_special_mismatches == 0 and good.passed
    bad = exhaustive("telu", 0, implementation=zeroed_specials, **kw)
    assert bad.n_special_mismatches == 8 and not bad.passed        # 7 nans -> 0, inf -> max


def test_chunking_does_not_change_the_result():
    kw = dict(implementation=naive_telu32, start=M91 - 2**12, stop=M91 + 2**12, workers=1, progress=False)
    assert _same(exhaustive("telu", 0, chunk_size=2**13, **kw), exhaustive("telu", 0, chunk_size=2**10, **kw),
                 sampled=False)


class StopScanError(Exception):
    pass


def test_resume_from_state_file(tmp_path):
    state = tmp_path / "telu.json"
    kw = dict(implementation=naive_telu32, start=M91 - 2**14, stop=M91 + 2**14, chunk_size=2**12, workers=1)
    whole = exhaustive("telu", 0, progress=False, **kw)

    def stop_after_three(done, total):
        if done == 3:
            raise StopScanError

    with pytest.raises(StopScanError):
        exhaustive("telu", 0, state=state, progress=stop_after_three, **kw)
    saved = json.loads(state.read_text())
    assert len(saved["done"]) == 3 and saved["activation"] == "telu"
    calls = []
    resumed = exhaustive("telu", 0, state=state, progress=lambda d, t: calls.append(d), **kw)
    assert calls == [4, 5, 6, 7, 8] and resumed.complete and _same(resumed, whole)
    assert [p.name for p in tmp_path.iterdir()] == ["telu.json"]     # no temporary files left
    with pytest.raises(al.ActivationLabError, match="another run"):
        exhaustive("telu", 1, state=state, progress=False, **kw)


def test_dask_local_cluster_matches_local_run():
    distributed = pytest.importorskip("distributed")
    kw = dict(implementation=naive_telu32, start=M91 - 2**13, stop=M91 + 2**13, chunk_size=2**12, progress=False)
    local = exhaustive("telu", 0, workers=1, **kw)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        remote = exhaustive("telu", 0, scheduler=cluster.scheduler_address, **kw)
    assert remote.chunks_done == 4 and _same(local, remote)


def test_unreachable_scheduler_is_a_clear_error(monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr("activation_lab.analysis.exhaustive.CONNECT_TIMEOUT", "1s")
    with pytest.raises(al.ActivationLabError, match="Dask scheduler"):
        exhaustive("telu", 0, start=0, stop=16, scheduler="tcp://127.0.0.1:9", progress=False)


def test_unpicklable_implementation_needs_one_worker():
    with pytest.raises(al.ActivationLabError, match="pickle"):
        exhaustive("telu", 0, implementation=lambda x: x, start=0, stop=2**12, chunk_size=2**10, workers=2,
                   progress=False)


@pytest.mark.slow
def test_two_worker_processes_match_one():
    kw = dict(implementation=naive_telu32, start=M91 - 2**12, stop=M91 + 2**12, chunk_size=2**12, progress=False)
    pickle.dumps(naive_telu32)
    assert _same(exhaustive("telu", 0, workers=2, **kw), exhaustive("telu", 0, workers=1, **kw))


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63, reason="needs x87 long double (64-bit significand)")
def test_float64_reference_recomputes_where_terms_cancel():
    # TeLU'(x) = tanh(e^x) + x e^x sech^2(e^x) cancels near its zero x0 = -1.07886...: in double the
    # 600 float32 inputs nearest x0 are off by ~1e-8 relative; the reference recomputes them
    import mpmath

    from activation_lab.analysis.exhaustive import float64_reference

    act = al.get("telu")
    near = [np.float32(-1.078860058464624)]
    for direction in (np.float32(0), np.float32(-2)):
        v = near[0]
        for _ in range(300):
            v = np.nextafter(v, direction)
            near.append(v)
    x = np.array(near, dtype=np.float32).astype(np.float64)
    ref = float64_reference(act.expr, 1, x)
    fn = act.mpmath(1)
    with mpmath.workprec(200):
        exact = np.array([float(fn(mpmath.mpf(float(v)))) for v in x])
    assert np.max(np.abs(ref - exact) / np.abs(exact)) < 1e-11
