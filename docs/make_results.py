"""Generate the results pages (docs/results/*.md) from the project's own commands.

    python docs/make_results.py                 # accuracy, gradient underflow and benchmark pages
    python docs/make_results.py --only bench    # one of: check, bench
    python docs/make_results.py --bench-n 1000000 --bench-repeat 10

Every number on the pages comes from ``activation-lab check --json`` and ``activation-lab bench
--json``, run here as subprocesses (``python -m activation_lab``), so a page shows exactly what a
user of the command would see on this machine.  Each page is stamped with the date, the machine
(CPU model, cores, load average while it ran), the versions of Python, NumPy, SymPy, mpmath and
activation-lab, the git commit and the command that made it.  Pages are written atomically
(temporary file, then rename): an interrupted run leaves the previous pages as they were.

Nothing here is pasted by hand: to update a page, run this script again and commit its output.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
ROOT = HERE.parent

#: the benchmark's defaults here: the paper's size, fewer rounds than the command's 30 to keep the run short
BENCH_N = 1_000_000
BENCH_REPEAT = 10


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, check=True, timeout=10)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _versions() -> str:
    import mpmath
    import numpy
    import sympy

    import activation_lab

    return (f"Python {platform.python_version()}, NumPy {numpy.__version__}, SymPy {sympy.__version__}, "
            f"mpmath {mpmath.__version__}, activation-lab {activation_lab.__version__} (commit {_git_commit()})")


def _load() -> str:
    try:
        return "/".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def _run(args: list[str]) -> tuple[dict, str, float, str, str]:
    """Run ``activation-lab ARGS --json``; return its JSON, the command as typed, seconds and load before/after."""
    command = [sys.executable, "-m", "activation_lab", *args, "--json", "--quiet"]
    shown = "activation-lab " + " ".join(shlex.quote(a) for a in args) + " --json"
    load_before = _load()
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):      # 1: a row missed its target, still a result to show
        raise SystemExit(f"{shown} failed with status {proc.returncode}:\n{proc.stderr}")
    return json.loads(proc.stdout), shown, seconds, load_before, _load()


def _stamp(command: str, seconds: float, load_before: str, load_after: str) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join([
        "```{admonition} How this page was made",
        ":class: note",
        "",
        f"- **Generated** {now} by `python docs/make_results.py`, from `{command}` "
        f"({seconds:.0f} s wall).",
        f"- **Machine**: {_cpu_model()}, {os.cpu_count()} cores ({platform.system()} {platform.machine()}); "
        f"load average {load_before} before and {load_after} after (1/5/15 min).",
        f"- **Versions**: {_versions()}.",
        "- Do not edit by hand: run the script again and commit the page.",
        "```",
        "",
    ])


def _ulp(v: float | str) -> str:
    """A ULP error; the command's strict JSON writes inf and nan as strings."""
    return v if isinstance(v, str) else ("inf" if math.isinf(v) else f"{v:.3g}")


def _x(v: float | str) -> str:
    """An argument x as Python prints it (shortest round trip); ±inf and nan arrive as strings."""
    return v if isinstance(v, str) else repr(v)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _write(name: str, text: str) -> Path:
    from activation_lab.atomic import write_atomic

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = write_atomic(RESULTS / name, text)
    print(f"wrote {os.path.relpath(path, ROOT)}")
    return path


def _label(n: int) -> str:
    return "f" + "′" * n if n < 4 else f"f^({n})"


def accuracy_pages() -> None:
    data, command, seconds, before, after = _run(["check", "--order", "0,1", "--dtype", "float32,float64"])
    stamp = _stamp(command, seconds, before, after)
    rows = data["rows"]
    names = list(dict.fromkeys(r["name"] for r in rows))
    cols = [("float32", 0), ("float32", 1), ("float64", 0), ("float64", 1)]
    by_key = {(r["name"], r["dtype"], r["n"]): r for r in rows}

    summary = []
    for name in names:
        cells = [f"`{name}`"]
        for dtype, n in cols:
            r = by_key.get((name, dtype, n))
            cells.append("" if r is None else _ulp(r["max_ulp"]) + ("" if r["passed"] else " (missed)"))
        summary.append(cells)
    detail = [[f"`{r['name']}`", _label(r["n"]), r["dtype"], str(r["count"]), _ulp(r["max_ulp"]), _ulp(r["p99_ulp"]),
               f"{r['within_half']:.2%}", f"{r['within_1']:.2%}",
               _x(r["worst"][0]["x"]) if r["worst"] else "", str(r["n_failures"]), str(r["n_special_mismatches"]),
               str(r["n_signed_zero_mismatches"]), "met" if r["passed"] else "**not met**"] for r in rows]
    missed = [r for r in rows if not r["passed"]]
    verdict = ("Every row meets its target." if not missed else
               f"{len(missed)} of {len(rows)} rows miss their target: "
               + ", ".join(f"`{r['name']}` {_label(r['n'])} {r['dtype']}" for r in missed) + ".")
    text = "\n".join([
        "# Accuracy of the evaluation (max ULP)",
        "",
        stamp,
        "The largest error in units in the last place (ULP) of the project's evaluation",
        "(`Activation.evaluate`, as large NumPy arrays are evaluated) against mpmath, over the default",
        f"sweep ({rows[0]['count'] if rows else 0} finite points in float32 and more in float64; see",
        "{doc}`../explanations/accuracy`), for every catalogue activation. A correctly rounded result scores",
        "at most 0.5 ULP. The target is 4·max(1, κ(x)) ULP for f and f′, κ the condition number",
        f"(see {{doc}}`../guide/check`). {verdict}",
        "",
        f"Engine: {data.get('engine', 'unknown')}.",
        "",
        "## Max ULP per activation",
        "",
        _table(["activation", "float32 f", "float32 f′", "float64 f", "float64 f′"], summary),
        "",
        "## Every row",
        "",
        "p99 is the 99th percentile of the ULP errors; *over target*, *special* and *signed 0* count the points",
        "over the κ-scaled target, the special-value mismatches and the zeros of the wrong sign.",
        "",
        _table(["activation", "order", "dtype", "points", "max ULP", "p99 ULP", "≤ 0.5", "≤ 1", "worst x",
                "over target", "special", "signed 0", "target"], detail),
        "",
    ])
    _write("accuracy.md", text)

    scan = data["underflow"]
    urows = [[f"`{r['name']}`", r["dtype"], _x(r["exact"]), _x(r["evaluated"]), "yes" if r["agree"] else "**no**"]
             for r in scan["rows"]]
    disagree = [r for r in scan["rows"] if not r["agree"]]
    text = "\n".join([
        "# Gradient underflow",
        "",
        stamp,
        f"For each activation, the most negative x at which {_label(scan['n'])}(x) is still nonzero in",
        "float32 and float16: from the exact model (mpmath: |f′(x)| above half the smallest subnormal,",
        "then bisection) and from the project's evaluation (every 4096th float32 and every float16, then",
        "float by float in the last step). −inf: nonzero all the way; 0.0: zero for every x < 0.",
        "The TeLU paper's float32 thresholds (≈ −103.97 for TeLU) are those of op-by-op float32",
        "evaluation; the exact model keeps TeLU′ ≈ (1 + x)eˣ nonzero further out.",
        "",
        ("The evaluation agrees with the exact model on every row." if not disagree else
         f"The evaluation disagrees with the exact model on {len(disagree)} rows."),
        "",
        _table(["activation", "dtype", "exact: last x with f′ ≠ 0", "evaluated", "agree"], urows),
        "",
    ])
    _write("underflow.md", text)


