"""The table of primitives and the program every target prints, shown on its first two users:
log σ(u) = −softplus(−u) and log cosh u = |u| + softplus(−2|u|) − log 2, on every target.

References are mpmath at 300 bits from the plain definitions (log(1/(1 + e^{−x})), log(cosh x)),
which mpmath evaluates without overflow at any of these x.
"""

from __future__ import annotations

import inspect
import re
import string

import mpmath
import numpy as np
import pytest

import activation_lab as al
from activation_lab.numeric import primitives
from activation_lab.numeric.fused import evaluate_fused
from activation_lab.numeric.program import program

from ._gcc import HAVE_GCC, kernel_function

LOG_SIGMOID = ("log(sigmoid(x))", lambda x: -mpmath.log1p(mpmath.exp(-x)), lambda x: 1 / (1 + mpmath.exp(x)))
LOG_COSH = ("log(cosh(x))", lambda x: mpmath.log(mpmath.cosh(x)), lambda x: mpmath.tanh(x))

POINTS = {
    "float64": [-1e300, -1e5, -800.0, -711.0, -50.0, -1.0, -1e-10, -5e-324, 0.0, 5e-324, 1e-10, 1.0, 50.0,
                711.0, 800.0, 1e5, 1e300],
    "float32": [-3e38, -1e5, -800.0, -104.0, -88.7, -1.0, -1e-10, -1e-45, 0.0, 1e-45, 1e-10, 1.0, 88.7,
                104.0, 711.0, 1e5, 1e30, 3e38],
}


def _reference(fn, x: float, dtype: str) -> float:
    """fn at the input as the dtype holds it, rounded to the dtype."""
    with mpmath.workprec(300):
        return float(np.dtype(dtype).type(float(fn(mpmath.mpf(float(np.dtype(dtype).type(x)))))))


def _ulps(got: float, want: float, dtype: str) -> float:
    if got == want:
        return 0.0
    info = np.finfo(dtype)
    spacing = max(abs(float(np.spacing(np.dtype(dtype).type(want)))), float(info.smallest_subnormal))
    return abs(got - want) / spacing


def _check(values: np.ndarray, dtype: str, fn, label: str) -> None:
    assert values.dtype == np.dtype(dtype), label
    for x, got in zip(POINTS[dtype], values.tolist(), strict=True):
        want = _reference(fn, x, dtype)
        assert np.isfinite(got), f"{label}: f({x!r}) = {got!r}, exact {want!r}"
        assert _ulps(got, want, dtype) <= 2, f"{label}: f({x!r}) = {got!r}, exact {want!r}"


