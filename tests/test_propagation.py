"""Signal propagation (issue 18): edge of chaos, fixed points, depth scales and gains.

Expected values come from closed forms (ReLU, linear, erf: Williams 1997's arcsine kernel), from
PyTorch's published calculate_gain table, and from mpmath at 30 digits on the formulas written
out below; nothing here calls the package's mpmath target.
"""

from __future__ import annotations

import json
import math

import mpmath as mp
import numpy as np
import pytest

import activation_lab as al
from activation_lab.errors import ActivationLabError
from activation_lab.present.cli import main


def _sig(x):
    return 1 / (1 + mp.exp(-x))


#: f and f′ written out plainly (ELU: its left piece for x ≤ 0)
PLAIN = {
    "telu": (lambda x: x * mp.tanh(mp.exp(x)),
             lambda x: mp.tanh(mp.exp(x)) + x * mp.exp(x) * mp.sech(mp.exp(x)) ** 2),
    "silu": (lambda x: x * _sig(x), lambda x: _sig(x) * (1 + x * (1 - _sig(x)))),
    "gelu": (lambda x: x * mp.ncdf(x), lambda x: mp.ncdf(x) + x * mp.npdf(x)),
    "elu": (lambda x: x if x > 0 else mp.expm1(x), lambda x: mp.mpf(1) if x > 0 else mp.exp(x)),
    "tanh": (mp.tanh, lambda x: mp.sech(x) ** 2),
}


def _gauss(g, q):
    """E[g(√q·Z)²] by tanh-sinh quadrature, split at 0 (ELU's kink); |z| > 40 weighs < 1e-340."""
    s = mp.sqrt(q)
    return mp.quad(lambda z: g(s * z) ** 2 * mp.npdf(z), [-40, -5, 0, 5, 40])


def _mp_edge(name: str, sigma_b: str, guess: float):
    """(σ_w, q*) on the edge of chaos: q = E[f²]/E[f′²] + σ_b², σ_w = 1/√E[f′²], at 30 digits."""
    f, df = PLAIN[name]
    with mp.workdps(30):
        sb2 = mp.mpf(sigma_b) ** 2
        q = mp.findroot(lambda q: _gauss(f, q) / _gauss(df, q) + sb2 - q, mp.mpf(guess), tol=mp.mpf(10) ** -25)
        assert abs(_gauss(f, q) / _gauss(df, q) + sb2 - q) < mp.mpf(10) ** -20
        return 1 / mp.sqrt(_gauss(df, q)), q


def _agree(got: float, want, digits: int = 8) -> bool:
    return abs(got - float(want)) <= 0.5 * 10 ** (1 - digits) * abs(float(want))


# ----------------------------------------------------------------- the edge of chaos against mpmath
@pytest.mark.slow
@pytest.mark.parametrize("sigma_b", ["0.1", "0.2", "0.5"])
@pytest.mark.parametrize("name", list(PLAIN))
def test_edge_of_chaos_against_mpmath_to_8_digits(name, sigma_b):
    point = al.edge_of_chaos(name, float(sigma_b))
    assert point.exists, point.reason
    # the package's q* only starts the secant iteration; the root is mpmath's own
    sw, q = _mp_edge(name, sigma_b, point.q_star)
    assert _agree(point.sigma_w, sw), f"{name} at σ_b = {sigma_b}: σ_w {point.sigma_w!r}, mpmath {mp.nstr(sw, 12)}"
    assert _agree(point.q_star, q), f"{name} at σ_b = {sigma_b}: q* {point.q_star!r}, mpmath {mp.nstr(q, 12)}"
    # the carried error is small and honest
    assert point.errors["sigma_w"] < 1e-9 * point.sigma_w
    assert abs(point.sigma_w - float(sw)) <= 10 * point.errors["sigma_w"] + 1e-15


def test_relu_edge_is_the_single_point_sigma_b_0_sigma_w_sqrt2():
    at0 = al.edge_of_chaos("relu", 0.0)
    assert at0.exists and abs(at0.sigma_w - math.sqrt(2)) < 1e-13
    assert math.isnan(at0.q_star) and "every q" in at0.reason
    for b in (0.05, 0.1, 0.5):
        none = al.edge_of_chaos("relu", b)
        assert not none.exists and math.isnan(none.sigma_w)
        assert "single point σ_b = 0" in none.reason
        assert "none" in str(none)


def test_tanh_edge_at_sigma_b_0_is_sigma_w_1():
    point = al.edge_of_chaos("tanh", 0.0)
    assert point.exists and point.sigma_w == pytest.approx(1.0, abs=1e-14) and point.q_star == 0


def test_smooth_edge_at_sigma_b_0_is_one_over_fprime0():
    # q* = 0 there, so χ₁ = σ_w²·f′(0)²: TeLU′(0) = tanh 1, SiLU′(0) = GELU′(0) = 1/2
    assert al.edge_of_chaos("telu", 0.0).sigma_w == pytest.approx(1 / math.tanh(1), rel=1e-14)
    assert al.edge_of_chaos("silu", 0.0).sigma_w == pytest.approx(2.0, rel=1e-14)


