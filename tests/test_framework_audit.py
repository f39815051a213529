"""The framework audit (issue 17): PyTorch and JAX measured in float16, bfloat16 and float32.

Expected values come from mpmath (conftest.mp_telu at 200 bits) and from the overflow edge of
each format's exp computed with mpmath, never from the audit itself.
"""

from __future__ import annotations

import json
import math
import re

import ml_dtypes
import mpmath
import numpy as np
import pytest

from activation_lab.analysis.framework_audit import (
    AUDIT_FRAMEWORKS,
    audited_names,
    builtin_name,
    framework_audit,
    framework_function,
)
from activation_lab.frameworks import NAMES
from activation_lab.present.cli import main

from .conftest import mp_telu

BF16 = np.dtype(ml_dtypes.bfloat16)


def test_audited_names_are_telu_and_what_both_frameworks_ship():
    names = audited_names()
    assert names[0] == "telu"
    shipped = {fw: {r.entry for r in NAMES if r.framework == fw} for fw in AUDIT_FRAMEWORKS}
    for name in names[1:]:
        assert all(builtin_name(fw, name) is not None for fw in AUDIT_FRAMEWORKS), name
    # every entry in both frameworks' tables is audited (GELU's two forms through keyword arguments)
    assert (shipped["torch"] & shipped["jax"]) <= set(names)
    assert {"gelu", "gelu_tanh", "mish", "silu", "softplus"} <= set(names)
    assert builtin_name("jax", "gelu") == ("gelu", {"approximate": False}, "gelu")
    assert builtin_name("torch", "gelu_tanh") == ("gelu", {"approximate": "tanh"}, "gelu_tanh")
    assert builtin_name("torch", "telu") is None and builtin_name("jax", "telu") is None


def _first_overflow(dtype, largest: float, margin: float = 1e-5) -> float:
    """The smallest x of ``dtype`` with e^x ≥ largest + ulp/2, where exp rounds to inf (mpmath)."""
    with mpmath.workprec(200):
        edge = mpmath.log(mpmath.mpf(largest) + (mpmath.mpf(largest) - mpmath.mpf(float(
            np.nextafter(np.array(largest, dtype), np.array(0, dtype)))))/2)
        x = np.array(float(edge), dtype=dtype)
        while mpmath.mpf(float(x)) < edge:
            x = np.nextafter(x, np.array(np.inf, dtype))
        below = np.nextafter(x, np.array(-np.inf, dtype))
        assert mpmath.mpf(float(below)) < edge
        # far enough from the edge (|Δx| is e^x's relative distance from it) that exp, good to an ULP
        # or two of float32 (in which torch computes 16-bit exp too), cannot land on the other side
        assert abs(mpmath.mpf(float(x)) - edge) > margin and abs(mpmath.mpf(float(below)) - edge) > margin
    return float(x)


@pytest.mark.parametrize("dtype,largest", [("float16", 65504.0), ("bfloat16", float.fromhex("0x1.fep127"))])
def test_naive_telu_gradient_goes_nan_where_exp_overflows(dtype, largest):
    audit = framework_audit(["torch"], ["telu"], [dtype], [1], kinds=["naive"])
    (row,) = audit.rows
    dt = np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)
    assert row.first_nan == _first_overflow(dt, largest)
    assert not row.passed and row.exhaustive and row.points == 2**16


def test_naive_telu_float32_gradient_nan_past_88():
    audit = framework_audit(["torch"], ["telu"], ["float32"], [1], kinds=["naive"])
    (row,) = audit.rows
    # 2^-22: two ULPs of float32's e^x near the edge
    assert _first_overflow(np.dtype(np.float32), float(np.finfo(np.float32).max), 2.0**-22) == row.first_nan
    assert 88.7 < row.first_nan < 88.8


def _ulps16(got: np.ndarray, exact: list, p: int, emin: int) -> np.ndarray:
    """|got − exact| / 2^(max(⌊log₂|exact|⌋, emin) − p + 1), with mpmath."""
    out = []
    with mpmath.workprec(200):
        for g, v in zip(got.astype(np.float64), exact, strict=True):
            if not math.isfinite(g):
                out.append(math.inf)
                continue
            e = emin if v == 0 else max(int(mpmath.floor(mpmath.log(abs(v), 2))), emin)
            out.append(float(abs(mpmath.mpf(float(g)) - v) / mpmath.mpf(2) ** (e - p + 1)))
    return np.array(out)


