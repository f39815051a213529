"""accuracy(): reports checked against ULP errors computed here with mpmath; planted errors caught."""

import math

import mpmath
import numpy as np
import pytest
from scipy import special

import activation_lab as al
from activation_lab.analysis.accuracy import gradient_underflow
from activation_lab.analysis.sweep import default_points

# IEEE 754 (significand bits, emin), written here independently of the package
IEEE = {"float16": (11, -14), "float32": (24, -126), "float64": (53, -1022)}


def mp_ulp_error(got: float, exact, dtype: str) -> float:
    """|got - exact| / ulp(exact) with mpmath; ulp(r) = 2^(max(floor(log2|r|), emin) - p + 1)."""
    p, emin = IEEE[dtype]
    with mpmath.workprec(300):
        e = emin if exact == 0 else max(int(mpmath.frexp(exact)[1]) - 1, emin)
        return float(abs(mpmath.mpf(float(got)) - exact) / mpmath.ldexp(1, e - p + 1))


def telu_mp(x):
    return x * mpmath.tanh(mpmath.exp(x))


def telu_prime_mp(x):
    e = mpmath.exp(x)
    return mpmath.tanh(e) + x * e * mpmath.sech(e) ** 2


def naive_telu32(x):
    return x * np.tanh(np.exp(x))          # op by op in float32


def test_report_agrees_with_an_independent_measurement():
    rng = np.random.default_rng(11)
    xs = np.concatenate([rng.uniform(-100, 10, 300), [-91.0, -0.5, 3.0]]).astype(np.float32)
    r = al.accuracy("telu", 0, "float32", points=xs, implementation=naive_telu32)
    got = naive_telu32(xs.copy())
    with mpmath.workprec(200):
        err = np.array([mp_ulp_error(g, telu_mp(mpmath.mpf(float(x))), "float32")
                        for x, g in zip(xs, got, strict=True)])
    assert r.count == xs.size and r.implementation == "naive_telu32"
    assert r.max_ulp == pytest.approx(err.max(), rel=1e-9) and r.max_ulp > 10
    assert r.p99_ulp == pytest.approx(np.quantile(err, 0.99, method="higher"), rel=1e-9)
    for share, t in ((r.within_half, 0.5), (r.within_1, 1.0), (r.within_2, 2.0)):
        assert share == pytest.approx(np.mean(err <= t), abs=1.5 / xs.size)
    assert r.worst[0].x == float(xs[np.argmax(err)]) and r.worst[0].got == float(got[np.argmax(err)])
    assert [c.ulp for c in r.worst] == sorted((c.ulp for c in r.worst), reverse=True)
    # the κ-aware verdict: κ = |x f''/f'| by numerical differentiation of the formula
    with mpmath.workprec(200):
        kappa = {i: float(abs(mpmath.mpf(float(xs[i])) * mpmath.diff(telu_mp, mpmath.mpf(float(xs[i])))
                              / telu_mp(mpmath.mpf(float(xs[i]))))) for i in np.flatnonzero(err > 4)}
    want_fail = sum(err[i] > 4 * max(1.0, k) for i, k in kappa.items())
    assert r.n_failures == want_fail and r.passed == (want_fail == 0)
    assert "telu f float32" in str(r) and r.to_dict()["passed"] is r.passed


def test_naive_softplus_overflow_is_the_worst_input():
    naive = lambda x: np.log(1 + np.exp(x))  # noqa: E731
    r = al.accuracy("softplus", 0, "float64", implementation=naive)
    pts = default_points("float64")
    # the first sweep point whose exp rounds to inf: exp(x) >= max + ulp(max)/2 = 2^1024 (1 - 2^-54)
    with mpmath.workprec(200):
        edge = mpmath.log(mpmath.mpf(2) ** 1024 * (1 - mpmath.mpf(2) ** -54))
        first = min(float(x) for x in pts if np.isfinite(x) and x > edge)
    w = r.worst[0]
    assert w.x == first and w.got == math.inf and math.isfinite(w.exact) and w.ulp == math.inf
    assert not r.passed and r.n_failures > 0
    assert any(m.x == first and "finite exact" in m.problem for m in r.special_mismatches)


