"""The safe formula parser: valid formulas build the right SymPy expression; hostile or
malformed text raises FormulaError (a ValueError) naming the position, and runs nothing."""

import builtins
import os

import pytest
import sympy as sp

import activation_lab as al
from activation_lab.errors import FormulaError

x = sp.Symbol("x", real=True)

HOSTILE = [
    "__import__('os').system('touch /tmp/al_pwned')",
    "x.__class__",
    "x.__class__.__mro__",
    "().__class__.__bases__[0].__subclasses__()",
    "lambda: 0",
    "(lambda y: y)(x)",
    "x**9**9**9",
    "2**1000000",
    "10**64**64",
    "exec('1')",
    "eval('x')",
    "open('/etc/passwd')",
    "getattr(x, 'y')",
    "globals()",
    "x if x > 0 else 0",
    "[x for x in range(9)]",
    "{x: 1}",
    "x[0]",
    "x;import os",
    "import os",
    "tanh(x",
    "tanh(x))",
    "x +",
    "* x",
    "foo(x)",
    "tanhh(x)",
    "y*x",
    "x^2",
    "x % 2",
    "x // 2",
    "'x'",
    "b'x'",
    "f'{x}'",
    "True*x",
    "1j*x",
    "(x := 3)",
    "*x",
    "exp(x, 2)",
    "tanh(x=1)",
    "where(x, 1, 0)",
    "x > 0",
    "_x",
    "__builtins__",
    "exp",
    "x" + "+x" * 300,
    "",
    "   ",
    "x\x00",
    "1e999*x",
    "1" * 60 + "*x",
]


@pytest.mark.parametrize("formula", HOSTILE)
def test_hostile_formulas_are_rejected(formula, monkeypatch, tmp_path):
    al.define("0.5*x*tanh(exp(x))")  # import everything first: imports run module code
    calls = []

    def trap(*args, **kwargs):
        calls.append(args)
        raise AssertionError("eval/exec called while parsing")

    monkeypatch.setattr(builtins, "eval", trap)
    monkeypatch.setattr(builtins, "exec", trap)
    with pytest.raises(FormulaError) as info:
        al.define(formula)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert "invalid formula" in message
    assert not calls
    assert not os.path.exists("/tmp/al_pwned")


@pytest.mark.parametrize("formula,token", [
    ("x.__class__", "attribute"), ("foo(x)", "foo"), ("tanh(x", "position"), ("x^2", "**"),
    ("y*x", "'y'"), ("lambda: 0", "lambda"), ("x**9**9**9", "too large"), ("tanhh(x)", "tanh"),
])
def test_errors_name_the_problem_and_position(formula, token):
    with pytest.raises(FormulaError) as info:
        al.define(formula)
    assert token in str(info.value)
    assert info.value.position is not None and 0 <= info.value.position <= len(formula)


def test_position_points_at_offending_token():
    with pytest.raises(FormulaError) as info:
        al.define("x*tanh(exp(x)) + foo(x)")
    assert info.value.position == 17
    with pytest.raises(FormulaError) as info:
        al.define("x + x.real")
    assert info.value.position == 4


@pytest.mark.parametrize("formula,expected", [
    ("x*tanh(exp(x))", x * sp.tanh(sp.exp(x))),
    ("x/(1 + exp(-x))", x / (1 + sp.exp(-x))),
    ("x*erf(log(1 + exp(x)))", x * sp.erf(sp.log(1 + sp.exp(x)))),
    ("max(x, 0)", sp.Piecewise((x, x > 0), (0, True))),
    ("where(x >= 0, x, 0.5*x)", sp.Piecewise((x, x >= 0), (x / 2, True))),
    ("2**-3*x", x / 8),
    ("sqrt(2)*pi*e*x", sp.sqrt(2) * sp.pi * sp.E * x),
    ("abs(x)", sp.Abs(x)),
    ("0.1*x", x / 10),
])
def test_valid_formulas(formula, expected):
    got = al.define(formula).expr
    assert sp.simplify(got - expected) == 0


def test_parameters_must_be_declared_and_are_exact():
    act = al.define("x*tanh(a*exp(b*x))", a=0.5, b="2")
    assert act.params == {"a": 0.5, "b": 2.0}
    assert sp.simplify(act.expr - x * sp.tanh(sp.exp(2 * x) / 2)) == 0
    with pytest.raises(FormulaError, match="unknown name 'a'"):
        al.define("x*tanh(a*exp(x))")
    with pytest.raises(FormulaError, match="not a number"):
        al.define("a*x", a="abc")
    with pytest.raises(FormulaError):
        al.define("a*x", __class__=1)


def test_define_has_the_capabilities_of_a_catalogue_entry():
    mine = al.define("x*tanh(softplus(x))", name="my-mish")
    assert mine.name == "my-mish"
    ref = al.get("mish")
    assert sp.simplify(mine.derivative(1) - ref.derivative(1)) == 0
    assert float(mine.evaluate(1.5, n=1)) == float(ref.evaluate(1.5, n=1))
    assert mine.latex(1)


def test_define_reports_catalogue_twins():
    assert al.define("x*tanh(exp(x))").equals == "telu"
    assert al.define("x/(1+exp(-x))").equals == "silu"
    assert al.define("x*tanh(exp(x)/2)").equals is None
    assert "silu" in repr(al.define("x/(1+exp(-x))"))


