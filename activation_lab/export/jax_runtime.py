"""JAX wiring of an exported activation: ``jax.custom_jvp`` functions over printed programs.

Imported by :func:`activation_lab.export.jax_function` only (importing activation_lab never
imports jax), and copied, from the marker line on, into the standalone files that
``activation-lab export --to jax`` writes.

``programs(orders)`` gives a function of x (in the working dtype) returning f⁽ⁿ⁾ for each n of
``orders`` (its keyword ``f32``: the results are float32 or narrower, which lets the printed tanh
and sech take cheaper forms).  Every format computes in float64 where 64-bit types are enabled
(``jax_enable_x64``), else in float32; results are rounded once to x's dtype.  Each
order f⁽ᵏ⁾ is a custom_jvp function whose tangent is f⁽ᵏ⁺¹⁾ from its own stable program, computed
with f⁽ᵏ⁾; so ``grad``, ``grad(grad(...))``, ``jit`` and ``vmap`` all see the stable forms, never
autodiff of them.

Every evaluation is a ``jax.jit`` function (compiled once per shape, dtype and x64 setting): called
eagerly, the program runs as one compiled call instead of dispatching each of its operations
(TeLU f + f' at 10^7 float32: 3.7x the time of eager autodiff of the naive formula before, 0.45x
now); under an outer ``jit`` it is inlined.  Eager and jitted results have the same bits (tested).
"""

# --- runtime: the text below is copied into standalone files ---
import functools

import jax
import jax.numpy as jnp


def work_dtype(dtype):
    """float64 where 64-bit types are enabled (jax_enable_x64), else float32.  (XLA on CPU flushes
    float32 subnormals to zero, intermediates included: bfloat16's smallest normal results need
    float64 underneath, and float16 near the roots of f' needs more than float32's tanh.)"""
    if dtype not in (jnp.float16, jnp.bfloat16, jnp.float32, jnp.float64):
        raise TypeError(f"expected a floating-point array (float16, bfloat16, float32 or float64), got {dtype}; "
                        "convert it first, e.g. x.astype(jnp.float32)")
    return jnp.float64 if jax.dtypes.canonicalize_dtype(jnp.float64) == jnp.float64 else jnp.float32


def patch_nan(x, y, guarded):
    """y where it is a number, the guarded program (inf*0 = 0) where y is nan at a number x."""
    return jnp.where(jnp.isnan(y) & ~jnp.isnan(x), guarded(x), y)


def plain_path(x):
    """Never: the guarded program (its guards fuse under jit; there is no cheap check first)."""
    return False


def finish(x, ys, fix, zeros):
    """The fix-ups of a printed program (limits at +-inf, nan for nan, the guarded program, signed
    zeros), always: under jit they fuse with the program."""
    return fix(x, *ys)


def make_function(programs, name="activation"):
    """The exported activation: a ``jax.custom_jvp`` function of one array."""

    @functools.partial(jax.jit, static_argnums=0)
    def evaluate(orders, x):
        """f^(k)(x) for each k of ``orders``, jitted (eager calls run one compiled program)."""
        x = jnp.asarray(x)
        xw = x.astype(work_dtype(x.dtype))
        ys = []
        for i, k in enumerate(orders):
            # each order from its own program, the later ones on an x that XLA cannot see is the
            # same (an optimization barrier): else XLA's CPU backend, which does not fuse one
            # expensive value into two loops, writes the values the orders share (exp(x) and
            # tanh(exp(x)) in TeLU) to memory and reads them back, four passes instead of two
            (y,) = programs((k,))(xw if i == 0 else jax.lax.optimization_barrier(xw),
                                  f32=x.dtype != jnp.float64)
            ys.append(jnp.broadcast_to(y, x.shape).astype(x.dtype))
        return tuple(ys)

    @functools.cache
    def order(k):
        @jax.custom_jvp
        def fk(x):
            return evaluate((k,), x)[0]

        @fk.defjvp
        def fk_jvp(primals, tangents):
            (x,), (t,) = primals, tangents
            y, dy = pair(k)(x)
            return y, dy * t

        return fk

    @functools.cache
    def pair(k):
        @jax.custom_jvp
        def fk_and_next(x):
            return evaluate((k, k + 1), x)

        @fk_and_next.defjvp
        def fk_and_next_jvp(primals, tangents):
            (x,), (t,) = primals, tangents
            a, b = pair(k)(x)
            _, c = pair(k + 1)(x)
            return (a, b), (b * t, c * t)

        return fk_and_next

    activation = order(0)

    def derivative(x, n=1):
        """f^(n)(x) as a custom_jvp function of x (differentiable through f^(n+1))."""
        return order(n)(x)

    activation.__name__ = activation.__qualname__ = name
    activation.derivative = derivative
    return activation
