"""Random formulas from the parser's whitelist, every evaluation target, and an independent judge.

Used by ``tests/test_targets_property.py`` (issue 13).  Three parts:

* **Strategies** (hypothesis): formula text built from :data:`activation_lab.symbolic.parsing.FUNCTIONS`
  (every whitelisted function, ``where`` with comparisons, ``max``/``min``), ``+ - * / **``,
  unary minus, the constants ``pi`` and ``e``, numbers from tiny to huge, and a parameter ``a``;
  derivative orders; a few drawn inputs besides the first-class edge values.
* **Targets**: plain NumPy below ``FUSED_MIN_SIZE``, the fused block program above it (float64
  and float32), the native float32 kernel, array-api-strict, ``Activation.mpmath`` and (batched,
  in the test module) the C source compiled with gcc.
* **Judge**: an mpmath reference computed here from ``sympy.diff`` of the parsed formula (not the
  package's stable rewrite), the README's bound err ≤ T·max(1, κ) ULP (T = 4 for f, f′, 16 for
  f″; κ = |x·g′/g|), and, for formulas whose own arithmetic is ill-conditioned (a user formula may
  cancel or round a big argument: ``sin(x + 1e10)``), the rounding allowance of the existing
  agreement tests (``tests/_agreement.py``: 16ε of the working precision times the size of what
  cancels), here computed exactly as Σᵢ |∂f/∂vᵢ · vᵢ| over the intermediates vᵢ of the formula's
  derivative tree (a first-order forward error bound of any evaluation that rounds each
  intermediate once).  A result that is nan/inf where the exact value is finite is never excused.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np
import sympy as sp
from hypothesis import strategies as st

from activation_lab.symbolic.parsing import FUNCTIONS, X

# --------------------------------------------------------------------------------------------
# strategies

UNARY = sorted(name for name, (arity, _) in FUNCTIONS.items() if arity == 1)
BINARY = sorted(name for name, (arity, _) in FUNCTIONS.items() if arity == 2)   # max, min
#: numbers as a user writes them: small, simple, irrational-looking, and at float64's edges
NUMBERS = ["1", "2", "3", "0.5", "0.1", "(1/3)", "10", "1000", "pi", "e", "1e-280", "1e-300", "1e308", "1e30"]
EXPONENTS = ["2", "3", "-1", "0.5", "(1/3)", "-2", "4", "x", "1.5"]
COMPARISONS = ["<", "<=", ">", ">="]
PARAM_VALUES = ["0.5", "2", "-1", "0.01", "1e-300", "1e300"]


def _leaf():
    return st.one_of(st.just("x"), st.just("x"), st.sampled_from(NUMBERS), st.just("a"))


def _extend(children):
    return st.one_of(
        st.builds(lambda f, u: f"{f}({u})", st.sampled_from(UNARY), children),
        st.builds(lambda u, op, v: f"({u} {op} {v})", children, st.sampled_from("+-*/"), children),
        st.builds(lambda u, p: f"({u})**{p}", children, st.sampled_from(EXPONENTS)),
        st.builds(lambda u: f"-({u})", children),
        st.builds(lambda f, u, v: f"{f}({u}, {v})", st.sampled_from(BINARY), children, children),
        st.builds(lambda u, c, v, a, b: f"where({u} {c} {v}, {a}, {b})",
                  children, st.sampled_from(COMPARISONS), children, children, children),
    )


def formula_text():
    """Formula text over the parser's whitelist (at most 6 leaves: SymPy stays fast)."""
    return st.recursive(_leaf(), _extend, max_leaves=6)


#: first-class inputs, per dtype: ±0, subnormals, the smallest normal, the overflow edges, ±inf, nan
def edge_points(dtype) -> list[float]:
    info = np.finfo(dtype)
    s, t, m = float(info.smallest_subnormal), float(info.smallest_normal), float(info.max)
    return [0.0, -0.0, s, -s, 3 * s, t, -t, m, -m, math.inf, -math.inf, math.nan, 1.0, -1.0]


#: drawn inputs: anywhere in float64, and the neighbourhoods where formulas change regime
NOTABLE = [0.5, -8.0, 8.0, 27.0, 355.0, 710.0, -745.5, 88.8, -104.0, 1e30, -1e30, 1e-30, 1e150, 2.5, -2.5, 1e-5]


