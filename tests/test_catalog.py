"""The catalogue: entries, lookup by name/alias, parameters, errors."""

import pytest
import sympy as sp

import activation_lab as al
from activation_lab.catalog import CATALOG

REQUIRED = ["telu", "relu", "lrelu", "prelu", "elu", "selu", "celu", "silu", "swish", "gelu", "gelu_tanh",
            "mish", "logish", "smish", "softplus", "tanh", "sigmoid", "softsign", "hardswish", "relu6", "serf"]


def test_catalogue_has_required_entries():
    assert len(al.names()) >= 20
    assert set(REQUIRED) <= set(al.names())


@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e.name)
def test_entries_are_complete(entry):
    assert entry.description and entry.source and entry.family
    assert any(ch.isdigit() for ch in entry.source) or entry.source == "classical"
    act = al.get(entry.name)
    x = sp.Symbol("x", real=True)
    assert act.expr.free_symbols == {x}
    assert set(act.params) == set(entry.params)


@pytest.mark.parametrize("alias,name", [("TanhExp", "telu"), ("TELU", "telu"), ("Swish-1", "silu"),
                                        ("swish1", "silu"), ("leaky_relu", "lrelu"), ("GELU-tanh", "gelu_tanh")])
def test_aliases_and_case(alias, name):
    assert al.get(alias).name == name


def test_tanhexp_is_telu_formula():
    x = sp.Symbol("x", real=True)
    assert sp.simplify(al.get("tanhexp").expr - x * sp.tanh(sp.exp(x))) == 0


def test_definitions_match_reference_values():
    # closed forms written here: ELU(-1) = e^-1 - 1, SELU constants, LReLU slope, GELU = x*Phi(x)
    x = sp.Symbol("x", real=True)
    assert sp.nsimplify(al.get("elu").expr.subs(x, -1) - (sp.exp(-1) - 1)) == 0
    assert al.get("lrelu").expr.subs(x, -2) == sp.Rational(-2, 100)
    assert al.get("prelu").expr.subs(x, -4) == -1
    selu = al.get("selu")
    assert abs(selu.params["scale"] - 1.0507009873554805) < 1e-15
    assert abs(selu.params["alpha"] - 1.6732632423543772) < 1e-15
    phi = (1 + sp.erf(sp.Rational(3, 2) / sp.sqrt(2))) / 2
    assert abs(sp.N(al.get("gelu").expr.subs(x, sp.Rational(3, 2)) - sp.Rational(3, 2) * phi, 50)) < 1e-45
    assert al.get("relu6").expr.subs(x, 7) == 6 and al.get("relu").expr.subs(x, -3) == 0


def test_parameters_override_defaults():
    act = al.get("lrelu", alpha=0.2)
    assert act.params == {"alpha": 0.2}
    x = sp.Symbol("x", real=True)
    assert act.expr.subs(x, -1) == sp.Rational(-1, 5)
    assert al.get("swish", beta=2).expr.subs(x, 0) == 0


def test_unknown_parameter_is_a_clear_error():
    with pytest.raises(al.ActivationLabError, match="alpha"):
        al.get("lrelu", beta=1)


def test_unknown_name_suggests_close_matches():
    with pytest.raises(al.UnknownActivationError) as info:
        al.get("gelo")
    assert "gelu" in str(info.value)
    assert isinstance(info.value, KeyError)
    with pytest.raises(al.UnknownActivationError, match="mish"):
        al.get("mishh")


def test_get_is_cached_per_activation():
    assert al.get("telu") is al.get("TELU")
    assert al.get("telu").derivative(2) is al.get("telu").derivative(2)
