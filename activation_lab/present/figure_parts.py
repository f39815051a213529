"""Building blocks of the figures: their data, grids, the activations drawn, labels and line looks.

Shared by the paper's figures 8–12 (:mod:`activation_lab.present.figures`) and the signal
propagation figures 13–14 (:mod:`activation_lab.present.propagation_figures`).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import FormulaError
from . import style
from .style import FigureRequestError

__all__ = ["FigureData", "DISPLAY", "PRIME", "grid", "activations", "written_as", "added_labels", "label", "styles",
           "jumps", "broken", "curves"]

# display names of the paper's group (others are shown by their own name or formula)
DISPLAY = {"telu": "TeLU", "relu": "ReLU", "elu": "ELU", "silu": "SiLU", "gelu": "GELU", "mish": "Mish",
            "logish": "Logish", "smish": "Smish"}
PRIME = ("", "′", "″")

@dataclass(frozen=True)
class FigureData:
    """What a figure plots: ``columns`` maps a column name to an array, ``x`` first.

    ``marks`` holds the reference values drawn as lines (smallest subnormals, poles);
    ``caption`` is the one-sentence description used in ``figures/README.md``.
    """

    stem: str
    caption: str
    columns: Mapping[str, np.ndarray]
    marks: Mapping[str, float] = field(default_factory=dict)

    @property
    def x(self) -> np.ndarray:
        return self.columns["x"]

    def to_csv(self) -> str:
        """The columns as CSV text; floats in their shortest round-trip form (repr), so the
        file holds the float64 values exactly and the same data gives the same bytes."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(list(self.columns))
        arrays = [np.asarray(c, dtype=np.float64) for c in self.columns.values()]
        for row in zip(*(a.tolist() for a in arrays), strict=True):
            writer.writerow([repr(v) for v in row])
        return buf.getvalue()

    def __str__(self) -> str:
        x = self.x
        lines = [f"{self.stem}: {self.caption}",
                 f"  {x.size} points, x from {x.min():g} to {x.max():g}; columns:"]
        for name, col in self.columns.items():
            if name == "x":
                continue
            col = np.asarray(col)
            finite = col[np.isfinite(col)]
            span = f"{finite.min():.4g} .. {finite.max():.4g}" if finite.size else "no finite values"
            lines.append(f"    {name:<28} {span}  ({col.size - finite.size} not finite)")
        lines += [f"  mark {k} = {v:.6g}" for k, v in self.marks.items()]
        return "\n".join(lines)


def grid(lo: float, hi: float, per_unit: int) -> np.ndarray:
    """Points lo, lo + 1/per_unit, …, hi, each the correctly rounded decimal (e.g. exactly -30.0)."""
    return np.arange(round(lo * per_unit), round(hi * per_unit) + 1) / per_unit


# "NAME=FORMULA" (figures --add): a name, then one '=' (not '==', '>=' or '<=', which a formula may hold)
_NAMED = re.compile(r"\s*([A-Za-z_][\w.-]*)\s*=(?!=)(.+)", re.DOTALL)


def activations(names: Iterable[Any], add: Iterable[Any]) -> list:
    """Catalogue activations for ``names`` then ``add`` (names, formulas, ``NAME=FORMULA`` or
    Activations), first of each name kept.  ``NAME=FORMULA`` names a formula: the name is its
    legend entry and CSV column."""
    from ..activation import Activation, define, get
    from .commands._common import formula_hint, resolve

    if isinstance(names, str) or isinstance(add, str):
        raise FigureRequestError("names and add take a list of activations, e.g. names=['telu', 'gelu'], "
                                 "add=['x*tanh(softplus(x))']")

    def added(item: Any) -> Any:
        if isinstance(item, Activation):
            return item
        named = _NAMED.fullmatch(str(item))
        if named is None:
            return resolve(str(item))
        try:
            return define(named.group(2).strip(), name=named.group(1))
        except FormulaError as err:
            raise formula_hint(err) from None

    acts = [get(n) for n in names] + [added(a) for a in add]
    unique: dict[str, Any] = {}
    for act in acts:
        unique.setdefault(act.name, act)
    if not unique:
        raise FigureRequestError("a figure needs at least one activation; pass names=[...] or add=[...]")
    return list(unique.values())


def written_as(item: Any) -> str:
    """An item of ``add`` as the command line takes it: text as given, a catalogue entry by its
    name, a user formula as ``NAME=FORMULA`` when it has a name of its own, else as the formula."""
    if isinstance(item, str):
        return item
    formula = getattr(item, "formula", None)
    if getattr(item, "source", None) != "user formula" or not isinstance(formula, str):
        return str(getattr(item, "name", item))
    return formula if item.name == formula.strip() else f"{item.name}={formula}"


