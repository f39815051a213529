"""PyTorch (torch.nn.functional): every element-wise activation, as PyTorch's documentation
writes it with its defaults, against ``al.get("torch:NAME")`` (tests/_frameworks.py)."""

import mpmath

from activation_lab.catalog import NOT_ELEMENTWISE

from ._frameworks import SELU_ALPHA, SELU_SCALE, check_framework, clip, phi, relu6, sig, softplus, where

SCALE = SELU_SCALE     # torch.nn.SELU's documented constants
ALPHA = SELU_ALPHA



#: f'(x) at the test points that are kinks (x = 0; softplus: its threshold 20), PyTorch's autograd
#: (threshold_backward: x > 0; leaky_relu, prelu, rrelu: the slope; elu_backward: the x <= 0 side)
AT_KINKS = {
    "relu": {0.0: 0},
    "relu6": {0.0: 0},
    "leaky_relu": {0.0: "0.01"},
    "prelu": {0.0: "0.25"},
    "rrelu": {0.0: mpmath.mpf(11) / 48},
    "selu": {0.0: SCALE * ALPHA},
    "softplus": {20.0: sig(mpmath.mpf(20))},
}


REFS = {
    # threshold(input, threshold, value): no defaults; the catalogue's theta = 1, value = 0
    "threshold": lambda t: where(t > 1, t, 0 * t),
    "relu": lambda t: max(t, 0),
    "relu6": relu6,
    "hardtanh": lambda t: clip(t, -1, 1),
    "hardswish": lambda t: t * relu6(t + 3) / 6,
    "elu": lambda t: where(t > 0, t, mpmath.expm1(t)),
    "selu": lambda t: SCALE * (max(0, t) + min(0, ALPHA * mpmath.expm1(t))),
    "celu": lambda t: max(0, t) + min(0, mpmath.expm1(t)),
    "leaky_relu": lambda t: max(0, t) + mpmath.mpf("0.01") * min(0, t),
    "prelu": lambda t: max(0, t) + mpmath.mpf("0.25") * min(0, t),       # nn.PReLU's initial weight
    "rrelu": lambda t: where(t >= 0, t, (mpmath.mpf(1) / 8 + mpmath.mpf(1) / 3) / 2 * t),   # eval mode
    "gelu": lambda t: t * phi(t),                                        # x·Φ(x)
    "logsigmoid": lambda t: mpmath.log(sig(t)),
    "hardshrink": lambda t: where(abs(t) > mpmath.mpf("0.5"), t, 0 * t),
    "tanhshrink": lambda t: t - mpmath.tanh(t),
    "softsign": lambda t: t / (1 + abs(t)),
    # softplus(beta=1, threshold=20): "reverts to the linear function when input*beta > threshold"
    "softplus": lambda t: where(t > 20, t, softplus(t)),
    "softshrink": lambda t: where(t > mpmath.mpf("0.5"), t - mpmath.mpf("0.5"),
                                  where(t < -mpmath.mpf("0.5"), t + mpmath.mpf("0.5"), 0 * t)),
    "tanh": mpmath.tanh,
    "sigmoid": sig,
    "hardsigmoid": lambda t: relu6(t + 3) / 6,
    "silu": lambda t: t * sig(t),
    "mish": lambda t: t * mpmath.tanh(softplus(t)),
}

#: torch.nn.functional's non-linear activations (its documentation's list), element-wise ones
EXPORTS = {"threshold", "relu", "hardtanh", "hardswish", "relu6", "elu", "selu", "celu", "leaky_relu", "prelu",
           "rrelu", "glu", "gelu", "logsigmoid", "hardshrink", "tanhshrink", "softsign", "softplus", "softmin",
           "softmax", "softshrink", "gumbel_softmax", "log_softmax", "tanh", "sigmoid", "hardsigmoid", "silu",
           "mish"}


def test_every_torch_activation_against_its_documented_formula():
    check_framework("torch", REFS, EXPORTS - set(NOT_ELEMENTWISE), AT_KINKS)


def test_non_elementwise_ones_are_listed_as_out_of_scope():
    assert {"glu", "softmin", "softmax", "gumbel_softmax", "log_softmax"} <= set(NOT_ELEMENTWISE)
