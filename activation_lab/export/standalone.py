"""Standalone files: one readable Python module per activation and framework, free of activation_lab.

:func:`module_source` writes, for PyTorch, JAX or NumPy: a docstring with the formula, its source
and how it was computed; the runtime's wiring (the same text the library runs, copied from
:mod:`activation_lab.export.torch_runtime`, ``jax_runtime`` or ``numpy_runtime`` from their marker
line on); the printed programs of f, f′, f″ (and of f and f′ together, for the forward pass); and a
self-test run by ``python FILE``: reference values computed at export time with mpmath at 50
digits, written in as literals, and finite-difference checks of f′ and f″.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import mpmath

from ..numeric.mpmath_target import mpmath_of
from ..version import __version__
from .build import USUAL_ORDERS, resolve_activation
from .printer import TARGETS, helpers_source, program_source

__all__ = ["module_source", "SELF_TEST_POINTS", "RUNTIME_MARKER"]

#: where the self-test compares with mpmath (away from the catalogue's kinks at 0, ±0.5, ±1, ±3, 6)
SELF_TEST_POINTS = (-30.7, -7.3, -2.1, -0.77, 0.33, 1.9, 4.6, 25.3)
#: the line of each runtime module after which its text is copied into the files
RUNTIME_MARKER = "# --- runtime: the text below is copied into standalone files ---\n"

#: each runtime's import lines, replaced by the target's (which the printed programs need)
RUNTIME_IMPORTS = {"torch": "import torch", "jax": "import functools\n\nimport jax\nimport jax.numpy as jnp",
                   "numpy": "import numpy as np"}

_RUNTIME = {"torch": "torch_runtime.py", "jax": "jax_runtime.py", "numpy": "numpy_runtime.py"}


def _runtime_text(target: str) -> str:
    text = (Path(__file__).parent / _RUNTIME[target]).read_text(encoding="utf-8")
    return text.split(RUNTIME_MARKER, 1)[1]


def _function_name(order_set: tuple[int, ...]) -> str:
    return "_f" + "".join(str(k) for k in order_set)


def _references(expr: Any) -> list[tuple[int, float, float]]:
    out = []
    with mpmath.workdps(50):
        for n in (0, 1, 2):
            fn = mpmath_of(expr, n)
            for x in SELF_TEST_POINTS:
                try:
                    value = float(fn(mpmath.mpf(x)))
                except (ValueError, ZeroDivisionError, TypeError):
                    continue
                if math.isfinite(value):
                    out.append((n, x, value))
    return out


_SELF_TEST = {
    "torch": '''
def _self_test():
    """Compare with the mpmath values written at export time, and f', f'' with finite differences."""
    for n, x0, want in _REFERENCE:
        got = float({name}.derivative(torch.tensor(x0, dtype=torch.float64), n))
        assert abs(got - want) <= 1e-12 * abs(want) + 1e-300, (n, x0, got, want)
    x = torch.tensor(_POINTS, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad({name}(x).sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    with torch.no_grad():
        for got, n in ((g, 1), (h, 2)):
            step = 1e-6 * torch.clamp(x.abs(), min=1.0)
            lower = {name}.derivative(x - step, n - 1)
            upper = {name}.derivative(x + step, n - 1)
            fd = (upper - lower) / (2 * step)
            assert torch.allclose(got, fd, rtol=1e-5, atol=1e-7), (n, got, fd)
    for dtype in (torch.float16, torch.bfloat16, torch.float32):
        y = {name}(torch.tensor(_POINTS, dtype=dtype))
        assert y.dtype == dtype
''',
    "jax": '''
def _self_test():
    """Compare with the mpmath values written at export time, and f', f'' with finite differences."""
    jax.config.update("jax_enable_x64", True)   # the self-test's own process: float64 references
    for n, x0, want in _REFERENCE:
        got = float({name}.derivative(jnp.float64(x0), n))
        assert abs(got - want) <= 1e-12 * abs(want) + 1e-300, (n, x0, got, want)
    x = jnp.asarray(_POINTS, dtype=jnp.float64)
    g = jax.jit(jax.vmap(jax.grad({name})))(x)
    h = jax.vmap(jax.grad(jax.grad({name})))(x)
    for got, n in ((g, 1), (h, 2)):
        step = 1e-6 * jnp.maximum(jnp.abs(x), 1.0)
        fd = ({name}.derivative(x + step, n - 1) - {name}.derivative(x - step, n - 1)) / (2 * step)
        assert jnp.allclose(got, fd, rtol=1e-5, atol=1e-7), (n, got, fd)
    for dtype in (jnp.float16, jnp.bfloat16, jnp.float32):
        assert {name}(jnp.asarray(_POINTS, dtype=dtype)).dtype == dtype
''',
    "numpy": '''
def _self_test():
    """Compare with the mpmath values written at export time, and f', f'' with finite differences."""
    for n, x0, want in _REFERENCE:
        got = float({name}.derivative(np.float64(x0), n))
        assert abs(got - want) <= 1e-12 * abs(want) + 1e-300, (n, x0, got, want)
    x = np.asarray(_POINTS, dtype=np.float64)
    for n in (1, 2):
        step = 1e-6 * np.maximum(np.abs(x), 1.0)
        fd = ({name}.derivative(x + step, n - 1) - {name}.derivative(x - step, n - 1)) / (2 * step)
        assert np.allclose({name}.derivative(x, n), fd, rtol=1e-5, atol=1e-7), (n, fd)
    for dtype in (np.float16, np.float32):
        assert {name}(np.asarray(_POINTS, dtype=dtype)).dtype == dtype
''',
}

_USAGE = {
    "torch": "    y = {name}(x)                 # torch.autograd.Function: f' in backward, f'' in double backward\n"
             "    {name}.derivative(x, n=2)     # f''(x) directly\n"
             "    torch.compile({name}, fullgraph=True)\n",
    "jax": "    y = {name}(x)                 # jax.custom_jvp: jit, vmap, grad, grad(grad(...))\n"
           "    {name}.derivative(x, n=2)     # f''(x), itself differentiable\n",
    "numpy": "    y = {name}(x)\n    {name}.derivative(x, n=1)     # f'(x)\n",
}

_PRECISION = {
    "torch": "float16 and bfloat16 compute in float32, float32 and float64 in float64; each result is rounded once.",
    "jax": "Every format computes in float64 where jax_enable_x64 is on, else in float32; each result is\n"
           "rounded once.",
    "numpy": "float16, float32 and float64 compute in float64 and are rounded once.",
}


def _doc(text: object) -> str:
    """Text safe inside the module's docstring (a user's name may hold quotes or backslashes)."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def module_source(act: Any, target: str, /, **params: Any) -> str:
    """The standalone module for ``act`` (a catalogue name, a formula in x, or an Activation) on
    ``target`` ("torch", "jax" or "numpy"), as text.  It imports only that framework (and, for
    NumPy, scipy.special), never activation_lab."""
    if target not in TARGETS:
        from ..errors import ActivationLabError

        raise ActivationLabError(f"unknown export target {target!r}; choose one of: {', '.join(TARGETS)}")
    a = resolve_activation(act, params)
    name = "".join(ch if ch.isalnum() else "_" for ch in a.name).strip("_").lower()
    name = name if name.isidentifier() and not name[0].isdigit() else "activation"
    orders = USUAL_ORDERS[target]
    functions = {_function_name(o): o for o in orders}
    params_text = ", ".join(f"{k} = {v!r}" for k, v in a.params.items()) or "none"
    doc = [
        f'"""{_doc(a.name)}, exported by activation-lab {__version__} for {target}: f(x) = {_doc(a.formula)}',
        "",
        f"Formula: {_doc(a.formula)}",
        f"Parameters: {_doc(params_text)}",
        f"As SymPy reads it: f(x) = {_doc(a.expr)}",
    ]
    if a.description:
        doc.append(f"What it is: {_doc(a.description)}")
    if a.source:
        doc.append(f"Source: {_doc(a.source)}")
    doc += [
        "",
        "f, f' and f'' are printed from activation-lab's stable program (the same one its NumPy, C and",
        "CuPy targets run): rewrites that keep each order accurate and finite where the textbook forms",
        "overflow or cancel, with their limits at +-inf and the signs of their tails' zeros.",
        _PRECISION[target],
        "",
        "Usage:",
        f"    from <this module> import {name}",
        *_USAGE[target].format(name=name).rstrip("\n").split("\n"),
        "",
        f"Self-test: python <this file> (mpmath values at {len(SELF_TEST_POINTS)} points written in at export,",
        "and finite-difference checks of f' and f'').",
        '"""',
    ]
    runtime = _runtime_text(target).strip("\n") + "\n"
    table = ",\n    ".join(f"{o!r}: {_function_name(o)}" for o in orders)
    reference = ",\n    ".join(repr(r) for r in _references(a.expr))
    parts = [
        "\n".join(doc) + "\n",
        runtime.replace(RUNTIME_IMPORTS[target], "\n".join(TARGETS[target].imports)),
        helpers_source(target),
        "# --- the printed programs: each returns f^(n)(x) for its orders, x in the working dtype ---\n\n"
        + program_source(a.expr, target, functions),
        f"_PROGRAMS = {{\n    {table},\n}}\n",
        '''def _programs(orders):
    try:
        return _PROGRAMS[orders]
    except KeyError:
        raise NotImplementedError(f"this file holds the orders {sorted(_PROGRAMS)}, not {orders}; export with "
                                  "activation-lab's library for higher derivatives") from None
''',
        f"{name} = make_function(_programs, {name!r})\n",
        f"#: (n, x, f^(n)(x)) from mpmath at 50 digits, rounded to float64, at export time\n"
        f"_REFERENCE = [\n    {reference},\n]\n_POINTS = {list(SELF_TEST_POINTS)!r}\n",
        _SELF_TEST[target].format(name=name).lstrip("\n"),
        f'if __name__ == "__main__":\n    _self_test()\n    print("{name}: self-test passed")\n',
    ]
    return "\n\n".join(p.rstrip("\n") + "\n" for p in parts)
