"""``activation-lab bench``: shape of the output only (timings are not asserted)."""

from __future__ import annotations

import json
import math
import sys

import pytest

import activation_lab as al
from activation_lab.analysis.benchmark import FRAMEWORK_GROUP, FRAMEWORK_MODES, MODES, Benchmark, benchmark
from activation_lab.errors import ActivationLabError
from activation_lab.present.cli import main


def test_bench_json_has_every_row(capsys):
    assert main(["bench", "telu", "relu", "--n", "2000", "--repeat", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n"] == 2000 and data["repeat"] == 3 and data["dtype"] == "float32"
    rows = {(t["activation"], t["backend"], t["mode"]): t for t in data["timings"]}
    for name in ("telu", "relu"):
        for backend in ("numpy", "numpy-naive"):
            for mode in MODES:
                t = rows[(name, backend, mode)]
                assert t["q25_ns"] <= t["median_ns"] <= t["q75_ns"] and t["median_ns"] > 0
                assert math.isclose(t["copy_ratio"], t["median_ns"] / rows[("", "numpy", "copy")]["median_ns"])
                assert (t["speedup_vs_naive"] is None) == (backend == "numpy-naive")
        assert rows[(name, "numpy", "fused-out")]["speedup_vs_naive"] is None
    assert rows[("", "numpy", "copy")]["copy_ratio"] == 1.0
    # page faults per call: a count from the OS (Linux here), never negative
    assert all(isinstance(t["page_faults"], (int, float)) and t["page_faults"] >= 0 for t in data["timings"])
    assert any(note.startswith("numpy backend: ") for note in data["notes"])  # which engine ran float32


def test_bench_table(capsys):
    assert main(["bench", "x*tanh(exp(x))", "--n", "1000", "--repeat", "2", "--no-others"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("n = 1000 float32")
    assert out[1].split()[:3] == ["activation", "backend", "mode"]
    body = [line.split() for line in out[3:] if line and not line.startswith("note")]
    assert [r[2] for r in body] == ["copy", "forward", "derivative", "fused", "fused-out"]
    assert all(r[1] == "numpy" for r in body)


def test_bench_result_is_a_dataclass_with_a_table():
    result = benchmark(["silu"], n=500, repeat=2, dtype="float64", others=False)
    assert isinstance(result, Benchmark) and result.dtype == "float64"
    assert len(result.timings) == 1 + len(MODES) + 1
    assert str(result).count("silu") == len(MODES) + 1


def test_bench_errors(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)
    assert main(["bench", "telu", "--n", "100", "--backend", "cupy"]) == 2
    assert "activation-lab[cuda]" in capsys.readouterr().err
    with pytest.raises(ActivationLabError, match="n must be a positive integer"):
        benchmark(["telu"], n=0)
    # torch and jax are backends since issue 17 (forward plus backward of the exports); others are not
    with pytest.raises(ActivationLabError, match="cannot be benchmarked; choose numpy, cupy, torch and/or jax"):
        benchmark(["telu"], n=10, backends=["tensorflow"])
    monkeypatch.setitem(sys.modules, "jax", None)
    with pytest.raises(ActivationLabError, match=r"activation-lab\[jax\]"):
        benchmark(["telu"], n=10, backends=["jax"])


def test_naive_rows_for_every_catalogue_activation():
    """Every activation gets its naive NumPy rows (erf has no NumPy ufunc: SciPy's is used)."""
    import activation_lab as al

    result = benchmark(al.names(), n=64, repeat=1, backends=["numpy"])
    naive = {t.activation for t in result.timings if t.backend == "numpy-naive"}
    assert naive == set(al.names())
    assert not any(" left out" in note for note in result.notes if note.startswith("numpy-naive"))



def test_activations_sharing_a_name_get_their_own_rows():
    r = al.benchmark([al.get("swish", beta=1), al.get("swish", beta=2), "telu", "telu"], n=2000, repeat=2)
    assert {t.activation for t in r.timings if t.activation} == {"swish(beta=1)", "swish(beta=2)", "telu"}
    assert {t.activation for t in al.benchmark("telu", n=2000, repeat=2).timings if t.activation} == {"telu"}


@pytest.mark.slow
def test_bench_torch_and_jax_backends(capsys):
    """Forward plus backward rows of export, built-in and naive autograd, eager and compiled, side by side."""
    assert main(["bench", "telu", "gelu", "--backend", "torch,jax", "--n", "256", "--repeat", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {(t["activation"], t["backend"], t["mode"]): t for t in data["timings"]}
    for fw in ("torch", "jax"):
        assert rows[("", fw, "copy")]["copy_ratio"] == 1.0
        for name in ("telu", "gelu"):
            for how in ("eager", "compiled"):
                naive = rows[(name, fw, f"naive-{how}")]
                assert naive["speedup_vs_naive"] is None and naive["median_ns"] > 0
                kinds = ("export", "builtin") if name == "gelu" else ("export",)
                for kind in kinds:
                    t = rows[(name, fw, f"{kind}-{how}")]
                    assert math.isclose(t["speedup_vs_naive"], naive["median_ns"] / t["median_ns"])
        assert (("telu", fw, "builtin-eager") not in rows)       # neither framework ships TeLU
    assert {k[1] for k in rows} == {"torch", "jax"}                # no numpy rows unless asked for
    assert not any(" left out" in note for note in data["notes"])
    assert {m for (_, _, m) in rows} - {"copy"} <= set(FRAMEWORK_MODES)


@pytest.mark.slow
def test_bench_framework_table_and_default_group(capsys):
    assert main(["bench", "--backend", "jax", "--n", "128", "--repeat", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[:3] == ["activation", "backend", "mode"]
    body = [line.split() for line in out[3:] if line and not line.startswith("note")]
    assert {r[0] for r in body} - {"-"} == set(FRAMEWORK_GROUP)
    assert {r[2] for r in body if r[0] == "telu"} == {"export-eager", "export-compiled", "naive-eager",
                                                      "naive-compiled"}
