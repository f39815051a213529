"""Fast NumPy evaluation of f⁽ⁿ⁾ for several orders at once: cache-sized blocks, reused buffers, all cores.

The accurate path (:mod:`activation_lab.numeric.evaluate`) runs the program of each order
(:mod:`activation_lab.numeric.program`, printed by :mod:`activation_lab.numeric.codegen`) on the
whole array, one full-size float64 temporary per step.  Here the same program's steps (fast
variant) are lowered, without printing, to ufunc calls that write into a few preallocated
float64 buffers of one block (:data:`BLOCK` elements, so they stay in the caches, not in memory):

* the operations of all requested orders are merged by value numbering, so f and f′ share
  e.g. eˣ and tanh(eˣ) for TeLU;
* a buffer is reused as soon as its value is dead (in place where possible);
* the last operation of each order writes straight into the output array, rounding float64 to
  the output dtype in the ufunc's cast, as ``astype`` does;
* blocks are spread over a thread pool with one worker per core (NumPy's ufunc loops release
  the GIL), each worker with its own buffers.

The operations, their order and the constants are the accurate path's, so each element is
bit for bit the same.  A block holding a non-finite x, or a nan result, has those elements
recomputed by the accurate path itself (guarded product inf·0 = 0, limits at ±inf).

float32 arrays go instead, where a C compiler is installed, through a native kernel
(:mod:`activation_lab.numeric.native`): the C target's statements in one vectorised loop, in
double, with the same per-block fix-ups.  NumPy ufuncs cannot match it for float32: each
operation is a pass over the block, and float64 runs at half the SIMD width of the float32
that naive code uses.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..errors import ActivationLabError
from ..requests import request
from .accurate import WORK_DTYPE
from .native import NAN_RESULT, NONFINITE_X, ZERO_RESULT, native_kernel
from .outputs import check_out, fill_out
from .primitives import PRIMITIVES, numpy_namespace
from .program import Program, program

__all__ = ["BLOCK", "PARALLEL_MIN", "PARALLEL_MIN_CHEAP", "FusedProgram", "fused_program", "evaluate_fused", "workers"]

#: elements per block: float64 buffers of 512 KiB; fewer, longer ufunc calls leave the GIL free
#: more of the time (measured here: 2 threads 1.5× faster than with 16384, 1.1× than with 32768)
BLOCK = 65536

#: arrays of at least this many elements are spread over threads by default where f⁽ⁿ⁾ calls
#: transcendental functions (exp, log1p, erfc, …); below it, waking a worker costs more than the
#: second core gains (measured here, f and f′ together: TeLU, GELU, Mish faster on two threads
#: from 2^18 elements, slower at 2^17)
PARALLEL_MIN = 4 * BLOCK
#: the same for arithmetic alone (ReLU, hardswish, …), which runs at memory speed: a second
#: thread pays only once the arrays outgrow the caches (measured here: from 2^22 to 2^23)
PARALLEL_MIN_CHEAP = 1 << 22

@dataclass(frozen=True)
class FusedProgram:
    """A block kernel ``run(x, buffers…, outputs…)`` for f⁽ⁿ⁾ at several orders.

    Attributes:
        orders: derivative orders, one output each.
        source: the generated Python source (ufunc calls with explicit outputs).
        float_buffers, bool_buffers, mask_buffers: how many block buffers of each kind
            (float64, bool, uint64) ``run`` needs.
        run: the compiled block function.
    """

    orders: tuple[int, ...]
    source: str
    float_buffers: int
    bool_buffers: int
    mask_buffers: int
    run: Callable[..., None]

    def __str__(self) -> str:
        return (f"fused program for orders {self.orders}: {self.float_buffers} float64, {self.bool_buffers} bool "
                f"and {self.mask_buffers} uint64 block buffers\n{self.source}")


@dataclass
class _Op:
    """One operation of the straight-line program; ``args`` are value ids or constant texts."""

    func: str            # name of the callable in the program's namespace
    args: tuple          # ("v", id) for a value, ("c", text) for a constant expression
    kind: str            # "float" or "bool": the kind of buffer the result goes to; "object": allocated
    style: str           # "ufunc" (explicit output), "select" (numpy.where by bit operations), "call"

    @property
    def buffered(self) -> bool:
        return self.style != "call"


def _bits(a: tuple) -> int | str | None:
    """The float64 bit pattern of a select operand: an int for a literal, "" for an array, None if neither."""
    if a[0] != "c":
        return ""
    try:
        value = float(a[1])
    except ValueError:   # a constant expression or a name (_nan): not a literal
        return None
    return int(np.float64(value).view(np.uint64))


class _Lowering:
    """Lowers a program's steps to block operations with value numbering (common ops merged)."""

    def __init__(self, namespace: dict[str, Any]):
        self.namespace = namespace
        self.ops: list[_Op] = []
        self.numbers: dict[tuple, int] = {}
        self.names: dict[Any, str] = {}    # callable -> name in the generated namespace
        self.env: dict[str, tuple] = {}

    def callable_name(self, fn: Any) -> str:
        if id(fn) not in self.names:
            base = "".join(ch if ch.isalnum() else "_" for ch in getattr(fn, "__name__", "fn"))
            name = f"_{base}"
            while name in self.namespace and self.namespace[name] is not fn:
                name += "_"
            self.names[id(fn)] = name
            self.namespace[name] = fn
        return self.names[id(fn)]

    def emit(self, fn: Any, args: list[tuple], kind: str) -> tuple:
        if all(a[0] == "c" for a in args) and isinstance(fn, np.ufunc):
            # constant subexpression: evaluated as written, once per block, as a scalar
            return ("c", f"{self.callable_name(fn)}({', '.join(a[1] for a in args)})")
        if isinstance(fn, np.ufunc) and fn.nout == 1 and fn.nin == len(args):
            style = "ufunc"
        elif (fn is np.where and len(args) == 3 and args[0][0] == "v" and self.ops[args[0][1]].kind == "bool"
              and all(_bits(a) is not None for a in args[1:])):
            style = "select"
        else:
            style = "call"
        key = (id(fn), tuple(args))
        if key not in self.numbers:
            self.ops.append(_Op(self.callable_name(fn), tuple(args), kind if style != "call" else "object", style))
            self.numbers[key] = len(self.ops) - 1
        return ("v", self.numbers[key])

    def program(self, prog: Program) -> list[tuple]:
        """Lower the steps of ``prog`` and return the value of each of its outputs."""
        values: list[tuple] = []

        def ref(a: tuple) -> tuple:
            if a[0] == "x":
                return ("x",)
            if a[0] == "v":
                return values[a[1]]
            if a[2] == "K":   # the accurate path's float64 constant: the same correctly rounded value
                value = float(a[1])
                if math.isinf(value):
                    return ("c", "_inf" if value > 0 else "(-_inf)")
                return ("c", "_nan" if math.isnan(value) else repr(value))
            if a[2] == "nan":
                return ("c", "_nan")
            return ("c", a[1])

        for step in prog.steps:
            if step.op not in _LOWERED:
                raise NotImplementedError(f"no block form for {step.op}")
            row = PRIMITIVES[step.op]
            values.append(self.emit(self.namespace[f"_p_{row.name}"], [ref(a) for a in step.args], row.kind))
        return [ref(a) for a in prog.outputs]


