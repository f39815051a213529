"""Stable rewrites: the same function, in forms that floating point evaluates accurately.

Each rule is a mathematical identity chosen for a numerical reason:

* ``1 ± tanh(u)``      → ``2·sigmoid(±2u)``  (no cancellation where tanh(u) → ∓1)
* ``1 − tanh(u)²``     → ``sech(u)²``        (tanh's derivative; 1 − tanh² is 0 in floats once |u| > 19)
* ``σ(u)·σ(−u)``       → ``dsigmoid(u)``     (its derivative −σ'(u)·tanh(u/2) does not cancel at u ≈ 0)
* ``c·erf(u) + c``     → ``c·erfc(−u)``      (1 + erf(u) cancels for u < −3)
* ``c − 2c·σ(u)``      → ``c·tanh(−u/2)``    (the derivative of log cosh; 1 − 2σ cancels near u = 0)
* ``c − c·σ(u)``       → ``c·σ(−u)``; ``c − (c/2)·erfc(u)`` → ``(c/2)·erfc(−u)`` (same cancellation)
* ``exp(u) − 1``       → ``expm1(u)``        (cancels near u = 0)
* ``log(1 + u)``       → ``log1p(u)``; ``log(1 + exp(u))`` → ``softplus(u)`` (overflow, cancellation)
* ``log σ(u)``         → ``−softplus(−u)``   (σ(u) underflows to 0 for u < −745: log gives −inf)
* ``log cosh(u)``      → ``|u| + softplus(−2|u|) − log 2`` (cosh overflows for |u| > 710), and
  ``log1p(2·sinh²(u/2))`` for |u| < 2 (the first form cancels near 0, where log cosh u ≈ u²/2)
* ``1/(1 + exp(−u))``  → ``sigmoid(u)``      (overflow of exp(−u))
* ``exp(u)·σ(−u)``     → ``sigmoid(u)``      (e^u/(1+e^u): inf·0 once e^u overflows); likewise
  ``exp(u)·sech(u)`` → ``2σ(2u)`` and ``sinh(u)·sech(u)`` → ``tanh(u)``
* ``|u|``              → a ``Piecewise``     (so derivatives of rational pieces simplify exactly)
* rational functions of x inside each piece are put over one denominator (``cancel``), which
  removes the cancellation in e.g. 1/(1+x) − x/(1+x)².
"""

from __future__ import annotations

import functools

import sympy as sp

from ..symbolic.functions import dsigmoid, erfc, expm1, log1p, sigmoid, softplus
from ..symbolic.parsing import X

__all__ = ["stable", "stable_derivative"]


def _split_constant(add: sp.Add) -> tuple[sp.Expr, list[sp.Expr]]:
    const = sp.S.Zero
    rest = []
    for term in add.args:
        if term.is_Number:
            const += term
        else:
            rest.append(term)
    return const, rest


def _coeff_func(term: sp.Expr, func: type) -> tuple[sp.Expr, sp.Expr] | None:
    """term == c·func(u) with a number c → (c, u)."""
    c, rest = term.as_coeff_Mul()
    if isinstance(rest, func):
        return c, rest.args[0]
    return None