def test_eoc_curve_leaves_the_callers_array_alone_and_matches_single_points():
    biases = np.array([0.1, 0.0, 0.5])
    before = biases.copy()
    curve = al.eoc_curve("tanh", sigma_b=biases)
    assert np.array_equal(biases, before)
    assert list(curve.sigma_b) == [0.1, 0.0, 0.5] and curve.exists.all()
    assert curve.sigma_w[1] == pytest.approx(1.0, abs=1e-14)
    assert curve.sigma_w[0] == al.edge_of_chaos("tanh", 0.1).sigma_w
    relu = al.eoc_curve("relu", sigma_b=[0.0, 0.2])
    assert list(relu.exists) == [True, False] and "none" in str(relu)


def test_unstable_fixed_point_on_the_edge_is_said():
    # SiLU at small σ_b: V′(q*) = 1 + σ_w²E[f·f″] > 1 on the edge (checked here by a finite difference in mpmath)
    point = al.edge_of_chaos("silu", 0.1)
    f, _ = PLAIN["silu"]
    with mp.workdps(25):
        q, h = mp.mpf(point.q_star), mp.mpf(10) ** -8
        slope = mp.mpf(point.sigma_w) ** 2 * (_gauss(f, q + h) - _gauss(f, q - h)) / (2 * h)
    assert slope > 1 and not point.q_stable and "unstable" in point.reason


# ----------------------------------------------------------------- one point: closed forms
def test_linear_activation_chi1_is_sigma_w_squared():
    linear = al.define("x")
    for sw, sb in ((0.9, 0.1), (0.5, 0.3)):
        p = al.propagation(linear, sw, sb)
        assert p.chi1 == pytest.approx(sw * sw, rel=1e-14)
        assert p.q_star == pytest.approx(sb * sb / (1 - sw * sw), rel=1e-12)
        assert p.c_star == 1 and p.xi_c == pytest.approx(-1 / math.log(sw * sw), rel=1e-12)
    assert al.edge_of_chaos(linear, 0.0).sigma_w == pytest.approx(1.0, rel=1e-14)


def test_relu_closed_forms_in_the_ordered_phase():
    sw, sb = 1.2, 0.3
    p = al.propagation("relu", sw, sb)
    assert p.status == "ok" and p.phase == "ordered" and p.q_stable
    assert p.q_star == pytest.approx(sb * sb / (1 - sw * sw / 2), rel=1e-12)
    assert p.chi1 == pytest.approx(sw * sw / 2, rel=1e-13)
    assert p.v_slope == pytest.approx(sw * sw / 2, rel=1e-12)
    assert p.xi_c == pytest.approx(-1 / math.log(sw * sw / 2), rel=1e-12)
    grows = al.propagation("relu", 1.6, 0.1)
    assert grows.status == "no fixed point" and "grows without bound" in grows.reason


def test_erf_chaotic_phase_against_the_arcsine_kernel():
    """f = erf: E[f(u)f(v)] = 2/π·asin(2qc/(1+2q)), E[f′(u)f′(v)] = 4/π/√((1+2q)² − 4q²c²) (Williams 1997)."""
    sw, sb = 2.5, 0.3
    p = al.propagation(al.define("erf(x)"), sw, sb)
    with mp.workdps(30):
        w2, b2 = mp.mpf(sw) ** 2, mp.mpf(sb) ** 2
        q = mp.findroot(lambda q: w2 * 2 / mp.pi * mp.asin(2 * q / (1 + 2 * q)) + b2 - q, (0.5, 20),
                         solver="anderson")
        chi = w2 * 4 / mp.pi / mp.sqrt(1 + 4 * q)
        c = mp.findroot(lambda c: (w2 * 2 / mp.pi * mp.asin(2 * q * c / (1 + 2 * q)) + b2) / q - c, (0.0, 0.9),
                        solver="anderson")
        slope = w2 * 4 / mp.pi / mp.sqrt((1 + 2 * q) ** 2 - 4 * q * q * c * c)
        v_slope = w2 * 4 / mp.pi / ((1 + 2 * q) * mp.sqrt(1 + 4 * q))
    assert p.phase == "chaotic"
    for got, want, what in ((p.q_star, q, "q*"), (p.chi1, chi, "chi1"), (p.c_star, c, "c*"),
                            (p.c_slope, slope, "C'(c*)"), (p.xi_c, -1 / mp.log(slope), "xi_c"),
                            (p.v_slope, v_slope, "V'(q*)"), (p.xi_q, -1 / mp.log(v_slope), "xi_q")):
        assert _agree(got, want, 10), f"{what}: {got!r} vs {mp.nstr(want, 15)}"
        assert abs(got - float(want)) <= 10 * p.errors[what.replace("*", "_star").replace("C'(c_star)", "c_slope")
                                                         .replace("V'(q_star)", "v_slope")] + 1e-15


