"""Array backends for evaluation, chosen by the type of the input array (as einops does).

Each backend is a small class answering "is this array yours?" and evaluating f⁽ⁿ⁾ on it,
returning arrays of the same library on the same device:

* ``numpy``: the fused block path (:mod:`activation_lab.numeric.fused`), bit for bit the
  accurate path, on all cores;
* ``cupy``: the generated C kernel (:mod:`activation_lab.numeric.c_target`) compiled as one
  ``cupy.ElementwiseKernel`` computing every requested order in a single pass on the GPU;
* ``array-api``: any other array with ``__array_namespace__`` (array-api-strict, JAX, PyTorch
  through array-api-compat, …), evaluated with its own namespace
  (:mod:`activation_lab.numeric.array_api`).

CuPy arrays are recognised through ``sys.modules``: nothing here imports CuPy unless the
array given is a CuPy array or the ``cupy`` backend is asked for by name.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

from ..errors import ActivationLabError
from ..requests import request
from .outputs import check_out, fill_out

__all__ = ["Backend", "BackendUnavailableError", "backend_for", "get_backend", "backend_names", "dispatch", "request",
           "check_out", "fill_out",
           "FUSED_MIN_SIZE"]

#: NumPy arrays at least this large go through the fused path (smaller ones: the plain path)
FUSED_MIN_SIZE = 4096


class BackendUnavailableError(ActivationLabError, ImportError):
    """A backend asked for by name whose library (or device) is not available."""


class Backend:
    """One array library: ``is_mine(x)`` and ``evaluate(act, x, n)``."""

    name = ""

    def is_mine(self, x: Any) -> bool:
        raise NotImplementedError

    def available(self) -> bool:
        """Whether the library can be used here (imported lazily)."""
        return True

    def evaluate(self, act: Any, x: Any, n: int | tuple[int, ...] | list[int], out: Any = None) -> Any:
        """f⁽ⁿ⁾(x) as arrays of x's library on x's device (into ``out`` if given)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{self.name} backend>"


class NumPyBackend(Backend):
    name = "numpy"

    def is_mine(self, x: Any) -> bool:
        numpy = sys.modules.get("numpy")
        return numpy is not None and isinstance(x, (numpy.ndarray, numpy.generic))

    def evaluate(self, act: Any, x: Any, n: int | tuple[int, ...] | list[int], out: Any = None) -> Any:
        from .fused import evaluate_fused

        return evaluate_fused(act, x, n, out=out)


class CuPyBackend(Backend):
    name = "cupy"

    def is_mine(self, x: Any) -> bool:
        cupy = sys.modules.get("cupy")
        return cupy is not None and isinstance(x, cupy.ndarray)

    def module(self) -> Any:
        try:
            import cupy
        except ImportError as err:
            raise BackendUnavailableError(
                f"the CuPy backend needs CuPy and a CUDA GPU, but CuPy cannot be imported ({err}); "
                "install it with pip install 'activation-lab[cuda]' (CUDA 12), or use the numpy backend") from None
        return cupy

    def available(self) -> bool:
        try:
            self.module()
        except BackendUnavailableError:
            return False
        return self.gpu_problem() is None

    def gpu_problem(self) -> str | None:
        """Why CuPy (installed) cannot reach a GPU here, or None when it can."""
        try:
            count = self.module().cuda.runtime.getDeviceCount()
        except Exception as err:  # noqa: BLE001 - no driver, old driver: CuPy raises its own CUDA errors
            return f"{type(err).__name__}: {err}"
        return None if count > 0 else "no CUDA device found"

    def evaluate(self, act: Any, x: Any, n: int | tuple[int, ...] | list[int], out: Any = None) -> Any:
        cupy = self.module()
        orders, out_dtype = request(x.dtype, n)
        given = None if out is None else check_out(out, n, x, out_dtype)
        if given is not None and any(o.device != x.device for o in given):
            raise ActivationLabError("out= arrays must be on the input's GPU")
        kernel = _cupy_kernel(cupy, act.expr, orders, x.dtype.name, out_dtype.name)
        with x.device:  # outputs on the input's GPU; nothing goes through the host
            outs = [cupy.empty(x.shape, dtype=out_dtype) for _ in orders] if given is None else list(given)
            kernel(x, *outs)
        return tuple(outs) if isinstance(n, (tuple, list)) else outs[0]


@functools.lru_cache(maxsize=256)
def _cupy_kernel(cupy: Any, expr: Any, orders: tuple[int, ...], in_dtype: str, out_dtype: str) -> Any:
    """The ElementwiseKernel for one expression, orders and dtypes (CuPy caches the binary)."""
    from .c_target import c_kernel

    k = c_kernel(expr, orders, in_dtype, out_dtype)
    # --fmad=false: no fused multiply-add, so each operation rounds as NumPy's does
    return cupy.ElementwiseKernel(k.in_params, k.out_params, k.operation, k.name, preamble=k.preamble,
                                  options=("--fmad=false",))


class ArrayAPIBackend(Backend):
    name = "array-api"

    def is_mine(self, x: Any) -> bool:
        return hasattr(x, "__array_namespace__")

    def evaluate(self, act: Any, x: Any, n: int | tuple[int, ...] | list[int], out: Any = None) -> Any:
        from .array_api import evaluate_array_api

        if out is not None:  # the standard has no in-place output arguments
            raise ActivationLabError(f"out= is supported for NumPy and CuPy arrays, not for {type(x).__name__}; "
                                     "leave it out and use the returned arrays")
        return evaluate_array_api(act, x, n)


# order matters: NumPy and CuPy arrays also have __array_namespace__
_BACKENDS: tuple[Backend, ...] = (CuPyBackend(), NumPyBackend(), ArrayAPIBackend())


def backend_names() -> list[str]:
    """Names accepted by :func:`get_backend`."""
    return [b.name for b in _BACKENDS]


def get_backend(name: str) -> Backend:
    """The backend called ``name``; a clear error if unknown, or if its library (or for CuPy, a
    usable GPU) is missing."""
    for b in _BACKENDS:
        if b.name == name:
            if isinstance(b, CuPyBackend):
                b.module()  # raises BackendUnavailableError without CuPy
                problem = b.gpu_problem()
                if problem is not None:
                    raise BackendUnavailableError(
                        f"CuPy is installed but cannot use a CUDA GPU here ({problem}); "
                        "run on a machine with an NVIDIA GPU and driver, or use the numpy backend")
            return b
    raise ActivationLabError(f"unknown backend {name!r}; choose one of {', '.join(backend_names())}")


def backend_for(x: Any) -> Backend | None:
    """The backend owning array ``x``, or None for numbers, lists and unknown objects."""
    for b in _BACKENDS:
        if b.is_mine(x):
            return b
    return None


def dispatch(act: Any, x: Any, n: int | tuple[int, ...] | list[int], out: Any = None) -> Any:
    """f⁽ⁿ⁾(x) by the backend of ``x``, or ``NotImplemented`` where the plain NumPy path applies
    (numbers, lists, NumPy scalars and subclasses, NumPy arrays smaller than :data:`FUSED_MIN_SIZE`)."""
    b = backend_for(x)
    if b is None:
        return NotImplemented
    if isinstance(b, NumPyBackend) and (type(x) is not sys.modules["numpy"].ndarray or x.size < FUSED_MIN_SIZE):
        return NotImplemented
    return b.evaluate(act, x, n, out)