#: the rows the block runtime runs (the guarded product is for the accurate path's fix-ups only)
_LOWERED = frozenset(PRIMITIVES) - {"mul_guarded"}


def _allocate(ops: list[_Op], results: list[tuple]) -> tuple[list[str], int, int]:
    """Python statements for ``ops`` with buffers reused after each value's last use."""
    last_use: dict[int, int] = {}
    for i, op in enumerate(ops):
        for a in op.args:
            if a[0] == "v":
                last_use[a[1]] = i
    # a ufunc whose value is one output and nothing else writes straight into that output
    direct = {r[1]: k for k, r in enumerate(results)
              if r[0] == "v" and ops[r[1]].style == "ufunc" and ops[r[1]].kind == "float"
              and r[1] not in last_use and results.count(r) == 1}
    for r in results:
        if r[0] == "v":
            last_use[r[1]] = len(ops)  # alive until the outputs are written
    free: dict[str, list[str]] = {"float": [], "bool": []}
    count = {"float": 0, "bool": 0}
    where: dict[int, str] = {}
    masks = 0
    mask: tuple = ()  # (condition value, polarity) of the mask in m0

    def text(a: tuple) -> str:
        return a[1] if a[0] == "c" else "x" if a[0] == "x" else where[a[1]]

    def release(i: int, op: _Op) -> None:
        for a in set(op.args):
            if a[0] == "v" and last_use[a[1]] == i and ops[a[1]].buffered:
                free[ops[a[1]].kind].append(where[a[1]])

    def take(kind: str) -> str:
        if not free[kind]:
            free[kind].append(f"{kind[0]}{count[kind]}")
            count[kind] += 1
        return free[kind].pop()

    lines = []
    for i, op in enumerate(ops):
        args = [text(a) for a in op.args]
        if op.style == "call":
            where[i] = f"v{i}"
            lines.append(f"    v{i} = {op.func}({', '.join(args)})")
            release(i, op)
        elif op.style == "ufunc":
            release(i, op)  # dying operands free their buffer first: a ufunc may run in place
            where[i] = f"out{direct[i]}" if i in direct else take(op.kind)
            lines.append(f"    {op.func}({', '.join(args)}, {where[i]})")
        else:  # select: its buffer must not be one of its operands
            where[i] = take("float")
            release(i, op)
            select = _select_lines(where[i], args[0], *[(text(a), _bits(a)) for a in op.args[1:]])
            key = (op.args[0], select[0].startswith("    _subtract(0,"))  # the condition's value, polarity
            if key == mask:  # m0 holds this mask already (only selects write m0)
                select = select[1:]
            mask = key
            lines += select
            masks = 1
    for k, r in enumerate(results):
        if not (r[0] == "v" and direct.get(r[1]) == k):
            lines.append(f"    _copyto(out{k}, {text(r)}, casting='unsafe')")
    return lines, count["float"], count["bool"], masks


