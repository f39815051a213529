"""What a caller asks for, normalised once for every entry point: derivative orders and dtypes.

``n`` is one order (``0``) or several (``(0, 1)``); results come back as one array or a tuple
accordingly.  Orders are non-negative integers up to :data:`MAX_ORDER`; input dtypes are
float16/32/64 (bool and integers give float64).  Every evaluation target, analysis and CLI verb
takes its orders and dtypes through these functions, so each rule and its error message exist
once.
"""

from __future__ import annotations

import functools
from typing import Any

from .errors import ActivationLabError, UnsupportedDtypeError

__all__ = ["MAX_ORDER", "SUPPORTED_DTYPES", "check_order", "orders_of", "several", "result_dtype", "request"]

#: highest derivative order: each order roughly doubles the expression (TeLU's f⁽¹⁴⁾ takes SymPy ~10 s)
MAX_ORDER = 40

#: the floating dtypes evaluation returns
SUPPORTED_DTYPES = ("float16", "float32", "float64")

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


def result_dtype(dtype: Any) -> Any:
    """The floating dtype returned for an input dtype (integers and bool give float64)."""
    import numpy as np

    return _result_dtype(np.dtype(dtype))


@functools.lru_cache(maxsize=64)
def _result_dtype(dtype: Any) -> Any:
    import numpy as np

    if dtype.kind == "f" and dtype.name in SUPPORTED_DTYPES:
        return np.dtype(dtype.name)  # native byte order
    if dtype.kind in "biu":
        return np.dtype(np.float64)
    raise UnsupportedDtypeError(dtype)


def request(dtype: Any, n: Orders) -> tuple[tuple[int, ...], Any]:
    """(orders, result dtype) for an input dtype (NumPy-like) and ``n``; clear errors if invalid."""
    orders = orders_of(n)
    if dtype.kind not in "fbiu":
        raise UnsupportedDtypeError(dtype)
    return orders, result_dtype(dtype)
