"""Time and size budgets for symbolic work on user formulas.

Every SymPy or mpmath step that runs on a formula a user typed (simplify, cancel, limit,
series, the catalogue match, mpmath far out at x = ±1e150) can take minutes or grow without
end on a formula of a few characters (``((x+1)**16+1)**16``).  Such steps run inside
:func:`bounded`: past its budget the step is interrupted and
:class:`~activation_lab.errors.FormulaTooComplexError` names the step and the budget, within
a fraction of a second of the deadline, so that the analysis that needed it can say so (or
fall back) instead of hanging.

What is counted: the CPU time of the thread that runs the block, so that the answer (a tidy
derivative or its raw form, a catalogue match or "not decided") does not depend on how busy
the machine is; and, so that a user never waits for long, at most :data:`WALL_FACTOR` times
the budget in wall-clock time (3 s of CPU, at most 7.5 s of waiting).  Where the platform has
no per-thread CPU clock, wall-clock time alone.

How it works: one shared watchdog thread keeps the deadlines of every active block, in any
thread.  At a deadline it raises :class:`BudgetInterrupt` inside the thread that runs the
block (``PyThreadState_SetAsyncExc``), and the block's exit turns it into
``FormulaTooComplexError``.  This works because SymPy and mpmath (without gmpy) are pure
Python: the interpreter delivers the interrupt between two bytecodes.  It cannot stop one
long C-level operation, such as a multiplication of two integers of millions of digits
(mpmath computing π to 10¹⁵⁰ bits to reduce ``sin(exp(1e150))``): steps that could start
such work check sizes first (:func:`check_size`, and the magnitude checks in
:mod:`activation_lab.numeric.limits`).  ``RecursionError`` and ``MemoryError`` raised inside
a block become ``FormulaTooComplexError`` too.

Guarantees: blocks nest, and an inner budget never extends an outer one (the inner deadline
is the earlier of the two; when the outer one expires first, the outer block reports it).  An
interrupt is never delivered after its block has ended: the exit cancels it under the
watchdog's lock and clears one that was sent but not yet delivered.  A block that ran past
its deadline raises even if its code swallowed the interrupt (``except BaseException``), since
its result may then be incomplete; the interrupt is re-sent every :data:`RESEND_SECONDS`
until the block ends.  An interrupt that lands where Python cannot raise it (a garbage-collector
callback such as JAX's, a ``__del__``, a weakref callback: "Exception ignored in ...") is
dropped by a filter on :data:`sys.unraisablehook`, installed as a block starts, instead of being
printed; the repeat ends the block.  A block that ends in time costs a lock and a heap push (about 2 µs).

This module is the bottom layer: it imports only :mod:`activation_lab.errors` and the
standard library.
"""

from __future__ import annotations

import ctypes
import heapq
import itertools
import os
import sys
import threading
import time
import types
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import FormulaTooComplexError

__all__ = ["bounded", "bounded_call", "check_size", "count_nodes", "short_text", "BudgetInterrupt",
           "DEFAULT_SECONDS", "WALL_FACTOR", "MAX_OPS", "RESEND_SECONDS", "MAX_SENDS"]

#: default time budget of one bounded step, in seconds of the thread's CPU time
DEFAULT_SECONDS = 3.0
#: a block ends at the latest after this many times its budget in wall-clock time
WALL_FACTOR = 2.5
#: default size budget of :func:`check_size`: nodes of a SymPy expression tree
MAX_OPS = 2000
#: while a block that is past its deadline has not ended, its interrupt is sent again this often
RESEND_SECONDS = 0.25
#: interrupts sent to one block at most (the first and its repeats)
MAX_SENDS = 20

T = TypeVar("T")


class BudgetInterrupt(BaseException):
    """Raised asynchronously inside a block past its deadline; its exit turns it into
    :class:`FormulaTooComplexError`.  A ``BaseException``, so that ``except Exception`` in SymPy
    does not swallow it; user code never sees it."""


class _DropInterrupts:
    """A :data:`sys.unraisablehook` that drops :class:`BudgetInterrupt` (sent only by the watchdog,
    which repeats it until its block ends) and passes everything else to the hook it wraps."""

    __slots__ = ("hook",)

    def __init__(self, hook: Callable[[Any], object]):
        self.hook = hook

    def __call__(self, unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, BudgetInterrupt) or unraisable.exc_type is BudgetInterrupt:
            return
        self.hook(unraisable)


def _filter_unraisable() -> None:
    """Wrap the current :data:`sys.unraisablehook` in :class:`_DropInterrupts` unless it is one
    (test runners and applications may set their own at any time: checked as each block starts)."""
    if type(sys.unraisablehook) is not _DropInterrupts:
        sys.unraisablehook = _DropInterrupts(sys.unraisablehook)


