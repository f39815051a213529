"""The program: f⁽ⁿ⁾ for a set of orders as one straight-line list of steps over the primitives.

Built once per (expression, orders, variant) and cached:

1. the stable derivative of each order (:func:`activation_lab.numeric.rewrite.stable_derivative`);
2. constants folded to 40-digit numbers (``√2/2`` is one correctly rounded constant);
3. for the array targets, sigmoid, σ′ and softplus expanded over E = e^{−|u|} (so that the
   subexpression elimination below shares E between them; the table of primitives says which);
4. common-subexpression elimination, per order;
5. every SymPy node lowered to a :class:`Step`: one primitive of
   :data:`activation_lab.numeric.primitives.PRIMITIVES` applied to earlier values, ``x`` or
   constants, with identical steps of all orders merged (value numbering).

Every target prints or runs this list: the NumPy target prints it as straight-line Python
(:mod:`activation_lab.numeric.codegen`), the fused block runtime runs it into reused buffers
(:mod:`activation_lab.numeric.fused`), the array-API target runs it with an array namespace.
The order of the operations is the one Python gives the printed expression (left to right,
numerator over denominator), so that each target rounds the same operations in the same order.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp
from sympy.core.mul import _keep_coeff

from ..symbolic.functions import dsigmoid, log1p, notnan, sigmoid, softplus
from ..symbolic.parsing import X
from .primitives import primitive_of

__all__ = ["Ref", "Step", "Program", "program", "straight_line", "fold_numbers", "expand_exp_based", "constant_text",
           "numeric_value"]

#: a value: ("x",), ("v", index of a step), or ("c", text, kind) with kind "int" (a Python int
#: literal), "float" (a Python float literal such as 1.0) or "K" (a 40-digit constant, converted
#: to the working dtype by each target)
Ref = tuple


@dataclass(frozen=True)
class Step:
    """One operation: primitive ``op`` (a key of the table of primitives) applied to ``args``."""

    op: str
    args: tuple[Ref, ...]


@dataclass(frozen=True)
class Program:
    """Straight-line steps computing f⁽ⁿ⁾ for each n in ``orders``; ``outputs[i]`` holds order i.

    ``guarded``: products are ``mul_guarded`` steps (inf·0 = 0), for the elements where the
    fast program gives nan for a finite x.
    """

    orders: tuple[int, ...]
    steps: tuple[Step, ...]
    outputs: tuple[Ref, ...]
    guarded: bool = False

    def constants(self) -> tuple[str, ...]:
        """The 40-digit constants the program reads (without their signs), in order of first use."""
        seen: dict[str, None] = {}
        for a in [a for step in self.steps for a in step.args] + list(self.outputs):
            if a[0] == "c" and a[2] == "K":
                seen.setdefault(a[1].removeprefix("-"))
        return tuple(seen)

    def __str__(self) -> str:
        def text(a: Ref) -> str:
            return "x" if a[0] == "x" else f"v{a[1]}" if a[0] == "v" else a[1]

        lines = [f"v{i} = {s.op}({', '.join(text(a) for a in s.args)})" for i, s in enumerate(self.steps)]
        lines += [f"y{k} = {text(a)}" for k, a in enumerate(self.outputs)]
        return "\n".join(lines)


def constant_text(value: sp.Expr) -> str:
    """A number as the 40-digit decimal text every target converts to its working dtype; beyond
    every dtype's range (long double's included) as the 0 or inf it rounds to, so that no
    conversion overflows or underflows."""
    if value is sp.oo:
        return "inf"
    if value is sp.S.NegativeInfinity:
        return "-inf"
    if value is sp.nan:
        return "nan"
    number = numeric_value(value)
    if not number.is_Float:
        return constant_text(number)    # ±oo or nan
    magnitude = abs(number)
    if magnitude != 0 and magnitude < sp.Float("1e-4900"):
        return "-0.0" if number < 0 else "0.0"
    if magnitude > sp.Float("1e4900"):
        return "-inf" if number < 0 else "inf"
    return str(number)


def numeric_value(value: sp.Expr) -> sp.Expr:
    """A constant as a 40-digit Float, or ±oo or nan: SymPy's evalf where it gives a nonzero real
    Float, else the mpmath target's functions (which the targets compute with) with the precision
    doubled until the value settles: evalf overflows on cosh(cosh(1e309)), says log(1 + 1e-300) is
    exactly 0 and gives 0.73 - 5e-356*I or 1.0*I where the value is 0.73 or, for a real power of
    a negative base, nan."""
    try:
        number = sp.N(value, 40)
    except (ArithmeticError, ValueError, TypeError, KeyError):
        number = None
    if number is not None and number.is_Float and number != 0:
        return sp.Float(number, 40)
    import mpmath

    from .mpmath_target import mpmath_function, reference

    try:
        v = reference(mpmath_function(value), 0.0, prec=140, strict=True)
        if isinstance(v, mpmath.mpc):
            v = v.real if abs(v.imag) <= abs(v.real) * mpmath.mpf(2) ** -100 else mpmath.nan
    except (ArithmeticError, ValueError, TypeError) as err:   # a clear error, as before
        raise NotImplementedError(f"the constant {value} has no numerical value") from err
    if mpmath.isnan(v):
        return sp.nan
    if mpmath.isinf(v):
        return sp.oo if v > 0 else -sp.oo
    return sp.Float(v, 40)


#: a constant factor beyond e^±64 beside exp(u) goes into the exponent (see _Builder.scaled_exp)
_SCALE_INTO_EXP = 64
#: e^u is a normal, finite double for u in this range: there c·e^u is computed as it is written
#: (for a c within double's range; see _Builder.scaled_exp)
_EXP_NORMAL = (-708, 709)

#: integers of at most this size are exact in every float dtype's conversion (and in C literals)
_EXACT_INT = 2**53


def fold_numbers(e: sp.Basic) -> sp.Basic:
    """Numeric factors of every product folded into one 40-digit Float."""
    if not e.args or e.is_Atom:
        return e
    if isinstance(e, sp.Expr) and e.is_number:
        return numeric_value(e) if not e.is_Integer else e
    args = [fold_numbers(a) for a in e.args]
    if e.is_Mul:
        numbers = [a for a in args if a.is_number]
        others = [a for a in args if not a.is_number]
        if len(numbers) > 1 or (numbers and not numbers[0].is_Integer):
            coeff = numeric_value(sp.Mul(*numbers))
            return sp.Mul(coeff, *others, evaluate=False) if coeff != 1 else sp.Mul(*others)
        return e.func(*args)
    if isinstance(e, sp.Piecewise):
        return sp.Piecewise(*[(fold_numbers(v), c) for v, c in e.args])
    return e.func(*args)


def expand_exp_based(expr: sp.Expr) -> sp.Expr:
    """sigmoid, σ′ and softplus written with E = exp(−|u|), which CSE then shares:

    σ(u) = (1 if u ≥ 0 else E)/(1 + E),  σ′(u) = E/(1 + E)²,  softplus(u) = max(u, 0) + log1p(E).

    The same values as SciPy's ``expit`` and NumPy's ``logaddexp`` to an ULP or so, never
    overflowing, with subnormal tails kept, in NumPy's vectorised exp/log1p.
    """
    def e_of(u):
        return sp.exp(-sp.Abs(u))

    def lower(e):
        u = e.args[0]
        if isinstance(e, sigmoid):
            return sp.Piecewise((sp.S.One, u >= 0), (e_of(u), True)) / (1 + e_of(u))
        if isinstance(e, dsigmoid):
            return e_of(u) / (1 + e_of(u)) ** 2
        return sp.Piecewise((u, u > 0), (sp.S.Zero, True)) + log1p(e_of(u))

    return expr.replace(lambda e: isinstance(e, (sigmoid, dsigmoid, softplus)), lower)


@functools.lru_cache(maxsize=1024)
def program(expr: sp.Expr, orders: tuple[int, ...], guarded: bool = False, expand: bool = True) -> Program:
    """The program computing f⁽ⁿ⁾ for each n in ``orders`` (cached).

    ``expand``: sigmoid, σ′ and softplus over E = e^{−|u|} (the NumPy and array-API targets).
    """
    from .rewrite import stable_derivative

    return straight_line(tuple(stable_derivative(expr, k) for k in orders), guarded, expand, tuple(orders))


@functools.lru_cache(maxsize=1024)
def straight_line(forms: tuple[sp.Expr, ...], guarded: bool = False, expand: bool = True,
                  orders: tuple[int, ...] | None = None) -> Program:
    """The program computing each expression of ``forms`` (already in stable form), in ``x``."""
    for form in forms:
        if form.free_symbols - {X}:
            raise ValueError(f"expression has free symbols other than x: {form.free_symbols - {X}}")
    builder = _Builder(guarded, expand)
    outputs = []
    for form in forms:
        form = fold_numbers(expand_exp_based(form) if expand else form)
        replacements, (reduced,) = sp.cse(form, symbols=sp.numbered_symbols("_t"), optimizations=None)
        env: dict[sp.Symbol, Ref] = {}
        for sym, sub in replacements:
            env[sym] = builder.value(sub, env)
        outputs.append(builder.value(reduced, env))
    return Program(orders if orders is not None else tuple(range(len(forms))), tuple(builder.steps),
                   tuple(outputs), guarded)


#: a coefficient outside these bounds is multiplied last in a product of three or more factors
_NEAR_COEFFICIENT = (sp.Rational(1, 2**60), sp.Integer(2**60))

_RELATIONS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}


class _Builder:
    """Lowers SymPy nodes to steps, in the order Python evaluates the printed expression."""

    def __init__(self, guarded: bool, expand: bool):
        self.guarded = guarded
        self.expand = expand  # sech as 1/cosh and σ′ as σ(u)·σ(−u), as the NumPy targets compute them
        self.steps: list[Step] = []
        self.numbers: dict[Step, int] = {}

    def emit(self, op: str, *args: Ref) -> Ref:
        step = Step(op, tuple(args))
        if step not in self.numbers:
            self.steps.append(step)
            self.numbers[step] = len(self.steps) - 1
        return ("v", self.numbers[step])

    def negate(self, a: Ref) -> Ref:
        if a[0] == "c":
            text = a[1][1:] if a[1].startswith("-") else "-" + a[1]
            return ("c", text, a[2])
        return self.emit("neg", a)

    def value(self, e: sp.Basic, env: dict) -> Ref:
        if e in env:
            return env[e]
        if e == X:
            return ("x",)
        if isinstance(e, sp.Expr) and e.is_number:
            if e.is_Integer and abs(int(e)) <= _EXACT_INT:
                return ("c", str(int(e)), "int")
            return ("c", constant_text(e), "K")
        if e.is_Add:
            return self.add(e, env)
        if e.is_Mul:
            return self.guarded_mul(e, env) if self.guarded else self.mul(e, env)
        if e.is_Pow:
            return self.pow(e, env)
        if isinstance(e, sp.Piecewise):
            return self.piecewise(e, env)
        if isinstance(e, sp.core.relational.Relational):
            return self.emit(_RELATIONS[e.rel_op], self.value(e.lhs, env), self.value(e.rhs, env))
        if isinstance(e, (sp.And, sp.Or)):
            return functools.reduce(lambda a, b: self.emit("and" if isinstance(e, sp.And) else "or", a, b),
                                    [self.value(a, env) for a in e.args])
        if isinstance(e, sp.ITE):   # CSE's if-then-else of conditions: (c ∧ a) ∨ (¬c ∧ b)
            c, a, b = (self.value(arg, env) for arg in e.args)
            return self.emit("or", self.emit("and", c, a), self.emit("and", self.emit("not", c), b))
        if isinstance(e, sp.Not):
            return self.emit("not", self.value(e.args[0], env))
        if e is sp.true:
            return ("c", "True", "bool")
        if e is sp.false:
            return ("c", "False", "bool")
        if isinstance(e, notnan):   # 1 where the argument is a number, 0 where it is nan
            u = self.value(e.args[0], env)
            return self.emit("where", self.emit("eq", u, u), ("c", "1", "int"), ("c", "0", "int"))
        if isinstance(e, sp.Function):
            name = primitive_of(e)
            if name == "sech" and self.expand:   # 1/cosh(u), as numpy computes it
                return self.emit("div", ("c", "1.0", "float"), self.emit("cosh", self.value(e.args[0], env)))
            if name == "dsigmoid" and self.expand:
                u = self.value(e.args[0], env)
                return self.emit("mul", self.emit("sigmoid", u), self.emit("sigmoid", self.negate(u)))
            return self.emit(name, *[self.value(a, env) for a in e.args])
        raise NotImplementedError(f"no primitive for {type(e).__name__}: {e}")

    def add(self, e: sp.Add, env: dict) -> Ref:
        terms = e.as_ordered_terms()
        acc = self.value(terms[0], env)
        for t in terms[1:]:
            if _prints_negative(t) and not (self.guarded and t.is_Mul):   # guarded: added as mul_guarded(-c, …)
                positive = -t if t.is_Integer else self.mul(_negated(t), env, whole=True)
                acc = self.emit("sub", acc, positive if isinstance(positive, tuple) else self.value(positive, env))
            else:
                acc = self.emit("add", acc, self.value(t, env))
        return acc

    def mul(self, e: sp.Expr, env: dict, whole: bool = False) -> Ref:
        """A product as the code printer writes it: numerator factors left to right, over the
        product of the denominator's (``whole``: ``e`` is the unsigned rest of a product, which
        may be a single factor such as 1/u**(3/2))."""
        c, rest = e.as_coeff_Mul()
        scaled = self.scaled_exp(c, rest, env)
        if scaled is not None:
            return scaled
        negative = c < 0
        if negative:
            e = _keep_coeff(-c, rest)
        numerator, denominator = [], []
        for item in e.as_ordered_factors():
            if item.is_commutative and item.is_Pow and item.exp.is_Rational and item.exp.is_negative:
                denominator.append(sp.Pow(item.base, -item.exp, evaluate=item.exp == -1))
            else:
                numerator.append(item)
        numerator = numerator or [sp.S.One]
        if len(numerator) > 2 and numerator[0].is_Number and not _NEAR_COEFFICIENT[0] <= abs(numerator[0]) \
                <= _NEAR_COEFFICIENT[1]:
            # a tiny or huge coefficient last: −1.5e-21·x·p(x) (tanhshrink″ near 0) made −1.5e-21·x
            # subnormal for |x| < 1e-287, 2.0009e-300 at x = 1e-300 on the C and array-API targets
            numerator = numerator[1:] + numerator[:1]
        values = [self.value(a, env) for a in numerator]
        if negative:   # Python's unary minus binds to the first factor: -a*b is (-a)*b
            values[0] = self.negate(values[0])
        acc = functools.reduce(lambda a, b: self.emit("mul", a, b), values)
        if denominator:
            below = functools.reduce(lambda a, b: self.emit("mul", a, b), [self.value(d, env) for d in denominator])
            acc = self.emit("div", acc, below)
        return acc

    def scaled_exp(self, c: sp.Expr, rest: sp.Expr, env: dict) -> Ref | None:
        """c·exp(u)·… with a constant far from 1 as ±exp(u + ln|c|)·… where e^u is not a normal
        double: 1e-300·e^{2x} overflows at x = 355 in double although its value is 2.2e8 (SymPy
        keeps no number inside exp, so this is decided here, for every target); c·e^u where it is
        (see :data:`_EXP_NORMAL`)."""
        if not c.is_Number or c == 0 or abs(sp.log(abs(c))) < _SCALE_INTO_EXP:
            return None
        factors = list(sp.Mul.make_args(rest))
        at = next((i for i, f in enumerate(factors) if isinstance(f, sp.exp)), None)
        if at is None:
            return None
        u = self.value(factors.pop(at).args[0], env)
        out = self.emit("exp", self.emit("add", u, ("c", constant_text(sp.log(abs(c))), "K")))
        lo, hi = _EXP_NORMAL
        if abs(sp.log(abs(c))) < hi:
            # |c|·e^u where e^u is a normal double: u + ln|c| rounded to double is off by up to
            # 2^-53·|ln|c|| (e^(x + 690.8) for 1e300·eˣ: 1e-13 relative at x = 0, 160 ULP on the C
            # and array-API targets, where |u| is small and the formula rounds nothing so large)
            near = self.emit("mul", ("c", constant_text(abs(c)), "K"), self.emit("exp", u))
            inside = self.emit("and", self.emit("ge", u, ("c", str(lo), "int")),
                               self.emit("le", u, ("c", str(hi), "int")))
            out = self.emit("where", inside, near, out)
        if factors:
            out = self.emit("mul", self.value(sp.Mul(*factors), env), out)
        return self.negate(out) if c < 0 else out

    def guarded_mul(self, e: sp.Mul, env: dict) -> Ref:
        c, factors = e.as_coeff_mul()
        parts = ([self.value(c, env)] if c != 1 else []) + [self.value(f, env) for f in factors]
        return parts[0] if len(parts) == 1 else self.emit("mul_guarded", *parts)

    def pow(self, e: sp.Pow, env: dict) -> Ref:
        base, exp = e.base, e.exp
        if exp.is_integer and exp.is_negative:
            exp = exp.evalf()   # NumPy's integer power of a negative exponent is an error: a float power
        elif exp == sp.S.Half:
            return self.emit("sqrt", self.value(base, env))
        elif -exp is sp.S.Half:
            return self.emit("div", ("c", "1", "int"), self.emit("sqrt", self.value(base, env)))
        b, p = self.value(base, env), self.value(exp, env)
        if p == ("c", "2", "int") and b[0] != "c":
            return self.emit("square", b)
        return self.emit("pow", b, p)

    def piecewise(self, e: sp.Piecewise, env: dict) -> Ref:
        *pieces, (last, cond) = e.args
        if cond == sp.true:
            out = self.value(last, env)
        else:
            out = self.emit("where", self.value(cond, env), self.value(last, env), ("c", "nan", "nan"))
        for val, c in reversed(pieces):
            out = self.emit("where", self.value(c, env), self.value(val, env), out)
        return out


def _prints_negative(t: sp.Expr) -> bool:
    """Whether a term of a sum is subtracted (its printed form starts with a minus)."""
    if t.is_number:
        return bool(t.is_Integer and t < 0)
    return bool(t.is_Mul and t.as_coeff_Mul()[0] < 0)


def _negated(t: sp.Expr) -> sp.Expr:
    if t.is_Integer:
        return -t
    c, rest = t.as_coeff_Mul()
    return _keep_coeff(-c, rest)
