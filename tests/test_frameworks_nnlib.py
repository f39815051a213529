"""NNlib.jl (Flux): every element-wise activation, as NNlib's docstrings write it with its
defaults, against ``al.get("nnlib:NAME")`` (tests/_frameworks.py)."""

import mpmath

from ._frameworks import SELU_ALPHA, SELU_SCALE, check_framework, clip, gelu_tanh, log_cosh, phi, sig, softplus, where

SCALE = SELU_SCALE
ALPHA = SELU_ALPHA
HALF = mpmath.mpf("0.5")


def hard_sigma(t):
    return max(0, min(1, (t + 3) / 6))


#: f'(0) at kinks, NNlib's rules
#: (relu: x > 0; leakyrelu: ifelse(x > 0, ..); deriv_selu: Ω > 0)
AT_KINKS = {
    "relu": {0.0: 0},
    "relu6": {0.0: 0},
    "leakyrelu": {0.0: "0.01"},
    "rrelu": {0.0: mpmath.mpf(11) / 48},
    "selu": {0.0: SCALE * ALPHA},
}


REFS = {
    "σ": sig, "sigmoid": sig, "sigmoid_fast": sig,
    "hardσ": hard_sigma, "hardsigmoid": hard_sigma,
    "logσ": lambda t: -softplus(-t), "logsigmoid": lambda t: -softplus(-t),
    "hardtanh": lambda t: clip(t, -1, 1),
    "relu": lambda t: max(0, t),
    "leakyrelu": lambda t: max(mpmath.mpf("0.01") * t, t),              # a = 0.01
    "relu6": lambda t: min(max(0, t), 6),
    "rrelu": lambda t: max((mpmath.mpf(1) / 8 + mpmath.mpf(1) / 3) / 2 * t, t),   # the slope's mean
    "elu": lambda t: where(t > 0, t, mpmath.expm1(t)),
    "gelu": gelu_tanh, "gelu_tanh": gelu_tanh,
    "gelu_erf": lambda t: t * phi(t),
    "swish": lambda t: t * sig(t),
    "hardswish": lambda t: t * hard_sigma(t),
    "lisht": lambda t: t * mpmath.tanh(t),
    "selu": lambda t: SCALE * where(t >= 0, t, ALPHA * mpmath.expm1(t)),
    "celu": lambda t: where(t >= 0, t, mpmath.expm1(t)),
    "trelu": lambda t: where(t > 1, t, 0 * t), "thresholdrelu": lambda t: where(t > 1, t, 0 * t),   # θ = 1
    "softsign": lambda t: t / (1 + abs(t)),
    "softplus": softplus,
    "logcosh": log_cosh,
    "mish": lambda t: t * mpmath.tanh(softplus(t)),
    "tanhshrink": lambda t: t - mpmath.tanh(t),
    "softshrink": lambda t: where(t >= HALF, t - HALF, where(-HALF >= t, t + HALF, 0 * t)),
    "tanh_fast": mpmath.tanh,
}

#: NNlib's ACTIVATIONS list and its exported aliases (src/activations.jl), plus gelu_tanh/gelu_erf
EXPORTS = {"σ", "hardσ", "hardtanh", "relu", "leakyrelu", "relu6", "rrelu", "elu", "gelu", "gelu_tanh", "gelu_erf",
           "swish", "hardswish", "selu", "celu", "softplus", "softsign", "logσ", "logcosh", "mish", "tanhshrink",
           "softshrink", "trelu", "lisht", "tanh_fast", "sigmoid_fast", "sigmoid", "hardsigmoid", "logsigmoid",
           "thresholdrelu"}


def test_every_nnlib_activation_against_its_documented_formula():
    check_framework("nnlib", REFS, EXPORTS, AT_KINKS)


def test_nnlib_gelu_is_the_tanh_form():
    import activation_lab as al

    assert al.get("nnlib:gelu").name == "gelu_tanh" and al.get("nnlib:gelu_erf").name == "gelu"