def test_naive_softplus_cancellation_for_negative_x():
    naive = lambda x: np.log(1 + np.exp(x))  # noqa: E731
    xs = np.linspace(-45, 0, 451)
    r = al.accuracy("softplus", 0, "float64", points=xs, implementation=naive)
    # below ln(2^-53), 1 + e^x rounds to 1 and the result to 0: all accuracy lost
    with mpmath.workdps(30):
        threshold = float(mpmath.log(mpmath.mpf(2) ** -53))
    w = r.worst[0]
    assert w.x < threshold and w.got == 0 and w.ulp > 2.0**51
    with mpmath.workprec(200):
        exact = mpmath.log1p(mpmath.exp(mpmath.mpf(w.x)))
        assert w.ulp == pytest.approx(mp_ulp_error(w.got, exact, "float64"), rel=1e-9)
    assert not r.passed
    # the stable form on the same points meets the target
    assert al.accuracy("softplus", 0, "float64", points=xs, implementation=lambda x: np.logaddexp(0, x)).passed


def test_naive_gelu_cancellation_is_caught():
    naive = lambda x: 0.5 * x * (1 + special.erf(x / np.sqrt(2)))  # noqa: E731
    r = al.accuracy("gelu", 0, "float64", implementation=naive)
    w = r.worst[0]
    assert w.x < -5 and w.ulp > 1e12            # 1 + erf(x/√2) cancels for x < -5
    with mpmath.workprec(200):
        x = mpmath.mpf(w.x)
        exact = x / 2 * mpmath.erfc(-x / mpmath.sqrt(2))
    assert w.ulp == pytest.approx(mp_ulp_error(w.got, exact, "float64"), rel=1e-9)
    assert not r.passed and all(c.x < -5 for c in r.failures)
    # -inf * (1 + erf(-inf)) = -inf * 0 = nan where the limit is 0
    assert any(m.x == -math.inf and math.isnan(m.got) for m in r.special_mismatches)


def _away(y: np.ndarray, steps: int) -> np.ndarray:
    for _ in range(steps):
        y = np.nextafter(y, np.copysign(np.inf, y).astype(y.dtype))
    return y


def test_kappa_aware_verdict():
    # f' of TeLU off by about 10 ULP everywhere: allowed only where 4·κ(x) exceeds it, i.e. near
    # the root of f' at x ≈ -1.0789 (κ large) and not at ordinary points (κ ≈ 1)
    with mpmath.workdps(30):
        root = float(mpmath.findroot(telu_prime_mp, -1.08))
    xs = np.array([root + k * 3e-3 for k in range(-6, 7)] + [0.5, 2.0, -3.0, -0.3], dtype=np.float32)
    telu = al.get("telu")
    impl = lambda x: _away(telu.evaluate(x, 1), 10)  # noqa: E731
    r = al.accuracy(telu, 1, "float32", points=xs, implementation=impl)
    got = impl(xs.copy())
    want_fail = 0
    with mpmath.workprec(200):
        for x, g in zip(xs, got, strict=True):
            xm = mpmath.mpf(float(x))
            exact = telu_prime_mp(xm)
            kappa = abs(xm * mpmath.diff(telu_prime_mp, xm) / exact)
            want_fail += mp_ulp_error(g, exact, "float32") > 4 * max(1, float(kappa))
    assert 4 <= want_fail < xs.size - 2     # the test set has both kinds
    assert r.n_failures == want_fail and not r.passed
    assert all(abs(c.x - root) > 0.005 or c.x > 0 for c in r.failures)
    assert all(c.allowed == pytest.approx(4 * max(1, c.kappa)) for c in r.failures)


def test_special_values_and_signed_zeros():
    telu = al.get("telu")
    xs = np.array([np.nan, -np.inf, np.inf, -0.0, 0.0, -200.0, 1.0], dtype=np.float32)
    r = al.accuracy(telu, 0, "float32", points=xs, implementation=lambda x: np.nan_to_num(telu.evaluate(x)))
    problems = {(m.x if not math.isnan(m.x) else "nan"): m for m in r.special_mismatches}
    assert set(problems) == {"nan", math.inf} and r.n_special_mismatches == 2 and not r.passed
    # TeLU(-0) = -0·tanh(1), TeLU(-200) is a tiny negative number and TeLU → 0 from below at
    # -inf: all three round to -0.0
    r = al.accuracy(telu, 0, "float32", points=xs, implementation=lambda x: telu.evaluate(x) + np.float32(0))
    assert sorted(m.x for m in r.signed_zero_mismatches) == [-math.inf, -200.0, -0.0]
    assert r.n_signed_zero_mismatches == 3 and r.passed       # reported, not part of the ULP verdict
    assert r.n_special_mismatches == 0