def test_audit_statistics_against_mpmath():
    """Worst and median ULP of the naive TeLU in torch float16, f and f', over every finite input."""
    import torch

    audit = framework_audit(["torch"], ["telu"], ["float16"], [0, 1], kinds=["naive"])
    x = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    x = x[np.isfinite(x)]
    f, df = mp_telu(x.astype(np.float64))
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    y = xt * torch.tanh(torch.exp(xt))
    (g,) = torch.autograd.grad(y, xt, torch.ones_like(y))
    for row, got, exact in ((audit.rows[0], y.detach().numpy(), f), (audit.rows[1], g.numpy(), df)):
        err = _ulps16(got, exact, 11, -14)
        finite = np.isfinite(err)
        assert row.n == (0 if exact is f else 1)
        assert row.worst_ulp == pytest.approx(err[finite].max(), rel=1e-6)
        assert row.median_ulp == pytest.approx(np.median(err), rel=1e-6, abs=1e-9)
        assert row.n_failures >= np.count_nonzero(~finite) and not row.passed


def test_torch_bfloat16_round_trip_keeps_every_bit_pattern():
    from activation_lab.analysis.framework_audit import _torch_runner

    x = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(BF16)
    before = x.copy()
    y = _torch_runner(lambda t: t, 0)(x)
    assert y.dtype == BF16 and np.array_equal(y.view(np.uint16), before.view(np.uint16))
    assert np.array_equal(x.view(np.uint16), before.view(np.uint16))


def test_builtin_functions_are_the_frameworks_own():
    import jax
    import torch

    import activation_lab as al

    assert framework_function("torch", "builtin", al.get("mish")) is torch.nn.functional.mish
    assert framework_function("jax", "builtin", al.get("silu")) is jax.nn.silu
    assert framework_function("torch", "builtin", al.get("telu")) is None


def test_cli_writes_the_stamped_table(tmp_path, capsys):
    table = tmp_path / "audit.md"
    assert main(["check", "telu", "mish", "--implementation", "torch,jax", "--dtype", "bfloat16",
                 "--table", str(table), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "torch.nn.functional.mish (builtin)" in out and "jax.nn.mish (builtin)" in out
    text = table.read_text()
    import torch

    assert text.startswith("# Framework audit")
    assert re.search(r"\*\*Generated\*\* \d{4}-\d\d-\d\d \d\d:\d\d UTC by `activation-lab check", text)
    assert f"torch {torch.__version__}" in text and "**Machine**" in text and "cores" in text
    assert "## telu" in text and "## mish" in text
    assert "| torch: formula + autograd | bfloat16 |" in text


def test_cli_json(capsys):
    assert main(["check", "relu", "--implementation", "jax", "--dtype", "float16", "--order", "0", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    kinds = {(r["framework"], r["kind"]) for r in data["rows"]}
    assert ("jax", "builtin") in kinds and ("jax", "naive") in kinds
    assert all(r["dtype"] == "float16" and r["n"] == 0 for r in data["rows"])


@pytest.mark.parametrize("argv,message", [
    (["check", "telu", "--table", "x.md"], "--implementation"),
    (["check", "telu", "--implementation", "tensorflow"], "choose torch and/or jax"),
    (["check", "telu", "--implementation", "torch", "--exhaustive"], "leave out --exhaustive"),
    (["check", "telu", "--implementation", "torch", "--dtype", "float64"], "float16, bfloat16, float32"),
    (["check", "telu", "--implementation", "torch", "--order", "2"], "orders 0 and 1"),
])
def test_cli_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_jax_export_under_x64_leaves_the_setting_alone():
    import jax

    before = jax.config.jax_enable_x64
    audit = framework_audit(["jax"], ["telu"], ["float32"], [0], kinds=["export-x64"])
    (row,) = audit.rows
    assert jax.config.jax_enable_x64 == before
    assert row.kind == "export-x64" and row.function.endswith("(x64)") and not row.error
    # computed in float64: within an ULP wherever no subnormal goes in or comes out
    assert row.worst_normal_ulp <= 1.0
    assert framework_function("torch", "export-x64", __import__("activation_lab").get("telu")) is None
