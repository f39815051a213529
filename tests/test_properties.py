"""Properties against values computed here with mpmath: minima and Lipschitz constants from
findroot on derivatives written out in this file, Gaussian moments from mpmath.quad and
closed forms, SELU's self-normalising fixed point from its published constants."""

import math

import mpmath
import pytest
import sympy as sp

import activation_lab as al
from activation_lab.errors import ActivationLabError

from .test_saturation import ALPHA, LAMBDA, MP_F, _sig, _sp, mp_derivative

x = sp.Symbol("x", real=True)


def _phi(t):
    return mpmath.exp(-t * t / 2) / mpmath.sqrt(2 * mpmath.pi)


#: f′ written out by hand
D1 = {
    "telu": lambda t: mpmath.tanh(mpmath.exp(t)) + t * mpmath.exp(t) * mpmath.sech(mpmath.exp(t)) ** 2,
    "silu": lambda t: _sig(t) * (1 + t * (1 - _sig(t))),
    "gelu": lambda t: mpmath.erfc(-t / mpmath.sqrt(2)) / 2 + t * _phi(t),
    "mish": lambda t: mpmath.tanh(_sp(t)) + t * _sig(t) * mpmath.sech(_sp(t)) ** 2,
}
#: f″ where written out by hand; the others by mpmath.diff of D1
D2 = {"gelu": lambda t: _phi(t) * (2 - t * t)}


def _d2(name):
    return D2.get(name, lambda t: mpmath.diff(D1[name], t))


@pytest.mark.parametrize("name, guess", [("telu", -1.1), ("silu", -1.3), ("gelu", -0.75), ("mish", -1.2)])
def test_global_minimum(name, guess):
    p = al.properties(name)
    with mpmath.workprec(200):
        where = mpmath.findroot(D1[name], guess)
        value = MP_F[name](where)
    assert abs(p.minimum[0] - where) <= 1e-12 * abs(where)
    assert abs(p.minimum[1] - value) <= 1e-12 * abs(value)
    assert p.maximum is None and p.bounded_below and not p.bounded_above


@pytest.mark.parametrize("name, up, down", [("telu", 0.7, -2.0), ("silu", 2.4, -2.4), ("gelu", 1.4, -1.4),
                                            ("mish", 1.5, -2.2)])
def test_derivative_range_and_lipschitz(name, up, down):
    p = al.properties(name)
    with mpmath.workprec(200):
        top, bottom = mpmath.findroot(_d2(name), up), mpmath.findroot(_d2(name), down)
        hi, lo = D1[name](top), D1[name](bottom)
    assert abs(p.derivative_max[1] - hi) <= 1e-12 * abs(hi) and abs(p.derivative_max[0] - top) <= 1e-10 * abs(top)
    assert abs(p.derivative_min[1] - lo) <= 1e-12 * abs(lo) and abs(p.derivative_min[0] - bottom) <= 1e-10 * abs(bottom)
    assert abs(p.lipschitz - max(abs(hi), abs(lo))) <= 1e-12 * abs(hi)
    assert not p.monotonic


def test_gelu_extremes_of_the_derivative_are_at_sqrt2():
    # GELU″ = φ(x)(2 − x²): f′ peaks at ±√2, where f′ = Φ(±√2) ± √2·φ(√2)
    p = al.properties("gelu")
    s2 = math.sqrt(2)
    assert abs(p.derivative_max[0] - s2) < 1e-13 and abs(p.derivative_min[0] + s2) < 1e-13
    with mpmath.workprec(100):
        want = mpmath.ncdf(mpmath.sqrt(2)) + mpmath.sqrt(2) * mpmath.npdf(mpmath.sqrt(2))
    assert abs(p.lipschitz - want) < 1e-13


def test_selu_is_self_normalising():
    p = al.properties("selu")
    assert abs(p.E_f) < 1e-9 and abs(p.E_f2 - 1) < 1e-9
    assert abs(p.init_gain - 1) < 1e-9
    assert p.smoothness == "C0" and p.monotonic
    # sup SELU′ = λα at 0⁻, approached from the left; inf 0 at −∞
    assert abs(p.derivative_max[1] - float(mpmath.mpf(LAMBDA) * mpmath.mpf(ALPHA))) < 1e-14
    assert p.derivative_min == (-math.inf, 0.0)


