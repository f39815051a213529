"""How accurate is an implementation of f⁽ⁿ⁾? ULP errors against mpmath, and where gradients underflow.

:func:`accuracy` measures an implementation (the project's own evaluation, or any callable:
a user's NumPy, PyTorch or JAX function) on a point set against the exact value of
g = f⁽ⁿ⁾ computed with mpmath, in units in the last place of the dtype (see
:mod:`activation_lab.analysis.ulp`).  The target is

    err(x) ≤ T · max(1, κ(x)),   κ(x) = |x·g′(x) / g(x)|,   T = 4 for n = 0, 1 and 16 for n ≥ 2,

κ being the condition number of g: a function that amplifies a half-ULP change of its
input by κ cannot be asked for fewer than about κ/2 ULP from an implementation that
rounds any intermediate.  κ is computed with mpmath only at points over the plain T.

:func:`gradient_underflow` finds, per activation and format, the most negative x where
f′(x) is still nonzero in float32 or float16: from the exact model (mpmath, rounded to the
format) and from the project's evaluation (the paper's float32 derivative scan).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ActivationLabError, UnsupportedDtypeError
from ..numeric.evaluate import evaluate
from ..numeric.mpmath_target import mpmath_of
from ..requests import finfo, float_dtype, is_float_dtype
from ..symbolic.activation import resolve

if TYPE_CHECKING:
    from ..symbolic.activation import Activation

__all__ = ["AccuracyReport", "Case", "GradientUnderflow", "Mismatch", "UnderflowRow", "accuracy",
           "condition_numbers", "gradient_underflow", "implementation_name", "order_label", "run_implementation",
           "tolerance"]

#: precision (bits) of the mpmath references; :func:`reference` confirms each at twice this
REFERENCE_PREC = 128
#: how many worst inputs and failures a report keeps
KEEP = 5
FORMAT_NAMES = ("float16", "bfloat16", "float32", "float64")


def tolerance(n: int) -> float:
    """The plain target T in ULP: 4 for f and f′, 16 for f″ and higher derivatives."""
    return 4.0 if n <= 1 else 16.0


def order_label(n: int) -> str:
    """f, f', f'' and f^(n) beyond."""
    return "f" + "'" * n if n <= 2 else f"f^({n})"


@dataclass(frozen=True)
class Case:
    """One measured input: x, the implementation's result, the exact value (nearest float64), the error.

    ``kappa`` is κ(x) where it was computed (errors over the plain target), else nan;
    ``allowed`` is the target T·max(1, κ) that applies.
    """

    x: float
    got: float
    exact: float
    ulp: float
    kappa: float = math.nan
    allowed: float = math.nan

    def __str__(self) -> str:
        extra = "" if math.isnan(self.kappa) else f", κ={self.kappa:.3g}, allowed {self.allowed:.3g}"
        return f"x={self.x!r} => got {self.got!r}, exact {self.exact!r} ({self.ulp:.3g} ULP{extra})"


@dataclass(frozen=True)
class Mismatch:
    """A special value gone wrong: nan, inf, the limit at ±inf, or the sign of a zero."""

    x: float
    got: float
    expected: float
    problem: str

    def __str__(self) -> str:
        return f"x={self.x!r} => got {self.got!r}, expected {self.expected!r}: {self.problem}"


