"""``activation-lab check``: the table, the CSV of worst cases, JSON, the exhaustive mode on a slice, errors."""

import csv
import functools
import json

import numpy as np
import pytest

import activation_lab as al
from activation_lab.present.cli import main


def test_check_table_and_csv(tmp_path, capsys):
    code = main(["check", "telu", "relu", "--order", "0,1", "--dtype", "float32", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["activation", "order", "dtype"]
    rows = [ln.split() for ln in lines[2:6]]
    assert [(r[0], r[1], r[2]) for r in rows] == [("telu", "f", "float32"), ("telu", "f'", "float32"),
                                                  ("relu", "f", "float32"), ("relu", "f'", "float32")]
    assert all(r[-1] == "met" for r in rows)
    assert "gradient underflow" in out and "-108.65" in out        # TeLU's last nonzero float32 gradient
    with open(tmp_path / "check-worst.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert {r["activation"] for r in table} == {"telu", "relu"}
    telu_f = [r for r in table if r["activation"] == "telu" and r["order"] == "0" and r["kind"] == "worst"]
    assert len(telu_f) == 5 and all(float(r["ulp_error"]) <= 0.5 + 1e-6 for r in telu_f)
    x, got = float(telu_f[0]["x"]), float(telu_f[0]["got"])
    # the row's result is TeLU(x) computed in float64 and rounded to float32 (how the evaluation works)
    assert np.float32(x) == x and got == float(np.float32(x * np.tanh(np.exp(x))))
    assert sorted(p.name for p in tmp_path.iterdir()) == [".activation-lab-files", "check-worst.csv"]


def test_check_json(tmp_path, capsys):
    assert main(["check", "gelu", "--order", "1", "--dtype", "float16", "--json", "--out", str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    (row,) = data["rows"]
    assert row["name"] == "gelu" and row["n"] == 1 and row["dtype"] == "float16" and row["passed"] is True
    assert data["passed"] is True and data["underflow"]["rows"][0]["name"] == "gelu"


def test_check_exhaustive_on_a_slice(tmp_path, capsys, monkeypatch):
    import activation_lab.analysis.exhaustive as ex

    one = int(np.array(1.0, dtype=np.float32).view(np.uint32))
    monkeypatch.setattr(ex, "exhaustive", functools.partial(ex.exhaustive, start=one, stop=one + 2**14,
                                                            chunk_size=2**12, workers=1))
    assert main(["check", "telu", "--exhaustive", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "telu" in captured.out and "met" in captured.out and "4/4 chunks" in captured.out
    assert "chunks" in captured.err                                   # the progress bar
    state = json.loads((tmp_path / "check-exhaustive-telu-0.json").read_text())
    assert len(state["done"]) == 4 and state["totals"]["count"] == 2**14
    # a second run resumes from the state: nothing left to do, same answer
    assert main(["check", "telu", "--exhaustive", "--json", "--out", str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rows"][0]["count"] == 2**14 and data["rows"][0]["complete"] is True


@pytest.mark.parametrize("argv,message", [
    (["check", "telu", "--exhaustive", "--dtype", "float64"], "float64's 2^64 inputs"),
    (["check", "telu", "--order", "one"], "--order"),
    (["check", "telu", "--dtype", "float8"], "--dtype"),
    (["check", "telu", "--scheduler", "tcp://x:1"], "--exhaustive"),
    (["check", "telu", "--out", "/dev/null/folder"], "--out"),        # cannot be created
    (["check", "tellu"], "did you mean"),
])
def test_check_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_exhaustive_state_files_are_distinct_per_activation():
    from activation_lab.present.commands.cmd_check import _slug

    acts = [al.get("telu"), al.define("x*tanh(exp(x)/2)"), al.define("x*tanh(exp(x)*2)"),
            al.get("swish"), al.get("swish", beta=2)]
    slugs = [_slug(a) for a in acts]
    assert len(set(slugs)) == len(slugs)
    assert slugs[0] == "telu" and slugs[3] == "swish"        # catalogue names keep their plain files
