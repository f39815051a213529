"""Code generation from SymPy: NumPy source for a stable expression, with shared subexpressions.

The printer is a subclass of SymPy's NumPy printer with one ``_print_Foo`` method per
construct that needs a stable routine (sigmoid → ``expit``, softplus → ``logaddexp``, …).
Two variants are generated for each expression: a fast one, and a guarded one in which
every product maps ``inf·0`` to 0.  Within an activation an ``inf·0`` product only arises
where an overflowing factor (``exp(x)`` for x > 709.78) meets a factor that underflowed
faster (``sech²(eˣ)``, ``exp(−x²/2)``), and the exact product is then far below the
smallest subnormal; the guarded variant runs only on the elements where the fast one
returned nan for a finite input.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from ..symbolic.parsing import X

__all__ = ["numpy_source", "compile_numpy"]


class StableNumPyPrinter(NumPyPrinter):
    """NumPy printer for the package's stable primitives; numbers print as float64 literals."""

    def __init__(self, guarded: bool = False):
        super().__init__({"fully_qualified_modules": True, "inline": True, "allow_unknown_functions": False})
        self.guarded = guarded
        self.constants: list[str] = []   # 40-digit decimal text, converted to the working dtype

    def _print(self, expr, **kwargs):
        if isinstance(expr, sp.Expr) and expr.is_number and not expr.is_Integer:
            text = str(sp.N(expr, 40))
            if text not in self.constants:
                self.constants.append(text)
            return f"_K[{self.constants.index(text)}]"
        return super()._print(expr, **kwargs)

    def _call(self, name: str, *args: sp.Expr) -> str:
        return f"{name}({', '.join(self._print(a) for a in args)})"

    def _print_sigmoid(self, e):
        return self._call("_expit", e.args[0])

    def _print_softplus(self, e):
        return f"_logaddexp(0.0, {self._print(e.args[0])})"

    def _print_sech(self, e):
        return f"(1.0/_cosh({self._print(e.args[0])}))"

    def _print_erf(self, e):
        return self._call("_erf", e.args[0])

    def _print_erfc(self, e):
        return self._call("_erfc", e.args[0])

    def _print_Abs(self, e):
        return f"numpy.absolute({self._print(e.args[0])})"

    def _print_dsigmoid(self, e):
        u = self._print(e.args[0])
        return f"(_expit({u})*_expit(-({u})))"

    def _print_expm1(self, e):
        return self._call("_expm1", e.args[0])

    def _print_log1p(self, e):
        return self._call("_log1p", e.args[0])

    def _print_Mul(self, e):
        if not self.guarded:
            return super()._print_Mul(e)
        c, factors = e.as_coeff_mul()
        parts = [self._print(f) for f in factors]
        if c != 1:
            parts.insert(0, self._print(c))
        return parts[0] if len(parts) == 1 else f"_mul({', '.join(parts)})"

    def _print_Piecewise(self, e):
        *pieces, (last, cond) = e.args
        out = self._print(last) if cond == sp.true else f"_where({self._print(cond)}, {self._print(last)}, _nan)"
        for value, c in reversed(pieces):
            out = f"_where({self._print(c)}, {self._print(value)}, {out})"
        return out

    def _print_And(self, e):
        return " & ".join(f"({self._print(a)})" for a in e.args)

    def _print_Or(self, e):
        return " | ".join(f"({self._print(a)})" for a in e.args)

    def _print_Relational(self, e):
        ops = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
        return f"({self._print(e.lhs)} {ops[e.rel_op]} {self._print(e.rhs)})"


def _guarded_mul(*factors):
    """Product in which inf·0 is 0 (with the sign of the product)."""
    out = factors[0]
    for f in factors[1:]:
        prod = out * f
        bad = np.isnan(prod) & ~np.isnan(out) & ~np.isnan(f)
        if np.any(bad):
            sign = np.sign(out) * np.sign(f)
            prod = np.where(bad, np.copysign(0.0, sign), prod)
        out = prod
    return out


def _for_dtype(double_fn, long_fn):
    """SciPy's erf/erfc are double-only and not accurate enough for long double work:
    long-double arrays go to :mod:`activation_lab.numeric.special`."""
    def call(u):
        u = np.asarray(u)
        return long_fn(u) if u.dtype == np.longdouble else double_fn(u)
    return call


