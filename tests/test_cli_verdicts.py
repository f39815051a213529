"""Issue 15's command-line items: --param on every verb that takes a formula, parse-error hints
(caret on the slip), one rule for formulas that are not activations, analyze and compare saying
the same thing about a formula's catalogue relation, --dpi, progress only on a terminal."""

import io
import struct

import mpmath
import pytest

from activation_lab.present.cli import main
from activation_lab.present.commands import _common


def _err_lines(capsys):
    return capsys.readouterr().err.splitlines()


def test_analyze_takes_param_and_shows_the_value_as_written(capsys):
    assert main(["analyze", "x*sigmoid(a*x)", "--param", "a=1.702"]) == 0
    out = capsys.readouterr().out
    assert "a=1.702" in out and "851/500" not in out and "851*x" not in out
    # the catalogue relation is the parameter fit, with the user's decimal
    assert "swish, beta=1.702" in out or "quick_gelu (proven)" in out


@pytest.mark.parametrize("verb", ["analyze", "check", "bench", "show"])
def test_param_is_accepted_by_every_formula_verb(verb, capsys):
    args = {"analyze": [], "check": ["--order", "0", "--dtype", "float64"],
            "bench": ["--n", "1000", "--repeat", "1", "--no-others"], "show": []}[verb]
    assert main([verb, "x*tanh(exp(a*x))", "--param", "a=1", *args]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("verb", ["analyze", "compare", "show"])
def test_caret_points_at_the_caret(verb, capsys):
    assert main([verb, "x^2"]) == 2
    err = capsys.readouterr().err
    assert "use ** for powers" in err and "unknown activation" not in err
    lines = err.splitlines()
    formula_line = next(i for i, line in enumerate(lines) if line.strip() == "x^2")
    assert lines[formula_line + 1].index("^") == lines[formula_line].index("^")


def test_implicit_multiplication_gets_write_2_times_x(capsys):
    assert main(["analyze", "2x*tanh(x)"]) == 2
    err = capsys.readouterr().err
    assert "write 2*x" in err and "parenthes" not in err


def test_unknown_name_in_a_formula_mentions_param(capsys):
    assert main(["analyze", "x*sigmoid(b*x)"]) == 2
    assert "--param b=" in capsys.readouterr().err


def test_one_rule_for_non_activations(capsys):
    # a real formula whose tails have no leading term: analysed, the missing parts named
    assert main(["analyze", "sin(x)"]) == 0
    out = capsys.readouterr().out
    assert "n/a" in out and "not available" in out
    row = next(line for line in out.splitlines() if line.startswith("maximum"))
    where = mpmath.mpf(row.split(" at ")[1])      # sin has its maximum 1 at π/2 + 2πk
    with mpmath.workprec(100):
        assert row.split()[1] == "1" and abs(mpmath.sin(where) - 1) < 1e-15
    # not real on the line: refused by analyze and compare alike, with the same message
    assert main(["analyze", "log(x)"]) == 2
    first = capsys.readouterr().err
    assert main(["compare", "log(x)"]) == 2
    second = capsys.readouterr().err
    assert "not a finite real number" in first and first.split(": ", 2)[2] == second.split(": ", 2)[2]


def test_analyze_and_compare_agree_on_a_rescaling(capsys):
    assert main(["analyze", "2*x*tanh(exp(x))"]) == 0
    out = capsys.readouterr().out
    assert "2*telu(x)" in out and "rescaling of TeLU" in out


def test_parse_params_keeps_text_and_refuses_bad_items():
    assert _common.parse_params(["a=1.702", " b = 2 "]) == {"a": "1.702", "b": "2"}
    with pytest.raises(Exception, match="NAME=VALUE"):
        _common.parse_params(["a"])


def test_no_progress_off_a_terminal_or_with_quiet(monkeypatch):
    class Args:
        json = False
        quiet = False
    fake = io.StringIO()
    monkeypatch.setattr(_common.sys, "stderr", fake)
    assert isinstance(_common.progress(Args(), 3, "x"), _common._NoProgress)      # not a TTY
    fake.isatty = lambda: True
    bar = _common.progress(Args(), 3, "x")
    bar.update(1)
    bar.close()
    assert "x:" in fake.getvalue() and "/3" in fake.getvalue()
    Args.quiet = True
    assert isinstance(_common.progress(Args(), 3, "x"), _common._NoProgress)
    Args.quiet, Args.json = False, True
    assert isinstance(_common.progress(Args(), 3, "x"), _common._NoProgress)


def test_compare_dpi(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["compare", "silu", "--out", str(out), "--format", "md", "--dpi", "60", "--quiet"]) == 0
    png = (out / "report-f.png").read_bytes()
    width, height = struct.unpack(">II", png[16:24])
    from activation_lab.present import style
    w_in, h_in = style.FIGSIZE if hasattr(style, "FIGSIZE") else (width / 60, height / 60)
    assert abs(width - 60 * w_in) <= 2
    assert main(["compare", "silu", "--dpi", "5"]) == 2
    assert "dpi" in capsys.readouterr().err
