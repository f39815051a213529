"""The TeLU paper's analysis figures 8–12, regenerated from the symbolic definitions.

Each figure is a function returning ``(Figure, FigureData)``: the matplotlib Figure, ready to
restyle in a notebook, and the plotted data as columns (``x`` first, one column per curve).
Every function takes ``add=[...]``: extra activations (catalogue names, formulas in ``x`` or
:class:`~activation_lab.Activation` objects) drawn beside the paper's curves.

>>> from activation_lab import figures
>>> fig, data = figures.saturation(names=["telu", "gelu"], add=["x*tanh(softplus(x))"])
>>> figures.write_all("figures", formats=("png", "pdf"))

Values come from :meth:`Activation.evaluate` (stable rewrites, float64, a few ULP from the
exact value), so log-scale tails are right down to float64's smallest subnormal.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import check_output_folder, sha256_file, write_atomic
from ..catalog import PAPER_GROUP
from . import style
from .figure_parts import FigureData
from .figure_parts import activations as _activations
from .figure_parts import added_labels as _added_labels
from .figure_parts import curves as _curves
from .figure_parts import grid as _grid
from .figure_parts import jumps as _jumps
from .figure_parts import label as _label
from .figure_parts import styles as _styles
from .figure_parts import written_as as _written_as
from .propagation_figures import depth_scale, edge_of_chaos
from .style import FigureRequestError

__all__ = ["FigureData", "FigureRequestError", "telu", "linear_units", "derivatives", "saturation", "quotient",
           "write_all", "FIGURES"]

#: smallest positive (subnormal) numbers: below half of these a result rounds to zero
FLOAT32_TINY = 2.0**-149
FLOAT64_TINY = 2.0**-1074

_TELU_FORMULAS = (r" = $x\,\tanh(e^x)$", r" = $\tanh(e^x) + x\,e^x\,\mathrm{sech}^2(e^x)$",
                  r" = $e^x\,\mathrm{sech}^2(e^x)\,(2 + x - 2x\,e^x \tanh(e^x))$")


# ------------------------------------------------------------------ building blocks
def _minus(v: float) -> str:
    """A number as text with a typographic minus."""
    return f"{v:g}".replace("-", "−")


def _as_x(x: Any, default: np.ndarray) -> np.ndarray:
    if x is None:
        return default
    problem = FigureRequestError(f"figure x must hold at least two distinct finite numbers, got {x!r}; "
                                 "pass e.g. x=numpy.linspace(-5, 3, 801)")
    try:
        arr = np.array(x, dtype=np.float64).ravel()  # a copy: the caller's array is left alone
    except (TypeError, ValueError):
        raise problem from None
    arr = np.unique(arr)  # sorted, each point once: curves are drawn left to right
    if arr.size < 2 or not np.isfinite(arr).all():
        raise problem
    return arr


# ------------------------------------------------------------------ the figures
def telu(x: Any = None, add: Iterable[Any] = ()) -> tuple[Any, FigureData]:
    """Figure 8: TeLU(x) = x·tanh(eˣ) with TeLU′ (left) and TeLU″ (right).

    TeLU′(x) = tanh(eˣ) + x·eˣ·sech²(eˣ);  TeLU″(x) = eˣ·sech²(eˣ)·(2 + x − 2x·eˣ·tanh(eˣ)).
    Activations in ``add`` are drawn the same way in their own colour.
    """
    x = _as_x(x, _grid(-5, 5, 100))
    acts = _activations(["telu"], add)
    columns: dict[str, np.ndarray] = {"x": x}
    for act in acts:
        for n, y in enumerate(act.evaluate(x, (0, 1, 2))):
            columns[act.name + "'" * n] = y
    fig, (ax1, ax2) = style.new_figure(2, width=7.0, height=3.3)
    added: set[str] = set()
    for act, look in zip(acts, _styles(acts), strict=True):
        formulas = _TELU_FORMULAS if act.name == "telu" else ("",) * 3
        labels = [_label(act, n, arg=True) + formulas[n] for n in range(3)]
        added |= _added_labels([act] * 3, labels)
        for n, ax in ((0, ax1), (1, ax1), (2, ax2)):
            ax.plot(x, columns[act.name + "'" * n], label=labels[n], **style.order_style(look, n).kwargs())
    ax1.set(xlabel="$x$", ylabel="$f(x)$,  $f\\,'(x)$", xlim=(x[0], x[-1]), title="TeLU and its first derivative")
    ax2.set(xlabel="$x$", ylabel="$f\\,''(x)$", xlim=(x[0], x[-1]), title="Second derivative")
    for ax in (ax1, ax2):
        ax.axhline(0, color="#808080", linewidth=0.6, zorder=0)
    style.place_legend(fig, (ax1, ax2), below=True, added=added)
    return fig, FigureData("fig08_telu", "TeLU(x) = x·tanh(eˣ) with its first derivative (left) and second "
                           "derivative (right).", columns)


def _group_figure(stem: str, caption: str, n: int, names: Iterable[Any], x: Any, add: Iterable[Any],
                  default_x: np.ndarray, ylabel: str, title: str) -> tuple[Any, FigureData]:
    """One panel of f⁽ⁿ⁾ for a group of activations (figures 9 and 10)."""
    x = _as_x(x, default_x)
    acts = _activations(names, add)
    columns: dict[str, np.ndarray] = {"x": x}
    for act in acts:
        columns[act.name + "'" * n] = act.evaluate(x, n)
    fig, (ax,) = style.new_figure(1, width=6.0, height=3.4)
    labels = [_label(a, n) for a in acts]
    # a jump of f⁽ⁿ⁾ at a kink (ReLU′ at 0) is drawn as a jump, not as a steep segment
    steps = [_jumps(a, x, lambda t, a=a: a.evaluate(t, n)) for a in acts]
    lines = _curves(ax, x, list(columns.values())[1:], labels, _styles(acts), steps)
    ax.axhline(0, color="#808080", linewidth=0.6, zorder=0)
    ax.set(xlabel="$x$", ylabel=ylabel, title=title, xlim=(x[0], x[-1]))
    style.place_legend(fig, (ax,), first=lines, added=_added_labels(acts, labels))
    return fig, FigureData(stem, caption, columns)


def linear_units(names: Iterable[Any] = PAPER_GROUP, x: Any = None, add: Iterable[Any] = ()) -> tuple[Any, FigureData]:
    """Figure 9: the paper's linear-unit group f(x): TeLU, ReLU, ELU, SiLU, GELU, Mish, Logish, Smish."""
    return _group_figure("fig09_linear_units",
                         "The paper's linear-unit group (TeLU, ReLU, ELU, SiLU, GELU, Mish, Logish, Smish) "
                         "on the range where they differ.",
                         0, names, x, add, _grid(-5, 3, 50), "$f(x)$", "Linear units f(x)")