def bench_page(n: int, repeat: int) -> None:
    data, command, seconds, before, after = _run(["bench", *_catalogue_group(), "--n", str(n),
                                                  "--repeat", str(repeat)])
    stamp = _stamp(command, seconds, before, after)
    timings = data["timings"]
    names = list(dict.fromkeys(t["activation"] for t in timings if t["activation"]))
    copy = [t for t in timings if t["mode"] == "copy"]

    def row(t: dict) -> list[str]:
        speed = "" if t["speedup_vs_naive"] is None else f"{t['speedup_vs_naive']:.2f}"
        faults = "" if t["page_faults"] is None else f"{t['page_faults']:.0f}"
        return [t["backend"], t["mode"], f"{t['median_ns']:.3f}", f"{t['spread_ns']:.3f}", f"{t['copy_ratio']:.2f}",
                speed, faults]

    header = ["backend", "mode", "ns/elem", "IQR", "× copy", "× faster than naive", "page faults"]
    fused = [[f"`{t['activation']}`", f"{t['median_ns']:.3f}", f"{t['copy_ratio']:.2f}",
              "" if t["speedup_vs_naive"] is None else f"{t['speedup_vs_naive']:.2f}"]
             for t in timings if t["backend"] == "numpy" and t["mode"] == "fused"]
    parts = [
        "# Benchmark",
        "",
        stamp,
        f"The paper's runtime experiment: {data['n']:,} {data['dtype']} values from N(0, 1), "
        f"{data['repeat']} interleaved rounds in one process, {data['threads']} threads (the command's default",
        f"is 30 rounds; {repeat} keep this page's run short). Times are ns per element, median and interquartile",
        "range over the rounds; *× copy* is the ratio to a plain copy of the same array timed in the same",
        "rounds (each library against its own copy), *× faster than naive* the speed-up over SymPy's `lambdify`",
        "of f and f′ in plain NumPy (the `numpy-naive` rows). Ratios within one run are what to read: absolute",
        "times on a shared virtual machine move by tens of per cent between runs (see the load average above).",
        "See {doc}`../guide/backends` for what each backend runs.",
        "",
        "## f and f′ together (the `fused` rows of the numpy backend)",
        "",
        _table(["activation", "ns/elem", "× copy", "× faster than naive"], fused),
        "",
        "## Every row",
        "",
        "### Plain copy",
        "",
        _table(header, [row(t) for t in copy]),
        "",
    ]
    for name in names:
        parts += [f"### `{name}`", "", _table(header, [row(t) for t in timings if t["activation"] == name]), ""]
    if data.get("notes"):
        parts += ["## Notes", ""] + [f"- {note}" for note in data["notes"]] + [""]
    _write("benchmark.md", "\n".join(parts))


def _catalogue_group() -> list[str]:
    """The paper's group (the benchmark's default), named explicitly so the page says what ran."""
    from activation_lab import PAPER_GROUP

    return list(PAPER_GROUP)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=("check", "bench"), default=None, help="make only these pages")
    p.add_argument("--bench-n", type=int, default=BENCH_N, help=f"benchmark size (default {BENCH_N})")
    p.add_argument("--bench-repeat", type=int, default=BENCH_REPEAT, help=f"benchmark rounds (default {BENCH_REPEAT})")
    args = p.parse_args(argv)
    if args.only in (None, "check"):
        accuracy_pages()
    if args.only in (None, "bench"):
        bench_page(args.bench_n, args.bench_repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
