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

Builds are cached on disk (``native`` in ``$ACTIVATION_LAB_CACHE``, else in
``$XDG_CACHE_HOME/activation-lab`` or ``~/.cache/activation-lab``), keyed by the source, the
compiler and this CPU.  What the cache trusts:

* the folder and its parent are created with mode 0700; a library is loaded only from folders
  owned by this user and not writable by group or others (else kernels are built in a private
  temporary folder for the process, and one line on stderr says why);
* each library is compiled in a private folder beside it and renamed into place, then a record
  (``al_<key>.json``: the key, the orders, the SHA-256 of the library) is written; a library is
  loaded only if it and its record are this user's regular files, not writable by others, and
  the record matches the key, the orders and the library's current SHA-256;
* after loading, the library's exported ``al_identity()`` must name the same key and orders;
* anything else at the key (a truncated, empty or foreign file, another formula's or other
  orders' kernel, a folder) is rebuilt in the same process; a build or load that still fails
  leaves the NumPy path with one line on stderr, never a crash.

``ACTIVATION_LAB_NATIVE=0`` switches native kernels off; without a compiler the NumPy block path
is used and :func:`status` says why.  ``activation-lab cache`` shows the cache; ``--clear`` empties it.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import hashlib
import json
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sympy as sp

__all__ = ["NativeKernel", "native_kernel", "native_source", "enabled", "status", "cache_root", "cache_dir",
           "cache_files", "clear_cache", "untrusted", "private_folder", "NATIVE_ENV", "NONFINITE_X", "NAN_RESULT",
           "ZERO_RESULT"]

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
        "   bit 0 some x is not finite, bit 1 some result is not finite, bit 2+k output k holds a zero */",
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
        f"    return (bigx >= 0x7f800000u) | ((big >= 0x7f800000u) << 1) | {zero_bits};",
        "}",
        "",
    ])


_lock = threading.Lock()
_failures: dict[str, str] = {}
_warned: set[str] = set()
_private: list[Path] = []    # this process's private build folder, once one is needed

#: names the cache holds (and the only ones :func:`clear_cache` removes)
_LIBRARY = re.compile(r"al_[0-9a-f]{24}\.so")
_RECORD = re.compile(r"al_[0-9a-f]{24}\.json")
_BUILD_DIR = re.compile(r"\.build-[a-z0-9_]{8}")
#: a build folder older than this was left by a killed build (builds time out after 300 s)
_STALE_BUILD_S = 3600.0


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
    # the orders too: exp(x) has one source for f and f′, and two libraries of one name cannot
    # both be loaded (the loader hands back the first, which says it is the other kernel)
    key = hashlib.sha256("\0".join([source, ",".join(map(str, orders)), *compiler, *_FLAGS, *_LIBS, _cpu()])
                         .encode()).hexdigest()[:24]
    with _lock:
        try:
            path, function = _obtain(source, key, orders, compiler[0])
        except (OSError, subprocess.SubprocessError) as err:
            text = str(err).strip()
            reason = text.splitlines()[-1][:300] if text else repr(err)
            _failures[str(expr)] = f"build failed: {reason}"
            _warn(f"native kernel for {expr} not used ({reason}); NumPy blocks compute it instead")
            return None
    function.restype = ctypes.c_int
    function.argtypes = [ctypes.c_long] + [ctypes.c_void_p] * (1 + len(orders))
    return NativeKernel(orders, source, str(path), function)


# ------------------------------------------------------------------ what the cache trusts
def cache_root() -> Path:
    """The package's cache folder: ``$ACTIVATION_LAB_CACHE``, else ``$XDG_CACHE_HOME/activation-lab``
    or ``~/.cache/activation-lab``."""
    root = os.environ.get("ACTIVATION_LAB_CACHE")
    if root:
        return Path(root)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "activation-lab"


def cache_dir() -> Path:
    """Where built kernels are kept (``native`` in :func:`cache_root`)."""
    return cache_root() / "native"


def _uid() -> int:
    return os.geteuid()


def _warn(message: str) -> None:
    """One line on stderr, once per process for each message."""
    if message not in _warned:
        _warned.add(message)
        print(f"activation-lab: {message}", file=sys.stderr, flush=True)


