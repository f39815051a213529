"""Figures 8-12: regenerated into a temporary folder, files valid, data checked against mpmath.

Expected values come from the plain formulas below, differentiated by mpmath at 200 bits;
nothing here calls the package's own mpmath target.
"""

from __future__ import annotations

import csv
import math
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest

import activation_lab as al
from activation_lab.errors import ActivationLabError
from activation_lab.present.cli import main

pytestmark = pytest.mark.xdist_group("figures")  # one worker makes the figures once

STEMS = {8: "fig08_telu", 9: "fig09_linear_units", 10: "fig10_derivatives", 11: "fig11_saturation",
         12: "fig12_quotient", 13: "fig13_edge_of_chaos", 14: "fig14_depth_scale"}
GROUP = ["telu", "relu", "elu", "silu", "gelu", "mish", "logish", "smish"]
COMMITTED = Path(__file__).resolve().parents[1] / "figures"


def _sigmoid(x):
    return 1 / (1 + mp.exp(-x))


# the paper's group written out plainly (ReLU and ELU take their left-hand piece at 0)
PLAIN = {
    "telu": lambda x: x * mp.tanh(mp.exp(x)),
    "relu": lambda x: x if x > 0 else mp.mpf(0),
    "elu": lambda x: x if x > 0 else mp.expm1(x),
    "silu": lambda x: x * _sigmoid(x),
    "gelu": lambda x: x / 2 * mp.erfc(-x / mp.sqrt(2)),
    "mish": lambda x: x * mp.tanh(mp.log(1 + mp.exp(x))),
    "logish": lambda x: x * mp.log(1 + _sigmoid(x)),
    "smish": lambda x: x * mp.tanh(mp.log(1 + _sigmoid(x))),
}


def exact(name: str, x: float, n: int = 0):
    """f⁽ⁿ⁾(x) to 200 bits (mpmath's numerical differentiation, at extra precision).

    Far left, eˣ − 1 is −1 plus a tiny part; the working precision grows with |x| to hold it.
    """
    with mp.workprec(200 + 2 * int(abs(x))):
        xm = mp.mpf(x)
        return PLAIN[name](xm) if n == 0 else mp.diff(PLAIN[name], xm, n)


def assert_close(got: float, want, what: str, rtol: float = 1e-12) -> None:
    """Relative agreement, with two units of float64's smallest subnormal allowed for tiny values."""
    want_f = float(want)
    assert math.isfinite(got), f"{what}: got {got!r}, want {want_f!r}"
    assert abs(got - want_f) <= rtol * abs(want_f) + 2 * 2.0**-1074, f"{what}: got {got!r}, want {mp.nstr(want, 17)}"


def read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    assert all(len(r) == len(header) for r in body), f"{path.name}: ragged rows"
    return header, np.array([[float(v) for v in r] for r in body], dtype=np.float64)


