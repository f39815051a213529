"""Standalone files (``activation-lab export NAME --to torch|jax|numpy``): each imports only its
framework, runs its self-test in a fresh isolated interpreter in which activation_lab cannot be
imported, and computes what the library computes."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys

import numpy as np
import pytest

from activation_lab.present.cli import main

#: run a file as __main__ with every import of activation_lab refused (the package is installed in
#: development mode, so -I alone would still find it)
RUNNER = """
import runpy, sys

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "activation_lab":
            raise ImportError("activation_lab is not available to standalone files")
        return None

sys.meta_path.insert(0, Refuse())
try:
    import activation_lab  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("activation_lab was importable")
runpy.run_path(sys.argv[1], run_name="__main__")
assert not any(m.split(".")[0] == "activation_lab" for m in sys.modules)
"""


def _run_isolated(path, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return subprocess.run([sys.executable, "-I", "-c", RUNNER, str(path)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=240)


@pytest.mark.parametrize("target", ["torch", "jax", "numpy"])
def test_written_file_self_test_passes_without_activation_lab(tmp_path, target):
    pytest.importorskip(target)
    out = tmp_path / f"telu_{target}.py"
    assert main(["export", "telu", "--to", target, "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "import activation_lab" not in text and "from activation_lab" not in text
    assert "Formula: x*tanh(exp(x))" in text and "Fernandez & Mali" in text
    done = _run_isolated(out, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "telu: self-test passed" in done.stdout


def test_user_formula_with_parameter_file(tmp_path, capsys):
    """A formula with --param, printed to stdout (no --out), then run as a file."""
    assert main(["export", "x*sigmoid(b*x)", "--param", "b=1.702", "--to", "numpy"]) == 0
    text = capsys.readouterr().out
    assert "Parameters: b = 1.702" in text
    path = tmp_path / "quick_gelu_like.py"
    path.write_text(text, encoding="utf-8")
    done = _run_isolated(path, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]


def test_file_computes_what_the_library_computes(tmp_path):
    """The torch file's function and torch_function give the same bits (the same printed text),
    f and f′ through autograd, at float32 points from −1000 to 1000 and ±inf."""
    torch = pytest.importorskip("torch")
    from activation_lab.export import module_source, torch_function

    path = tmp_path / "gelu_torch.py"
    path.write_text(module_source("gelu", "torch"), encoding="utf-8")
    module = runpy.run_path(str(path))
    x = torch.tensor(np.concatenate([np.linspace(-1000, 1000, 4001), [np.inf, -np.inf]]), dtype=torch.float32)
    for fn in (module["gelu"], torch_function("gelu")):
        xg = x.clone().requires_grad_(True)
        y = fn(xg)
        (g,) = torch.autograd.grad(y.sum(), xg)
        if fn is module["gelu"]:
            want = (y, g)
    assert torch.equal(want[0], y) and torch.equal(want[1], g)


def test_unwritable_out_and_unknown_name(tmp_path, capsys):
    assert main(["export", "tehlu", "--to", "torch"]) == 2
    assert "unknown activation 'tehlu'" in capsys.readouterr().err
    assert main(["export", "telu", "--to", "numpy", "--out", str(tmp_path / "missing" / "x.py")]) == 2