def test_telu_moments_against_quadrature():
    p = al.properties("telu")
    with mpmath.workprec(120):
        def moment(fn, k):
            # beyond |z| = 40 the Gaussian weight is below e^{-800}
            return mpmath.quad(lambda z: fn(z) ** k * _phi(z), [-40, -5, 0, 5, 40])
        want = [moment(MP_F["telu"], 1), moment(MP_F["telu"], 2), moment(D1["telu"], 1), moment(D1["telu"], 2)]
    for got, w in zip((p.E_f, p.E_f2, p.E_df, p.E_df2), want, strict=True):
        assert abs(got - w) <= 1e-12 * abs(w)
    assert abs(p.init_gain - 1 / math.sqrt(float(want[1]))) < 1e-12


def test_closed_form_moments():
    relu = al.properties("relu")
    assert abs(relu.E_f - 1 / math.sqrt(2 * math.pi)) < 1e-15          # E[max(0, Z)] = φ(0)
    assert abs(relu.E_f2 - 0.5) < 1e-15 and abs(relu.E_df - 0.5) < 1e-15
    assert abs(relu.init_gain - math.sqrt(2)) < 1e-14                  # He initialisation
    gelu = al.properties("gelu")
    assert abs(gelu.E_f - 1 / (2 * math.sqrt(math.pi))) < 1e-15        # E[ZΦ(Z)] = E[φ(Z)]
    assert abs(gelu.E_df - 0.5) < 1e-15                                 # E[Φ(Z)] + E[Zφ(Z)]
    assert abs(al.properties("tanh").E_f) < 1e-15 and abs(al.properties("sigmoid").E_f - 0.5) < 1e-15


def test_values_at_zero():
    p = al.properties("telu")
    assert p.f0 == 0.0
    assert abs(p.df0 - math.tanh(1)) < 1e-16 and abs(p.d2f0 - 2 / math.cosh(1) ** 2) < 1e-15
    assert al.properties("relu").df0 == 0.0        # left-hand value at the kink, as PyTorch


@pytest.mark.parametrize("name, smoothness", [("telu", "analytic"), ("relu", "C0"), ("elu", "C1"), ("celu", "C1"),
                                              ("selu", "C0"), ("softsign", "C1"), ("hardswish", "C0"),
                                              ("gelu", "analytic")])
def test_smoothness(name, smoothness):
    assert al.properties(name).smoothness == smoothness


def test_discontinuous_and_smoother_kinks():
    assert al.properties(al.define("where(x > 0, 1, 0)")).smoothness == "discontinuous"
    # x³ for x > 0, else 0: f, f′, f″ continuous at 0, f‴ jumps from 0 to 6
    assert al.properties(al.define("where(x > 0, x**3, 0)")).smoothness == "C2"


def test_monotonic_bounded_and_crossings():
    assert al.properties("elu").monotonic and al.properties("softplus").monotonic
    sig = al.properties("sigmoid")
    assert sig.bounded_below and sig.bounded_above and sig.zero_crossings == ()
    assert sig.minimum is None and sig.maximum is None
    assert al.properties("telu").zero_crossings == (0.0,)
    hs = al.properties("hardswish")
    assert hs.minimum == (-1.5, -0.375) and hs.kinks == (-3.0, 3.0)
    assert hs.derivative_max == (3.0, 1.5) and hs.lipschitz == 1.5     # f′(3⁻) = (2·3 + 3)/6
    r6 = al.properties("relu6")
    assert r6.maximum == (6.0, 6.0) and r6.minimum == (0.0, 0.0)


def test_lipschitz_of_softsign_and_sigmoid():
    assert al.properties("softsign").lipschitz == 1.0 and al.properties("softsign").derivative_max == (0.0, 1.0)
    assert abs(al.properties("sigmoid").lipschitz - 0.25) < 1e-16


def test_self_gated_form():
    assert sp.simplify(al.properties("telu").self_gated - sp.tanh(sp.exp(x))) == 0
    assert al.properties("relu").self_gated is None
    assert al.properties("tanh").self_gated is None


def test_moments_by_numerical_differentiation_for_mish():
    p = al.properties("mish")
    with mpmath.workprec(120):
        want = mpmath.quad(lambda z: mp_derivative("mish", z) ** 2 * _phi(z), [-40, 0, 40])
    assert abs(p.E_df2 - want) <= 1e-12 * want


def test_str_lists_everything():
    text = str(al.properties("telu"))
    for word in ("minimum", "Lipschitz", "smoothness", "E[f(Z)]", "init gain", "self-gated"):
        assert word in text


def test_not_finite_on_the_real_line():
    with pytest.raises(ActivationLabError, match="finite"):
        al.properties(al.define("log(x)"))
