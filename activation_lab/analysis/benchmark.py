"""Runtime of activations: the paper's experiment (10⁶ float32 values from N(0, 1), value and
derivative), for any activation and backend, as ratios measured in one process.

Every timed task (forward f, derivative f′, both fused, per activation and backend, plus a
plain copy of the same array) runs once per round, rounds are repeated, and each task's
median and quartiles over the rounds are reported in ns per element.  Interleaving the
rounds spreads machine noise evenly over the tasks; the copy measured in the same rounds is
the memory-bandwidth floor each time is compared with.  For comparison the same functions
are timed as naive NumPy code (SymPy's ``lambdify`` of f and f′, computing in the input's
dtype), and with PyTorch (eager) and JAX (jit) where those are installed: on the CPU beside
the numpy backend, on the GPU beside the cupy backend (each against its own copy).

The ``torch`` and ``jax`` backends time training's step instead: forward and backward (f, then
f′ by autograd, per element) of this project's export (:mod:`activation_lab.export`), of the
framework's built-in where it has one, and of the formula typed into the framework
(:func:`~activation_lab.analysis.framework_audit.naive_function`), each eager and compiled
(``torch.compile(fullgraph=True)``, ``jax.jit``), on the CPU and on the GPU where one is
available, in the same interleaved rounds; the ratio column is naive's time over this one, same
framework, device and compilation.
"""

from __future__ import annotations

import collections
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Timing", "Benchmark", "benchmark", "MODES", "OUT_MODE", "BACKEND_ORDER", "FRAMEWORK_GROUP",
           "FRAMEWORK_MODES"]

#: what is timed for every library: f, f′, and both from one call
MODES = ("forward", "derivative", "fused")
#: our backends also: f and f′ written into the same two arrays every time (``out=``), which
#: leaves out the cost of fresh result memory (a page fault per 4 KiB on first touch)
OUT_MODE = "fused-out"
#: the rows' backends, in table order: ours, naive NumPy, then PyTorch and JAX on CPU and GPU
BACKEND_ORDER = ("numpy", "cupy", "numpy-naive", "torch", "jax", "torch-cuda", "jax-gpu")
_ORDERS = {"forward": 0, "derivative": 1, "fused": (0, 1)}
#: backends that time forward plus backward of the exports against the framework's own
FRAMEWORK_BACKENDS = ("torch", "jax")
#: the torch/jax backends' rows: implementation and compilation, each forward plus backward
FRAMEWORK_MODES = tuple(f"{kind}-{how}" for kind in ("export", "builtin", "naive") for how in ("eager", "compiled"))
#: activations timed by the torch/jax backends unless names are given (compiling takes seconds each)
FRAMEWORK_GROUP = ("telu", "gelu", "silu", "mish")


@dataclass(frozen=True)
class Timing:
    """One timed task.

    Attributes:
        activation: activation name ("" for the copy).
        backend: ``numpy``, ``cupy`` (ours), ``numpy-naive``, ``torch``, ``jax`` (CPU),
            ``torch-cuda``, ``jax-gpu`` (GPU); see :data:`BACKEND_ORDER`.
        mode: ``forward`` (f), ``derivative`` (f′), ``fused`` (f and f′ in one call),
            ``fused-out`` (the same into reused arrays, ``out=``; numpy and cupy rows) or ``copy``;
            with the torch and jax backends, forward plus backward of ``export``, ``builtin`` or
            ``naive``, ``eager`` or ``compiled`` (see :data:`FRAMEWORK_MODES`).
        median_ns, q25_ns, q75_ns: ns per element over the rounds (median and quartiles).
        copy_ratio: median / median of a plain copy of the same array, same backend, same run.
        speedup_vs_naive: naive NumPy's median / this median (numpy and cupy rows, where naive NumPy
            was timed); for export and builtin rows, naive autograd's median / this median (same
            framework, device and compilation); else None.
        page_faults: median minor page faults per call (the process's, where the OS reports them):
            fresh output memory costs a fault per 4 KiB page, which at 10⁶ elements can cost
            more than the arithmetic, depending on whether the allocator reuses memory.
    """

    activation: str
    backend: str
    mode: str
    median_ns: float
    q25_ns: float
    q75_ns: float
    copy_ratio: float
    speedup_vs_naive: float | None = None
    page_faults: float | None = None

    @property
    def spread_ns(self) -> float:
        """Interquartile range in ns per element."""
        return self.q75_ns - self.q25_ns


