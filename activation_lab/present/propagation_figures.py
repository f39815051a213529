"""Figures 13 and 14 (issue 18): signal propagation of the paper's group, and the compare report's section.

- ``edge_of_chaos``: figure 13, the edge-of-chaos curves σ_w(σ_b) (χ₁ = 1) in the (σ_b, σ_w)
  plane, ReLU's single point (0, √2) marked;
- ``depth_scale``: figure 14, the correlation depth scale ξ_c against σ_w at a fixed σ_b, which
  diverges on the edge of chaos;
- ``report_section``: the rows of the compare report's "Signal propagation" table.

Numbers come from :mod:`activation_lab.analysis.propagation`; the CSVs hold nan where there is
no edge of chaos, or no fixed point of the variance map (q grows without bound).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..catalog import PAPER_GROUP
from . import style
from .figure_parts import FigureData
from .figure_parts import activations as _activations
from .figure_parts import added_labels as _added_labels
from .figure_parts import curves as _curves
from .figure_parts import grid as _grid
from .figure_parts import label as _label
from .figure_parts import styles as _styles

__all__ = ["edge_of_chaos", "depth_scale", "report_section", "SECTION_TITLE"]


def edge_of_chaos(names: Iterable[Any] = PAPER_GROUP, sigma_b: Any = None, add: Iterable[Any] = ()
                  ) -> tuple[Any, FigureData]:
    """Figure 13: σ_w on the edge of chaos (χ₁ = σ_w²·E[f′(√q*Z)²] = 1) against σ_b, one curve per
    activation; ReLU's edge is the single point σ_b = 0, σ_w = √2, drawn as a marker."""
    from ..analysis.propagation import eoc_curve

    biases = _grid(0, 1, 20) if sigma_b is None else np.unique(np.array(sigma_b, dtype=np.float64).ravel())
    acts = _activations(names, add)
    columns: dict[str, np.ndarray] = {"x": biases}
    for act in acts:
        columns[f"sigma_w[{act.name}]"] = eoc_curve(act, biases).sigma_w
    fig, (ax,) = style.new_figure(1, width=6.0, height=3.6)
    looks = _styles(acts)
    ys = list(columns.values())[1:]
    labels = [_label(a) for a in acts]
    lines = _curves(ax, biases, ys, labels, looks)
    marks: dict[str, float] = {}
    for act, y, look, line in zip(acts, ys, looks, lines, strict=True):
        alone = np.isfinite(y) & ~np.isfinite(np.roll(y, 1)) & ~np.isfinite(np.roll(y, -1))
        for b, w in zip(biases[alone], y[alone], strict=True):   # a point, not a curve: ReLU's (0, √2)
            ax.plot([b], [w], marker="o", markersize=6, color=look.color, linestyle="none", clip_on=False)
            line.set_label(f"{_label(act)}: the point ({b:g}, {w:.4g})")
            marks[f"{_label(act)} edge point sigma_w (sigma_b = {b:g})"] = float(w)
    ax.set(xlabel="$\\sigma_b$", ylabel="$\\sigma_w$ with $\\chi_1 = 1$", xlim=(biases[0], biases[-1]),
           title="Edge of chaos\n(ordered below each curve, chaotic above)")
    # added activations' entries grow the figure, not shrink the panel
    added = {line.get_label() for line, lab in zip(lines, labels, strict=True) if lab in _added_labels(acts, labels)}
    style.place_legend(fig, (ax,), first=lines, added=added)
    return fig, FigureData("fig13_edge_of_chaos",
                           "Edge of chaos of the paper's group: the σ_w where χ₁ = 1 against the bias spread σ_b "
                           "(below a curve signals order, above it chaos); ReLU's edge is the single point σ_b = 0, "
                           "σ_w = √2. An unstable variance fixed point (SiLU, GELU, Mish at small σ_b) is still "
                           "drawn.", columns, marks)