def column(made: Path, number: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    header, data = read_csv(made / f"{STEMS[number]}.csv")
    assert header[0] == "x"
    return data[:, 0], data[:, header.index(name)]


def at(x: np.ndarray, y: np.ndarray, value: float) -> float:
    hits = np.flatnonzero(x == value)
    assert hits.size == 1, f"x = {value} is not a sample point of the figure"
    return float(y[hits[0]])


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    """Two independent regenerations (all formats, low dpi to keep the test quick)."""
    dirs = []
    for k in range(2):
        out = tmp_path_factory.mktemp(f"figures{k}")
        (out / "mine.txt").write_text("not yours")
        al.figures.write_all(out, formats=("png", "pdf", "svg"), dpi=40)
        dirs.append(out)
    return dirs[0], dirs[1]


@pytest.fixture(scope="module")
def made(runs) -> Path:
    return runs[0]


# ----------------------------------------------------------------- files
def test_every_file_exists_and_is_a_valid_image(made):
    for stem in STEMS.values():
        png = (made / f"{stem}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n", stem
        pdf = (made / f"{stem}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF"), stem
        root = ET.fromstring((made / f"{stem}.svg").read_bytes())
        assert root.tag.endswith("svg") and len(root) > 0, stem
        assert (made / f"{stem}.csv").stat().st_size > 1000, stem


def test_readme_lists_each_figure_and_the_command(made):
    readme = (made / "README.md").read_text()
    assert "activation-lab figures" in readme
    for number, stem in STEMS.items():
        assert f"## Figure {number}: `{stem}`" in readme
        assert f"`{stem}.png`" in readme and f"`{stem}.csv`" in readme


def test_nothing_else_touched_and_no_temporary_files_left(made):
    assert (made / "mine.txt").read_text() == "not yours"
    assert not [p.name for p in made.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]


def test_regeneration_is_deterministic(runs):
    first, second = runs
    for stem in STEMS.values():
        for ext in ("csv", "pdf", "svg", "png"):
            a, b = (d / f"{stem}.{ext}" for d in runs)
            assert a.read_bytes() == b.read_bytes(), f"{stem}.{ext} differs between two runs"
    pdf = (first / f"{STEMS[11]}.pdf").read_bytes()
    svg = (first / f"{STEMS[11]}.svg").read_text()
    assert b"CreationDate" not in pdf and b"Matplotlib" not in pdf
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg


# ----------------------------------------------------------------- data
def test_csv_columns_are_x_then_one_per_curve_all_finite(made):
    expected = {8: ["telu", "telu'", "telu''"], 9: GROUP, 10: [f"{n}'" for n in GROUP],
                11: [f"|{n}'|" for n in GROUP], 12: [f"|{n}'/telu'|" for n in GROUP]}
    for number, names in expected.items():
        header, data = read_csv(made / f"{STEMS[number]}.csv")
        assert header == ["x", *names], number
        assert np.all(np.diff(data[:, 0]) > 0), f"figure {number}: x not increasing"
        # every plotted value here is finite in truth (the pole x ≈ -1.0789 is not a sample point)
        assert np.isfinite(data).all(), f"figure {number}: nan or inf in the CSV"


@pytest.mark.parametrize("x", [-4.0, -1.0, 0.5, 3.0])
def test_fig08_telu_and_two_derivatives(made, x):
    for n, name in enumerate(["telu", "telu'", "telu''"]):
        xs, ys = column(made, 8, name)
        assert_close(at(xs, ys, x), exact("telu", x, n), f"TeLU^({n})({x})")


@pytest.mark.parametrize("x", [-4.5, -2.0, -0.3, 0.5, 2.5])
def test_fig09_fig10_group_values_and_derivatives(made, x):
    for name in GROUP:
        xs, ys = column(made, 9, name)
        assert_close(at(xs, ys, x), exact(name, x), f"{name}({x})")
        xs, ys = column(made, 10, f"{name}'")
        assert_close(at(xs, ys, x), exact(name, x, 1), f"{name}'({x})")


def test_fig11_saturation_deep_in_the_tail(made):
    for name in GROUP:
        xs, ys = column(made, 11, f"|{name}'|")
        assert_close(at(xs, ys, -30.0), abs(exact(name, -30.0, 1)), f"|{name}'(-30)|")
        # GELU's Gaussian tail is subnormal at -38 and below float64 at -40; the rest go on to -740
        for x in ([-38.0, -40.0] if name == "gelu" else [-100.0, -500.0, -740.0]):
            assert_close(at(xs, ys, x), abs(exact(name, x, 1)), f"|{name}'({x})|")
    xs, ys = column(made, 11, "|relu'|")
    assert not ys[xs < 0].any()


def test_fig11_marks_the_float32_and_float64_underflow_levels():
    _, data = al.figures.saturation(names=["telu"], x=[-2.0, -1.0])
    assert set(data.marks.values()) == {float(np.finfo(np.float32).smallest_subnormal),
                                        float(np.finfo(np.float64).smallest_subnormal)}


@pytest.mark.parametrize("x", [-2.0, -5.0, -10.0, -0.5, 1.0])
def test_fig12_quotients(made, x):
    for name in GROUP:
        xs, ys = column(made, 12, f"|{name}'/telu'|")
        with mp.workprec(200):
            want = abs(exact(name, x, 1) / exact("telu", x, 1))
        assert_close(at(xs, ys, x), want, f"|{name}'/telu'|({x})")


def test_fig12_marks_the_pole_and_draws_a_gap_there():
    x = np.arange(-300, 1) / 100
    fig, data = al.figures.quotient(names=["telu", "elu"], x=x)
    with mp.workprec(200):
        root = mp.findroot(lambda t: mp.diff(PLAIN["telu"], t), mp.mpf(-1.08))
    (pole,) = data.marks.values()
    assert abs(pole - float(root)) < 1e-12
    (elu_line,) = [ln for ln in fig.axes[0].lines if ln.get_label() == "ELU"]
    drawn = np.asarray(elu_line.get_ydata(), dtype=float)
    near = np.abs(x - pole) < 0.015
    assert np.isnan(drawn[near]).all() and np.isfinite(drawn[np.abs(x - pole) > 0.05]).all()
    # the data keeps the true (finite, large) values next to the pole
    for xv in x[near]:
        with mp.workprec(200):
            want = abs(exact("elu", xv, 1) / exact("telu", xv, 1))
        assert_close(float(data.columns["|elu'/telu'|"][x == xv][0]), want, f"|elu'/telu'|({xv})", rtol=1e-11)


# ----------------------------------------------------------------- library API and CLI
def test_figure_functions_return_a_figure_and_columns_and_keep_the_callers_x():
    from matplotlib.figure import Figure

    x = np.array([-3.0, -1.0, 0.0, 2.0])
    before = x.copy()
    fig, data = al.figures.saturation(names=["telu", "gelu"], x=x, add=["x*tanh(softplus(x))"])
    assert isinstance(fig, Figure) and np.array_equal(x, before)
    assert list(data.columns) == ["x", "|telu'|", "|gelu'|", "|x*tanh(softplus(x))'|"]
    for k, xv in enumerate(x):
        assert_close(data.columns["|x*tanh(softplus(x))'|"][k], abs(exact("mish", xv, 1)), f"added at {xv}")
    assert "fig11_saturation" in str(data)
    for make in (al.figures.telu, al.figures.linear_units, al.figures.derivatives, al.figures.quotient):
        fig, data = make(x=np.linspace(-2, 1, 7), add=["serf"])
        assert isinstance(fig, Figure) and any("serf" in c for c in data.columns)


def test_bad_requests_raise_clear_errors_and_write_nothing(tmp_path):
    with pytest.raises(ValueError, match="no figure 7.*8, 9, 10, 11, 12"):
        al.figures.write_all(tmp_path, only=[7])
    with pytest.raises(ActivationLabError, match="unsupported figure format 'jpg'"):
        al.figures.write_all(tmp_path, formats=("jpg",))
    with pytest.raises(ActivationLabError, match="at least two distinct finite"):
        al.figures.linear_units(x=[1.0])
    with pytest.raises(ValueError, match="at least two distinct finite"):
        al.figures.saturation(x="abc")
    with pytest.raises(al.UnknownActivationError, match="gelu"):
        al.figures.derivatives(names=["gelo"])
    assert list(tmp_path.iterdir()) == []


def test_cli_only_and_add(tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["figures", "--out", str(out), "--only", "11", "--add", "x*tanh(softplus(x))",
                 "--format", "svg", "--dpi", "40"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "fig11_saturation.csv", "fig11_saturation.svg"]
    header, _ = read_csv(out / "fig11_saturation.csv")
    assert header[-1] == "|x*tanh(softplus(x))'|"
    assert "--only 11 --add 'x*tanh(softplus(x))'" in (out / "README.md").read_text()
    assert str(out / "fig11_saturation.csv") in capsys.readouterr().out
    assert main(["figures", "--out", str(out), "--only", "8,x"]) == 2
    assert "not a figure number" in capsys.readouterr().err


def test_cli_verb_loads_without_matplotlib():
    code = ("import sys, activation_lab.present.cli as c; c.build_parser(); "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_committed_figures_match_a_fresh_run(made):
    for stem in STEMS.values():
        assert (COMMITTED / f"{stem}.png").is_file(), f"figures/{stem}.png is not committed"
        header, old = read_csv(COMMITTED / f"{stem}.csv")
        new_header, new = read_csv(made / f"{stem}.csv")
        assert header == new_header and old.shape == new.shape, stem
        # equal to the last bits here; a few ULP of slack for other CPUs' libm
        assert np.allclose(old, new, rtol=1e-13, atol=1e-322, equal_nan=True), f"figures/{stem}.csv is stale"


# ----------------------------------------------------------------- figures 13-14 (signal propagation)
def test_fig13_edge_of_chaos_columns_and_closed_forms(made):
    header, data = read_csv(made / f"{STEMS[13]}.csv")
    assert header == ["x", *(f"sigma_w[{n}]" for n in GROUP)]
    xs, relu = data[:, 0], data[:, header.index("sigma_w[relu]")]
    # ReLU: the single point σ_b = 0, σ_w = √2; tanh-like closed form for ELU at σ_b = 0: 1/ELU′(0) = 1
    assert relu[xs == 0.0][0] == pytest.approx(math.sqrt(2), rel=1e-13) and np.isnan(relu[xs > 0]).all()
    assert data[xs == 0.0, header.index("sigma_w[elu]")][0] == pytest.approx(1.0, rel=1e-13)
    assert data[xs == 0.0, header.index("sigma_w[telu]")][0] == pytest.approx(1 / math.tanh(1), rel=1e-13)


def test_fig14_depth_scale_peaks_at_the_edge(made):
    header, data = read_csv(made / f"{STEMS[14]}.csv")
    assert header == ["x", *(f"xi_c[{n}]" for n in GROUP)]
    xs, relu = data[:, 0], data[:, header.index("xi_c[relu]")]
    ok = np.isfinite(relu)
    # ReLU at σ_b = 0.1, σ_w < √2: c* = 1 and ξ_c = −1/log(σ_w²/2)
    assert np.allclose(relu[ok], -1 / np.log(xs[ok] ** 2 / 2), rtol=1e-12)
    assert np.isnan(relu[xs > math.sqrt(2)]).all()          # q grows without bound there


# ----------------------------------------------------------------- added curves, jumps, one term (issue 15)
ADDED = [f"s{k}=x*sigmoid({k + 2}*x)" for k in range(10)]   # cheap formulas, each with a name of its own


def _panel_sizes(fig) -> list[tuple[float, float]]:
    """Width and height in inches of each panel after layout."""
    fig.draw_without_rendering()
    w, h = fig.get_size_inches()
    return [(ax.get_position().width * w, ax.get_position().height * h) for ax in fig.axes]


@pytest.mark.parametrize("make", ["telu", "linear_units", "saturation", "quotient"])
def test_added_curves_keep_the_panels_size(make):
    fn = getattr(al.figures, make)
    x = np.linspace(-40, 0, 81) if make == "saturation" else np.linspace(-3, 3, 61)
    plain, added = (_panel_sizes(fn(x=x, add=add)[0]) for add in ([], ADDED))
    assert len(plain) == len(added)
    for (w0, h0), (w1, h1) in zip(plain, added, strict=True):
        # the legend grows by 10-30 entries: the figure grows with it, the panels do not shrink
        assert abs(h1 - h0) <= 0.03 * h0 and abs(w1 - w0) <= 0.03 * w0, (make, plain, added)


def test_added_curves_have_colours_of_their_own():
    import matplotlib.colors as mc

    for make in (al.figures.linear_units, al.figures.derivatives):
        fig, _ = make(x=np.linspace(-3, 3, 31), add=ADDED)
        lines = {ln.get_label(): mc.to_hex(ln.get_color()) for ln in fig.axes[0].lines}
        group = {lines[lab] for lab in lines if lab.rstrip("′") in
                 ("TeLU", "ReLU", "ELU", "SiLU", "GELU", "Mish", "Logish", "Smish")}
        assert len(group) == 8
        mine = [lines[lab] for lab in lines if lab.rstrip("′") in {f"s{k}" for k in range(10)}]
        assert len(mine) == 10
        assert not set(mine) & group, f"added curves take the group's colours: {set(mine) & group}"
        assert len(set(mine)) == 10, "the first ten added curves should each have their own colour"


def test_add_name_equals_formula_names_the_curve(tmp_path):
    fig, data = al.figures.linear_units(names=["telu"], x=[-1.0, 0.5], add=["mine = x*tanh(log(1+exp(x)))"])
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["TeLU", "mine"]
    assert list(data.columns) == ["x", "telu", "mine"]
    for k, xv in enumerate([-1.0, 0.5]):
        assert_close(float(data.columns["mine"][k]), exact("mish", xv), f"mine({xv})")
    # comparisons in a formula are not names
    _, data = al.figures.linear_units(names=[], x=[-1.0, 0.5], add=["where(x >= 0, x, 0)"])
    assert list(data.columns) == ["x", "where(x >= 0, x, 0)"]
    with pytest.raises(ActivationLabError, match="catalogue's 'telu'"):
        al.figures.linear_units(add=["telu=x*tanh(exp(x))"])
    out = tmp_path / "figs"
    assert main(["figures", "--out", str(out), "--only", "9", "--add", "mine=x*tanh(softplus(x))",
                 "--dpi", "40"]) == 0
    header, _ = read_csv(out / "fig09_linear_units.csv")
    assert header[-1] == "mine"
    assert "--add 'mine=x*tanh(softplus(x))'" in (out / "README.md").read_text()


def _segments(line) -> list[tuple[float, float, float, float]]:
    """The drawn segments of a line: consecutive points, both finite."""
    xs, ys = (np.asarray(v, dtype=float) for v in line.get_data())
    return [(xs[i], ys[i], xs[i + 1], ys[i + 1]) for i in range(xs.size - 1)
            if np.isfinite([xs[i], ys[i], xs[i + 1], ys[i + 1]]).all()]


def test_relu_jump_is_drawn_as_a_jump():
    x = np.arange(-100, 101) / 50
    with mp.workprec(200):
        right = float(1 / mp.diff(PLAIN["telu"], mp.mpf(0)))     # |ReLU′/TeLU′| just right of 0
    for make, label, left_value, right_value in ((al.figures.derivatives, "ReLU′", 0.0, 1.0),
                                                  (al.figures.quotient, "ReLU", 0.0, right)):
        fig, _ = make(names=["telu", "relu"], x=x)
        ax = fig.axes[0]
        (line,) = [ln for ln in ax.lines if ln.get_label() == label]
        segs = _segments(line)
        # no segment joins the two sides: each drawn segment stays on one side of the kink
        across = [s for s in segs if s[0] < 0 < s[2] or (s[0] == s[2] == 0 and s[1] != s[3])
                  or (min(s[0], s[2]) == 0 and abs(s[3] - s[1]) > 0.5)]
        assert not across, f"{make.__name__}: a segment joins the sides of the jump: {across}"
        xs, ys = (np.asarray(v, dtype=float) for v in line.get_data())
        at0 = ys[xs == 0]
        assert left_value in at0 and any(abs(v - right_value) < 1e-12 for v in at0[np.isfinite(at0)]), at0
        # a filled dot at the value taken at 0 (PyTorch: ReLU′(0) = 0), an open one at the right limit
        dots = [(ln.get_xdata()[0], ln.get_ydata()[0], ln.get_markerfacecolor()) for ln in ax.lines
                if ln.get_marker() == "o" and len(ln.get_xdata()) == 1 and ln.get_xdata()[0] == 0]
        assert any(y == left_value and face != "white" for _, y, face in dots), dots
        assert any(abs(y - right_value) < 1e-12 and face == "white" for _, y, face in dots), dots
    # smooth curves are not broken: TeLU′ draws every segment of its grid
    fig, _ = al.figures.derivatives(names=["telu", "relu"], x=x)
    (telu,) = [ln for ln in fig.axes[0].lines if ln.get_label() == "TeLU′"]
    assert len(_segments(telu)) == x.size - 1


def test_fig11_says_smallest_subnormal_everywhere_with_the_legend_below():
    fig, data = al.figures.saturation(x=np.linspace(-760, 0, 761))
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    texts += [t.get_text() for ax in fig.axes for t in ax.texts] + [ax.get_title() for ax in fig.axes]
    assert not [t for t in texts if "underflow" in t], texts
    # the CSV's README marks and the figure name the same levels the same way
    assert set(data.marks) == {"float32 smallest subnormal", "float64 smallest subnormal"}
    for mark in data.marks:
        assert any(t.startswith(mark) for t in fig.legends[0].get_texts() for t in [t.get_text()]), mark
        assert any(t.get_text() == mark for ax in fig.axes for t in ax.texts), mark
    assert "underflow" not in data.caption
    # the legend sits below the panels, so its long entries take no width from them
    fig.draw_without_rendering()
    legend_top = fig.legends[0].get_window_extent().y1
    assert all(legend_top < ax.get_window_extent().y0 for ax in fig.axes)


def test_added_curves_keep_the_propagation_panels_size():
    from activation_lab.present import propagation_figures as pf

    long = "x*tanh(log(1 + exp(x)))*sigmoid(3*x)/sigmoid(3*x)"     # a long legend entry
    for make, kw in ((pf.edge_of_chaos, dict(sigma_b=[0.0, 0.5])), (pf.depth_scale, dict(sigma_w=[1.0, 2.0]))):
        plain, added = (_panel_sizes(make(add=add, **kw)[0]) for add in ([], [long]))
        for (w0, h0), (w1, h1) in zip(plain, added, strict=True):
            assert abs(h1 - h0) <= 0.03 * h0 and abs(w1 - w0) <= 0.03 * w0, (make.__name__, plain, added)
