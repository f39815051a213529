"""The one look of every figure: palette, line styles, fonts, sizes, and deterministic saving.

Colours are the Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design"), which stays
distinguishable under the common colour-vision deficiencies; every curve also gets its own
line style, so figures read in greyscale print too.  Saving strips dates and version strings
(PNG/PDF/SVG metadata) and fixes the SVG id salt, so the same figure gives the same bytes.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import write_atomic
from ..errors import ActivationLabError

__all__ = ["FigureRequestError", "PALETTE", "ADDED", "LineStyle", "line_style", "order_style", "context", "new_figure",
           "place_legend", "save", "FORMATS", "DPI"]

class FigureRequestError(ActivationLabError, ValueError):
    """A figure request that cannot be met: unknown figure number or format, unusable x, no curves."""


#: Okabe–Ito colours by name (R's palette.colors("Okabe-Ito") order, grey included)
PALETTE: dict[str, str] = {
    "black": "#000000", "orange": "#E69F00", "skyblue": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
    "grey": "#999999",
}

#: dash patterns in order of how easily they are told apart at print size
DASHES: tuple[Any, ...] = (
    "-", (0, (5, 2)), (0, (6, 1.5, 1.5, 1.5)), (0, (1.2, 1.2)), (0, (9, 2, 2, 2)),
    (0, (3, 1, 1, 1, 1, 1)), (0, (2.5, 1.5)), (0, (8, 1.5, 1.5, 1.5, 1.5, 1.5)),
)

#: colours of added activations (``figures --add``), none of them a colour of the paper's group:
#: Paul Tol's indigo, olive, wine and sand, ColorBrewer's dark red, brown, magenta, teal, lime and
#: a lavender; each is at least 30 CIELAB units from every colour of the group and 20 from the others
ADDED: tuple[str, ...] = ("#332288", "#A50026", "#005F5F", "#999933", "#C51B7D", "#8C510A", "#9988DD",
                          "#7FBF3F", "#882255", "#DDCC77")

# fixed looks for the paper's group, so an activation looks the same in every figure
_FIXED: dict[str, tuple[str, int]] = {
    "telu": ("black", 0), "relu": ("orange", 1), "elu": ("skyblue", 2), "silu": ("green", 3),
    "gelu": ("blue", 4), "mish": ("vermillion", 5), "logish": ("purple", 6), "smish": ("grey", 7),
}

FORMATS: tuple[str, ...] = ("png", "pdf", "svg")
DPI = 300

# metadata keys whose default value carries a date or a version; None removes the key
_METADATA: dict[str, dict[str, None]] = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
    "svg": {"Creator": None, "Date": None},
}

_RC: dict[str, Any] = {
    # DejaVu ships with matplotlib: the same glyphs on every machine, so the same bytes
    "font.family": "DejaVu Sans", "mathtext.fontset": "dejavusans",
    "font.size": 8.5, "axes.titlesize": 8, "axes.labelsize": 8.5, "legend.fontsize": 7.5,
    "xtick.labelsize": 7.5, "ytick.labelsize": 7.5,
    "axes.spines.top": False, "axes.spines.right": False, "axes.linewidth": 0.7,
    "axes.grid": True, "grid.linewidth": 0.4, "grid.color": "#d9d9d9",
    "lines.linewidth": 1.4, "legend.frameon": False, "legend.handlelength": 3.2,
    "figure.dpi": 100, "savefig.dpi": DPI, "savefig.bbox": "tight", "savefig.pad_inches": 0.03,
    "svg.hashsalt": "activation-lab", "svg.fonttype": "path", "pdf.fonttype": 42,
    "axes.formatter.use_mathtext": True, "axes.unicode_minus": True,
}


@dataclass(frozen=True)
class LineStyle:
    """Keyword arguments for ``Axes.plot``: colour, dash pattern, width, and a marker for added curves."""

    color: str
    linestyle: Any
    linewidth: float
    marker: str | None = None

    def kwargs(self) -> dict[str, Any]:
        out = {"color": self.color, "linestyle": self.linestyle, "linewidth": self.linewidth}
        if self.marker:
            # a marker every 7% of the curve's length, so the line itself stays readable
            out.update(marker=self.marker, markevery=0.07, markersize=3.5)
        return out


_MARKERS = ("o", "s", "^", "D", "v", "P")


def line_style(name: str, extra: int = 0) -> LineStyle:
    """The look of activation ``name``: the paper's group has fixed looks (TeLU black, solid,
    a little heavier), so each reads the same in every figure.  Any other activation is the
    ``extra``-th added one: a colour of its own from :data:`ADDED` (never one of the group's),
    with a dash pattern and a marker; past ten added curves the colours repeat, with other
    marker and dash combinations.
    """
    if name in _FIXED:
        colour, dash = _FIXED[name]
        return LineStyle(PALETTE[colour], DASHES[dash], 2.0 if name == "telu" else 1.4)
    return LineStyle(ADDED[extra % len(ADDED)], DASHES[extra % len(DASHES)], 1.2, _MARKERS[extra % len(_MARKERS)])


def order_style(base: LineStyle, n: int) -> LineStyle:
    """The look of f⁽ⁿ⁾ when one figure draws several orders of one function: same colour and
    marker, dash pattern by order (f solid, f′ dashed, f″ dash-dotted)."""
    return LineStyle(base.color, DASHES[(0, 1, 2)[min(n, 2)]], base.linewidth, base.marker)


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Silence a library's log records for a moment: fontTools logs a harmless note about the
    font file's 1970s timestamp each time a PDF embeds a DejaVu subset."""
    logger = logging.getLogger(logger_name)
    before = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(before)


@contextlib.contextmanager
def context() -> Iterator[None]:
    """The package's matplotlib settings for the duration of a ``with`` block (global rc untouched)."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        yield


def new_figure(ncols: int = 1, width: float = 7.0, height: float = 2.9, **subplot_kw: Any):
    """A Figure (not attached to pyplot, so nothing leaks between calls) and its axes in one row."""
    from matplotlib.figure import Figure

    with context():
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(1, ncols, squeeze=False, **subplot_kw)[0]
    return fig, list(axes)


def place_legend(fig, axes: Sequence[Any], first: Sequence[Any] = (), below: bool = False, ncols: int = 1,
                 added: Collection[str] = ()) -> Any:
    """One legend for the figure, outside the plotting area (right, or ``below`` in ``ncols``
    columns), so it covers no curve; returns it.

    Entries: the artists in ``first`` in their order, then the other labelled artists of
    ``axes``; the first occurrence of each label wins.  Entries whose label is in ``added``
    (the curves of added activations) do not take room from the panels: the figure grows by
    what they add to the legend (taller below, wider at the right), and a legend that would
    outgrow the figure's width (below) or height (right) is set in more or fewer columns.
    Without such entries the figure is laid out exactly as before.
    """
    handles: dict[str, Any] = {h.get_label(): h for h in first}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    where = "outside lower center" if below else "outside right center"
    extra = [label for label in handles if label in added]
    with context():
        if not extra:
            return fig.legend(list(handles.values()), list(handles), loc=where, ncols=ncols)
        base = {label: h for label, h in handles.items() if label not in added}
        width, height = fig.get_size_inches()
        base_w, base_h = _legend_size(fig, base, where, ncols) if base else (0.0, 0.0)
        rows = math.ceil(len(base) / ncols) if base else 3
        if below:
            # as many rows as before where the width allows (fig. 8: one column per activation)
            cols = max(ncols, math.ceil(len(handles) / rows))
            while cols > 1 and _legend_size(fig, handles, where, cols)[0] > width:
                cols -= 1
        else:
            cols = ncols
            while _legend_size(fig, handles, where, cols)[1] > 0.95 * height and cols < len(handles):
                cols += 1
        legend = fig.legend(list(handles.values()), list(handles), loc=where, ncols=cols)
        grown_w, grown_h = _legend_size(fig, handles, where, cols, legend)
        if below:
            fig.set_size_inches(width, height + max(0.0, grown_h - base_h))
        else:
            fig.set_size_inches(width + max(0.0, grown_w - base_w), height)
    return legend


def _legend_size(fig, handles: dict[str, Any], where: str, ncols: int, legend: Any = None) -> tuple[float, float]:
    """Width and height in inches of the legend of ``handles`` in ``ncols`` columns (``legend``
    itself when given, else a trial legend, removed again)."""
    trial = legend is None
    if trial:
        legend = fig.legend(list(handles.values()), list(handles), loc=where, ncols=ncols)
    box = legend.get_window_extent()
    if trial:
        legend.remove()
    return box.width / fig.dpi, box.height / fig.dpi


def save(fig, path: str | os.PathLike[str], fmt: str, dpi: int = DPI) -> Path:
    """Save ``fig`` as ``fmt`` (png, pdf or svg) to ``path`` atomically, without dates or versions."""
    if fmt not in FORMATS:
        raise FigureRequestError(f"unsupported figure format {fmt!r}; use one of {', '.join(FORMATS)}")
    buf = io.BytesIO()
    with context(), _quiet("fontTools"):
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=_METADATA[fmt])
    return write_atomic(path, buf.getvalue())
