"""``activation-lab analyze NAME [NAME...] [--param a=0.5] [--against telu] [--json]``: properties side by side.

A formula that is not real and finite on the line is refused (as by ``compare``); an analysis
that does not apply to a real formula (no leading term for sin(x)) is shown as not available,
with its reason, and the others are shown.  The catalogue relation is ``compare``'s.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from ._common import add_param_option, as_written, emit_json, parse_params, resolve, table

HELP = "analyse activations side by side: extremes, Lipschitz, moments, saturation, gradient quotient"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="+", metavar="NAME", help="catalogue names or aliases, or formulas in x")
    add_param_option(p)
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


def analyse(act: Any, against: Any, param_text: dict[str, str] | None = None) -> dict[str, Any]:
    """Everything the verb shows for one activation, computed by the analysis layer; an analysis
    that does not apply is recorded under "unavailable" with its reason."""
    from ...analysis.properties import Properties, properties
    from ...analysis.quotient import quotient
    from ...analysis.saturation import saturation
    from ..compare import Unavailable, attempt, check_real, equivalence_finding

    check_real(act)
    # parameters as the user wrote them (1.702, not 851/500)
    shown = param_text or {k: f"{v:g}" for k, v in act.params.items()}
    params = "".join(f"; {k}={v}" for k, v in shown.items() if k in act.params)
    finding = attempt(equivalence_finding, act)
    info: dict[str, Any] = {"name": act.name, "formula": str(act.expr), "formula_text": act.formula + params,
                            "equals": None, "relation": None, "unavailable": {}}
    if isinstance(finding, Unavailable):
        info["unavailable"]["relation"] = finding.reason
    else:
        info["equals"] = finding.match if finding.relation == "identical" else None
        info["relation"] = finding.statement
        info["relation_short"] = "catalogue entry" if finding.match == act.name else _short(finding)
    props = attempt(properties, act)
    for k in Properties.__dataclass_fields__:
        if k != "name":
            info[k] = None if isinstance(props, Unavailable) else getattr(props, k)
    if isinstance(props, Unavailable):
        info["unavailable"]["properties"] = props.reason
    neg = attempt(saturation, act, direction=-1, order=1)
    pos = attempt(saturation, act, direction=1, order=0)
    quot = attempt(quotient, act, reference=against)
    info["saturation_neg_inf"] = _fields(neg, ("kind", "leading", "constant", "rate", "prefactor_power", "ratios",
                                              "agree", "numerical_fallback"))
    info["approach_pos_inf"] = _fields(pos, ("describes", "asymptote", "kind", "leading", "rate", "agree",
                                             "numerical_fallback"))
    for key, res in (("saturation_neg_inf", neg), ("approach_pos_inf", pos), ("quotient", quot)):
        if isinstance(res, Unavailable):
            info["unavailable"][key] = res.reason
    info["quotient"] = None if isinstance(quot, Unavailable) else {
        "reference": quot.reference, "limit_neg_inf": quot.limit_neg_inf, "limit_exact": quot.limit_exact,
        "poles": quot.poles, "below_one": quot.below_one, "above_one": quot.above_one,
        "range": [float(quot.x.min()), float(quot.x.max())], "blank": quot.blank}
    return info


def _fields(result: Any, names: tuple[str, ...]) -> dict[str, Any] | None:
    from ..compare import Unavailable

    return None if isinstance(result, Unavailable) else {k: getattr(result, k) for k in names}


def _short(finding: Any) -> str:
    """The catalogue relation in a table cell: 'silu (proven)', 'swish, beta=1.702', '2*telu(x)', 'none',
    'none (near telu, but different)'."""
    if finding.match is None:
        # a near miss refuted by equivalent(): said, so that it is not read as a match
        return f"none (near {finding.near}, but different)" if getattr(finding, "near", None) else "none"
    if finding.relation == "identical":
        sure = "proven" if "proven" in finding.statement else "indistinguishable, not proven"
        return f"{finding.match} ({sure})"
    if finding.relation == "parameters":
        return finding.match + ", " + ", ".join(f"{k}={v}" for k, v in (finding.params or {}).items())
    c = finding.constant
    # the constant as the compare statement writes it (2, -1/3, √2), else 12 digits
    size = (finding.constant_text or f"{c:.12g}").lstrip("-") if c is not None else ""
    sign = "-" if c is not None and c < 0 else "+"
    return {"scaled": f"{'-' if sign == '-' else ''}{size}*{finding.match}(x)",
            "offset": f"{finding.match}(x) {sign} {size}",
            "shifted": f"{finding.match}(x {sign} {size})"}.get(finding.relation, finding.match)


_GROUP = {"saturation": "saturation_neg_inf", "approach": "approach_pos_inf", "quotient": "quotient"}


def _rows(infos: list[dict[str, Any]], ref: str) -> list[list[str]]:
    def row(label, fn, group="properties"):
        def cell(i):
            if group in i["unavailable"]:
                return "n/a"
            return fn(i)
        return [label, *(cell(i) for i in infos)]

    ranges = [i["quotient"]["range"] for i in infos if i["quotient"] is not None]
    lo, hi = ranges[0] if ranges else (-10.0, 0.0)
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
        row("self-gated x*g(x), g =", lambda i: as_written(i["self_gated"]) if i["self_gated"] is not None else "no"),
        row("E[f(Z)]", lambda i: _num(i["E_f"])),
        row("E[f(Z)^2]", lambda i: _num(i["E_f2"])),
        row("E[f'(Z)]", lambda i: _num(i["E_df"])),
        row("E[f'(Z)^2]", lambda i: _num(i["E_df2"])),
        row("init gain 1/sqrt(E[f^2])", lambda i: _num(i["init_gain"])),
        row("f' as x->-inf: kind", lambda i: i["saturation_neg_inf"]["kind"]
            + (" (fit)" if i["saturation_neg_inf"]["numerical_fallback"] else ""), "saturation_neg_inf"),
        row("f' as x->-inf: ~", lambda i: as_written(i["saturation_neg_inf"]["leading"]), "saturation_neg_inf"),
        row("f as x->+inf: asymptote A", lambda i: str(i["approach_pos_inf"]["asymptote"] or "none"),
            "approach_pos_inf"),
        row("  approach: kind", lambda i: i["approach_pos_inf"]["kind"]
            + (" (fit)" if i["approach_pos_inf"]["numerical_fallback"] else ""), "approach_pos_inf"),
        row("  approach: ~", lambda i: ("1-f/A ~ " if i["approach_pos_inf"]["asymptote"] is not None else "f ~ ")
            + as_written(i["approach_pos_inf"]["leading"]), "approach_pos_inf"),
        row(f"|f'/{ref}'| at -inf", lambda i: _limit(i["quotient"]), "quotient"),
        row(f"poles of f'/{ref}' in [{lo:g},{hi:g}]",
            lambda i: ", ".join(_num(p) for p in i["quotient"]["poles"]) or "none", "quotient"),
        row(f"|f'/{ref}'| < 1 on", lambda i: _spans(i["quotient"]["below_one"]), "quotient"),
        row(f"|f'/{ref}'| > 1 on", lambda i: _spans(i["quotient"]["above_one"]), "quotient"),
    ]
    if any(i.get("relation_short") != "catalogue entry" for i in infos):
        rows.insert(1, row("catalogue relation", lambda i: i.get("relation_short", "n/a"), "relation"))
    return rows


def _notes(infos: list[dict[str, Any]]) -> list[str]:
    """The relation statements (compare's words) and the reasons of analyses not available."""
    lines = []
    for i in infos:
        if i["relation"] and i["equals"] != i["name"]:
            lines.append(f"{i['name']}: {i['relation']}")
        for what, why in i["unavailable"].items():
            lines.append(f"{i['name']}: {what.replace('_', ' ')} not available: {why}")
    return lines


def run(args: argparse.Namespace) -> int:
    params = parse_params(args.param)
    acts = [_resolve_with(name, params) for name in args.names]
    against = resolve(args.against)
    infos = [analyse(act, against, {k: v for k, v in params.items() if k in act.params}) for act in acts]
    if args.json:
        emit_json(infos)
        return 0
    print(table(_rows(infos, against.name), ["", *(i["name"] for i in infos)]))
    notes = _notes(infos)
    if notes:
        print("\n" + "\n".join(notes))
    return 0


def _resolve_with(text: str, params: dict[str, str]) -> Any:
    """``text`` with the --param values it uses (a formula may use some of them, a name none)."""
    from ...errors import ActivationLabError

    if not params:
        return resolve(text)
    try:
        return resolve(text, params)
    except ActivationLabError as err:
        if "not used" not in str(err) and "unexpected" not in str(err) and "parameter" not in str(err):
            raise
    # this NAME uses only some of the given parameters (or none): try with just those it names
    names = set(re.findall(r"[A-Za-z_]\w*", text))
    used = {k: v for k, v in params.items() if k in names}
    return resolve(text, used)