class _Block:
    """One active :func:`bounded` block: its thread, deadline and state (guarded by the lock)."""

    __slots__ = ("step", "seconds", "formula", "thread_id", "deadline", "wall_end", "clock", "cpu_end",
                 "active", "fired", "sends", "outer", "frame")

    def __init__(self, step: str, seconds: float, formula: str, now: float, cpu: float | None,
                 outer: _Block | None, frame: types.FrameType | None):
        self.step = step
        self.seconds = seconds
        self.formula = formula
        self.thread_id = threading.get_ident()
        self.deadline = now + seconds              # the next time the watchdog looks
        self.wall_end = now + WALL_FACTOR * seconds if cpu is not None else now + seconds
        self.clock = _cpu_clock(self.thread_id) if cpu is not None else None
        self.cpu_end = cpu + seconds if cpu is not None else None
        self.active = True
        self.fired = False
        self.sends = 0
        self.outer = outer
        self.frame = frame       # the frame of the with statement, while the block is active


class _Watchdog:
    """One daemon thread that sends :class:`BudgetInterrupt` to threads whose block is past its deadline."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.heap: list[tuple[float, int, _Block]] = []
        self.count = itertools.count()
        self.live = 0
        self.thread: threading.Thread | None = None

    def add(self, block: _Block) -> None:
        """Watch ``block`` (called with the lock held)."""
        earliest = self.heap[0][0] if self.heap else None
        heapq.heappush(self.heap, (block.deadline, next(self.count), block))
        self.live += 1
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="activation-lab-budget", daemon=True)
            self.thread.start()
        elif earliest is None or block.deadline < earliest:
            self.wake.notify()
        if len(self.heap) > 4 * self.live + 64:      # ended blocks wait in the heap until their deadline
            self.heap = [item for item in self.heap if item[2].active]
            heapq.heapify(self.heap)

    def _run(self) -> None:
        with self.lock:
            while True:
                while self.heap and not self.heap[0][2].active:
                    heapq.heappop(self.heap)
                if not self.heap:
                    self.wake.wait()
                    continue
                deadline, _, block = self.heap[0]
                delay = deadline - time.monotonic()
                if delay > 0:
                    self.wake.wait(delay)
                    continue
                heapq.heappop(self.heap)
                # still active (checked under the lock): its thread is inside the block
                if not block.fired:
                    left = _left(block)
                    if left > 0:            # its thread has not had its CPU time yet
                        block.deadline = time.monotonic() + left
                        heapq.heappush(self.heap, (block.deadline, next(self.count), block))
                        continue
                if block.sends >= MAX_SENDS or (block.sends and not _inside(block)):
                    # its thread sits in one long C call, or left without ending the block (an
                    # interrupt delivered in the few bytecodes before __exit__ runs): stop, and
                    # let its exit (if it comes) raise
                    block.active = False
                    block.frame = None
                    self.live -= 1
                    _send(block.thread_id, None)
                    continue
                block.fired = True
                block.sends += 1
                _send(block.thread_id, BudgetInterrupt)
                block.deadline = time.monotonic() + RESEND_SECONDS
                heapq.heappush(self.heap, (block.deadline, next(self.count), block))


_WATCHDOG = _Watchdog()


def _after_fork() -> None:
    """A forked child has no watchdog thread and may hold a copy of a taken lock: start afresh."""
    global _WATCHDOG
    _WATCHDOG = _Watchdog()
    _LOCAL.__dict__.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
_LOCAL = threading.local()


def _inside(block: _Block) -> bool:
    """Whether the block's thread still runs below the frame that entered the block."""
    frame = sys._current_frames().get(block.thread_id)
    while frame is not None:
        if frame is block.frame:
            return True
        frame = frame.f_back
    return False


def _cpu_clock(thread_id: int) -> int | None:
    try:
        return time.pthread_getcpuclockid(thread_id)
    except (AttributeError, OSError):    # no per-thread CPU clock here: wall-clock time only
        return None


def _thread_cpu() -> float | None:
    """This thread's CPU time, or None where there is no per-thread CPU clock."""
    return time.thread_time() if _HAVE_CPU_CLOCK else None


_HAVE_CPU_CLOCK = _cpu_clock(threading.get_ident()) is not None


def _left(block: _Block) -> float:
    """Seconds until ``block`` is over budget: its CPU time left, within its wall-clock limit."""
    wall_left = block.wall_end - time.monotonic()
    if block.clock is None or block.cpu_end is None or wall_left <= 0:
        return wall_left
    try:
        cpu_left = block.cpu_end - time.clock_gettime(block.clock)
    except OSError:                      # the thread has gone: nothing left to interrupt
        return 0.0
    return min(cpu_left, wall_left) if cpu_left > 0 else cpu_left


def _send(thread_id: int, exc: type[BaseException] | None) -> int:
    """Raise ``exc`` asynchronously in the thread (None: clear a pending one); threads affected."""
    return ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                                      ctypes.py_object(exc) if exc is not None else None)