@dataclass(frozen=True)
class Benchmark:
    """Timings of one run, with the conditions they were measured under."""

    n: int
    dtype: str
    repeat: int
    threads: int
    timings: tuple[Timing, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def rows(self) -> list[list[str]]:
        out = []
        for t in self.timings:
            speed = f"{t.speedup_vs_naive:.2f}" if t.speedup_vs_naive is not None else ""
            faults = f"{t.page_faults:.0f}" if t.page_faults is not None else ""
            out.append([t.activation or "-", t.backend, t.mode, f"{t.median_ns:.3f}", f"{t.spread_ns:.3f}",
                        f"{t.copy_ratio:.2f}", speed, faults])
        return out

    HEADER = ("activation", "backend", "mode", "ns/elem", "IQR", "x copy", "x faster than naive", "page faults")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for row, t in zip(data["timings"], self.timings, strict=True):
            row["spread_ns"] = t.spread_ns
        return data

    def __str__(self) -> str:
        cells = [list(self.HEADER)] + self.rows()
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.HEADER))]
        lines = [f"n = {self.n} {self.dtype} from N(0, 1), {self.repeat} interleaved rounds, {self.threads} threads"]
        for i, r in enumerate(cells):
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _lambdified(act: Any, module: str, namespace: dict[str, Any]) -> dict[str, Callable[[Any], Any]]:
    """lambdify(f), lambdify(f′) and lambdify([f, f′]): no stable forms, no shared subexpressions.

    Constants such as √2 are folded to floats first (``torch.sqrt(2)`` is an error), and the
    printer is not strict, so a function without a printer of its own (erfc for PyTorch) is
    printed by name and taken from ``namespace``.
    """
    import sympy as sp

    from ..numeric.program import fold_numbers
    from ..symbolic.parsing import X

    printer = None
    if module == "torch":
        from sympy.printing.pytorch import TorchPrinter

        printer = TorchPrinter({"strict": False})
    f = fold_numbers(act.expr)
    df = fold_numbers(sp.diff(act.expr, X))
    modules = [namespace, module]
    return {"forward": sp.lambdify(X, f, modules, printer=printer),
            "derivative": sp.lambdify(X, df, modules, printer=printer),
            "fused": sp.lambdify(X, [f, df], modules, printer=printer)}


class _NoDeviceError(Exception):
    """The library is installed but has no device of the kind asked for (no rows, no note)."""


@dataclass(frozen=True)
class _Library:
    """How to time lambdified functions in another array library on one device."""

    label: str                              # the rows' backend name
    module: str                             # lambdify's module name
    namespace: dict[str, Any]               # meanings of the package's primitives
    run: Callable[[Callable], Callable]     # a lambdified function -> a task running it to completion
    copy: Callable[[], Any] | None          # a plain copy of the input, to completion (None: NumPy's)
    note: str


def _other_libraries(acts: Sequence[Any], x_host: Any, notes: list[str], cpu: bool, gpu: bool
                     ) -> dict[tuple[str, str, str], Callable]:
    """Timings of the lambdified f and f′ in other libraries: naive NumPy, PyTorch (eager) and
    JAX (jit) on the CPU (rows ``numpy-naive``, ``torch``, ``jax``) when ``cpu``, PyTorch and JAX
    on the GPU (``torch-cuda``, ``jax-gpu``) when ``gpu``; PyTorch and JAX where installed.

    Each task is built and run once here; an activation that fails in a library (a function
    it lacks) is left out of that library's rows with a note saying why.
    """
    tasks: dict[tuple[str, str, str], Callable] = {}
    wanted = [(label, device, make) for label, device, make in (
        ("numpy-naive", "cpu", _naive), ("torch", "cpu", _torch), ("jax", "cpu", _jax),
        ("torch-cuda", "cuda", _torch), ("jax-gpu", "gpu", _jax))
        if (cpu if device == "cpu" else gpu)]
    for label, device, make in wanted:
        try:
            lib = make(x_host, label, device)
        except (ImportError, _NoDeviceError):
            continue
        except Exception as err:  # noqa: BLE001 - reported, and the other rows are still timed
            notes.append(f"{label} rows left out: {type(err).__name__}: {err}")
            continue
        if lib.copy is not None:
            lib.copy()
            tasks[("", label, "copy")] = lib.copy
        for name, act in acts:
            try:
                built = {mode: lib.run(fn) for mode, fn in _lambdified(act, lib.module, lib.namespace).items()}
                for task in built.values():
                    task()  # compiles (jit) and checks that it runs
            except Exception as err:  # noqa: BLE001 - reported, and the other rows are still timed
                first = str(err).strip().splitlines()[0] if str(err).strip() else ""
                notes.append(f"{label}: {name} left out ({type(err).__name__}: {first[:160]})")
                continue
            tasks.update({(name, label, mode): task for mode, task in built.items()})
        notes.append(lib.note)
    return tasks


