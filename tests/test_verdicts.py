"""Issue 15's verdicts: quotient blanking by distance, moments to every printed digit.  Expected
values are computed here with mpmath from the functions' definitions."""

import mpmath
import numpy as np
import pytest

import activation_lab as al
from activation_lab.errors import ActivationLabError

from .test_properties import D1
from .test_saturation import MP_F


def _d1(name):
    return lambda t: mpmath.diff(MP_F[name], t)


def _q(name, t):
    with mpmath.workprec(200):
        t = mpmath.mpf(t)
        return float(abs(_d1(name)(t) / _d1("telu")(t)))


def test_quotient_at_the_callers_points_blanks_nothing():
    xs = np.array([-30.0, -10.0, -5.0, -2.0, -0.5])
    q = al.quotient("silu", x=xs)
    assert q.blank == 0.0 and not np.any(np.isnan(q.q))
    for t, v in zip(xs, q.q, strict=True):
        assert abs(v - _q("silu", t)) <= 1e-12 * _q("silu", t)
    assert abs(q.q[2] - 0.98505) < 1e-5 and abs(q.q[3] - 0.69165) < 1e-5 and abs(q.q[4] - 0.79426) < 1e-5


def test_quotient_blanks_by_distance_on_the_default_grid():
    q = al.quotient("silu")
    with mpmath.workprec(200):
        pole = float(mpmath.findroot(_d1("telu"), -1.08))
    blanked = q.x[np.isnan(q.q)]
    assert q.blank == 0.01 and blanked.size > 0
    assert np.all(np.abs(blanked - pole) <= 0.01)
    assert not np.any(np.isnan(q.q[np.abs(q.x - pole) > 0.01]))
    assert "blanked within 0.01" in str(q)


def test_quotient_blank_distance_is_the_callers():
    xs = np.linspace(-2, 0, 201)     # step 0.01: the pole at -1.07886 has points at 0.0011, 0.0089, ...
    q = al.quotient("silu", x=xs, blank=0.05)
    pole = q.poles[0]
    assert np.array_equal(np.isnan(q.q), np.abs(xs - pole) <= 0.05)
    with pytest.raises(ActivationLabError, match="blank"):
        al.quotient("silu", blank=-1)


def _sig(t):
    return 1 / (1 + mpmath.exp(-t))


def _heav(t):
    return mpmath.mpf(1) if t > 0 else mpmath.mpf(0)


