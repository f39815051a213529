"""Exhaustive checks: every one of the 2³² float32 inputs, in chunks, on local cores or a Dask cluster;
every one of the 2¹⁶ float16 or bfloat16 inputs in seconds.

For each chunk of bit patterns (:func:`~activation_lab.analysis.sweep.float32_chunks`):

1. the implementation (default: the project's evaluation) gives f⁽ⁿ⁾ in the format (float32 below);
2. the reference is a float64 evaluation of the stable form of f⁽ⁿ⁾ on the inputs widened to
   float64 (:func:`float64_reference`: the NumPy code in double, recomputed in long double where
   its terms cancel by more than 2¹⁰, as TeLU′ does near its zero);
3. wherever that float64 reference lies within 2⁻⁴⁰ relative of a float32 rounding boundary
   (:func:`~activation_lab.analysis.ulp.rounding_boundary_distance`), mpmath recomputes the
   exact value, so a float64 error below 2⁻⁴⁰ relative cannot put the reference on the wrong
   side of a boundary: the float32 rounding of the reference is then the correct rounding;
4. a few points per chunk (and the worst ones) are also recomputed with mpmath to measure
   the float64 reference's own error, reported as ``reference_max_rel_error``: the argument
   in 3 holds where that stays below 2⁻⁴⁰.

The same holds for float16 and bfloat16 (their rounding boundaries in step 3).  :func:`reference`
and :func:`judge` are the two halves of a chunk, so several implementations can be measured
against one reference (the framework audit does).

ULP errors are measured against the (confirmed) reference.  Inputs over the plain target T
get κ(x) = |x·g′(x)/g(x)| from float64 evaluations of g = f⁽ⁿ⁾ and g′; where that is not
finite, g(x) underflowed, or the error lies within 5 % of T·max(1, κ), κ comes from mpmath,
as it does for the failures shown.  Results are merged chunk by chunk into a JSON state file written atomically, so
an interrupted run resumes where it stopped.  Chunks run in local processes (both cores by
default, no Dask needed) or, with ``scheduler=ADDRESS``, on a dask.distributed cluster.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_atomic
from ..errors import ActivationLabError
from ..numeric.evaluate import evaluate
from ..numeric.mpmath_target import mpmath_of
from .accuracy import Case, Mismatch, order_label, tolerance

__all__ = ["BINS", "BOUNDARY_REL", "ExhaustiveReport", "Reference", "exhaustive", "format_inputs", "judge",
           "reference"]

#: the float64 reference is confirmed with mpmath within this relative distance of a float32 rounding boundary
BOUNDARY_REL = 2.0**-40
#: upper edges of the ULP-error bins: err ≤ 0.5, (0.5, 1], (1, 2], …, (2³², inf]
BINS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0, 256.0, 2.0**16, 2.0**32, math.inf)
#: κ from float64 is trusted unless the error lies within this fraction of the allowed T·max(1, κ)
KAPPA_MARGIN = 0.05
#: random points per chunk whose float64 reference is checked against mpmath
REFERENCE_SAMPLE = 4
KEEP = 5
STATE_VERSION = 1
#: how long to wait for a Dask scheduler to answer
CONNECT_TIMEOUT = "10s"


@dataclass(frozen=True)
class ExhaustiveReport:
    """An exhaustive check of f⁽ⁿ⁾ in ``dtype`` (float32, float16, bfloat16) over the bit patterns [start, stop).

    ``counts[i]`` counts the finite inputs with error in (BINS[i−1], BINS[i]] ULP (the
    first bin: ≤ 0.5); ``p99_ulp`` is the bin edge that 99 % of them stay within.  nan and
    ±inf inputs are judged as special values (nan for nan, the limit at ±inf), together with
    nan or inf results for finite exact values.  ``confirmed`` counts the mpmath
    recomputations near rounding boundaries, ``corrected`` those where the float64 reference
    rounded to the wrong float32.  ``complete`` is False for a run that has chunks left.
    """

    name: str
    n: int
    implementation: str
    start: int
    stop: int
    count: int
    finite: int
    max_ulp: float
    counts: tuple[int, ...]
    worst: tuple[Case, ...]
    n_special_mismatches: int
    special_mismatches: tuple[Mismatch, ...]
    n_signed_zero_mismatches: int
    over_tolerance: int
    n_failures: int
    failures: tuple[Case, ...]
    kappa_mpmath: int
    confirmed: int
    corrected: int
    reference_checks: int
    reference_max_rel_error: float
    seconds: float
    chunks_done: int
    chunks: int
    dtype: str = "float32"

    @property
    def complete(self) -> bool:
        return self.chunks_done == self.chunks

    @property
    def tolerance(self) -> float:
        return tolerance(self.n)

    @property
    def passed(self) -> bool:
        """Complete, every finite input within T·max(1, κ) ULP, no nan/inf/limit wrong."""
        return self.complete and self.n_failures == 0 and self.n_special_mismatches == 0

    @property
    def reference_ok(self) -> bool:
        """The sampled float64 reference error stayed below the 2⁻⁴⁰ the confirmation assumes."""
        return self.reference_max_rel_error <= BOUNDARY_REL

    def within(self, ulps: float) -> int:
        """Number of finite inputs with error ≤ ``ulps`` (a bin edge)."""
        if ulps not in BINS:
            raise ActivationLabError(f"within() takes a bin edge ({', '.join(f'{b:g}' for b in BINS)}), got {ulps!r}")
        return sum(self.counts[: BINS.index(ulps) + 1])

    @property
    def p99_ulp(self) -> float:
        need = 0.99 * self.finite
        total = 0
        for edge, c in zip(BINS, self.counts, strict=True):
            total += c
            if total >= need:
                return edge
        return math.nan

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(complete=self.complete, passed=self.passed, p99_ulp=self.p99_ulp, bins=list(BINS),
                   reference_ok=self.reference_ok, tolerance=self.tolerance)
        return out

    def __str__(self) -> str:
        share = (lambda k: f"{k} ({k / self.finite:.6%})") if self.finite else str
        lines = [
            f"{self.name} {order_label(self.n)} {self.dtype} exhaustive [{self.implementation}]: "
            f"{self.count} inputs ({self.finite} finite), {self.chunks_done}/{self.chunks} chunks, "
            f"{self.seconds:.1f} s",
            f"  max {self.max_ulp:.10g} ULP, p99 ≤ {self.p99_ulp:g} ULP; within 0.5 ULP {share(self.within(0.5))}, "
            f"1 ULP {share(self.within(1.0))}, 2 ULP {share(self.within(2.0))}",
            f"  reference: {self.confirmed} values near rounding boundaries confirmed with mpmath, "
            f"{self.corrected} corrected; "
            f"float64 error ≤ {self.reference_max_rel_error:.3g} relative on {self.reference_checks} checked points",
            f"  special-value mismatches {self.n_special_mismatches}, "
            f"zeros of the wrong sign {self.n_signed_zero_mismatches}",
            f"  target ≤ {self.tolerance:g}·max(1, κ) ULP: "
            + ("met" if self.passed else "not complete" if not self.complete
               else f"NOT met ({self.n_failures} inputs)"),
        ]
        lines += [f"  worst: {c}" for c in self.worst]
        lines += [f"  failure: {c}" for c in self.failures]
        lines += [f"  special: {m}" for m in self.special_mismatches]
        return "\n".join(lines)


# --- one chunk ----------------------------------------------------------------------------------

def _empty() -> dict[str, Any]:
    return {"count": 0, "finite": 0, "max_ulp": 0.0, "counts": [0] * len(BINS), "worst": [],
            "special": 0, "special_examples": [], "signed_zero": 0, "over": 0, "failures_n": 0,
            "failures": [], "kappa_mpmath": 0, "confirmed": 0, "corrected": 0, "ref_checks": 0,
            "ref_max_rel": 0.0}


def _top(err: np.ndarray, idx: np.ndarray, bits: np.ndarray, k: int) -> np.ndarray:
    """The k entries of idx with the largest err, ties by bit pattern (deterministic)."""
    if idx.size > 4 * k:
        for thr in (0.5, 0.49, 0.45, 0.25):   # a cheap cut before sorting: most errors are small
            cand = idx[err[idx] > thr]
            if cand.size >= k:
                idx = cand
                break
    return idx[np.lexsort((bits[idx], -err[idx]))][:k]


def _row(err, i, bits, got, exact, extra=()) -> list:
    return [float(err[i]), int(bits[i]), float(got[i]), float(exact[i]), *extra]


#: a sum whose terms are this many times larger than it has lost that many bits of double's 52:
#: beyond 2**10 the reference is recomputed in long double (where the platform has it)
CANCELLATION = 2.0**10


def float64_reference(expr: Any, n: int, x64: np.ndarray) -> np.ndarray:
    """f⁽ⁿ⁾ at float64 inputs for float32 checks: the NumPy code in double (about 2⁻⁵⁰ relative, five
    times faster than long double), recomputed in long double where its terms cancel by more than
    :data:`CANCELLATION` (TeLU′ near its zero); tail zeros signed as ``evaluate`` signs them."""
    from ..numeric.accurate import WORK_DTYPE, evaluate_order, signed_zeros, term_scale

    with np.errstate(all="ignore"):
        ref = evaluate_order(expr, n, x64, "float64")
        wide = WORK_DTYPE["float64"]
        if wide != "float64":
            scale = term_scale(expr, n)(x64)
            risky = np.flatnonzero(np.isfinite(x64) & ~(scale <= CANCELLATION * np.abs(ref)))
            if risky.size:
                ref[risky] = evaluate_order(expr, n, x64[risky], wide)
    signed_zeros(expr, n, x64, ref)
    return ref


def format_inputs(dtype: Any, lo: int, hi: int) -> np.ndarray:
    """The values of ``dtype`` (float16, bfloat16 or float32) whose bit patterns are lo, …, hi − 1."""
    from ..requests import float_dtype
    from .sweep import float32_inputs

    dt = float_dtype(dtype)
    if dt.itemsize == 4:
        return float32_inputs(lo, hi)
    return np.arange(lo, hi, dtype=np.uint32).astype(np.uint16).view(dt)


def _inputs_count(dt: np.dtype) -> int:
    """How many bit patterns ``dt`` has: 2¹⁶ for the 16-bit formats, 2³² for float32."""
    if dt.name not in ("float16", "bfloat16", "float32"):
        why = ": its 2**64 inputs are too many; use the default sweep (check without --exhaustive)" \
            if dt.name == "float64" else ""
        raise ActivationLabError(f"exhaustive checks cover float16, bfloat16 and float32, not {dt.name}{why}")
    return 2 ** (8 * dt.itemsize)


@dataclass(frozen=True)
class Reference:
    """The exact values of f⁽ⁿ⁾ at inputs ``xs`` of one format, as the exhaustive check computes them.

    ``ref``: the float64 reference (steps 2 and 3 of the module docstring: mpmath's value where
    it lies near a rounding boundary); ``lo``: the low parts of mpmath's double-double values
    there (0 elsewhere); ``near``: those confirmed inputs; ``checked``/``rel``: the inputs
    whose float64 reference was compared with mpmath, and its relative error there.
    """

    xs: np.ndarray
    x64: np.ndarray
    ref: np.ndarray
    lo: np.ndarray
    near: np.ndarray
    corrected: int
    checked: int
    max_rel: float


def reference(act: Any, n: int, xs: np.ndarray, seed: int = 0) -> Reference:
    """Exact values of f⁽ⁿ⁾ at ``xs`` (float16, bfloat16 or float32; any points, not only whole
    chunks): computed once, then shared by every implementation measured on the same inputs."""
    import mpmath

    from ..requests import finfo
    from .accuracy import REFERENCE_PREC, real_reference
    from .ulp import rounding_boundary_distance, split_exact, ulp_error

    dt = xs.dtype
    with np.errstate(all="ignore"):      # widening a signalling-nan pattern raises "invalid"
        x64 = xs.astype(np.float64)
    ref = float64_reference(act.expr, n, x64)
    lo = np.zeros_like(ref)
    fin = np.flatnonzero(np.isfinite(x64) & np.isfinite(ref))
    fn = mpmath_of(act.expr, n)
    # 3. mpmath where the float64 reference is too close to a rounding boundary of the format to trust
    near = fin[rounding_boundary_distance(ref[fin], dt) <= BOUNDARY_REL]
    rng = np.random.default_rng(seed)
    useful = fin[ref[fin] != 0]
    sample = rng.choice(useful, size=min(REFERENCE_SAMPLE, useful.size), replace=False) if useful.size else useful
    checked = np.unique(np.concatenate([near, sample]))
    corrected, max_rel = 0, 0.0
    if checked.size:
        exact_mp = [real_reference(fn, float(x64[i])) for i in checked]
        m_hi, m_lo = split_exact(exact_mp)
        is_near = np.isin(checked, near)
        rounded = ref[checked[is_near]].astype(dt)
        corrected = int(np.count_nonzero(ulp_error(rounded, m_hi[is_near], m_lo[is_near], dt) > 0.5))
        # below half the format's smallest subnormal only the side of 0 matters
        floor = mpmath.mpf(float(finfo(dt).smallest_subnormal)) / 2
        with mpmath.workprec(REFERENCE_PREC):
            rel = [abs(mpmath.mpf(float(ref[i])) - v) / max(abs(v), floor)
                   for i, v in zip(checked, exact_mp, strict=True)]
        max_rel = float(max(rel))
        ref = ref.copy()
        ref[checked] = m_hi
        lo[checked] = m_lo
    return Reference(xs, x64, ref, lo, near, corrected, int(checked.size), max_rel)


def judge(act: Any, n: int, exact: Reference, got: np.ndarray, bits: np.ndarray | None = None
          ) -> tuple[dict[str, Any], np.ndarray]:
    """The exhaustive check's partial result for results ``got`` against ``exact``, and the ULP errors.

    ``bits`` orders ties (default: the input's position).  The κ-aware verdict and the special
    values are judged as the module docstring says.
    """
    with np.errstate(invalid="ignore"):      # signalling-nan results warn when widened
        return _judge(act, n, exact, got, bits)


def _judge(act: Any, n: int, exact: Reference, got: np.ndarray, bits: np.ndarray | None
           ) -> tuple[dict[str, Any], np.ndarray]:
    from .accuracy import condition_numbers
    from .ulp import ulp_error

    xs, x64, ref, dt = exact.xs, exact.x64, exact.ref, exact.xs.dtype
    bits = np.arange(xs.size, dtype=np.int64) if bits is None else bits
    err = ulp_error(got, ref, exact.lo, dt)
    out = _empty()
    out["count"] = int(xs.size)
    out["confirmed"] = int(exact.near.size)
    out["corrected"] = exact.corrected
    out["ref_checks"] = exact.checked
    out["ref_max_rel"] = exact.max_rel
    finite_x = np.isfinite(x64)

    # statistics over finite inputs; specials judged apart
    ferr = err[finite_x]
    out["finite"] = int(ferr.size)
    if ferr.size:
        out["max_ulp"] = float(ferr.max())
        big = ferr[ferr > BINS[0]]
        counts = np.bincount(np.searchsorted(BINS, big, side="left"), minlength=len(BINS))
        counts[0] = ferr.size - big.size
        out["counts"] = [int(c) for c in counts]
    finite_idx = np.flatnonzero(finite_x)
    out["worst"] = [_row(err, i, bits, got, ref) for i in _top(err, finite_idx, bits, KEEP)]

    special = ~np.isfinite(err) | (~finite_x & (err > tolerance(n)))
    special_idx = np.flatnonzero(special)
    out["special"] = int(special_idx.size)
    out["special_examples"] = [[int(bits[i]), float(got[i]), float(ref[i])] for i in special_idx[:KEEP]]
    with np.errstate(invalid="ignore"):
        wrong_zero = (got == 0) & (ref != 0) & (err <= 0.5) & (np.signbit(got) != np.signbit(ref))
    out["signed_zero"] = int(np.count_nonzero(wrong_zero))

    # κ-aware verdict for finite inputs over the plain target
    tol = tolerance(n)
    over = finite_idx[np.isfinite(err[finite_idx]) & (err[finite_idx] > tol)]
    out["over"] = int(over.size) + int(np.count_nonzero(special & finite_x))
    failures_n = int(np.count_nonzero(special & finite_x))     # nan/inf for a finite exact value
    if over.size:
        with np.errstate(all="ignore"):
            g0, xo = ref[over], x64[over]
            kappa = np.abs(xo * evaluate(act, xo, n + 1) / g0)
            allowed = tol * np.maximum(1.0, kappa)
        close = np.abs(err[over] - allowed) <= KAPPA_MARGIN * allowed
        unsure = ~np.isfinite(kappa) | (g0 == 0) | ((kappa > 0.9) & close)
        if unsure.any():
            kappa[unsure] = condition_numbers(act, n, xo[unsure])
            allowed = tol * np.maximum(1.0, kappa)
            out["kappa_mpmath"] = int(np.count_nonzero(unsure))
        bad = err[over] > allowed
        failures_n += int(np.count_nonzero(bad))
        shown_fail = _top(err, over[bad], bits, KEEP)
        kappa_mp = condition_numbers(act, n, x64[shown_fail])       # the failures shown: κ from mpmath
        out["failures"] = [_row(err, i, bits, got, ref, (float(k), float(tol * max(1.0, k))))
                           for i, k in zip(shown_fail, kappa_mp, strict=True)]
    out["failures_n"] = failures_n
    return out, err


def _check_chunk(task: tuple) -> tuple[int, dict[str, Any]]:
    """Measure one chunk [lo, hi) of bit patterns of a format; returns (lo, partial result)."""
    from .accuracy import run_implementation

    act, n, implementation, lo, hi, *rest = task
    xs = format_inputs(rest[0] if rest else "float32", lo, hi)
    got = run_implementation(act, n, xs, implementation)
    return lo, judge(act, n, reference(act, n, xs, seed=lo), got, np.arange(lo, hi, dtype=np.int64))[0]


# --- merging, state -----------------------------------------------------------------------------

def _merge_rows(a: list, b: list, key: Callable, k: int = KEEP) -> list:
    return sorted(a + b, key=key)[:k]


def _merge(total: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    by_err = lambda r: (-r[0], r[1])  # noqa: E731 - largest error first, ties by bit pattern
    out = dict(total)
    for key in ("count", "finite", "special", "signed_zero", "over", "failures_n", "kappa_mpmath",
                "confirmed", "corrected", "ref_checks"):
        out[key] = total[key] + part[key]
    out["max_ulp"] = max(total["max_ulp"], part["max_ulp"])
    out["ref_max_rel"] = max(total["ref_max_rel"], part["ref_max_rel"])
    out["counts"] = [a + b for a, b in zip(total["counts"], part["counts"], strict=True)]
    out["worst"] = _merge_rows(total["worst"], part["worst"], by_err)
    out["failures"] = _merge_rows(total["failures"], part["failures"], by_err)
    out["special_examples"] = _merge_rows(total["special_examples"], part["special_examples"], lambda r: r[0])
    return out


def _identity(act, n: int, implementation: Callable | None, start: int, stop: int, chunk_size: int,
              dtype: str = "float32") -> dict:
    from .accuracy import implementation_name

    identity = {"activation": act.name, "formula": act.formula,
                "params": {k: repr(v) for k, v in sorted(act.params.items())},
                "n": n, "implementation": implementation_name(implementation), "start": start, "stop": stop,
                "chunk_size": chunk_size, "version": STATE_VERSION}
    if dtype != "float32":      # float32 state files written before the 16-bit formats stay valid
        identity["dtype"] = dtype
    return identity


def _load_state(path: Path, identity: dict) -> tuple[set[int], dict[str, Any], float]:
    if not path.exists():
        return set(), _empty(), 0.0
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        found = {k: state.get(k) for k in identity}
    except (OSError, ValueError, AttributeError) as err:
        raise ActivationLabError(f"cannot read the state file {path}: {err}; move it away or pass another "
                                 "state path to start afresh") from None
    if found != identity:
        diff = ", ".join(f"{k}={found[k]!r} (wanted {identity[k]!r})" for k in identity if found[k] != identity[k])
        raise ActivationLabError(f"the state file {path} belongs to another run: {diff}; move it away or pass "
                                 "another state path")
    return set(state["done"]), state["totals"], float(state["seconds"])


def _to_cases(rows: list, dtype: str = "float32") -> tuple[Case, ...]:
    return tuple(Case(float(format_inputs(dtype, r[1], r[1] + 1)[0]), r[2], r[3], r[0], *r[4:6]) for r in rows)


def _report(act, n, implementation, start, stop, totals, seconds, done, chunks,
            dtype: str = "float32") -> ExhaustiveReport:
    from .accuracy import implementation_name

    with np.errstate(invalid="ignore"):   # a signalling-nan pattern widened
        specials = tuple(Mismatch(float(format_inputs(dtype, b, b + 1)[0]), got, want, "nan, inf or limit wrong")
                         for b, got, want in totals["special_examples"])
    return ExhaustiveReport(
        name=act.name, n=n, implementation=implementation_name(implementation), start=start, stop=stop,
        count=totals["count"], finite=totals["finite"], max_ulp=totals["max_ulp"], counts=tuple(totals["counts"]),
        worst=_to_cases(totals["worst"], dtype), n_special_mismatches=totals["special"], special_mismatches=specials,
        n_signed_zero_mismatches=totals["signed_zero"], over_tolerance=totals["over"],
        n_failures=totals["failures_n"], failures=_to_cases(totals["failures"], dtype),
        kappa_mpmath=totals["kappa_mpmath"], confirmed=totals["confirmed"], corrected=totals["corrected"],
        reference_checks=totals["ref_checks"], reference_max_rel_error=totals["ref_max_rel"], seconds=seconds,
        chunks_done=done, chunks=chunks, dtype=dtype)


# --- running ------------------------------------------------------------------------------------

class _Bar:
    """A progress bar on stderr: one line redrawn five times a second on a terminal, else a line every 15 s.

    The ETA is estimated from measured chunks only: the rate is taken from the first finished
    chunk on (start-up, worker spawning and kernel builds excluded), and shown once
    :data:`_ETA_AFTER` chunks have finished after it.
    """

    def __init__(self, label: str, total: int, done: int):
        self.label, self.total, self.first, self.t0, self.last = label, total, done, time.monotonic(), 0.0
        self.tty = sys.stderr.isatty()
        self.mark: tuple[float, int] | None = None     # (time, chunks done) at the first finished chunk

    def rate(self, done: int, now: float) -> float:
        """Chunks per second since the first finished chunk (0 until enough are measured)."""
        if self.mark is None:
            if done > self.first:
                self.mark = (now, done)
            return 0.0
        t, count = self.mark
        return (done - count) / (now - t) if done - count >= _ETA_AFTER and now > t else 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        rate = self.rate(done, now)
        if done < total and now - self.last < (0.2 if self.tty else 15.0):
            return
        self.last = now
        frac = done / total if total else 1.0
        eta = f", ETA {_duration((total - done) / rate)}" if 0 < rate and done < total else ""
        bar = "#" * int(30 * frac)
        start = "\r" if self.tty else ""
        sys.stderr.write(f"{start}{self.label}: [{bar:<30}] {frac:6.1%} {done}/{total} chunks, "
                         f"{_duration(now - self.t0)}{eta}   ")
        if done >= total or not self.tty:
            sys.stderr.write("\n")
        sys.stderr.flush()


#: chunks measured (after the first) before an ETA is shown
_ETA_AFTER = 2


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _run_local(tasks: list[tuple], workers: int, on_result: Callable) -> None:
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            on_result(*_check_chunk(task))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # forkserver: workers start from a clean process, not a copy of one that may hold threads
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method)) as pool:
        futures = [pool.submit(_check_chunk, t) for t in tasks]
        try:
            for fut in as_completed(futures):
                on_result(*fut.result())
        except BaseException:
            for fut in futures:
                fut.cancel()
            _stop_workers(pool)
            raise


def _stop_workers(pool: Any) -> None:
    """End the pool's worker processes now, not after their chunks: an interruption (Ctrl-C,
    SIGTERM, SIGHUP, an error) leaves no process computing.  The forkserver and the resource
    tracker end by themselves when this process does (their pipes close)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        try:
            proc.terminate()
        except (OSError, ValueError, AttributeError):
            pass
    for proc in processes:
        try:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join(1)
        except (OSError, ValueError, AssertionError, AttributeError):
            pass


def _run_dask(address: str, tasks: list[tuple], on_result: Callable) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ActivationLabError("scheduler= needs dask.distributed: pip install 'activation-lab[dask]'") from None
    try:
        client = Client(address, set_as_default=False, timeout=CONNECT_TIMEOUT)
    except OSError as err:
        raise ActivationLabError(f"cannot reach the Dask scheduler at {address!r}: {err}; check the address "
                                 "(e.g. tcp://host:8786) or leave scheduler out to run on this machine") from None
    try:
        futures = [client.submit(_check_chunk, t, pure=False) for t in tasks]
        try:
            for fut in as_completed(futures, loop=client.loop):
                on_result(*fut.result())
        except BaseException:
            client.cancel(futures)
            raise
    finally:
        client.close()


def exhaustive(act: Any, n: int = 0, implementation: Callable | None = None, *, start: int = 0,
               stop: int | None = None, chunk_size: int = 2**22, state: str | os.PathLike | None = None,
               workers: int | None = None, scheduler: str | None = None,
               progress: bool | Callable[[int, int], None] = True, dtype: Any = "float32") -> ExhaustiveReport:
    """Check f⁽ⁿ⁾ in ``dtype`` on every input with bit pattern in [start, stop) (default: all of them).

    Args:
        act: an Activation or a catalogue name.
        n: derivative order.
        implementation: callable on a NumPy array of ``dtype`` (default: the project's evaluation);
            it must be picklable (a module-level function) to run in worker processes.
        start, stop, chunk_size: the bit-pattern range (default: all 2³² float32 inputs, all 2¹⁶
            of a 16-bit format) and the inputs per chunk.
        state: JSON file for partial results; an existing one for the same run is resumed.
        workers: local processes (default: all cores; 1 runs in this process).
        scheduler: address of a dask.distributed scheduler to run the chunks on instead.
        progress: True for a progress bar on stderr, or a callable(done_chunks, total_chunks).
        dtype: float32 (2³² inputs, minutes per function), float16 or bfloat16 (2¹⁶, seconds).

    Returns:
        :class:`ExhaustiveReport` (see :mod:`activation_lab.analysis.exhaustive` for the method).
    """
    import pickle

    from ..requests import check_order, float_dtype
    from ..symbolic.activation import resolve
    from .sweep import float32_chunks

    act = resolve(act)
    check_order(n)
    dt = float_dtype(dtype)
    total = _inputs_count(dt)
    stop = total if stop is None else stop
    if stop > total:
        raise ActivationLabError(f"{dt.name} has {total} bit patterns; stop={stop} is beyond them")
    chunks = float32_chunks(start, stop, chunk_size)
    identity = _identity(act, n, implementation, start, stop, chunk_size, dt.name)
    path = Path(state) if state is not None else None
    done, totals, seconds_before = _load_state(path, identity) if path else (set(), _empty(), 0.0)
    pending = [c for c in chunks if c[0] not in done]
    workers = (os.cpu_count() or 1) if workers is None else int(workers)
    if implementation is not None and (scheduler or (workers > 1 and len(pending) > 1)):
        try:
            pickle.dumps(implementation)
        except Exception:
            raise ActivationLabError(
                f"implementation {implementation!r} cannot be sent to worker processes (it does not pickle); "
                "define it as a module-level function, or pass workers=1 to run in this process") from None
    label = f"{act.name} {order_label(n)} {dt.name}"
    bar = _Bar(label, len(chunks), len(done)) if progress is True else progress or None
    if progress is True and done:
        sys.stderr.write(f"{label}: resuming from {path}: {len(done)} of "
                         f"{len(chunks)} chunks done earlier\n")
        sys.stderr.flush()
    t0 = time.monotonic()
    last_save = [0.0]

    def save(force: bool = False) -> None:
        now = time.monotonic()
        if path is None or (not force and now - last_save[0] < 2.0):
            return
        last_save[0] = now
        write_atomic(path, json.dumps({**identity, "done": sorted(done), "totals": totals,
                                       "seconds": seconds_before + now - t0}))

    def on_result(lo: int, part: dict[str, Any]) -> None:
        nonlocal totals
        totals = _merge(totals, part)
        done.add(lo)
        save()
        if bar:
            bar(len(done), len(chunks))

    tasks = [(act, n, implementation, lo, hi, dt.name) for lo, hi in pending]
    try:
        if scheduler:
            _run_dask(scheduler, tasks, on_result)
        else:
            _run_local(tasks, workers, on_result)
    finally:
        save(force=True)
    if bar and not pending:
        bar(len(done), len(chunks))
    return _report(act, n, implementation, start, stop, totals, seconds_before + time.monotonic() - t0,
                   len(done), len(chunks), dt.name)
