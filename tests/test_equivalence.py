"""Equivalence: three outcomes (proven, different with a witness, indistinguishable with its
evidence).  Witnesses are checked here with mpmath at 1000 bits from the formulas themselves
(evaluated by Python with an mpmath namespace, not by the package), on a corpus of near-misses
that once passed as "the same function" and of true twins written differently."""

import re
import time

import mpmath
import pytest

import activation_lab as al
from activation_lab.analysis.equivalence import catalog_match
from activation_lab.errors import ActivationLabError

from .test_saturation import MP_F


def _where(c, a, b):
    return a if c else b


_NS = dict(exp=mpmath.exp, tanh=mpmath.tanh, log=mpmath.log, erf=mpmath.erf, sqrt=mpmath.sqrt, pi=mpmath.pi,
           sin=mpmath.sin, abs=abs, where=_where, sigmoid=lambda u: 1 / (1 + mpmath.exp(-u)),
           softplus=lambda u: mpmath.log1p(mpmath.exp(u)), max=max, min=min, mpf=mpmath.mpf)


def _mp(formula_or_name):
    """The function at 1000 bits: a catalogue name through MP_F, a formula through eval."""
    if formula_or_name in MP_F:
        return MP_F[formula_or_name]
    # every number as an exact decimal at the working precision (1 + 1e-50 must not round to 1)
    text = re.sub(r"(?<![\w.])(\d+\.?\d*(?:e[+-]?\d+)?)", r"mpf('\1')", formula_or_name)
    code = compile(text, "<formula>", "eval")
    return lambda t: eval(code, {"__builtins__": {}}, {**_NS, "x": t})   # noqa: S307 - test formulas only


def _act(formula_or_name):
    return al.get(formula_or_name) if formula_or_name in MP_F else al.define(formula_or_name)


TELU = "x*tanh(exp(x))"
#: near-misses: (formula, catalogue name) pairs that differ somewhere on the float64 line
NEAR_MISSES = [
    # tiny factors and terms
    (f"{TELU}*(1 + 1e-50)", "telu"),
    (f"{TELU}*(1 + 1e-40)", "telu"),
    (f"{TELU}*(1 + 1e-20)", "telu"),
    ("x*sigmoid(x)*(1 + 1e-45)", "silu"),
    (f"{TELU} + 1e-52*x", "telu"),
    (f"{TELU} + 1e-300", "telu"),
    (f"{TELU} + 1e-40*sin(pi*x)", "telu"),
    ("x*tanh(softplus(x))*(1 + 1e-48)", "mish"),
    # far tails, beyond |x| = 1000
    (f"{TELU}*(1 + tanh(exp(-x - 1100)))", "telu"),
    (f"{TELU} + x*exp(-x - 3000)", "telu"),
    (f"{TELU}*(1 + exp(x - 2000))", "telu"),
    (f"{TELU}*(1 + exp(-x - 100000))", "telu"),
    (f"where(x < -5000, 2*x, {TELU})", "telu"),
    (f"where(x > 10000, x + 1, {TELU})", "telu"),
    ("x*sigmoid(x)*(1 + exp(-x - 1500))", "silu"),
    # bumps, narrow and wide
    (f"{TELU}*(1 + exp(-100*(x + 25)**2))", "telu"),
    (f"{TELU}*(1 + exp(-(x + 200)**2))", "telu"),
    (f"{TELU}*(1 + exp(-((x + 200)/10)**2))", "telu"),
    (f"{TELU}*(1 + exp(-((x - 7)/2)**2))", "telu"),
    (f"{TELU} + exp(-100*(x - 3)**2)", "telu"),
    (f"{TELU} + 1e-20*exp(-(x + 50)**2)", "telu"),
    (f"{TELU}*(1 + exp(-400*(x - 0.3)**2))", "telu"),
    (f"{TELU}*(1 + exp(-((x + 2000)/5)**2))", "telu"),
    ("x*sigmoid(x) + exp(-100*(x - 40)**2)", "silu"),
    # parameters changed in the 7th digit
    ("x*tanh(1.000001*exp(x))", "telu"),
    ("x*tanh(exp(1.000001*x))", "telu"),
    ("1.000001*x*tanh(exp(x))", "telu"),
    ("x*tanh(exp(x + 1e-6))", "telu"),
    ("x*sigmoid(1.000001*x)", "silu"),
    ("x*tanh(softplus(1.000001*x))", "mish"),
    ("x/2*(1 + erf(x/1.414214))", "gelu"),
    ("where(x > 0, x, 1.000001*(exp(x) - 1))", "elu"),
    ("where(x > 0, x, 0.01000001*x)", "lrelu"),
    ("1.0507009873554805*where(x > 0, x, 1.673263*(exp(x) - 1))", "selu"),
]

