"""Saturation: kind and leading term of f′ as x → −∞ for every catalogue activation, and the
approach to the identity as x → +∞, checked against mpmath values computed here.

The expected leading terms are derived by hand (dominant-balance on each formula) and
confirmed numerically in the test: f′(x)/leading(x) → 1, with f′ from mpmath.diff of the
formula written out in plain mpmath below.
"""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

import activation_lab as al
from activation_lab.errors import ActivationLabError, UnknownActivationError

x = sp.Symbol("x", real=True)

LAMBDA = "1.0507009873554804934193349852946"   # SELU, Klambauer et al. (2017)
ALPHA = "1.6732632423543772848170429916717"


def _sig(u):
    return 1 / (1 + mpmath.exp(-u))


def _sp(u):
    return mpmath.log1p(mpmath.exp(u))


def _piece(cond, a, b):
    return a if cond else b


#: every catalogue activation written out in plain mpmath, independently of the package
MP_F = {
    "telu": lambda t: t * mpmath.tanh(mpmath.exp(t)),
    "relu": lambda t: _piece(t > 0, t, 0 * t),
    "lrelu": lambda t: _piece(t > 0, t, t / 100),
    "prelu": lambda t: _piece(t > 0, t, t / 4),
    "elu": lambda t: _piece(t > 0, t, mpmath.expm1(t)),
    "selu": lambda t: mpmath.mpf(LAMBDA) * _piece(t > 0, t, mpmath.mpf(ALPHA) * mpmath.expm1(t)),
    "celu": lambda t: _piece(t > 0, t, mpmath.expm1(t)),
    "silu": lambda t: t * _sig(t),
    "swish": lambda t: t * _sig(t),
    "gelu": lambda t: t * mpmath.erfc(-t / mpmath.sqrt(2)) / 2,
    # 1 + tanh(u) = 2σ(2u): the same function, without cancellation far out on the left
    "gelu_tanh": lambda t: t * _sig(2 * mpmath.sqrt(2 / mpmath.pi) * (t + mpmath.mpf("0.044715") * t**3)),
    "mish": lambda t: t * mpmath.tanh(_sp(t)),
    "logish": lambda t: t * mpmath.log1p(_sig(t)),
    "smish": lambda t: t * mpmath.tanh(mpmath.log1p(_sig(t))),
    "serf": lambda t: t * mpmath.erf(_sp(t)),
    "softplus": lambda t: _sp(t),
    "tanh": lambda t: mpmath.tanh(t),
    "sigmoid": lambda t: _sig(t),
    "softsign": lambda t: t / (1 + abs(t)),
    "hardswish": lambda t: _piece(t <= -3, 0 * t, _piece(t >= 3, t, t * (t + 3) / 6)),
    "relu6": lambda t: _piece(t <= 0, 0 * t, _piece(t >= 6, 6 + 0 * t, t)),
    # the entries added for issue 16, from each one's defining formula
    "hardsigmoid": lambda t: _piece(t <= -3, 0 * t, _piece(t >= 3, 1 + 0 * t, t / 6 + mpmath.mpf(1) / 2)),
    "hardtanh": lambda t: _piece(t <= -1, -1 + 0 * t, _piece(t >= 1, 1 + 0 * t, t)),
    "rrelu": lambda t: _piece(t > 0, t, t * (mpmath.mpf(1) / 8 + mpmath.mpf(1) / 3) / 2),
    "threshold": lambda t: _piece(t > 1, t, 0 * t),
    "squared_relu": lambda t: _piece(t > 0, t**2, 0 * t),
    "logsigmoid": lambda t: mpmath.log(_sig(t)),
    "logcosh": lambda t: mpmath.log(mpmath.cosh(t)),
    "softshrink": lambda t: _piece(t > 0.5, t - 0.5, _piece(t < -0.5, t + 0.5, 0 * t)),
    "hardshrink": lambda t: _piece(abs(t) > 0.5, t, 0 * t),
    "tanhshrink": lambda t: t - mpmath.tanh(t),
    "lisht": lambda t: t * mpmath.tanh(t),
    "quick_gelu": lambda t: t * _sig(mpmath.mpf("1.702") * t),
    "elish": lambda t: _piece(t > 0, t * _sig(t), mpmath.expm1(t) * _sig(t)),
    "hard_elish": lambda t: _piece(t > 0, _piece(t < 1, t * (t + 1) / 2, t),
                                   _piece(t > -1, mpmath.expm1(t) * (t + 1) / 2, 0 * t)),
    "squareplus": lambda t: (t + mpmath.sqrt(t**2 + 4)) / 2,
    "sparse_plus": lambda t: _piece(t <= -1, 0 * t, _piece(t >= 1, t, (t + 1) ** 2 / 4)),
    "sparse_sigmoid": lambda t: _piece(t <= -1, 0 * t, _piece(t >= 1, 1 + 0 * t, (t + 1) / 2)),
    "snake": lambda t: t + mpmath.sin(t) ** 2,
    "isru": lambda t: t / mpmath.sqrt(1 + t**2),
    "isrlu": lambda t: _piece(t > 0, t, t / mpmath.sqrt(1 + t**2)),
    "bent_identity": lambda t: (mpmath.sqrt(t**2 + 1) - 1) / 2 + t,
    "arctan": lambda t: mpmath.atan(t),
    "exponential": lambda t: mpmath.exp(t),
    "linear": lambda t: t,
}