def _namespace(work: str) -> dict[str, object]:
    from scipy import special

    from .special import erf_ld, erfc_ld

    return {
        "numpy": np, "_expit": special.expit, "_logaddexp": np.logaddexp, "_cosh": np.cosh,
        "_erf": _for_dtype(special.erf, erf_ld), "_erfc": _for_dtype(special.erfc, erfc_ld), "_expm1": np.expm1,
        "_log1p": np.log1p, "_where": np.where, "_nan": np.dtype(work).type("nan"), "_mul": _guarded_mul,
    }


def _fold_numbers(e: sp.Basic) -> sp.Basic:
    """Numeric factors of every product folded into one 40-digit Float."""
    if not e.args or e.is_Atom:
        return e
    if isinstance(e, sp.Expr) and e.is_number:
        return sp.Float(sp.N(e, 40), 40) if not e.is_Integer else e
    args = [_fold_numbers(a) for a in e.args]
    if e.is_Mul:
        numbers = [a for a in args if a.is_number]
        others = [a for a in args if not a.is_number]
        if len(numbers) > 1 or (numbers and not numbers[0].is_Integer):
            coeff = sp.Float(sp.N(sp.Mul(*numbers), 40), 40)
            return sp.Mul(coeff, *others, evaluate=False) if coeff != 1 else sp.Mul(*others)
        return e.func(*args)
    if isinstance(e, sp.Piecewise):
        return sp.Piecewise(*[(_fold_numbers(v), c) for v, c in e.args])
    return e.func(*args)


def _exp_based(expr: sp.Expr) -> sp.Expr:
    """sigmoid, σ′ and softplus written with E = exp(−|u|), which CSE then shares:

    σ(u) = (1 if u ≥ 0 else E)/(1 + E),  σ′(u) = E/(1 + E)²,  softplus(u) = max(u, 0) + log1p(E).

    The same values as SciPy's ``expit`` and NumPy's ``logaddexp`` to an ULP or so, never
    overflowing, with subnormal tails kept, and in NumPy's vectorised exp/log1p: ``expit``
    costs ~3.5 ns and ``logaddexp`` ~17 ns per element here, this ~1–2 ns.
    """
    from ..symbolic.functions import dsigmoid, sigmoid, softplus

    def e_of(u):
        return sp.exp(-sp.Abs(u))

    def lower(e):
        u = e.args[0]
        if isinstance(e, sigmoid):
            return sp.Piecewise((sp.S.One, u >= 0), (e_of(u), True)) / (1 + e_of(u))
        if isinstance(e, dsigmoid):
            return e_of(u) / (1 + e_of(u)) ** 2
        return sp.Piecewise((u, u > 0), (sp.S.Zero, True)) + log1p_fn(e_of(u))

    from ..symbolic.functions import log1p as log1p_fn

    return expr.replace(lambda e: isinstance(e, (sigmoid, dsigmoid, softplus)), lower)


@functools.lru_cache(maxsize=2048)
def numpy_source(expr: sp.Expr, guarded: bool = False, name: str = "_generated") -> tuple[str, tuple[str, ...]]:
    """Python source of ``def name(x): ...`` computing ``expr`` with NumPy, CSE applied,
    and the decimal text of the constants it reads from ``_K``."""
    printer = StableNumPyPrinter(guarded=guarded)
    # constants folded at 40 digits, so sqrt(2)/2 is one correctly rounded literal
    expr = _fold_numbers(_exp_based(expr))
    replacements, (reduced,) = sp.cse(expr, symbols=sp.numbered_symbols("_t"), optimizations=None)
    lines = [f"def {name}(x):"]
    for sym, sub in replacements:
        lines.append(f"    {sym} = {printer.doprint(sub)}")
    lines.append(f"    return {printer.doprint(reduced)}")
    return "\n".join(lines) + "\n", tuple(printer.constants)


@functools.lru_cache(maxsize=2048)
def compile_numpy(expr: sp.Expr, guarded: bool = False, work: str = "float64") -> Callable[[np.ndarray], np.ndarray]:
    """A NumPy function of x for ``expr``, computing in the dtype ``work`` (float64 or longdouble).

    The source is generated from a SymPy expression built by the package (names are only
    ``x``, CSE temporaries and the namespace below), never from user text.
    """
    if expr.free_symbols - {X}:
        raise ValueError(f"expression has free symbols other than x: {expr.free_symbols - {X}}")
    source, constants = numpy_source(expr, guarded)
    namespace = _namespace(work)
    namespace["_K"] = tuple(np.dtype(work).type(c) for c in constants)
    exec(compile(source, f"<activation_lab generated: {expr}>", "exec"), namespace)  # noqa: S102
    fn = namespace["_generated"]
    fn.__doc__ = source
    return fn  # type: ignore[return-value]