def _rewrite_add(add: sp.Add) -> sp.Expr:
    const, rest = _split_constant(add)
    if const == 0:
        return add
    for i, term in enumerate(rest):
        others = rest[:i] + rest[i + 1:]
        hit = _coeff_func(term, sp.tanh)
        if hit and abs(hit[0]) == abs(const):          # c ± c·tanh(u)
            c, u = hit
            return sp.Add(2 * const * sigmoid(2 * u * sp.sign(c / const)), *others)
        hit = _coeff_func(term, sp.erf)
        if hit and abs(hit[0]) == abs(const):          # c ± c·erf(u)
            c, u = hit
            return sp.Add(const * erfc(-u * sp.sign(c / const)), *others)
        hit = _coeff_func(term, sigmoid)
        if hit and hit[0] == -const:                   # c − c·σ(u) = c·σ(−u)
            return sp.Add(const * sigmoid(-hit[1]), *others)
        if hit and hit[0] == -2 * const:               # c − 2c·σ(u) = c·tanh(−u/2)
            return sp.Add(const * sp.tanh(-hit[1] / 2), *others)
        hit = _coeff_func(term, sp.erfc)              # SymPy's erfc and the package's
        if hit and const == -2 * hit[0]:               # c − (c/2)·erfc(u) = (c/2)·erfc(−u)
            return sp.Add(-hit[0] * erfc(-hit[1]), *others)
        hit = _coeff_func(term, sp.exp)
        if hit and hit[0] == -const:                   # c·exp(u) − c
            c, u = hit
            return sp.Add(c * expm1(u), *others)
        c, t = term.as_coeff_Mul()
        if t.is_Pow and t.exp == 2 and isinstance(t.base, sp.tanh) and c == -const:   # c − c·tanh²(u)
            return sp.Add(const * sp.sech(t.base.args[0]) ** 2, *others)
    return add


def _pair_overflowing(mul: sp.Mul) -> sp.Expr:
    """A product that is inf·0 as written once one factor overflows, as the function it equals:
    exp(k·u)·σ(−u)^p → σ(u)^k·σ(−u)^(p−k) (integers 0 < k ≤ p; e^u/(1+e^u) is σ(u)),
    exp(±p·u)·sech(u)^p → (2σ(±2u))^p, sinh(u)·sech(u) → tanh(u)."""
    factors = list(mul.args)
    for i, f in enumerate(factors):
        for j, g in enumerate(factors):
            pair = _pair(f, g) if i != j else None
            if pair is not None:
                return sp.Mul(*[h for m, h in enumerate(factors) if m not in (i, j)], pair)
    return mul


def _pair(f: sp.Expr, g: sp.Expr) -> sp.Expr | None:
    base, p = g.as_base_exp()
    if not (p.is_Integer and p > 0):
        return None
    if isinstance(f, sp.exp) and isinstance(base, sigmoid):
        u = -base.args[0]
        k = sp.cancel(f.args[0] / u)
        if k.is_Integer and 0 < k <= p:
            return sigmoid(u) ** k * sigmoid(-u) ** (p - k)
    if isinstance(f, sp.exp) and isinstance(base, sp.sech):
        u = base.args[0]
        k = sp.cancel(f.args[0] / u)
        if k in (p, -p):
            return (2 * sigmoid(2 * sp.sign(k) * u)) ** p
    if isinstance(f, sp.sinh) and p == 1 and base == sp.sech(f.args[0]):
        return sp.tanh(f.args[0])
    return None


def _rewrite_mul(mul: sp.Mul) -> sp.Expr:
    """σ(u)^p·σ(−u)^q → dsigmoid(u)^min(p,q)·…, so its derivative is −σ'(u)·tanh(u/2)."""
    mul = _pair_overflowing(mul)
    if not mul.is_Mul:
        return mul
    powers: dict[sp.Expr, sp.Expr] = {}
    for factor in mul.args:
        base, exp = factor.as_base_exp()
        if isinstance(base, sigmoid) and exp.is_Integer and exp > 0:
            powers[base.args[0]] = powers.get(base.args[0], 0) + exp
    pairs = [(u, min(p, powers[-u])) for u, p in powers.items() if -u in powers and not u.could_extract_minus_sign()]
    if not pairs:
        return mul
    out = mul
    for u, k in pairs:
        out = out / (sigmoid(u) ** k * sigmoid(-u) ** k) * dsigmoid(u) ** k
    return out


