"""Native CPU kernels: the C target compiled for this machine, for float32 arrays.

NumPy's ufuncs make one pass over memory (or over a cache block) per operation, and the
float64 arithmetic the accurate float32 path needs runs at half the SIMD width of float32.
Where a C compiler is installed, the NumPy backend instead compiles the fast statements of
the C target (:func:`activation_lab.numeric.c_target.fast_statements`, the same text the CuPy
kernel runs) into one loop per activation and set of orders:

    for each element:  x = (double)x_in[i];  shared subexpressions;  y_k[i] = (float)f⁽ᵏ⁾

computed in double and rounded once to float32, as the NumPy path does.  The loop is
vectorised with the C library's vector math (glibc's libmvec: exp, expm1, log1p, cosh, erfc,
… on 4 or 8 doubles at a time, ≤ 4 ULP of double, far below an ULP of float32); a build in
which some function has no vector variant is not used (scalar libm calls would be slower than
NumPy).  The loop also reports whether any x is not finite, any result is nan, and which outputs
hold a ±0; the caller then fixes those few elements as the NumPy path does (guarded
recomputation, limits at ±inf, signs of underflowed tails where a limit is −0).

Builds are cached on disk (``$ACTIVATION_LAB_CACHE``, else ``$XDG_CACHE_HOME/activation-lab``
or ``~/.cache/activation-lab``), keyed by the source, the compiler and this CPU, and written
atomically.  ``ACTIVATION_LAB_NATIVE=0`` switches native kernels off; without a compiler the
NumPy block path is used and :func:`status` says why.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sympy as sp

__all__ = ["NativeKernel", "native_kernel", "native_source", "enabled", "status", "cache_dir", "NATIVE_ENV",
           "NONFINITE_X", "NAN_RESULT", "ZERO_RESULT"]

NATIVE_ENV = "ACTIVATION_LAB_NATIVE"

#: bits of :meth:`NativeKernel.run`'s result
NONFINITE_X, NAN_RESULT, ZERO_RESULT = 1, 2, 4

#: C library functions the kernels may call, declared with vector variants (libmvec names them)
_VECTOR_FUNCTIONS = ("exp", "expm1", "log", "log1p", "cosh", "sinh", "tanh", "erf", "erfc", "atan", "sin", "cos")
_POW = "pow"  # two arguments

# -O3 and -march=native: vectorise for this CPU; -fno-math-errno and -fno-trapping-math let the
# vectoriser call libmvec and if-convert Piecewise branches; -ffp-contract=off: no fused
# multiply-add, each operation rounds as NumPy's does; -fopenmp-simd: honour "omp simd" only
# (no OpenMP runtime); -Wl,-z,defs: a missing vector variant fails the build, not the call.
_FLAGS = ("-std=gnu11", "-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off",
          "-fopenmp-simd", "-fPIC", "-shared", "-Wl,-z,defs")
_LIBS = ("-lmvec", "-lm")


@dataclass(frozen=True)
class NativeKernel:
    """A compiled loop ``run(x, *outs) -> flags`` over contiguous float32 arrays.

    Attributes:
        orders: derivative orders, one output each.
        source: the C translation unit.
        path: the shared library it was built into.
    """

    orders: tuple[int, ...]
    source: str
    path: str
    function: Any

    def run(self, x: Any, outs: list[Any]) -> int:
        """Fill ``outs`` (float32, x's length) with f⁽ⁿ⁾(x); returns the fix-ups those elements
        need as bits: :data:`NONFINITE_X`, :data:`NAN_RESULT`, and ``ZERO_RESULT << k`` where
        output k holds a ±0 (its sign may need the limit's).  Releases the GIL."""
        if not (x.flags.c_contiguous and all(o.flags.c_contiguous for o in outs)):
            raise ValueError("native kernels read and write contiguous memory only")   # a bug, not user input
        return self.function(x.size, x.ctypes.data, *[o.ctypes.data for o in outs])


def enabled() -> bool:
    """Whether native kernels may be used (``ACTIVATION_LAB_NATIVE`` is not 0/false/no/off)."""
    return os.environ.get(NATIVE_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def cache_dir() -> Path:
    """Where built kernels are kept."""
    root = os.environ.get("ACTIVATION_LAB_CACHE")
    if root:
        return Path(root) / "native"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "activation-lab" / "native"


@functools.cache
def _compiler() -> tuple[str, str] | None:
    """(compiler path, its version line) for a GCC-compatible C compiler on PATH, or None."""
    if not sys.platform.startswith("linux"):
        return None  # libmvec is glibc's
    for name in (os.environ.get("CC"), "gcc", "cc"):
        path = shutil.which(name) if name else None
        if not path:
            continue
        try:
            version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        if version:
            return path, version.splitlines()[0]
    return None


@functools.cache
def _cpu() -> str:
    """What -march=native depends on: the machine and its CPU feature flags."""
    text = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("flags", "model name", "Features")):
                    text += line
                if line.strip() == "":
                    break  # the first CPU is enough
    except OSError:
        pass
    return f"{platform.machine()}|{text}"


def native_source(expr: sp.Expr, orders: tuple[int, ...]) -> str:
    """The C translation unit of the native loop for f⁽ⁿ⁾, n in ``orders`` (float32 in and out)."""
    from .c_target import C_PREAMBLE, fast_statements

    lines, values = fast_statements(expr, tuple(orders), float32=True)
    body = "\n".join(lines)
    used = [f for f in _VECTOR_FUNCTIONS if re.search(rf"\b{f}\(", body + "\n".join(values) + C_PREAMBLE)]
    declarations = [f"#pragma omp declare simd notinbranch\nextern double {f}(double);" for f in used]
    if re.search(rf"\b{_POW}\(", body + "\n".join(values)):
        declarations.append(f"#pragma omp declare simd notinbranch\nextern double {_POW}(double, double);")
    outs = ", ".join(f"float *restrict y{i}" for i in range(len(orders)))
    # reductions over bit patterns say which fix-ups a call needs: the largest |x| (not finite
    # from inf bits up), the largest |y| (nan above inf bits), and per output the smallest |y|
    # (a zero, whose sign may need the limit's)
    stores = []
    for i, value in enumerate(values):
        stores += [f"        const float r{i} = (float)({value});",
                   f"        y{i}[i] = r{i};",
                   f"        const unsigned a{i} = al_abs_bits(r{i});",
                   f"        big = big > a{i} ? big : a{i};",
                   f"        small{i} = small{i} < a{i} ? small{i} : a{i};"]
    smalls = [f"small{i}" for i in range(len(orders))]
    reduction = f"max:big,bigx) reduction(min:{','.join(smalls)}"
    zero_bits = " | ".join(f"((small{i} == 0u) << {2 + i})" for i in range(len(orders)))
    return "\n".join([
        "#include <math.h>",
        "#include <string.h>",
        *declarations,
        C_PREAMBLE,
        "static inline unsigned al_abs_bits(float f) { unsigned u; memcpy(&u, &f, sizeof u); return u & 0x7fffffffu; }",
        "/* f^(n)(x_in[i]) for each order into y0, y1, ...; returns the fix-ups the caller owes:",
        "   bit 0 some x is not finite, bit 1 some result is nan, bit 2+k output k holds a zero */",
        f"int al_run(long n, const float *restrict x_in, {outs}) {{",
        "    unsigned big = 0, bigx = 0;",
        f"    unsigned {', '.join(f'{v} = 0xffffffffu' for v in smalls)};",
        f"#pragma omp simd reduction({reduction})",
        "    for (long i = 0; i < n; i++) {",
        "        const double x = (double)x_in[i];",
        "        const unsigned ax = al_abs_bits(x_in[i]);",
        "        bigx = bigx > ax ? bigx : ax;",
        *["    " + line for line in lines],
        *stores,
        "    }",
        f"    return (bigx >= 0x7f800000u) | ((big > 0x7f800000u) << 1) | {zero_bits};",
        "}",
        "",
    ])


_lock = threading.Lock()
_failures: dict[str, str] = {}


def native_kernel(expr: sp.Expr, orders: tuple[int, ...]) -> NativeKernel | None:
    """The native loop for f⁽ⁿ⁾ on float32, built (or taken from the cache) on first use;
    None where native kernels are off, no compiler is found, or the build fails."""
    if not enabled():
        return None
    return _kernel(expr, tuple(orders))


@functools.lru_cache(maxsize=1024)
def _kernel(expr: sp.Expr, orders: tuple[int, ...]) -> NativeKernel | None:
    from .c_target import KernelSourceError

    compiler = _compiler()
    if compiler is None:
        _failures["compiler"] = "no C compiler (gcc or cc, or $CC) on PATH on Linux"
        return None
    try:
        source = native_source(expr, orders)
    except KernelSourceError as err:
        _failures[str(expr)] = str(err)
        return None
    key = hashlib.sha256("\0".join([source, *compiler, *_FLAGS, *_LIBS, _cpu()]).encode()).hexdigest()[:24]
    with _lock:
        try:
            path = _build(source, key, compiler[0])
            function = ctypes.CDLL(str(path)).al_run
        except (OSError, subprocess.SubprocessError) as err:
            text = str(err).strip()
            _failures[str(expr)] = f"build failed: {text.splitlines()[-1][:300] if text else err!r}"
            return None
    function.restype = ctypes.c_int
    function.argtypes = [ctypes.c_long] + [ctypes.c_void_p] * (1 + len(orders))
    return NativeKernel(orders, source, str(path), function)


def _build(source: str, key: str, cc: str) -> Path:
    """The shared library for ``source``: from the cache, or compiled and put there atomically.
    Where the cache cannot be written, the build goes to a private temporary directory."""
    directory = cache_dir()
    target = directory / f"al_{key}.so"
    if target.exists():
        return target
    try:
        directory.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".build-", dir=directory))
    except OSError:
        work = Path(tempfile.mkdtemp(prefix="activation-lab-native-"))
        target = work / f"al_{key}.so"
        atexit.register(shutil.rmtree, work, True)   # ours alone; the loaded library stays mapped
    c_file, so_file = work / "kernel.c", work / "kernel.so"
    try:
        c_file.write_text(source, encoding="utf-8")
        done = subprocess.run([cc, *_FLAGS, "-o", str(so_file), str(c_file), *_LIBS],
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise subprocess.SubprocessError((done.stderr or done.stdout or f"exit {done.returncode}").strip())
        os.replace(so_file, target)  # atomic: a concurrent process sees the old state or the whole file
    finally:
        for leftover in (c_file, so_file):
            leftover.unlink(missing_ok=True)
        if work != target.parent:
            try:
                work.rmdir()
            except OSError:
                pass
    return target


def status(expr: sp.Expr | None = None) -> str:
    """One line saying whether float32 arrays use native kernels here (for ``expr``'s f and f′
    if given), and if not, why."""
    if not enabled():
        return f"native kernels off ({NATIVE_ENV}=0): NumPy blocks"
    compiler = _compiler()
    if compiler is None:
        return "native kernels unavailable (no C compiler found on Linux): NumPy blocks"
    if expr is not None and native_kernel(expr, (0, 1)) is None:
        return f"native kernel for {expr} not used ({_failures.get(str(expr), 'unknown reason')}): NumPy blocks"
    return f"native kernels for float32 ({compiler[1]}, vector math from libmvec); cache {cache_dir()}"
