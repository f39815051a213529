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
* ``u − tanh(u)``      → its Taylor series to u²⁹ for |u| < 1/4 (the difference cancels near 0,
  where it is u³/3; the series' next term is below 2⁻⁷⁰ of the sum there)
* ``√v − a`` (v's constant a²) → ``(v − a²)/(√v + a)`` (cancels where v → a², e.g. √(x² + 1) − 1)
* ``u + √(u² + c)`` (c > 0) → ``c/(√(u² + c) − u)`` for u < 0 (cancels as u → −∞: squareplus)
* ``|u|``              → a ``Piecewise``     (so derivatives of rational pieces simplify exactly);
  ``|where(C, a, b)|`` → ``where(C, |a|, |b|)`` (C as written: the fold of where(u ≥ 0, u, −u) over
  u's pieces negates C, and SymPy's ¬(v > 1) is v ≤ 1, false where v is nan);
  in the derivatives' path, where u may be not real (a log or non-integer power of x in it),
  with a third piece that is nan where u is, so the derivatives are nan there as sign(u)·u′ is
* ``sin(atan(u))``     → ``u/√(u² + 1)`` for |u| ≤ 1, ``±1/√(1 + u⁻²)`` beyond; ``cos(atan(u))``
  → ``1/√(u² + 1)``, ``±1/(u·√(1 + u⁻²))`` (SymPy's own u/√(u² + 1) squares u: 0 for
  |u| > 1.3e154 in double where the value is ±1; atan is kept from SymPy while the rules run,
  which would write that form as soon as a fold exposes sin(atan(u)), inside min/max)
* ``k·u/√(c·u² + d)``  → ``±k/√(c + d·u⁻²)`` for |u| > 1 (numbers c, d > 0; the form kept for
  |u| ≤ 1, the same helper as sin(atan(u))): u² overflows double for |u| > 1.3e154, where ISRU
  x/√(1 + αx²) was 0 (the value is ±1/√α) and squareplus′ (1 + x/√(x² + 4))/2 was 1/2 (it is 1);
  applied once, at the end of the rewrite (its near piece holds the form it rewrites)
* ``u^p·(k·u)^(−m)``   → ``k^(−m)·u^(p−m)`` (integers m > 0, a number k): the derivative of a
  non-integer power of −x reads p·(−x)^p/x; u^p underflows in double for |x| < 2^-500 (0 where
  f′ is 1e-154) and is 0/0 at x = 0 (where f′ is 0)
* a constant that is not real is nan; where a real power of a negative base made it
  (``(−min(1, x))^0.5`` is the constant i for x > 1) the derivatives of its piece are nan too, as
  those of the formula as written are (p·u^(p−1)·u′ keeps the power), not the 0 of d/dx i
* rational functions of x inside each piece are put over one denominator (``cancel``), which
  removes the cancellation in e.g. 1/(1+x) − x/(1+x)²; rational functions of x and one √p(x) are
  put over one denominator with the numerator reduced by √p² = p where that is shorter
  (1/√(x²+b) − x²/(x²+b)^{3/2} → b/(x²+b)^{3/2}: the derivatives of x/√(x²+b)).
* far out, a piece that is a rational function of x (and of one √p(x), p of even degree 2k with a
  positive leading coefficient a) is computed as ``x^m·P(1/x)/Q(1/x)`` (√p as |x|^k·√(p/x^2k),
  which tends to √a), beyond ``|x| > T``: x^D overflows double for |x| > 10^(308/D), where the
  value is finite (squareplus (x + √(x² + 4))/2 was inf at x = 1e160 and 0 at −1e300 on the C and
  array-API targets, arctan″ −2x/(x² + 1)² 0 at ±1e100 where it is ∓2e-300). T = 2^(1000/D) at
  most 2^332 (below 1e100, so that the limits see one piece far out); a side is left as it is
  where the leading coefficient of P or Q vanishes as x → ±∞ (the form would cancel there). In
  the evaluated forms only (:func:`stable_derivative`), never fed to the next derivative.
"""

from __future__ import annotations

import functools

import sympy as sp

from ..budget import bounded, short_text
from ..errors import FormulaTooComplexError
from ..symbolic.activation import fold_pieces
from ..symbolic.functions import dsigmoid, erfc, expm1, log1p, notnan, sigmoid, softplus
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


#: below this |u|, u − tanh(u) is evaluated as its Taylor series (see :func:`_tanh_shrink`)
SHRINK_SERIES_BELOW = sp.Rational(1, 4)
#: highest degree of that series (the next term is < 2⁻⁷⁰ of the sum for |u| < 1/4)
SHRINK_SERIES_DEGREE = 29


@functools.cache
def _shrink_coefficients() -> tuple[tuple[int, sp.Rational], ...]:
    """(k, a_k) of u − tanh(u) = Σ a_k u^k, k = 3, 5, .., 29, from tanh's Bernoulli-number series."""
    out = []
    for n in range(2, (SHRINK_SERIES_DEGREE + 1) // 2 + 1):
        a = -(2 ** (2 * n)) * (2 ** (2 * n) - 1) * sp.bernoulli(2 * n) / sp.factorial(2 * n)
        out.append((2 * n - 1, sp.Rational(a)))
    return tuple(out)


def _shrink(u: sp.Expr) -> sp.Expr:
    """u − tanh(u) without cancellation near u = 0."""
    series = sp.Add(*[a * u**k for k, a in _shrink_coefficients()])
    return sp.Piecewise((series, sp.And(u > -SHRINK_SERIES_BELOW, u < SHRINK_SERIES_BELOW)), (u - sp.tanh(u), True))


def _tanh_shrink(add: sp.Add) -> sp.Expr | None:
    """c·u − c·tanh(u) + rest → c·shrink(u) + rest, else None."""
    terms = list(add.args)
    for i, term in enumerate(terms):
        hit = _coeff_func(term, sp.tanh)
        if hit is None:
            continue
        c, u = hit
        partner = sp.expand(-c * u)
        for j, other in enumerate(terms):
            if j != i and sp.expand(other) == partner:
                rest = [t for m, t in enumerate(terms) if m not in (i, j)]
                return sp.Add(-c * _shrink(u), *rest)
    return None


def _sqrt_conjugate(const: sp.Expr, rest: list[sp.Expr]) -> sp.Expr | None:
    """const + k·√v with v = w + a², const = −k·a (a > 0) → k·w/(√v + a), else None."""
    for i, term in enumerate(rest):
        k, r = term.as_coeff_Mul()
        if not (r.is_Pow and r.exp == sp.S.Half and r.base.is_Add):
            continue
        a = -const / k
        m, w = _split_constant(r.base)
        if a.is_positive and m == a**2 and w:
            return sp.Add(k * sp.Add(*w) / (r + a), *(rest[:i] + rest[i + 1:]))
    return None


def _squareplus_form(add: sp.Add) -> sp.Expr | None:
    """k·u + k·√(u² + c) (c > 0) → k·c/(√(u² + c) − u) for u < 0, else None."""
    terms = list(add.args)
    for i, term in enumerate(terms):
        k, r = term.as_coeff_Mul()
        if not (r.is_Pow and r.exp == sp.S.Half and r.base.is_Add):
            continue
        c, w = _split_constant(r.base)
        if not (c.is_positive and len(w) == 1):
            continue
        base, p = w[0].as_base_exp()
        if p != 2:
            continue
        for u in (base, -base):
            for j, other in enumerate(terms):
                if j != i and sp.expand(other - k * u) == 0:
                    rest = [t for m, t in enumerate(terms) if m not in (i, j)]
                    far = k * c / (r - u)
                    return sp.Add(sp.Piecewise((k * u + k * r, u >= 0), (far, True)), *rest)
    return None


def _rewrite_add(add: sp.Add) -> sp.Expr:
    const, rest = _split_constant(add)
    if const == 0:
        if add.has(sp.tanh):
            shrink = _tanh_shrink(add)
            if shrink is not None:
                return shrink
        if add.has(sp.sqrt(X).func):
            plus = _squareplus_form(add)
            if plus is not None:
                return plus
        return add
    if any(t.is_Pow and t.exp == sp.S.Half for t in sp.preorder_traversal(add)):
        conj = _sqrt_conjugate(const, rest)
        if conj is not None:
            return conj
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


def _combine_powers(mul: sp.Mul) -> sp.Expr:
    """u^p·(k·u)^(−m) → k^(−m)·u^(p−m) (u^p a non-integer power, m > 0 an integer, k a number).

    SymPy writes d/dx (−x)^p as p·(−x)^p/x (the bases differ in sign, so it cannot add the
    exponents): (−x)^p underflows in double for |x| < 2^-500 where f′ = p·(−x)^(p−1) does not,
    and at x = 0 it is 0/0 where f′ is 0 (p > 1). The identity holds wherever u^p is real (for
    u < 0 both sides are nan, the exponent staying non-integer) and takes the limit at u = 0."""
    factors = list(mul.args)
    for i, f in enumerate(factors):
        b, p = f.as_base_exp()
        if not (p.is_number and p.is_real and not p.is_integer) or b.is_number:
            continue
        for j, g in enumerate(factors):
            c, m = g.as_base_exp()
            if j == i or not (m.is_Integer and m < 0) or c.is_number:
                continue
            k = c / b
            if not k.is_Number:
                k = sp.S.NegativeOne if -c == b else None
            if k is None or k == 0:
                continue
            rest = [h for n, h in enumerate(factors) if n not in (i, j)]
            return sp.Mul(*rest, k**m, b ** (p + m))
    return mul


def _rewrite_mul(mul: sp.Mul) -> sp.Expr:
    """σ(u)^p·σ(−u)^q → dsigmoid(u)^min(p,q)·…, so its derivative is −σ'(u)·tanh(u/2)."""
    for _ in range(len(mul.args)):      # each combination removes a factor
        combined = _combine_powers(mul)
        if combined == mul:
            break
        mul = combined
        if not mul.is_Mul:
            return mul
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


class _KeptAtan(sp.Function):
    """atan(u) while the stable rewrite runs: SymPy evaluates sin(atan(u)) to u/√(u² + 1) and
    cos(atan(u)) to 1/√(u² + 1) whenever it builds them (a fold of min(atan(u), c) under a sin
    does), and u² overflows double for |u| > 1.3e154. Under this name SymPy leaves them to
    :func:`_sin_cos_atan`; :func:`stable` gives atan back at the end."""

    nargs = 1

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real


def _over_root(u: sp.Expr, c: sp.Expr, d: sp.Expr, times: sp.Expr = sp.S.One) -> sp.Expr:
    """times·u/√(c·u² + d) (numbers c, d > 0), for |u| > 1 as ±times/√(c + d·u⁻²): u² overflows
    double for |u| > 1.3e154 (u/√(u² + 1) is u/inf = 0 there, where the value is ±1/√c), and
    u⁻² cannot overflow for |u| > 1, nor c·u² for |u| ≤ 1. Both sides are nan where u is."""
    far = sp.sqrt(c + d * u**-2)
    return sp.Piecewise((times / far, u > 1), (-times / far, u < -1), (times * u / sp.sqrt(c * u**2 + d), True))


def _sin_cos_atan(e: sp.Expr) -> sp.Expr:
    """sin(atan(u)) = u/√(u² + 1), cos(atan(u)) = 1/√(u² + 1), for |u| > 1 as ±1/√(1 + u⁻²) and
    ±1/(u·√(1 + u⁻²)): u⁻² cannot overflow there, and u² cannot below (:func:`_over_root`)."""
    u = e.args[0].args[0]
    return _over_root(u, sp.S.One, sp.S.One, sp.S.One if isinstance(e, sp.sin) else 1 / u)


def _root_of_square(f: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr] | None:
    """f == (c·w² + d)^(−1/2) with numbers c, d > 0 → (w, c, d), else None."""
    if not (f.is_Pow and f.exp == -sp.S.Half and f.base.is_Add):
        return None
    d, rest = _split_constant(f.base)
    if not (d.is_positive and len(rest) == 1):
        return None
    c, sq = rest[0].as_coeff_Mul()
    w, p = sq.as_base_exp()
    return (w, c, d) if c.is_positive and p == 2 and not w.is_number else None


def _over_root_match(mul: sp.Basic) -> tuple[list, sp.Expr, sp.Expr, sp.Expr, sp.Expr] | None:
    """(other factors, u, c, d, ±1) where ``mul`` is ±u·(c·u² + d)^(−1/2)·…, else None."""
    if not mul.is_Mul:
        return None
    factors = list(mul.args)
    for i, f in enumerate(factors):
        hit = _root_of_square(f)
        if hit is None:
            continue
        w, c, d = hit
        for j, g in enumerate(factors):
            if j != i and g in (w, -w):
                rest = [h for m, h in enumerate(factors) if m not in (i, j)]
                return rest, w, c, d, sp.S.One if g == w else sp.S.NegativeOne
    return None


def _is_over_root(e: sp.Basic) -> bool:
    return _over_root_match(e) is not None


def _over_root_far(mul: sp.Mul) -> sp.Expr:
    """k·u/√(c·u² + d) → k·where(u > 1, 1/√(c + d·u⁻²), u < −1, −1/√(c + d·u⁻²), u/√(c·u² + d))
    (:func:`_over_root`: ISRU x/√(1 + αx²) was 0 at x = 1e200 in double, where it is 1/√α)."""
    rest, w, c, d, sign = _over_root_match(mul)
    return sp.Mul(*rest, _over_root(w, c, d, sign))


def _is_sin_cos_atan(e: sp.Basic) -> bool:
    return isinstance(e, (sp.sin, sp.cos)) and isinstance(e.args[0], _KeptAtan)


def _rewrite_node(e: sp.Expr) -> sp.Expr:
    if _is_sin_cos_atan(e):
        return _sin_cos_atan(e)
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
        if isinstance(u, sp.Piecewise):
            # |where(C, a, b)| = where(C, |a|, |b|), C as written: SymPy's fold of where(u ≥ 0, u, −u)
            # over u's pieces writes ¬C, and ¬(v > 1) as v ≤ 1, false where v is nan (|where(|log x| > 1,
            # x, 1)| was −1 at x = −2, where C is false and the value |1| = 1)
            return sp.Piecewise(*[(_rewrite_node(sp.Abs(v)), c) for v, c in u.args])
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


def _one_radical(e: sp.Expr) -> sp.Expr | None:
    """The polynomial p of x under the only square root of a polynomial in ``e`` (p^(k/2)), else None."""
    bases = {a.base for a in e.atoms(sp.Pow)
             if a.exp.is_Rational and not a.exp.is_Integer and (2 * a.exp).is_Integer}
    if len(bases) != 1:
        return None
    (p,) = bases
    return p if p.is_polynomial(X) and p.has(X) else None


def _reduce_radical(e: sp.Expr) -> sp.Expr:
    """A rational function of x and √p over one denominator, its numerator and denominator
    reduced by √p² = p, where that is shorter than ``e`` (else ``e``)."""
    p = _one_radical(e)
    if p is None:
        return e
    s = sp.Dummy("s", positive=True)
    e_s = e.replace(lambda a: a.is_Pow and a.base == p and (2 * a.exp).is_Integer, lambda a: s ** (2 * a.exp))
    if not e_s.has(s) or not e_s.is_rational_function(X, s):   # exp(√x) is no rational function of √x
        return e
    num, den = sp.fraction(sp.cancel(sp.together(e_s)))

    def reduce(poly: sp.Expr) -> sp.Expr:
        q = sp.Poly(sp.expand(poly), s)
        return sp.expand(sum(c * s ** (k % 2) * p ** (k // 2) for (k,), c in q.terms()))

    out = sp.factor(reduce(num)) / sp.factor(reduce(den))
    out = out.subs(s, sp.sqrt(p))
    # nor where it scales by a number ``e`` does not have (as in :func:`_one_denominator`):
    # x³·√(x² + 1e-300) has f′ = x²·(4·10³⁰⁰x² + 3)/(10³⁰⁰·√(x² + 1e-300)), inf from |x| = 1e4 in double
    if _largest_number(out) > max(_largest_number(e), 2**500):
        return e
    return out if sp.count_ops(out) < sp.count_ops(e) else e


#: time budget of putting one rational piece over one denominator (an optional tidying: past it,
#: the piece is kept as written, ``((x+1)**16+1)**16`` would expand to 257 terms of 77-digit numbers)
CANCEL_SECONDS = 1.0
#: time budget of the whole stable rewrite of one expression
STABLE_SECONDS = 6.0


def _cancel_pieces(e: sp.Expr) -> sp.Expr:
    if isinstance(e, sp.Piecewise):
        return sp.Piecewise(*[(_cancel_pieces(v), c) for v, c in e.args])
    try:
        with bounded("putting a rational function over one denominator", CANCEL_SECONDS):
            return _one_denominator(e)
    except FormulaTooComplexError:
        return e


def _one_denominator(e: sp.Expr) -> sp.Expr:
    if not e.is_Number and _one_radical(e) is not None:
        return _reduce_radical(e)
    if e.is_rational_function(X) and not e.is_Number:
        # one fraction, factored: (x + 1)**-2 rather than 1/(1+x) - x/(1+x)**2; kept only where it
        # is no longer than the sum: x + 1e-280 as (10²⁸⁰x + 1)/10²⁸⁰ would overflow at x = 1e30
        # in double, 1 + x⁻² as (x² + 1)/x² at x = 1e155
        one = sp.factor(sp.cancel(e))
        # nor where it scales by a number the sum does not have: 1/(x + 1 + 1e-300) as
        # 10³⁰⁰/(10³⁰⁰x + 10³⁰⁰ + 1) is 0 at x = 1e10 in double
        # (only numbers past 2**500, whose products with x leave double's range: the common
        # denominator of a Taylor polynomial's coefficients, 8.8e22 for tanhshrink's, is no
        # danger, and its factored form x³·p(x)/d keeps the sign of a zero that the sum of its
        # terms loses: tanhshrink(-0.0) is -0.0)
        bigger = _largest_number(one) > max(_largest_number(e), 2**500)
        return one if sp.count_ops(one) <= sp.count_ops(e) and not bigger else e
    return e


def _largest_number(e: sp.Expr) -> sp.Expr:
    return max([abs(n) for n in e.atoms(sp.Number)], default=sp.S.One)


@functools.lru_cache(maxsize=2048)
def stable(expr: sp.Expr) -> sp.Expr:
    """``expr`` rewritten into numerically stable primitives (same function), within
    :data:`STABLE_SECONDS` (else :class:`~activation_lab.errors.FormulaTooComplexError`)."""
    with bounded("the stable rewrite", STABLE_SECONDS, formula=short_text(expr)):
        previous = None
        e = expr.replace(sp.atan, _KeptAtan) if expr.has(sp.atan) else expr
        for _ in range(4):          # rules can expose one another; a few passes reach a fixed point
            if e == previous:
                break
            previous = e
            e = fold_pieces(_bottom_up(e))
        if e.has(_KeptAtan):        # a last fold may have exposed sin(atan(u)) once more
            e = e.replace(_is_sin_cos_atan, _sin_cos_atan).replace(_KeptAtan, sp.atan)
        e = _cancel_pieces(e)
        if e.has(sp.Pow):           # once, at the end: its near piece holds the form it rewrites
            far = e.replace(_is_over_root, _over_root_far)
            if far != e:
                e = fold_pieces(far)
        return e


def _not_real_as_nan(e: sp.Expr) -> sp.Expr:
    """Constants that are not real as nan, as every target computes them: log(1e-300 - 1/3) in a
    where() branch becomes log(1/3 - 1e-300) + iπ once SymPy distributes the log over the pieces
    (the parser refuses such a constant written as it is; the program cannot hold one)."""
    if not e.has(sp.I, sp.zoo):
        return e
    # zoo: a pole the pieces expose (0**-2 once ln(where(x <= 3, 1, x)) is split): no value, nan
    return e.replace(lambda a: isinstance(a, sp.Expr) and a.is_number and (a is sp.zoo or a.is_extended_real is False),
                     lambda a: sp.nan)


class _NotReal(sp.Function):
    """A mark on a constant that is not real while derivatives are taken: c·_NotReal(x) has the
    derivative c·_NotReal(x), so the piece keeps the constant in every derivative (d/dx of the
    constant i is 0, which is real). Replaced by 1 before :func:`_not_real_as_nan`."""

    nargs = 1

    def fdiff(self, argindex=1):
        return self


def _not_real_power(a: sp.Basic) -> bool:
    """Whether ``a`` is a constant that is not real because a real power of a negative base is in
    it (sqrt(expm1(-1)); i, once SymPy has evaluated (-1)**0.5): its derivatives as the formula
    is written, p·u^(p−1)·u′, keep such a power, and are nan where it is. A log of a negative
    number (log(1/3) + iπ: an imaginary part that is a multiple of π) is not marked: its
    derivative u′/u keeps no log, as for a log of x below 0 (real where u is); a power whose
    imaginary part happens to be such a multiple, (−π²)^0.5 = iπ, is taken for a log.
    Where SymPy cannot tell whether ``a`` is real, its value decides (an imaginary part beyond
    2^-100 of the real part, the test the program applies to the constants it evaluates)."""
    if not (isinstance(a, sp.Expr) and a.is_number) or a is sp.zoo or (a.is_Atom and a is not sp.I):
        return False
    if not any(n is sp.I or (n.is_Pow and not n.exp.is_integer) for n in sp.preorder_traversal(a)):
        return False            # no power, no i: nothing to ask (SymPy's answer may evaluate cosh(1e30))
    try:
        real = a.is_extended_real
        if real is None:
            re, im = sp.N(a, 50).as_real_imag()
            if not (im.is_Float and re.is_Float and abs(im) > abs(re) * sp.Float(2) ** -100):
                return False
        elif real:
            return False
        turns = sp.im(a) / sp.pi
        if turns.is_integer:
            return False
        if turns.is_integer is None:
            t = sp.N(turns, 50)
            return not (t.is_Float and abs(t - round(t)) < sp.Float(2) ** -100)
    except (ArithmeticError, ValueError, TypeError, KeyError):
        return False
    return True


def _mark_not_real(e: sp.Basic) -> sp.Basic:
    """Each constant of ``e`` (the largest, from the top: log(1/3) + iπ as one) that
    :func:`_not_real_power` names, times the mark."""
    if isinstance(e, sp.Expr) and e.is_number:
        return e * _NotReal(X) if _not_real_power(e) else e
    if not e.args or e.is_Atom:
        return e
    args = [_mark_not_real(a) for a in e.args]
    return e.func(*args) if any(a is not b for a, b in zip(args, e.args, strict=True)) else e


class _NanWhereNotReal(sp.Function):
    """The value of |u| (the argument) where u is not real, while derivatives are taken: nan, as
    sign(u)·u′ (the derivative of |u| as written) is there; but d/dx nan is 0, and SymPy would fold
    a nan piece away. This mark is its own derivative; :func:`stable_derivative` makes it nan at
    the end (−u in a condition, as the stable rule has it: nan there too, and SymPy compares no
    nan)."""

    nargs = 1

    def _eval_derivative(self, s):
        return self


_PIECES = (sp.Piecewise, sp.Abs, sp.Max, sp.Min, sp.Heaviside)


def _may_be_nan(u: sp.Expr) -> bool:
    """Whether ``u`` holds a log, log1p or non-integer power of something that may be negative
    (real only on part of the line)."""
    for a in sp.preorder_traversal(u):
        if a.is_number:
            continue
        if isinstance(a, sp.log) and not a.args[0].is_extended_nonnegative:
            return True
        if isinstance(a, log1p) and not (a.args[0] + 1).is_extended_nonnegative:
            return True
        if a.is_Pow and not a.exp.is_integer and not a.base.is_extended_nonnegative:
            return True
    return False


def _may_be_not_real(u: sp.Expr) -> bool:
    """:func:`_may_be_nan`, for a ``u`` without pieces (a condition on such a u could be folded into
    one that is false at a real u: SymPy's negation of v > 1 is v ≤ 1, false where v is nan)."""
    return not u.has(*_PIECES) and _may_be_nan(u)


def _guard_conditions(e: sp.Expr) -> sp.Expr:
    """Each comparison on a side that may be nan as (v > 1) ∧ (notnan(v) > 0): the same truth
    (nan > 1 is false), but SymPy's negation of it when it folds pieces (max of a where, a where
    in a product) is (v ≤ 1) ∨ (notnan(v) ≤ 0), true where v is nan, as ¬(nan > 1) is; SymPy's
    negation of v > 1 alone, v ≤ 1, is false there (max(where(|log x| > 1, x, 1), 0) was 0 at
    x = −2 on every target, where it is 1)."""
    def guarded(a: sp.Basic) -> bool:
        return isinstance(a, sp.core.relational.Relational) and (_may_be_nan(a.lhs) or _may_be_nan(a.rhs))

    return e.replace(guarded, lambda a: sp.And(a, *[notnan(v) > 0 for v in a.args if _may_be_nan(v)]))


def _abs_not_real_nan(e: sp.Expr) -> sp.Expr:
    """|u| → where(u ≥ 0, u, where(u ≤ 0, −u, nan)) where u may be not real (the stable rule's
    where(u ≥ 0, u, −u) takes the −u piece where u is nan: its derivatives −u′ are real there,
    as those of the formula as written, sign(u)·u′, are not). u ≤ 0 rather than u < 0: SymPy
    takes u ≥ 0 and u < 0 for complements and folds the third piece away; both are false only
    where u is nan. The nan is :class:`_NanWhereNotReal` while derivatives are taken. |where(C,
    a, b)| is where(C, |a|, |b|) first (C as written, as the stable rule has it), each of |a|, |b|
    so marked where it may be not real (|where(x > −1, log x, 1)|′ was 2 at x = −0.5, where f is nan)."""
    if not e.has(sp.Abs):
        return e
    return e.replace(lambda a: isinstance(a, sp.Abs) and _abs_may_be_not_real(a.args[0]),
                     lambda a: _abs_nan(a.args[0]))


def _abs_may_be_not_real(u: sp.Expr) -> bool:
    if isinstance(u, sp.Piecewise):
        return any(_abs_may_be_not_real(v) for v, _ in u.args)
    return _may_be_not_real(u)


def _abs_nan(u: sp.Expr) -> sp.Expr:
    """|u| with a nan piece where u may be not real (see :func:`_abs_not_real_nan`)."""
    if isinstance(u, sp.Piecewise):
        return sp.Piecewise(*[(_abs_nan(v), c) for v, c in u.args])
    if not _may_be_not_real(u):
        return sp.Abs(u)
    return sp.Piecewise((u, u >= 0), (-u, u <= 0), (_NanWhereNotReal(u), True))


def _nan_where_not_real(e: sp.Expr) -> sp.Expr:
    """:class:`_NanWhereNotReal` as nan (−u in a condition: nan where it is taken as well)."""
    e = e.replace(lambda a: isinstance(a, sp.Rel) and a.has(_NanWhereNotReal),
                  lambda a: a.replace(_NanWhereNotReal, lambda u: -u))
    return e.replace(_NanWhereNotReal, lambda _: sp.nan)


#: far forms of rational pieces start at most this far out (2^332 ≈ 8.7e99: below 1e100, where
#: the limits at ±inf take the piece whose condition holds from ±1e100 to ±1e300)
FAR_BITS = 332
#: x^D·(largest coefficient) stays below 2^FAR_RANGE_BITS before the far form takes over
FAR_RANGE_BITS = 1000
#: pieces of a larger degree keep their form (x^64 leaves double's range from |x| = 2^16 anyway,
#: and their expansion costs time: ((x+1)**16+1)**16 has degree 256)
FAR_MAX_DEGREE = 64
#: time budget of the far forms of one piece (an optional improvement: past it, the piece stays)
FAR_SECONDS = 1.0


def _degree(e: sp.Basic) -> int | None:
    """The degree in x of ``e`` as written, bounded from above without expanding it (None where
    ``e`` is no polynomial in x as written)."""
    if e == X:
        return 1
    if not e.has(X):
        return 0
    if e.is_Pow:            # √p as half of p's degree (|x|^k·√(p/x^2k))
        inner = _degree(e.base)
        return int(sp.ceiling(e.exp * inner)) if inner is not None and (2 * e.exp).is_Integer and e.exp > 0 \
            else None
    if e.is_Add or e.is_Mul:
        parts = [_degree(a) for a in e.args]
        return None if None in parts else (max(parts) if e.is_Add else sum(parts))
    return None


def _computed_degree(e: sp.Basic) -> int:
    """The largest power of x that the program computes for ``e`` (a rational function of x and of
    square roots of polynomials), at most: the degree of each sum and power in it, and of each
    product's numerator and denominator (the program multiplies their factors out, x²·(x⁴ + 1) is
    a power 6, √p counts half of p's); a negative power alone as its base's (pow(b, −k)
    underflows only where its value does)."""
    if not e.has(X):
        return 0
    inner = max([_computed_degree(a) for a in e.args], default=0)
    if e.is_Mul:
        up = down = 0
        for f in e.args:
            base, k = f.as_base_exp()
            d = _degree(base)
            if d is not None and (2 * k).is_Integer:      # √p as |x|^k·…: half its degree
                if k < 0:
                    down += int(-k * d)
                else:
                    up += int(k * d)
        return max(inner, up, down)
    return max(inner, _degree(e) or 0)


def _far_side(v: sp.Expr, p: sp.Expr | None, sign: int) -> tuple[sp.Expr, int] | None:
    """``v`` (a rational function of x and of √p) as x^m·P(1/x)/Q(1/x) for x → sign·∞, with the
    degree D of the largest power of x it computes; None where it is no such function, where
    the form would cancel, or where D ≤ |m| (x^D leaves double's range no sooner than the value:
    −2/(x + 1)³ computes (x + 1)³)."""
    r = sp.Dummy("r", positive=True)
    k = 0
    vs = v
    if p is not None:
        poly = sp.Poly(p, X)
        k = poly.degree() // 2
        lead = poly.LC()
        if poly.degree() % 2 or not (lead.is_number and lead.is_positive):
            return None
        vs = v.replace(lambda a: a.is_Pow and a.base == p and not a.exp.is_integer and (2 * a.exp).is_Integer,
                       lambda a: (sign * X) ** (k * 2 * a.exp) * r ** (2 * a.exp))
        root = sp.sqrt(sp.expand(p * X ** (-2 * k)))     # √(p/x^2k): a + terms in 1/x, near √a far out
    if not vs.is_rational_function(X, r):
        return None
    degree = max(2 * k, _computed_degree(v))     # as written: x⁴/√(x² + c) computes x⁴
    if degree > FAR_MAX_DEGREE:
        return None
    num, den = sp.fraction(sp.cancel(sp.together(vs)))
    top, bottom = sp.Poly(num, X), sp.Poly(den, X)
    far_lead = sp.sqrt(lead) if p is not None else None
    for part in (top, bottom):
        c = part.LC()
        if far_lead is not None:
            c = c.subs(r, far_lead)
        if sp.simplify(c) == 0:
            return None
    n, m = top.degree(), bottom.degree()
    if degree <= abs(n - m):        # no intermediate leaves the range before the value does
        return None
    form = X ** (n - m) * sp.Add(*[c * X ** (e - n) for (e,), c in top.terms()]) / \
        sp.Add(*[c * X ** (e - m) for (e,), c in bottom.terms()])
    if p is not None:
        form = form.subs(r, root)
    return form, degree


def _far_rational(v: sp.Expr, conds: tuple[sp.Basic, ...]) -> sp.Expr:
    """``v`` (the piece taken where the last of ``conds`` holds and none before it does) with its far
    forms beyond ±T (see the module's docstring), or ``v`` itself where it needs none."""
    if not isinstance(v, sp.Expr) or v.is_number or not v.has(X) or v.has(sp.Piecewise):
        return v
    try:
        with bounded("far forms of a rational piece", FAR_SECONDS):
            p = _one_radical(v)
            if p is None and not v.is_rational_function(X):
                return v
            sides = []
            for sign in (1, -1):
                if not _taken_far_out(conds, sign):
                    continue
                side = _far_side(v, p, sign)
                if side is not None:
                    sides.append((sign, *side))
            degree = max((d for _, _, d in sides), default=0)
            if degree < 2:
                return v
            bits = (FAR_RANGE_BITS - max(0, int(sp.log(_largest_number(v), 2).evalf()))) // degree
    except (FormulaTooComplexError, sp.PolynomialError, sp.GeneratorsNeeded, ArithmeticError, ValueError, TypeError):
        return v
    t = sp.Integer(2) ** max(1, min(FAR_BITS, bits))
    return sp.Piecewise(*[(form, X > t if sign > 0 else X < -t) for sign, form, _ in sides], (v, True))


def _taken_far_out(conds: tuple[sp.Basic, ...], sign: int) -> bool:
    """Whether a piece whose condition is the last of ``conds`` may be taken far out on the side
    ``sign`` (no earlier condition surely true there, its own not surely false). Conditions on
    rational functions of x only are evaluated (SymPy would compute exp(exp(2^432)) exactly)."""
    far = sign * sp.Integer(2) ** (FAR_BITS + 100)

    def truth(c: sp.Basic) -> sp.Basic | None:
        if c in (sp.true, sp.false):
            return c
        if all(side.is_rational_function(X) for rel in c.atoms(sp.core.relational.Relational) for side in rel.args) \
                and not c.atoms(sp.Function):
            return c.subs(X, far)
        return None

    truths = [truth(c) for c in conds]
    return truths[-1] is not sp.false and all(t is not sp.true for t in truths[:-1])


def _far_pieces(e: sp.Expr) -> sp.Expr:
    """Each piece of ``e`` (or ``e``, one piece) with its far forms (:func:`_far_rational`)."""
    if isinstance(e, sp.Piecewise):
        conds = [c for _, c in e.args]
        return sp.Piecewise(*[(_far_rational(v, tuple(conds[:i + 1])), c) for i, (v, c) in enumerate(e.args)])
    return _far_rational(e, (sp.true,))


@functools.lru_cache(maxsize=2048)
def stable_derivative(expr: sp.Expr, n: int) -> sp.Expr:
    """The n-th derivative of ``expr`` computed from, and kept in, stable form; a constant that is
    not real is nan there (see :func:`_not_real_as_nan`), and so are the derivatives of a piece
    where a real power of a negative base is (not the 0 of d/dx i; see :func:`_not_real_power`),
    and those of |u| where u is not real (see :func:`_abs_not_real_nan`)."""
    e = _stable_derivative(expr, n)
    if e.has(_NotReal):
        e = e.replace(_NotReal, lambda _: sp.S.One)
    if e.has(_NanWhereNotReal):
        e = _nan_where_not_real(e)
    return _far_pieces(_not_real_as_nan(e))


@functools.lru_cache(maxsize=2048)
def _stable_derivative(expr: sp.Expr, n: int) -> sp.Expr:
    # complex constants kept, and marked: the derivative of a nan piece would be 0; likewise the
    # piece of |u| where u is not real (marks only here: the analyses call stable() itself)
    if n == 0:
        return _mark_not_real(stable(_abs_not_real_nan(_guard_conditions(expr))))
    return stable(sp.diff(_stable_derivative(expr, n - 1), X))
