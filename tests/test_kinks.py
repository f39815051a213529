"""Derivatives at kinks (issue 15, "Conventions stated and consistent"): every kink of every
catalogue entry (and of the frameworks' variants that differ there), f' and f'' at the kink
point, as written here from PyTorch's autograd where PyTorch has the function, and the table in
README.md ("Derivatives at kinks") says the same.

Where PyTorch has the function, the expected values are PyTorch's backward formulas:
threshold_backward (relu, threshold, relu6 via hardtanh): grad where x > threshold (hardtanh:
min < x < max); leaky_relu_backward, prelu, rrelu (evaluation mode): the slope where x <= 0;
elu_backward: α·eˣ (·scale) where x <= 0; hardswish_backward: x/3 + 1/2 on [-3, 3];
hardsigmoid_backward: 1/6 on (-3, 3); softshrink/hardshrink_backward: 0 on [-λ, λ]; softsign
x/(1 + |x|) with abs' = sgn(0) = 0.  Elsewhere (no PyTorch function) the piece that owns the
kink point is the flat or outer one, as for PyTorch's clamp-type functions.
"""

import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import activation_lab as al

#: SELU's λα, the exact product rounded once
LAMBDA_ALPHA = float(Fraction("1.0507009873554804934193349852946") * Fraction("1.6732632423543772848170429916717"))

#: (name, x, f'(x), f''(x), why)
KINKS = [
    ("relu", 0.0, 0.0, 0.0, "PyTorch: threshold_backward, x > 0"),
    ("lrelu", 0.0, 0.01, 0.0, "PyTorch: the slope where x <= 0"),
    ("prelu", 0.0, 0.25, 0.0, "PyTorch: the weight where x <= 0"),
    ("rrelu", 0.0, float(Fraction(11, 48)), 0.0, "PyTorch (eval): (lower + upper)/2 where x <= 0"),
    ("elu", 0.0, 1.0, 1.0, "PyTorch: α·eˣ where x <= 0"),
    ("selu", 0.0, LAMBDA_ALPHA, LAMBDA_ALPHA, "PyTorch: λα·eˣ where x <= 0"),
    ("celu", 0.0, 1.0, 1.0, "PyTorch: e^{x/α} where x <= 0; f'' the left 1/α"),
    ("softsign", 0.0, 1.0, 0.0, "PyTorch: x/(1 + |x|) with sgn(0) = 0: f''(0) = 0, the mean of ±2"),
    ("hardswish", -3.0, -0.5, 1 / 3, "PyTorch: x/3 + 1/2 on [-3, 3]"),
    ("hardswish", 3.0, 1.5, 1 / 3, "PyTorch: x/3 + 1/2 on [-3, 3]"),
    ("relu6", 0.0, 0.0, 0.0, "PyTorch: hardtanh_backward, 0 < x < 6"),
    ("relu6", 6.0, 0.0, 0.0, "PyTorch: hardtanh_backward, 0 < x < 6"),
    ("hardsigmoid", -3.0, 0.0, 0.0, "PyTorch: 1/6 on (-3, 3)"),
    ("hardsigmoid", 3.0, 0.0, 0.0, "PyTorch: 1/6 on (-3, 3)"),
    ("hardtanh", -1.0, 0.0, 0.0, "PyTorch: min_val < x < max_val"),
    ("hardtanh", 1.0, 0.0, 0.0, "PyTorch: min_val < x < max_val"),
    ("threshold", 1.0, 0.0, 0.0, "PyTorch: x > threshold (f jumps there)"),
    ("squared_relu", 0.0, 0.0, 0.0, "relu(x)²: 2·relu(x)·relu'(x), relu'(0) = 0"),
    ("softshrink", -0.5, 0.0, 0.0, "PyTorch: 0 on [-λ, λ]"),
    ("softshrink", 0.5, 0.0, 0.0, "PyTorch: 0 on [-λ, λ]"),
    ("hardshrink", -0.5, 0.0, 0.0, "PyTorch: 0 on [-λ, λ] (f jumps there)"),
    ("hardshrink", 0.5, 0.0, 0.0, "PyTorch: 0 on [-λ, λ] (f jumps there)"),
    ("elish", 0.0, 0.5, 1.0, "no PyTorch function: the left piece (eˣ − 1)σ(x)"),
    ("hard_elish", -1.0, 0.0, 0.0, "no PyTorch function: the flat piece"),
    ("hard_elish", 0.0, 0.5, 1.5, "no PyTorch function: the left piece"),
    ("hard_elish", 1.0, 1.0, 0.0, "no PyTorch function: the outer piece x"),
    ("sparse_plus", -1.0, 0.0, 0.0, "no PyTorch function: the outer pieces (JAX's jnp.where)"),
    ("sparse_plus", 1.0, 1.0, 0.0, "no PyTorch function: the outer pieces (JAX's jnp.where)"),
    ("sparse_sigmoid", -1.0, 0.0, 0.0, "no PyTorch function: the outer pieces"),
    ("sparse_sigmoid", 1.0, 0.0, 0.0, "no PyTorch function: the outer pieces"),
    # the frameworks' own conventions, where they differ from the catalogue's
    ("jax:hard_silu", -3.0, 0.0, 0.0, "JAX: x·relu6(x + 3)/6, relu6'(0) = 0"),
    ("jax:hard_silu", 3.0, 1.0, 0.0, "JAX: relu6'(6) = 0"),
    ("jax:hard_tanh", -1.0, 1.0, 0.0, "JAX: where(x > 1, 1, where(x < -1, -1, x))"),
    ("jax:hard_tanh", 1.0, 1.0, 0.0, "JAX: where(x > 1, 1, where(x < -1, -1, x))"),
    ("jax:leaky_relu", 0.0, 1.0, 0.0, "JAX: where(x >= 0, x, slope·x)"),
    ("jax:sparse_sigmoid", -1.0, 0.25, 0.0, "JAX: clip's max/min share a tie's gradient"),
    ("jax:sparse_sigmoid", 1.0, 0.25, 0.0, "JAX: clip's max/min share a tie's gradient"),
    ("nnlib:softshrink", -0.5, 1.0, 0.0, "NNlib: ifelse(x + λ > 0, ifelse(x − λ < 0, 0, x − λ), x + λ)"),
    ("nnlib:softshrink", 0.5, 1.0, 0.0, "NNlib: as above"),
]


