"""``activation-lab compare FORMULA_OR_NAME``: one activation against TeLU and the usual ones, as a report.

Without ``--out`` the report is printed as Markdown (no plots); with ``--out DIR`` it is
written there as ``report.md`` (with its PNG plots at ``--dpi``, default 200) and
``report.html`` (self-contained).  On a terminal, progress is shown on stderr (not with
``--quiet``).
"""

from __future__ import annotations

import argparse
import sys

from ._common import add_param_option, add_quiet_option, long_command, parse_params, progress

HELP = "compare an activation (formula or name) with TeLU, SiLU, GELU, Mish: a Markdown/HTML report"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..report import PLOT_DPI

    p.add_argument("formula", metavar="FORMULA_OR_NAME",
                   help="a formula in x, e.g. 'x*tanh(exp(x)/2)', or a catalogue name such as mish")
    p.add_argument("--name", help="the name shown in the report (default: the formula)")
    add_param_option(p)
    p.add_argument("--against", default="telu,silu,gelu,mish", metavar="NAMES",
                   help="comma-separated catalogue names to compare with (TeLU is always included); "
                        "default: %(default)s")
    p.add_argument("--out", metavar="DIR", help="write the report into DIR (created if missing)")
    p.add_argument("--format", default="md,html", metavar="FORMATS",
                   help="report formats with --out: md, html or both (default: %(default)s)")
    p.add_argument("--dpi", type=int, default=PLOT_DPI, help=f"resolution of the plots (default {PLOT_DPI})")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty directory that activation-lab did not create "
                        "(same-named files are replaced; nothing else is touched)")
    add_quiet_option(p)


@long_command()
def run(args: argparse.Namespace) -> int:
    from ...errors import ActivationLabError
    from ..compare import STAGES, compare, resolve_subject
    from ..report import check_dpi, check_formats, check_out_dir, write_report

    params = parse_params(args.param)
    # every check that can fail comes before the slow part and before anything is written
    resolve_subject(args.formula, args.name, params)
    check_dpi(args.dpi)
    if args.out is None and args.format != "md,html":
        raise ActivationLabError("--format applies to files written with --out DIR; "
                                 "add --out DIR, or leave --format out to print Markdown")
    if args.out is not None:
        formats = check_formats(args.format)
        check_out_dir(args.out, args.force)
    bar = progress(args, len(STAGES) + (args.out is not None), "compare")

    def step(stage: str) -> None:
        bar.set_description(f"compare: {stage}")
        if stage != STAGES[0]:
            bar.update(1)
    try:
        comparison = compare(args.formula, args.name, params, args.against, plots=args.out is not None,
                             progress=step)
        bar.update(1)
        if args.out is None:
            bar.close()
            sys.stdout.write(str(comparison))
            return 0
        bar.set_description("compare: writing")
        paths = write_report(comparison, args.out, formats, args.force, args.dpi)
        bar.update(1)
    finally:
        bar.close()
    for path in paths:
        print(path)
    return 0
