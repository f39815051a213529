"""The command line: list, show, errors."""

import json
import subprocess
import sys

import pytest

from activation_lab.present.cli import main


def test_list_shows_the_catalogue(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines()[2:] if line.strip()]
    assert len(rows) >= 20 and any(r.startswith("telu ") for r in rows)


def test_list_json(capsys):
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data) >= 20 and {"name", "formula", "family"} <= set(data[0])


def test_show_telu(capsys):
    assert main(["show", "tanhexp", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "telu"
    assert abs(data["f'(0)"] - 0.7615941559557649) < 1e-15  # tanh(1)
    assert data["f'(+inf)"] == 1.0 and data["f(+inf)"] == "inf"


def test_show_text_and_formula(capsys):
    assert main(["show", "x*tanh(softplus(x))"]) == 0
    assert "f''(x)" in capsys.readouterr().out


def test_unknown_name_exits_nonzero_with_suggestion(capsys):
    assert main(["show", "gelo"]) == 2
    assert "gelu" in capsys.readouterr().err


@pytest.mark.slow
def test_console_script_runs():
    proc = subprocess.run([sys.executable, "-m", "activation_lab.present.cli", "show", "mish"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "mish" in proc.stdout


def test_python_dash_m_activation_lab():
    """``python -m activation_lab`` is the command line where the script is not on PATH."""
    proc = subprocess.run([sys.executable, "-m", "activation_lab", "show", "telu"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "x*tanh(exp(x))" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "activation_lab", "show", "tellu"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "telu" in bad.stderr