@pytest.mark.parametrize("name,n", [("telu", 0), ("telu", 1), ("gelu", 1)])
def test_project_evaluation_float32_meets_target(name, n):
    r = al.accuracy(name, n, "float32")
    assert r.passed and r.max_ulp <= 0.5 + 1e-6 and r.n_special_mismatches == 0
    assert r.count == np.count_nonzero(np.isfinite(default_points("float32")))


def test_bad_arguments():
    with pytest.raises(al.UnsupportedDtypeError):
        al.accuracy("telu", 0, "int32")
    with pytest.raises(al.ActivationLabError, match="order"):
        al.accuracy("telu", -1)
    with pytest.raises(al.UnknownActivationError):
        al.accuracy("tellu")
    with pytest.raises(al.ActivationLabError, match="empty"):
        al.accuracy("telu", points=[])

    def broken(x):
        raise RuntimeError("boom")

    with pytest.raises(al.ActivationLabError, match="broken failed.*boom"):
        al.accuracy("telu", points=[1.0], implementation=broken)
    with pytest.raises(al.ActivationLabError, match="shape"):
        al.accuracy("telu", points=[1.0, 2.0], implementation=lambda x: x[:1])


def test_caller_points_untouched():
    xs = np.array([1.0, -2.0, 3.0])
    before = xs.copy()

    def scribble(x):
        x *= 2         # an implementation that writes into its input gets a copy
        return np.tanh(x / 2)

    r = al.accuracy("tanh", 0, "float64", points=xs, implementation=scribble)
    assert np.array_equal(xs, before) and r.max_ulp <= 2


def _last_nonzero_check(fn, x: float, dtype: str):
    """|fn(x)| rounds to nonzero in dtype and |fn| at the next float down rounds to 0."""
    p, emin = IEEE[dtype]
    half_tiny = mpmath.mpf(2) ** (emin - p)
    below = float(np.nextafter(np.array(x, dtype=dtype), np.array(-np.inf, dtype=dtype)))
    with mpmath.workprec(200):
        return abs(fn(mpmath.mpf(x))) > half_tiny and abs(fn(mpmath.mpf(below))) <= half_tiny


def test_gradient_underflow_scan():
    scan = gradient_underflow(["telu", "elu", "relu", "lrelu"], dtypes=("float32", "float16"))
    rows = {(r.name, r.dtype): r for r in scan.rows}
    for dtype in ("float32", "float16"):
        telu = rows["telu", dtype]
        assert _last_nonzero_check(telu_prime_mp, telu.exact, dtype) and telu.agree
        elu = rows["elu", dtype]
        assert _last_nonzero_check(mpmath.exp, elu.exact, dtype) and elu.agree
        assert rows["relu", dtype].exact == rows["relu", dtype].evaluated == 0.0
        assert rows["lrelu", dtype].exact == rows["lrelu", dtype].evaluated == -math.inf
    # TeLU's gradient survives about ln(104) ≈ 4.6 further than e^x alone (|f'| ~ |x| e^x)
    assert -110 < rows["telu", "float32"].exact < rows["elu", "float32"].exact - 4
    assert "telu" in str(scan) and scan.to_dict()["rows"][0]["agree"] is True


def test_underflow_scan_treats_a_missing_limit_as_no_value():
    """snake' = 1 + sin(2x) has no limit at -inf (nan there): the scan ends at the most negative
    finite float, where mpmath says f' is nonzero, for the exact model and the evaluation alike
    (the evaluation once said -inf: nan counted as nonzero)."""
    for row in gradient_underflow(["snake"]).rows:
        edge = -float(np.finfo(row.dtype).max)
        assert 1 + mpmath.sin(2 * mpmath.mpf(edge)) != 0
        assert row.exact == row.evaluated == edge


def test_a_formula_not_real_on_the_line_is_refused_by_accuracy():
    """log(x) is nan below 0 on every target (and its mpmath reference too): accuracy refuses it
    with the documented error instead of comparing nan with nan (or dividing by 0 at x = 0)."""
    with pytest.raises(al.ActivationLabError, match="not real at x"):
        al.accuracy(al.define("log(x)"), 1, "float32")