@pytest.mark.parametrize("case", [LOG_SIGMOID, LOG_COSH], ids=["logsigmoid", "logcosh"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_stable_logs_on_numpy_targets(case, dtype):
    formula, f, df = case
    act = al.define(formula)
    x = np.array(POINTS[dtype], dtype=dtype)
    big = np.tile(x, 4096 // x.size + 1)          # past the fused path's threshold
    for n, fn in ((0, f), (1, df)):
        _check(act.evaluate(x, n), dtype, fn, f"{formula} plain f^({n})")
        _check(act.evaluate(big, n)[:x.size], dtype, fn, f"{formula} fused f^({n})")
        _check(evaluate_fused(act, big, n, native=False)[:x.size], dtype, fn, f"{formula} block program f^({n})")


@pytest.mark.parametrize("case", [LOG_SIGMOID, LOG_COSH], ids=["logsigmoid", "logcosh"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_stable_logs_on_the_array_api(case, dtype):
    xp = pytest.importorskip("array_api_strict")
    formula, f, df = case
    act = al.define(formula)
    x = xp.asarray(POINTS[dtype], dtype=getattr(xp, dtype))
    for n, fn in ((0, f), (1, df)):
        _check(np.asarray(act.evaluate(x, n)), dtype, fn, f"{formula} array API f^({n})")


@pytest.mark.skipif(not HAVE_GCC, reason="gcc is not installed: cannot compile the C kernel")
@pytest.mark.parametrize("case", [LOG_SIGMOID, LOG_COSH], ids=["logsigmoid", "logcosh"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_stable_logs_in_the_c_kernel(case, dtype, tmp_path):
    formula, f, df = case
    act = al.define(formula)
    x = np.array(POINTS[dtype], dtype=dtype)
    got = kernel_function(al.c_kernel(act.expr, (0, 1), dtype), tmp_path)(x)
    _check(got[0], dtype, f, f"{formula} C f")
    _check(got[1], dtype, df, f"{formula} C f'")


@pytest.mark.parametrize("case", [LOG_SIGMOID, LOG_COSH], ids=["logsigmoid", "logcosh"])
def test_stable_logs_in_mpmath(case):
    formula, f, df = case
    act = al.define(formula)
    for n, fn in ((0, f), (1, df)):
        g = act.mpmath(n)
        for x in (-1e5, -800.0, -1.0, 0.5, 711.0, 1e5):
            with mpmath.workprec(200):
                got, want = g(mpmath.mpf(x)), fn(mpmath.mpf(x))
                assert abs(got - want) <= abs(want) * mpmath.mpf(2) ** -180, (formula, n, x)


def test_the_issue_cases_no_longer_overflow():
    """The issue's examples: log σ(−1e5) was −inf (σ underflows), log cosh(711) was inf in float32."""
    assert al.define("log(sigmoid(x))").evaluate(np.float32(-1e5)) == np.float32(-1e5)
    assert al.define("log(sigmoid(x))").evaluate(-1e5) == -1e5
    assert al.define("log(cosh(x))").evaluate(np.float32(711)) == np.float32(711 - np.log(2))


def test_every_row_has_every_column():
    """Each row prints in Python and C with its arity, and has a NumPy and an array-API form."""
    for row in primitives.PRIMITIVES.values():
        arity = {i for _, i, _, _ in string.Formatter().parse(row.c) if i not in (None, "")}
        assert arity, row.name
        if row.name != "mul_guarded":
            assert callable(row.numpy), row.name
            assert row.array_api is not None or row.name == "where", row.name
            if isinstance(row.numpy, np.ufunc):
                assert row.numpy.nin == len(arity), row.name
        assert row.kind in ("float", "bool")


def test_every_row_has_every_target():
    """The targets column: every row has its PyTorch, JAX and standalone-NumPy text, with the
    row's arity, in the framework's own namespace (or a helper the printer prints with the
    programs: the guarded product; PyTorch's tanh and sech)."""
    from activation_lab.export.printer import helpers_source

    prefixes = {"torch": ("torch.",), "jax": ("jnp.", "jax."), "numpy": ("np.", "scipy.special.")}
    helpers = {t: set(re.findall(r"^def (\w+)\(", helpers_source(t), re.M)) for t in prefixes}
    assert helpers["torch"] == {"_mul_guarded", "_tanh", "_sech"} and helpers["numpy"] == {"_mul_guarded"}
    for row in primitives.PRIMITIVES.values():
        assert set(row.targets) == {"torch", "jax", "numpy"}, row.name
        arity = {i for _, i, _, _ in string.Formatter().parse(row.c) if i not in (None, "")}
        for target, text in row.targets.items():
            fields = {i for _, i, _, _ in string.Formatter().parse(text) if i not in (None, "")}
            assert fields == arity or fields == {"args"}, (row.name, target, text)
            names = re.findall(r"[A-Za-z_][\w.]*(?=\()", text)
            assert all(n.startswith(prefixes[target]) or n in helpers[target] for n in names), (row.name, target)


def test_every_function_a_formula_can_name_has_a_row():
    """Each function of the parser's whitelist reaches a row of the table once in stable form."""
    from activation_lab.symbolic.parsing import FUNCTIONS

    for name, (arity, _) in FUNCTIONS.items():
        args = ", ".join(["x", "x + 1", "2*x"][:arity]) if name != "where" else "x > 0, x, 2*x"
        act = al.define(f"{name}({args})" if name not in ("sqrt", "log", "ln") else f"{name}(x**2 + 1)")
        prog = program(act.expr, (0, 1))
        assert all(step.op in primitives.PRIMITIVES for step in prog.steps), name


def test_one_program_serves_every_order_and_target():
    """f and f′ of TeLU share eˣ and tanh(eˣ): the program computes each once, and the C target
    prints exactly the program's steps."""
    telu = al.get("telu")
    prog = program(telu.expr, (0, 1), expand=False)
    ops = [step.op for step in prog.steps]
    assert ops.count("exp") == 1 and ops.count("tanh") == 1
    kernel = al.c_kernel(telu.expr, (0, 1))
    assert kernel.operation.count("const double al_t") == len(prog.steps)


def test_no_target_parses_printed_code():
    """The fused runtime lowers the program's steps; it does not read generated source back."""
    from activation_lab.numeric import fused

    source = inspect.getsource(fused)
    assert "import ast" not in source and "ast.parse" not in source


def test_real_powers_of_negative_bases_agree():
    """x**(1/3) at x < 0 is nan on every target (IEEE pow, as NumPy, PyTorch and JAX): the C
    kernel used cbrt and said −2 where the NumPy path said nan."""
    act = al.define("x**(1/3)")
    small = np.float32([-8, 8])
    big = np.tile(small, 5000)
    for values in (act.evaluate(small), act.evaluate(big)[:2], act.evaluate(small.astype(np.float64))):
        assert np.isnan(values[0]) and values[1] == 2
    assert "cbrt" not in al.c_kernel(act.expr, (0,)).operation