@dataclass(frozen=True)
class AccuracyReport:
    """ULP errors of one implementation of f⁽ⁿ⁾ in one dtype over a point set.

    ``count`` counts the finite inputs, over which the ULP statistics are taken.  Special
    values are judged apart: ``special_mismatches`` (nan for nan, the limit at ±inf, no nan
    or inf for a finite exact value) and ``signed_zero_mismatches`` (a zero result whose sign
    differs from the exact value it rounds from).  ``failures`` holds the worst of the
    ``n_failures`` inputs over the target T·max(1, κ(x)).  Each tuple keeps at most
    :data:`KEEP` entries, worst or first; the ``n_`` fields count them all.
    """

    name: str
    n: int
    dtype: str
    implementation: str
    count: int
    max_ulp: float
    p99_ulp: float
    within_half: float
    within_1: float
    within_2: float
    worst: tuple[Case, ...]
    special_mismatches: tuple[Mismatch, ...]
    n_special_mismatches: int
    signed_zero_mismatches: tuple[Mismatch, ...]
    n_signed_zero_mismatches: int
    tolerance: float
    failures: tuple[Case, ...]
    n_failures: int

    @property
    def passed(self) -> bool:
        """Every finite input within T·max(1, κ) ULP and no nan, inf or limit wrong.

        Zeros of the wrong sign are reported apart (their ULP error is 0) and do not decide it.
        """
        return self.n_failures == 0 and self.n_special_mismatches == 0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["passed"] = self.passed
        return out

    def __str__(self) -> str:
        lines = [
            f"{self.name} {order_label(self.n)} {self.dtype} [{self.implementation}]: {self.count} finite points",
            f"  max {self.max_ulp:.3g} ULP, p99 {self.p99_ulp:.3g} ULP; within 0.5 ULP {self.within_half:.2%}, "
            f"1 ULP {self.within_1:.2%}, 2 ULP {self.within_2:.2%}",
            f"  target ≤ {self.tolerance:g}·max(1, κ) ULP: "
            + ("met" if self.passed
               else f"NOT met ({self.n_failures} points, {self.n_special_mismatches} special values)"),
        ]
        lines += [f"  worst: {c}" for c in self.worst]
        lines += [f"  failure: {c}" for c in self.failures]
        lines += [f"  special: {m}" for m in self.special_mismatches]
        lines += [f"  signed zero: {m}" for m in self.signed_zero_mismatches]
        for label, shown, total in (("failures", self.failures, self.n_failures),
                                    ("special values", self.special_mismatches, self.n_special_mismatches),
                                    ("signed zeros", self.signed_zero_mismatches, self.n_signed_zero_mismatches)):
            if total > len(shown):
                lines.append(f"  … {total - len(shown)} more {label}")
        return "\n".join(lines)


def _check_dtype(dtype: Any) -> np.dtype:
    dt = float_dtype(dtype)
    if dt.name not in FORMAT_NAMES:
        raise UnsupportedDtypeError(dt)
    return dt


def implementation_name(implementation: Callable | None) -> str:
    """How reports name an implementation: "activation_lab" for the project's evaluation."""
    if implementation is None:
        return "activation_lab"
    return getattr(implementation, "__qualname__", None) or type(implementation).__name__


def run_implementation(act: Any, n: int, xs: np.ndarray, implementation: Callable | None) -> np.ndarray:
    """f⁽ⁿ⁾(xs) from the implementation (default: the project's evaluation), as xs's dtype.

    The project's evaluation is measured as a large NumPy array gets it, whatever the number
    of points: the fast path (:func:`activation_lab.numeric.fused.evaluate_fused`: the native
    kernel for float32 where one is built, else bit for bit the accurate path).
    The implementation gets its own copy of xs; floating-point warnings are silenced (the
    results are what is measured; a signalling-nan input pattern alone raises "invalid").
    """
    if implementation is None:
        from ..numeric.fused import evaluate_fused

        with np.errstate(all="ignore"):
            return evaluate_fused(act, xs, n)
    name = implementation_name(implementation)
    try:
        with np.errstate(all="ignore"):
            out = implementation(xs.copy())
        out = np.asarray(out)
    except Exception as err:
        raise ActivationLabError(
            f"implementation {name} failed on a {xs.dtype} NumPy array of {xs.size} points: {err}; it must take "
            "a NumPy array and return an array-like of the same shape (for PyTorch: "
            "lambda x: f(torch.from_numpy(x)).cpu().numpy())") from err
    if out.shape != xs.shape or not (out.dtype.kind in "fiu" or is_float_dtype(out.dtype)):
        raise ActivationLabError(
            f"implementation {name} returned {out.dtype} of shape {out.shape} for {xs.dtype} input of shape "
            f"{xs.shape}; it must return floating values of the input's shape")
    with np.errstate(over="ignore"):
        return out.astype(xs.dtype)