def derivatives(names: Iterable[Any] = PAPER_GROUP, x: Any = None, add: Iterable[Any] = ()) -> tuple[Any, FigureData]:
    """Figure 10: first derivatives f′(x) of the linear-unit group.

    ReLU′ jumps from 0 to 1 at x = 0: the line breaks there, a filled dot marks the value taken
    at the kink (ReLU′(0) = 0, as PyTorch's autograd) and an open dot the limit from the right.
    """
    return _group_figure("fig10_derivatives",
                         "First derivatives f′(x) of the same group; ReLU′ jumps from 0 to 1 at the kink x = 0, "
                         "drawn as a jump: the filled dot is the value taken there (0, as PyTorch's autograd "
                         "gives), the open dot the limit from the right.",
                         1, names, x, add, _grid(-5, 3, 50), "$f\\,'(x)$", "First derivatives f′(x)")


def saturation(names: Iterable[Any] = PAPER_GROUP, x: Any = None, add: Iterable[Any] = (),
               detail: tuple[float, float] = (-40.0, 0.0)) -> tuple[Any, FigureData]:
    """Figure 11: saturation as x → −∞, |f′(x)| on a log axis.

    Left: ``detail`` range (default −40 ≤ x ≤ 0), where the classes part: GELU′ decays like
    |x|·φ(x) (Gaussian), ELU′ = eˣ, and TeLU, SiLU, Mish, Logish, Smish like |x|·eˣ.  Right: the
    whole ``x`` range (default down to −760), each curve followed down to float64's smallest
    subnormal, with the float32 and float64 smallest subnormals 2⁻¹⁴⁹ and 2⁻¹⁰⁷⁴ drawn (one term
    in the figure, its marks and README).  ReLU′ = 0 for
    x < 0 has no place on a log axis; its column is all zeros there.
    """
    x = _as_x(x, np.concatenate([_grid(-760, -41, 1), _grid(-40, 0, 20)]))
    acts = _activations(names, add)
    columns: dict[str, np.ndarray] = {"x": x}
    for act in acts:
        columns[f"|{act.name}'|"] = np.abs(act.evaluate(x, 1))
    marks = {"float32 smallest subnormal": FLOAT32_TINY, "float64 smallest subnormal": FLOAT64_TINY}
    ys = list(columns.values())[1:]
    labels = [_label(a) + (" (f′ = 0 for x < 0)" if not (y[x < 0] > 0).any() else "")
              for a, y in zip(acts, ys, strict=True)]
    fig, (ax1, ax2) = style.new_figure(2, width=7.4, height=3.3)
    lo, hi = max(detail[0], x[0]), min(detail[1], x[-1])
    inside = (x >= lo) & (x <= hi)
    # left panel: four decades below the typical curve at its left edge, enough to part eˣ from |x|eˣ
    edge = [y[inside][0] for y in ys if y[inside][0] > 0]
    bottom = float(np.median(edge)) * 1e-4 if edge else 1e-20
    for ax, keep in ((ax1, inside), (ax2, np.ones_like(inside))):
        ax.set_yscale("log", nonpositive="mask")
        lines = _curves(ax, x[keep], [y[keep] for y in ys], labels, _styles(acts))
    shared = [_label(a) for a in acts if a.name in ("telu", "silu", "mish", "logish", "smish")]
    if len(shared) > 1 and lo <= -20 <= hi:
        # the |x|eˣ curves coincide to the eye: say so where they run together
        at = int(np.argmin(np.abs(x - (-20.0))))
        level = float(np.median([y[at] for a, y in zip(acts, ys, strict=True) if _label(a) in shared]))
        # (TeLU is drawn first and widest: its black edges show beside the curves drawn over it)
        ax1.annotate(f"{', '.join(shared)}:\none |x|eˣ tail, the curves coincide", (-20.0, level),
                     xytext=(0.16, 0.06), textcoords="axes fraction", fontsize=6.5, ha="left", va="bottom",
                     arrowprops={"arrowstyle": "-", "color": "#555555", "linewidth": 0.6})
    for ax in (ax1, ax2):
        ymin = bottom if ax is ax1 else FLOAT64_TINY
        for (name, level), dash in zip(marks.items(), ((0, (4, 2)), (0, (1, 1.5))), strict=True):
            if level < ymin:
                continue
            # one term everywhere (legend, labels, CSV marks, README): the mark's own name
            ax.axhline(level, color="#555555", linewidth=0.9, linestyle=dash, zorder=0, clip_on=False,
                       label=f"{name}, 2$^{{{round(math.log2(level))}}}$")
            # the label sits left of centre, where the tails are far below these levels
            ax.annotate(name, (0.3, level), xycoords=("axes fraction", "data"),
                        xytext=(0, 2), textcoords="offset points", fontsize=6.5, color="#555555", va="bottom")
    ax1.set(xlabel="$x$", ylabel="$|f\\,'(x)|$", xlim=(lo, hi), ylim=(bottom, 10),
            title=f"{_minus(lo)} ≤ x ≤ {_minus(hi)}: where the Gaussian,\neˣ and |x|eˣ tails separate")
    ax2.set(xlabel="$x$", ylabel="$|f\\,'(x)|$", xlim=(x[0], x[-1]), ylim=(FLOAT64_TINY, 1e3),
            title="The whole tail, followed down to\nfloat64's smallest subnormal")
    # the legend below the panels, so its long entries take no width from them
    style.place_legend(fig, (ax1, ax2), first=lines, below=True, ncols=4, added=_added_labels(acts, labels))
    return fig, FigureData("fig11_saturation",
                           "Saturation as x → −∞: |f′(x)| on a log scale, separating GELU's Gaussian decay, "
                           "ELU's eˣ and the |x|eˣ of TeLU, SiLU, Mish, Logish and Smish, down to the float32 "
                           "and float64 smallest subnormals (below half of one, a result rounds to 0).",
                           columns, marks)


