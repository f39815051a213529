"""compare(): a new activation against TeLU, its numbers checked against mpmath computed here."""

from __future__ import annotations

import re

import mpmath
import pytest
import sympy as sp

import activation_lab as al
from activation_lab.present import report
from activation_lab.present.compare import equivalence_finding

pytestmark = pytest.mark.xdist_group("compare")

NEW = "x*tanh(exp(x)/2)"
PREC = 200


# ---------------------------------------------------------------- independent mpmath models
def tanh_exp(c):
    """x·tanh(c·eˣ) and its derivative tanh(u) + x·u·sech²(u), u = c·eˣ (closed forms, mpmath)."""
    def f(x):
        return x * mpmath.tanh(c * mpmath.exp(x))

    def df(x):
        u = c * mpmath.exp(x)
        return mpmath.tanh(u) + x * u * mpmath.sech(u) ** 2
    return f, df


new_f, new_df = tanh_exp(mpmath.mpf(1) / 2)    # the new activation, x·tanh(eˣ/2)
telu_f, telu_df = tanh_exp(1)                  # TeLU


def new_d2f(x):
    return mpmath.diff(new_df, x)


def gaussian_mean(g):
    """E[g(Z)], Z ~ N(0, 1); beyond |z| = 40 the density is below 1e-340."""
    with mpmath.workprec(PREC):
        dens = lambda z: mpmath.exp(-z * z / 2) / mpmath.sqrt(2 * mpmath.pi)  # noqa: E731
        return mpmath.quad(lambda z: g(z) * dens(z), [-40, -5, 0, 5, 40])


def root(fn, x0):
    with mpmath.workprec(PREC):
        return mpmath.findroot(fn, mpmath.mpf(x0))


def numbers(text: str) -> list[float]:
    """The decimal numbers in a report string (typographic minus accepted)."""
    return [float(m) for m in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text.replace("−", "-"))]


def close(a, b, rel):
    return abs(float(a) - float(b)) <= rel * max(abs(float(b)), 1e-300)


@pytest.fixture(scope="module")
def comp():
    return al.compare(NEW)


def row(table, label):
    return next(r for r in table.rows if r[0] == label)


def table(comp, title):
    return next(t for t in comp.tables if t.title == title)


# ---------------------------------------------------------------- equivalence
@pytest.mark.parametrize(("formula", "name"), [
    ("x*tanh(softplus(x))", "mish"), ("x*tanh(exp(x))", "telu"), ("x*erf(log1p(exp(x)))", "serf"),
    ("x/(1 + exp(-x))", "silu"),
])
def test_known_formulas_are_recognised(formula, name):
    eq = equivalence_finding(al.define(formula))
    assert (eq.relation, eq.match) == ("identical", name)
    assert al.get(name).name in eq.statement


@pytest.mark.parametrize(("formula", "relation", "match", "constant"), [
    ("2*x*tanh(exp(x))", "scaled", "telu", 2.0),
    ("-x*sigmoid(x)/3", "scaled", "silu", -1 / 3),
    ("(x + 1)*tanh(exp(x + 1))", "shifted", "telu", 1.0),
    ("softplus(x - 0.5)", "shifted", "softplus", -0.5),
    ("where(x > 1, x - 1, 0)", "shifted", "relu", -1.0),
    ("x*tanh(exp(x)) + 0.25", "offset", "telu", 0.25),
])
def test_rescalings_and_shifts_are_recognised(formula, relation, match, constant):
    eq = equivalence_finding(al.define(formula))
    assert (eq.relation, eq.match) == (relation, match)
    assert abs(eq.constant - constant) <= 1e-15 * abs(constant)
    # judged by equivalent(), as identities are: proven here (exact constants)
    assert "proven symbolically" in eq.statement and "15 points" not in eq.statement


def _telu(x):
    return x * mpmath.tanh(mpmath.exp(x))


