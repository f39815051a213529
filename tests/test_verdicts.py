"""Issue 15's verdicts: quotient blanking by distance, moments to every printed digit.  Expected
values are computed here with mpmath from the functions' definitions."""

import mpmath
import numpy as np
import pytest

import activation_lab as al
from activation_lab.errors import ActivationLabError

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
