"""Numbers in formulas shown as a user writes them: sigmoid(1.702*x), not sigmoid(851*x/500).

Parameters and literals are exact rationals inside (so that SymPy's algebra is exact); a decimal
the user typed, such as 1.702 or 0.044715, comes back as a fraction with a denominator of 2s and 5s.
Such a fraction is shown as its decimal where the denominator is 10 or more (1/2, 3/4 and 1/8 stay
fractions: x/2 reads as written).
"""

from __future__ import annotations

import decimal
from typing import Any

__all__ = ["written_expr", "as_written"]

#: decimals longer than this stay fractions (they were not typed)
_MAX_DIGITS = 20


def written_expr(expr: Any) -> Any:
    """``expr`` with each such rational replaced by a symbol named by its decimal text."""
    import sympy as sp

    if not isinstance(expr, sp.Basic):
        return expr

    def shown(r: sp.Rational) -> sp.Expr:
        d = int(r.q)
        for p in (2, 5):
            while d % p == 0:
                d //= p
        if d != 1 or r.q < 10:
            return r
        text = format(decimal.Decimal(int(r.p)) / decimal.Decimal(int(r.q)), "f")
        return sp.Symbol(text) if len(text) <= _MAX_DIGITS else r
    swap = {r: shown(r) for r in expr.atoms(sp.Rational)}
    return expr.xreplace({k: v for k, v in swap.items() if v is not k})


def as_written(expr: Any) -> str:
    """``expr`` as text with the decimals a user typed (see :func:`written_expr`)."""
    return str(written_expr(expr))