# near misses of a relation or identity: the 15 check points cannot tell them apart, equivalent() can
NEAR_MISSES = {
    "x*tanh(exp(x))*(1+1e-45)": ("telu", lambda x: _telu(x) * (1 + mpmath.mpf("1e-45")), _telu),
    "2*x*tanh(exp(x))*(1+1e-45)": ("telu", lambda x: 2 * _telu(x) * (1 + mpmath.mpf("1e-45")),
                                   lambda x: 2 * _telu(x)),
    "x*tanh(exp(x)) + 0.25 + 1e-40": ("telu", lambda x: _telu(x) + mpmath.mpf("0.25") + mpmath.mpf("1e-40"),
                                      lambda x: _telu(x) + mpmath.mpf("0.25")),
    "x*tanh(exp(x)) + 1e-300*exp(-x)": ("telu", lambda x: _telu(x) + mpmath.mpf("1e-300") * mpmath.exp(-x),
                                        _telu),
}


@pytest.mark.parametrize("formula", list(NEAR_MISSES))
def test_near_misses_are_no_relation_and_named_with_a_witness(formula):
    name, f, g = NEAR_MISSES[formula]
    eq = equivalence_finding(al.define(formula))
    # not "the same", not 1·TeLU, 2·TeLU or TeLU + 1/4: new, with the near miss named and refuted
    assert (eq.relation, eq.match, eq.constant) == ("new", None, None), eq.statement
    assert eq.near == name and "different function" in eq.statement
    witness = float(re.search(r"at x = (-?[\d.e+-]+) it is", eq.statement).group(1))
    with mpmath.workprec(1000):
        fv, gv = f(mpmath.mpf(witness)), g(mpmath.mpf(witness))
        assert abs(fv - gv) > mpmath.mpf(10) ** -300 * max(abs(fv), abs(gv)), (witness, fv, gv)


