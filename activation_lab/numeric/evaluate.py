"""f⁽ⁿ⁾(x) for an Activation on numbers, lists and arrays of any backend: the front door of evaluation.

Requests are normalised (:mod:`activation_lab.requests`), masked arrays keep their mask, the
array's library picks the backend (:mod:`activation_lab.numeric.backends`: fused NumPy blocks,
CuPy kernels, array-API namespaces), and numbers and lists go through the accurate path
(:mod:`activation_lab.numeric.accurate`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ActivationLabError, UnsupportedDtypeError
from ..requests import SUPPORTED_DTYPES, is_float_dtype, orders_of, result_dtype
from .accurate import WORK_DTYPE, as_array, evaluate_order, signed_zeros, term_scale, wider_dtype
from .backends import dispatch
from .limits import limits
from .outputs import check_out, fill_out

__all__ = ["evaluate", "limits", "SUPPORTED_DTYPES", "result_dtype", "evaluate_order", "signed_zeros", "term_scale",
           "wider_dtype", "WORK_DTYPE"]


def evaluate(act: Any, x: Any, n: int | tuple[int, ...] | list[int] = 0, out: Any = None) -> Any:
    """f⁽ⁿ⁾(x) for an Activation; see :meth:`activation_lab.Activation.evaluate`."""
    orders = orders_of(n)
    if isinstance(x, np.ma.MaskedArray):
        # masked in, masked out: the mask is kept, and masked entries (whatever they hold) stay masked
        if out is not None:
            raise ActivationLabError("out= is not supported for masked arrays; call without out=")
        mask = np.ma.getmaskarray(x).copy()
        results = evaluate(act, np.ma.getdata(x), orders)
        masked = tuple(np.ma.MaskedArray(y, mask=mask) for y in results)
        return masked if isinstance(n, (tuple, list)) else masked[0]
    # backend by array type (issue 6): fused NumPy blocks (same bits), CuPy kernels, array-API namespaces
    routed = dispatch(act, x, n, out)
    if routed is not NotImplemented:
        return routed
    arr, scalar = as_array(x)
    if arr.dtype.kind not in "fbiu" and not is_float_dtype(arr.dtype):
        raise UnsupportedDtypeError(arr.dtype)
    dtype = result_dtype(arr.dtype)
    if out is not None:
        return fill_out(check_out(out, n, arr, dtype), evaluate(act, arr, orders), n)
    with np.errstate(invalid="ignore"):  # a signalling nan in float32 or bfloat16 warns on the cast
        x64 = np.array(arr, dtype=np.float64)  # a copy: the caller's array is never touched
    results = []
    for k in orders:
        # a result beyond the dtype's range rounds to inf, one below its subnormals to 0: both right
        with np.errstate(over="ignore", under="ignore"):
            work = WORK_DTYPE[dtype.name]
            y = evaluate_order(act.expr, k, x64, work, wider_dtype(work)).astype(dtype, copy=False)
        signed_zeros(act.expr, k, x64, y)
        results.append(y[()] if scalar else y)
    return tuple(results) if isinstance(n, (tuple, list)) else results[0]