#: true twins: the catalogue entry written another way
TWINS = [
    ("x/(1+exp(-x))", "silu"),
    ("x*sigmoid(x)", "swish"),
    ("x*tanh(log(1+exp(x)))", "mish"),
    ("x*tanh(softplus(x))", "mish"),
    ("x/2*(1+erf(x/sqrt(2)))", "gelu"),
    ("x*log(1+1/(1+exp(-x)))", "logish"),
    ("max(x, 0)", "relu"),
    ("where(x >= 0, x, 0)", "relu"),
    ("x*(1 - 2/(exp(2*exp(x)) + 1))", "telu"),
    ("x*(exp(2*exp(x)) - 1)/(exp(2*exp(x)) + 1)", "telu"),
    ("log(1 + exp(x))", "softplus"),
    ("1/(1 + exp(-x))", "sigmoid"),
    ("(exp(x) - exp(-x))/(exp(x) + exp(-x))", "tanh"),
    ("where(x > 0, x, exp(x) - 1)", "elu"),
    ("x/(1 + abs(x))", "softsign"),
    ("min(max(x, 0), 6)", "relu6"),
]


def test_corpus_sizes():
    assert len(NEAR_MISSES) >= 30 and len(TWINS) >= 15


def _check_witness(v, formula, name):
    assert v.witness is not None and v.values is not None
    with mpmath.workprec(1000):
        t = mpmath.mpf(v.witness)
        fa, fb = _mp(formula)(t), MP_F[name](t)
        gap = abs(fa - fb) / max(abs(fa), abs(fb))
        assert gap > mpmath.mpf(10) ** -60, (v.witness, gap)
        # the reported values are the functions' values (to the digits printed)
        for shown, true in ((v.values[0], fa), (v.values[1], fb)):
            assert abs(mpmath.mpf(shown) - true) <= abs(true) * mpmath.mpf(10) ** -28 + mpmath.mpf(10) ** -400


@pytest.mark.parametrize("formula, name", NEAR_MISSES)
def test_near_misses_are_different_with_a_checked_witness(formula, name):
    start = time.monotonic()
    v = al.equivalent(_act(formula), name, seed=1)
    assert time.monotonic() - start < 10
    assert v.outcome == "different" and v.different and not v and "different" in str(v)
    assert "same function" not in str(v)
    _check_witness(v, formula, name)


@pytest.mark.parametrize("formula, name", TWINS)
def test_true_twins_are_proven_or_indistinguishable(formula, name):
    start = time.monotonic()
    v = al.equivalent(_act(formula), name)
    assert time.monotonic() - start < 10
    assert v.outcome in ("proven", "indistinguishable") and v.witness is None and not v.different
    # independent check that the corpus is right: equal at a few points at 1000 bits
    with mpmath.workprec(1000):
        for t in ("-7.3", "-0.4", "0", "0.9", "12.5"):
            a, b = _mp(formula)(mpmath.mpf(t)), MP_F[name](mpmath.mpf(t))
            assert abs(a - b) <= mpmath.mpf(10) ** -250 * max(1, abs(a))


def test_the_issue_cases_over_many_seeds():
    # bumps of width 2 to 20 once passed for 95 of 100 seeds
    for formula in (f"{TELU}*(1+exp(-100*(x+25)**2))", f"{TELU}*(1+exp(-(x+200)**2))"):
        act = al.define(formula)
        assert all(al.equivalent(act, "telu", seed=s).different for s in range(20))


def test_indistinguishable_says_what_it_is():
    # a difference confined far below the working precision everywhere: e^-2000·x at most 1e-860
    v = al.equivalent(al.define(f"{TELU} + exp(-2000)*x*exp(-x**2)"), "telu", seed=3)
    assert v.outcome == "indistinguishable" and not v and not v.proven
    text = str(v)
    assert "indistinguishable" in text and "not proven" in text and "same function" not in text
    assert f"{v.points} points" in text and "400 bits" in text and v.span == (-1.7976931348623157e308,
                                                                                1.7976931348623157e308)
    with mpmath.workprec(4000):     # it is a real difference, below any working precision
        t = mpmath.mpf("0.5")
        assert mpmath.exp(-2000) * t * mpmath.exp(-t * t) > 0


def test_slow_proof_is_bounded():
    # sp.simplify once took minutes on this; the search answers first
    start = time.monotonic()
    v = al.equivalent(al.define("x*tanh(1.0000000001*exp(x))"), "telu")
    assert time.monotonic() - start < 10 and v.different


def test_equal_piecewise_forms_that_differ_only_in_writing():
    # x > 0 or x >= 0 makes no difference when both branches give 0 at 0
    v = al.equivalent(al.define("where(x > 0, x, 0)"), al.define("where(x >= 0, x, 0)"))
    assert v.outcome in ("proven", "indistinguishable")