def _exact(fn: Callable, xs: np.ndarray) -> list:
    return [real_reference(fn, float(x)) for x in xs]


def real_reference(fn: Callable, x: float) -> Any:
    """The mpmath reference of f⁽ⁿ⁾ at x; a clear error where it is not real (log(x) at x < 0),
    since accuracy is measured for functions real on the whole line."""
    import mpmath

    from ..numeric.mpmath_target import reference

    try:
        value = reference(fn, x, prec=REFERENCE_PREC)
    except ZeroDivisionError:   # 1/x at x = 0: undefined there
        value = mpmath.nan
    # not real (mpmath's complex value, or the targets' nan for log, sqrt and real powers of
    # negative numbers) at a finite x
    if isinstance(value, mpmath.mpc) or (math.isfinite(x) and mpmath.isnan(value)):
        raise ActivationLabError(f"the function is not real at x = {x!r} (value {mpmath.nstr(value, 6)}); "
                                 "accuracy is measured for activations real on the whole line: restrict the "
                                 "formula, e.g. where(x > 0, log(x), 0) instead of log(x)")
    return value


def condition_numbers(act: Any, n: int, xs: Sequence[float]) -> np.ndarray:
    """κ(x) = |x·g′(x)/g(x)| for g = f⁽ⁿ⁾ with mpmath (inf where g(x) = 0 ≠ x·g′(x), 1 where both vanish)."""
    import mpmath

    g, dg = mpmath_of(act.expr, n), mpmath_of(act.expr, n + 1)
    out = []
    with mpmath.workprec(REFERENCE_PREC):
        for v in xs:
            x = mpmath.mpf(float(v))
            gv, slope = g(x), x * dg(x)
            out.append((math.inf if slope != 0 else 1.0) if gv == 0 else float(abs(slope / gv)))
    return np.array(out, dtype=np.float64)


def _cases(idx: np.ndarray, xs, got, exact, err, kappa=None, allowed=None) -> tuple[Case, ...]:
    return tuple(Case(float(xs[i]), float(got[i]), float(exact[i]), float(err[i]),
                      math.nan if kappa is None else float(kappa[k]),
                      math.nan if allowed is None else float(allowed[k])) for k, i in enumerate(idx))