def _distinct(acts: Sequence[Any]) -> list[tuple[str, Any]]:
    """(row label, activation) pairs: the name, with the parameters where two share a name
    (Swish with β = 1 and β = 2); the same activation twice is timed once."""
    unique = list(dict.fromkeys(acts))        # Activations compare by name, formula and parameters
    counts = collections.Counter(a.name for a in unique)
    out: dict[str, Any] = {}
    for act in unique:
        label = act.name
        if counts[act.name] > 1:
            label += "(" + ",".join(f"{k}={v:g}" for k, v in act.params.items()) + ")"
        out.setdefault(label, act)
    return list(out.items())


def _naive(x_host: Any, label: str, device: str) -> _Library:
    """Naive NumPy: SciPy's meanings of the package's primitives, computing in x's dtype."""
    import numpy as np
    from scipy import special

    ns = {"sigmoid": special.expit, "softplus": lambda u: np.logaddexp(0, u), "erf": special.erf,
          "erfc": special.erfc, "expm1": np.expm1, "log1p": np.log1p}
    return _Library(label, "numpy", ns, run=lambda fn: (lambda: fn(x_host)), copy=None,
                    note="numpy-naive: SymPy's lambdify of f and f' with NumPy/SciPy, one thread")


def _torch(x_host: Any, label: str, device: str) -> _Library:
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise _NoDeviceError
    xt = torch.from_numpy(x_host.copy()).to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    from .framework_audit import naive_namespace

    ns = naive_namespace("torch")
    where = f"{torch.get_num_threads()} threads" if device == "cpu" else torch.cuda.get_device_name(xt.device)
    return _Library(label, "torch", ns, run=lambda fn: (lambda: (fn(xt), sync())), copy=lambda: (xt.clone(), sync()),
                    note=f"{label}: torch {torch.__version__}, eager, lambdified f and f', {where}")


def _jax(x_host: Any, label: str, device: str) -> _Library:
    import os

    # JAX takes 75 % of a GPU's memory at its first use unless told otherwise: leave it to CuPy
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    import jax

    try:
        target = jax.devices(device)[0]
    except RuntimeError:  # no such platform here
        raise _NoDeviceError from None
    xj = jax.device_put(x_host, target)
    from .framework_audit import naive_namespace

    ns = naive_namespace("jax")
    copy = jax.jit(lambda v: v + 0)
    def run(fn: Callable) -> Callable[[], Any]:
        jitted = jax.jit(fn)
        return lambda: jax.block_until_ready(jitted(xj))

    return _Library(label, "jax", ns, run=run, copy=lambda: copy(xj).block_until_ready(),
                    note=f"{label}: jax {jax.__version__}, jit of lambdified f and f', on {target.device_kind}")