@pytest.mark.parametrize("formula,problem", [
    ("x*1e-9999999", "out of range"),          # Fraction would build 10**9999999 first (minutes)
    ("x*1e-999999999", "out of range"),
    ("-" * 499 + "x", "nested"),               # under the length limit, over Python's recursion limit
    ("x/0", "undefined"), ("0**-1+x", "undefined"), ("log(0)*x", "undefined"), ("x**(1/0)", "undefined"),
    ("sqrt(-1)*x", "not a real number"), ("log(-1)*x", "not a real number"),
])
def test_pathological_formulas_fail_fast_and_clearly(formula, problem):
    import time

    start = time.perf_counter()
    with pytest.raises(FormulaError, match=problem):
        al.define(formula)
    assert time.perf_counter() - start < 5     # a generous bound: these took 15 s to forever before


def test_tiny_literals_stay_exact():
    assert al.define("x*1e-400").expr == x / sp.Integer(10) ** 400


@pytest.mark.parametrize("formula", ["x+", "x**", "x*tanh(exp(x)) +", "x >"])
def test_dangling_operator_is_pointed_at(formula):
    with pytest.raises(FormulaError, match="ends early") as info:
        al.define(formula)
    assert info.value.position == len(formula.rstrip()) - 1


def test_unused_and_unusable_parameters_are_refused():
    with pytest.raises(FormulaError, match="'A' not used") as info:
        al.define("x*tanh(a*exp(x))", a=0.5, A=2)
    assert "uses: a" in str(info.value)
    with pytest.raises(FormulaError, match="'b' not used"):
        al.define("x*tanh(exp(x))", b=2)
    with pytest.raises(FormulaError, match="overflows float64"):
        al.define("a*x", a="1e400")
    with pytest.raises(FormulaError, match="out of range"):
        al.define("a*x", a="1e-9999999")


def test_numpy_scalars_are_accepted_as_parameters():
    np = pytest.importorskip("numpy")
    assert al.define("x*tanh(a*exp(x))", a=np.float64(0.5)).expr == x * sp.tanh(sp.exp(x) / 2)
    assert al.define("x*tanh(a*exp(x))", a=np.float32(0.25)).expr == x * sp.tanh(sp.exp(x) / 4)
    assert al.define("a*x", a=np.int64(3)).expr == 3 * x
    assert al.get("swish", beta=np.float64(2.0)).params == {"beta": 2.0}
    with pytest.raises(FormulaError, match="not a number"):
        al.define("a*x", a=np.bool_(True))


@pytest.mark.parametrize("formula", [123, None, ["x"]])
def test_formula_must_be_text(formula):
    with pytest.raises(FormulaError, match="must be a string"):
        al.define(formula)


def test_user_activation_cannot_borrow_a_catalogue_name():
    from activation_lab.errors import ActivationLabError

    for name in ("telu", "TanhExp", "SiLU"):
        with pytest.raises(ActivationLabError, match="choose a name of your own"):
            al.define("x*tanh(exp(x)/2)", name=name)
    assert al.define("x*tanh(exp(x)/2)", name="my-telu").name == "my-telu"


def test_derivative_order_is_bounded_with_a_clear_error():
    from activation_lab.errors import ActivationLabError

    with pytest.raises(ActivationLabError, match="over the limit"):
        al.get("relu").derivative(600)
    with pytest.raises(ActivationLabError, match="over the limit"):
        al.get("telu").evaluate([1.0], n=1000)


def test_a_real_power_of_a_negative_constant_is_refused():
    """(−1)^(1/3) is not real (SymPy keeps it as an unevaluated complex power, without I): refused
    at its position, from a literal or a parameter, like sqrt(-1); found by the cross-target draft."""
    for formula, params in (("(-8)**(1/3)*x", {}), ("(a)**(1/3) + x", {"a": "-1"})):
        with pytest.raises(al.FormulaError, match="not a real number"):
            al.define(formula, **params)
    assert float(al.define("2**(1/3)*x").evaluate(1.0)) == pytest.approx(2 ** (1 / 3), rel=1e-15)


def test_a_constant_too_large_to_evaluate_is_refused():
    """cosh(cosh(1e309) + 3) overflows SymPy's evalf (OverflowError from define, or later from
    printing the formula, its assumptions and every evaluation): refused at its position now;
    found by the cross-target property test.  Huge constants SymPy can evaluate stay accepted."""
    for formula in ("cosh(cosh(1e308/0.1) + 3) + x", "cosh(cosh(1e308/0.1) + 3)"):
        with pytest.raises(al.FormulaError, match="too large to evaluate"):
            al.define(formula)
    assert float(al.define("exp(1e308)*x").evaluate(1.0)) == float("inf")


def test_a_pole_in_one_branch_of_min_is_refused():
    """ln(where(3 >= x, 1, 1e30))**-2 is 0**-2 in one branch: SymPy raised TypeError comparing it
    inside min(); refused like x/0 now (found by the cross-target property test)."""
    with pytest.raises(al.FormulaError, match="undefined part"):
        al.define("min((ln(where(3 >= x, 1, 1e30)))**-2, 1/3)")
