"""The frameworks' names for the catalogue's activations, as plain data.

For PyTorch (``torch.nn.functional``), JAX (``jax.nn``), Keras 3 (``keras.activations``) and
NNlib.jl (Flux): each element-wise activation the framework exports, the catalogue entry it is,
the catalogue parameter values its defaults give, its own signature as its documentation
writes it, and, where its derivative at a kink differs from the catalogue's (PyTorch's
autograd), the formula that gives the framework's value there.  ``get("jax:gelu")`` resolves
through this table (:func:`lookup`).  No SymPy here (bottom layer, beside :mod:`catalog`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

__all__ = ["FrameworkName", "FRAMEWORKS", "NAMES", "lookup", "for_entry", "close_names", "split"]

#: prefix -> the framework and the module its activations live in
FRAMEWORKS: dict[str, str] = {
    "torch": "PyTorch, torch.nn.functional",
    "jax": "JAX, jax.nn",
    "keras": "Keras 3, keras.activations",
    "nnlib": "NNlib.jl (Flux), NNlib",
}


@dataclass(frozen=True)
class FrameworkName:
    """One framework's name for a catalogue entry.

    ``params``: the catalogue parameters (exact decimal text) that the framework's defaults give;
    ``signature``: the framework's call with its defaults, as its documentation writes it;
    ``formula``: where the framework's derivative at a kink differs from the catalogue's, the
    same function written so that its pieces own the kink points as the framework's autodiff
    does (else empty); ``note``: what else differs (approximations, randomness, missing defaults).
    """

    framework: str
    name: str
    entry: str
    signature: str
    params: dict[str, str] = field(default_factory=dict)
    formula: str = ""
    note: str = ""

    @property
    def qualified(self) -> str:
        """``framework:name``, the form :func:`activation_lab.get` accepts."""
        return f"{self.framework}:{self.name}"


def _n(framework: str, name: str, entry: str, signature: str, params: dict[str, str] | None = None,
       formula: str = "", note: str = "") -> FrameworkName:
    return FrameworkName(framework, name, entry, signature, dict(params or {}), formula, note)


_HARD_SWISH_RELU6 = "where(x <= -3, 0, where(x >= 3, x, x*(x + 3)/6))"
_THRESHOLD_NO_DEFAULT = "no defaults in the framework (both arguments required); the catalogue's θ = 1, value = 0"

NAMES: tuple[FrameworkName, ...] = (
    # ------------------------------------------------------------ PyTorch (the catalogue's conventions)
    _n("torch", "threshold", "threshold", "threshold(input, threshold, value)", note=_THRESHOLD_NO_DEFAULT),
    _n("torch", "relu", "relu", "relu(input)"),
    _n("torch", "relu6", "relu6", "relu6(input)"),
    _n("torch", "hardtanh", "hardtanh", "hardtanh(input, min_val=-1.0, max_val=1.0)"),
    _n("torch", "hardswish", "hardswish", "hardswish(input)"),
    _n("torch", "elu", "elu", "elu(input, alpha=1.0)"),
    _n("torch", "selu", "selu", "selu(input)"),
    _n("torch", "celu", "celu", "celu(input, alpha=1.0)"),
    _n("torch", "leaky_relu", "lrelu", "leaky_relu(input, negative_slope=0.01)"),
    _n("torch", "prelu", "prelu", "prelu(input, weight) (nn.PReLU's initial weight 0.25)"),
    _n("torch", "rrelu", "rrelu", "rrelu(input, lower=1/8, upper=1/3, training=False)",
       note="evaluation mode (training=False): slope (lower + upper)/2; training mode samples it"),
    _n("torch", "gelu", "gelu", "gelu(input, approximate='none')",
       note="approximate='tanh' is the catalogue's gelu_tanh"),
    _n("torch", "logsigmoid", "logsigmoid", "logsigmoid(input)"),
    _n("torch", "hardshrink", "hardshrink", "hardshrink(input, lambd=0.5)"),
    _n("torch", "tanhshrink", "tanhshrink", "tanhshrink(input)"),
    _n("torch", "softsign", "softsign", "softsign(input)"),
    _n("torch", "softplus", "softplus", "softplus(input, beta=1.0, threshold=20.0)",
       note="PyTorch returns x itself where βx > threshold (20): within 2.1e-9·x/20 of softplus; the "
            "catalogue computes softplus exactly"),
    _n("torch", "softshrink", "softshrink", "softshrink(input, lambd=0.5)"),
    _n("torch", "tanh", "tanh", "tanh(input)"),
    _n("torch", "sigmoid", "sigmoid", "sigmoid(input)"),
    _n("torch", "hardsigmoid", "hardsigmoid", "hardsigmoid(input)"),
    _n("torch", "silu", "silu", "silu(input)"),
    _n("torch", "mish", "mish", "mish(input)"),
    # ------------------------------------------------------------ JAX
    _n("jax", "celu", "celu", "celu(x, alpha=1.0)"),
    _n("jax", "elu", "elu", "elu(x, alpha=1.0)"),
    _n("jax", "gelu", "gelu_tanh", "gelu(x, approximate=True)",
       note="the tanh form by default; approximate=False is the catalogue's gelu"),
    _n("jax", "hard_sigmoid", "hardsigmoid", "hard_sigmoid(x)"),
    _n("jax", "hard_silu", "hardswish", "hard_silu(x)", formula=_HARD_SWISH_RELU6,
       note="x·relu6(x + 3)/6 with relu6'(0) = relu6'(6) = 0: f'(-3) = 0 and f'(3) = 1 (PyTorch: -1/2, 3/2)"),
    _n("jax", "hard_swish", "hardswish", "hard_swish(x) (alias of hard_silu)", formula=_HARD_SWISH_RELU6,
       note="as jax:hard_silu"),
    _n("jax", "hard_tanh", "hardtanh", "hard_tanh(x)",
       formula="where(x > max_val, max_val, where(x < min_val, min_val, x))",
       note="jnp.where(x > 1, 1, jnp.where(x < -1, -1, x)): f'(±1) = 1 (PyTorch: 0)"),
    _n("jax", "leaky_relu", "lrelu", "leaky_relu(x, negative_slope=0.01)",
       formula="where(x >= 0, x, alpha*x)",
       note="jnp.where(x >= 0, x, negative_slope*x): f'(0) = 1 (PyTorch: the slope)"),
    _n("jax", "log_sigmoid", "logsigmoid", "log_sigmoid(x)"),
    _n("jax", "mish", "mish", "mish(x)"),
    _n("jax", "relu", "relu", "relu(x)"),
    _n("jax", "relu6", "relu6", "relu6(x)"),
    _n("jax", "selu", "selu", "selu(x)"),
    _n("jax", "sigmoid", "sigmoid", "sigmoid(x)"),
    _n("jax", "silu", "silu", "silu(x)"),
    _n("jax", "swish", "silu", "swish(x) (alias of silu)"),
    _n("jax", "soft_sign", "softsign", "soft_sign(x)"),
    _n("jax", "softplus", "softplus", "softplus(x)"),
    _n("jax", "sparse_plus", "sparse_plus", "sparse_plus(x)"),
    _n("jax", "sparse_sigmoid", "sparse_sigmoid", "sparse_sigmoid(x)",
       formula="where(x < -1, 0, where(x > 1, 1, where(x > -1, where(x < 1, (x + 1)/2, (x + 3)/4), (x + 1)/4)))",
       note="0.5·jnp.clip(x + 1, 0, 2), and clip's max/min share the gradient at a tie: f'(±1) = 1/4"),
    _n("jax", "squareplus", "squareplus", "squareplus(x, b=4)"),
    _n("jax", "identity", "linear", "identity(x)"),
    # ------------------------------------------------------------ Keras 3
    _n("keras", "celu", "celu", "celu(x, alpha=1.0)"),
    _n("keras", "elu", "elu", "elu(x, alpha=1.0)"),
    _n("keras", "exponential", "exponential", "exponential(x)"),
    _n("keras", "gelu", "gelu", "gelu(x, approximate=False)",
       note="the erf form by default; approximate=True is the catalogue's gelu_tanh"),
    _n("keras", "hard_shrink", "hardshrink", "hard_shrink(x, threshold=0.5)"),
    _n("keras", "hard_sigmoid", "hardsigmoid", "hard_sigmoid(x)",
       note="Keras 3's relu6(x + 3)/6; Keras 2 and tf.keras used 0.2x + 0.5 clipped"),
    _n("keras", "hard_silu", "hardswish", "hard_silu(x)"),
    _n("keras", "hard_swish", "hardswish", "hard_swish(x) (alias of hard_silu)"),
    _n("keras", "hard_tanh", "hardtanh", "hard_tanh(x)"),
    _n("keras", "leaky_relu", "lrelu", "leaky_relu(x, negative_slope=0.2)", params={"alpha": "0.2"},
       note="slope 0.2 by default (PyTorch, JAX and NNlib: 0.01)"),
    _n("keras", "linear", "linear", "linear(x)"),
    _n("keras", "log_sigmoid", "logsigmoid", "log_sigmoid(x)"),
    _n("keras", "mish", "mish", "mish(x)"),
    _n("keras", "relu", "relu", "relu(x, negative_slope=0.0, max_value=None, threshold=0.0)"),
    _n("keras", "relu6", "relu6", "relu6(x)"),
    _n("keras", "selu", "selu", "selu(x)"),
    _n("keras", "sigmoid", "sigmoid", "sigmoid(x)"),
    _n("keras", "silu", "silu", "silu(x)"),
    _n("keras", "swish", "silu", "swish(x) (alias of silu)"),
    _n("keras", "soft_shrink", "softshrink", "soft_shrink(x, threshold=0.5)"),
    _n("keras", "softplus", "softplus", "softplus(x)"),
    _n("keras", "softsign", "softsign", "softsign(x)"),
    _n("keras", "sparse_plus", "sparse_plus", "sparse_plus(x)"),
    _n("keras", "sparse_sigmoid", "sparse_sigmoid", "sparse_sigmoid(x)"),
    _n("keras", "squareplus", "squareplus", "squareplus(x, b=4)"),
    _n("keras", "tanh", "tanh", "tanh(x)"),
    _n("keras", "tanh_shrink", "tanhshrink", "tanh_shrink(x)"),
    _n("keras", "threshold", "threshold", "threshold(x, threshold, default_value)", note=_THRESHOLD_NO_DEFAULT),
    # ------------------------------------------------------------ NNlib.jl
    _n("nnlib", "σ", "sigmoid", "σ(x)"),
    _n("nnlib", "sigmoid", "sigmoid", "sigmoid(x) (alias of σ)"),
    _n("nnlib", "sigmoid_fast", "sigmoid", "sigmoid_fast(x)", note="a faster approximation (≤ 2 eps in NNlib)"),
    _n("nnlib", "hardσ", "hardsigmoid", "hardσ(x) = clamp((x + 3)/6, 0, 1)"),
    _n("nnlib", "hardsigmoid", "hardsigmoid", "hardsigmoid(x) (alias of hardσ)"),
    _n("nnlib", "logσ", "logsigmoid", "logσ(x) = -softplus(-x)"),
    _n("nnlib", "logsigmoid", "logsigmoid", "logsigmoid(x) (alias of logσ)"),
    _n("nnlib", "hardtanh", "hardtanh", "hardtanh(x) = clamp(x, -1, 1)"),
    _n("nnlib", "relu", "relu", "relu(x)"),
    _n("nnlib", "leakyrelu", "lrelu", "leakyrelu(x, a=0.01)"),
    _n("nnlib", "relu6", "relu6", "relu6(x) = clamp(x, 0, 6)"),
    _n("nnlib", "rrelu", "rrelu", "rrelu(x, lo=1/8, hi=1/3)",
       note="NNlib draws the slope from U(lo, hi) at every call; the catalogue's is its mean"),
    _n("nnlib", "elu", "elu", "elu(x, α=1)"),
    _n("nnlib", "gelu", "gelu_tanh", "gelu(x) (= gelu_tanh)", note="the tanh form"),
    _n("nnlib", "gelu_tanh", "gelu_tanh", "gelu_tanh(x)"),
    _n("nnlib", "gelu_erf", "gelu", "gelu_erf(x)"),
    _n("nnlib", "swish", "silu", "swish(x) = x·σ(x)"),
    _n("nnlib", "hardswish", "hardswish", "hardswish(x) = x·hardσ(x)"),
    _n("nnlib", "lisht", "lisht", "lisht(x)"),
    _n("nnlib", "selu", "selu", "selu(x)"),
    _n("nnlib", "celu", "celu", "celu(x, α=1)"),
    _n("nnlib", "trelu", "threshold", "trelu(x, θ=1)"),
    _n("nnlib", "thresholdrelu", "threshold", "thresholdrelu(x, θ=1) (alias of trelu)"),
    _n("nnlib", "softsign", "softsign", "softsign(x)"),
    _n("nnlib", "softplus", "softplus", "softplus(x)"),
    _n("nnlib", "logcosh", "logcosh", "logcosh(x)"),
    _n("nnlib", "mish", "mish", "mish(x)"),
    _n("nnlib", "tanhshrink", "tanhshrink", "tanhshrink(x)"),
    _n("nnlib", "softshrink", "softshrink", "softshrink(x, λ=0.5)",
       formula="where(x >= lambd, x - lambd, where(x <= -lambd, x + lambd, 0))",
       note="ifelse(x + λ > 0, ifelse(x - λ < 0, 0, x - λ), x + λ): f'(±λ) = 1 (PyTorch: 0)"),
    _n("nnlib", "tanh_fast", "tanh", "tanh_fast(x)", note="a faster approximation (≤ 5 eps in NNlib)"),
)


def _fold(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def split(text: str) -> tuple[str, str] | None:
    """``"torch:gelu"`` → ("torch", "gelu"); None when the text has no framework prefix."""
    prefix, sep, rest = text.partition(":")
    if not sep:
        return None
    return prefix.strip().lower(), rest.strip()


def lookup(framework: str, name: str) -> FrameworkName | None:
    """The framework's entry for ``name`` (exact, then case- and punctuation-insensitive), or None."""
    rows = [r for r in NAMES if r.framework == framework]
    for r in rows:
        if r.name == name:
            return r
    folded = _fold(name)
    for r in rows:
        if _fold(r.name) == folded:
            return r
    return None


def close_names(framework: str, name: str, n: int = 3) -> list[str]:
    """Close matches among the framework's names (all frameworks' when the prefix is unknown)."""
    rows = [r for r in NAMES if r.framework == framework] or list(NAMES)
    labels = {r.qualified: r for r in rows}
    wanted = f"{framework}:{name}".lower() if framework in FRAMEWORKS else name.lower()
    keys = list(labels) if framework in FRAMEWORKS else [r.name for r in rows]
    found = difflib.get_close_matches(wanted, keys, n=n, cutoff=0.5)
    if framework not in FRAMEWORKS:
        found = [r.qualified for r in rows if r.name in found][:n]
    return found


def for_entry(entry: str) -> list[FrameworkName]:
    """Every framework's name for the catalogue entry ``entry``, in table order."""
    return [r for r in NAMES if r.entry == entry]
