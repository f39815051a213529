"""The gradient quotient f′/TeLU′ against mpmath values computed here: TeLU′'s zero (the
pole), the limits at −∞, the values on the grid and the ends of the |q| < 1 intervals."""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

import activation_lab as al
from activation_lab.errors import ActivationLabError

from .test_properties import D1
from .test_saturation import mp_derivative


def _telu1(t):
    return D1["telu"](t)


def _fprime(name):
    return D1.get(name, lambda t: mp_derivative(name, t))


def _telu_pole() -> float:
    with mpmath.workprec(200):
        return float(mpmath.findroot(_telu1, -1.08))


@pytest.mark.parametrize("name, limit", [("silu", 1), ("mish", 1), ("logish", 1), ("smish", 1), ("telu", 1),
                                         ("gelu", 0), ("elu", 0), ("relu", 0)])
def test_limit_at_minus_infinity(name, limit):
    q = al.quotient(name)
    assert q.limit_exact == limit and q.limit_neg_inf == float(limit)
    # the trend, computed here: |f′/TeLU′| at −200 and −400 approaches the limit
    with mpmath.workprec(400):
        gaps = [abs(abs(_fprime(name)(mpmath.mpf(t)) / _telu1(mpmath.mpf(t))) - limit) for t in (-200, -400)]
    assert gaps[1] <= gaps[0] and gaps[1] < 0.01


def test_limit_is_infinite_for_a_constant_slope():
    assert al.quotient("lrelu").limit_exact == sp.oo
    assert al.quotient("lrelu", absolute=False).limit_exact == -sp.oo    # TeLU′ < 0 far left


def test_pole_is_telus_zero():
    q = al.quotient("silu")
    assert len(q.poles) == 1 and abs(q.poles[0] - _telu_pole()) <= 1e-12 * abs(_telu_pole())
    assert al.quotient("silu", x=np.linspace(-0.9, 0, 50)).poles == []


def test_values_on_the_grid_against_mpmath():
    q = al.quotient("gelu")
    assert q.x.shape == q.q.shape == (2001,) and q.x[0] == -10 and q.x[-1] == 0
    pole = _telu_pole()
    with mpmath.workprec(200):
        for i in range(0, 2001, 37):
            t = q.x[i]
            if abs(t - pole) < 0.02:
                continue
            want = abs(_fprime("gelu")(mpmath.mpf(t)) / _telu1(mpmath.mpf(t)))
            assert abs(q.q[i] - want) <= 1e-12 * want, (t, q.q[i], want)


def test_gap_next_to_the_pole():
    q = al.quotient("mish")
    pole = q.poles[0]
    # the two grid points on each side of the pole are blanked, nothing else
    left, right = np.flatnonzero(q.x < pole)[-2:], np.flatnonzero(q.x > pole)[:2]
    near = np.zeros(q.x.size, bool)
    near[left] = near[right] = True
    assert np.all(np.isnan(q.q[near])) and np.all(np.isfinite(q.q[~near]))


def test_intervals_end_where_the_derivatives_meet():
    q = al.quotient("silu")
    pole = _telu_pole()
    ends = {e for span in q.below_one + q.above_one for e in span} - {-10.0, 0.0}
    with mpmath.workprec(200):
        for e in ends:
            if abs(e - pole) < 1e-12:
                continue
            a, b = abs(_fprime("silu")(mpmath.mpf(e))), abs(_telu1(mpmath.mpf(e)))
            assert abs(a - b) <= 1e-12 * b, e
        for spans, below in ((q.below_one, True), (q.above_one, False)):
            for lo, hi in spans:
                mid = mpmath.mpf((lo + hi) / 2)
                assert (abs(_fprime("silu")(mid)) < abs(_telu1(mid))) == below
    # the paper's reading: SiLU′ is smaller than TeLU′ in magnitude on most of the negative range
    assert q.below_one[0][0] == -10.0 and q.below_one[-1][1] == 0.0


def test_signed_quotient_changes_sign_between_minimum_and_pole():
    q = al.quotient("silu", absolute=False)
    # SiLU′ > 0 right of SiLU's minimum (−1.2785), TeLU′ < 0 left of its pole (−1.0789)
    i = int(np.argmin(np.abs(q.x + 1.2)))
    assert q.q[i] < 0
    assert np.all(q.q[np.abs(q.x + 0.5) < 0.1] > 0)


def test_reference_against_itself():
    q = al.quotient("telu")
    assert q.below_one == [] and q.above_one == []
    assert np.all(q.q[np.isfinite(q.q)] == 1.0)


def test_other_reference_and_custom_grid():
    xs = np.linspace(-5.0, -2.0, 31)
    keep = xs.copy()
    q = al.quotient("telu", reference="silu", x=xs)
    assert np.array_equal(xs, keep) and q.reference == "silu" and q.poles == []
    assert not q.q.flags.writeable and not q.x.flags.writeable
    with mpmath.workprec(200):
        want = abs(_telu1(mpmath.mpf(-3.5)) / _fprime("silu")(mpmath.mpf(-3.5)))
    assert abs(q.q[15] - want) <= 1e-12 * want


def test_far_grid_uses_mpmath_where_float64_underflows():
    q = al.quotient("silu", x=[-800.0, -760.0])
    with mpmath.workprec(200):
        want = abs(_fprime("silu")(mpmath.mpf(-800)) / _telu1(mpmath.mpf(-800)))
    assert abs(q.q[0] - want) <= 1e-12 * want and math.isfinite(q.q[1])


def test_str():
    text = str(al.quotient("gelu"))
    assert "poles" in text and "-1.0788" in text and "limit at -inf   0" in text


@pytest.mark.parametrize("bad", [[[0.0, 1.0]], [1.0], [0.0, math.nan], "abc"])
def test_bad_grid(bad):
    with pytest.raises(ActivationLabError, match="x must"):
        al.quotient("silu", x=bad)


def test_activation_with_a_pole_of_its_own():
    # f = 1/x: f′ = −1/x² is undefined at 0 (nan there, no exception); |f′/TeLU′| ~ e^{−x}/|x|³ → ∞ at −∞
    q = al.quotient(al.define("1/x"))
    assert np.isnan(q.q[q.x == 0]).all()
    assert q.limit_exact == sp.oo
    i = np.argmin(np.abs(q.x + 5))
    e = mpmath.exp(-5)
    telu_prime = mpmath.tanh(e) - 5 * e * mpmath.sech(e) ** 2      # written out here
    want = float((mpmath.mpf(1) / 25) / abs(telu_prime))
    assert abs(q.q[i] - want) <= 1e-12 * want


@pytest.mark.parametrize("name", al.names())
def test_limit_of_every_catalogue_entry(name):
    """|f′/TeLU′| at −∞ for every entry, from the leading terms of f′ derived by hand in
    test_saturation (TeLU′ ~ x·eˣ): lim |lead(x)/(x·eˣ)| by SymPy here; snake′ = 1 + sin 2x has none."""
    import sympy as sp

    from .test_saturation import EXPECTED, NO_LEADING_TERM, x

    got = al.quotient(name).limit_exact
    if name in NO_LEADING_TERM:
        assert got is None
        return
    _, lead = EXPECTED[name]
    want = sp.limit(sp.Abs(lead / (x * sp.exp(x))), x, -sp.oo) if lead != 0 else 0
    assert sp.simplify(got - want) == 0 if want != sp.oo else got == sp.oo, (name, got, want)
