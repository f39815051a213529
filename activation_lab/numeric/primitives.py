"""The table of primitives: for each operation a program may hold, how each target computes it.

One :class:`Primitive` per row.  A program (:mod:`activation_lab.numeric.program`) is a list of
steps naming these rows; each target looks its spelling up here and nowhere else:

========== =========================================================================================
column     meaning
========== =========================================================================================
python     the NumPy printer's text (``{0}``, ``{1}`` … are the operands, ``{f}`` the callable)
numpy      the callable for float64 arrays (a ufunc where NumPy has one: the fused block
           runtime then writes into its buffers)
longdouble the callable for long-double arrays, where it differs (SciPy's erf is double only)
c          the C expression (CuPy kernels and the native CPU loop); ``c_float32``: the cheaper
           form where results are rounded to float32 (CPU only)
array_api  ``factory(xp) -> callable`` for an array-API namespace
mpmath     where mpmath's own function needs a guard (arguments whose exponential no mpf holds),
           the guarded callable of :mod:`.mpmath_target`, which the reference uses; None: mpmath's own
targets    the PyTorch, JAX and standalone-NumPy text, as ``python`` (``{"torch": …, "jax": …,
           "numpy": …}``), printed by :mod:`activation_lab.export` into files free of this package
========== =========================================================================================

Adding a primitive: one row here (and its SymPy class in :data:`SYMPY_NAMES` if formulas can
name it), plus a test on every target.  Adding a target: one column, filled for every row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..symbolic import functions as stable_fns
from . import mpmath_target as mpt

__all__ = ["Primitive", "PRIMITIVES", "primitive_of", "numpy_namespace", "array_api_namespace", "SYMPY_NAMES"]


@dataclass(frozen=True)
class Primitive:
    """One row of the table (see the module docstring for the columns)."""

    name: str
    python: str
    numpy: Any
    c: str
    array_api: Callable[[Any], Any] | None
    mpmath: Any = None
    longdouble: Any = None
    c_float32: str | None = None
    kind: str = "float"
    targets: Mapping[str, str] = field(default_factory=dict)

    def numpy_for(self, work: str) -> Any:
        """The NumPy callable for arrays of the working dtype ``work`` (float64 or longdouble)."""
        return self.longdouble if work == "longdouble" and self.longdouble is not None else self.numpy


def _special(name: str) -> Any:
    from scipy import special

    return getattr(special, name)


class _Lazy:
    """A SciPy ufunc looked up on first call (SciPy is not imported with the package)."""

    def __init__(self, name: str):
        self.name = name
        self.__name__ = name

    def __call__(self, *args: Any) -> Any:
        return _special(self.name)(*args)


def _erf_ld(u: Any) -> Any:
    from .special import erf_ld

    return erf_ld(u)


def _erfc_ld(u: Any) -> Any:
    from .special import erfc_ld

    return erfc_ld(u)


def _xp_unary(name: str) -> Callable[[Any], Any]:
    return lambda xp: getattr(xp, name)


def _xp_erf(xp: Any) -> Callable[[Any], Any]:
    from .xp_special import erf

    return lambda u: erf(xp, u)


def _xp_erfc(xp: Any) -> Callable[[Any], Any]:
    from .xp_special import erfc

    return lambda u: erfc(xp, u)


def _xp_sigmoid(xp: Any) -> Callable[[Any], Any]:
    def sigmoid(u: Any) -> Any:
        e = xp.exp(-xp.abs(u))
        return xp.where(u >= 0, 1 / (1 + e), e / (1 + e))
    return sigmoid


def _xp_dsigmoid(xp: Any) -> Callable[[Any], Any]:
    sigmoid = _xp_sigmoid(xp)
    return lambda u: sigmoid(u) * sigmoid(-u)


def _xp_softplus(xp: Any) -> Callable[[Any], Any]:
    def softplus(u: Any) -> Any:
        return xp.where(u > 0, u, xp.zeros_like(u)) + xp.log1p(xp.exp(-xp.abs(u)))
    return softplus


def _np_softplus(u: Any) -> Any:
    return np.logaddexp(0.0, u)


def _np_sech(u: Any) -> Any:
    return 1.0 / np.cosh(u)


def _np_dsigmoid(u: Any) -> Any:
    expit = _special("expit")
    return expit(u) * expit(-u)


def _op(name: str, python: str, numpy: Any, c: str, xp_name: str | None, mp: Any, kind: str = "float",
        targets: Mapping[str, str] | None = None) -> Primitive:
    xp = (lambda xp_: getattr(xp_, xp_name)) if xp_name else None
    return Primitive(name, python, numpy, c, xp, mp, kind=kind, targets=dict(targets or {}))


def _t(torch: str, jax: str, numpy: str) -> dict[str, str]:
    """The ``targets`` column: the PyTorch, JAX and standalone-NumPy text of a row, printed by
    :mod:`activation_lab.export` into modules that import ``torch``; ``jax``, ``jax.numpy as jnp``
    and ``jax.scipy.special``; ``numpy as np`` and ``scipy.special``."""
    return {"torch": torch, "jax": jax, "numpy": numpy}


_ROWS: list[Primitive] = [
    # arithmetic and logic: the operators of the printed Python, the C operators
    _op("add", "{0} + {1}", np.add, "({0} + {1})", "add", lambda a, b: a + b,
        targets=_t("{0} + {1}", "{0} + {1}",
                   "{0} + {1}")),
    _op("sub", "{0} - {1}", np.subtract, "({0} - {1})", "subtract", lambda a, b: a - b,
        targets=_t("{0} - {1}", "{0} - {1}",
                   "{0} - {1}")),
    _op("mul", "{0}*{1}", np.multiply, "({0}*{1})", "multiply", lambda a, b: a * b,
        targets=_t("{0}*{1}", "{0}*{1}",
                   "{0}*{1}")),
    _op("div", "{0}/{1}", np.true_divide, "({0}/{1})", "divide", lambda a, b: a / b,
        targets=_t("{0}/{1}", "{0}/{1}",
                   "{0}/{1}")),
    _op("neg", "-{0}", np.negative, "(-{0})", "negative", lambda a: -a,
        targets=_t("-{0}", "-{0}",
                   "-{0}")),
    _op("square", "{0}**2", np.square, "al_sq({0})", "square", lambda a: a * a,
        targets=_t("torch.square({0})", "jnp.square({0})",
                   "np.square({0})")),
    _op("pow", "{0}**{1}", np.power, "pow({0}, {1})", "pow", lambda a, b: a ** b,
        targets=_t("torch.pow({0}, {1})", "jnp.power({0}, {1})",
                   "np.power({0}, {1})")),
    _op("sqrt", "{f}({0})", np.sqrt, "sqrt({0})", "sqrt", None,
        targets=_t("torch.sqrt({0})", "jnp.sqrt({0})",
                   "np.sqrt({0})")),
    _op("lt", "({0} < {1})", np.less, "({0} < {1})", "less", None, "bool",
        targets=_t("({0} < {1})", "({0} < {1})",
                   "({0} < {1})")),
    _op("le", "({0} <= {1})", np.less_equal, "({0} <= {1})", "less_equal", None, "bool",
        targets=_t("({0} <= {1})", "({0} <= {1})",
                   "({0} <= {1})")),
    _op("gt", "({0} > {1})", np.greater, "({0} > {1})", "greater", None, "bool",
        targets=_t("({0} > {1})", "({0} > {1})",
                   "({0} > {1})")),
    _op("ge", "({0} >= {1})", np.greater_equal, "({0} >= {1})", "greater_equal", None, "bool",
        targets=_t("({0} >= {1})", "({0} >= {1})",
                   "({0} >= {1})")),
    _op("eq", "({0} == {1})", np.equal, "({0} == {1})", "equal", None, "bool",
        targets=_t("({0} == {1})", "({0} == {1})",
                   "({0} == {1})")),
    _op("ne", "({0} != {1})", np.not_equal, "({0} != {1})", "not_equal", None, "bool",
        targets=_t("({0} != {1})", "({0} != {1})",
                   "({0} != {1})")),
    _op("and", "({0}) & ({1})", np.bitwise_and, "({0} && {1})", "logical_and", None, "bool",
        targets=_t("({0}) & ({1})", "({0}) & ({1})",
                   "({0}) & ({1})")),
    _op("or", "({0}) | ({1})", np.bitwise_or, "({0} || {1})", "logical_or", None, "bool",
        targets=_t("({0}) | ({1})", "({0}) | ({1})",
                   "({0}) | ({1})")),
    _op("not", "~({0})", np.invert, "(!{0})", "logical_not", None, "bool",
        targets=_t("~({0})", "~({0})",
                   "~({0})")),
    # select: where(condition, a, b)
    _op("where", "{f}({0}, {1}, {2})", np.where, "(({0}) ? ({1}) : ({2}))", None, None,
        targets=_t("torch.where({0}, {1}, {2})", "jnp.where({0}, {1}, {2})",
                   "np.where({0}, {1}, {2})")),
    # the guarded product: inf·0 is 0, signed as the product of the signs
    _op("mul_guarded", "{f}({args})", None, "al_mul({0}, {1})", None, None,
        targets=_t("_mul_guarded({args})", "_mul_guarded({args})",
                   "_mul_guarded({args})")),
    # elementary functions
    _op("exp", "{f}({0})", np.exp, "exp({0})", "exp", mpt.MPMATH_NAMESPACE["exp"],
        targets=_t("torch.exp({0})", "jnp.exp({0})",
                   "np.exp({0})")),
    _op("log", "{f}({0})", np.log, "log({0})", "log", None,
        targets=_t("torch.log({0})", "jnp.log({0})",
                   "np.log({0})")),
    _op("sin", "{f}({0})", np.sin, "sin({0})", "sin", None,
        targets=_t("torch.sin({0})", "jnp.sin({0})",
                   "np.sin({0})")),
    _op("cos", "{f}({0})", np.cos, "cos({0})", "cos", None,
        targets=_t("torch.cos({0})", "jnp.cos({0})",
                   "np.cos({0})")),
    _op("atan", "{f}({0})", np.arctan, "atan({0})", "atan", None,
        targets=_t("torch.atan({0})", "jnp.arctan({0})",
                   "np.arctan({0})")),
    _op("sinh", "{f}({0})", np.sinh, "sinh({0})", "sinh", mpt.MPMATH_NAMESPACE["sinh"],
        targets=_t("torch.sinh({0})", "jnp.sinh({0})",
                   "np.sinh({0})")),
    _op("cosh", "{f}({0})", np.cosh, "cosh({0})", "cosh", mpt.MPMATH_NAMESPACE["cosh"],
        targets=_t("torch.cosh({0})", "jnp.cosh({0})",
                   "np.cosh({0})")),
    _op("abs", "{f}({0})", np.absolute, "fabs({0})", "abs", None,
        targets=_t("torch.abs({0})", "jnp.abs({0})",
                   "np.abs({0})")),
    _op("sign", "{f}({0})", np.sign, "al_sgn({0})", "sign", None,
        targets=_t("torch.sign({0})", "jnp.sign({0})",
                   "np.sign({0})")),
    _op("expm1", "{f}({0})", np.expm1, "expm1({0})", "expm1", mpt.MPMATH_NAMESPACE["expm1"],
        targets=_t("torch.special.expm1({0})", "jnp.expm1({0})",
                   "np.expm1({0})")),
    _op("log1p", "{f}({0})", np.log1p, "log1p({0})", "log1p", mpt.MPMATH_NAMESPACE["log1p"],
        targets=_t("torch.special.log1p({0})", "jnp.log1p({0})",
                   "np.log1p({0})")),
    # the stable primitives
    Primitive("tanh", "{f}({0})", np.tanh, "al_tanh({0})", _xp_unary("tanh"), mpt.MPMATH_NAMESPACE["tanh"],
              c_float32="al_tanh_f32({0})",
              # export/printer.py's helpers: torch.tanh, or compiled for float32 one exp; XLA's own
              # tanh for float32 results, else through expm1 (XLA's float64 tanh is 6.5 ULP off near ±1)
              targets=_t("_tanh({0}, f32)", "_tanh({0}, f32)", "np.tanh({0})")),
    Primitive("sech", "(1.0/{f}({0}))", _np_sech, "(1.0/cosh({0}))", lambda xp: lambda u: 1.0 / xp.cosh(u),
              mpt.MPMATH_NAMESPACE["sech"], c_float32="al_sech_f32({0})",
              targets=_t("_sech({0}, f32)", "_sech({0}, f32)",   # export/printer.py's helpers
                         "(1.0/np.cosh({0}))")),
    Primitive("sigmoid", "{f}({0})", _Lazy("expit"), "al_sigmoid({0})", _xp_sigmoid, mpt.MPMATH_NAMESPACE["sigmoid"],
              targets=_t("torch.special.expit({0})", "jax.nn.sigmoid({0})",
                         "scipy.special.expit({0})")),
    Primitive("dsigmoid", "{f}({0})", _np_dsigmoid, "(al_sigmoid({0})*al_sigmoid(-({0})))",
              _xp_dsigmoid, mpt.MPMATH_NAMESPACE["dsigmoid"],
              targets=_t("(torch.special.expit({0})*torch.special.expit(-({0})))",
                         "(jax.nn.sigmoid({0})*jax.nn.sigmoid(-({0})))",
                         "(scipy.special.expit({0})*scipy.special.expit(-({0})))")),
    # torch.nn.functional.softplus returns x itself past its threshold (20): logaddexp keeps the tail
    Primitive("softplus", "{f}({0})", _np_softplus, "al_softplus({0})", _xp_softplus, mpt.MPMATH_NAMESPACE["softplus"],
              targets=_t("torch.logaddexp({0}, torch.zeros_like({0}))", "jnp.logaddexp({0}, 0.0)",
                         "np.logaddexp(0.0, {0})")),
    Primitive("erf", "{f}({0})", _Lazy("erf"), "erf({0})", _xp_erf, mpt.MPMATH_NAMESPACE["erf"], longdouble=_erf_ld,
              targets=_t("torch.special.erf({0})", "jax.scipy.special.erf({0})",
                         "scipy.special.erf({0})")),
    Primitive("erfc", "{f}({0})", _Lazy("erfc"), "erfc({0})", _xp_erfc, mpt.MPMATH_NAMESPACE["erfc"],
              longdouble=_erfc_ld, targets=_t("torch.special.erfc({0})", "jax.scipy.special.erfc({0})",
                         "scipy.special.erfc({0})")),
]

#: the table, by name
PRIMITIVES: dict[str, Primitive] = {row.name: row for row in _ROWS}

#: SymPy function classes of the stable forms → the row that computes them
SYMPY_NAMES: dict[type, str] = {
    sp.exp: "exp", sp.log: "log", sp.sin: "sin", sp.cos: "cos", sp.atan: "atan", sp.sinh: "sinh",
    sp.cosh: "cosh", sp.tanh: "tanh", sp.sech: "sech", sp.Abs: "abs", sp.sign: "sign", sp.erf: "erf",
    sp.erfc: "erfc", stable_fns.erfc: "erfc", stable_fns.expm1: "expm1", stable_fns.log1p: "log1p",
    stable_fns.sigmoid: "sigmoid", stable_fns.dsigmoid: "dsigmoid", stable_fns.softplus: "softplus",
}


def primitive_of(e: sp.Expr) -> str:
    """The row computing the SymPy function node ``e``; NotImplementedError where there is none."""
    for cls in type(e).__mro__:
        if cls in SYMPY_NAMES:
            return SYMPY_NAMES[cls]
    raise NotImplementedError(f"no primitive computes {type(e).__name__} ({e}); add a row to the table")


def numpy_namespace(work: str) -> dict[str, Any]:
    """Callables of every row for NumPy arrays of dtype ``work``, under the names ``_p_<row>``."""
    ns: dict[str, Any] = {f"_p_{row.name}": row.numpy_for(work) for row in _ROWS if row.numpy is not None}
    ns["_p_mul_guarded"] = guarded_mul
    return ns


def guarded_mul(*factors: Any) -> Any:
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


def array_api_namespace(xp: Any, like: Any) -> dict[str, Any]:
    """Callables of every row for the array-API namespace ``xp`` (float64 arrays on ``like``'s device)."""
    def arr(v: Any) -> Any:
        if isinstance(v, (int, float)):
            return xp.asarray(float(v), dtype=xp.float64, device=like.device)
        return v

    def where(c: Any, a: Any, b: Any) -> Any:
        return xp.where(c, arr(a), arr(b))

    def sgn(v: Any) -> Any:   # numpy.sign, with +0 for both zeros
        return where(v > 0, 1.0, where(v < 0, -1.0, 0.0))

    def mul_guarded(*factors: Any) -> Any:
        out = arr(factors[0])
        for f in factors[1:]:
            f = arr(f)
            prod = out * f
            bad = xp.isnan(prod) & ~xp.isnan(out) & ~xp.isnan(f)
            out = xp.where(bad, xp.copysign(xp.zeros_like(prod), sgn(out) * sgn(f)), prod)
        return out

    def power(a: Any, b: Any) -> Any:
        return xp.pow(arr(a), arr(b))

    ns: dict[str, Any] = {f"_p_{row.name}": row.array_api(xp) for row in _ROWS if row.array_api is not None}
    ns.update(_p_where=where, _p_mul_guarded=mul_guarded, _p_sign=sgn, _p_pow=power, _p_nan=math.nan)
    return ns