def _select_lines(dst: str, condition: str, a: tuple[str, int | str], b: tuple[str, int | str]) -> list[str]:
    """where(condition, a, b) into float64 buffer ``dst`` by bit operations: b ^ ((a ^ b) & mask).

    The same bits as numpy.where, without its branches (numpy.where and copyto(where=) cost
    about 3 ns per element on an unpredictable condition here; this about 0.5-1).
    """
    def operand(o: tuple[str, int | str]) -> str:
        text, bits = o
        return f"_u64({bits})" if isinstance(bits, int) else f"_as_bits({text})"

    out = f"{dst}.view(_u64)"
    if b[1] == 0:     # a where true, +0.0 elsewhere: a & mask
        return [f"    _subtract(0, {condition}, m0, dtype=_u64)", f"    _bitwise_and({operand(a)}, m0, {out})"]
    if a[1] == 0:     # +0.0 where true, b elsewhere: b & ~mask
        return [f"    _subtract({condition}, 1, m0, dtype=_u64)", f"    _bitwise_and({operand(b)}, m0, {out})"]
    if isinstance(a[1], int) and isinstance(b[1], int):
        first = f"    _bitwise_and(m0, _u64({a[1] ^ b[1]}), {out})"
    else:
        first = f"    _bitwise_xor({operand(a)}, {operand(b)}, {out})\n    _bitwise_and({out}, m0, {out})"
    return [f"    _subtract(0, {condition}, m0, dtype=_u64)", first, f"    _bitwise_xor({out}, {operand(b)}, {out})"]


@functools.lru_cache(maxsize=512)
def fused_program(expr: sp.Expr, orders: tuple[int, ...]) -> FusedProgram | None:
    """The block program computing f⁽ⁿ⁾ for each n in ``orders`` (cached per expression), or
    None where the generated code holds a construct the lowering does not know."""
    namespace = _block_namespace()
    lowering = _Lowering(namespace)
    try:
        # each order's own program (as the accurate path runs it), merged by value numbering
        results = [r for k in orders for r in lowering.program(program(expr, (k,)))]
    except NotImplementedError:
        return None
    lines, n_float, n_bool, n_mask = _allocate(lowering.ops, results)
    params = ["x"] + [f"f{i}" for i in range(n_float)] + [f"b{i}" for i in range(n_bool)]
    params += [f"m{i}" for i in range(n_mask)] + [f"out{k}" for k in range(len(orders))]
    source = f"def _block({', '.join(params)}):\n" + "\n".join(lines) + "\n"
    namespace.update(_copyto=np.copyto, _u64=np.uint64, _subtract=np.subtract, _bitwise_and=np.bitwise_and,
                     _bitwise_xor=np.bitwise_xor, _as_bits=_as_bits)
    exec(compile(source, f"<activation_lab fused: {expr} {orders}>", "exec"), namespace)  # noqa: S102
    return FusedProgram(tuple(orders), source, n_float, n_bool, n_mask, namespace["_block"])