_C = sp.Rational(44715, 10**6)            # gelu_tanh's cubic coefficient
_K = sp.sqrt(2 / sp.pi)
#: f′ as x → −∞, derived by hand: name -> (kind, leading term)
EXPECTED = {
    "telu": ("exponential", x * sp.exp(x)),            # (1 + x)eˣ + O(e³ˣ)
    "relu": ("zero", sp.S.Zero),
    "lrelu": ("constant", sp.Rational(1, 100)),
    "prelu": ("constant", sp.Rational(1, 4)),
    "elu": ("exponential", sp.exp(x)),
    "selu": ("exponential", sp.Rational(LAMBDA) * sp.Rational(ALPHA) * sp.exp(x)),
    "celu": ("exponential", sp.exp(x)),
    "silu": ("exponential", x * sp.exp(x)),
    "swish": ("exponential", x * sp.exp(x)),
    "gelu": ("super-exponential", x * sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)),   # Φ + xφ ~ xφ
    # x·σ(2u), u = K(x + Cx³): f′ ~ x·2u′·e^{2u} ~ 6KC·x³·e^{2K(x + Cx³)}
    "gelu_tanh": ("super-exponential", 6 * _K * _C * x**3 * sp.exp(2 * _K * (x + _C * x**3))),
    "mish": ("exponential", x * sp.exp(x)),
    "logish": ("exponential", x * sp.exp(x)),
    "smish": ("exponential", x * sp.exp(x)),
    "serf": ("exponential", 2 / sp.sqrt(sp.pi) * x * sp.exp(x)),   # erf(u) ~ 2u/√π, softplus ~ eˣ
    "softplus": ("exponential", sp.exp(x)),
    "tanh": ("exponential", 4 * sp.exp(2 * x)),                      # sech² x ~ 4e^{2x}
    "sigmoid": ("exponential", sp.exp(x)),
    "softsign": ("polynomial", x**-2),                               # 1/(1 − x)²
    "hardswish": ("zero", sp.S.Zero),
    "relu6": ("zero", sp.S.Zero),
    "hardsigmoid": ("zero", sp.S.Zero),
    "hardtanh": ("zero", sp.S.Zero),
    "rrelu": ("constant", sp.Rational(11, 48)),                      # (1/8 + 1/3)/2
    "threshold": ("zero", sp.S.Zero),
    "squared_relu": ("zero", sp.S.Zero),
    "logsigmoid": ("constant", sp.S.One),                            # σ(−x) → 1
    "logcosh": ("constant", -sp.S.One),                              # tanh x → −1
    "softshrink": ("constant", sp.S.One),
    "hardshrink": ("constant", sp.S.One),
    "tanhshrink": ("constant", sp.S.One),                            # 1 − sech² x
    "lisht": ("constant", -sp.S.One),                                # tanh x + x·sech² x
    # σ(βx) + βx·σ′(βx) ~ βx·e^{βx}, β = 1.702
    "quick_gelu": ("exponential", sp.Rational(851, 500) * x * sp.exp(sp.Rational(851, 500) * x)),
    "elish": ("exponential", -sp.exp(x)),                            # eˣσ(x) + (eˣ − 1)σ′(x) ~ −eˣ
    "hard_elish": ("zero", sp.S.Zero),
    "squareplus": ("polynomial", x**-2),                             # (1 + x/√(x² + 4))/2 ~ 1/x²
    "sparse_plus": ("zero", sp.S.Zero),
    "sparse_sigmoid": ("zero", sp.S.Zero),
    "isru": ("polynomial", -x**-3),                                  # (1 + x²)^{−3/2} ~ |x|⁻³
    "isrlu": ("polynomial", -x**-3),
    "bent_identity": ("constant", sp.Rational(1, 2)),                # 1 + x/(2√(x² + 1)) → 1/2
    "arctan": ("polynomial", x**-2),                                 # 1/(1 + x²)
    "exponential": ("exponential", sp.exp(x)),
    "linear": ("constant", sp.S.One),
}