def benchmark(names: Sequence[Any] | None = None, n: int = 1_000_000, backends: Sequence[str] = ("numpy",),
              repeat: int = 30, dtype: str = "float32", seed: int = 0, others: bool = True) -> Benchmark:
    """Time f, f′ and both together for each activation and backend; with the ``torch`` and ``jax``
    backends, forward plus backward of the exports against the frameworks' own and naive autograd.

    Parameters
    ----------
    names : sequence of str or Activation, optional
        Activation names or Activation objects (default: the paper's group; with only
        torch/jax backends :data:`FRAMEWORK_GROUP`).
    n : int, optional
        Elements in the input array.
    backends : sequence of str, optional
        ``numpy`` and/or ``cupy`` (the array then lives on the GPU); ``torch`` and/or ``jax``
        (:data:`FRAMEWORK_MODES` rows on the CPU, and on a GPU where there is one).
    repeat : int, optional
        Interleaved rounds; medians and quartiles are taken over them.
    dtype : str, optional
        float16, bfloat16, float32 or float64.
    seed : int, optional
        Seed of the N(0, 1) input.
    others : bool, optional
        Include the same functions in other libraries: with the numpy backend naive NumPy, and
        PyTorch/JAX on the CPU; with the cupy backend PyTorch/JAX on the GPU (each where
        installed).

    Returns
    -------
    Benchmark
        Times in ns per element and ratios measured side by side in one run (to a copy of the
        same array; for torch/jax, naive autograd's time over each row's).

    Raises
    ------
    ActivationLabError
        A bad ``n``, ``repeat`` or ``dtype``, no backend, or a backend that is not available
        (the message says what is).
    UnknownActivationError
        An unknown name (with close matches).
    """
    import numpy as np

    from ..catalog import PAPER_GROUP
    from ..errors import ActivationLabError
    from ..numeric.backends import get_backend
    from ..numeric.evaluate import evaluate
    from ..numeric.fused import workers
    from ..requests import float_dtype
    from ..symbolic.activation import get

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ActivationLabError(f"n must be a positive integer, got {n!r}")
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ActivationLabError(f"repeat must be a positive integer, got {repeat!r}")
    if dtype not in ("float16", "bfloat16", "float32", "float64"):
        raise ActivationLabError(f"dtype {dtype!r} is not one of float16, bfloat16, float32, float64")
    if isinstance(names, str):
        names = [names]
    backends = list(dict.fromkeys([backends] if isinstance(backends, str) else backends))
    if not backends:
        raise ActivationLabError("no backend to benchmark; choose numpy, cupy, torch and/or jax, "
                                 "e.g. --backend numpy,cupy")
    for name in backends:
        if name not in ("numpy", "cupy", *FRAMEWORK_BACKENDS):
            raise ActivationLabError(f"backend {name!r} cannot be benchmarked; choose numpy, cupy, torch and/or jax")
        if name in FRAMEWORK_BACKENDS:
            _framework_module(name)  # a clear error now if it is not installed
        else:
            get_backend(name)  # a clear error now if CuPy is missing
    ours = [b for b in backends if b not in FRAMEWORK_BACKENDS]
    acts = _distinct([get(a) if isinstance(a, str) else a
                      for a in (names or (PAPER_GROUP if ours else FRAMEWORK_GROUP))])
    x_host = np.random.default_rng(seed).standard_normal(n, dtype=np.float32).astype(float_dtype(dtype))
    notes: list[str] = []
    tasks: dict[tuple[str, str, str], Callable[[], Any]] = {}

    if "numpy" in backends:
        tasks[("", "numpy", "copy")] = x_host.copy
        for name, act in acts:
            for mode in MODES:
                tasks[(name, "numpy", mode)] = lambda a=act, o=_ORDERS[mode]: evaluate(a, x_host, n=o)
            reused = (np.empty_like(x_host), np.empty_like(x_host))
            tasks[(name, "numpy", OUT_MODE)] = lambda a=act, r=reused: evaluate(a, x_host, n=(0, 1), out=r)
    if "cupy" in backends:
        cupy = sys.modules["cupy"]
        x_dev = cupy.asarray(x_host)
        sync = cupy.cuda.Device().synchronize

        def on_gpu(fn: Callable[[], Any]) -> Callable[[], None]:
            return lambda: (fn(), sync())

        tasks[("", "cupy", "copy")] = on_gpu(x_dev.copy)
        for name, act in acts:
            for mode in MODES:
                tasks[(name, "cupy", mode)] = on_gpu(lambda a=act, o=_ORDERS[mode]: evaluate(a, x_dev, n=o))
            reused = (cupy.empty_like(x_dev), cupy.empty_like(x_dev))
            tasks[(name, "cupy", OUT_MODE)] = on_gpu(lambda a=act, r=reused: evaluate(a, x_dev, n=(0, 1), out=r))
        gpu = cupy.cuda.runtime.getDeviceProperties(x_dev.device.id)["name"]
        notes.append(f"cupy {cupy.__version__} on {gpu.decode() if isinstance(gpu, bytes) else gpu}")
    if others and ours:
        with np.errstate(all="ignore"):  # naive code overflows in its intermediates; that is its way
            tasks.update(_other_libraries(acts, x_host, notes, cpu="numpy" in backends, gpu="cupy" in backends))
    frameworks = [b for b in backends if b in FRAMEWORK_BACKENDS]
    if frameworks:
        acts_fw = acts if names else _distinct([get(a) for a in FRAMEWORK_GROUP])
        with np.errstate(all="ignore"):
            tasks.update(_framework_tasks(acts_fw, x_host, frameworks, notes))

    if "numpy" in backends and dtype == "float32":
        from ..numeric.native import status

        notes.append(f"numpy backend: {status()}")
    faults = _fault_counter()
    samples: dict[tuple[str, str, str], list[float]] = {key: [] for key in tasks}
    fault_samples: dict[tuple[str, str, str], list[float]] = {key: [] for key in tasks}
    # each runtime in its own interleaved rounds, one after the other: every ratio is within one
    # runtime, and interleaved with JAX's rounds PyTorch's eager rows took twice their time
    groups: dict[str, dict[tuple[str, str, str], Callable]] = {}
    for key, fn in tasks.items():
        groups.setdefault(_runtime(key[1]), {})[key] = fn
    with np.errstate(all="ignore"):  # naive code overflows in its intermediates; that is its way
        for group in groups.values():
            for fn in group.values():
                fn()  # warm up: code generation, kernel compilation, jit, caches
            for _ in range(repeat):
                for key, fn in group.items():
                    before = faults()
                    start = time.perf_counter()
                    fn()
                    samples[key].append((time.perf_counter() - start) / n * 1e9)
                    fault_samples[key].append(faults() - before)
    return Benchmark(n=n, dtype=dtype, repeat=repeat, threads=workers(),
                     timings=_summarise(samples, list(dict.fromkeys(
                         [name for name, _ in acts] + [key[0] for key in samples if key[0]])),
                                        fault_samples if faults is not _no_faults else None),
                     notes=tuple(notes))


