"""Safe parsing of activation formulas into SymPy expressions.

The text is parsed with :func:`ast.parse` (which only builds a syntax tree and runs
nothing); the tree is then walked, allowing only numbers, the variable ``x``, declared
parameters, arithmetic, comparisons inside ``where`` and a whitelist of functions, and the
SymPy expression is built directly.  ``sympify``/``parse_expr`` are never used: they call
``eval``.  Every rejection raises :class:`~activation_lab.errors.FormulaError` naming the
offending token and its position; a formula whose SymPy expression takes longer than
:data:`PARSE_SECONDS` to build raises its subclass
:class:`~activation_lab.errors.FormulaTooComplexError`.
"""

from __future__ import annotations

import ast
import difflib
import fractions
import numbers
import operator
import re
from collections.abc import Callable, Mapping

import sympy as sp

from ..budget import bounded
from ..errors import FormulaError
from .functions import STABLE_FUNCTIONS

__all__ = ["X", "exact_number", "parse_formula", "parse_with_symbols", "FUNCTIONS", "MAX_LENGTH", "MAX_EXPONENT"]

#: the real variable every activation is a function of
X = sp.Symbol("x", real=True)

MAX_LENGTH = 500
MAX_EXPONENT = 64
MAX_DIGITS = 40
#: largest |decimal exponent| in a number's text (1e-400): float64 spans about 1e-324 .. 1e308
MAX_DECIMAL_EXPONENT = 400
#: deepest nesting of operators and calls (Python's own parser stops parentheses at 200)
MAX_DEPTH = 100
#: time budget of building the SymPy expression, in CPU seconds (see activation_lab.budget)
PARSE_SECONDS = 3.0

_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE](?P<exp>[+-]?\d+))?")
_RATIO = re.compile(r"[+-]?\d+/\d+")


def _where(cond, a, b):
    return sp.Piecewise((a, cond), (b, True))


def _max(a, b):
    return sp.Piecewise((a, a > b), (b, True))


def _min(a, b):
    return sp.Piecewise((a, a < b), (b, True))


#: name -> (number of arguments, builder)
FUNCTIONS: dict[str, tuple[int, Callable[..., sp.Expr]]] = {
    "exp": (1, sp.exp), "log": (1, sp.log), "ln": (1, sp.log), "sqrt": (1, sp.sqrt),
    "tanh": (1, sp.tanh), "sinh": (1, sp.sinh), "cosh": (1, sp.cosh), "sech": (1, sp.sech),
    "sin": (1, sp.sin), "cos": (1, sp.cos), "atan": (1, sp.atan), "arctan": (1, sp.atan),
    "erf": (1, sp.erf), "abs": (1, sp.Abs),
    "relu": (1, lambda u: _max(u, sp.S.Zero)),
    "max": (2, _max), "min": (2, _min), "where": (3, _where),
    **{name: (1, fn) for name, fn in STABLE_FUNCTIONS.items()},
}
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "e": sp.E}

_BINOPS: dict[type, Callable[[sp.Expr, sp.Expr], sp.Expr]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
}
_COMPARE: dict[type, Callable[[sp.Expr, sp.Expr], sp.Basic]] = {
    ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
}


def exact_number(value: object) -> sp.Rational:
    """An exact SymPy rational for a number or decimal text ('0.01' -> 1/100).

    Uses :class:`fractions.Fraction`, never SymPy's string parsing (which can call eval).
    Raises ValueError for anything that is not a finite real number.
    """
    if isinstance(value, bool) or type(value).__name__ == "bool_":   # True is an int; NumPy's bool_
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, sp.Rational):
        return value
    if isinstance(value, fractions.Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, numbers.Integral):         # int and NumPy's integers
        return sp.Integer(operator.index(value))
    if isinstance(value, numbers.Real) and not isinstance(value, sp.Basic):   # float, NumPy's floats
        value = float(value)
        if not abs(value) < float("inf"):
            raise ValueError(f"{value!r} is not finite")
        value = repr(value)
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        if len(text) > MAX_DIGITS + 12 or not (_DECIMAL.fullmatch(text) or _RATIO.fullmatch(text)):
            raise ValueError(f"{value!r} is not a decimal number")
        decimal = _DECIMAL.fullmatch(text)
        if decimal and decimal["exp"] and abs(int(decimal["exp"])) > MAX_DECIMAL_EXPONENT:
            # checked before Fraction builds 10**exponent (1e-9999999 would take minutes)
            raise ValueError(f"{value!r} is out of range (decimal exponents up to ±{MAX_DECIMAL_EXPONENT})")
        try:
            frac = fractions.Fraction(text)
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"{value!r} is not a decimal number") from None
        if abs(frac.numerator).bit_length() > 4000 or frac.denominator.bit_length() > 4000:
            raise ValueError(f"{value!r} is too large")
        return sp.Rational(frac.numerator, frac.denominator)
    if isinstance(value, sp.Float):
        return exact_number(str(value))
    raise ValueError(f"{value!r} is not a number")