#: entries whose f′ has no leading term at −∞: snake′ = 1 + sin 2x oscillates
NO_LEADING_TERM = {"snake"}


def mp_derivative(name: str, t, n: int = 1):
    """f⁽ⁿ⁾(t) of the catalogue activation ``name`` by mpmath numerical differentiation."""
    return mpmath.diff(MP_F[name], t, n)


def test_every_catalogue_entry_is_covered():
    assert set(EXPECTED) | NO_LEADING_TERM == set(al.names()) == set(MP_F)
    assert not set(EXPECTED) & NO_LEADING_TERM


@pytest.mark.parametrize("name", sorted(NO_LEADING_TERM))
def test_an_oscillating_derivative_has_no_leading_term(name):
    """A fit that does not hold far out is refused, not reported (it was an 'exponential' here)."""
    with mpmath.workprec(200):   # f′ = 1 + sin 2x, written out, is 0 and 2 again and again far out
        low, high = (mp_derivative(name, -k * mpmath.pi / 4 - 300 * mpmath.pi) for k in (1, 3))
    assert abs(low) < 1e-20 and abs(high - 2) < 1e-20
    with pytest.raises(ActivationLabError, match="no leading term"):
        al.saturation(name)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_kind_and_leading_term_at_minus_infinity(name):
    kind, lead = EXPECTED[name]
    s = al.saturation(name)
    assert s.kind == kind
    assert sp.simplify(s.leading - lead) == 0, (s.leading, lead)
    assert not s.numerical_fallback and s.agree
    # the expected term itself, checked here: f′(x)/lead(x) → 1 as x → −∞
    lead_mp = sp.lambdify(x, lead, "mpmath")
    with mpmath.workprec(2000):     # f = −1 + O(e^{−240}) for ELU: differentiation needs the bits
        d = {t: mp_derivative(name, mpmath.mpf(t)) for t in (-60, -240)}
        if lead == 0:
            assert d[-60] == 0 and d[-240] == 0
            assert all(r == 1.0 for r in s.ratios.values())
            return
        errs = [abs(d[t] / lead_mp(mpmath.mpf(t)) - 1) for t in (-60, -240)]
    assert errs[1] < 0.01 and errs[1] <= errs[0] + 1e-30
    # and the module's own ratios point the same way
    assert set(s.ratios) == {-20.0, -100.0, -1000.0}
    assert abs(s.ratios[-1000.0] - 1) < 0.01


def test_shared_class_of_telu_and_its_competitors():
    # the paper's group: TeLU, SiLU, Mish, Logish and Smish share the x·eˣ class
    for name in ("telu", "silu", "mish", "logish", "smish"):
        s = al.saturation(name)
        assert (s.kind, s.rate, s.prefactor_power, s.constant) == ("exponential", 1, 1, 1)
        assert s.exponent == x
    assert al.saturation("gelu").rate == sp.Rational(-1, 2)          # e^{−x²/2}
    assert al.saturation("softsign").rate == -2
    assert al.saturation("elu").prefactor_power == 0


def test_ratios_tend_to_one_as_computed_here():
    s = al.saturation("telu")
    with mpmath.workprec(300):
        for t in (-20, -100, -1000):
            # TeLU′ written out: tanh(eˣ) + x·eˣ·sech²(eˣ)
            e = mpmath.exp(mpmath.mpf(t))
            want = (mpmath.tanh(e) + t * e * mpmath.sech(e) ** 2) / (t * e)
            assert abs(s.ratios[float(t)] - want) <= 1e-12 * abs(want)