def test_correlation_and_variance_maps_against_closed_forms():
    erf = al.define("erf(x)")
    q, c, sw, sb = 0.7, 0.4, 1.3, 0.2
    with mp.workdps(30):
        num = sw ** 2 * 2 / mp.pi * mp.asin(2 * q * c / (1 + 2 * q)) + sb ** 2
        den = sw ** 2 * 2 / mp.pi * mp.asin(2 * q / (1 + 2 * q)) + sb ** 2
    assert al.analysis.propagation.variance_map(erf, q, sw, sb) == pytest.approx(float(den), rel=1e-13)
    assert al.analysis.propagation.correlation_map(erf, c, sw, sb, q) == pytest.approx(float(num / den), rel=1e-12)


# ----------------------------------------------------------------- clear answers
def test_sigma_w_not_positive_is_a_clear_error():
    for bad in (0.0, -1.0, math.nan, "1"):
        with pytest.raises(ActivationLabError, match="sigma_w must be a finite number > 0"):
            al.propagation("telu", bad, 0.1)
    with pytest.raises(ActivationLabError, match="sigma_b must be a finite number ≥ 0"):
        al.edge_of_chaos("telu", -0.1)


def test_undefined_expectation_is_an_answer_not_an_exception():
    blow_up = al.define("exp(x**2)")       # E[exp(2qZ²)] diverges for q ≥ 1/4
    p = al.propagation(blow_up, 1.0, 0.5)
    assert p.status == "undefined" and "diverges" in p.reason and math.isnan(p.q_star)
    e = al.edge_of_chaos(blow_up, 0.1)
    assert not e.exists and "undefined" in e.reason
    g = al.gain(blow_up, "variance")
    assert not g.defined and "diverges" in g.statement
    # below q = 1/4 it is defined: the fixed point of q = 0.01/√(1 − 4q) from q0 = 0.01
    small = al.propagation(blow_up, 0.1, 0.0, q0=0.01)
    with mp.workdps(30):
        want = mp.findroot(lambda q: mp.mpf("0.01") / mp.sqrt(1 - 4 * q) - q, (0.005, 0.2), solver="anderson")
    assert small.status == "ok" and small.q_star == pytest.approx(float(want), rel=1e-10)


def test_no_edge_of_chaos_says_why():
    e = al.edge_of_chaos("softplus", 0.1)
    assert not e.exists and "grows without bound" in e.reason


# ----------------------------------------------------------------- gains
def test_torch_gains_are_pytorchs_values():
    expect = {"sigmoid": 1.0, "tanh": 5 / 3, "relu": math.sqrt(2), "selu": 0.75,
              "lrelu": math.sqrt(2 / (1 + 0.01 ** 2))}
    for name, value in expect.items():
        g = al.gain(name, "torch")
        assert g.defined and g.value == pytest.approx(value, rel=1e-15), name
    assert al.gain(al.define("x"), "torch").value == 1.0
    slope = al.gain(al.get("lrelu", alpha=0.2), "torch")
    assert slope.value == pytest.approx(math.sqrt(2 / 1.04), rel=1e-15)
    for name in ("telu", "gelu", "mish"):
        g = al.gain(name, "torch")
        assert not g.defined and math.isnan(g.value) and "does not define" in g.statement
    assert not al.gain(al.get("selu", scale=2), "torch").defined      # not PyTorch's SELU


def test_variance_and_eoc_gains():
    assert al.gain("relu", "variance").value == pytest.approx(math.sqrt(2), rel=1e-14)
    with mp.workdps(30):
        want = 1 / mp.sqrt(_gauss(PLAIN["tanh"][0], 1))
    assert al.gain("tanh", "variance").value == pytest.approx(float(want), rel=1e-13)
    assert al.gain("tanh", "eoc").value == pytest.approx(1.0, abs=1e-14)
    all_three = al.gain("tanh")
    assert [g.convention for g in (all_three.torch, all_three.variance, all_three.eoc)] == ["torch", "variance", "eoc"]
    assert "5/3" not in str(all_three) and "1.666666667" in str(all_three)
    with pytest.raises(ActivationLabError, match="unknown gain convention 'kaiming'"):
        al.gain("tanh", "kaiming")


def test_printed_digits_follow_the_error():
    sig = al.analysis.propagation.significant
    assert sig(1.23456789, 0.0004) == "1.23"
    assert sig(1.0, 0.0) == "1" and sig(math.inf, 0) == "inf"


# ----------------------------------------------------------------- CLI
def test_cli_propagate_table_and_json(capsys):
    assert main(["propagate", "relu,tanh", "--sigma-b", "0,0.1"]) == 0
    out = capsys.readouterr().out
    assert "telu" in out and "relu" in out and "1.414213562" in out and "single point" in out
    assert main(["propagate", "tanh", "--sigma-b", "0", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["activations"]) == {"telu", "tanh"}
    assert data["activations"]["tanh"]["edge_of_chaos"][0]["sigma_w"] == pytest.approx(1.0, abs=1e-14)
    assert data["activations"]["tanh"]["gain"]["torch"]["value"] == pytest.approx(5 / 3)
    assert main(["propagate", "tanh", "--at", "0,0.1"]) == 2
    assert "sigma_w must be" in capsys.readouterr().err
    assert main(["propagate", "tanh", "--sigma-b", "a,b"]) == 2