def test_analyze_and_compare_say_the_same_about_a_near_miss(capsys):
    from activation_lab.present.cli import main

    formula = "2*x*tanh(exp(x))*(1+1e-45)"
    assert main(["analyze", formula]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("catalogue relation"))
    assert "none (near telu, but different)" in row and "2*telu" not in row
    assert equivalence_finding(al.define(formula)).relation == "new"
    # and a true relation reads the same in both, constant as written
    assert main(["analyze", "sqrt(2)*x*tanh(exp(x))"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("catalogue relation"))
    assert "√2*telu(x)" in row


def test_relation_constants_in_closed_form():
    eq = equivalence_finding(al.define("sqrt(2)*x*tanh(exp(x))"))
    assert (eq.relation, eq.match) == ("scaled", "telu") and "√2·TeLU(x)" in eq.statement
    assert eq.constant == pytest.approx(float(mpmath.sqrt(2)), rel=1e-15) and "proven" in eq.statement
    assert eq.constant_text == "√2"
    eq = equivalence_finding(al.define("x*tanh(exp(x))*(1+1e-7)"))
    assert (eq.relation, eq.constant) == ("scaled", 1.0000001) and "1.0000001·TeLU(x)" in eq.statement


def test_new_formula_is_new_and_said_first(comp):
    assert comp.equivalence.relation == "new" and comp.equivalence.match is None
    md = report.to_markdown(comp)
    assert md.index("## Equivalence") < md.index("## Summary") < md.index("## Properties")
    assert "is a new activation" in md


# ---------------------------------------------------------------- properties, against mpmath
def test_properties_match_mpmath(comp):
    p = comp.properties[NEW]
    xmin = root(new_df, -1.0)
    xsup = root(new_d2f, 1.1)
    xinf = root(new_d2f, -2.0)
    with mpmath.workprec(PREC):
        expected = {
            "f′(0)": mpmath.tanh(mpmath.mpf(1) / 2),
            "minimum of f": (new_f(xmin), xmin),
            "sup f′": (new_df(xsup), xsup),
            "inf f′": (new_df(xinf), xinf),
        }
    e_f2 = gaussian_mean(lambda z: new_f(z) ** 2)
    e_f = gaussian_mean(new_f)
    e_df = gaussian_mean(new_df)
    # the data: 12 significant digits at least
    assert close(p.df0, expected["f′(0)"], 1e-13)
    assert close(p.minimum[1], expected["minimum of f"][0], 1e-12) and close(p.minimum[0], xmin, 1e-10)
    assert close(p.lipschitz, expected["sup f′"][0], 1e-12)
    assert close(p.E_f, e_f, 1e-12) and close(p.E_f2, e_f2, 1e-12) and close(p.E_df, e_df, 1e-12)
    assert close(p.init_gain, 1 / mpmath.sqrt(e_f2), 1e-12)
    # the report's table: the same numbers to its 7 digits
    props = table(comp, "Properties")
    assert props.header[1] == NEW
    col = 1
    assert close(numbers(row(props, "f′(0)")[col])[0], expected["f′(0)"], 1e-6)
    for label in ("minimum of f", "sup f′", "inf f′"):
        value, where = numbers(row(props, label)[col])
        assert close(value, expected[label][0], 1e-6) and close(where, expected[label][1], 1e-6)
    assert close(numbers(row(props, "Lipschitz constant sup |f′|")[col])[0], expected["sup f′"][0], 1e-6)
    assert close(numbers(row(props, "E[f(Z)²]")[col])[0], e_f2, 1e-6)
    assert close(numbers(row(props, "init gain, variance convention 1/√E[f(Z)²]")[col])[0], 1 / mpmath.sqrt(e_f2), 1e-6)
    assert row(props, "monotonic")[col] == "no"   # f′ < 0 at its infimum
    assert expected["inf f′"][0] < 0


def test_reference_columns_are_the_references(comp):
    assert [a.name for a in comp.columns] == [NEW, "telu", "silu", "gelu", "mish"]
    props = table(comp, "Properties")
    xmin = root(telu_df, -1.0)
    with mpmath.workprec(PREC):
        value, where = numbers(row(props, "minimum of f")[2])
        assert close(value, telu_f(xmin), 1e-6) and close(where, xmin, 1e-6)


# ---------------------------------------------------------------- saturation and the quotient
def test_saturation_leading_terms(comp):
    x = sp.Symbol("x", real=True)
    neg, pos = comp.saturation[NEW]
    # tanh(u) ~ u as u = eˣ/2 → 0, so f ~ x·eˣ/2 and f′ ~ (x + 1)·eˣ/2 ~ x·eˣ/2
    assert sp.simplify(neg.leading - x * sp.exp(x) / 2) == 0 and neg.kind == "exponential"
    with mpmath.workprec(PREC):
        ratio = new_df(mpmath.mpf(-1000)) / (mpmath.mpf(-1000) * mpmath.exp(-1000) / 2)
    assert close(ratio, 1 - 1 / mpmath.mpf(1000), 1e-5)    # (x + 1)/x
    # 1 − tanh(u) = 2e^{−2u}/(1 + e^{−2u}) ~ 2·exp(−eˣ) as x → +∞
    assert sp.simplify(pos.leading - 2 * sp.exp(-sp.exp(x))) == 0 and pos.kind == "double-exponential"
    sat = table(comp, "Saturation")
    assert row(sat, "x → −∞")[1] == "f′(x) ≈ x·exp(x)/2 (exponential)"


def test_quotient_limit_and_intervals(comp):
    q = comp.quotients[NEW]
    # f′/TeLU′ → (x·eˣ/2)/(x·eˣ) = 1/2
    assert q.limit_exact == sp.Rational(1, 2)
    with mpmath.workprec(PREC):
        assert close(new_df(mpmath.mpf(-60)) / telu_df(mpmath.mpf(-60)), 0.5, 1e-20)
        pole = root(telu_df, -1.0)
        assert [round(p, 12) for p in q.poles] == [round(float(pole), 12)]

        def qabs(t):
            return abs(new_df(mpmath.mpf(t)) / telu_df(mpmath.mpf(t)))

        lo, hi = float(q.x.min()), float(q.x.max())
        for spans, below in ((q.below_one, True), (q.above_one, False)):
            assert spans
            for a, b in spans:
                assert (qabs((a + b) / 2) < 1) == below
                for end in (a, b):
                    if end not in (lo, hi) and abs(end - float(pole)) > 1e-9:
                        assert abs(qabs(end) - 1) < 1e-9   # an end is where |f′| = |TeLU′|
    text = row(table(comp, "Gradient quotient against TeLU"), "limit as x → −∞")[1]
    assert text.startswith("1/2")


# ---------------------------------------------------------------- the summary: every number checked
def sentence(comp, start):
    return next(s for s in comp.summary if s.startswith(start))


def test_summary_numbers_against_mpmath(comp):
    decay = sentence(comp, "As x → −∞")
    assert "x·exp(x)/2" in decay and "same class and rate as TeLU" in decay and "→ 1/2" in decay
    xmin, tmin = root(new_df, -1.0), root(telu_df, -1.0)
    with mpmath.workprec(PREC):
        got = numbers(sentence(comp, "Its minimum"))
        assert len(got) == 4
        for g, want in zip(got, (new_f(xmin), xmin, telu_f(tmin), tmin), strict=True):
            assert close(g, want, 5e-4)
        slope = numbers(sentence(comp, "f′ ranges over"))
        sup, inf, tsup = root(new_d2f, 1.1), root(new_d2f, -2.0), root(lambda t: mpmath.diff(telu_df, t), 0.7)
        assert slope[4:] == [0.0]   # "f′ < 0 somewhere"
        for g, want in zip(slope[:4], (new_df(inf), new_df(sup), new_df(sup), telu_df(tsup)), strict=True):
            assert close(g, want, 5e-4)
        at0 = sentence(comp, "At 0")
        assert f"f′(0) = {float(mpmath.tanh(0.5)):.4g} (TeLU: {float(mpmath.tanh(1)):.4g})" in at0
    e_f, e_f2 = gaussian_mean(new_f), gaussian_mean(lambda z: new_f(z) ** 2)
    t_f2 = gaussian_mean(lambda z: telu_f(z) ** 2)
    gain = sentence(comp, "For Z ~ N(0, 1)")
    assert f"E[f(Z)] = {float(e_f):.4g} and E[f(Z)²] = {float(e_f2):.4g}" in gain
    assert f"is {float(1 / mpmath.sqrt(e_f2)):.4g} (TeLU: {float(1 / mpmath.sqrt(t_f2)):.4g})" in gain
    quot = sentence(comp, "On [")
    q = comp.quotients[NEW]
    assert f"{q.below_one[0][1]:.4g}".replace("-", "−") in quot


def test_summary_claims_follow_the_numbers():
    """The same sentence builders give different words for different numbers (GELU: faster decay)."""
    c = al.compare("gelu", against=["telu"], plots=False, accuracy=False)
    decay = c.summary[0]
    assert "different class from TeLU" in decay and "→ 0" in decay and "faster than TeLU's" in decay
    assert not any("ULP" in s for s in c.summary)   # no accuracy claim without an accuracy run


# ---------------------------------------------------------------- accuracy and plots
def test_accuracy_worst_inputs_against_mpmath(comp):
    dtypes = ("float16", "bfloat16", "float32", "float64")   # issue 17 adds bfloat16
    assert {(r.n, r.dtype) for r in comp.accuracy} == {(n, dt) for n in (0, 1) for dt in dtypes}
    for r in comp.accuracy:
        fn = new_f if r.n == 0 else new_df
        for case in r.worst:
            with mpmath.workprec(PREC):
                exact = fn(mpmath.mpf(case.x))
            assert close(case.exact, exact, 2e-16)
        assert r.count > 2000 and r.max_ulp <= 1.0   # accurate evaluation: about half an ULP
    acc = sentence(comp, "The project's evaluation")
    worst32 = max(r.max_ulp for r in comp.accuracy if r.dtype == "float32")
    assert f"{worst32:.3g} ULP in float32" in acc


def test_plot_data_against_mpmath(comp):
    plots = {p.key: p for p in comp.plots}
    assert set(plots) == {"f", "derivative", "saturation", "quotient"}
    sat = plots["saturation"].data
    x = list(sat.x)
    col = next(k for k in sat.columns if NEW in k)
    with mpmath.workprec(PREC):
        i = x.index(-30.0)
        assert close(sat.columns[col][i], abs(new_df(mpmath.mpf(-30))), 1e-13)
        quo = plots["quotient"].data
        col = next(k for k in quo.columns if NEW in k)
        xs = list(quo.x)
        for t in (-2.0, -5.0):
            want = abs(new_df(mpmath.mpf(t)) / telu_df(mpmath.mpf(t)))
            assert close(quo.columns[col][xs.index(t)], want, 1e-12)


# ---------------------------------------------------------------- the rendered pages
def test_markdown_and_html_pages(comp, tmp_path):
    written = report.write_report(comp, tmp_path / "r")
    md = (tmp_path / "r" / "report.md").read_text()
    page = (tmp_path / "r" / "report.html").read_text()
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md):
        assert (tmp_path / "r" / image).is_file()
    assert len(written) == 6
    # formulas: LaTeX for Markdown, mathtext SVG in the page, three per activation
    assert md.count("$$f''(x) =") == len(comp.columns)
    assert page.count('src="data:image/svg+xml;base64,') == 3 * len(comp.columns)
    assert page.count('src="data:image/png;base64,') == 4
    # no reference leaves the page
    refs = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", page, flags=re.I)
    assert refs and all(r.startswith("data:") for r in refs)
    assert not re.search(r"https?://", page) and "<script" not in page and "@import" not in page
    import html

    for s in comp.summary:
        assert html.escape(s) in page and s in md


