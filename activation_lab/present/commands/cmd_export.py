"""``activation-lab export NAME_OR_FORMULA --to torch|jax|numpy [--out FILE]``: a standalone module."""

from __future__ import annotations

import argparse
import sys

from ._common import add_param_option, parse_params, resolve

HELP = "write a standalone PyTorch, JAX or NumPy module of an activation (stable f, f', f'', autograd, self-test)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="catalogue name or alias (e.g. telu), or a formula in x")
    p.add_argument("--to", required=True, choices=("torch", "jax", "numpy"), help="the framework the file uses")
    p.add_argument("--out", metavar="FILE", help="write the module here (atomically); default: print it")
    add_param_option(p)


def run(args: argparse.Namespace) -> int:
    from ...export import module_source

    act = resolve(args.name, parse_params(args.param))
    source = module_source(act, args.to)
    if args.out is None:
        sys.stdout.write(source)
        return 0
    from ...atomic import write_atomic

    path = write_atomic(args.out, source)
    print(f"wrote {path} ({args.to}; run `python {path}` for its self-test)", file=sys.stderr)
    return 0
