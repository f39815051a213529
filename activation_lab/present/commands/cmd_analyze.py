"""``activation-lab analyze NAME [NAME...] [--against telu] [--json]``: properties side by side."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import emit_json, resolve, table

HELP = "analyse activations side by side: extremes, Lipschitz, moments, saturation, gradient quotient"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="+", metavar="NAME", help="catalogue names or aliases, or formulas in x")
    p.add_argument("--against", default="telu", metavar="REF",
                   help="reference of the gradient quotient f'/ref' (default: telu)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _num(v: float) -> str:
    return f"{v:.12g}"


def _point(p: tuple[float, float] | None) -> str:
    return "none" if p is None else f"{_num(p[1])} at {_num(p[0])}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _limit(quot: dict[str, Any]) -> str:
    exact = quot["limit_exact"]
    return str(exact) if exact is not None else _num(quot["limit_neg_inf"]) + " (numerical)"


def _spans(items: list[tuple[float, float]]) -> str:
    return " ".join(f"({a:.4g},{b:.4g})" for a, b in items) or "none"


def analyse(act: Any, against: Any) -> dict[str, Any]:
    """Everything the verb shows for one activation, computed by the analysis layer."""
    from ...analysis.equivalence import catalog_match
    from ...analysis.properties import properties
    from ...analysis.quotient import quotient
    from ...analysis.saturation import saturation

    props = properties(act)
    neg = saturation(act, direction=-1, order=1)
    pos = saturation(act, direction=1, order=0)
    quot = quotient(act, reference=against)
    params = "".join(f"; {k}={v:g}" for k, v in act.params.items())
    info = {"name": act.name, "formula": str(act.expr), "formula_text": act.formula + params,
            "equals": catalog_match(act) if act.source == "user formula" else act.name}
    info.update({k: getattr(props, k) for k in props.__dataclass_fields__ if k != "name"})
    info["saturation_neg_inf"] = {k: getattr(neg, k) for k in
                                  ("kind", "leading", "constant", "rate", "prefactor_power", "ratios", "agree",
                                   "numerical_fallback")}
    info["approach_pos_inf"] = {k: getattr(pos, k) for k in
                                ("describes", "asymptote", "kind", "leading", "rate", "agree", "numerical_fallback")}
    info["quotient"] = {"reference": quot.reference, "limit_neg_inf": quot.limit_neg_inf,
                        "limit_exact": quot.limit_exact, "poles": quot.poles,
                        "below_one": quot.below_one, "above_one": quot.above_one,
                        "range": [float(quot.x.min()), float(quot.x.max())]}
    return info


def _rows(infos: list[dict[str, Any]]) -> list[list[str]]:
    def row(label, fn):
        return [label, *(fn(i) for i in infos)]

    ref = infos[0]["quotient"]["reference"]
    lo, hi = infos[0]["quotient"]["range"]
    rows = [
        row("f(x)", lambda i: i["formula_text"]),
        row("f(0), f'(0)", lambda i: f"{_num(i['f0'])}, {_num(i['df0'])}"),
        row("f''(0)", lambda i: _num(i["d2f0"])),
        row("minimum (value at x)", lambda i: _point(i["minimum"])),
        row("maximum", lambda i: _point(i["maximum"])),
        row("inf f'", lambda i: _point(i["derivative_min"])),
        row("sup f'", lambda i: _point(i["derivative_max"])),
        row("Lipschitz", lambda i: _num(i["lipschitz"])),
        row("monotonic", lambda i: _yes(i["monotonic"])),
        row("bounded below/above", lambda i: f"{_yes(i['bounded_below'])}/{_yes(i['bounded_above'])}"),
        row("smoothness", lambda i: i["smoothness"]),
        row("zero crossings", lambda i: ", ".join(_num(z) for z in i["zero_crossings"]) or "none"),
        row("self-gated x*g(x), g =", lambda i: str(i["self_gated"]) if i["self_gated"] is not None else "no"),
        row("E[f(Z)]", lambda i: _num(i["E_f"])),
        row("E[f(Z)^2]", lambda i: _num(i["E_f2"])),
        row("E[f'(Z)]", lambda i: _num(i["E_df"])),
        row("E[f'(Z)^2]", lambda i: _num(i["E_df2"])),
        row("init gain 1/sqrt(E[f^2])", lambda i: _num(i["init_gain"])),
        row("f' as x->-inf: kind", lambda i: i["saturation_neg_inf"]["kind"]
            + (" (fit)" if i["saturation_neg_inf"]["numerical_fallback"] else "")),
        row("f' as x->-inf: ~", lambda i: str(i["saturation_neg_inf"]["leading"])),
        row("f as x->+inf: asymptote A", lambda i: str(i["approach_pos_inf"]["asymptote"] or "none")),
        row("  approach: kind", lambda i: i["approach_pos_inf"]["kind"]
            + (" (fit)" if i["approach_pos_inf"]["numerical_fallback"] else "")),
        row("  approach: ~", lambda i: ("1-f/A ~ " if i["approach_pos_inf"]["asymptote"] is not None else "f ~ ")
            + str(i["approach_pos_inf"]["leading"])),
        row(f"|f'/{ref}'| at -inf", lambda i: _limit(i["quotient"])),
        row(f"poles of f'/{ref}' in [{lo:g},{hi:g}]",
            lambda i: ", ".join(_num(p) for p in i["quotient"]["poles"]) or "none"),
        row(f"|f'/{ref}'| < 1 on", lambda i: _spans(i["quotient"]["below_one"])),
        row(f"|f'/{ref}'| > 1 on", lambda i: _spans(i["quotient"]["above_one"])),
    ]
    if any(i["equals"] != i["name"] for i in infos):
        rows.insert(1, row("equals catalogue entry", lambda i: str(i["equals"] or "none")))
    return rows


def run(args: argparse.Namespace) -> int:
    acts = [resolve(name) for name in args.names]
    against = resolve(args.against)
    infos = [analyse(act, against) for act in acts]
    if args.json:
        emit_json(infos)
        return 0
    print(table(_rows(infos), ["", *(i["name"] for i in infos)]))
    return 0