def _quotient_columns(acts: Sequence[Any], reference: Any, x: np.ndarray
                      ) -> tuple[dict[str, np.ndarray], list[np.ndarray], list[float]]:
    """|f′/ref′| for each activation from :func:`activation_lab.quotient`: (CSV columns, plotted
    curves, poles).  The analysis blanks the grid points next to a pole (nan) so a plot shows a
    gap; the CSV keeps their finite values, |f′/ref′| from the accurate derivatives, and is nan
    only where ref′ = 0 exactly."""
    from ..analysis.quotient import quotient as gradient_quotient

    # a figure always shows a gap at a pole: the two grid points on each side of it
    blank = 2 * float(np.min(np.diff(x)))
    results = [gradient_quotient(act, reference=reference, x=x, absolute=True, blank=blank) for act in acts]
    dref = reference.evaluate(x, 1)
    columns: dict[str, np.ndarray] = {"x": x}
    for act, result in zip(acts, results, strict=True):
        q = np.array(result.q, dtype=np.float64)
        gap = np.isnan(q) & (dref != 0)
        q[gap] = np.abs(act.evaluate(x[gap], 1) / dref[gap])
        columns[f"|{act.name}'/{reference.name}'|"] = q
    return columns, [r.q for r in results], sorted(results[0].poles)


