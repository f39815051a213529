"""The catalogue: entries, lookup by name/alias, parameters, errors."""

import pytest
import sympy as sp

import activation_lab as al
from activation_lab.catalog import CATALOG

REQUIRED = ["telu", "relu", "lrelu", "prelu", "elu", "selu", "celu", "silu", "swish", "gelu", "gelu_tanh",
            "mish", "logish", "smish", "softplus", "tanh", "sigmoid", "softsign", "hardswish", "relu6", "serf",
            # issue 16
            "hardsigmoid", "hardtanh", "logsigmoid", "logcosh", "lisht", "tanhshrink", "softshrink", "hardshrink",
            "threshold", "rrelu", "squareplus", "sparse_plus", "sparse_sigmoid", "snake", "squared_relu",
            "quick_gelu", "elish", "hard_elish", "isru", "isrlu", "bent_identity", "exponential", "linear"]


def test_catalogue_has_required_entries():
    assert len(al.names()) >= 45
    assert set(REQUIRED) <= set(al.names())


def test_every_label_names_one_entry():
    labels = [lab.lower() for e in CATALOG for lab in (e.name, *e.aliases)]
    assert len(labels) == len(set(labels))


@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e.name)
def test_provenance_is_filled_in(entry):
    assert entry.authors.strip() and entry.venue.strip() and entry.source.strip()
    assert isinstance(entry.year, int) and 1800 <= entry.year <= 2025
    assert str(entry.year) in entry.source or entry.source == "classical" or "found" in entry.source
    assert all(r.strip() for r in entry.rediscoveries)


def test_rediscoveries_named_by_the_issue():
    by = {e.name: e for e in CATALOG}
    assert "2003.09855" in by["telu"].venue and any("2412.20269" in r for r in by["telu"].rediscoveries)
    assert any("Swish-1" in r for r in by["silu"].rediscoveries)
    assert any("Elfwing" in r for r in by["silu"].rediscoveries)
    assert any("1.702" in r for r in by["quick_gelu"].rediscoveries)


def test_out_of_scope_functions_are_not_entries():
    from activation_lab.catalog import NOT_ELEMENTWISE

    for name in NOT_ELEMENTWISE:
        with pytest.raises(al.UnknownActivationError):
            al.get(name)


@pytest.mark.parametrize("name,entry,params", [
    ("torch:gelu", "gelu", {}), ("jax:gelu", "gelu_tanh", {}), ("keras:gelu", "gelu", {}),
    ("nnlib:gelu", "gelu_tanh", {}), ("keras:leaky_relu", "lrelu", {"alpha": 0.2}),
    ("torch:leaky_relu", "lrelu", {"alpha": 0.01}), ("jax:squareplus", "squareplus", {"b": 4.0}),
    ("nnlib:trelu", "threshold", {"theta": 1.0, "value": 0.0}), ("NNlib:LeakyReLU", "lrelu", {"alpha": 0.01}),
])
def test_framework_names(name, entry, params):
    act = al.get(name)
    assert act.name == entry and act.params == params


def test_framework_variants_differ_only_at_kinks():
    """A framework's own kink convention is the catalogue's function everywhere but at its kinks."""
    import numpy as np

    from activation_lab.frameworks import NAMES

    x = np.linspace(-7.3, 7.3, 1001)
    for row in NAMES:
        act = al.get(row.qualified)
        base = al.get(row.entry, **{k: v for k, v in row.params.items()})
        assert np.array_equal(act.evaluate(x), base.evaluate(x)), row.qualified
        assert (act.name == row.qualified) == bool(row.formula)


def test_unknown_framework_names_get_close_matches():
    with pytest.raises(al.UnknownActivationError, match="torch:gelu"):
        al.get("torch:gelo")
    with pytest.raises(al.UnknownActivationError, match="jax:hard_silu"):
        al.get("jax:hard_slu")
    with pytest.raises(al.UnknownActivationError, match="torch:gelu"):
        al.get("pytorch:gelu")
    with pytest.raises(al.ActivationLabError, match="alpha=0.2"):
        al.get("keras:leaky_relu", beta=1)


def test_cli_list_groups_filters_and_json(capsys):
    import json

    from activation_lab.present.cli import main

    assert main(["list", "--family", "shrinkage"]) == 0
    out = capsys.readouterr().out
    assert "softshrink" in out and "tanhshrink" in out and "telu" not in out
    assert main(["list", "--framework", "jax"]) == 0
    out = capsys.readouterr().out
    assert "jax:hard_silu" in out and "prelu" not in out
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(CATALOG)
    lrelu = next(r for r in rows if r["name"] == "lrelu")
    assert {"framework": "keras", "name": "leaky_relu"}.items() <= next(
        f for f in lrelu["frameworks"] if f["framework"] == "keras").items()
    assert lrelu["first_publication"]["year"] == 2013
    assert main(["list", "--family", "nope"]) == 2
    assert "choose from" in capsys.readouterr().err


def test_cli_show_prints_provenance_and_frameworks(capsys):
    from activation_lab.present.cli import main

    assert main(["show", "silu"]) == 0
    out = capsys.readouterr().out
    assert "first published: Hendrycks & Gimpel (2016)" in out and "Elfwing" in out
    assert "torch:  silu(input)" in out and "jax:    swish(x)" in out
    assert main(["show", "keras:leaky_relu"]) == 0
    assert "alpha=0.2" in capsys.readouterr().out


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