def untrusted(path: Path, folder: bool) -> str | None:
    """Why ``path`` may not be trusted (a phrase), or None: it must be a folder (followed through
    links) or a regular file (not a link), owned by this user and not writable by group or others."""
    try:
        st = os.stat(path) if folder else os.lstat(path)
    except OSError as err:
        return f"cannot be read ({err.strerror or err})"
    if folder and not stat.S_ISDIR(st.st_mode):
        return "is not a folder"
    if not folder and not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    if st.st_uid != _uid():
        return f"belongs to user id {st.st_uid}, not to you ({_uid()})"
    if st.st_mode & 0o022:
        who = " and ".join(w for w, bit in (("group", 0o020), ("others", 0o002)) if st.st_mode & bit)
        return f"is writable by {who} (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def private_folder(path: Path) -> str | None:
    """Create ``path`` (mode 0700) and its parent if missing; None when both are trusted
    (:func:`untrusted`), else why not."""
    try:
        for directory in (path.parent, path):
            if not directory.is_dir():
                if directory == path.parent:
                    directory.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.mkdir(directory, 0o700)
                except FileExistsError:
                    pass
    except OSError as err:
        return f"folder {str(path)!r} cannot be created ({err.strerror or err})"
    for directory in (path.parent, path):
        why = untrusted(directory, folder=True)
        if why:
            return f"folder {str(directory)!r} {why}"
    return None


def _kernel_folder() -> Path:
    """The cache folder for kernels when it can be trusted; else this process's private temporary
    folder (removed at exit), and one line on stderr saying why."""
    directory = cache_dir()
    why = private_folder(directory)
    if why is None:
        return directory
    _failures["cache"] = why
    _warn(f"kernel cache not used: {why}; kernels are built in a private temporary folder for this run "
          "(make the folder yours with mode 0700, e.g. chmod 700, or point ACTIVATION_LAB_CACHE elsewhere)")
    if not _private:
        work = Path(tempfile.mkdtemp(prefix="activation-lab-native-"))   # 0700, ours
        atexit.register(shutil.rmtree, work, True)   # the loaded libraries stay mapped
        _private.append(work)
    return _private[0]


def _identity(key: str, orders: tuple[int, ...]) -> str:
    return f"{key}|{','.join(map(str, orders))}"


def _record_path(library: Path) -> Path:
    return library.with_suffix(".json")


def _verified(library: Path, key: str, orders: tuple[int, ...]) -> bool:
    """Whether ``library`` may be loaded as the kernel ``key`` for ``orders``: it and its record are
    this user's regular files, not writable by others, and the record names this key, these
    orders, and the SHA-256 of the library as it is now."""
    from ..atomic import sha256_file

    record = _record_path(library)
    if untrusted(library, folder=False) or untrusted(record, folder=False):
        return False
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        wanted = {"key": key, "orders": list(orders)}
        if not isinstance(data, dict) or any(data.get(k) != v for k, v in wanted.items()):
            return False
        return isinstance(data.get("sha256"), str) and sha256_file(library) == data["sha256"]
    except (OSError, ValueError):
        return False


def _open(library: Path, key: str, orders: tuple[int, ...], alias: bool = False) -> Any | None:
    """``al_run`` of ``library`` once loaded, if the library says it is the kernel ``key`` for
    ``orders`` (its exported ``al_identity``); else None, and the library is unloaded.
    ``alias``: load it through a link of another name, so that the dynamic loader cannot hand
    back a library of the same name loaded before."""
    import _ctypes

    name, scratch = library, None
    if alias:
        scratch = Path(tempfile.mkdtemp(prefix="activation-lab-load-"))
        name = scratch / library.name
        os.link(library, name) if library.stat().st_dev == scratch.stat().st_dev else shutil.copy2(library, name)
    try:
        lib = ctypes.CDLL(str(name))
    except OSError:
        return None
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    try:
        identify = lib.al_identity
        identify.restype, identify.argtypes = ctypes.c_char_p, []
        if identify() == _identity(key, orders).encode():
            return lib.al_run
    except AttributeError:
        pass
    try:
        _ctypes.dlclose(lib._handle)
    except OSError:
        pass
    return None


