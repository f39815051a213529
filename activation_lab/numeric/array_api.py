"""Backend-neutral evaluation of f⁽ⁿ⁾, written against the Python array API standard.

Any array with ``__array_namespace__`` (array-api-strict, PyTorch via array-api-compat, JAX,
Dask, …) is evaluated with its own namespace ``xp``; nothing is copied to NumPy.  The code
is the NumPy target's program and printer (:mod:`activation_lab.numeric.codegen`), run with
the array-API column of the table of primitives (:mod:`activation_lab.numeric.primitives`),
so every operation is the NumPy float64 path's.  What the standard lacks is built here:

* erf and erfc, which the standard lacks: erfc(a) = e^{−a²}·erfcx(a) for a ≥ 0, with
  erfcx from Chebyshev expansions fitted once with mpmath on [0, 16] and its asymptotic
  series beyond, and e^{−a²} from an exact split of a² (no a²·ε error at large a);
  erf(u) from its Taylor series for |u| < 1/2;
* the same nan guard (inf·0 = 0), limits at ±inf and float64 computation as the NumPy path.

Floating-point warnings that an array library may raise for intermediate overflow are
silenced, as on the NumPy path.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from .xp_special import where

__all__ = ["evaluate_array_api", "array_api_source"]

@functools.lru_cache(maxsize=1024)
def array_api_source(expr: sp.Expr, guarded: bool = False) -> str:
    """Python source of ``def _generated(x): ...`` computing the stable expression ``expr``: the
    NumPy target's program and printer, run with the array-API column of the table of primitives."""
    from .codegen import print_python
    from .program import straight_line

    try:
        source, constants = print_python(straight_line((expr,), guarded))
    except NotImplementedError as err:
        from .c_target import KernelSourceError

        raise KernelSourceError(f"{expr} needs a function outside the array API standard ({err}); "
                                "evaluate it on NumPy arrays") from None
    # repr(float) of inf or nan is not Python source (1e308 + 1e308 folds to inf): float('inf')
    values = ", ".join(repr(v) if math.isfinite(v) else f"float({str(v)!r})" for v in map(float, constants))
    return f"_K = ({values}{',' if len(constants) == 1 else ''})\n" + source


# --- the namespace of the generated code ------------------------------------------------------

@functools.lru_cache(maxsize=1024)
def _compiled(expr: sp.Expr, guarded: bool) -> tuple[str, Any]:
    source = array_api_source(expr, guarded)
    return source, compile(source, f"<activation_lab array API: {expr}>", "exec")


def _function(expr: sp.Expr, guarded: bool, xp: Any, like: Any) -> Callable[[Any], Any]:
    _, code = _compiled(expr, guarded)
    from .primitives import array_api_namespace

    namespace = array_api_namespace(xp, like)
    namespace["_nan"] = math.nan
    exec(code, namespace)  # noqa: S102 - source generated from a SymPy expression of the package
    return namespace["_generated"]


def _result_dtype(xp: Any, dtype: Any) -> Any:
    from ..errors import UnsupportedDtypeError

    if dtype == xp.float32 or dtype == xp.float64 or dtype == getattr(xp, "float16", object()):
        return dtype
    if xp.isdtype(dtype, ("integral", "bool")):
        return xp.float64
    raise UnsupportedDtypeError(dtype)


def _evaluate_order(expr: sp.Expr, k: int, xp: Any, x64: Any) -> Any:
    from .limits import limits, zero_limit_sides
    from .rewrite import stable_derivative

    stable = stable_derivative(expr, k)
    y = _function(stable, False, xp, x64)(x64)
    y = xp.broadcast_to(xp.asarray(y, dtype=xp.float64, device=x64.device), x64.shape)
    finite = xp.isfinite(x64)
    bad = finite & xp.isnan(y)
    if bool(xp.any(bad)):
        # a constant (nan: f' of 0**x) comes back as a Python float, as from the fast function
        guarded = xp.asarray(_function(stable, True, xp, x64)(x64), dtype=xp.float64, device=x64.device)
        guarded = xp.broadcast_to(guarded, x64.shape)
        y = xp.where(bad, guarded, y)
    if not bool(xp.all(finite)):
        lo, hi = limits(expr, k)
        y = where(xp, x64 == -math.inf, lo, where(xp, x64 == math.inf, hi, y))
        y = where(xp, xp.isnan(x64), math.nan, y)
    sides = zero_limit_sides(expr, k)
    if sides:
        # tail zeros take their limit's sign, as evaluate.signed_zeros gives them (TeLU'(-800) = -0.0)
        zero = (y == 0) & (xp.abs(x64) >= 1)
        for sign, limit in sides:
            y = where(xp, zero & ((x64 < 0) if sign < 0 else (x64 > 0)), limit, y)
    return y


def evaluate_array_api(act: Any, x: Any, n: int | tuple[int, ...] | list[int] = 0) -> Any:
    """f⁽ⁿ⁾(x) for an array of any array-API library, returned in that library, on x's device.

    Computed in float64 and rounded once to x's floating dtype (integers and bools give
    float64), as the NumPy path.  ``n`` may be a tuple of orders.
    """
    from ..requests import orders_of

    orders = orders_of(n)
    xp = x.__array_namespace__()
    dtype = _result_dtype(xp, x.dtype)
    x64 = xp.astype(x, xp.float64)
    results = []
    # intermediate overflow (e^x at x > 709.78, then inf·0) is expected and guarded above; libraries
    # built on NumPy (array-api-strict) report it through NumPy's error state, which is per thread
    # (warnings.catch_warnings would change the filters of every thread)
    with np.errstate(all="ignore"):
        for k in orders:
            results.append(xp.astype(_evaluate_order(act.expr, k, xp, x64), dtype))
    return tuple(results) if isinstance(n, (tuple, list)) else results[0]
