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
