"""The ``activation-lab`` command line: argparse, one module per verb in ``commands/``.

Verbs format results computed elsewhere; they do not compute.  Each verb module defines
``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.

Exit status: 0 done; 2 the user's to fix, with one line naming the problem and a fix (unknown
name, bad formula, a formula too complex for a step's budget, an unwritable ``--out``, out of
memory); 130 interrupted; 1 an internal error, also one line without a traceback (set
``ACTIVATION_LAB_TRACEBACK=1`` to see it).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from ..budget import BudgetInterrupt
from ..errors import ActivationLabError

# verb -> module under activation_lab.present.commands (missing modules are skipped)
VERBS: dict[str, str] = {
    "list": "cmd_list",
    "show": "cmd_show",
    "analyze": "cmd_analyze",
    "figures": "cmd_figures",
    "check": "cmd_check",
    "bench": "cmd_bench",
    "compare": "cmd_compare",
    "propagate": "cmd_propagate",
    "cache": "cmd_cache",
    "export": "cmd_export",
}


_EPILOG = ("A formula that starts with '-' would read as an option: put it after '--', as in "
           "activation-lab {verb} -- '-x*tanh(exp(x))' (for an option value: --add=-x).")


def build_parser() -> argparse.ArgumentParser:
    from ..version import __version__

    parser = argparse.ArgumentParser(
        prog="activation-lab",
        description="Analyse activation functions: TeLU, its competitors, and your own formulas.")
    parser.add_argument("--version", action="version", version=f"activation-lab {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True
    for verb, module_name in VERBS.items():
        try:
            module = importlib.import_module(f"{__package__}.commands.{module_name}")
        except ModuleNotFoundError as err:
            if err.name and err.name.endswith(module_name):
                continue
            raise
        p = sub.add_parser(verb, help=module.HELP, description=module.HELP, epilog=_EPILOG.format(verb=verb))
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except ActivationLabError as err:
        print(f"activation-lab {args.verb}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `activation-lab list | head`
        return 0
    except OSError as err:   # --out on a file, in a read-only place, a full disk: the user's to fix
        where = f" {err.filename!r}" if err.filename else ""
        print(f"activation-lab {args.verb}: error: cannot write{where}: {err.strerror or err}; "
              "choose another --out (a folder you can write to)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"activation-lab {args.verb}: interrupted (check --exhaustive resumes from its state file when run "
              "again)", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"activation-lab {args.verb}: error: out of memory; ask for fewer points (e.g. a smaller --n)",
              file=sys.stderr)
        return 2
    except (RecursionError, BudgetInterrupt):
        # outside a bounded step (inside one they arrive as FormulaTooComplexError)
        print(f"activation-lab {args.verb}: error: formula too complex: a step ran past its budget or nested too "
              "deep; fix: simplify the formula (fewer nested functions, smaller powers)", file=sys.stderr)
        return 2
    except Exception as err:  # a bug: one line, not a traceback (ACTIVATION_LAB_TRACEBACK=1 shows it)
        if os.environ.get("ACTIVATION_LAB_TRACEBACK"):
            raise
        detail = " ".join(str(err).split())
        detail = detail if len(detail) <= 300 else detail[:297] + "..."
        print(f"activation-lab {args.verb}: internal error: {type(err).__name__}"
              f"{': ' + detail if detail else ''} (a bug in activation-lab: please report it with the command "
              "line; ACTIVATION_LAB_TRACEBACK=1 shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
