"""``activation-lab propagate NAMES``: the edge of chaos, q*, χ₁ and the depth scales, side by side with TeLU.

Numbers come from :mod:`activation_lab.analysis.propagation`; each is printed to the digits its
error estimate leaves right.
"""

from __future__ import annotations

import argparse
import math

from ._common import emit_json, long_command, resolve, table

HELP = "signal propagation: edge-of-chaos sigma_w and q* by sigma_b, depth scales at a point, init gains"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="+", metavar="NAMES",
                   help="catalogue names or formulas in x (comma-separated or several); TeLU is always included")
    p.add_argument("--sigma-b", default="0,0.05,0.1,0.2,0.5", metavar="B[,B]",
                   help="bias spreads sigma_b for the edge of chaos (default: %(default)s)")
    p.add_argument("--at", default="1.2,0.1", metavar="SIGMA_W,SIGMA_B",
                   help="the point where q*, chi1, xi_q and xi_c are shown (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _numbers(text: str, option: str, count: int | None = None) -> list[float]:
    from ...errors import ActivationLabError

    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or (count is not None and len(values) != count) or not all(math.isfinite(v) for v in values):
        example = "--at 1.5,0.1" if count == 2 else "--sigma-b 0,0.1,0.5"
        raise ActivationLabError(f"{option} {text!r} is not {'two' if count == 2 else 'a list of'} comma-separated "
                                 f"numbers; write e.g. {example}")
    return values


def _activations(names: list[str]) -> list:
    acts = [resolve("telu")]
    for item in names:
        # a formula may hold commas only inside calls; names are split at top-level commas
        parts, depth, start = [], 0, 0
        for i, ch in enumerate(item):
            depth += (ch == "(") - (ch == ")")
            if ch == "," and depth == 0:
                parts.append(item[start:i])
                start = i + 1
        parts.append(item[start:])
        acts += [resolve(p.strip()) for p in parts if p.strip()]
    unique: dict[str, object] = {}
    for act in acts:
        unique.setdefault(act.name, act)
    return list(unique.values())


@long_command()
def run(args: argparse.Namespace) -> int:
    from ...analysis.propagation import edge_of_chaos, gain, propagation, significant

    biases = _numbers(args.sigma_b, "--sigma-b")
    sw, sb = _numbers(args.at, "--at", 2)
    acts = _activations(args.names)
    edges = {a.name: [edge_of_chaos(a, b) for b in biases] for a in acts}   # errors for bad values come first
    points = {a.name: propagation(a, sw, sb) for a in acts}
    gains = {a.name: gain(a) for a in acts}
    if args.json:
        emit_json({
            "sigma_b": biases, "at": {"sigma_w": sw, "sigma_b": sb},
            "activations": {name: {
                "edge_of_chaos": [{"sigma_b": e.sigma_b, "exists": e.exists, "sigma_w": e.sigma_w,
                                   "q_star": e.q_star, "q_stable": e.q_stable, "reason": e.reason,
                                   "errors": dict(e.errors)} for e in edges[name]],
                "at": {k: getattr(points[name], k) for k in ("status", "reason", "q_star", "q_stable", "chi1",
                                                             "phase", "c_star", "c_slope", "xi_q", "xi_c")}
                | {"errors": dict(points[name].errors)},
                "gain": {g.convention: {"value": g.value, "defined": g.defined, "statement": g.statement}
                         for g in (gains[name].torch, gains[name].variance, gains[name].eoc)},
            } for name in edges},
        })
        return 0
    names = list(edges)
    rows = []
    for k, b in enumerate(biases):
        cells = []
        for name in names:
            e = edges[name][k]
            if not e.exists:
                cells.append("none")
            else:
                q = "any" if math.isnan(e.q_star) else significant(e.q_star, e.errors.get("q_star", 0.0), 6)
                mark = "" if e.q_stable else ", unstable q*"
                cells.append(f"{significant(e.sigma_w, e.errors.get('sigma_w', 0.0), 10)} (q* = {q}{mark})")
        rows.append((f"{b:g}", *cells))
    print("Edge of chaos: sigma_w with chi1 = 1 (and q*) at each sigma_b")
    print(table(rows, ("sigma_b", *names)))
    reasons = {(n, e.reason) for n in names for e in edges[n] if not e.exists}
    for name, reason in sorted(reasons):
        print(f"  {name}: none: {reason}")
    print()
    print(f"At sigma_w = {sw:g}, sigma_b = {sb:g}")
    fields = (("q*", "q_star"), ("chi1", "chi1"), ("c*", "c_star"), ("xi_q", "xi_q"), ("xi_c", "xi_c"))
    rows = [(label, *(points[n].show(key) if points[n].status == "ok" else "—" for n in names))
            for label, key in fields]
    rows.append(("phase", *(points[n].phase if points[n].status == "ok" else points[n].status for n in names)))
    print(table(rows, ("", *names)))
    for name in names:
        if points[name].status != "ok":
            print(f"  {name}: {points[name].status}: {points[name].reason}")
    print()
    print("Initialisation gains by convention (torch: calculate_gain; variance: 1/sqrt(E[f(Z)^2]); "
          "eoc: sigma_w on the edge at sigma_b = 0)")
    rows = [(c, *(_gain_text(getattr(gains[n], c)) for n in names)) for c in ("torch", "variance", "eoc")]
    print(table(rows, ("", *names)))
    return 0


def _gain_text(g) -> str:
    from ...analysis.propagation import significant

    return significant(g.value, g.error, 10) if g.defined else "undefined"