def _discard(library: Path) -> bool:
    """Clear the name of a kernel that may not be used; False where something else (a folder
    with files in it) holds the name."""
    for path in (library, _record_path(library)):
        try:
            if path.is_dir() and not path.is_symlink():
                os.rmdir(path)
            else:
                path.unlink(missing_ok=True)
        except OSError:
            return False
    return True


def _obtain(source: str, key: str, orders: tuple[int, ...], cc: str) -> tuple[Path, Any]:
    """(library, its al_run): the cached kernel when it verifies and says it is this one,
    else built afresh (once) and loaded."""
    directory = _kernel_folder()
    library = directory / f"al_{key}.so"
    loaded_before = False
    if _verified(library, key, orders):
        function = _open(library, key, orders)
        if function is not None:
            return library, function
        loaded_before = True
    if not _discard(library):
        _warn(f"{str(library)!r} is held by something else; kernels are built in a private temporary folder")
        if not _private:
            work = Path(tempfile.mkdtemp(prefix="activation-lab-native-"))
            atexit.register(shutil.rmtree, work, True)
            _private.append(work)
        directory, library = _private[0], _private[0] / library.name
    _build(source, key, orders, cc, library)
    function = _open(library, key, orders, alias=loaded_before)
    if function is None:
        raise OSError(f"the library built for this kernel ({library}) does not load as it")
    return library, function


def _remove_stale_builds(directory: Path) -> None:
    now = time.time()
    for entry in directory.iterdir():
        try:
            st = entry.lstat()
        except OSError:
            continue
        if (_BUILD_DIR.fullmatch(entry.name) and stat.S_ISDIR(st.st_mode) and st.st_uid == _uid()
                and now - st.st_mtime > _STALE_BUILD_S):
            shutil.rmtree(entry, ignore_errors=True)


def _write_private(path: Path, text: str, work: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".record-", dir=work)     # 0600
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _build(source: str, key: str, orders: tuple[int, ...], cc: str, library: Path) -> None:
    """Compile ``source`` into ``library``: built in a private folder beside it, renamed into place
    (a concurrent process sees the old state or the whole file), then its record written."""
    from ..atomic import sha256_file

    directory = library.parent
    _remove_stale_builds(directory)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=directory))    # 0700
    c_file, so_file = work / "kernel.c", work / "kernel.so"
    try:
        # the library says which kernel it is, checked after every load
        c_file.write_text(f"{source}\nconst char *al_identity(void) {{ return \"{_identity(key, orders)}\"; }}\n",
                          encoding="utf-8")
        done = subprocess.run([cc, *_FLAGS, "-o", str(so_file), str(c_file), *_LIBS],
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise subprocess.SubprocessError((done.stderr or done.stdout or f"exit {done.returncode}").strip())
        os.chmod(so_file, 0o700)    # whatever the umask: nobody else may write it
        digest = sha256_file(so_file)
        os.replace(so_file, library)
        record = {"key": key, "orders": list(orders), "sha256": digest, "compiler": cc}
        _write_private(_record_path(library), json.dumps(record) + "\n", work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def cache_files() -> list[Path]:
    """The files and build folders of the cache that :func:`clear_cache` would remove."""
    directory = cache_dir()
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return []
    from ..atomic import TEMP_NAME

    return [p for p in entries if _LIBRARY.fullmatch(p.name) or _RECORD.fullmatch(p.name)
            or _BUILD_DIR.fullmatch(p.name) or TEMP_NAME.fullmatch(p.name)]


def clear_cache() -> list[Path]:
    """Remove the cached kernels (only the names this module writes); returns what was removed."""
    removed = []
    with _lock:
        for path in cache_files():
            try:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed.append(path)
            except OSError:
                pass
        _kernel.cache_clear()
    return removed


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
    where = f"cache {cache_dir()}" if "cache" not in _failures else f"kernel cache not used: {_failures['cache']}"
    return f"native kernels for float32 ({compiler[1]}, vector math from libmvec); {where}"
