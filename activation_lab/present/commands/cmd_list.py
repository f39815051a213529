"""``activation-lab list``: the catalogue as a table, grouped by family, with provenance."""

from __future__ import annotations

import argparse

from ._common import emit_json, table

HELP = "list the catalogue by family: name, formula, parameters, first publication (--family, --framework)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--family", action="append", default=[], metavar="FAMILY",
                   help="only this family (repeatable), e.g. self-gated, piecewise-linear")
    p.add_argument("--framework", action="append", default=[], metavar="NAME",
                   help="only activations this framework exports (torch, jax, keras, nnlib; repeatable), "
                        "with the framework's names")
    p.add_argument("--json", action="store_true", help="machine-readable output (every field, frameworks' names)")


def entry_record(entry) -> dict:
    """Everything the catalogue and the frameworks' table say about one entry (also ``show --json``)."""
    from ...frameworks import for_entry

    return {"name": entry.name, "formula": entry.formula, "family": entry.family, "aliases": list(entry.aliases),
            "params": dict(entry.params), "description": entry.description, "source": entry.source,
            "first_publication": {"authors": entry.authors, "year": entry.year, "venue": entry.venue},
            "rediscoveries": list(entry.rediscoveries),
            "frameworks": [{"framework": r.framework, "name": r.name, "qualified": r.qualified,
                            "signature": r.signature, "params": dict(r.params),
                            "kink_formula": r.formula, "note": r.note} for r in for_entry(entry.name)]}


def _check_choices(given: list[str], allowed: tuple[str, ...] | list[str], what: str) -> list[str]:
    from ...errors import ActivationLabError

    out = [g.strip().lower() for g in given]
    unknown = [g for g in out if g not in allowed]
    if unknown:
        raise ActivationLabError(f"unknown {what} {', '.join(map(repr, unknown))}; choose from {', '.join(allowed)}")
    return out


def run(args: argparse.Namespace) -> int:
    from ...catalog import CATALOG, FAMILIES
    from ...frameworks import FRAMEWORKS

    families = _check_choices(args.family, FAMILIES, "family")
    frameworks = _check_choices(args.framework, list(FRAMEWORKS), "framework")
    rows = [entry_record(e) for e in CATALOG]
    if families:
        rows = [r for r in rows if r["family"] in families]
    if frameworks:
        rows = [r for r in rows if any(f["framework"] in frameworks for f in r["frameworks"])]
    order = {f: i for i, f in enumerate(FAMILIES)}
    rows.sort(key=lambda r: order.get(r["family"], len(order)))       # stable: catalogue order within a family
    if args.json:
        emit_json(rows)
        return 0

    def params(r):
        return ", ".join(f"{k}={v}" for k, v in r["params"].items())

    def first(r):
        p = r["first_publication"]
        return f"{p['authors'].split(' (')[0]}, {p['year']}"

    def names(r):
        return ", ".join(f["qualified"] for f in r["frameworks"] if f["framework"] in frameworks)

    header = ("name", "formula", "parameters", "first published") + (("framework names",) if frameworks else ())
    for family in dict.fromkeys(r["family"] for r in rows):
        group = [r for r in rows if r["family"] == family]
        print(f"{family} ({len(group)})")
        cells = [(r["name"], r["formula"], params(r), first(r)) + ((names(r),) if frameworks else ()) for r in group]
        print(table(cells, header))
        print()
    print(f"{len(rows)} activations; `activation-lab show NAME` for one with its provenance and frameworks' names")
    return 0