def test_different_functions():
    v = al.equivalent("telu", "mish")
    assert v.different and v.witness is not None
    with mpmath.workprec(200):
        t = mpmath.mpf(v.witness)
        assert MP_F["telu"](t) != MP_F["mish"](t)


def test_not_fooled_by_a_handful_of_points():
    # f + sin(πx) equals f at every integer: a check at fixed integer points would be fooled
    bumped = al.define("x*tanh(exp(x)) + sin(pi*x)")
    v = al.equivalent(bumped, "telu")
    assert v.different
    with mpmath.workprec(200):
        t = mpmath.mpf(v.witness)
        assert abs(mpmath.sin(mpmath.pi * t)) > 1e-40      # the witness is not an integer


def test_difference_at_a_single_kink_is_seen():
    v = al.equivalent(al.define("where(x > 0, x + 1, 0)"), al.define("where(x >= 0, x + 1, 0)"))
    assert v.different and v.witness == 0.0


def test_seed_reproduces_the_points():
    a, b = al.define(f"{TELU} + exp(-2000)*x*exp(-x**2)"), al.get("telu")
    first = al.equivalent(a, b, seed=1234)
    assert al.equivalent(a, b, seed=1234) == first and first.seed == 1234


def test_catalog_match():
    assert catalog_match(al.define("x/(1+exp(-x))")) == "silu"
    assert catalog_match(al.define("x*tanh(exp(x))")) == "telu"        # TanhExp ≡ TeLU
    assert catalog_match(al.define("x*exp(x)")) is None
    assert catalog_match("celu") == "celu"                             # its own entry first (α = 1 is ELU too)


@pytest.mark.parametrize("formula", ["x*sigmoid(x)*(1+1e-45)", f"{TELU}*(1 + 1e-50)",
                                     f"{TELU}*(1 + tanh(exp(-x - 1100)))"])
def test_equals_names_no_near_miss(formula):
    assert al.define(formula).equals is None
    assert catalog_match(al.define(formula)) is None


def test_bad_points():
    with pytest.raises(ActivationLabError, match="points"):
        al.equivalent("telu", "silu", points=3)


@pytest.mark.parametrize("formula,name,params", [
    ("x*sigmoid(2*x)", "swish", {"beta": "2"}),                       # x·σ(βx)
    ("log(1 + exp(3*x))/3", "softplus", {"beta": "3"}),               # log(1 + e^{βx})/β
    ("where(x > 0, x, 0.1*x)", "lrelu", {"alpha": "0.1"}),                # decimals as a user writes them
    ("x*sigmoid(1.702*x)", "swish", {"beta": "1.702"}),                   # not 851/500
    ("where(x > 0, x, 2*(exp(x/2) - 1))", "celu", {"alpha": "2"}),    # α(e^{x/α} − 1)
    ("where(x > 0, 1.5*x, 1.05*(exp(x) - 1))", "selu", {"scale": "1.5", "alpha": "0.7"}),
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
    assert al.equivalent(al.define(a), al.define(b)).different


def test_saturation_fit_keeps_small_coefficients():
    # GELU-tanh's f' decays like exp(-c|x|^3), c = 2*sqrt(2/pi)*0.044715 (the fallback fit, forced
    # by time_limit=0, once snapped c to 1/12)
    c = 2 * mpmath.sqrt(2 / mpmath.pi) * mpmath.mpf("0.044715")
    s = al.saturation("gelu_tanh", time_limit=0)
    assert abs(float(s.rate) - float(c)) < 1e-4 * float(c)


def test_related_builds_the_relation_for_equivalent():
    import fractions

    import sympy as sp

    from activation_lab.analysis.equivalence import equivalent, related

    before = al.get("telu").expr
    assert equivalent(al.define("2*x*tanh(exp(x))"), related("telu", "scaled", 2)).proven
    assert equivalent(al.define("x*tanh(exp(x)) - 1/3"), related("telu", "offset", fractions.Fraction(-1, 3))).proven
    assert equivalent(al.define("softplus(x + 0.5)"), related("softplus", "shifted", sp.Rational(1, 2))).proven
    # a factor 1 + 1e-45 is not 1: refuted, with a witness checked here at 1000 bits
    verdict = equivalent(al.define("2*x*tanh(exp(x))*(1 + 1e-45)"), related("telu", "scaled", 2), seed=3)
    assert verdict.different
    with mpmath.workprec(1000):
        t = mpmath.mpf(verdict.witness)
        f = 2 * t * mpmath.tanh(mpmath.exp(t))
        assert abs(f * (1 + mpmath.mpf("1e-45")) - f) > mpmath.mpf("1e-47") * abs(f)
    assert al.get("telu").expr == before          # the catalogue's activation is left alone
    with pytest.raises(ActivationLabError, match="unknown relation 'twice'"):
        related("telu", "twice", 2)
    with pytest.raises(ActivationLabError, match="exact number"):
        related("telu", "scaled", 0.5)
