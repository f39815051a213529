"""``activation-lab show NAME``: formula, first and second derivatives, key values."""

from __future__ import annotations

import argparse

from ...errors import FormulaTooComplexError
from ._common import as_written, emit_json, resolve

HELP = "show one activation: formula, f', f'', values at 0 and limits at ±inf"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="catalogue name or alias (e.g. telu, tanhexp), or a formula in x")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="parameter value")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def parse_params(items: list[str]) -> dict[str, str]:
    from ...errors import ActivationLabError

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ActivationLabError(f"--param {item!r} is not NAME=VALUE; write e.g. --param alpha=0.1")
        out[name.strip()] = value.strip()
    return out


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ...numeric.limits import limits

    act = resolve(args.name, parse_params(args.param))
    info = {
        "name": act.name, "formula": act.formula, "expr": str(act.expr), "params": act.params,
        "description": act.description, "source": act.source, "family": act.family,
        "derivative_1": str(act.derivative(1)), "derivative_2": str(act.derivative(2)),
        "latex": act.latex(0), "latex_1": act.latex(1), "equals": act.equals,
    }
    at0 = act.evaluate(np.zeros(1), n=(0, 1, 2))
    for k, name in enumerate(("f(0)", "f'(0)", "f''(0)")):
        info[name] = float(at0[k][0])
    for k in (0, 1):
        try:
            lo, hi = limits(act.expr, k)
        except FormulaTooComplexError:   # undecided within the budget: said, not an exit
            lo = hi = None
        info[f"f{chr(39) * k}(-inf)"] = lo
        info[f"f{chr(39) * k}(+inf)"] = hi
    record = _catalogue_record(args.name, act)
    if record is not None:
        info["provenance"] = record
    if args.json:
        emit_json(info)
        return 0
    print(f"{act.name}: {act.description}" if act.description else act.name)
    if record is not None:
        _print_provenance(record)
    elif act.source:
        print(f"  source:  {act.source}")
    if act.equals:
        print(f"  equals the catalogue entry {act.equals!r}")
    elif getattr(act, "equals_note", ""):
        print(f"  catalogue match {act.equals_note}")
    # numbers as the user wrote them: sigmoid(1.702*x), not sigmoid(851*x/500)
    print(f"  f(x)   = {as_written(act.expr)}")
    print(f"  f'(x)  = {as_written(act.derivative(1))}")
    print(f"  f''(x) = {as_written(act.derivative(2))}")
    if act.params:
        print("  params: " + ", ".join(f"{k}={v:g}" for k, v in act.params.items()))
    for key in ("f(0)", "f'(0)", "f''(0)", "f(-inf)", "f(+inf)", "f'(-inf)", "f'(+inf)"):
        value = "not decided within its budget" if info[key] is None else repr(info[key])
        print(f"  {key:<9}= {value}")
    return 0


def _catalogue_record(text: str, act) -> dict | None:
    """The catalogue's record (provenance, frameworks' names) of the entry ``text`` resolved to, else None."""
    from ...catalog import CATALOG
    from ...frameworks import lookup, split
    from .cmd_list import entry_record

    name = act.name
    parts = split(text) if isinstance(text, str) else None
    if parts is not None:
        row = lookup(*parts)
        name = row.entry if row is not None else name
    for entry in CATALOG:
        if entry.name == name:
            return entry_record(entry)
    return None


def _print_provenance(record: dict) -> None:
    first = record["first_publication"]
    print(f"  family:  {record['family']}")
    print(f"  first published: {first['authors']} ({first['year']}), {first['venue']}")
    for other in record["rediscoveries"]:
        print(f"  also:    {other}")
    if record["aliases"]:
        print(f"  aliases: {', '.join(record['aliases'])}")
    for fw in record["frameworks"]:
        extra = f"  [{fw['note']}]" if fw["note"] else ""
        print(f"  {fw['framework'] + ':':<7} {fw['signature']}{extra}")