def _runtime(label: str) -> str:
    """The runtime a row's label runs in: ``torch`` and ``torch-cuda`` rows in PyTorch's, ``jax``
    and ``jax-gpu`` in JAX's, everything else (NumPy, CuPy and the naive libraries) together."""
    head = label.split("-")[0]
    return head if head in FRAMEWORK_BACKENDS else "arrays"


#: PyTorch's own deprecation warnings from inside torch.compile (dynamo instantiates every
#: autograd.Function it traces; inductor's import touches torch.jit.script_method): not the user's
_COMPILER_WARNINGS = (r"<class 'torch\.autograd\.function\.Function'> should not be instantiated",
                      r"`torch\.jit\.script_method` is deprecated")


def _framework_module(name: str) -> Any:
    import importlib

    from ..errors import ActivationLabError

    try:
        return importlib.import_module(name)
    except ImportError:
        raise ActivationLabError(f"the {name} backend needs {name}: pip install 'activation-lab[{name}]'") from None


def _torch_step(fn: Callable, x: Any, how: str, sync: Callable[[], Any]) -> Callable[[], Any]:
    """Forward and backward of ``fn`` at tensor ``x`` (autograd, a gradient of ones), eager or compiled."""
    import torch

    f = torch.compile(fn, fullgraph=True) if how == "compiled" else fn
    ones = torch.ones_like(x)

    def step() -> Any:
        leaf = x.detach().requires_grad_(True)
        y = f(leaf)
        (g,) = torch.autograd.grad(y, leaf, ones)
        sync()
        return y, g

    return step


def _jax_step(fn: Callable, x: Any, how: str) -> Callable[[], Any]:
    """Forward and backward of ``fn`` at array ``x`` (``jax.vjp`` with a cotangent of ones), op by op or jit."""
    import jax
    import jax.numpy as jnp

    def forward_backward(v: Any) -> Any:
        y, pullback = jax.vjp(fn, v)
        return y, pullback(jnp.ones_like(y))[0]

    f = jax.jit(forward_backward) if how == "compiled" else forward_backward
    return lambda: jax.block_until_ready(f(x))


def _framework_devices(framework: str, x_host: Any) -> list[tuple[str, Any, Callable[[], Any], str]]:
    """(row label, the input on the device, a copy task, where) for the CPU and a GPU if there is one."""
    out = []
    if framework == "torch":
        import torch

        from .framework_audit import to_torch

        xt = to_torch(x_host)
        out.append(("torch", xt, xt.clone, f"CPU, {torch.get_num_threads()} threads"))
        if torch.cuda.is_available():
            xc = xt.to("cuda")
            out.append(("torch-cuda", xc, lambda: (xc.clone(), torch.cuda.synchronize()),
                        torch.cuda.get_device_name(xc.device)))
        return out
    import os

    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    import jax

    copy = jax.jit(lambda v: v + 0)
    for label, platform in (("jax", "cpu"), ("jax-gpu", "gpu")):
        try:
            target = jax.devices(platform)[0]
        except RuntimeError:
            continue
        xj = jax.device_put(x_host, target)
        out.append((label, xj, lambda v=xj: copy(v).block_until_ready(), target.device_kind))
    return out