def depth_scale(names: Iterable[Any] = PAPER_GROUP, sigma_b: float = 0.1, sigma_w: Any = None,
                add: Iterable[Any] = ()) -> tuple[Any, FigureData]:
    """Figure 14: the correlation depth scale ξ_c = −1/log C′(c*) against σ_w at fixed σ_b (default
    0.1), on a log axis: it diverges at each activation's edge of chaos, marked by a dotted line."""
    from ..analysis.propagation import edge_of_chaos as edge
    from ..analysis.propagation import propagation

    weights = _grid(0.5, 2.5, 40) if sigma_w is None else np.unique(np.array(sigma_w, dtype=np.float64).ravel())
    acts = _activations(names, add)
    columns: dict[str, np.ndarray] = {"x": weights}
    for act in acts:
        points = [propagation(act, w, sigma_b) for w in weights]
        columns[f"xi_c[{act.name}]"] = np.array([p.xi_c if p.status == "ok" else np.nan for p in points])
    fig, (ax,) = style.new_figure(1, width=6.0, height=3.6)
    ax.set_yscale("log", nonpositive="mask")
    looks = _styles(acts)
    labels = [_label(a) for a in acts]
    lines = _curves(ax, weights, [np.where(np.isfinite(y), y, np.nan) for y in list(columns.values())[1:]],
                    labels, looks)
    marks = {}
    for act, look in zip(acts, looks, strict=True):
        point = edge(act, sigma_b)
        if point.exists and weights[0] <= point.sigma_w <= weights[-1]:
            ax.axvline(point.sigma_w, color=look.color, linewidth=0.8, linestyle=(0, (1, 1.5)), zorder=0)
            marks[f"{_label(act)} edge of chaos sigma_w"] = point.sigma_w
    ax.set(xlabel="$\\sigma_w$", ylabel="$\\xi_c$ (layers)", xlim=(weights[0], weights[-1]),
           title=f"Correlation depth scale at $\\sigma_b$ = {sigma_b:g}\n(it diverges on the edge of chaos)")
    style.place_legend(fig, (ax,), first=lines, added=_added_labels(acts, labels))
    return fig, FigureData("fig14_depth_scale",
                           f"Correlation depth scale ξ_c = −1/log C′(c*) against σ_w at σ_b = {sigma_b:g}: how many "
                           "layers two inputs stay told apart; it diverges at each activation's edge of chaos "
                           "(dotted). "
                           "Gaps: no fixed point of the variance map (q grows without bound).", columns, marks)


#: the title of the compare report's section
SECTION_TITLE = "Signal propagation"


def report_section(columns: Sequence[Any], sigma_b: Sequence[float] = (0.0, 0.1, 0.5)
                   ) -> tuple[str, tuple[str, ...], tuple[tuple[str, ...], ...], str]:
    """The compare report's section as (title, header, rows, note), the fields of
    :class:`~activation_lab.present.compare.Table`: the edge-of-chaos σ_w at each σ_b and the
    initialisation gain in each convention, every number to the digits its error leaves right."""
    from ..analysis.propagation import GAIN_CONVENTIONS, edge_of_chaos, gain, significant
    from ..errors import ActivationLabError

    def attempt(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except ActivationLabError as err:
            return str(err).splitlines()[0]

    header = ("", *(a.name for a in columns))
    rows = []
    for b in sigma_b:
        cells = []
        for act in columns:
            e = attempt(edge_of_chaos, act, b)
            if isinstance(e, str) or not e.exists:
                cells.append("none")
            else:
                q = "any" if np.isnan(e.q_star) else significant(e.q_star, e.errors.get("q_star", 0.0), 6)
                cells.append(f"{significant(e.sigma_w, e.errors.get('sigma_w', 0.0), 7)} (q* = {q}"
                             f"{'' if e.q_stable else ', unstable'})")
        rows.append((f"edge of chaos σ_w at σ_b = {b:g}", *cells))
    for convention in GAIN_CONVENTIONS:
        cells = []
        for act in columns:
            g = attempt(gain, act, convention)
            cells.append("—" if isinstance(g, str) else significant(g.value, g.error, 7) if g.defined else "undefined")
        rows.append((f"init gain ({convention})", *cells))
    note = ("Mean-field theory of deep random networks (Poole et al. 2016, Schoenholz et al. 2017): σ_w with "
            "χ₁ = σ_w²·E[f′(√q*Z)²] = 1; 'none' where no such σ_w exists at that σ_b. Gains: "
            + "; ".join(f"{k}: {v}" for k, v in GAIN_CONVENTIONS.items()) + ".")
    return SECTION_TITLE, header, tuple(rows), note
