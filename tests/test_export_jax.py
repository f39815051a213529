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


def _forward_backward(fn):
    """y and x's cotangent through jax.vjp, with a cotangent given as an argument."""
    def step(x, cotangent):
        y, pullback = jax.vjp(fn, x)
        return y, pullback(cotangent)[0]

    return step


@pytest.mark.parametrize("x64", [False, True])
@pytest.mark.parametrize("name", ["telu", "mish", "gelu", "elu"])
def test_eager_and_jit_give_the_same_bits(name, x64):
    """Called without jit, the export runs its jitted programs: f, f' (grad), f'' (grad of grad)
    and a vjp with a random cotangent have exactly the bits of the same call under jax.jit, the
    signs of zeros and nan included, in float32 and float16 (and float64 with x64), at special
    points and across the range."""
    import contextlib

    rng = np.random.default_rng(17)
    special = [-math.inf, -1e30, -1000.0, -100.0, -88.8, -20.0, -1.0, -1e-3, -0.0, 0.0, 1e-3, 1.0, 20.0, 88.8, 100.0,
               1000.0, 1e30, math.inf, math.nan]
    base = np.concatenate([special, np.linspace(-50, 50, 2001), rng.standard_normal(2000) * 5])
    with _x64() if x64 else contextlib.nullcontext():
        fn = jax_function(name)
        d1, d2 = jax.vmap(jax.grad(fn)), jax.vmap(jax.grad(jax.grad(fn)))
        step = _forward_backward(fn)
        for dtype in ([np.float16, np.float32, np.float64] if x64 else [np.float16, np.float32]):
            with np.errstate(over="ignore"):
                x = jnp.asarray(base.astype(dtype))
            cotangent = jnp.asarray(rng.standard_normal(base.size).astype(dtype))
            pairs = [(fn(x), jax.jit(fn)(x)), (d1(x), jax.jit(d1)(x)), (d2(x), jax.jit(d2)(x)),
                     *zip(step(x, cotangent), jax.jit(step)(x, cotangent), strict=True)]
            for k, (eager, jitted) in enumerate(pairs):
                a, b = np.asarray(eager), np.asarray(jitted)
                assert a.dtype == b.dtype == dtype, (k, a.dtype, b.dtype)
                width = {2: np.uint16, 4: np.uint32, 8: np.uint64}[a.itemsize]
                same = (a.view(width) == b.view(width)) | (np.isnan(a) & np.isnan(b))
                assert same.all(), (name, dtype, k, base[~same][:5], a[~same][:5], b[~same][:5])


def test_the_x64_setting_is_read_per_call():
    """The jitted programs are compiled per x64 setting: a function first called without 64-bit
    types then computes float32 in float64 inside jax.enable_x64 (within 1 ULP of the exact value
    where float32 arithmetic is not), and in float32 again outside it."""
    from ._agreement import points

    fn = jax_function("telu")
    xs = points(np.float32, 20_000)
    exact = [reference(al.get("telu"), n, xs) for n in (0, 1)]
    tiny = float(np.finfo(np.float32).tiny)

    def worst(n, got):
        err = ulp_error(got, exact[n].ref, exact[n].lo, np.float32)
        with np.errstate(invalid="ignore"):
            err[(got == 0) & ((np.abs(exact[n].ref) < tiny) | (np.abs(xs) < tiny))] = 0.0   # flushed subnormals
        return float(np.nanmax(err))

    x = jnp.asarray(xs)
    before = [np.asarray(fn(x)), np.asarray(jax.vmap(jax.grad(fn))(x))]
    assert max(worst(0, before[0]), worst(1, before[1])) > 1.0   # float32 arithmetic
    with _x64():
        inside = [np.asarray(fn(x)), np.asarray(jax.vmap(jax.grad(fn))(x))]
        assert worst(0, inside[0]) <= 1.0 and worst(1, inside[1]) <= 1.0
    after = [np.asarray(fn(x)), np.asarray(jax.vmap(jax.grad(fn))(x))]
    for a, b in zip(before, after, strict=True):
        assert np.array_equal(a.view(np.uint32), b.view(np.uint32))


@pytest.mark.parametrize("x64", [False, True])
def test_guarded_product_follows_ieee_with_inf_times_zero_zero(x64):
    """The JAX helper _mul_guarded: the IEEE product of its factors, except that a product of
    numbers that is nan (some factor ±inf, another ±0, or an intermediate that overflowed or
    underflowed against one) is a zero signed as the product of the factors' signs; nan where a
    factor is nan.  Expected values from Python floats, factor by factor."""
    import contextlib
    import itertools

    from activation_lab.export.printer import helpers_source

    ns = {"jax": jax, "jnp": jnp}
    exec(helpers_source("jax"), ns)  # noqa: S102 - the printer's own helper text
    values = [0.0, -0.0, math.inf, -math.inf, math.nan, 1.5, -2.0, 1e30, -1e30, 1e-30, -1e-30]

    def expected(factors, dtype):
        if any(math.isnan(f) for f in factors):
            return math.nan
        prod = dtype(factors[0])
        with np.errstate(all="ignore"):
            for f in factors[1:]:
                prod = dtype(prod * dtype(f))   # in the format, so that 1e30*1e30 overflows in float32
        if not math.isnan(prod):
            return float(prod)
        negative = sum(math.copysign(1.0, f) < 0 for f in factors) % 2
        return -0.0 if negative else 0.0

    with _x64() if x64 else contextlib.nullcontext():
        for dtype in ([np.float32, np.float64] if x64 else [np.float32]):
            for k in (2, 3):
                combos = list(itertools.product(values, repeat=k))
                columns = [jnp.asarray(np.array(c, dtype=dtype)) for c in zip(*combos, strict=True)]
                got = np.asarray(jax.jit(ns["_mul_guarded"])(*columns))
                for factors, g in zip(combos, got.tolist(), strict=True):
                    want = expected(factors, dtype)
                    assert (math.isnan(g) and math.isnan(want)) or (
                        g == want and math.copysign(1, g) == math.copysign(1, want)), (factors, g, want)