def quotient(names: Iterable[Any] = PAPER_GROUP, x: Any = None, add: Iterable[Any] = (),
             reference: Any = "telu", zoom: tuple[float, float] = (-3.0, 0.0)) -> tuple[Any, FigureData]:
    """Figure 12: the gradient vanishing quotient |f′(x) / TeLU′(x)|, TeLU ≡ 1 the baseline.

    Below 1: f′ is smaller in size than TeLU′ there (TeLU's gradient vanishes more slowly).
    The plain ratio has a pole where TeLU′ = 0 (x ≈ −1.0789) and changes sign at each f's own
    minimum; the figure draws absolute values, leaves a gap at the pole and marks it.  Right:
    a zoom into ``zoom`` (default −3 ≤ x ≤ 0), the small-negative range of the paper's claim.
    Quotients and poles come from :func:`activation_lab.quotient` (mpmath where float64
    under- or overflows); the CSV also holds the values at the gap's grid points.
    """
    x = _as_x(x, _grid(-10, 2, 100))
    ref = _activations([], [reference])[0]
    acts = _activations(names, add)
    columns, curves, poles = _quotient_columns(acts, ref, x)
    labels = [_label(a) + (" ≡ 1 (baseline)" if a.name == ref.name else "") for a in acts]
    fig, (ax1, ax2) = style.new_figure(2, width=7.4, height=3.3)
    top = 2.5
    lo, hi = max(zoom[0], x[0]), min(zoom[1], x[-1])
    def sides(act: Any) -> Callable[[np.ndarray], np.ndarray]:
        return lambda t: np.abs(act.evaluate(t, 1) / ref.evaluate(t, 1))
    # a jump of f′ at a kink (ReLU′ at 0) is drawn as a jump, not as a steep segment
    steps = [_jumps(a, x, sides(a)) for a in acts]
    for ax, keep in ((ax1, np.ones(x.size, bool)), (ax2, (x >= lo) & (x <= hi))):
        lines = _curves(ax, x[keep], [q[keep] for q in curves], labels, _styles(acts), steps)
        ax.axhline(1, color="#808080", linewidth=0.6, zorder=0)
        for p in poles:
            if x[keep][0] <= p <= x[keep][-1]:
                ax.axvline(p, color="#555555", linewidth=0.8, linestyle=(0, (1, 1.5)), zorder=0,
                           label=f"pole: {_label(ref, 1)} = 0")
                ax.plot([p], [top * 0.97], marker="v", color="#555555", markersize=5, linestyle="none",
                        clip_on=False)
    pole_text = ", ".join(f"x ≈ {_minus(round(p, 4))}" for p in poles) or "none in range"
    ref_name = _label(ref)
    ylabel = (f"$|f\\,'(x)\\,/\\,\\mathrm{{{ref_name}}}'(x)|$" if ref_name.isidentifier()
              else f"|f′(x) / {_label(ref, 1, arg=True)}|")
    ax1.set(xlabel="$x$", ylabel=ylabel, xlim=(x[0], x[-1]), ylim=(0, top),
            title=f"A pole where {_label(ref, 1)} = 0\n({pole_text}, a gap ▼)")
    ax2.set(xlabel="$x$", ylabel=ylabel, xlim=(lo, hi), ylim=(0, top),
            title=f"Zoom: the small-negative\nrange {_minus(lo)} ≤ x ≤ {_minus(hi)}")
    style.place_legend(fig, (ax1, ax2), first=lines, added=_added_labels(acts, labels))
    marks = {f"pole {k + 1} ({_label(ref, 1)} = 0)": p for k, p in enumerate(poles)}
    return fig, FigureData("fig12_quotient",
                           f"Gradient vanishing quotient |f′(x)/{_label(ref, 1, arg=True)}| with {_label(ref)} ≡ 1 as "
                           f"the baseline, absolute values, a gap at the pole where {_label(ref, 1)} = 0 "
                           f"({pole_text}), and a zoom into the small-negative range; the CSV also holds the values "
                           "at the gap's grid points. ReLU′ jumps at x = 0: drawn as a jump (filled dot: the value "
                           "taken there, open dot: the limit from the right).", columns, marks)


