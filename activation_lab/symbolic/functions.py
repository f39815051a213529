"""SymPy primitives with numerically stable meanings: sigmoid, softplus, expm1, log1p.

Each is a SymPy ``Function`` with its own derivative (``fdiff``), so derivatives stay in
stable form, and its own LaTeX.  The numeric printers map each to a stable routine
(``expit``, ``logaddexp``, ``expm1``, ``log1p``) instead of expanding it into exp/log.
"""

from __future__ import annotations

import sympy as sp
from sympy.codegen import cfunctions

__all__ = ["sigmoid", "dsigmoid", "softplus", "expm1", "log1p", "notnan", "STABLE_FUNCTIONS"]


def _evalf_via_exp(f: sp.Function, prec: int) -> sp.Expr | None:
    """The numerical value of f(number) from its exp form (sigmoid(1), softplus(1) are numbers:
    constants in a formula are folded by value); None (unevaluated) for symbolic arguments."""
    if not f.args[0].is_number:
        return None
    return f.rewrite(sp.exp)._eval_evalf(prec)


class sigmoid(sp.Function):  # noqa: N801 - printed name
    r"""Logistic sigmoid :math:`\sigma(u) = 1/(1 + e^{-u})`."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        u = self.args[0]
        # sigma' = sigma(u)*sigma(-u): no 1 - sigma(u) cancellation for large u
        return sigmoid(u) * sigmoid(-u)

    @classmethod
    def eval(cls, u: sp.Expr):  # type: ignore[override]
        if u.is_zero:
            return sp.S.Half
        if u is sp.oo:
            return sp.S.One
        if u is sp.S.NegativeInfinity:
            return sp.S.Zero
        return None

    def _eval_is_real(self):
        return self.args[0].is_extended_real

    def _eval_is_positive(self):
        return self.args[0].is_extended_real

    def _eval_rewrite_as_exp(self, u, **kwargs):
        return 1 / (1 + sp.exp(-u))

    def _eval_evalf(self, prec):
        return _evalf_via_exp(self, prec)

    def _eval_rewrite_as_tanh(self, u, **kwargs):
        return (1 + sp.tanh(u / 2)) / 2

    def _latex(self, printer, exp=None):
        s = rf"\sigma\left({printer._print(self.args[0])}\right)"
        return s if exp is None else rf"{s}^{{{exp}}}"


class dsigmoid(sp.Function):  # noqa: N801
    r""":math:`\sigma'(u) = \sigma(u)\sigma(-u)`, with :math:`\sigma''(u) = -\sigma'(u)\tanh(u/2)`.

    Used by the numeric layer: differentiating the product σ(u)σ(−u) gives
    σ'(u)(σ(−u) − σ(u)), which cancels to 0 for tiny u; tanh(u/2) does not.
    """

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        u = self.args[0]
        return -dsigmoid(u) * sp.tanh(u / 2)

    @classmethod
    def eval(cls, u: sp.Expr):  # type: ignore[override]
        if u.is_zero:
            return sp.Rational(1, 4)
        if u.could_extract_minus_sign():
            return cls(-u)   # even function: one canonical argument
        return None

    def _eval_is_positive(self):
        return self.args[0].is_extended_real

    def _eval_rewrite_as_exp(self, u, **kwargs):
        return sp.exp(-u) / (1 + sp.exp(-u)) ** 2

    def _eval_evalf(self, prec):
        return _evalf_via_exp(self, prec)

    def _latex(self, printer, exp=None):
        s = rf"\sigma'\left({printer._print(self.args[0])}\right)"
        return s if exp is None else rf"{s}^{{{exp}}}"


class softplus(sp.Function):  # noqa: N801
    r"""Softplus :math:`\operatorname{softplus}(u) = \ln(1 + e^{u})`."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(self.args[0])

    @classmethod
    def eval(cls, u: sp.Expr):  # type: ignore[override]
        if u.is_zero:
            return sp.log(2)
        if u is sp.oo:
            return sp.oo
        if u is sp.S.NegativeInfinity:
            return sp.S.Zero
        return None

    def _eval_is_real(self):
        return self.args[0].is_extended_real

    def _eval_is_positive(self):
        return self.args[0].is_extended_real

    def _eval_rewrite_as_log(self, u, **kwargs):
        return sp.log(1 + sp.exp(u))

    _eval_rewrite_as_exp = _eval_rewrite_as_log

    def _eval_evalf(self, prec):
        return _evalf_via_exp(self, prec)

    def _latex(self, printer, exp=None):
        s = rf"\operatorname{{softplus}}\left({printer._print(self.args[0])}\right)"
        return s if exp is None else rf"{s}^{{{exp}}}"


class expm1(cfunctions.expm1):  # noqa: N801
    r""":math:`e^{u} - 1` without cancellation near 0."""

    def _latex(self, printer, exp=None):
        s = rf"\left(e^{{{printer._print(self.args[0])}}} - 1\right)"
        return s if exp is None else rf"{s}^{{{exp}}}"

    def _eval_rewrite_as_exp(self, u, **kwargs):
        return sp.exp(u) - 1


class log1p(cfunctions.log1p):  # noqa: N801
    r""":math:`\ln(1 + u)` without cancellation near 0."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return 1 / (1 + self.args[0])

    def _latex(self, printer, exp=None):
        s = rf"\ln\left(1 + {printer._print(self.args[0])}\right)"
        return s if exp is None else rf"\left({s}\right)^{{{exp}}}"

    def _eval_rewrite_as_log(self, u, **kwargs):
        return sp.log(1 + u)

    _eval_rewrite_as_exp = _eval_rewrite_as_log


#: the package's own primitives, by the name a formula uses
STABLE_FUNCTIONS: dict[str, type[sp.Function]] = {
    "sigmoid": sigmoid,
    "softplus": softplus,
    "expm1": expm1,
    "log1p": log1p,
}


class erfc(sp.erfc):  # noqa: N801
    r"""Complementary error function that keeps ``erfc(−u)`` as written.

    SymPy's ``erfc`` turns ``erfc(−u)`` into ``2 − erfc(u)``, which cancels for large u:
    GELU = x/2·erfc(−x/√2) must stay in that form to be computed accurately.
    """

    @classmethod
    def eval(cls, arg):  # type: ignore[override]
        if arg.is_zero:
            return sp.S.One
        if arg is sp.oo:
            return sp.S.Zero
        if arg is sp.S.NegativeInfinity:
            return sp.S(2)
        if arg.is_Number:
            return None
        return None


STABLE_FUNCTIONS["erfc"] = erfc


class notnan(sp.Function):  # noqa: N801 - printed name
    r"""1 where ``u`` is a number (±inf included), 0 where it is nan: never nan itself.

    Not a function formulas can name: the stable rewrite writes a condition ``v > 1`` on a ``v``
    that may be nan (a log, a square root of x) as ``(v > 1) ∧ (notnan(v) > 0)``, so that SymPy's
    negation of it, ``(v ≤ 1) ∨ (notnan(v) ≤ 0)``, is true where v is nan, as ¬(nan > 1) is.
    Its derivative is 0 (a step that is constant where v is a number)."""

    nargs = 1

    @classmethod
    def eval(cls, arg):  # type: ignore[override]
        if arg is sp.nan:
            return sp.S.Zero
        if arg.is_Number or arg in (sp.oo, sp.S.NegativeInfinity):
            return sp.S.One
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero
