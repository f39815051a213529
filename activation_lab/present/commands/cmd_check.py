"""``activation-lab check``: ULP accuracy of the evaluation against mpmath, as a table, worst cases to CSV.

Default: every catalogue activation, f and f′, float32 and float64, on the default sweep,
then the gradient-underflow scan (float32/float16).  ``--dtype`` also takes float16 and
bfloat16.  ``--exhaustive``: every input of the format: the 2³² float32 inputs (resumable;
state files in ``--out``, else in the cache folder), locally or on a Dask cluster
(``--scheduler``); the 2¹⁶ float16 or bfloat16 inputs in seconds.  Exit status 0 when every
row meets its target, 1 when one does not.

``--implementation torch,jax``: the framework audit instead
(:mod:`activation_lab.analysis.framework_audit`): the frameworks' built-in functions, the formula
typed into the framework with autograd, and this project's exports, f and f′, in float16,
bfloat16 (every input) and float32 (default sweep); ``--table FILE`` writes it as Markdown,
stamped with the date, the machine and the versions (``docs/results/framework-audit.md`` is
made so).  The audit is a measurement: its exit status is 0 whatever the verdicts (each row
carries its own).

Files are written only where asked: the worst cases go to ``--out DIR/check-worst.csv``
(none without ``--out``); the folder is checked before the work starts, and a
check-worst.csv there that activation-lab did not write is replaced only with ``--force``.
SIGTERM and SIGHUP stop the command as Ctrl-C does (workers stopped, state saved, one line,
exit status 128 + signal).
"""

from __future__ import annotations

import argparse
import csv
import io
import math
from pathlib import Path

from ...errors import ActivationLabError
from ._common import add_param_option, add_quiet_option, emit_json, long_command, parse_params, progress, resolve, table

HELP = "check accuracy against mpmath (ULP; default sweep or every input of a format), worst cases to CSV"

CSV_NAME = "check-worst.csv"
CSV_HEADER = ("activation", "order", "dtype", "mode", "kind", "rank", "x", "got", "exact", "ulp_error", "kappa",
              "allowed")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="*", metavar="NAMES",
                   help="catalogue names or formulas in x (default: the whole catalogue)")
    p.add_argument("--order", default=None, metavar="0,1",
                   help="derivative orders, comma-separated (default 0,1; 0 with --exhaustive)")
    p.add_argument("--dtype", default=None, metavar="float32,float64",
                   help="float16, bfloat16, float32, float64, comma-separated "
                        "(default float32,float64; float32 with --exhaustive)")
    p.add_argument("--exhaustive", action="store_true",
                   help="every input of the format: the 2^32 float32 inputs (minutes per function; resumable), "
                        "the 2^16 float16 or bfloat16 inputs (seconds)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="with --exhaustive: run the chunks on this dask.distributed scheduler (e.g. tcp://host:8786)")
    add_param_option(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_quiet_option(p)
    p.add_argument("--out", metavar="DIR", default=None,
                   help=f"write {CSV_NAME} (and the exhaustive state files) into DIR, created if missing; "
                        "without it nothing is written but the exhaustive state files, kept in the cache folder")
    p.add_argument("--force", action="store_true",
                   help=f"replace a {CSV_NAME} in --out that activation-lab did not write")
    p.add_argument("--implementation", metavar="torch,jax", default=None,
                   help="audit the frameworks instead: their built-in functions, the formula with autograd and "
                        "activation_lab.export, in float16, bfloat16 (every input) and float32 (default: TeLU and "
                        "every activation both PyTorch and JAX ship)")
    p.add_argument("--table", metavar="FILE", default=None,
                   help="with --implementation: write the audit as a Markdown table to FILE (stamped with date, "
                        "machine and versions), e.g. docs/results/framework-audit.md")


def _orders(text: str) -> list[int]:
    try:
        orders = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        orders = []
    if not orders or any(k < 0 for k in orders):
        raise ActivationLabError(f"--order {text!r} is not a comma-separated list of orders; write e.g. --order 0,1")
    return orders


def _dtypes(text: str) -> list[str]:
    from ...requests import SUPPORTED_DTYPES

    dtypes = list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    bad = [d for d in dtypes if d not in SUPPORTED_DTYPES]
    if not dtypes or bad:
        raise ActivationLabError(f"--dtype {text!r}: use {', '.join(SUPPORTED_DTYPES[:-1])} and/or "
                                 f"{SUPPORTED_DTYPES[-1]}, e.g. --dtype float32,float64")
    return dtypes


def _fmt(v: float) -> str:
    return "inf" if math.isinf(v) else f"{v:.3g}"


def _pct(v: float) -> str:
    return f"{v:.2%}" if v < 1 else "100%"


def _csv_rows(label: str, n: int, dtype: str, mode: str, report) -> list[tuple]:
    rows = []
    for kind, cases in (("worst", report.worst), ("failure", report.failures)):
        for rank, c in enumerate(cases, 1):
            optional = ["" if math.isnan(v) else repr(v) for v in (c.kappa, c.allowed)]
            rows.append((label, n, dtype, mode, kind, rank, repr(c.x), repr(c.got), repr(c.exact), repr(c.ulp),
                         *optional))
    return rows


def _write_csv(out: Path | None, rows: list[tuple]) -> Path | None:
    """check-worst.csv in ``out`` (recorded as the tool's), or nothing when no --out was given."""
    from ...atomic import record_files, write_atomic

    if out is None:
        return None
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(rows)
    out.mkdir(parents=True, exist_ok=True)
    path = write_atomic(out / CSV_NAME, buf.getvalue())
    record_files(out, {CSV_NAME: None}, "activation-lab check")
    return path


def _engine() -> str:
    from ...numeric.native import status

    return (f"float32 by {status()}; float16 and bfloat16 by NumPy blocks in double; float64 in long double "
            "(numpy.longdouble)")


def _sweep(acts, orders, dtypes, args, out: Path | None) -> int:
    from ...analysis.accuracy import accuracy, gradient_underflow, order_label

    reports, csv_rows = [], []
    bar = progress(args, len(acts) * len(orders) * len(dtypes) + 1, "check")
    try:
        for act in acts:
            for n in orders:
                for dtype in dtypes:
                    bar.set_description(f"check {act.name} {order_label(n)} {dtype}")
                    r = accuracy(act, n, dtype)
                    reports.append(r)
                    csv_rows += _csv_rows(act.name, n, dtype, "sweep", r)
                    bar.update(1)
        bar.set_description("check: gradient-underflow scan")
        scan = gradient_underflow(acts)
        bar.update(1)
    finally:
        bar.close()
    csv_path = _write_csv(out, csv_rows)
    failed = [r for r in reports if not r.passed]
    if args.json:
        emit_json({"rows": [r.to_dict() for r in reports], "underflow": scan.to_dict(),
                   "csv": str(csv_path) if csv_path else None, "engine": _engine(), "passed": not failed})
        return 1 if failed else 0
    rows = [(r.name, order_label(r.n), r.dtype, r.count, _fmt(r.max_ulp), _fmt(r.p99_ulp), _pct(r.within_half),
             _pct(r.within_1), _pct(r.within_2), repr(r.worst[0].x) if r.worst else "", r.n_failures,
             r.n_special_mismatches, r.n_signed_zero_mismatches, "met" if r.passed else "NOT met") for r in reports]
    print(table(rows, ("activation", "order", "dtype", "points", "max ULP", "p99 ULP", "<=0.5", "<=1", "<=2",
                       "worst x", "over target", "special", "signed 0", "target")))
    print("\ntarget: err <= 4*max(1, kappa) ULP for f and f', 16*max(1, kappa) for f''; kappa = |x g'(x)/g(x)|")
    print(f"evaluated as large NumPy arrays are: {_engine()}")
    print(f"\ngradient underflow: most negative x where {order_label(scan.n)} is still nonzero")
    print(scan)
    for r in failed:
        print(f"\n{r}")
    print(f"\nworst cases: {csv_path}" if csv_path else "\nworst cases: not written (add --out DIR for a CSV)")
    return 1 if failed else 0


def _slug(act) -> str:
    """A file-name part for ``act``: the catalogue name as it is; anything else (a formula, other
    parameter values) with a digest, so x*tanh(exp(x)/2) and x*tanh(exp(x)*2) get their own files."""
    import hashlib

    from ...activation import get

    plain = "".join(ch if ch.isalnum() else "_" for ch in act.name)[:60]
    try:
        if get(act.name) == act:
            return plain
    except ActivationLabError:
        pass
    return f"{plain}-{hashlib.sha256(repr(act._id()).encode()).hexdigest()[:10]}"


def state_folder(out: Path | None) -> Path:
    """Where ``check --exhaustive`` keeps its state files: ``--out``, else ``check`` in the cache folder
    (mode 0700, this user's)."""
    from ...numeric.native import cache_root, private_folder

    if out is not None:
        return out
    folder = cache_root() / "check"
    why = private_folder(folder)
    if why:
        raise ActivationLabError(f"the state files of --exhaustive go to the cache folder without --out, but that "
                                 f"{why}; give --out DIR")
    return folder


def _exhaustive(acts, orders, dtypes, args, out: Path | None) -> int:
    from ...analysis.accuracy import order_label
    from ...analysis.exhaustive import exhaustive

    states = state_folder(out)
    states.mkdir(parents=True, exist_ok=True)
    reports, csv_rows = [], []
    for act in acts:
        for n in orders:
            for dtype in dtypes:
                suffix = "" if dtype == "float32" else f"-{dtype}"
                state = states / f"check-exhaustive-{_slug(act)}-{n}{suffix}.json"
                r = exhaustive(act, n, state=state, scheduler=args.scheduler, dtype=dtype,
                               progress=not (args.json or args.quiet))
                reports.append((r, state))
                csv_rows += _csv_rows(act.name, n, dtype, "exhaustive", r)
    csv_path = _write_csv(out, csv_rows)
    failed = [r for r, _ in reports if not r.passed]
    if args.json:
        emit_json({"rows": [{**r.to_dict(), "state": str(s)} for r, s in reports],
                   "csv": str(csv_path) if csv_path else None, "passed": not failed})
        return 1 if failed else 0
    rows = [(r.name, order_label(r.n), r.dtype, r.count, f"{r.max_ulp:.10g}", f"<={r.p99_ulp:g}", r.within(0.5),
             r.within(1.0), r.within(2.0), r.n_special_mismatches, r.confirmed, r.corrected,
             f"{r.reference_max_rel_error:.2g}", f"{r.seconds:.0f}", "met" if r.passed else "NOT met")
            for r, _ in reports]
    print(table(rows, ("activation", "order", "dtype", "inputs", "max ULP", "p99 ULP", "<=0.5", "<=1", "<=2",
                       "special", "mpmath-confirmed", "corrected", "ref rel err", "seconds", "target")))
    for r, state in reports:
        print(f"\n{r}\n  state: {state}")
    print(f"\nworst cases: {csv_path}" if csv_path else "\nworst cases: not written (add --out DIR for a CSV)")
    return 1 if failed else 0


def machine() -> str:
    """The CPU's model name and the cores this process may use (Linux's /proc/cpuinfo; else the platform)."""
    import os
    import platform

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return f"{model}, {cores} cores"


def _load() -> str:
    try:
        import os

        return "/".join(f"{v:.2f}" for v in os.getloadavg())
    except (OSError, AttributeError):
        return "unknown"


def _audit(acts, orders, dtypes, args) -> int:
    import datetime
    import platform
    import sys
    import time

    from ...analysis.framework_audit import AUDIT_DTYPES, framework_audit
    from ...atomic import write_atomic

    frameworks = [f.strip() for f in args.implementation.split(",") if f.strip()]
    if dtypes is None:
        dtypes = list(AUDIT_DTYPES)
    load_before, t0 = _load(), time.monotonic()
    bar = progress(args, None, "check --implementation")
    try:
        audit = framework_audit(frameworks, acts, dtypes, orders,
                                progress=lambda text: bar.set_description(f"audit {text}"))
    finally:
        bar.close()
    table_path = None
    if args.table:
        when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        versions = ", ".join([f"Python {platform.python_version()}"] + [f"{k} {v}" for k, v in audit.versions.items()])
        typed = " ".join(sys.argv[1:]) if sys.argv[1:2] == ["check"] else ""
        command = "activation-lab " + (typed or f"check --implementation {args.implementation} --table {args.table}")
        stamp = "\n".join([
            f"- **Generated** {when} by `{command}` ({time.monotonic() - t0:.0f} s wall).",
            f"- **Machine**: {machine()} ({platform.system()} {platform.machine()}), the frameworks on the CPU; "
            f"load average {load_before} before and {_load()} after (1/5/15 min).",
            f"- **Versions**: {versions}.",
            "- Do not edit by hand: run the command again and commit the page."])
        table_path = write_atomic(Path(args.table), audit.markdown(stamp) + "\n")
    if args.json:
        emit_json({**audit.to_dict(), "table": str(table_path) if table_path else None})
    else:
        print(audit)
        print(f"\ntable: {table_path}" if table_path else "\ntable: not written (add --table FILE for Markdown)")
    return 0


def _stop_note(args: argparse.Namespace) -> str:
    if not getattr(args, "exhaustive", False):
        return ""
    where = args.out if args.out is not None else "the cache folder (activation-lab cache)"
    return f"; the state files in {where} resume the run when it is started again"


@long_command(_stop_note)
def run(args: argparse.Namespace) -> int:
    from ...catalog import CATALOG

    orders = _orders(("0" if args.exhaustive else "0,1") if args.order is None else args.order)
    if args.table and not args.implementation:
        raise ActivationLabError("--table writes the framework audit; add --implementation torch,jax")
    if args.implementation:
        if args.exhaustive or args.scheduler or args.out:
            raise ActivationLabError("--implementation runs the framework audit (every 16-bit input already); "
                                     "leave out --exhaustive, --scheduler and --out (write it with --table FILE)")
        params = parse_params(args.param)
        acts = [resolve(name, params) for name in args.names] or None
        return _audit(acts, orders, None if args.dtype is None else _dtypes(args.dtype), args)
    dtypes = _dtypes(("float32" if args.exhaustive else "float32,float64") if args.dtype is None else args.dtype)
    if args.exhaustive and "float64" in dtypes:
        raise ActivationLabError("--exhaustive covers float16, bfloat16 and float32 (float64's 2^64 inputs are "
                                 "too many); drop float64 from --dtype, e.g. --dtype float32")
    if args.scheduler and not args.exhaustive:
        raise ActivationLabError("--scheduler runs exhaustive checks on a Dask cluster; add --exhaustive")
    out = None
    if args.out is not None:
        from ...atomic import check_output_folder, foreign_files

        out = check_output_folder(args.out)     # before any work: creatable and writable
        foreign = foreign_files(out, [CSV_NAME])
        if foreign and not args.force:
            raise ActivationLabError(f"{str(out / CSV_NAME)!r} was not written by activation-lab check and would be "
                                     "replaced; move it, choose another --out, or add --force to replace it")
    elif args.exhaustive:
        state_folder(None)
    params = parse_params(args.param)
    acts = [resolve(name, params) for name in (args.names or [e.name for e in CATALOG])]
    if args.exhaustive:
        return _exhaustive(acts, orders, dtypes, args, out)
    return _sweep(acts, orders, dtypes, args, out)