# ------------------------------------------------------------------ writing everything
#: figure number -> (file stem, function)
FIGURES: dict[int, tuple[str, Callable[..., tuple[Any, FigureData]]]] = {
    8: ("fig08_telu", telu),
    9: ("fig09_linear_units", linear_units),
    10: ("fig10_derivatives", derivatives),
    11: ("fig11_saturation", saturation),
    12: ("fig12_quotient", quotient),
}


def _command(out_dir: str, formats: Sequence[str], only: Sequence[int] | None, add: Sequence[Any],
             dpi: int) -> str:
    parts = ["activation-lab", "figures"]
    if str(out_dir) != "figures":
        parts += ["--out", str(out_dir)]
    if tuple(formats) != ("png",):
        parts += ["--format", ",".join(formats)]
    if only is not None:
        parts += ["--only", ",".join(str(n) for n in only)]
    for a in add:
        parts += ["--add", _written_as(a)]
    if dpi != style.DPI:
        parts += ["--dpi", str(dpi)]
    return " ".join(shlex.quote(p) for p in parts)


def _check_request(formats: Sequence[str], only: Iterable[int] | None) -> tuple[tuple[str, ...], list[int]]:
    if isinstance(formats, str):
        formats = [formats]
    formats = tuple(dict.fromkeys(f.strip().lower().lstrip(".") for f in formats))
    bad = [f for f in formats if f not in style.FORMATS]
    if bad or not formats:
        raise FigureRequestError(f"unsupported figure format {', '.join(map(repr, bad)) or '(none)'}; "
                                 f"choose from {', '.join(style.FORMATS)}, e.g. formats=('png', 'pdf')")
    numbers = sorted(FIGURES) if only is None else sorted(set(only))
    unknown = [n for n in numbers if n not in FIGURES]
    if unknown or not numbers:
        raise FigureRequestError(f"no figure {', '.join(map(str, unknown)) or '(none given)'}; the figures are "
                                 f"{', '.join(map(str, FIGURES))}, e.g. only=[8, 11]")
    return formats, numbers


#: the line every README.md written by :func:`write_all` carries: another README.md is the user's
README_MARK = "Made by `activation-lab figures"


def write_all(out_dir: str | Path = "figures", formats: Sequence[str] = ("png",), only: Iterable[int] | None = None,
              add: Sequence[Any] = (), dpi: int = style.DPI, force: bool = False) -> list[Path]:
    """Write figures ``only`` (default all, 8–12) into ``out_dir``: figNN_*.{formats}, figNN_*.csv
    and README.md (each figure, one sentence, the command that made it).  Every file is
    written atomically; nothing else in ``out_dir`` is touched, and a file of these names that
    this function did not write (a user's own fig08_telu.csv, README.md) is not replaced unless
    ``force``.  Before any figure is computed, ``out_dir`` is checked to be creatable and
    writable.  Returns the paths written.
    """
    formats, numbers = _check_request(formats, only)
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 10 <= dpi <= 1200:
        raise FigureRequestError(f"dpi must be an integer from 10 to 1200, got {dpi!r}")
    add = list(add)
    out = Path(out_dir)
    planned = [f"{FIGURES[n][0]}.{ext}" for n in numbers for ext in (*formats, "csv")]
    _check_out(out, force, planned)
    for item in add:     # a bad formula is reported before anything is created
        _activations([], [item])
    check_output_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    def command(figures: Sequence[int] | None) -> str:
        return _command(str(out_dir), formats, figures, add, dpi)

    written: list[Path] = []
    entries = []
    for number in numbers:
        stem, make = FIGURES[number]
        fig, data = make(add=add)
        files = [style.save(fig, out / f"{stem}.{fmt}", fmt, dpi) for fmt in formats]
        files.append(write_atomic(out / f"{stem}.csv", data.to_csv()))
        written += files
        entries.append((number, data, files))
    # the record of what the tool wrote here: this run's files, and earlier runs' still unchanged
    record = {name: digest for name, digest in (_record(out) or {}).items()
              if _FIGURE_FILE.fullmatch(name) and sha256_file(out / name) == digest}
    record.update({p.name: sha256_file(p) or "" for p in written})
    text = _readme(entries, command(None if only is None else numbers), command, out)
    written.append(write_atomic(out / "README.md", f"{text}\n{_RECORD_START}{json.dumps(record, sort_keys=True)}"
                                                   f"{_RECORD_END}\n"))
    return written