def _block_namespace() -> dict[str, Any]:
    """The table's float64 callables (SciPy's ufuncs themselves, so that they write into buffers)."""
    from scipy import special

    namespace = numpy_namespace("float64")
    namespace.update(_p_sigmoid=special.expit, _p_erf=special.erf, _p_erfc=special.erfc, _nan=np.float64("nan"),
                     _inf=np.float64("inf"))
    return namespace


def _as_bits(v: Any) -> np.ndarray:
    """A float64 array or number as its uint64 bit patterns (a view where possible)."""
    return np.asarray(v, dtype=np.float64).view(np.uint64)


@functools.lru_cache(maxsize=1024)
def _costly(expr: sp.Expr, orders: tuple[int, ...]) -> bool:
    """Whether f⁽ⁿ⁾ for these orders calls a transcendental function (or anything beyond
    arithmetic, comparisons and |·|), so that a second thread pays on mid-sized arrays."""
    from .rewrite import stable_derivative

    cheap = (sp.Add, sp.Mul, sp.Abs, sp.Max, sp.Min, sp.Piecewise, sp.Heaviside, sp.sign)
    for k in orders:
        for node in sp.preorder_traversal(stable_derivative(expr, k)):
            if isinstance(node, sp.Pow):
                if not (node.exp.is_Integer and abs(node.exp) <= 4):
                    return True
            elif isinstance(node, sp.Function) and not isinstance(node, cheap):
                return True
    return False


@functools.lru_cache(maxsize=16)
def _work(dtype: np.dtype) -> str:
    """The dtype the accurate path computes in for results of ``dtype``."""
    return WORK_DTYPE[dtype.name]


def workers() -> int:
    """Threads used: the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@functools.cache
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="activation_lab")


def _share(work: Callable[[int, int], None], spans: list[tuple[int, int]], threads: int) -> None:
    """``work(lo, hi)`` for every span, taken in turn by the calling thread and ``threads - 1``
    pool workers.  The caller works too: its core is awake, while waking an idle one costs
    50–300 µs in a virtual machine (measured here), a tenth of the whole call at 10⁶ elements."""
    spans_left = iter(spans)
    lock = threading.Lock()

    def take_turns() -> None:
        while True:
            with lock:
                span = next(spans_left, None)
            if span is None:
                return
            work(*span)

    helpers = [_pool(threads - 1).submit(take_turns) for _ in range(threads - 1)]
    try:
        take_turns()
    finally:
        for f in helpers:
            f.result()  # wait for the helpers (their errors too) before the outputs are returned


# a forked child has the parent's pool object but none of its threads: start afresh there
os.register_at_fork(after_in_child=_pool.cache_clear)


_local = threading.local()
_sum = np.add.reduce
_max = np.maximum.reduce


def _buffers(program: FusedProgram, block: int) -> list[np.ndarray]:
    """This thread's block buffers for ``program``, allocated once and reused."""
    cache = getattr(_local, "buffers", None)
    if cache is None:
        cache = _local.buffers = {}
    key = (program.float_buffers, program.bool_buffers, program.mask_buffers, block)
    if key not in cache:
        cache[key] = ([np.empty(block) for _ in range(program.float_buffers)]
                      + [np.empty(block, dtype=bool) for _ in range(program.bool_buffers)]
                      + [np.empty(block, dtype=np.uint64) for _ in range(program.mask_buffers)]
                      + [np.empty(block)])  # the last holds x converted to float64
    return cache[key]


def _run_range(expr: sp.Expr, program: FusedProgram, x: np.ndarray, outs: list[np.ndarray],
               start: int, stop: int, block: int = BLOCK) -> None:
    *work, x_buffer = _buffers(program, block)
    with np.errstate(all="ignore"):  # intermediate overflow is expected; the result is what counts
        for lo in range(start, stop, block):
            hi = min(lo + block, stop)
            m = hi - lo
            if x.dtype == np.float64:
                xb = x[lo:hi]          # read only: every op writes to a buffer or an output
            else:
                xb = x_buffer[:m]
                np.copyto(xb, x[lo:hi], casting="unsafe")
            blocks = [o[lo:hi] for o in outs]
            program.run(xb, *[b[:m] for b in work], *blocks)
            # a non-finite x or result (the sum is not finite; rarely a false alarm from overflow):
            # those elements again through the accurate path, in long double where double overflowed
            suspect = not np.isfinite(_sum(xb)) or any(not np.isfinite(_sum(b)) for b in blocks)
            zeros = tuple(m and not b.all() for m, b in zip(_signs_matter(expr, program.orders), blocks, strict=True))
            _fix_block(expr, program.orders, xb, blocks, suspect, zeros)