@st.composite
def points(draw):
    finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
    return tuple(draw(st.lists(st.one_of(st.sampled_from(NOTABLE), finite), min_size=1, max_size=4)))


@dataclass(frozen=True)
class Case:
    formula: str
    params: dict = field(hash=False)
    orders: tuple[int, ...]
    xs: tuple[float, ...]

    def define_call(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"al.define({self.formula!r}{extra})"


@st.composite
def cases(draw):
    text = draw(formula_text())
    params = {}
    if any(tok == "a" for tok in _tokens(text)):
        params["a"] = draw(st.sampled_from(PARAM_VALUES))
    orders = draw(st.sampled_from([(0, 1), (0, 1), (0, 1), (0,), (1,), (0, 1, 2)]))
    return Case(text, params, orders, draw(points()))


def _tokens(text: str) -> list[str]:
    out, word = [], ""
    for ch in text + " ":
        if ch.isalnum() or ch == "_":
            word += ch
        else:
            if word:
                out.append(word)
            word = ""
    return out


def inputs(case: Case, dtype) -> np.ndarray:
    """The case's inputs in ``dtype``: the edges of that dtype, then the drawn points, no repeats."""
    vals = edge_points(dtype) + list(case.xs)
    with np.errstate(over="ignore"):
        arr = np.array(vals, dtype=np.float64).astype(dtype)
    seen, keep = set(), []
    for v in arr:
        key = v.tobytes()
        if key not in seen:
            seen.add(key)
            keep.append(v)
    return np.array(keep, dtype=dtype)


# --------------------------------------------------------------------------------------------
# the reference: an mpmath evaluator of SymPy trees that also reports intermediates

class Undefined(Exception):
    """The exact value is not a real number (log of a negative): args[0] == "complex"; or x is at a
    pole or an indeterminate form (1/0, log(0), 0**0, inf*0): args[0] == "pole"."""

    def __init__(self, why: str = "pole"):
        super().__init__(why)
        self.why = why


class Fragile(Exception):
    """A branch (where, max, |u|, sign) is decided by a difference below the working precision."""


def _mp_namespace():
    from activation_lab.numeric.mpmath_target import MPMATH_NAMESPACE as ns

    return {
        sp.exp: ns["exp"], sp.tanh: ns["tanh"], sp.sech: ns["sech"], sp.cosh: ns["cosh"], sp.sinh: ns["sinh"],
        sp.erf: ns["erf"], sp.erfc: ns["erfc"], sp.log: mpmath.log, sp.sin: mpmath.sin, sp.cos: mpmath.cos,
        sp.atan: mpmath.atan,
    }


_FUNCS: dict = {}


def _custom(name):
    from activation_lab.numeric.mpmath_target import MPMATH_NAMESPACE as ns

    return ns[name]


class Tree:
    """``expr`` compiled to nested closures over mpmath numbers; node i may be perturbed by a
    relative factor, and the intermediates are recorded (for the rounding allowance)."""

    def __init__(self, expr: sp.Expr):
        if not _FUNCS:
            _FUNCS.update(_mp_namespace())
        self.expr = expr
        self.nodes: list[sp.Basic] = []
        self.pert: tuple[int, Any] | None = None
        self.record: list | None = None
        self.fragile_rel = mpmath.mpf(2) ** -45
        self.fn = self._compile(expr)

    def __call__(self, x):
        return self.fn(mpmath.mpf(x))

    def _wrap(self, i, f):
        def g(x):
            v = f(x)
            if isinstance(v, mpmath.mpc):
                if v.imag != 0:
                    raise Undefined("complex")
                v = v.real
            if mpmath.isnan(v):
                raise Undefined
            if self.record is not None:
                self.record[i] = v
            if self.pert is not None and self.pert[0] == i:
                v = v * self.pert[1]
            return v
        return g

    def _compile(self, e):
        i = len(self.nodes)
        self.nodes.append(e)
        f = self._build(e)
        return self._wrap(i, f)

    def _cmp(self, rel):
        a, b = self._compile(rel.lhs), self._compile(rel.rhs)
        op = {sp.StrictLessThan: lambda u, v: u < v, sp.LessThan: lambda u, v: u <= v,
              sp.StrictGreaterThan: lambda u, v: u > v, sp.GreaterThan: lambda u, v: u >= v}[type(rel)]

        def c(x):
            u, v = a(x), b(x)
            if abs(u - v) <= self.fragile_rel * max(abs(u), abs(v)) or (u == v):
                raise Fragile
            return op(u, v)
        return c

    def _cond(self, cond):
        if cond is sp.true:
            return lambda x: True
        if cond is sp.false:
            return lambda x: False
        if isinstance(cond, sp.And):
            parts = [self._cond(c) for c in cond.args]
            return lambda x: all(p(x) for p in parts)
        if isinstance(cond, sp.Or):
            parts = [self._cond(c) for c in cond.args]
            return lambda x: any(p(x) for p in parts)
        if isinstance(cond, sp.ITE):
            c, a, b = (self._cond(v) for v in cond.args)
            return lambda x: a(x) if c(x) else b(x)
        if isinstance(cond, sp.Not):
            inner = self._cond(cond.args[0])
            return lambda x: not inner(x)
        if isinstance(cond, sp.core.relational.Relational):
            return self._cmp(cond)
        raise NotImplementedError(f"condition {cond!r}")

    def _build(self, e):
        if e == X:
            return lambda x: x
        if e.is_Number or e in (sp.pi, sp.E):
            if e.is_Rational:
                p, q = int(e.p), int(e.q)
                return lambda x: mpmath.mpf(p) / q
            c = {sp.pi: lambda: +mpmath.pi, sp.E: lambda: +mpmath.e}.get(e)
            if c is not None:
                return lambda x: c()
            s = str(e)
            return lambda x: mpmath.mpf(s)
        if e.is_NumberSymbol or (e.is_number and not e.free_symbols and not e.args):
            s = e
            return lambda x: mpmath.mpf(sp.N(s, mpmath.mp.dps + 10))
        args = [self._compile(a) for a in e.args] if not isinstance(e, sp.Piecewise) else None
        if isinstance(e, sp.Add):
            return lambda x: mpmath.fsum(a(x) for a in args)
        if isinstance(e, sp.Mul):
            def mul(x):
                p = mpmath.mpf(1)
                for a in args:
                    v = a(x)
                    if mpmath.isinf(v) and p == 0 or mpmath.isinf(p) and v == 0:
                        raise Undefined
                    p = p * v
                return p
            return mul
        if isinstance(e, sp.Pow):
            base, expo = args
            exp_int = e.exp.is_Integer

            def power(x):
                b, p = base(x), expo(x)
                if b == 0 and p < 0:
                    raise Undefined
                if b < 0 and not exp_int and not (mpmath.isfinite(p) and p == mpmath.floor(p)):
                    raise Undefined("complex")
                if b == 0 and p == 0:
                    raise Undefined
                return mpmath.power(b, p)
            return power
        if isinstance(e, sp.Piecewise):
            pieces = [(self._compile(ex), self._cond(c)) for ex, c in e.args]

            def piecewise(x):
                for ex, c in pieces:
                    if c(x):
                        return ex(x)
                raise Undefined
            return piecewise
        if isinstance(e, sp.Abs):
            (a,) = args

            def absolute(x):
                v = a(x)
                return abs(v)
            return absolute
        if isinstance(e, sp.sign):
            (a,) = args

            def sign(x):
                v = a(x)
                if v == 0:
                    raise Fragile
                return mpmath.sign(v)
            return sign
        if isinstance(e, sp.DiracDelta):
            a = args[0]

            def delta(x):
                if a(x) == 0:
                    raise Fragile
                return mpmath.mpf(0)
            return delta
        if isinstance(e, sp.Heaviside):
            a = args[0]

            def heaviside(x):
                v = a(x)
                if v == 0:
                    raise Fragile
                return mpmath.mpf(1 if v > 0 else 0)
            return heaviside
        fn = _FUNCS.get(e.func)
        if fn is None:
            name = e.func.__name__
            try:
                fn = _custom(name)
            except KeyError:
                raise NotImplementedError(f"no mpmath meaning for {name}") from None
        (a,) = args

        def call(x):
            v = a(x)
            try:
                return fn(v)
            except (ValueError, ZeroDivisionError):
                raise Undefined from None
        if e.func is sp.log:
            def log(x):
                v = a(x)
                if v < 0:
                    raise Undefined("complex")
                if v == 0:
                    raise Undefined("pole")
                return mpmath.log(v)
            return log
        return call


def _value(tree: Tree, x: float, prec: int) -> Any:
    with mpmath.workprec(prec):
        try:
            return tree(x)
        except ZeroDivisionError:
            raise Undefined from None


def exact(tree: Tree, x: float) -> Any:
    """f(x) at 200 bits, confirmed at 400 (then 800, 1600): an mpf; raises Undefined or Fragile."""
    prev, p = None, 200
    while True:
        v = _value(tree, x, p)
        if prev is not None:
            if v == prev or (v != 0 and abs(v - prev) <= abs(v) * mpmath.mpf(2) ** -100):
                return v
        if p >= 1600:
            return v
        prev, p = v, 2 * p


def sensitivity(tree: Tree, x: float) -> tuple[Any, Any, list]:
    """(f, Σᵢ |∂f/∂vᵢ·vᵢ|, intermediates) at 200 bits: the first-order effect of rounding each
    intermediate (and each inexact constant) once, relative to its own size."""
    delta = mpmath.mpf(2) ** -60
    with mpmath.workprec(200):
        tree.record = [None] * len(tree.nodes)
        try:
            f = tree(x)
            values = list(tree.record)
        finally:
            tree.record = None
        total = mpmath.mpf(0)
        for i, node in enumerate(tree.nodes):
            if node == X or node.is_Integer or values[i] is None or values[i] == 0:
                continue
            if node.is_Boolean or isinstance(node, sp.core.relational.Relational):
                continue
            tree.pert = (i, 1 + delta)
            try:
                g = tree(x)
            except (Undefined, Fragile):
                return f, mpmath.inf, values
            finally:
                tree.pert = None
            total += abs(g - f) / delta
    return f, total, values


# --------------------------------------------------------------------------------------------
# targets

TARGETS = ("plain", "fused", "native", "array-api", "mpmath", "c")


@dataclass
class Outcome:
    """A target's results (orders → array of the dtype) or the exception it raised."""

    values: dict | None = None
    error: BaseException | None = None


def _call(fn) -> Outcome:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with np.errstate(all="ignore"):
                ys = fn()
        return Outcome(values=ys)
    except Exception as err:   # judged by the caller: only documented errors pass
        return Outcome(error=err)


def tile(x: np.ndarray) -> np.ndarray:
    from activation_lab.numeric.backends import FUSED_MIN_SIZE

    reps = -(-FUSED_MIN_SIZE // x.size) + 1
    return np.tile(x, reps)


def _untile(y: np.ndarray, size: int) -> np.ndarray:
    """The first copy, after checking that every copy of the inputs gave the same bits."""
    rows = y.reshape(-1, size)
    first = rows[0]
    same = (rows.view(np.uint8).reshape(rows.shape[0], -1) == first.view(np.uint8)).all()
    if not same:
        diff = np.flatnonzero(~(rows == first).all(axis=0) & ~(np.isnan(rows).all(axis=0)))
        if diff.size:
            raise AssertionError(f"copies of the same input gave different results at positions {diff[:5]}")
    return first


def run_python_targets(act, x: np.ndarray, orders: tuple[int, ...]) -> dict[str, Outcome]:
    """Every non-compiled target on ``x`` (one dtype): {target: Outcome(values={order: array})}."""
    from activation_lab.numeric.fused import evaluate_fused

    out: dict[str, Outcome] = {}

    def by_order(ys):
        ys = ys if isinstance(ys, tuple) else (ys,)
        return {k: np.asarray(y) for k, y in zip(orders, ys, strict=True)}

    out["plain"] = _call(lambda: by_order(act.evaluate(x, n=orders)))
    big = tile(x)
    out["fused"] = _call(lambda: {k: _untile(y, x.size)
                                  for k, y in by_order(evaluate_fused(act, big, orders, native=False)).items()})
    if x.dtype == np.float32:
        out["native"] = _call(lambda: {k: _untile(y, x.size)
                                       for k, y in by_order(evaluate_fused(act, big, orders, native=True)).items()})
    try:
        import array_api_strict as xp
    except ImportError:
        xp = None
    if xp is not None:
        out["array-api"] = _call(lambda: {k: np.asarray(y) for k, y in
                                          by_order(act.evaluate(xp.asarray(x), n=orders)).items()})
    out["mpmath"] = _call(lambda: {k: mpmath_target(act, k, x) for k in orders})
    return out


def mpmath_target(act, k: int, x: np.ndarray) -> np.ndarray:
    """``act.mpmath(k)`` at each finite x (200 bits, rounded to x's dtype); non-finite x give nan
    (mpmath has no value there: judged only at finite x); a point where it raises or is not real, nan."""
    from activation_lab.numeric.mpmath_target import reference

    fn = act.mpmath(k)
    out = np.full(x.shape, np.nan, dtype=x.dtype)
    for i, v in enumerate(x):
        if not np.isfinite(v):
            continue
        try:
            r = reference(fn, float(v))
        except (ZeroDivisionError, ValueError):
            continue
        if isinstance(r, mpmath.mpc):
            if r.imag != 0:
                continue
            r = r.real
        with np.errstate(over="ignore"):
            out[i] = x.dtype.type(float(r)) if abs(r) < mpmath.mpf(2) ** 1100 else np.copysign(np.inf, float(r))
    return out


#: where each target computes, per output dtype: (epsilon, largest finite, smallest normal)
def working_format(target: str, dtype: np.dtype):
    if target == "mpmath":
        return 2.0 ** -190, math.inf, 0.0
    if np.dtype(dtype) == np.float64 and target in ("plain", "fused"):
        info = np.finfo(np.longdouble)
        if info.nmant >= 63:
            return 2.0 ** -64, math.inf, 0.0      # long double: beyond any float64 (and mpf) range test here
    return 2.0 ** -53, float(np.finfo(np.float64).max), float(np.finfo(np.float64).smallest_normal)


# --------------------------------------------------------------------------------------------
# the judge

@dataclass
class Finding:
    """One disagreement: a target's result (or error) that the documented bound does not allow."""

    kind: str               # "error", "value", "nan-ness", "limit", "copies"
    target: str
    dtype: str
    order: int | None
    x: float | None
    got: Any
    want: Any
    detail: str = ""

    def __str__(self) -> str:
        where = "" if self.x is None else f" at x = {self.x!r}"
        order = "" if self.order is None else f" f^({self.order})"
        return (f"[{self.kind}] {self.target} {self.dtype}{order}{where}: got {self.got!r}, "
                f"want {self.want!r} {self.detail}")


class Reference:
    """Exact f⁽ᵏ⁾ from ``sympy.diff`` of the parsed formula (never the package's stable form)."""

    def __init__(self, expr: sp.Expr):
        self.expr = expr
        self._trees: dict[int, Tree] = {}
        self._cache: dict = {}

    def tree(self, k: int) -> Tree:
        if k not in self._trees:
            d = self.expr
            for _ in range(k):
                d = sp.diff(d, X)
            self._trees[k] = Tree(d)
        return self._trees[k]

    def at(self, k: int, x: float):
        """("ok", mpf) | ("undefined",) | ("fragile",) at a finite x; at ±inf ("ok", limit) when the
        value far out has settled in float64, ("undefined",) when f is not real far out, else ("none",)."""
        key = (k, x)
        if key not in self._cache:
            self._cache[key] = self._at(k, x)
        return self._cache[key]

    def _at(self, k: int, x: float):
        tree = self.tree(k)
        if math.isinf(x):
            got = []
            for m in ("1.3e301", "2.7e333", "4.1e370", "6.9e399", "9.7e420"):
                try:
                    got.append(_value(tree, math.copysign(1.0, x) * mpmath.mpf(m), 4000))
                except Undefined as err:
                    got.append(err.why)
                except Fragile:
                    return ("none",)
            if all(g == "complex" for g in got):
                return ("undefined", "complex")
            if any(isinstance(g, str) for g in got):
                return ("none",)
            settled = {float(v) if abs(v) < mpmath.mpf(2) ** 1100 else math.copysign(math.inf, v) for v in got}
            return ("ok", got[-1]) if len(settled) == 1 else ("none",)
        try:
            return ("ok", exact(tree, x))
        except Undefined as err:
            return ("undefined", err.why) if err.why == "complex" else ("none",)
        except Fragile:
            return ("fragile",)

    def kappa(self, k: int, x: float) -> float:
        """κ = |x·g′(x)/g(x)| for g = f⁽ᵏ⁾ (inf at a zero of g or where g′ is undefined)."""
        try:
            g, dg = exact(self.tree(k), x), exact(self.tree(k + 1), x)
        except (Undefined, Fragile):
            return math.inf
        if g == 0:
            return math.inf
        with mpmath.workprec(200):
            return float(abs(mpmath.mpf(x) * dg / g))

    def rounding(self, k: int, x: float):
        """(Σᵢ |∂g/∂vᵢ·vᵢ|, intermediates) of g = f⁽ᵏ⁾ at x (inf where a branch is undecided)."""
        try:
            _, total, values = sensitivity(self.tree(k), x)
        except (Undefined, Fragile):
            return mpmath.inf, []
        return total, values


def order_target(k: int) -> float:
    """The README's T: 4 ULP for f and f′, 16 for f″."""
    return 4.0 if k <= 1 else 16.0


def judge_values(ref: Reference, target: str, dtype: np.dtype, k: int, x: np.ndarray, y: np.ndarray,
                 known) -> list[Finding]:
    """``y`` = f⁽ᵏ⁾(x) from ``target`` against the reference; ``known(finding, values)`` excuses a
    finding of a listed class (``values``: the exact intermediates at x)."""
    from activation_lab.analysis.ulp import split_exact, ulp, ulp_error

    dtype = np.dtype(dtype)
    out: list[Finding] = []
    eps, big, tiny = working_format(target, dtype)
    T = order_target(k)
    for i, xv in enumerate(x):
        xf, yv = float(xv), y[i]
        if math.isnan(xf):
            if not np.isnan(yv):
                out.append(Finding("nan-in", target, dtype.name, k, xf, yv, math.nan))
            continue
        r = ref.at(k, xf)
        if r[0] in ("none", "fragile"):
            continue
        if r[0] == "undefined":
            if target == "mpmath" and math.isinf(xf):
                continue
            if not np.isnan(yv):
                out.append(Finding("not-real", target, dtype.name, k, xf, yv, math.nan,
                                   "(the exact value is not a real number here)"))
            continue
        if target == "mpmath" and math.isinf(xf):
            continue
        hi, lo = split_exact([r[1]])
        err = float(ulp_error(np.array([yv], dtype=dtype), hi, lo, dtype)[0])
        if err <= T:
            continue
        if math.isinf(xf):
            # a limit: bits as they settle far out; zero signs are reported apart by the README's rule
            if yv == hi[0] or (yv == 0 and hi[0] == 0):
                continue
            out.append(Finding("limit", target, dtype.name, k, xf, yv, float(hi[0])))
            continue
        if yv == 0 and hi[0] == 0:
            continue    # a zero of the wrong sign: the README counts these apart, not in the verdict
        exact_rounded = _rounded(hi[0], lo[0], dtype)
        finite_exact = np.isfinite(exact_rounded)
        if not finite_exact and np.isinf(yv):
            # the exact value overflows the format: an inf of the other sign passes only where
            # rounding the formula's intermediates could change the sign (sin(x**3) at 3e38)
            total, values = ref.rounding(k, xf)
            if 16 * eps * float(min(total, mpmath.mpf(2) ** 1000)) >= abs(float(hi[0])):
                continue
        if finite_exact and not np.isfinite(yv):
            f = Finding("value", target, dtype.name, k, xf, yv, float(hi[0]), f"({err:.3g} ULP)")
        else:
            kappa = ref.kappa(k, xf)
            if err <= T * max(1.0, kappa):
                continue
            total, values = ref.rounding(k, xf)
            allowed = 16 * eps * float(min(total, mpmath.mpf(2) ** 1000)) + float(ulp(hi, dtype)[0]) / 2
            if np.isfinite(yv) and abs(float(yv) - float(hi[0])) <= allowed:
                continue
            f = Finding("value", target, dtype.name, k, xf, yv, float(hi[0]),
                        f"({err:.3g} ULP; κ = {kappa:.3g}; rounding allowance {allowed:.3g})")
        _, values = ref.rounding(k, xf)
        f.detail += _range_note(values, eps, big, tiny, r[1])
        if not known(f, values):
            out.append(f)
    return out


def _rounded(hi: float, lo: float, dtype: np.dtype):
    with np.errstate(over="ignore"):
        return dtype.type(hi)


def out_of_range(values, big: float, tiny: float, result) -> bool:
    """Whether an intermediate of the exact computation overflows the working format, or underflows
    it while the result is normal (the result is then lost in that intermediate)."""
    for v in values:
        if v is None or v == 0 or mpmath.isinf(v):
            continue
        if abs(v) > big:
            return True
    return False


def underflows(values, tiny: float) -> bool:
    """Whether a nonzero intermediate is below the working format's smallest normal number."""
    return any(v is not None and v != 0 and not mpmath.isinf(v) and abs(v) < tiny for v in values)


def _range_note(values, eps, big, tiny, result) -> str:
    note = " [an intermediate overflows the working format]" if out_of_range(values, big, tiny, result) else ""
    if underflows(values, tiny):
        note += " [an intermediate underflows the working format]"
    return note


def judge_case(ref: Reference, dtype, x: np.ndarray, outcomes: dict[str, Outcome], known) -> list[Finding]:
    """Errors: every target raises the same documented error, or none raises; values: each
    target against the reference, and nan-ness the same across targets where the reference is silent."""
    from activation_lab import ActivationLabError

    dtype = np.dtype(dtype)
    findings: list[Finding] = []
    errors = {t: o.error for t, o in outcomes.items() if o.error is not None}
    if errors:
        kinds = {type(e) for e in errors.values()}
        documented = all(isinstance(e, ActivationLabError) for e in errors.values())
        if not (documented and len(kinds) == 1 and len(errors) == len(outcomes)):
            for t, e in errors.items():
                f = Finding("error", t, dtype.name, None, None, f"{type(e).__name__}: {str(e)[:200]}",
                            "a value" if len(errors) < len(outcomes) else "one documented error")
                if not known(f, []):
                    findings.append(f)
    for t, o in outcomes.items():
        if o.values is None:
            continue
        for k, y in o.values.items():
            findings += judge_values(ref, t, dtype, k, x, y, known)
    # where the reference decides nothing (no limit, an undecided branch), the targets agree on nan-ness
    for k in {k for o in outcomes.values() if o.values for k in o.values}:
        for i, xv in enumerate(x):
            r = ref.at(k, float(xv)) if not np.isnan(xv) else ("ok",)
            if r[0] not in ("none", "fragile"):
                continue
            nans = {t: bool(np.isnan(o.values[k][i])) for t, o in outcomes.items()
                    if o.values and t != "mpmath"}
            if len(set(nans.values())) > 1:
                got = {t: o.values[k][i] for t, o in outcomes.items() if o.values and t != "mpmath"}
                f = Finding("nan-ness", "/".join(t for t, v in nans.items() if v), dtype.name, k, float(xv),
                            got, "the same on every target")
                if not known(f, []):
                    findings.append(f)
    return findings


# --------------------------------------------------------------------------------------------
# the C target, many kernels in one shared library

def c_library(kernels: list, directory) -> list:
    """One shared library holding every kernel (one translation unit each, compiled by one gcc
    call), as functions ``f(x) -> [y0, y1, …]``; a kernel whose source does not compile gives
    None in its place (the build is retried without it)."""
    import ctypes
    import subprocess
    from pathlib import Path

    from ._gcc import C_TYPES, _params

    directory = Path(directory)
    files, sigs = [], []
    for i, kernel in enumerate(kernels):
        ins, outs = _params(kernel.in_params), _params(kernel.out_params)
        args = [f"const {C_TYPES[t]}* in_{n}" for t, n in ins] + [f"{C_TYPES[t]}* out_{n}" for t, n in outs]
        source = "\n".join([
            kernel.preamble,
            f"void al_case_{i}(long n, {', '.join(args)}) {{",
            "  for (long i = 0; i < n; ++i) {",
            *[f"    const {C_TYPES[t]} {n} = in_{n}[i];" for t, n in ins],
            *[f"    {C_TYPES[t]} {n};" for t, n in outs],
            kernel.operation,
            *[f"    out_{n}[i] = {n};" for _, n in outs],
            "  }",
            "}",
        ])
        path = directory / f"case_{i}.c"
        path.write_text(source)
        files.append(path)
        sigs.append((ins, outs))
    flags = ["gcc", "-std=c11", "-O1", "-ffp-contract=off", "-fno-fast-math", "-fPIC", "-shared"]
    good = list(range(len(files)))
    so = directory / "cases.so"
    while good:
        done = subprocess.run([*flags, "-o", str(so), *map(str, (files[i] for i in good)), "-lm"],
                              capture_output=True, text=True)
        if done.returncode == 0:
            break
        bad = {i for i in good if f"case_{i}.c" in done.stderr}
        if not bad:
            raise RuntimeError(done.stderr[-2000:])
        good = [i for i in good if i not in bad]
    lib = ctypes.CDLL(str(so)) if good else None
    fns: list = [None] * len(kernels)
    for i in good:
        kernel, fn = kernels[i], getattr(lib, f"al_case_{i}")

        def run(x, kernel=kernel, fn=fn):
            x = np.ascontiguousarray(x, dtype=kernel.in_dtype)
            ys = [np.empty(x.shape, dtype=kernel.out_dtype) for _ in kernel.orders]
            fn(ctypes.c_long(x.size), x.ctypes.data_as(ctypes.c_void_p),
               *[y.ctypes.data_as(ctypes.c_void_p) for y in ys])
            return ys
        fns[i] = run
    return fns


# --------------------------------------------------------------------------------------------
# shrinking a failing formula by hand (the compiled target is checked in batches, outside
# hypothesis's own shrinking)

def simpler_formulas(text: str):
    """Formulas one step simpler than ``text``: a subexpression replaced by one of its operands, x or 1."""
    import ast

    tree = ast.parse(text, mode="eval")
    nodes = [n for n in ast.walk(tree.body) if isinstance(n, (ast.BinOp, ast.UnaryOp, ast.Call, ast.Constant, ast.Name))]
    seen = set()
    for node in nodes:
        subs = []
        if isinstance(node, ast.BinOp):
            subs = [node.left, node.right]
        elif isinstance(node, ast.UnaryOp):
            subs = [node.operand]
        elif isinstance(node, ast.Call):
            subs = [a for a in node.args if not isinstance(a, (ast.Compare, ast.BoolOp))]
        subs += [ast.Name("x"), ast.Constant(1)]
        for s in subs:
            new = _replace(tree, node, s)
            if new != text and new not in seen:
                seen.add(new)
                yield new


def _replace(tree, old, new) -> str:
    import ast
    import copy

    class R(ast.NodeTransformer):
        def generic_visit(self, node):
            if node is old:
                return copy.deepcopy(new)
            return super().generic_visit(node)

    t = copy.deepcopy(tree)
    # map by position in the walk: deep copies keep the order
    olds = list(ast.walk(tree))
    idx = olds.index(old)
    target = list(ast.walk(t))[idx]

    class S(ast.NodeTransformer):
        def visit(self, node):
            if node is target:
                return copy.deepcopy(new)
            return super().visit(node)

    t = S().visit(t)
    return ast.unparse(ast.fix_missing_locations(t))


def shrink(case: Case, fails, budget: int = 150) -> Case:
    """Greedy: the simplest formula (and fewest inputs, one order) for which ``fails(case)`` holds."""
    import dataclasses

    tries = 0
    improved = True
    while improved and tries < budget:
        improved = False
        for text in sorted(simpler_formulas(case.formula), key=len):
            tries += 1
            params = case.params if any(t == "a" for t in _tokens(text)) else {}
            cand = dataclasses.replace(case, formula=text, params=params)
            if fails(cand):
                case, improved = cand, True
                break
            if tries >= budget:
                break
    for orders in ((0,), (1,), (2,)):
        if set(orders) <= set(case.orders) and case.orders != orders:
            cand = dataclasses.replace(case, orders=orders)
            if fails(cand):
                case = cand
                break
    for i in range(len(case.xs)):
        cand = dataclasses.replace(case, xs=case.xs[:i] + case.xs[i + 1:] or (0.5,))
        if fails(cand):
            return shrink(cand, fails, budget - tries) if budget - tries > 0 else cand
    return case
