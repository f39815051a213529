"""The CuPy kernels as CuPy builds them, compiled by NVRTC for a Hopper GPU, without a GPU.

CuPy itself writes the CUDA source of each ``ElementwiseKernel`` (its private
``_get_elementwise_kernel_code``, the text it would hand to NVRTC on a GPU), and NVRTC (the
compiler CuPy uses) compiles it against CuPy's own headers.  This catches what gcc cannot:
CUDA-only syntax, CuPy's ``float16`` class, device-function qualifiers.  The numbers are
checked by ``test_c_target.py`` (the same source with gcc) and ``test_cupy.py`` (on a GPU).

Needs CuPy and NVRTC installed (``pip install cupy-cuda13x nvidia-cuda-nvrtc``), no driver or
GPU; skipped, with the reason, where they are missing.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pytest

import activation_lab as al
from activation_lab.numeric.c_target import c_kernel

ARCH = "compute_90"  # Hopper (H100/H200); PTX for it, no device needed


@functools.cache
def _toolchain() -> tuple[object, object, tuple[str, ...]] | str:
    """(cupy, its nvrtc module, include options), or why they are not available."""
    try:
        import cupy
        from cupy._core import _carray  # noqa: F401
        from cupy._core._kernel import _ArgInfo, _get_elementwise_kernel_code, _TypeMap  # noqa: F401
        from cupy.cuda import nvrtc
    except ImportError as err:
        return f"CuPy with its kernel code generator is not installed ({err})"
    try:
        nvrtc.getVersion()
    except Exception as err:  # noqa: BLE001 - CuPy raises its own errors when libnvrtc is missing
        return f"NVRTC is not installed ({type(err).__name__}; pip install nvidia-cuda-nvrtc)"
    include = Path(cupy.__file__).parent / "_core" / "include"
    cccl = include / "cupy" / "_cccl"
    options = [f"-I{include}", f"-I{cccl / 'libcudacxx'}", f"-I{cccl / 'thrust'}", f"-I{cccl / 'cub'}"]
    toolchain = cupy, nvrtc, tuple(options)
    try:  # the generator is private to CuPy: another version may take other arguments
        _cupy_source(c_kernel(al.get("relu").expr, (0,), "float32"), toolchain)
    except (TypeError, AttributeError, ValueError) as err:
        return f"CuPy {cupy.__version__}'s private kernel-code generator differs from 14.x's ({err})"
    return toolchain


def _cuda_include() -> str | None:
    """A CUDA include directory holding cuda_fp16.h (CuPy's float16 needs it), or None."""
    import cupy

    candidates = [os.environ.get("CUDA_PATH"), cupy.cuda.get_cuda_path(), "/usr/local/cuda"]
    for root in filter(None, candidates):
        if (Path(root) / "include" / "cuda_fp16.h").exists():
            return str(Path(root) / "include")
    return None


def _cupy_source(kernel, toolchain=None) -> str:
    """CuPy's own CUDA source for ``kernel`` on contiguous 1-d arrays, with its standard headers."""
    cupy, _, _ = toolchain or _toolchain()
    from cupy._core import _carray
    from cupy._core._kernel import _ArgInfo, _get_elementwise_kernel_code, _TypeMap

    ek = cupy.ElementwiseKernel(kernel.in_params, kernel.out_params, kernel.operation, kernel.name,
                                preamble=kernel.preamble, options=("--fmad=false",))
    ndarray, indexer = 1, 2  # CuPy's _ArgKind
    infos = tuple(_ArgInfo(ndarray, cupy.ndarray, p.dtype, 1, True, True) for p in ek.params[:-1])
    infos += (_ArgInfo(indexer, _carray.Indexer, None, 1, False, True),)
    body = _get_elementwise_kernel_code(infos, _TypeMap(()), ek.params, kernel.operation, kernel.name,
                                        kernel.preamble)
    headers = "".join(f"#include <{h}>\n" for h in
                      ("cupy/complex.cuh", "cupy/carray.cuh", "cupy/atomics.cuh", "cupy/math_constants.h"))
    return headers + body


_WHY = _toolchain() if isinstance(_toolchain(), str) else ""
pytestmark = pytest.mark.skipif(bool(_WHY), reason=_WHY or "-")


def _compile(source: str, extra: tuple[str, ...] = (), fmad: bool = False) -> str:
    """PTX of ``source`` (with the backend's ``--fmad=false`` unless ``fmad``); NVRTC's log in
    the failure message if it does not compile."""
    _, nvrtc, options = _toolchain()
    program = nvrtc.createProgram(source, "kernel.cu", (), ())
    try:
        try:
            nvrtc.compileProgram(program, (f"--fmad={str(fmad).lower()}", "--std=c++17", f"-arch={ARCH}", *options,
                                           *extra))
        except Exception:  # noqa: BLE001 - the log says what went wrong
            pytest.fail(f"NVRTC could not compile the kernel:\n{nvrtc.getProgramLog(program)}")
        ptx = nvrtc.getPTX(program)
        return ptx.decode() if isinstance(ptx, bytes) else ptx
    finally:
        nvrtc.destroyProgram(program)


@pytest.mark.parametrize("name", al.names())
def test_every_kernel_compiles_for_the_gpu(name):
    act = al.get(name)
    for in_dtype in ("float32", "float64", "int32", "bool"):
        kernel = c_kernel(act.expr, (0, 1, 2), in_dtype)
        ptx = _compile(_cupy_source(kernel))
        assert f".entry {kernel.name}" in ptx


def test_products_are_not_contracted():
    """--fmad=false: every product and sum of ours is emitted with an explicit rounding
    (``mul.rn``), which ptxas may not fuse into an fma; NumPy rounds each operation too.
    By default NVRTC emits plain ``mul.f64``, free to be contracted."""
    import re

    plain = re.compile(r"\b(mul|add|sub)\.f64\b")
    source = _cupy_source(c_kernel(al.get("telu").expr, (0, 1), "float64"))
    assert plain.search(_compile(source, fmad=True))
    ptx = _compile(source)
    assert not plain.search(ptx) and "mul.rn.f64" in ptx


@pytest.mark.parametrize("name", ["telu", "gelu", "mish", "relu6"])
def test_float16_kernels_compile_with_cupys_half(name):
    include = _cuda_include()
    if include is None:
        pytest.skip("no CUDA include directory with cuda_fp16.h (set CUDA_PATH)")
    kernel = c_kernel(al.get(name).expr, (0, 1), "float16")
    assert kernel.out_dtype == "float16"
    ptx = _compile(_cupy_source(kernel), (f"-I{include}",))
    assert f".entry {kernel.name}" in ptx


def test_generated_source_reads_and_writes_every_parameter():
    kernel = c_kernel(al.get("telu").expr, (0, 1), "float32")
    source = _cupy_source(kernel)
    assert "const float &x_in = _raw_x_in" in source
    assert "float &y0 = _raw_y0" in source and "float &y1 = _raw_y1" in source
    assert np.dtype(kernel.in_dtype) == np.float32