def added_labels(acts: Sequence[Any], labels: Sequence[str]) -> set[str]:
    """The legend labels (``labels``, in the order of ``acts``) that belong to activations outside the paper's group."""
    return {lab for act, lab in zip(acts, labels, strict=True) if act.name not in DISPLAY}


def label(act: Any, n: int = 0, arg: bool = False) -> str:
    """Legend text for f⁽ⁿ⁾: 'GELU′', 'TeLU″(x)' (``arg``), 'mine′' for a named formula, or
    '(x*tanh(softplus(x)))′' for a formula without a name."""
    base = DISPLAY.get(act.name, act.name)
    formula = getattr(act, "formula", None)
    named = base.isidentifier() or not isinstance(formula, str) or act.name != formula.strip()
    if named:
        return base + PRIME[n] + ("(x)" if arg else "")
    return f"({base}){PRIME[n]}" if n else base


def styles(acts: Sequence[Any]) -> list[style.LineStyle]:
    """Fixed looks for the paper's group, numbered looks for the others in order of appearance."""
    extra = [a.name for a in acts if a.name not in DISPLAY]
    return [style.line_style(a.name, extra.index(a.name) if a.name in extra else 0) for a in acts]


def jumps(act: Any, x: np.ndarray, value: Callable[[np.ndarray], np.ndarray]
          ) -> list[tuple[float, float, float, float]]:
    """Where the plotted ``value`` (a function of an x array, e.g. f′ of ``act``) jumps at a kink of
    ``act`` inside x's range: (kink, value just left, value at the kink, value just right), the
    sides taken one float64 step away from the kink."""
    from ..analysis.properties import breakpoints
    from ..errors import ActivationLabError

    try:
        kinks = [float(k) for k in breakpoints(act.expr)]
    except ActivationLabError:      # conditions not polynomial in x: no kinks known, the curve is drawn whole
        return []
    found = []
    for k in kinks:
        if not x[0] < k < x[-1]:
            continue
        left, here, right = (float(v) for v in value(np.array([np.nextafter(k, -np.inf), k, np.nextafter(k, np.inf)])))
        if math.isfinite(left) and math.isfinite(right) and abs(left - right) > 1e-9 * max(1.0, abs(left), abs(right)):
            found.append((k, left, here, right))
    return found


def broken(x: np.ndarray, y: np.ndarray, steps: Sequence[tuple[float, float, float, float]]
           ) -> tuple[np.ndarray, np.ndarray]:
    """x, y with each jump in ``steps`` (inside x's range) drawn as one: the left side ends at the
    kink with its left value, a nan breaks the line, the right side starts there with its right value."""
    xs, ys = np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)
    for k, left, _, right in steps:
        if not xs[0] < k < xs[-1]:
            continue
        keep = xs != k
        xs, ys = xs[keep], ys[keep]
        at = int(np.searchsorted(xs, k))
        xs = np.insert(xs, at, [k, k, k])
        ys = np.insert(ys, at, [left, np.nan, right])
    return xs, ys


def curves(ax, x: np.ndarray, ys: Sequence[np.ndarray], labels: Sequence[str],
           looks: Sequence[style.LineStyle], steps: Sequence[Sequence[tuple[float, float, float, float]]] = ()
           ) -> list[Any]:
    """Plot the curves; returns their lines in the order given (for the legend).

    ``steps`` (one list per curve, from :func:`jumps`) are drawn as jumps: the line breaks at the
    kink, a filled dot marks the value taken there and an open dot the other side's limit.
    """
    # in the order given: TeLU comes first, wide and solid, so the dashed curves that share
    # its tail are drawn over it and stay visible
    lines = []
    for k, (y, label, look) in enumerate(zip(ys, labels, looks, strict=True)):
        kwargs = look.kwargs()
        shown = np.isfinite(y) & ((y > 0) if ax.get_yscale() == "log" else True)
        if not shown.any():
            # nothing to draw (ReLU′ = 0 on a log axis): matplotlib cannot place markers on an empty path
            kwargs.pop("markevery", None)
        mine = [s for s in (steps[k] if k < len(steps) else ()) if x[0] < s[0] < x[-1]]
        xs, y = broken(x, y, mine) if mine else (x, y)
        lines.append(ax.plot(xs, y, label=label, **kwargs)[0])
        for kink, left, here, right in mine:
            dots = {"taken": [here] if math.isfinite(here) else [],
                    "limit": [v for v in (left, right) if v != here]}
            for kind, values in dots.items():
                if values:
                        ax.plot([kink] * len(values), values, marker="o", markersize=3.2, color=look.color,
                            linestyle="none", markerfacecolor=look.color if kind == "taken" else "white", zorder=3)
    return lines