#: f′ written out for the entries with kinks (mpmath.diff would straddle the kink near it)
_D1_KINKED = {
    "relu": _heav,
    "lrelu": lambda t: 1 if t > 0 else mpmath.mpf(1) / 100,
    "prelu": lambda t: 1 if t > 0 else mpmath.mpf(1) / 4,
    "elu": lambda t: 1 if t > 0 else mpmath.exp(t),
    "celu": lambda t: 1 if t > 0 else mpmath.exp(t),
    "selu": lambda t: mpmath.mpf("1.0507009873554804934193349852946") * (
        1 if t > 0 else mpmath.mpf("1.6732632423543772848170429916717") * mpmath.exp(t)),
    "softsign": lambda t: 1 / (1 + abs(t)) ** 2,
    "hardswish": lambda t: 0 if t <= -3 else (1 if t >= 3 else (2 * t + 3) / 6),
    "relu6": lambda t: 0 if t <= 0 or t >= 6 else 1,
    # the entries added for issue 16, f′ of each one's defining formula
    "hardsigmoid": lambda t: 0 if t <= -3 or t >= 3 else mpmath.mpf(1) / 6,
    "hardtanh": lambda t: 0 if t <= -1 or t >= 1 else 1,
    "rrelu": lambda t: 1 if t > 0 else mpmath.mpf(11) / 48,
    "threshold": lambda t: 1 if t > 1 else 0,
    "squared_relu": lambda t: 2 * t if t > 0 else 0,
    "softshrink": lambda t: 1 if abs(t) > 0.5 else 0,
    "hardshrink": lambda t: 1 if abs(t) > 0.5 else 0,
    # x·σ(x) and (eˣ − 1)·σ(x): σ + x·σ·σ(−x) and eˣ·σ + (eˣ − 1)·σ·σ(−x)
    "elish": lambda t: (_sig(t) + t * _sig(t) * _sig(-t)) if t > 0
    else (mpmath.exp(t) * _sig(t) + mpmath.expm1(t) * _sig(t) * _sig(-t)),
    "hard_elish": lambda t: ((2 * t + 1) / 2 if t < 1 else 1) if t > 0 else (
        (mpmath.exp(t) * (t + 1) + mpmath.expm1(t)) / 2 if t > -1 else 0),
    "sparse_plus": lambda t: 0 if t <= -1 else (1 if t >= 1 else (t + 1) / 2),
    "sparse_sigmoid": lambda t: 0 if t <= -1 or t >= 1 else mpmath.mpf(1) / 2,
    "isrlu": lambda t: 1 if t > 0 else (1 + t * t) ** mpmath.mpf(-1.5),
}
_KINKS = {"hardswish": [-3, 3], "relu6": [0, 6], "hardsigmoid": [-3, 3], "hardtanh": [-1, 1], "threshold": [1],
          "softshrink": [-0.5, 0.5], "hardshrink": [-0.5, 0.5], "hard_elish": [-1, 0, 1], "sparse_plus": [-1, 1],
          "sparse_sigmoid": [-1, 1]}


def _moment(fn, k, kinks):
    # beyond |z| = 40 the weight is below e^-800: nothing these functions' growth can lift to 1e-12
    nodes = [-40, *kinks, 40]
    return mpmath.quad(lambda z: fn(z) ** k * mpmath.exp(-z * z / 2), nodes) / mpmath.sqrt(2 * mpmath.pi)


@pytest.mark.parametrize("name", sorted(MP_F))
def test_moments_have_twelve_right_digits(name):
    p = al.properties(name)
    kinks = _KINKS.get(name, [0])
    # 30 digits; 51 for SELU, whose E[f(Z)] ≈ 1e-32 is a difference of terms near 0.4
    with mpmath.workprec(170 if name == "selu" else 100):
        d1 = _D1_KINKED.get(name) or D1.get(name) or (lambda t: mpmath.diff(MP_F[name], t))
        want = [_moment(MP_F[name], 1, kinks), _moment(MP_F[name], 2, kinks), _moment(d1, 1, kinks),
                _moment(d1, 2, kinks)]
    for field, got, w in zip(("E_f", "E_f2", "E_df", "E_df2"), (p.E_f, p.E_f2, p.E_df, p.E_df2), want, strict=True):
        assert abs(got - w) <= 1e-12 * abs(w) + 1e-300, (name, field, got, w)
    assert abs(p.init_gain - float(1 / mpmath.sqrt(want[1]))) <= 1e-12 * p.init_gain


def test_selu_mean_is_right_to_every_digit():
    # E[SELU(Z)] = λ(E[Z; Z>0] + α E[e^Z − 1; Z<0]) = λ(φ(0) + α(e^{1/2}Φ(−1) − 1/2)): a closed form
    with mpmath.workprec(300):
        lam = mpmath.mpf("1.0507009873554804934193349852946")
        alpha = mpmath.mpf("1.6732632423543772848170429916717")
        phi0 = 1 / mpmath.sqrt(2 * mpmath.pi)
        want = lam * (phi0 + alpha * (mpmath.exp(mpmath.mpf(1) / 2) * mpmath.ncdf(-1) - mpmath.mpf(1) / 2))
    assert abs(float(want) - -1.2014841457817363e-32) < 1e-45
    assert abs(al.properties("selu").E_f - float(want)) <= 1e-14 * abs(float(want))
