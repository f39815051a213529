"""Build an elementwise kernel's C source with gcc and call it on NumPy arrays (ctypes).

The kernel is given as CuPy takes it (``in_params``, ``out_params``, ``operation``,
``preamble``); the operation text is pasted unchanged into a C loop over the elements, as
CuPy pastes it into a CUDA loop.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np

HAVE_GCC = shutil.which("gcc") is not None

C_TYPES = {"float16": "_Float16", "float32": "float", "float64": "double", "bool": "_Bool",
           "int8": "signed char", "int16": "short", "int32": "int", "int64": "long",
           "uint8": "unsigned char", "uint16": "unsigned short", "uint32": "unsigned int", "uint64": "unsigned long"}


def _params(text: str) -> list[tuple[str, str]]:
    return [tuple(p.split()) for p in text.split(",")]  # "float32 x_in, float32 y0" → [(dtype, name)]


def build(preamble: str, operation: str, in_params: str, out_params: str, name: str, directory: Path):
    """A function ``run(*inputs, *outputs)`` applying the kernel to equally shaped NumPy arrays."""
    ins, outs = _params(in_params), _params(out_params)
    args = [f"const {C_TYPES[t]}* in_{n}" for t, n in ins] + [f"{C_TYPES[t]}* out_{n}" for t, n in outs]
    source = "\n".join([
        preamble,
        f"void run(long n, {', '.join(args)}) {{",
        "  for (long i = 0; i < n; ++i) {",
        *[f"    const {C_TYPES[t]} {n} = in_{n}[i];" for t, n in ins],
        *[f"    {C_TYPES[t]} {n};" for t, n in outs],
        operation,
        *[f"    out_{n}[i] = {n};" for _, n in outs],
        "  }",
        "}",
    ])
    c_file, so_file = directory / f"{name}.c", directory / f"{name}.so"
    c_file.write_text(source)
    # -ffp-contract=off: no fused multiply-add, as the CuPy backend compiles with --fmad=false
    subprocess.run(["gcc", "-std=c11", "-O2", "-ffp-contract=off", "-fno-fast-math", "-Wall", "-Werror",
                    "-fPIC", "-shared", "-o", str(so_file), str(c_file), "-lm"], check=True, capture_output=True)
    lib = ctypes.CDLL(str(so_file))
    dtypes = [np.dtype(t) for t, _ in ins + outs]

    def run(*arrays: np.ndarray) -> None:
        assert len(arrays) == len(dtypes) and all(a.dtype == d for a, d in zip(arrays, dtypes, strict=True))
        assert all(a.flags.c_contiguous and a.shape == arrays[0].shape for a in arrays)
        lib.run(ctypes.c_long(arrays[0].size), *[a.ctypes.data_as(ctypes.c_void_p) for a in arrays])

    return run


def kernel_function(kernel, directory: Path):
    """A :class:`~activation_lab.numeric.c_target.CKernel` as ``f(x) -> [y0, y1, ...]``."""
    run = build(kernel.preamble, kernel.operation, kernel.in_params, kernel.out_params, kernel.name, directory)

    def f(x: np.ndarray) -> list[np.ndarray]:
        x = np.ascontiguousarray(x, dtype=kernel.in_dtype)
        ys = [np.empty(x.shape, dtype=kernel.out_dtype) for _ in kernel.orders]
        run(x, *ys)
        return ys

    return f
