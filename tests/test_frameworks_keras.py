"""Keras 3 (keras.activations): every element-wise activation, as Keras's documentation writes
it with its defaults, against ``al.get("keras:NAME")`` (tests/_frameworks.py)."""

import mpmath

from activation_lab.catalog import NOT_ELEMENTWISE

from ._frameworks import SELU_ALPHA, SELU_SCALE, check_framework, clip, hard_silu, phi, relu6, sig, softplus, where

SCALE = SELU_SCALE
ALPHA = SELU_ALPHA
HALF = mpmath.mpf("0.5")




#: f'(0) at kinks: backend-dependent in Keras; the TensorFlow backend's (ReluGrad: x > 0; LeakyReluGrad: x > 0)
AT_KINKS = {
    "relu": {0.0: 0},
    "relu6": {0.0: 0},
    "leaky_relu": {0.0: "0.2"},
    "selu": {0.0: SCALE * ALPHA},
}


REFS = {
    "celu": lambda t: max(t, 0) + min(0, mpmath.expm1(t)),
    "elu": lambda t: where(t > 0, t, mpmath.expm1(t)),
    "exponential": mpmath.exp,
    "gelu": lambda t: t * phi(t),                                             # approximate=False
    "hard_shrink": lambda t: where(abs(t) > HALF, t, 0 * t),                 # threshold=0.5
    "hard_sigmoid": lambda t: relu6(t + 3) / 6,
    "hard_silu": hard_silu,
    "hard_swish": hard_silu,
    "hard_tanh": lambda t: clip(t, -1, 1),
    "leaky_relu": lambda t: where(t > 0, t, mpmath.mpf("0.2") * t),          # negative_slope=0.2
    "linear": lambda t: t,
    "log_sigmoid": lambda t: mpmath.log(sig(t)),
    "mish": lambda t: t * mpmath.tanh(softplus(t)),
    "relu": lambda t: max(t, 0),
    "relu6": relu6,
    "selu": lambda t: SCALE * where(t > 0, t, ALPHA * mpmath.expm1(t)),
    "sigmoid": sig,
    "silu": lambda t: t * sig(t),
    "swish": lambda t: t * sig(t),
    "soft_shrink": lambda t: where(t > HALF, t - HALF, where(t < -HALF, t + HALF, 0 * t)),
    "softplus": softplus,
    "softsign": lambda t: t / (abs(t) + 1),
    "sparse_plus": lambda t: where(t <= -1, 0 * t, where(t >= 1, t, (t + 1) ** 2 / 4)),
    "sparse_sigmoid": lambda t: where(t <= -1, 0 * t, where(t >= 1, mpmath.mpf(1), (t + 1) / 2)),
    "squareplus": lambda t: (t + mpmath.sqrt(t**2 + 4)) / 2,               # b=4
    "tanh": mpmath.tanh,
    "tanh_shrink": lambda t: t - mpmath.tanh(t),
    # threshold(x, threshold, default_value): no defaults; the catalogue's theta = 1, value = 0
    "threshold": lambda t: where(t > 1, t, 0 * t),
}

#: keras.activations' functions (its documentation's list)
EXPORTS = {"celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish",
           "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish", "relu", "relu6", "selu",
           "sigmoid", "silu", "swish", "soft_shrink", "softmax", "softplus", "softsign", "sparse_plus",
           "sparse_sigmoid", "sparsemax", "squareplus", "tanh", "tanh_shrink", "threshold"}


def test_every_keras_activation_against_its_documented_formula():
    check_framework("keras", REFS, EXPORTS - set(NOT_ELEMENTWISE), AT_KINKS)


def test_keras_leaky_relu_slope_is_0_2():
    import activation_lab as al

    assert al.get("keras:leaky_relu").params == {"alpha": 0.2}
    assert al.get("torch:leaky_relu").params == {"alpha": 0.01}
