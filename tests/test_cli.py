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


def _strict_json(text):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def test_user_mistakes_exit_2_with_one_message(capsys, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("mine")
    mistakes = [
        ["figures", "--out", str(a_file), "--only", "8"],                 # --out is a file
        ["figures", "--out", str(a_file / "sub"), "--only", "8"],         # below a file: OSError
        ["show", "x/0"], ["show", "sqrt(-1)*x"], ["show", "--", "-" * 499 + "x"],
        ["show", "x*tanh(exp(x))", "--param", "b=2"],                     # a parameter it does not use
        ["bench", "telu", "--n", "1000", "--repeat", "2", "--backend", ""],
        ["check", "relu", "--order", ""], ["check", "relu", "--dtype", ""],
        ["check", "log(x)", "--order", "0", "--dtype", "float32", "--out", str(tmp_path)],   # not real for x < 0
    ]
    for argv in mistakes:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "error:" in err and "Traceback" not in err, (argv, err)
    assert a_file.read_text() == "mine"


def test_figures_keep_a_readme_they_did_not_write(capsys, tmp_path):
    (tmp_path / "README.md").write_text("my notes")
    (tmp_path / "data.csv").write_text("1,2")
    assert main(["figures", "--out", str(tmp_path), "--only", "11"]) == 2
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / "README.md").read_text() == "my notes"
    assert main(["figures", "--out", str(tmp_path), "--only", "11", "--force"]) == 0
    assert "activation-lab figures" in (tmp_path / "README.md").read_text()
    assert main(["figures", "--out", str(tmp_path), "--only", "11"]) == 0     # now it is ours
    assert (tmp_path / "data.csv").read_text() == "1,2"


def test_figures_with_a_bad_formula_create_nothing(capsys, tmp_path):
    assert main(["figures", "--out", str(tmp_path / "new"), "--add", "x+"]) == 2
    assert not (tmp_path / "new").exists()


def test_json_output_is_strict_json(capsys, tmp_path):
    # check: kappa is nan where it was not needed, underflow limits are -inf (JSON has neither)
    assert main(["check", "relu", "lrelu", "--order", "0", "--dtype", "float32", "--json", "--out", str(tmp_path)]) == 0
    data = _strict_json(capsys.readouterr().out)
    assert data["rows"] and data["passed"] is True
    assert main(["show", "telu", "--json"]) == 0
    assert _strict_json(capsys.readouterr().out)["f(+inf)"] == "inf"
