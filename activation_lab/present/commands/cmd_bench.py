"""``activation-lab bench [NAMES]``: the paper's runtime experiment for any activation and backend."""

from __future__ import annotations

import argparse

from ._common import add_param_option, add_quiet_option, emit_json, long_command, parse_params, resolve, working

HELP = ("time f, f' and both fused (ns per element, vs a plain copy and naive NumPy); with --backend torch,jax: "
        "forward plus backward of the exports vs the frameworks' own and naive autograd, eager and compiled")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="*", metavar="NAME",
                   help="activations (catalogue names or formulas in x); default: the paper's group (with only "
                        "torch/jax backends: telu, gelu, silu, mish)")
    p.add_argument("--n", type=int, default=1_000_000, help="elements in the N(0, 1) input (default 1000000)")
    p.add_argument("--backend", default="numpy",
                   help="comma-separated: numpy, cupy (our evaluation), torch, jax (forward plus backward of "
                        "activation_lab.export, the framework's built-in and naive autograd, eager and compiled, on "
                        "the CPU and a GPU where there is one) (default numpy)")
    p.add_argument("--repeat", type=int, default=30, help="interleaved rounds (default 30)")
    p.add_argument("--dtype", default="float32", choices=("float16", "bfloat16", "float32", "float64"),
                   help="input dtype (default float32, as in the paper)")
    p.add_argument("--no-others", action="store_true",
                   help="leave out naive NumPy and PyTorch/JAX (on the CPU beside numpy, on the GPU beside cupy)")
    add_param_option(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_quiet_option(p)


@long_command()
def run(args: argparse.Namespace) -> int:
    from ...analysis.benchmark import benchmark

    params = parse_params(args.param)
    acts = [resolve(name, params) for name in args.names] or None
    backends = [b.strip() for b in args.backend.split(",") if b.strip()]
    with working(args, "bench"):     # progress on a terminal's stderr: elapsed time
        result = benchmark(acts, n=args.n, backends=backends, repeat=args.repeat, dtype=args.dtype,
                           others=not args.no_others)
    if args.json:
        emit_json(result.to_dict())
    else:
        print(result)
    return 0