def test_parameters_are_stated():
    c = al.compare("x*tanh(a*exp(b*x))", params={"a": "0.5", "b": 1}, plots=False, accuracy=False)
    assert c.params == {"a": 0.5, "b": 1.0}
    md = report.to_markdown(c)
    assert "parameters a = 0.5, b = 1" in md and "--param a=0.5 --param b=1" in c.command
    # a = 1/2, b = 1 is the new formula itself: same minimum
    xmin = root(new_df, -1.0)
    assert close(c.properties[c.activation.name].minimum[0], xmin, 1e-10)


def test_an_analysis_that_cannot_run_is_reported_not_fatal():
    # sin has no leading term at ±∞ (it oscillates): the report says so and goes on
    c = al.compare("sin(x)", against=["telu"], plots=False, accuracy=False)
    neg, pos = c.saturation["sin(x)"]
    assert "oscillat" in neg.reason and "oscillat" in pos.reason
    assert c.summary[0].startswith("The saturation as x → −∞ could not be analysed")
    # what could be computed is there, and right: sin's slope is cos, in [−1, 1]
    p = c.properties["sin(x)"]
    assert abs(p.lipschitz - 1) < 1e-12 and abs(p.df0 - 1) < 1e-15
    assert "not available" in report.to_html(c)


def test_the_committed_example_is_current(comp):
    """figures/examples/tanh-exp-half is this comparison (regenerate with the command in the report)."""
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "figures" / "examples" / "tanh-exp-half"
    committed = (folder / "report.md").read_text(encoding="utf-8")
    fresh = report.to_markdown(comp, {p.key: f"report-{p.key}.png" for p in comp.plots})

    def analyses(md: str) -> list[str]:
        # the ULP figures may differ in the last digit from one libm to another: compared elsewhere
        return [line for line in md.split("## Numerical accuracy")[0].splitlines() if "ULP" not in line]

    assert analyses(committed) == analyses(fresh), (
        "figures/examples/tanh-exp-half is stale: run "
        "activation-lab compare 'x*tanh(exp(x)/2)' --out figures/examples/tanh-exp-half")
    for p in comp.plots:
        assert (folder / f"report-{p.key}.png").is_file()
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"https?://", page)


@pytest.mark.parametrize("formula", ["relu", "max(x, 0)"])
def test_piecewise_linear_activations_can_be_compared(formula, tmp_path):
    # ReLU's constant piece came back from mpmath as a Python 0, and its all-zero |f'| on the
    # saturation plot's log axis crashed matplotlib's markers: both are real activations
    c = al.compare(formula, against=["telu"], accuracy=False)
    name = c.activation.name
    props = c.properties[name]
    assert props.f0 == 0 and props.lipschitz == 1 and props.monotonic
    assert tuple(map(float, props.limits)) == (0.0, float("inf"))
    report.write_report(c, tmp_path / "r")
    assert (tmp_path / "r" / "report.md").is_file()


def test_a_catalogue_entry_with_other_parameters_is_named():
    c = al.compare("x*sigmoid(2*x)", against=["telu"], plots=False, accuracy=False)
    assert c.equivalence.relation == "parameters" and c.equivalence.match == "swish"
    assert dict(c.equivalence.params) == {"beta": "2"} and "--param beta=2" in c.equivalence.statement
