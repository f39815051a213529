"""``activation-lab list``: the catalogue as a table."""

from __future__ import annotations

import argparse

from ._common import emit_json, table

HELP = "list the catalogue: name, formula, family"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from ...catalog import CATALOG

    rows = [{"name": e.name, "formula": e.formula, "family": e.family, "aliases": list(e.aliases),
             "params": dict(e.params), "description": e.description, "source": e.source} for e in CATALOG]
    if args.json:
        emit_json(rows)
        return 0
    def params(r):
        return ", ".join(f"{k}={v}" for k, v in r["params"].items())
    print(table([(r["name"], r["formula"], r["family"], params(r)) for r in rows],
                ("name", "formula", "family", "parameters")))
    return 0