def test_telu_approaches_the_identity_double_exponentially():
    s = al.saturation("telu", direction=1, order=0)
    assert s.kind == "double-exponential"
    assert sp.simplify(s.leading - 2 * sp.exp(-2 * sp.exp(x))) == 0
    assert s.asymptote == x and s.agree and not s.numerical_fallback
    with mpmath.workprec(3000):     # 1 − tanh(e⁵) ≈ e^{−297}: computed by brute precision
        for t in (3, 5):
            got = 1 - MP_F["telu"](mpmath.mpf(t)) / t
            want = 2 * mpmath.exp(-2 * mpmath.exp(t))
            assert abs(got / want - 1) < 1e-6


@pytest.mark.parametrize("name, kind, lead", [
    ("silu", "exponential", sp.exp(-x)),                          # 1 − σ(x) = σ(−x)
    ("mish", "exponential", 2 * sp.exp(-2 * x)),                  # 1 − tanh(u) ~ 2e^{−2u}, u ~ x
    ("gelu", "super-exponential", sp.exp(-x**2 / 2) / (x * sp.sqrt(2 * sp.pi))),   # Φ(−x) ~ φ(x)/x
    ("relu", "zero", sp.S.Zero),
])
def test_approach_at_plus_infinity(name, kind, lead):
    s = al.saturation(name, direction=1, order=0)
    assert s.kind == kind and s.asymptote == x
    assert sp.simplify(s.leading - lead) == 0
    assert s.agree


def test_telu_derivative_at_plus_infinity():
    s = al.saturation("telu", direction=1)
    assert s.asymptote == 1 and s.kind == "double-exponential"
    assert sp.simplify(s.leading - (-4 * x * sp.exp(x - 2 * sp.exp(x)))) == 0
    assert s.agree


def test_decay_at_plus_infinity_is_described_directly():
    s = al.saturation("sigmoid", direction=1)
    assert s.asymptote is None and s.kind == "exponential" and s.leading == sp.exp(-x)


def test_numerical_fallback_when_out_of_time():
    s = al.saturation("telu", time_limit=0)
    assert s.numerical_fallback
    assert (s.kind, s.rate, s.prefactor_power) == ("exponential", 1, 1)
    assert abs(float(s.constant) - 1) < 1e-3 and s.agree


def test_numerical_fallback_outside_the_calculus():
    # f′ ~ x·eˣ·log(−x): a log of a power of x is outside the calculus
    s = al.saturation(al.define("x*exp(x)*log(1 - x)"))
    assert s.numerical_fallback and s.kind == "exponential" and s.rate == 1


def test_oscillating_function_is_refused():
    with pytest.raises(ActivationLabError, match="oscillat"):
        al.saturation(al.define("sin(x)"))


def test_higher_orders():
    s = al.saturation("mish", order=2)
    assert s.kind == "exponential" and sp.simplify(s.leading - x * sp.exp(x)) == 0   # (2 + x)eˣ
    with mpmath.workprec(300):
        t = mpmath.mpf(-200)
        assert abs(mp_derivative("mish", t, 2) / (t * mpmath.exp(t)) - 1) < 0.02


def test_local_rate_against_mpmath():
    s = al.saturation("telu")
    xs = np.array([-1000.0, -50.0, -5.0, -0.5, 2.0])
    keep = xs.copy()
    rate = s.local_rate(xs)
    assert np.array_equal(xs, keep) and rate.shape == xs.shape
    with mpmath.workprec(300):
        for v, got in zip(xs, rate, strict=True):
            t = mpmath.mpf(v)
            want = -mp_derivative("telu", t, 2) / mp_derivative("telu", t, 1)
            assert abs(got - want) <= 1e-10 * abs(want), (v, got, want)
    assert math.isnan(al.saturation("relu").local_rate([-1.0])[0])   # ln 0


def test_str_is_readable():
    text = str(al.saturation("gelu"))
    assert "super-exponential" in text and "exp(-x**2/2)" in text and "tends to 1" in text


@pytest.mark.parametrize("kwargs", [{"direction": 0}, {"direction": 2}, {"order": -1}, {"time_limit": -1}])
def test_bad_arguments(kwargs):
    with pytest.raises(ActivationLabError):
        al.saturation("telu", **kwargs)


def test_unknown_name():
    with pytest.raises(UnknownActivationError, match="gelu"):
        al.saturation("gelo")
