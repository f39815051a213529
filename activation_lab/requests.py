"""What a caller asks for, normalised once for every entry point: derivative orders and dtypes.

``n`` is one order (``0``) or several (``(0, 1)``); results come back as one array or a tuple
accordingly.  Orders are non-negative integers up to :data:`MAX_ORDER`; input dtypes are
float16, bfloat16, float32 and float64 (bool and integers give float64).  NumPy has no bfloat16:
it is ``ml_dtypes.bfloat16`` (the package JAX uses), imported only when a bfloat16 is asked for.
Every evaluation target, analysis and CLI verb takes its orders and dtypes through these
functions, so each rule and its error message exist once.
"""

from __future__ import annotations

import functools
from typing import Any

from .errors import ActivationLabError, UnsupportedDtypeError

__all__ = ["MAX_ORDER", "SUPPORTED_DTYPES", "check_order", "finfo", "float_dtype", "is_float_dtype", "orders_of",
           "several", "result_dtype", "request"]

#: highest derivative order: each order roughly doubles the expression (TeLU's f⁽¹⁴⁾ takes SymPy ~10 s)
MAX_ORDER = 40

#: the floating dtypes evaluation returns (bfloat16: ``ml_dtypes.bfloat16``)
SUPPORTED_DTYPES = ("float16", "bfloat16", "float32", "float64")

Orders = int | tuple[int, ...] | list[int]


def check_order(n: object) -> int:
    """``n`` itself if it is a derivative order (an int from 0 to :data:`MAX_ORDER`), else a clear error."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ActivationLabError(f"derivative order must be a non-negative integer, got {n!r}")
    if n > MAX_ORDER:
        raise ActivationLabError(f"derivative order {n} is over the limit of {MAX_ORDER}: the symbolic "
                                 "derivative grows with every order; ask for an order up to "
                                 f"{MAX_ORDER}")
    return n


def several(n: Orders) -> bool:
    """Whether ``n`` asks for several orders (a tuple or list: results come back as a tuple)."""
    return isinstance(n, (tuple, list))


def orders_of(n: Orders) -> tuple[int, ...]:
    """The orders ``n`` asks for, checked: ``0`` → ``(0,)``, ``[0, 1]`` → ``(0, 1)``."""
    orders = tuple(n) if several(n) else (n,)
    for k in orders:
        check_order(k)
    return orders  # type: ignore[return-value]


def float_dtype(dtype: Any) -> Any:
    """The NumPy dtype for a name or dtype: ``"bfloat16"`` is ``ml_dtypes.bfloat16`` (imported here,
    only for it); other names as :class:`numpy.dtype` reads them; an UnsupportedDtypeError if neither."""
    import numpy as np

    if isinstance(dtype, str) and dtype.strip().lower() == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    try:
        return np.dtype(dtype)
    except TypeError:
        raise UnsupportedDtypeError(dtype) from None


def is_float_dtype(dtype: Any) -> bool:
    """Whether a NumPy dtype is a floating format: kind "f", or ml_dtypes' bfloat16 (kind "V")."""
    return dtype.kind == "f" or _is_bfloat16(dtype)


def _is_bfloat16(dtype: Any) -> bool:
    # ml_dtypes' types have kind "V"; checked by name and module, so ml_dtypes is not imported to ask
    return dtype.name == "bfloat16" and getattr(dtype.type, "__module__", "").startswith("ml_dtypes")


def finfo(dtype: Any) -> Any:
    """Machine limits of a floating format (``ml_dtypes.finfo`` for bfloat16, else ``numpy.finfo``)."""
    import numpy as np

    dt = float_dtype(dtype)
    if _is_bfloat16(dt):
        import ml_dtypes

        return ml_dtypes.finfo(dt)
    return np.finfo(dt)


def result_dtype(dtype: Any) -> Any:
    """The floating dtype returned for an input dtype (integers and bool give float64)."""
    return _result_dtype(float_dtype(dtype))


@functools.lru_cache(maxsize=64)
def _result_dtype(dtype: Any) -> Any:
    import numpy as np

    if dtype.kind == "f" and dtype.name in SUPPORTED_DTYPES:
        return np.dtype(dtype.name)  # native byte order
    if _is_bfloat16(dtype):
        return np.dtype(dtype.type)
    if dtype.kind in "biu":
        return np.dtype(np.float64)
    raise UnsupportedDtypeError(dtype)


def request(dtype: Any, n: Orders) -> tuple[tuple[int, ...], Any]:
    """(orders, result dtype) for an input dtype (NumPy-like) and ``n``; clear errors if invalid."""
    orders = orders_of(n)
    if dtype.kind not in "fbiu" and not _is_bfloat16(dtype):
        raise UnsupportedDtypeError(dtype)
    return orders, result_dtype(dtype)
