"""``activation-lab compare FORMULA_OR_NAME``: one activation against TeLU and the usual ones, as a report.

Without ``--out`` the report is printed as Markdown (no plots); with ``--out DIR`` it is
written there as ``report.md`` (with its PNG plots) and ``report.html`` (self-contained).
"""

from __future__ import annotations

import argparse
import sys

from ._common import long_command
from .cmd_show import parse_params

HELP = "compare an activation (formula or name) with TeLU, SiLU, GELU, Mish: a Markdown/HTML report"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("formula", metavar="FORMULA_OR_NAME",
                   help="a formula in x, e.g. 'x*tanh(exp(x)/2)', or a catalogue name such as mish")
    p.add_argument("--name", help="the name shown in the report (default: the formula)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="value of a parameter of the formula, e.g. --param a=0.5 (repeatable)")
    p.add_argument("--against", default="telu,silu,gelu,mish", metavar="NAMES",
                   help="comma-separated catalogue names to compare with (TeLU is always included); "
                        "default: %(default)s")
    p.add_argument("--out", metavar="DIR", help="write the report into DIR (created if missing)")
    p.add_argument("--format", default="md,html", metavar="FORMATS",
                   help="report formats with --out: md, html or both (default: %(default)s)")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty directory that activation-lab did not create "
                        "(same-named files are replaced; nothing else is touched)")


@long_command()
def run(args: argparse.Namespace) -> int:
    from ...errors import ActivationLabError
    from ..compare import _resolve, compare
    from ..report import check_formats, check_out_dir, write_report

    params = parse_params(args.param)
    # every check that can fail comes before the slow part and before anything is written
    _resolve(args.formula, args.name, params)
    if args.out is None:
        if args.format != "md,html":
            raise ActivationLabError("--format applies to files written with --out DIR; "
                                     "add --out DIR, or leave --format out to print Markdown")
        comparison = compare(args.formula, args.name, params, args.against, plots=False)
        sys.stdout.write(str(comparison))
        return 0
    formats = check_formats(args.format)
    check_out_dir(args.out, args.force)
    comparison = compare(args.formula, args.name, params, args.against)
    for path in write_report(comparison, args.out, formats, args.force):
        print(path)
    return 0