#: the files :func:`write_all` writes (and so the only names its record may list)
_FIGURE_FILE = re.compile(r"fig[0-9]{2}_[a-z_]+\.(png|pdf|svg|csv)")
# README.md ends with the names and SHA-256 of the files the tool wrote, as an HTML comment
_RECORD_START, _RECORD_END = "<!-- activation-lab figures, files written (SHA-256): ", " -->"


def _readme_text(readme: Path) -> str | None:
    """README.md's text when the tool wrote it (it carries :data:`README_MARK`), else None."""
    try:
        text = readme.read_text(encoding="utf-8", errors="replace") if readme.is_file() else None
    except OSError:
        return None
    return text if text is not None and README_MARK in text else None


def _record(out: Path) -> dict[str, str] | None:
    """The files the tool recorded in ``out``'s README.md (name → SHA-256); None when README.md is
    not the tool's, {} for a README.md from before the record existed."""
    text = _readme_text(out / "README.md")
    if text is None:
        return None
    start = text.rfind(_RECORD_START)
    if start < 0:
        return {}
    try:
        found = json.loads(text[start + len(_RECORD_START):].split(_RECORD_END, 1)[0])
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def _check_out(out: Path, force: bool, planned: Sequence[str] = ()) -> None:
    """Refuse (unless ``force``) to replace README.md or any file of the planned names that this
    function did not write: listed in the record at the end of the tool's README.md with its
    current content.  A folder from before that record counts as the tool's where README.md is."""
    if out.exists() and not out.is_dir():
        raise FigureRequestError(f"--out {str(out)!r} is a file, not a folder; give a folder (created if missing)")
    if force or not out.is_dir():
        return
    record = _record(out)
    foreign = [] if record is not None or not (out / "README.md").exists() else ["README.md"]
    for name in planned:
        path = out / name
        if not (path.exists() or path.is_symlink()) or record == {}:
            continue          # absent, or a folder of the tool's from before the record
        if record is None or path.is_symlink() or sha256_file(path) != record.get(name):
            foreign.append(name)
    if foreign:
        names = ", ".join(foreign[:4]) + (f" and {len(foreign) - 4} more" if len(foreign) > 4 else "")
        raise FigureRequestError(f"{str(out)!r} holds {names}, not written by activation-lab figures, which "
                                 "would be replaced; move them, choose another --out, or add --force to replace them")


def _readme(entries: Sequence[tuple[int, FigureData, Sequence[Path]]], command: str,
            command_for: Callable[[Sequence[int]], str], out: Path) -> str:
    lines = [
        "# Figures", "",
        f"Made by `{command}` from the symbolic definitions in `activation_lab/catalog.py`.",
        "Values come from the package's accurate float64 evaluation (`Activation.evaluate`), not from a plain",
        "lambdify; `tests/test_figures.py` regenerates them and checks the CSV data against mpmath.",
        "Each `figNN_*.csv` holds the plotted data: `x` first, then one column per curve, every float64 written",
        "in its shortest round-trip form (so the file holds the exact values).", "",
    ]
    for number, data, files in entries:
        lines += [f"## Figure {number}: `{data.stem}`", "", data.caption, ""]
        lines += [f"- files: {', '.join(f'`{p.name}`' for p in files)}"]
        lines += [f"- columns: {', '.join(f'`{c}`' for c in data.columns)}"]
        if data.marks:
            lines += [f"- marked: {'; '.join(f'{k} = {v:.6g}' for k, v in data.marks.items())}"]
        lines += [f"- this figure alone: `{command_for([number])}`", ""]
    made = {data.stem for _, data, _ in entries}
    others = [stem for stem, _ in FIGURES.values() if stem not in made and any(out.glob(f"{stem}.*"))]
    if others:
        lines += ["Also in this folder, from an earlier run (not regenerated by the command above): "
                  + ", ".join(f"`{s}`" for s in others) + ".", ""]
    return "\n".join(lines)


# figures 13-14 (signal propagation, issue 18) live in their own module, on the same building blocks
FIGURES.update({13: ("fig13_edge_of_chaos", edge_of_chaos), 14: ("fig14_depth_scale", depth_scale)})
