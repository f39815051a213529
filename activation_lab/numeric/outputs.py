"""``out=`` arrays: checked against the input and the result dtype, and filled.

Shared by every backend (:mod:`activation_lab.numeric.backends`, the fused NumPy path): the
arrays are of the input's type, shape and the result dtype, writeable, share no memory with the
input or each other, one per order asked for.
"""

from __future__ import annotations

import sys
from typing import Any

from ..errors import ActivationLabError

__all__ = ["check_out", "fill_out"]


def check_out(out: Any, n: int | tuple[int, ...] | list[int], x: Any, dtype: Any) -> tuple[Any, ...]:
    """The ``out`` arrays, one per order, checked against input ``x`` and the result ``dtype``.

    ``out`` is one array for a single order ``n`` and a tuple or list of arrays (one per order)
    for a tuple of orders; each of x's array type, shape and the result dtype, writeable, and
    sharing no memory with x (the input is never written).
    """
    several = isinstance(n, (tuple, list))
    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    count = len(n) if several else 1
    if len(outs) != count:
        raise ActivationLabError(f"out= needs {count} array{'s' if count > 1 else ''} (one per derivative order "
                                 f"in n={n!r}), got {len(outs)}")
    for o in outs:
        if type(o) is not type(x):
            raise ActivationLabError(f"out= arrays must be of the input's type {type(x).__name__}, "
                                     f"got {type(o).__name__}")
        if tuple(o.shape) != tuple(x.shape) or o.dtype != dtype:
            raise ActivationLabError(f"out= array has shape {tuple(o.shape)} and dtype {o.dtype}; this call needs "
                                     f"shape {tuple(x.shape)} and dtype {dtype} (x.shape, and the result dtype)")
        flags = getattr(o, "flags", None)
        if flags is not None and not flags.writeable:
            raise ActivationLabError("out= array is read-only")
        if _overlaps(o, x):
            raise ActivationLabError("out= array shares memory with the input x; the input is never written: "
                                     "pass separate output arrays")
    pairs = [(a, b) for i, a in enumerate(outs) for b in outs[i + 1:]]
    if any(a is b or _overlaps(a, b) for a, b in pairs):
        raise ActivationLabError("out= arrays share memory with each other; pass one separate array per order")
    return outs


def fill_out(given: tuple[Any, ...], results: tuple[Any, ...], n: int | tuple[int, ...] | list[int]) -> Any:
    """Copy ``results`` (one per order) into the checked ``out`` arrays and return them as
    ``evaluate`` returns results: a tuple for a tuple of orders, else the one array."""
    for o, y in zip(given, results, strict=True):
        o[...] = y
    return tuple(given) if isinstance(n, (tuple, list)) else given[0]


def _overlaps(a: Any, b: Any) -> bool:
    """Whether two arrays (NumPy, or CuPy: same device memory range) may share memory."""
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(a, numpy.ndarray) and isinstance(b, numpy.ndarray):
        if not numpy.may_share_memory(a, b):  # disjoint address ranges: the common case, O(1)
            return False
        try:  # interleaved views (the columns of one array) share a range but no element
            return bool(numpy.shares_memory(a, b, max_work=1 << 16))
        except numpy.exceptions.TooHardError:
            return True
    cupy = sys.modules.get("cupy")
    if cupy is not None and isinstance(a, cupy.ndarray) and isinstance(b, cupy.ndarray):
        return bool(cupy.may_share_memory(a, b))
    return False
