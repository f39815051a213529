"""``activation-lab figures``: regenerate the paper's figures 8–12 with their CSV data."""

from __future__ import annotations

import argparse

from ..style import DPI, FigureRequestError
from ._common import long_command

HELP = "regenerate the TeLU paper's figures 8-12 (images, CSV data, README.md) into a folder"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="figures", metavar="DIR", help="output folder (default: figures)")
    p.add_argument("--format", default="png", metavar="FMT[,FMT]",
                   help="image formats, comma-separated, from png, pdf, svg (default: png)")
    p.add_argument("--only", default=None, metavar="N[,N]", help="figure numbers to make, e.g. 8,11 (default: all)")
    p.add_argument("--add", action="append", default=[], metavar="[NAME=]FORMULA",
                   help="an extra activation drawn in every figure in a colour of its own: a catalogue name or a "
                        "formula in x, NAME= to name it in the legend and CSV, e.g. --add 'mish2=x*tanh(softplus(x))' "
                        "(repeatable; the figures grow to keep their panels' size)")
    p.add_argument("--dpi", type=int, default=DPI, help=f"PNG resolution (default: {DPI})")
    p.add_argument("--force", action="store_true",
                   help="replace files of the same names (figNN_*, README.md) in --out that activation-lab did "
                        "not write; other files are never touched")


def parse_only(text: str | None) -> list[int] | None:
    """'8,11' or 'fig08,11' -> [8, 11]; None -> None (all figures)."""
    if text is None:
        return None
    numbers = []
    for item in text.split(","):
        digits = item.strip().lower().removeprefix("fig")
        if not digits.isdigit():
            raise FigureRequestError(f"--only {text!r}: {item.strip()!r} is not a figure number; "
                                     "write e.g. --only 8,11")
        numbers.append(int(digits))
    return numbers


@long_command()
def run(args: argparse.Namespace) -> int:
    from ..figures import write_all

    formats = [f for f in args.format.split(",") if f.strip()]
    # the texts as typed go through, so README.md quotes the user's own command
    written = write_all(args.out, formats=formats, only=parse_only(args.only), add=args.add, dpi=args.dpi,
                        force=args.force)
    for path in written:
        print(path)
    return 0