@functools.lru_cache(maxsize=1024)
def _signs_matter(expr: sp.Expr, orders: tuple[int, ...]) -> tuple[bool, ...]:
    """For each order: whether a zero result may need its sign fixed (a limit at ±inf is −0.0)."""
    from .limits import zero_signs_matter

    return tuple(zero_signs_matter(expr, k) for k in orders)


def _fix_block(expr: sp.Expr, orders: tuple[int, ...], xb: np.ndarray, blocks: list[np.ndarray], suspect: bool,
               zeros: tuple[bool, ...]) -> None:
    """Elements of one block the fast code cannot give, done as the accurate path does them: where
    ``suspect``, each non-finite x or nan result again through the accurate path; in the outputs
    flagged in ``zeros``, underflowed tails take the sign of their limit."""
    from .accurate import evaluate_order, signed_zeros, wider_dtype

    if suspect:
        bad = ~np.isfinite(xb)
        for b in blocks:
            bad |= ~np.isfinite(b)
        idx = np.flatnonzero(bad)
        if idx.size:
            x64 = xb[idx].astype(np.float64)
            for k, b in zip(orders, blocks, strict=True):
                b[idx] = evaluate_order(expr, k, x64, "float64", wider_dtype("float64"))
    for k, b, flag, matters in zip(orders, blocks, zeros, _signs_matter(expr, orders), strict=True):
        if flag and matters:
            signed_zeros(expr, k, xb, b)


def _run_native(expr: sp.Expr, kernel: Any, x: np.ndarray, outs: list[np.ndarray], start: int, stop: int,
                block: int = BLOCK) -> None:
    """The native loop (float32) over [start, stop), block by block, with the same fix-ups."""
    for lo in range(start, stop, block):
        hi = min(lo + block, stop)
        xb, blocks = x[lo:hi], [o[lo:hi] for o in outs]
        flags = kernel.run(xb, blocks)  # which fix-ups: rare, except zeros (ReLU's half line)
        if flags:
            zeros = tuple(bool(flags & (ZERO_RESULT << i)) for i in range(len(blocks)))
            with np.errstate(all="ignore"):
                _fix_block(expr, kernel.orders, xb, blocks, bool(flags & (NONFINITE_X | NAN_RESULT)), zeros)


def _run_accurate(expr: sp.Expr, spec: tuple[tuple[int, ...], str], x: np.ndarray, outs: list[np.ndarray],
                  start: int, stop: int, block: int = BLOCK) -> None:
    """The accurate path (:func:`activation_lab.numeric.evaluate.evaluate_order`) over [start, stop),
    block by block: the same values as on the whole array, with block-sized temporaries (float64
    inputs compute in long double, 16 bytes an element per live value)."""
    from .accurate import evaluate_order, signed_zeros, wider_dtype

    orders, work = spec
    with np.errstate(all="ignore"):
        for lo in range(start, stop, block):
            hi = min(lo + block, stop)
            x64 = x[lo:hi].astype(np.float64)
            for k, o in zip(orders, outs, strict=True):
                o[lo:hi] = evaluate_order(expr, k, x64, work, wider_dtype(work))
                signed_zeros(expr, k, x64, o[lo:hi])


#: NumPy advises the kernel to back allocations of at least this many bytes with huge pages
_HUGE_PAGE_ADVICE = 1 << 22