def parse_formula(formula: str, params: Mapping[str, object] | None = None) -> sp.Expr:
    """Parse ``formula`` into a SymPy expression in :data:`X`.

    ``params`` maps parameter names to values (numbers or decimal strings); their values
    are substituted exactly.  Raises :class:`FormulaError` for anything outside the language.
    """
    if not isinstance(formula, str):
        raise FormulaError(repr(formula), None, f"a formula must be a string, got {type(formula).__name__}",
                           "pass text such as 'x*tanh(exp(x))'")
    params = dict(params or {})
    if len(formula) > MAX_LENGTH:
        raise FormulaError(formula, MAX_LENGTH,
                           f"formula is {len(formula)} characters long, over the limit of {MAX_LENGTH}",
                           "shorten it, or define parts as parameters")
    if not formula.strip():
        raise FormulaError(formula, 0, "empty formula", "write an expression in x, e.g. 'x*tanh(exp(x))'")
    for i, ch in enumerate(formula):
        if not (ch.isascii() and (ch.isprintable() or ch in " \t")):
            raise FormulaError(formula, i, f"character {ch!r} is not allowed",
                               "use ASCII letters, digits, spaces and + - * / ** ( ) , . < > =")
    values: dict[str, sp.Expr] = {}
    for name, value in params.items():
        if not name.isidentifier() or name.startswith("_") or name in FUNCTIONS or name in CONSTANTS or name == "x":
            raise FormulaError(formula, None, f"parameter name {name!r} is not allowed",
                               "use a plain identifier that is not x, a constant or a function name")
        values[name] = _param_value(formula, name, value)
    offset = len(formula) - len(formula.lstrip())
    try:
        tree = ast.parse(formula.strip(), mode="eval")
    except SyntaxError as err:
        fix = "check that every '(' has its ')' and that operators have operands on both sides"
        if not err.offset:
            # Python reports an unexpected end at offset 0: point at the last character instead
            pos = len(formula.rstrip()) - 1
            raise FormulaError(formula, pos, f"formula ends early, after {formula.rstrip()[-1]!r}",
                               "complete the expression after the last operator") from None
        pos = err.offset - 1 + offset
        raise FormulaError(formula, pos, f"malformed formula ({err.msg or 'syntax error'})", fix) from None
    builder = _Builder(formula, values, offset)
    # SymPy evaluates while building (powers of numbers, ...): bounded like every step on user text
    with bounded("parsing", PARSE_SECONDS, formula=formula):
        expr = builder.build(tree.body)
    unused = sorted(set(values) - builder.used)
    if unused:
        used = ", ".join(sorted(builder.used)) or "none"
        raise FormulaError(formula, None, f"parameter{'s' if len(unused) > 1 else ''} "
                           f"{', '.join(map(repr, unused))} not used in the formula",
                           f"remove {'them' if len(unused) > 1 else 'it'} or check the spelling; "
                           f"parameters the formula uses: {used}")
    return expr


def parse_with_symbols(formula: str, symbols: Mapping[str, sp.Symbol]) -> sp.Expr:
    """A (catalogue) formula with its parameters left as the given SymPy symbols, e.g. to fit
    their values; parsed by the same safe rules as :func:`parse_formula`."""
    tree = ast.parse(formula.strip(), mode="eval")
    with bounded("parsing", PARSE_SECONDS, formula=formula):
        return _Builder(formula, dict(symbols), 0).build(tree.body)


def _param_value(formula: str, name: str, value: object) -> sp.Expr:
    try:
        exact = exact_number(value)
    except ValueError as err:
        raise FormulaError(formula, None, f"parameter {name}={value!r} is not a number ({err})",
                           f"give a finite number, e.g. {name}=0.5") from None
    if not abs(float(exact)) < float("inf"):
        raise FormulaError(formula, None, f"parameter {name}={value!r} is too large: it overflows float64",
                           f"give a finite number, e.g. {name}=0.5")
    return exact


