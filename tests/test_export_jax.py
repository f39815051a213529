"""activation_lab.export for JAX: jax.custom_jvp functions under jit, vmap, grad and grad(grad),
in float16, bfloat16, float32 and float64, against mpmath (activation_lab.analysis.accuracy:
ULP errors against mpmath at 128 bits, the κ-aware target T·max(1, κ), T = 4 for f and f′, 16 for f″).

64-bit types are enabled only inside these tests (jax.enable_x64), never on import."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

import activation_lab as al
from activation_lab.analysis.accuracy import accuracy
from activation_lab.analysis.exhaustive import reference
from activation_lab.analysis.ulp import ulp_error

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

from activation_lab.export import jax_function  # noqa: E402

NAMES = ["telu", "gelu", "mish", "silu", "softplus", "elu", "serf", "logcosh", "squareplus"]


def _x64():
    return jax.enable_x64(True)


def _orders(fn):
    """f, f′ and f″ as JAX transforms of the exported function: jit(f), jit(vmap(grad(f))),
    vmap(grad(grad(f)))."""
    return (jax.jit(fn), jax.jit(jax.vmap(jax.grad(fn))), jax.vmap(jax.grad(jax.grad(fn))))


POINTS = np.concatenate([np.linspace(-40, 40, 161) + 0.013, [-1000.0, -700.0, -100.0, 100.0, 700.0, 1000.0]])


@pytest.mark.parametrize("name", NAMES)
def test_grad_and_second_derivative_float64_vs_mpmath(name):
    """jit(f), jit(vmap(grad(f))) and vmap(grad(grad(f))) in float64 within twice the κ-aware
    accuracy target against mpmath (see below), with no nan or inf where the exact value is finite."""
    with _x64():
        fns = _orders(jax_function(name))
        for n, fn in enumerate(fns):
            # XLA on CPU flushes subnormals to zero: where the exact value is a float64 subnormal
            # (GELU(-38) = -1.8e-314) the result is a zero or as tiny; everywhere else the target holds
            exact = al.get(name).evaluate(POINTS, n)
            sub = np.abs(exact) < np.finfo(np.float64).tiny
            got = np.asarray(fn(jnp.asarray(POINTS)))
            assert np.all(np.abs(got[sub]) < np.finfo(np.float64).tiny)
            report = accuracy(name, n, "float64", points=POINTS[~sub],
                              implementation=lambda a, fn=fn: np.asarray(fn(jnp.asarray(a))))
            # XLA's float64 elementary functions are less accurate than glibc's (cosh, exp of large
            # arguments; its tanh is 6.5 ULP off near ±1, which the table spells through expm1):
            # twice the project's target, at most KEEP points over it
            assert report.n_special_mismatches == 0, str(report)
            assert report.n_failures == len(report.failures), str(report)
            assert all(case.ulp <= 2 * case.allowed for case in report.failures), str(report)


def test_user_formula_with_parameter():
    """A formula in x with a parameter: f, f′, f″ through grad against mpmath closed forms."""
    fn = jax_function("x*tanh(a*exp(x))", a=0.5)
    with _x64():
        f, d1, d2 = _orders(fn)
        x = jnp.asarray([-30.0, -2.0, 0.4, 3.0, 30.0])
        with mpmath.workdps(40):
            def exact(v, n):
                return mpmath.diff(lambda t: t * mpmath.tanh(mpmath.mpf("0.5") * mpmath.exp(t)), v, n)

            for order, got in enumerate((f(x), d1(x), d2(x))):
                for v, g in zip(x.tolist(), np.asarray(got).tolist(), strict=True):
                    want = float(exact(mpmath.mpf(v), order))
                    assert abs(g - want) <= 1e-13 * abs(want) + 1e-300, (order, v, g, want)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
@pytest.mark.parametrize("name", ["telu", "gelu", "mish"])
def test_low_precision_within_one_ulp(name, dtype):
    """f and f′ (through grad) in float16, bfloat16 and float32 within 1 ULP of the exact value
    (mpmath-confirmed float64 reference, activation_lab.analysis.exhaustive.reference), over all
    65,536 inputs for the 16-bit formats and 2·10⁴ points for float32 (64-bit types on, so all
    compute in float64).  XLA on CPU flushes subnormals to zero (inputs and results): where the
    input or the exact result is subnormal in the format, a zero of the exact value's sign is accepted."""
    import ml_dtypes

    np_dtype = {"float16": np.float16, "bfloat16": ml_dtypes.bfloat16, "float32": np.float32}[dtype]
    if dtype == "float32":
        from ._agreement import points

        xs = points(np.float32, 20_000)
    else:
        xs = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np_dtype)
    tiny = float(ml_dtypes.finfo(np_dtype).smallest_normal)
    with _x64():
        fn = jax_function(name)
        grad = jax.jit(jax.vmap(jax.grad(fn)))
        x = jnp.asarray(xs)
        for n, got in enumerate((np.asarray(jax.jit(fn)(x)), np.asarray(grad(x)))):
            assert got.dtype == np_dtype
            exact = reference(al.get(name), n, xs)
            err = ulp_error(got, exact.ref, exact.lo, np_dtype)
            with np.errstate(invalid="ignore"):
                flushed = (got == 0) & ((np.abs(exact.ref) < tiny) | (np.abs(xs.astype(np.float64)) < tiny))
            err[flushed] = 0.0
            worst = int(np.nanargmax(err))
            assert err[worst] <= 1.0, (name, dtype, n, float(xs[worst]), float(got[worst]), exact.ref[worst])


def test_float32_without_x64_is_float32_arithmetic():
    """Without 64-bit types JAX has no float64: float32 computes in float32 (documented; the
    stable forms still give no nan and errors under 8 ULP for TeLU where the result is normal)."""
    fn = jax_function("telu")
    x = np.linspace(-80, 80, 4001, dtype=np.float32)
    got = np.asarray(jax.jit(fn)(jnp.asarray(x)))
    assert got.dtype == np.float32 and not np.isnan(got).any()
    exact = reference(al.get("telu"), 0, x)
    err = ulp_error(got, exact.ref, exact.lo, np.float32)
    normal = np.abs(exact.ref) >= float(np.finfo(np.float32).tiny)
    assert np.max(err[normal]) <= 8.0


def test_infinities_and_tails_float64():
    """At ±inf the limits, in the tails no nan (the naive autodiff of x·tanh(eˣ) gives nan past 709)."""
    with _x64():
        f, d1, d2 = _orders(jax_function("telu"))
        x = jnp.asarray([-math.inf, -1000.0, 710.0, 1000.0, math.inf])
        y, g, h = (np.asarray(v) for v in (f(x), d1(x), d2(x)))
        assert y[4] == math.inf and y[0] == 0 and np.signbit(y[0])
        assert g.tolist()[2:] == [1.0, 1.0, 1.0] and g[0] == 0
        assert not np.isnan(h).any()


def test_no_global_state_and_errors():
    """Importing and exporting leaves jax_enable_x64 as it was; integer arrays are refused."""
    before = jax.config.jax_enable_x64
    fn = jax_function("gelu")
    assert jax.config.jax_enable_x64 == before
    with pytest.raises(TypeError, match="int32"):
        fn(jnp.asarray([1, 2], dtype=jnp.int32))