def _worst_first(err: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return idx[np.lexsort((idx, -err[idx]))]   # largest error first, ties by position


def _zero_sign_mismatches(fn, xs, got, exact, err, dtype) -> list[Mismatch]:
    """Zeros whose sign disagrees with the exact value they round from.

    A nonzero exact value that rounds to zero fixes the sign; at x = ±0 with an exact zero,
    the sign of g on that side (at ± the smallest subnormal) does; an exact zero elsewhere
    leaves either sign right.
    """
    import mpmath

    out = []
    tiny = float(finfo(dtype).smallest_subnormal)
    for i in np.flatnonzero((got == 0) & (err <= 0.5)):
        want = exact[i]
        if want == 0 and xs[i] == 0:
            with mpmath.workprec(REFERENCE_PREC):
                want = fn(mpmath.mpf(math.copysign(tiny, float(xs[i]))))
        if want != 0 and bool(np.signbit(got[i])) != bool(want < 0):
            side = "negative" if want < 0 else "positive"
            out.append(Mismatch(float(xs[i]), float(got[i]), math.copysign(0.0, float(want)),
                                f"zero of the wrong sign (the exact value is {side})"))
    return out


def _special_input_mismatches(act, n: int, xs: np.ndarray, got: np.ndarray,
                              dtype: np.dtype) -> tuple[list[Mismatch], list[Mismatch]]:
    """nan must give nan; ±inf must give the limit of f⁽ⁿ⁾ (±inf, the rounded value, or a zero
    whose sign is reported apart, as the second list)."""
    import mpmath

    from ..numeric.limits import limits
    from .ulp import ulp_error

    out, zeros = [], []
    for i in np.flatnonzero(~np.isfinite(xs)):
        x, y = float(xs[i]), float(got[i])
        if math.isnan(x):
            if not math.isnan(y):
                out.append(Mismatch(x, y, math.nan, "nan input must give nan"))
            continue
        want = limits(act.expr, n)[x > 0]
        if math.isnan(want):
            continue   # no limit: any answer is defensible
        if want == 0:
            with mpmath.workprec(REFERENCE_PREC):
                far = mpmath_of(act.expr, n)(mpmath.mpf(math.copysign(1e300, x)))
            expected = math.copysign(0.0, float(far))
            if y != 0:
                out.append(Mismatch(x, y, expected, "wrong limit at " + ("+inf" if x > 0 else "-inf")))
            elif far != 0 and bool(np.signbit(y)) != bool(far < 0):
                zeros.append(Mismatch(x, y, expected, "zero of the wrong sign (the limit is approached from "
                                      + ("below)" if far < 0 else "above)")))
        elif float(ulp_error(np.array([y], dtype=dtype), want, 0.0, dtype)[0]) > tolerance(n):
            out.append(Mismatch(x, y, want, "wrong limit at " + ("+inf" if x > 0 else "-inf")))
    return out, zeros


def accuracy(act: Any, n: int = 0, dtype: Any = "float32", points: Any = None,
             implementation: Callable | None = None) -> AccuracyReport:
    """ULP errors of f⁽ⁿ⁾ in ``dtype`` against mpmath, with the κ-aware verdict.

    The error of each result is measured in ULPs of ``dtype`` against mpmath at 200 bits
    rounded to ``dtype``; κ(x) = |x·g′(x)/g(x)| is the condition number of g = f⁽ⁿ⁾.

    Parameters
    ----------
    act : Activation or str
        An :class:`~activation_lab.Activation`, a catalogue name or a formula.
    n : int, optional
        Derivative order (0: f itself).
    dtype : str, optional
        "float16", "bfloat16", "float32" or "float64".
    points : array_like, optional
        Inputs (converted to ``dtype``); default :func:`~activation_lab.analysis.sweep.default_points`.
    implementation : callable, optional
        A callable taking a NumPy array of ``dtype`` and returning f⁽ⁿ⁾ of it (any library's
        function, wrapped to NumPy); default the project's own evaluation.

    Returns
    -------
    AccuracyReport
        Max and 99th-percentile ULP error, the shares within 0.5, 1 and 2 ULP, the worst inputs,
        special-value mismatches and the failures of the target err ≤ T·max(1, κ(x))
        (T = 4 for n ≤ 1, 16 beyond).

    Raises
    ------
    UnknownActivationError
        An unknown name (with close matches).
    UnsupportedDtypeError
        A dtype other than the four above.
    ActivationLabError
        A bad order or points, or a function that is not real on the whole line (log(x)).
    """
    from ..requests import check_order
    from .sweep import default_points
    from .ulp import split_exact, ulp_error

    act = resolve(act)
    check_order(n)
    dt = _check_dtype(dtype)
    if points is None:
        xs = default_points(dt)
    else:
        try:
            xs = np.array(points, dtype=np.float64).astype(dt).ravel()
        except (TypeError, ValueError) as err:
            raise ActivationLabError(f"points must be numbers convertible to {dt}, got {points!r:.80}: {err}") from None
        if xs.size == 0:
            raise ActivationLabError("points is empty; give at least one input, or None for the default sweep")
    got = run_implementation(act, n, xs, implementation)

    finite = np.flatnonzero(np.isfinite(xs))
    fx, fgot = xs[finite], got[finite]
    fn = mpmath_of(act.expr, n)
    exact_mp = _exact(fn, fx)
    hi, lo = split_exact(exact_mp)
    err = ulp_error(fgot, hi, lo, dt)
    exact = hi   # the nearest float64, for display

    tol = tolerance(n)
    over = np.flatnonzero(err > tol)
    failures: tuple[Case, ...] = ()
    n_failures = 0
    if over.size:
        kappa = condition_numbers(act, n, fx[over])
        allowed = tol * np.maximum(1.0, kappa)
        bad = err[over] > allowed
        n_failures = int(bad.sum())
        order = np.argsort(-err[over][bad], kind="stable")[:KEEP]
        failures = _cases(over[bad][order], fx, fgot, exact, err, kappa[bad][order], allowed[bad][order])

    specials, zeros = _special_input_mismatches(act, n, xs, got, dt)
    finite_exact = np.isfinite(hi) & (np.abs(hi) <= float(finfo(dt).max))
    for i in np.flatnonzero(finite_exact & ~np.isfinite(fgot)):
        specials.append(Mismatch(float(fx[i]), float(fgot[i]), float(exact[i]), "nan or inf for a finite exact value"))
    zeros += _zero_sign_mismatches(fn, fx, fgot, exact_mp, err, dt)

    count = int(finite.size)
    share = (lambda t: float(np.count_nonzero(err <= t)) / count) if count else (lambda t: math.nan)
    return AccuracyReport(
        name=act.name, n=n, dtype=dt.name, implementation=implementation_name(implementation), count=count,
        max_ulp=float(err.max()) if count else math.nan,
        p99_ulp=float(np.quantile(err, 0.99, method="higher")) if count else math.nan,
        within_half=share(0.5), within_1=share(1.0), within_2=share(2.0),
        worst=_cases(_worst_first(err, np.arange(count))[:KEEP], fx, fgot, exact, err),
        special_mismatches=tuple(specials[:KEEP]), n_special_mismatches=len(specials),
        signed_zero_mismatches=tuple(zeros[:KEEP]), n_signed_zero_mismatches=len(zeros), tolerance=tol,
        failures=failures, n_failures=n_failures,
    )


# --- gradient underflow -------------------------------------------------------------------------

@dataclass(frozen=True)
class UnderflowRow:
    """Most negative x where f⁽ⁿ⁾(x) is nonzero in ``dtype``: exact model and project evaluation.

    −inf means nonzero all the way (a nonzero limit at −inf); 0.0 means zero for every x < 0.
    """

    name: str
    dtype: str
    exact: float
    evaluated: float

    @property
    def agree(self) -> bool:
        return self.exact == self.evaluated


@dataclass(frozen=True)
class GradientUnderflow:
    """The gradient-underflow scan: one row per activation and format."""

    n: int
    rows: tuple[UnderflowRow, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "rows": [{**asdict(r), "agree": r.agree} for r in self.rows]}

    def __str__(self) -> str:
        label = order_label(self.n)
        head = ("activation", "dtype", f"exact: last x with {label} != 0", "evaluated", "agree")
        body = [(r.name, r.dtype, repr(r.exact), repr(r.evaluated), "yes" if r.agree else "NO") for r in self.rows]
        widths = [max(len(c) for c in col) for col in zip(head, *body, strict=True)]
        lines = ("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in (head, *body))
        return "\n".join(lines)


def _negative_floats(dtype: np.dtype, ordinals: np.ndarray) -> np.ndarray:
    """−(the float whose magnitude has bit pattern m) for each ordinal m ≥ 0: larger m, more negative."""
    uint = {2: np.uint16, 4: np.uint32}[dtype.itemsize]
    sign = uint(1 << (8 * dtype.itemsize - 1))
    return (ordinals.astype(uint) | sign).view(dtype)


def _leftmost_nonzero(nonzero: Callable[[np.ndarray], np.ndarray], dtype: np.dtype, step: int, exact: bool) -> float:
    """Most negative x of ``dtype`` with nonzero(x), scanning magnitude ordinals on a grid of ``step``.

    Between the last nonzero grid point and the next (zero) one, the evaluation is scanned
    float by float and the exact model is bisected (it crosses the underflow threshold once).
    """
    top = int(np.array(finfo(dtype).max, dtype=dtype).view({2: np.uint16, 4: np.uint32}[dtype.itemsize]))
    grid = np.unique(np.append(np.arange(0, top, step, dtype=np.int64), top))
    flags = nonzero(_negative_floats(dtype, grid))
    if flags[-1]:
        if nonzero(np.array([-np.inf], dtype=dtype))[0]:
            return -math.inf
        return float(_negative_floats(dtype, grid[-1:])[0])
    hits = np.flatnonzero(flags)
    if hits.size == 0:
        return 0.0
    lo, hi = int(grid[hits[-1]]), int(grid[hits[-1] + 1])    # nonzero at lo, zero at hi
    if not exact:
        inside = np.arange(lo, hi, dtype=np.int64)
        return float(_negative_floats(dtype, inside[np.flatnonzero(nonzero(_negative_floats(dtype, inside)))[-1:]])[0])
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if nonzero(_negative_floats(dtype, np.array([mid])))[0]:
            lo = mid
        else:
            hi = mid
    return float(_negative_floats(dtype, np.array([lo]))[0])


def gradient_underflow(names: Sequence[Any] | None = None, dtypes: Sequence[str] = ("float32", "float16"),
                       n: int = 1) -> GradientUnderflow:
    """For each activation and format, the most negative x where f⁽ⁿ⁾(x) is nonzero in that format.

    Exact: |f⁽ⁿ⁾(x)| > half the smallest subnormal (so it does not round to 0), with mpmath,
    on a grid of four magnitudes per octave, then bisection at the transition.  Evaluated:
    ``Activation.evaluate`` on every 4096th float32 (every float16), then every float in
    the last step.  Either misses a nonzero island narrower than its grid step.
    """
    from ..requests import check_order
    from ..symbolic.activation import names as all_names

    check_order(n)
    rows = []
    for item in (all_names() if names is None else names):
        act = resolve(item)
        for dtype in dtypes:
            dt = _check_dtype(dtype)
            if dt.itemsize not in (2, 4):
                raise ActivationLabError(f"the gradient-underflow scan covers float32, float16 and bfloat16, "
                                         f"not {dt.name}")
            rows.append(_underflow_row(act, n, dt))
    return GradientUnderflow(n, tuple(rows))


def _underflow_row(act: Activation, n: int, dt: np.dtype) -> UnderflowRow:
    """Leftmost x where f⁽ⁿ⁾ is exactly nonzero in dtype dt, and where the evaluated value is."""
    import mpmath

    from ..numeric.limits import limits
    from ..numeric.mpmath_target import reference

    fn = mpmath_of(act.expr, n)
    info = finfo(dt)
    half_tiny = mpmath.mpf(float(info.smallest_subnormal)) / 2

    def exact_or_limit(xs: np.ndarray) -> np.ndarray:
        if xs.size == 1 and np.isneginf(xs[0]):
            return np.array([abs(limits(act.expr, n)[0]) > float(half_tiny)])
        return np.array([bool(abs(reference(fn, float(x), prec=64)) > half_tiny) for x in xs])

    def evaluated_nonzero(xs: np.ndarray) -> np.ndarray:
        # nan (no limit: snake's f' at -inf) is not "still nonzero", as in the exact model
        values = evaluate(act, xs, n)
        return (values != 0) & ~np.isnan(values)

    mant = info.nmant     # ordinals per octave: 2**mant; four grid points per octave
    exact_x = _leftmost_nonzero(exact_or_limit, dt, 2 ** (mant - 2), exact=True)
    eval_x = _leftmost_nonzero(evaluated_nonzero, dt, 4096 if dt.itemsize == 4 else 1, exact=False)
    return UnderflowRow(act.name, dt.name, exact_x, eval_x)
