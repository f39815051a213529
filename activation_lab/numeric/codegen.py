"""The NumPy target: a program (:mod:`activation_lab.numeric.program`) printed as straight-line Python.

Each step is printed with its row's ``python`` text from the table of primitives
(:mod:`activation_lab.numeric.primitives`) and calls that row's NumPy callable, one full-array
operation per step.  Two variants exist for each expression: a fast one, and a guarded one in
which every product maps ``inf·0`` to 0.  Within an activation an ``inf·0`` product only arises
where an overflowing factor (``exp(x)`` for x > 709.78) meets a factor that underflowed faster
(``sech²(eˣ)``, ``exp(−x²/2)``), and the exact product is then far below the smallest subnormal;
the guarded variant runs only on the elements where the fast one returned nan for a finite input.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import sympy as sp

from .primitives import PRIMITIVES, numpy_namespace
from .program import Program, Ref, fold_numbers, straight_line

__all__ = ["print_python", "numpy_source", "compile_numpy", "fold_numbers"]


def print_python(prog: Program, name: str = "_generated") -> tuple[str, tuple[str, ...]]:
    """Python source of ``def name(x): ...`` running ``prog`` (its first output), and the decimal
    text of the constants it reads from ``_K`` (converted to the working dtype by the caller)."""
    constants = prog.constants()
    index = {text: i for i, text in enumerate(constants)}

    def text(a: Ref) -> str:
        if a[0] == "x":
            return "x"
        if a[0] == "v":
            return f"v{a[1]}"
        if a[2] == "K":
            return f"_K[{index[a[1]]}]" if not a[1].startswith("-") else f"(-_K[{index[a[1][1:]]}])"
        if a[2] == "nan":
            return "_nan"
        return f"({a[1]})" if a[1].startswith("-") else a[1]

    # each value is dropped after its last use, as a nested expression drops its temporaries:
    # full-size arrays, and peak memory is what the live ones hold
    last_use = {a[1]: i for i, step in enumerate(prog.steps) for a in step.args if a[0] == "v"}
    kept = {a[1] for a in prog.outputs if a[0] == "v"}
    lines = [f"def {name}(x):"]
    for i, step in enumerate(prog.steps):
        row = PRIMITIVES[step.op]
        args = [text(a) for a in step.args]
        body = row.python.format(*args, f=f"_p_{row.name}", args=", ".join(args))
        lines.append(f"    v{i} = {body}")
        dead = sorted({a[1] for a in step.args if a[0] == "v" and last_use[a[1]] == i and a[1] not in kept})
        if dead:
            lines.append(f"    del {', '.join(f'v{k}' for k in dead)}")
    lines.append(f"    return {text(prog.outputs[0])}")
    return "\n".join(lines) + "\n", constants


def numpy_source(expr: sp.Expr, guarded: bool = False, name: str = "_generated") -> tuple[str, tuple[str, ...]]:
    """Python source computing the stable expression ``expr`` with NumPy, and its constants."""
    return print_python(straight_line((expr,), guarded), name)


@functools.lru_cache(maxsize=2048)
def compile_numpy(expr: sp.Expr, guarded: bool = False, work: str = "float64") -> Callable[[np.ndarray], np.ndarray]:
    """A NumPy function of x for the stable expression ``expr``, computing in the dtype ``work``
    (float64 or longdouble).

    The source is printed from a program of the table's primitives (names are only ``x``, step
    values and the table's callables), never from user text.
    """
    source, constants = numpy_source(expr, guarded)
    namespace = numpy_namespace(work)
    namespace["_K"] = tuple(np.dtype(work).type(c) for c in constants)
    namespace["_nan"] = np.dtype(work).type("nan")
    exec(compile(source, f"<activation_lab generated: {expr}>", "exec"), namespace)  # noqa: S102
    fn = namespace["_generated"]
    fn.__doc__ = source
    return fn  # type: ignore[return-value]