def _error(block: _Block, why: str = "") -> FormulaTooComplexError:
    return FormulaTooComplexError(block.step, block.seconds, formula=block.formula, why=why)


class bounded:  # noqa: N801 - used like a function: ``with bounded("simplify"):``
    """Run the ``with`` block within ``seconds`` (default :data:`DEFAULT_SECONDS`).

    Past it the block is interrupted and :class:`FormulaTooComplexError` is raised naming
    ``step`` (and ``formula``, when given); ``RecursionError`` and ``MemoryError`` inside become
    that error too.  Works in any thread and nests: an inner block ends no later than its
    outer one, and when the outer deadline comes first, the outer block reports it.

    >>> with bounded("simplify", 2.0, formula="x*tanh(exp(x))"):
    ...     pass
    """

    __slots__ = ("step", "seconds", "formula", "_block")

    def __init__(self, step: str, seconds: float | None = None, *, formula: str = ""):
        budget = DEFAULT_SECONDS if seconds is None else float(seconds)
        if not budget > 0:
            raise ValueError(f"a budget must be a positive number of seconds, got {seconds!r}")
        self.step = step
        self.seconds = budget
        self.formula = formula
        self._block: _Block | None = None

    def __enter__(self) -> bounded:
        outer = _current()
        now, cpu = time.monotonic(), _thread_cpu()
        if outer is not None and outer.wall_end <= now + WALL_FACTOR * self.seconds and (
                cpu is None or outer.cpu_end is None or outer.cpu_end <= cpu + self.seconds):
            return self          # the outer block ends first: it is watched, and it reports
        block = _Block(self.step, self.seconds, self.formula, now, cpu, outer, sys._getframe(1))
        _filter_unraisable()
        with _WATCHDOG.lock:
            _WATCHDOG.add(block)
        _LOCAL.block = block
        self._block = block
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        block = self._block
        if block is None:
            return False
        _end(block)
        self._block = None
        if exc_type is None:
            if block.fired:      # past its deadline: the interrupt was swallowed, or not yet delivered
                raise _error(block)
            return False
        if issubclass(exc_type, BudgetInterrupt):
            if block.fired:
                raise _error(block) from None
            return False         # an outer block's interrupt: the outer one reports it
        if issubclass(exc_type, RecursionError):
            raise _error(block, "recursion too deep") from None
        if issubclass(exc_type, MemoryError):
            raise _error(block, "out of memory") from None
        return False


def _current() -> _Block | None:
    """This thread's innermost active block (one left active by an interrupted exit is skipped)."""
    block: _Block | None = getattr(_LOCAL, "block", None)
    while block is not None and not block.active:
        block = block.outer
    return block


def _end(block: _Block) -> None:
    """Stop watching ``block`` and clear an interrupt sent to it but not yet delivered."""
    while True:
        try:
            with _WATCHDOG.lock:
                if block.active:
                    block.active = False
                    block.frame = None
                    _WATCHDOG.live -= 1
                    if block.fired:
                        _send(block.thread_id, None)
            break
        except BudgetInterrupt:       # delivered while ending: it was ours, and is now spent
            continue
    _LOCAL.block = block.outer


def bounded_call(step: str, fn: Callable[..., T], *args: Any, seconds: float | None = None,
                 formula: str = "", **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` inside :func:`bounded` (``step``, ``seconds``, ``formula``)."""
    with bounded(step, seconds, formula=formula):
        return fn(*args, **kwargs)


def count_nodes(expr: Any, limit: int | None = None) -> int:
    """Nodes of a SymPy expression tree (every sub-expression once per occurrence), counting
    stops just past ``limit``.  Linear and cheaper than ``sympy.count_ops``."""
    count = 0
    stack = [expr]
    while stack:
        node = stack.pop()
        count += 1
        if limit is not None and count > limit:
            break
        stack.extend(getattr(node, "args", ()))
    return count


def short_text(expr: Any, nodes: int = 150, chars: int = 200) -> str:
    """``str(expr)`` cut to ``chars`` for messages, without printing a huge tree (which alone
    can take seconds): past ``nodes`` nodes only its size is given."""
    if count_nodes(expr, nodes) > nodes:
        return f"<an expression of more than {nodes} nodes>"
    text = str(expr)
    return text if len(text) <= chars else text[:chars - 3] + "..."


def check_size(expr: Any, step: str, limit: int = MAX_OPS, *, formula: str = "") -> None:
    """Raise :class:`FormulaTooComplexError` for ``step`` when ``expr`` has more than ``limit`` nodes."""
    size = count_nodes(expr, limit)
    if size > limit:
        raise FormulaTooComplexError(step, limit, formula=formula, unit="nodes",
                                     why=f"the expression has more than {limit} nodes")
