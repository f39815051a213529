"""``activation-lab analyze``: the side-by-side table and its JSON, checked against mpmath."""

import json
import subprocess
import sys
import time

import mpmath
import pytest

from activation_lab.present.cli import main

from .test_properties import D1
from .test_saturation import MP_F


def test_json_against_mpmath(capsys):
    assert main(["analyze", "telu", "silu", "--json"]) == 0
    data = {d["name"]: d for d in json.loads(capsys.readouterr().out)}
    assert set(data) == {"telu", "silu"}
    with mpmath.workprec(200):
        for name, guess in (("telu", -1.1), ("silu", -1.3)):
            where = mpmath.findroot(D1[name], guess)
            got_x, got_f = data[name]["minimum"]
            assert abs(got_x - where) <= 1e-12 * abs(where)
            assert abs(got_f - MP_F[name](where)) <= 1e-12 * abs(MP_F[name](where))
    assert data["silu"]["quotient"]["limit_exact"] == "1" and data["silu"]["quotient"]["reference"] == "telu"
    assert data["telu"]["saturation_neg_inf"]["kind"] == "exponential"
    assert data["telu"]["saturation_neg_inf"]["leading"] == "x*exp(x)"
    assert data["telu"]["approach_pos_inf"]["kind"] == "double-exponential"
    assert data["telu"]["limits"] == [-0.0, "inf"]


def test_table_side_by_side(capsys):
    assert main(["analyze", "gelu", "elu", "--against", "silu"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header == ["gelu", "elu"]
    for label in ("Lipschitz", "smoothness", "E[f(Z)^2]", "super-exponential", "|f'/silu'| at -inf", "-1.27846454276"):
        assert label in out


def test_formula_is_matched_to_the_catalogue(capsys):
    assert main(["analyze", "x/(1+exp(-x))", "telu"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("catalogue relation"))
    assert row.split()[-4:] == ["silu", "(proven)", "catalogue", "entry"]


def test_unknown_name_exits_2(capsys):
    assert main(["analyze", "telu", "gelo"]) == 2
    assert "gelu" in capsys.readouterr().err


@pytest.mark.slow
def test_paper_four_cold_under_30_seconds():
    start = time.monotonic()
    command = [sys.executable, "-m", "activation_lab.present.cli", "analyze", "telu", "silu", "gelu", "mish"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    assert elapsed < 30, elapsed
    with mpmath.workprec(200):
        where = mpmath.findroot(D1["telu"], -1.1)
        shown = f"{float(MP_F['telu'](where)):.12g} at {float(where):.12g}"
    assert shown in proc.stdout                                     # TeLU's minimum
