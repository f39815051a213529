"""JAX (jax.nn): every element-wise activation, as JAX's documentation writes it with its
defaults, against ``al.get("jax:NAME")`` (tests/_frameworks.py)."""

import mpmath

from activation_lab.catalog import NOT_ELEMENTWISE

from ._frameworks import (
    SELU_ALPHA,
    SELU_SCALE,
    check_framework,
    clip,
    gelu_tanh,
    hard_silu,
    relu6,
    sig,
    softplus,
    where,
)

SCALE = SELU_SCALE
ALPHA = SELU_ALPHA




#: f'(0) at kinks, JAX's autodiff
#: (relu/relu6 custom JVPs: 0; leaky_relu: where(x >= 0, ..): 1; elu: where(x > 0, ..))
AT_KINKS = {
    "relu": {0.0: 0},
    "relu6": {0.0: 0},
    "leaky_relu": {0.0: 1},
    "selu": {0.0: SCALE * ALPHA},
}


REFS = {
    "celu": lambda t: max(t, 0) + min(0, mpmath.expm1(t)),
    "elu": lambda t: where(t > 0, t, mpmath.expm1(t)),
    # approximate=True by default: the tanh form
    "gelu": gelu_tanh,
    "hard_sigmoid": lambda t: relu6(t + 3) / 6,
    "hard_silu": hard_silu,
    "hard_swish": hard_silu,
    "hard_tanh": lambda t: where(t > 1, mpmath.mpf(1), where(t < -1, mpmath.mpf(-1), t)),
    "leaky_relu": lambda t: where(t >= 0, t, mpmath.mpf("0.01") * t),
    "log_sigmoid": lambda t: -softplus(-t),
    "mish": lambda t: t * mpmath.tanh(softplus(t)),
    "relu": lambda t: max(t, 0),
    "relu6": relu6,
    "selu": lambda t: SCALE * where(t > 0, t, ALPHA * mpmath.expm1(t)),
    "sigmoid": sig,
    "silu": lambda t: t * sig(t),
    "swish": lambda t: t * sig(t),
    "soft_sign": lambda t: t / (abs(t) + 1),
    "softplus": softplus,
    "sparse_plus": lambda t: where(t <= -1, 0 * t, where(t >= 1, t, (t + 1) ** 2 / 4)),
    "sparse_sigmoid": lambda t: clip(t + 1, 0, 2) / 2,
    "squareplus": lambda t: (t + mpmath.sqrt(t**2 + 4)) / 2,             # b = 4
    "identity": lambda t: t,
}

#: jax.nn's activation functions (its documentation's list)
EXPORTS = {"relu", "relu6", "sigmoid", "softplus", "sparse_plus", "sparse_sigmoid", "soft_sign", "silu", "swish",
           "log_sigmoid", "leaky_relu", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "elu", "celu", "selu",
           "gelu", "glu", "squareplus", "mish", "identity", "softmax", "log_softmax", "logsumexp", "standardize",
           "one_hot"}


def test_every_jax_activation_against_its_documented_formula():
    check_framework("jax", REFS, EXPORTS - set(NOT_ELEMENTWISE), AT_KINKS)


def test_jax_gelu_is_the_tanh_form():
    import activation_lab as al

    assert al.get("jax:gelu").name == "gelu_tanh"
