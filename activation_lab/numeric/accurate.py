"""The accurate NumPy path: f⁽ⁿ⁾ on arrays, computed in a wider dtype and rounded once.

Pipeline for each order n: the stable derivative (:mod:`activation_lab.rewrite`) is
compiled to NumPy (:mod:`activation_lab.codegen`) and run in float64 on a copy of the
input; float16, bfloat16 and float32 inputs are computed in float64 and rounded once (one
rounding from float64 straight to the format: no double rounding through float32), which keeps
their results within about half an ULP, subnormal results included.  Elements where the
fast code returns nan for a finite input are recomputed with the guarded code (inf·0 = 0);
x = ±inf takes the limit of f⁽ⁿ⁾, found once per activation with mpmath; nan stays nan.
Floating-point warnings of intermediate overflow are expected and silenced: the result is
what counts, and it is checked against mpmath by the tests.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from ..errors import ActivationLabError, UnsupportedDtypeError
from ..requests import is_float_dtype
from .limits import limits, zero_limit_sides

__all__ = ["evaluate_order", "signed_zeros", "term_scale", "wider_dtype", "as_array", "WORK_DTYPE"]

def as_array(x: Any) -> tuple[np.ndarray, bool]:
    if isinstance(x, np.ndarray):
        return x, False
    if isinstance(x, (list, tuple)) or np.isscalar(x) or isinstance(x, np.generic):
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as err:
            raise ActivationLabError(f"cannot evaluate on {x!r}: {err}; "
                                     "pass numbers, a list of numbers or an array") from None
        if arr.dtype.kind == "O" and _all_ints(x):
            # Python ints beyond int64 (2**70): numbers all the same, as float64 like other ints
            try:
                arr = np.asarray(x, dtype=np.float64)
            except OverflowError:
                shown = repr(x) if len(repr(x)) <= 60 else repr(x)[:57] + "..."
                raise ActivationLabError(f"cannot evaluate on {shown}: an integer beyond float64's range "
                                         "(about 1.8e308)") from None
        if arr.dtype.kind == "O" or (arr.dtype.kind in "USV" and not is_float_dtype(arr.dtype)):
            raise UnsupportedDtypeError(arr.dtype)
        return arr, arr.ndim == 0 and not isinstance(x, (list, tuple))
    raise ActivationLabError(
        f"cannot evaluate on an object of type {type(x).__name__}; pass a number, a list or a NumPy array "
        "(other array libraries: see activation_lab.backends)")


def _all_ints(x: Any) -> bool:
    if isinstance(x, (list, tuple)):
        return all(_all_ints(v) for v in x)
    return isinstance(x, int) and not isinstance(x, bool)


#: float64 inputs are computed in x87 extended precision (64-bit significand) where the
#: platform has it: 11 spare bits absorb the rounding of intermediate sums (TeLU' cancels by
#: a factor of ~4 near x = -1.8) and of subnormal results.  float16, bfloat16 and float32 use
#: float64 (ml_dtypes rounds float64 to bfloat16 directly, correctly).
WORK_DTYPE = {
    "float16": "float64",
    "bfloat16": "float64",
    "float32": "float64",
    "float64": "longdouble" if np.finfo(np.longdouble).nmant >= 63 else "float64",
}


@functools.lru_cache(maxsize=1024)
def _kernels(expr: sp.Expr, n: int, work: str):
    from .codegen import compile_numpy
    from .rewrite import stable_derivative

    stable = stable_derivative(expr, n)
    return compile_numpy(stable, work=work), compile_numpy(stable, guarded=True, work=work)


@functools.lru_cache(maxsize=256)
def term_scale(expr: sp.Expr, n: int) -> Callable[[np.ndarray], np.ndarray]:
    """Σ|terms| of the stable f⁽ⁿ⁾, piece by piece, as NumPy code on float64: the size of what
    cancels in the sum (a result far smaller than it has lost that many bits)."""
    from .codegen import compile_numpy
    from .rewrite import stable_derivative

    def abs_terms(e: sp.Expr) -> sp.Expr:
        if isinstance(e, sp.Piecewise):
            return sp.Piecewise(*[(abs_terms(v), c) for v, c in e.args])
        return sp.Add(*[sp.Abs(t) for t in sp.Add.make_args(e)])

    fn = compile_numpy(abs_terms(stable_derivative(expr, n)))
    return lambda x: np.broadcast_to(fn(x), x.shape)


def signed_zeros(expr: sp.Expr, n: int, x: np.ndarray, y: np.ndarray) -> None:
    """Give underflowed results in the tails the sign of the limit they approach, in place.

    A sum whose terms all underflow loses the sign: TeLU′(−800) = tanh(0) + (−0) = +0.0,
    while the exact value is a tiny negative number that rounds to −0.0.  Where |x| ≥ 1, the
    result is ±0 and f⁽ⁿ⁾ tends to 0 on that side, the result takes the sign of that limit.
    """
    sides = zero_limit_sides(expr, n)
    if not sides:
        return
    with np.errstate(invalid="ignore"):
        zero = (y == 0) & (np.abs(x) >= 1)
    if not zero.any():
        return
    for sign, limit in sides:
        y[zero & ((x < 0) if sign < 0 else (x > 0))] = limit


def evaluate_order(expr: sp.Expr, n: int, x64: np.ndarray, work: str = "float64",
                   wider: str | None = None) -> np.ndarray:
    """f⁽ⁿ⁾ on the float64 array ``x64``, computed in ``work``, returned as a new array in ``work``.

    Elements where the fast program gives nan for a finite x are recomputed with the guarded
    program (inf·0 = 0).  With ``wider`` (long double, for float16/32 results computed in
    double), every element whose result is not finite for a finite x is first recomputed in
    that dtype: an intermediate beyond double's range (e^{x²}·erfc(x) at x = 27) is no reason
    for inf, or for the guarded 0.
    """
    fast, guarded = _kernels(expr, n, work)
    x64 = x64.astype(work, copy=False)
    with np.errstate(all="ignore"):
        y = np.array(np.broadcast_to(fast(x64), x64.shape), dtype=work)
        finite = np.isfinite(x64)
        bad = finite & (~np.isfinite(y) if wider and wider != work else np.isnan(y))
        if bad.any():
            if wider and wider != work:
                y[bad] = evaluate_order(expr, n, x64[bad].astype(np.float64), wider)
            else:
                y[bad] = np.broadcast_to(guarded(x64[bad]), (int(bad.sum()),))
        if not finite.all():
            lo, hi = limits(expr, n)
            y[x64 == -np.inf] = lo
            y[x64 == np.inf] = hi
            y[np.isnan(x64)] = np.nan
    return y


def wider_dtype(work: str) -> str | None:
    """Where results computed in ``work`` that are not finite are computed again: long double
    beside double, where the platform has a wider one."""
    return WORK_DTYPE["float64"] if work == "float64" and WORK_DTYPE["float64"] != "float64" else None
