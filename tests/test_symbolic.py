"""Symbolic derivatives against mpmath numerical differentiation of the catalogue formula."""

import zlib

import mpmath
import numpy as np
import pytest
import sympy as sp

import activation_lab as al

from .conftest import mp_raw_namespace

x = sp.Symbol("x", real=True)
KINKS = [0.0, -3.0, 3.0, 6.0]


def _points(seed: int, count: int = 10):
    rng = np.random.default_rng(seed)
    pts = []
    while len(pts) < count:
        v = float(rng.uniform(-8, 8))
        if min(abs(v - k) for k in KINKS) > 1e-2:
            pts.append(v)
    return pts


@pytest.mark.parametrize("n", [0, 1, 2])
def test_derivatives_agree_with_numerical_differentiation(act, n):
    # the formula in plain mpmath (primitives spelled out here), differentiated numerically
    raw = sp.lambdify(x, act.expr, modules=[mp_raw_namespace(), "mpmath"])
    shown = sp.lambdify(x, act.derivative(n) if n else act.expr, modules=[mp_raw_namespace(), "mpmath"])
    reference = act.mpmath(n)
    with mpmath.workdps(50):
        for v in _points(zlib.crc32(act.name.encode()) + n):
            want = mpmath.diff(raw, mpmath.mpf(v), n) if n else raw(mpmath.mpf(v))
            for got in (shown(mpmath.mpf(v)), reference(mpmath.mpf(v))):
                assert abs(got - want) <= mpmath.mpf(10) ** -30 * max(1, abs(want)), (act.name, n, v, got, want)


def test_telu_known_values():
    telu = al.get("telu")
    with mpmath.workdps(40):
        assert abs(telu.mpmath(1)(0) - mpmath.tanh(1)) < 1e-35
        assert abs(telu.mpmath(2)(0) - 2 * mpmath.sech(1) ** 2) < 1e-35
    d1 = telu.derivative(1)
    # TeLU'(x) = tanh(e^x) + x e^x sech^2(e^x), written out independently
    e = sp.exp(x)
    assert sp.simplify((d1 - (sp.tanh(e) + x * e * sp.sech(e) ** 2)).rewrite(sp.exp)) == 0


def test_derivatives_of_any_order():
    d5 = al.get("telu").derivative(5)
    with mpmath.workdps(40):
        f = sp.lambdify(x, al.get("telu").expr, "mpmath")
        want = mpmath.diff(f, mpmath.mpf("0.3"), 5)
        got = sp.lambdify(x, d5, "mpmath")(mpmath.mpf("0.3"))
        assert abs(got - want) < 1e-25


def test_latex_renders_formula():
    assert r"\tanh" in al.get("telu").latex() and "e^{x}" in al.get("telu").latex()
    assert r"\sigma" in al.get("silu").latex(0)
    assert al.get("telu").latex(2)


def test_kink_convention_matches_pytorch():
    # ReLU'(0) = 0, ReLU6'(6) = 0 (left derivative, PyTorch autograd); away from kinks exact
    relu = al.get("relu")
    assert relu.derivative(1).subs(x, 0) == 0 and relu.derivative(1).subs(x, 1) == 1
    assert al.get("relu6").derivative(1).subs(x, 6) == 0
    assert al.get("lrelu").derivative(1).subs(x, -5) == sp.Rational(1, 100)


def test_bad_order_is_rejected():
    with pytest.raises(al.ActivationLabError):
        al.get("telu").derivative(-1)
    with pytest.raises(al.ActivationLabError):
        al.get("telu").evaluate(1.0, n=1.5)