def _outputs(size: int, dtype: np.dtype, count: int) -> list[np.ndarray]:
    """``count`` new arrays of ``size`` elements, as views of one allocation.

    A fresh array of a few MiB is mapped by the C library page by page, and the page faults
    cost more than the evaluation (measured here at 10⁶ float32: 1.4 ns per element for each
    separate output).  One allocation of at least 4 MiB is advised onto huge pages by NumPy,
    so the outputs share one, padded up to that size when they are close to it (at most 1/4).
    """
    total = size * count * dtype.itemsize
    padded = _HUGE_PAGE_ADVICE if 3 * _HUGE_PAGE_ADVICE // 4 <= total < _HUGE_PAGE_ADVICE else total
    joint = np.empty(-(-padded // dtype.itemsize), dtype=dtype)
    return [joint[i * size:(i + 1) * size] for i in range(count)]


def evaluate_fused(act: Any, x: np.ndarray, n: int | tuple[int, ...] | list[int] = (0, 1),
                   threads: int | None = None, block: int = BLOCK, native: bool = True, out: Any = None) -> Any:
    """f⁽ⁿ⁾(x) on a NumPy array, in blocks on all cores.

    float32 arrays run the native kernel where one can be built
    (:mod:`activation_lab.numeric.native`: the same double arithmetic in one compiled loop;
    the result differs from the accurate path by at most an ULP where a libm difference of an
    ULP of double meets a rounding boundary); otherwise the block program, bit for bit
    :func:`activation_lab.numeric.evaluate.evaluate`.

    Args:
        act: an Activation.
        x: a NumPy array of floats, integers or bools (never modified).
        n: one order, or a tuple/list of orders computed together (e.g. ``(0, 1)``).
        threads: worker threads (default: one per core for arrays of at least
            :data:`PARALLEL_MIN` elements, :data:`PARALLEL_MIN_CHEAP` where f⁽ⁿ⁾ is arithmetic
            alone, else 1; 1 runs in the calling thread).
        block: elements per block (tuning only).
        native: use the native kernel for float32 where available (False: the block program).
        out: arrays to write the results into (one per order, as for ``n``; see
            :func:`activation_lab.numeric.backends.check_out`): no new memory is taken.
    Returns:
        an array of x's shape (float16/32/64; float64 for integers and bools), or a tuple of them
        (``out`` itself when given).
    """
    if not isinstance(x, np.ndarray):
        raise ActivationLabError(f"the fused NumPy path takes a NumPy array, got {type(x).__name__}; "
                                 "use Activation.evaluate for numbers, lists and other array types")
    orders, dtype = request(x.dtype, n)
    given = check_out(out, n, x, dtype) if out is not None else None
    if given is not None and not all(o.flags.c_contiguous for o in given):
        # strided outputs: computed into new arrays, then copied into place
        return fill_out(given, evaluate_fused(act, x, orders, threads, block, native), n)
    # a view when C-contiguous, else a contiguous copy (a 1-d strided view would stay strided under
    # reshape, and the native loop reads memory as contiguous); never written
    flat = np.ascontiguousarray(x).reshape(-1)
    kernel = None
    if native and flat.dtype == np.float32 and flat.flags.aligned and flat.dtype.isnative:
        kernel = native_kernel(act.expr, orders)
    # float64 inputs are computed in long double by the accurate path (see evaluate.WORK_DTYPE);
    # the block program computes in float64, which is what float16/32 inputs use
    program = fused_program(act.expr, orders) if kernel is None and _work(dtype) == "float64" else None
    outs = _outputs(flat.size, dtype, len(orders)) if given is None else [o.reshape(-1) for o in given]
    if threads is None:
        threads = workers() if flat.size >= (PARALLEL_MIN if _costly(act.expr, orders) else PARALLEL_MIN_CHEAP) else 1
    threads = max(1, int(threads))
    # about 4 chunks per thread, whole blocks: a worker slowed by other load does not hold up the rest
    chunk = max(1, -(-flat.size // (4 * threads * block))) * block
    if kernel is not None:
        run, engine = _run_native, kernel
    elif program is not None:
        run, engine = _run_range, program
    else:   # float64 (long double work) or a construct without block form: the accurate path, block by block
        run, engine = _run_accurate, (orders, _work(dtype))
    if threads == 1 or flat.size <= block:
        run(act.expr, engine, flat, outs, 0, flat.size, block)
    else:
        spans = [(lo, min(lo + chunk, flat.size)) for lo in range(0, flat.size, chunk)]
        _share(lambda lo, hi: run(act.expr, engine, flat, outs, lo, hi, block), spans, threads)
    results = tuple(o.reshape(x.shape) for o in outs) if given is None else given
    return results if isinstance(n, (tuple, list)) else results[0]