def _framework_tasks(acts: Sequence[tuple[str, Any]], x_host: Any, frameworks: Sequence[str], notes: list[str]
                     ) -> dict[tuple[str, str, str], Callable]:
    """Forward plus backward tasks of export, built-in and naive autograd, eager and compiled, per device.

    Each is built and run once here (compiling it, and checking that it runs); one that fails is
    left out with a note saying why.
    """
    from .framework_audit import framework_function

    tasks: dict[tuple[str, str, str], Callable] = {}
    for fw in frameworks:
        module = _framework_module(fw)
        for label, x, copy, where in _framework_devices(fw, x_host):
            copy()
            tasks[("", label, "copy")] = copy
            sync = module.cuda.synchronize if label == "torch-cuda" else (lambda: None)
            for name, act in acts:
                for kind in ("export", "builtin", "naive"):
                    try:
                        fn = framework_function(fw, kind, act)
                    except Exception as err:  # noqa: BLE001 - reported, the other rows are still timed
                        notes.append(f"{label}: {name} {kind} left out ({type(err).__name__}: {str(err)[:160]})")
                        continue
                    if fn is None:
                        continue
                    for how in ("eager", "compiled"):
                        try:
                            step = _torch_step(fn, x, how, sync) if fw == "torch" else _jax_step(fn, x, how)
                            with warnings.catch_warnings():
                                for message in _COMPILER_WARNINGS:
                                    warnings.filterwarnings("ignore", message=message, category=DeprecationWarning)
                                step()   # compiles, and checks that it runs
                        except Exception as err:  # noqa: BLE001 - reported, the other rows are still timed
                            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
                            notes.append(f"{label}: {name} {kind}-{how} left out ({type(err).__name__}: "
                                         f"{first[:160]})")
                            continue
                        tasks[(name, label, f"{kind}-{how}")] = step
            compiled = "torch.compile(fullgraph=True)" if fw == "torch" else "jax.jit"
            # JAX's export computes in float64 where 64-bit types are on, else in float32 (the
            # naive formula and jax.nn in x's dtype either way): say which, the times depend on it
            x64 = "" if fw == "torch" else (
                "; 64-bit types on (JAX_ENABLE_X64): the export computes float32 in float64"
                if module.config.jax_enable_x64 else "; 64-bit types off: the export computes in float32")
            notes.append(f"{label}: {fw} {module.__version__} on {where}; forward + backward per element; "
                         f"compiled = {compiled}{x64}; the ratio column is naive autograd's time over this one")
    return tasks


def _no_faults() -> float:
    return 0.0


def _fault_counter() -> Callable[[], float]:
    """The process's minor page faults so far, where the OS reports them (not on Windows)."""
    try:
        import resource
    except ImportError:
        return _no_faults
    return lambda: float(resource.getrusage(resource.RUSAGE_SELF).ru_minflt)


def _summarise(samples: dict[tuple[str, str, str], list[float]], names: list[str],
               faults: dict[tuple[str, str, str], list[float]] | None = None) -> tuple[Timing, ...]:
    def quartiles(v: list[float]) -> tuple[float, float, float]:
        if len(v) < 2:
            return v[0], v[0], v[0]
        q = statistics.quantiles(v, n=4, method="inclusive")
        return q[0], statistics.median(v), q[2]

    stats = {key: quartiles(v) for key, v in samples.items()}
    copy_family = {backend: backend for (_, backend, _) in stats}
    copy_family["numpy-naive"] = "numpy"
    out = []
    for (name, backend, mode), (q25, med, q75) in stats.items():
        copy = stats[("", copy_family[backend], "copy")][1]
        if mode in FRAMEWORK_MODES:
            kind, how = mode.split("-")
            naive = stats.get((name, backend, f"naive-{how}")) if kind != "naive" else None
            speedup = naive[1] / med if naive else None
        else:
            naive = stats.get((name, "numpy-naive", mode))
            speedup = naive[1] / med if naive and backend in ("numpy", "cupy") and mode != "copy" else None
        page_faults = statistics.median(faults[(name, backend, mode)]) if faults else None
        out.append(Timing(name, backend, mode, med, q25, q75, med / copy, speedup, page_faults))
    # copies first, then by activation (in the order asked), backend, mode
    rank = {name: i for i, name in enumerate(["", *names])}
    backend_rank = {b: i for i, b in enumerate(BACKEND_ORDER)}
    mode_rank = {m: i for i, m in enumerate(("copy", *MODES, OUT_MODE, *FRAMEWORK_MODES))}
    return tuple(sorted(out, key=lambda t: (rank[t.activation], backend_rank[t.backend], mode_rank[t.mode])))