class _Builder:
    def __init__(self, formula: str, values: dict[str, sp.Expr], offset: int):
        self.formula = formula
        self.values = values
        self.offset = offset
        self.used: set[str] = set()
        self.depth = 0

    def fail(self, node: ast.AST, problem: str, fix: str = "") -> FormulaError:
        pos = getattr(node, "col_offset", None)
        return FormulaError(self.formula, None if pos is None else pos + self.offset, problem, fix)

    def token(self, node: ast.AST) -> str:
        seg = ast.get_source_segment(self.formula.strip(), node) or type(node).__name__
        return seg if len(seg) <= 40 else seg[:37] + "..."

    def build(self, node: ast.AST) -> sp.Expr:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise self.fail(node, f"{self.token(node)!r} ({_describe(node)}) is not allowed in a formula",
                            "use numbers, x, parameters, + - * / **, and functions such as "
                            + ", ".join(sorted(FUNCTIONS)))
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(node, f"formula is nested more than {MAX_DEPTH} levels deep",
                            "simplify it, e.g. write --x as x")
        try:
            expr = method(node)
        finally:
            self.depth -= 1
        return self._finite_real(node, expr)

    def _finite_real(self, node: ast.AST, expr: sp.Expr) -> sp.Expr:
        """Refuse a part that is undefined (x/0, log(0)) or not real (sqrt(-1)) for every x."""
        if expr.has(sp.zoo, sp.nan, sp.oo, sp.S.NegativeInfinity):
            raise self.fail(node, f"{self.token(node)!r} is undefined or infinite (a division by zero, log(0), ...)",
                            "rewrite that part so that it is finite")
        try:
            if expr.is_number and not expr.is_Atom:
                sp.N(expr, 15)
            not_real = expr.has(sp.I) or (expr.is_number and expr.is_extended_real is False  # (-1)**(1/3) too
                                          and not _numerically_real(expr))
        except ArithmeticError:
            # SymPy's evalf overflows on cosh(cosh(1e309) + 3), and so do printing it, its
            # assumptions and every later step
            raise self.fail(node, f"{self.token(node)!r} is too large to evaluate",
                            "keep constants within float64's range (about 1.8e308)") from None
        if not_real:
            raise self.fail(node, f"{self.token(node)!r} is not a real number",
                            "activations are real functions: keep square roots and logs of negative "
                            "constants out")
        return expr

    def _Constant(self, node: ast.Constant) -> sp.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(node, f"literal {self.token(node)!r} is not a real number",
                            "only numbers may appear as literals")
        text = ast.get_source_segment(self.formula.strip(), node) or repr(value)
        digits = sum(ch.isdigit() for ch in text)
        if digits > MAX_DIGITS or (isinstance(value, float) and not abs(value) < float("inf")):
            raise self.fail(node, f"number {self.token(node)!r} is too large or too long",
                            f"use at most {MAX_DIGITS} digits, within float64 range")
        try:
            return exact_number(text)
        except ValueError as err:
            raise self.fail(node, f"number {self.token(node)!r}: {err}",
                            f"use decimal exponents between -{MAX_DECIMAL_EXPONENT} and {MAX_DECIMAL_EXPONENT}") \
                from None

    def _Name(self, node: ast.Name) -> sp.Expr:
        name = node.id
        if name == "x":
            return X
        if name in self.values:
            self.used.add(name)
            return self.values[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name.startswith("_"):
            raise self.fail(node, f"name {name!r} is not allowed (names starting with '_' are never accepted)")
        if name in FUNCTIONS:
            raise self.fail(node, f"function {name!r} is used without arguments", f"call it, e.g. {name}(x)")
        declared = ", ".join(sorted(self.values)) or "none"
        close = difflib.get_close_matches(name, ["x", *self.values, *CONSTANTS], n=2)
        hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        raise self.fail(node, f"unknown name {name!r}",
                        f"{hint}the variable is x; declared parameters: {declared}; "
                        f"declare a parameter with {name}=value")

    def _UnaryOp(self, node: ast.UnaryOp) -> sp.Expr:
        if isinstance(node.op, ast.USub):
            return -self.build(node.operand)
        if isinstance(node.op, ast.UAdd):
            return self.build(node.operand)
        raise self.fail(node, f"operator in {self.token(node)!r} is not allowed", "use + or - only")

    def _BinOp(self, node: ast.BinOp) -> sp.Expr:
        if isinstance(node.op, ast.Pow):
            return self._power(node)
        op = _BINOPS.get(type(node.op))
        if op is None:
            names = {ast.BitXor: "^", ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@"}
            symbol = names.get(type(node.op), "this operator")
            fix = "use ** for powers" if isinstance(node.op, ast.BitXor) else "use + - * / **"
            raise self.fail(node, f"operator {symbol!r} in {self.token(node)!r} is not allowed", fix)
        return op(self.build(node.left), self.build(node.right))

    def _power(self, node: ast.BinOp) -> sp.Expr:
        exponent = self.build(node.right)
        if exponent.is_Number:
            if abs(exponent) > MAX_EXPONENT:
                raise self.fail(node.right,
                                f"exponent {self.token(node.right)!r} is too large (limit |p| <= {MAX_EXPONENT})",
                                "use a smaller power, or exp(p*log(u))")
        elif exponent.has(sp.Pow) and any(a.is_Number and abs(a) > MAX_EXPONENT for a in exponent.atoms(sp.Number)):
            raise self.fail(node.right, f"exponent {self.token(node.right)!r} is too large")
        base = self.build(node.left)
        if base.is_Number and exponent.is_Number and abs(base) > 2**64:
            raise self.fail(node, f"power {self.token(node)!r} is too large")
        return base**exponent

    def _Call(self, node: ast.Call) -> sp.Expr:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node, f"call {self.token(node)!r} is not allowed: only plain function names may be called",
                            "write e.g. tanh(x), not x.tanh() or module.tanh(x)")
        name = node.func.id
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(node, f"keyword or starred arguments in {self.token(node)!r} are not allowed",
                            "pass plain positional arguments")
        if name not in FUNCTIONS:
            close = difflib.get_close_matches(name, list(FUNCTIONS), n=3)
            hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
            raise self.fail(node.func, f"unknown function {name!r}",
                            hint + "allowed functions: " + ", ".join(sorted(FUNCTIONS)))
        arity, builder = FUNCTIONS[name]
        if len(node.args) != arity:
            example = {1: f"{name}(x)", 2: f"{name}(x, 0)", 3: "where(x > 0, x, 0)"}[arity]
            raise self.fail(node, f"{name} takes {arity} argument{'s' if arity > 1 else ''}, got {len(node.args)}",
                            f"write e.g. {example}")
        if name == "where":
            cond = self._condition(node.args[0])
            args = [cond, self.build(node.args[1]), self.build(node.args[2])]
        else:
            args = [self.build(a) for a in node.args]
        try:
            return builder(*args)
        except TypeError:   # SymPy cannot compare a part that is a pole in one branch (0**-2 there)
            raise self.fail(node, f"{self.token(node)!r} has an undefined part (a division by zero, log(0), ...)",
                            "rewrite that part so that it is finite") from None

    def _condition(self, node: ast.AST) -> sp.Basic:
        if isinstance(node, ast.BoolOp):
            parts = [self._condition(v) for v in node.values]
            return sp.And(*parts) if isinstance(node.op, ast.And) else sp.Or(*parts)
        if not isinstance(node, ast.Compare):
            raise self.fail(node, f"the first argument of where must be a comparison, got {self.token(node)!r}",
                            "write where(x > 0, x, 0)")
        terms = [self.build(node.left), *(self.build(c) for c in node.comparators)]
        rels = []
        for op, a, b in zip(node.ops, terms[:-1], terms[1:], strict=True):
            cmp = _COMPARE.get(type(op))
            if cmp is None:
                raise self.fail(node, f"comparison in {self.token(node)!r} is not allowed", "use <, <=, > or >=")
            rels.append(cmp(a, b))
        return sp.And(*rels)

    def _Compare(self, node: ast.Compare) -> sp.Expr:
        raise self.fail(node, f"comparison {self.token(node)!r} outside where()", "write where(x > 0, x, 0)")


def _numerically_real(expr: sp.Expr) -> bool:
    """Whether the constant ``expr`` evaluates (50 digits) to a real number: a check on SymPy's
    assumptions, which have called log1p(log1p(1e-280)) not real in some cache states (seen once
    in a full test run, never alone); (-1)**(1/3) and log(-2) keep their imaginary parts here."""
    try:
        re, im = sp.N(expr, 50).as_real_imag()
    except (ArithmeticError, TypeError, ValueError):
        return False
    return bool(im == 0 and re.is_number and re.is_finite)


def _describe(node: ast.AST) -> str:
    return {
        "Attribute": "attribute access", "Lambda": "lambda", "Subscript": "indexing",
        "List": "list", "Tuple": "tuple", "Dict": "dict", "Set": "set", "ListComp": "comprehension",
        "GeneratorExp": "generator", "NamedExpr": "assignment", "IfExp": "if-expression (use where)",
        "JoinedStr": "f-string", "Await": "await", "Yield": "yield", "Starred": "starred expression",
        "BoolOp": "boolean operator", "Slice": "slice", "DictComp": "comprehension", "SetComp": "comprehension",
    }.get(type(node).__name__, type(node).__name__)