def _rewrite_node(e: sp.Expr) -> sp.Expr:
    if e.is_Add:
        return _rewrite_add(e)
    if e.is_Mul:
        return _rewrite_mul(e)
    if isinstance(e, sp.log):
        arg = e.args[0]
        if isinstance(arg, sigmoid):                   # log σ(u) = −softplus(−u)
            return -softplus(-arg.args[0])
        if isinstance(arg, sp.cosh):
            # log cosh u = log1p(2·sinh²(u/2)) near 0 (cosh u − 1 = 2·sinh²(u/2) does not cancel),
            # |u| + softplus(−2|u|) − log 2 beyond (cosh overflows from |u| ≈ 710; this never does)
            u = arg.args[0]
            a = sp.Abs(u)
            return sp.Piecewise((log1p(2 * sp.sinh(u / 2) ** 2), sp.And(u > -2, u < 2)),
                                (a + softplus(-2 * a) - sp.log(2), True))
        if arg.is_Add:
            const, rest = _split_constant(arg)
            if const == 1:
                u = sp.Add(*rest)
                if isinstance(u, sp.exp):
                    return softplus(u.args[0])
                return log1p(u)
        return e
    if isinstance(e, log1p) and isinstance(e.args[0], sp.exp):
        return softplus(e.args[0].args[0])
    if e.is_Pow and e.exp.is_Number and e.exp < 0:
        base = e.base
        if base.is_Add:
            const, rest = _split_constant(base)
            if const == 1 and len(rest) == 1 and isinstance(rest[0], sp.exp):
                # (1 + exp(v))**p = sigmoid(-v)**(-p)
                return sigmoid(-rest[0].args[0]) ** (-e.exp)
        if isinstance(base, sp.cosh):
            return sp.sech(base.args[0]) ** (-e.exp)
        return e
    if isinstance(e, sp.Abs):
        u = e.args[0]
        return sp.Piecewise((u, u >= 0), (-u, True))
    if isinstance(e, (sp.Max, sp.Min)):
        return e.rewrite(sp.Piecewise)
    if isinstance(e, sp.Heaviside):
        u = e.args[0]
        h0 = e.args[1] if len(e.args) > 1 else sp.S.Half
        return sp.Piecewise((1, u > 0), (h0, sp.Eq(u, 0)), (0, True))
    return e


def _bottom_up(e: sp.Expr) -> sp.Expr:
    if e.args and not e.is_Atom and not isinstance(e, sp.Piecewise):
        new_args = [_bottom_up(a) for a in e.args]
        if any(a is not b for a, b in zip(new_args, e.args, strict=True)):
            e = e.func(*new_args)
    elif isinstance(e, sp.Piecewise):
        e = sp.Piecewise(*[(_bottom_up(v), c) for v, c in e.args])
    return _rewrite_node(e)


def _cancel_pieces(e: sp.Expr) -> sp.Expr:
    if isinstance(e, sp.Piecewise):
        return sp.Piecewise(*[(_cancel_pieces(v), c) for v, c in e.args])
    if e.is_rational_function(X) and not e.is_Number:
        # one fraction, factored: (x + 1)**-2 rather than 1/(1+x) - x/(1+x)**2; kept only where it
        # is no longer than the sum: x + 1e-280 as (10²⁸⁰x + 1)/10²⁸⁰ would overflow at x = 1e30
        # in double, 1 + x⁻² as (x² + 1)/x² at x = 1e155
        one = sp.factor(sp.cancel(e))
        return one if sp.count_ops(one) <= sp.count_ops(e) else e
    return e


@functools.lru_cache(maxsize=2048)
def stable(expr: sp.Expr) -> sp.Expr:
    """``expr`` rewritten into numerically stable primitives (same function)."""
    previous = None
    e = expr
    for _ in range(4):          # rules can expose one another; a few passes reach a fixed point
        if e == previous:
            break
        previous = e
        e = sp.piecewise_fold(_bottom_up(e))
    return _cancel_pieces(e)


@functools.lru_cache(maxsize=2048)
def stable_derivative(expr: sp.Expr, n: int) -> sp.Expr:
    """The n-th derivative of ``expr`` computed from, and kept in, stable form."""
    if n == 0:
        return stable(expr)
    return stable(sp.diff(stable_derivative(expr, n - 1), X))