@pytest.mark.parametrize("name,x,d1,d2,why", KINKS, ids=[f"{k[0]}@{k[1]:g}" for k in KINKS])
def test_derivative_at_kink(name, x, d1, d2, why):
    act = al.get(name)
    for dtype in ("float32", "float64"):
        got1, got2 = act.evaluate(np.array([x], dtype=dtype), n=(1, 2))
        assert got1[0] == np.array(d1, dtype=dtype), (name, x, dtype, got1[0], d1, why)
        assert abs(float(got2[0]) - d2) <= 4 * np.finfo(dtype).eps * abs(d2), (name, x, dtype, got2[0], d2, why)


def test_catalogue_has_no_unlisted_kinks():
    """Every catalogue entry written piecewise has its kinks in the table above (the conditions'
    constants are the kink points)."""
    listed = {(n, x) for n, x, *_ in KINKS}
    for name in al.names():
        expr = al.get(name).expr
        points = set()
        for pw in expr.atoms(sp.Piecewise):
            for _, cond in pw.args:
                for rel in cond.atoms(sp.Rel):
                    points.add(float(rel.rhs) if rel.lhs.is_Symbol else float(rel.lhs))
        points.discard(None)
        if name == "isrlu":      # x and x/√(1+x²) agree at 0 to f'' (f''' differs): listed in the docs only
            continue
        for p in points:
            assert (name, p) in listed or (name, -0.0) in listed and p == 0, (name, p)


def test_docs_table_matches():
    """The kink table of the docs (docs/explanations/kinks.md; it was in the README before the
    documentation site) lists every kink with the values evaluate gives."""
    text = Path(__file__).resolve().parents[1].joinpath("docs", "explanations", "kinks.md").read_text(encoding="utf-8")
    section = text.split("# Derivatives at kinks", 1)[1]
    rows = re.findall(r"^\| `([^`]+)` \| ([-\d.]+) \| ([-\d.e]+) \| ([-\d.e]+) \|", section, re.M)
    table = {(n, float(x)): (float(a), float(b)) for n, x, a, b in rows}
    assert len(table) == len(KINKS)
    for name, x, d1, d2, _ in KINKS:
        a, b = table[(name, x)]
        assert abs(a - d1) <= 1e-12 * max(1, abs(d1)) and abs(b - d2) <= 1e-12 * max(1, abs(d2)), (name, x)
