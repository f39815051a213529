"""Building blocks of the figures: their data, grids, the activations drawn, labels and line looks.

Shared by the paper's figures 8–12 (:mod:`activation_lab.present.figures`) and the signal
propagation figures 13–14 (:mod:`activation_lab.present.propagation_figures`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import style
from .style import FigureRequestError

__all__ = ["FigureData", "DISPLAY", "PRIME", "grid", "activations", "label", "styles", "curves"]

# display names of the paper's group (others are shown by their own name or formula)
DISPLAY = {"telu": "TeLU", "relu": "ReLU", "elu": "ELU", "silu": "SiLU", "gelu": "GELU", "mish": "Mish",
            "logish": "Logish", "smish": "Smish"}
PRIME = ("", "′", "″")

@dataclass(frozen=True)
class FigureData:
    """What a figure plots: ``columns`` maps a column name to an array, ``x`` first.

    ``marks`` holds the reference values drawn as lines (underflow levels, poles);
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


def activations(names: Iterable[Any], add: Iterable[Any]) -> list:
    """Catalogue activations for ``names`` then ``add`` (names, formulas or Activations), first of each name kept."""
    from ..activation import Activation, get
    from .commands._common import resolve

    if isinstance(names, str) or isinstance(add, str):
        raise FigureRequestError("names and add take a list of activations, e.g. names=['telu', 'gelu'], "
                                 "add=['x*tanh(softplus(x))']")
    acts = [get(n) for n in names] + [a if isinstance(a, Activation) else resolve(str(a)) for a in add]
    unique: dict[str, Any] = {}
    for act in acts:
        unique.setdefault(act.name, act)
    if not unique:
        raise FigureRequestError("a figure needs at least one activation; pass names=[...] or add=[...]")
    return list(unique.values())


def label(act: Any, n: int = 0, arg: bool = False) -> str:
    """Legend text for f⁽ⁿ⁾: 'GELU′', 'TeLU″(x)' (``arg``), or '(x*tanh(softplus(x)))′' for a formula."""
    base = DISPLAY.get(act.name, act.name)
    if base.isidentifier():
        return base + PRIME[n] + ("(x)" if arg else "")
    return f"({base}){PRIME[n]}" if n else base


def styles(acts: Sequence[Any]) -> list[style.LineStyle]:
    """Fixed looks for the paper's group, numbered looks for the others in order of appearance."""
    extra = [a.name for a in acts if a.name not in DISPLAY]
    return [style.line_style(a.name, extra.index(a.name) if a.name in extra else 0) for a in acts]


def curves(ax, x: np.ndarray, ys: Sequence[np.ndarray], labels: Sequence[str],
            looks: Sequence[style.LineStyle]) -> list[Any]:
    """Plot the curves; returns their lines in the order given (for the legend)."""
    # in the order given: TeLU comes first, wide and solid, so the dashed curves that share
    # its tail are drawn over it and stay visible
    lines = []
    for y, label, look in zip(ys, labels, looks, strict=True):
        kwargs = look.kwargs()
        shown = np.isfinite(y) & ((y > 0) if ax.get_yscale() == "log" else True)
        if not shown.any():
            # nothing to draw (ReLU′ = 0 on a log axis): matplotlib cannot place markers on an empty path
            kwargs.pop("markevery", None)
        lines.append(ax.plot(x, y, label=label, **kwargs)[0])
    return lines
