"""Equivalence: equal functions recognised (symbolically or numerically), different ones
refuted with a witness that is checked here with mpmath, including differences a fixed
handful of points would miss."""

import mpmath
import pytest

import activation_lab as al
from activation_lab.analysis.equivalence import catalog_match
from activation_lab.errors import ActivationLabError

from .test_saturation import MP_F


@pytest.mark.parametrize("a, b", [
    ("tanhexp", "telu"),
    ("x/(1+exp(-x))", "silu"),
    ("x*tanh(log(1+exp(x)))", "mish"),
    ("x/2*(1+erf(x/sqrt(2)))", "gelu"),
    ("x*log(1+1/(1+exp(-x)))", "logish"),
    ("max(x, 0)", "relu"),
])
def test_equal_functions(a, b):
    fa = al.get(a) if "(" not in a else al.define(a)
    verdict = al.equivalent(fa, b)
    assert verdict and verdict.equal and verdict.witness is None
    assert "same function" in str(verdict)


def test_equal_piecewise_forms_that_differ_only_in_writing():
    # x > 0 or x >= 0 makes no difference when both branches give 0 at 0
    v = al.equivalent(al.define("where(x > 0, x, 0)"), al.define("where(x >= 0, x, 0)"))
    assert v.equal and v.method == "numerical" and v.points >= 48


def test_different_functions():
    v = al.equivalent("telu", "mish")
    assert not v and v.witness is not None
    with mpmath.workprec(200):
        t = mpmath.mpf(v.witness)
        assert MP_F["telu"](t) != MP_F["mish"](t)


def test_not_fooled_by_a_handful_of_points():
    # f + sin(πx) equals f at every integer: a check at fixed integer points would be fooled
    bumped = al.define("x*tanh(exp(x)) + sin(pi*x)")
    with mpmath.workprec(200):
        for n in range(-5, 6):
            assert abs(mpmath.sin(mpmath.pi * n)) < 1e-50
    v = al.equivalent(bumped, "telu")
    assert not v.equal
    with mpmath.workprec(200):
        t = mpmath.mpf(v.witness)
        assert abs(mpmath.sin(mpmath.pi * t)) > 1e-40      # the witness is not an integer


def test_tiny_difference_is_seen():
    v = al.equivalent(al.define("x*tanh(exp(x)) + 1e-30*exp(-x**2)"), "telu")
    assert not v.equal and 1e-45 < v.max_difference < 1e-25


def test_difference_at_a_single_kink_is_seen():
    v = al.equivalent(al.define("where(x > 0, x + 1, 0)"), al.define("where(x >= 0, x + 1, 0)"))
    assert not v.equal and v.witness == 0.0


def test_seed_reproduces_the_points():
    a, b = al.define("x*tanh(exp(x)) + sin(pi*x)"), al.get("telu")
    first = al.equivalent(a, b, seed=1234)
    assert al.equivalent(a, b, seed=1234) == first and first.seed == 1234


def test_catalog_match():
    assert catalog_match(al.define("x/(1+exp(-x))")) == "silu"
    assert catalog_match(al.define("x*tanh(exp(x))")) == "telu"        # TanhExp ≡ TeLU
    assert catalog_match(al.define("x*exp(x)")) is None
    assert catalog_match("celu") == "celu"                             # its own entry first (α = 1 is ELU too)


def test_bad_points():
    with pytest.raises(ActivationLabError, match="points"):
        al.equivalent("telu", "silu", points=3)


@pytest.mark.parametrize("formula,name,params", [
    ("x*sigmoid(2*x)", "swish", {"beta": "2"}),                       # x·σ(βx)
    ("log(1 + exp(3*x))/3", "softplus", {"beta": "3"}),               # log(1 + e^{βx})/β
    ("where(x > 0, x, 0.1*x)", "lrelu", {"alpha": "1/10"}),
    ("where(x > 0, x, 2*(exp(x/2) - 1))", "celu", {"alpha": "2"}),    # α(e^{x/α} − 1)
    ("where(x > 0, 1.5*x, 1.05*(exp(x) - 1))", "selu", {"scale": "3/2", "alpha": "7/10"}),
])
def test_catalogue_entries_with_other_parameters_are_recognised(formula, name, params):
    from activation_lab.analysis.equivalence import catalog_fit

    assert catalog_fit(al.define(formula)) == (name, params)


@pytest.mark.parametrize("formula", ["x*tanh(exp(x)/2)", "x*sigmoid(x)", "x*sigmoid(2*x) + 0.001*x"])
def test_no_parameter_match_where_there_is_none(formula):
    from activation_lab.analysis.equivalence import catalog_fit

    # x·σ(x) is SiLU and Swish at its default β = 1: catalog_match's answer, not a new parameter
    assert catalog_fit(al.define(formula)) is None


@pytest.mark.parametrize("a,b", [
    ("x*tanh(exp(x)) + exp(-200)*x", "x*tanh(exp(x))"),   # the extra term is never above 1e-60 where sampled
    ("1e-70*x", "2e-70*x"),
    ("exp(-150)*x*tanh(exp(x))", "exp(-150)*x*sigmoid(x)"),
])
def test_tiny_functions_that_differ_are_told_apart(a, b):
    assert not al.equivalent(al.define(a), al.define(b))


def test_saturation_fit_keeps_small_coefficients():
    # GELU-tanh's f' decays like exp(-c|x|^3), c = 2*sqrt(2/pi)*0.044715 (the fallback fit, forced
    # by time_limit=0, once snapped c to 1/12)
    c = 2 * mpmath.sqrt(2 / mpmath.pi) * mpmath.mpf("0.044715")
    s = al.saturation("gelu_tanh", time_limit=0)
    assert abs(float(s.rate) - float(c)) < 1e-4 * float(c)
