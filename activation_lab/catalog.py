"""The catalogue of activation functions, as plain data.

Each entry holds the formula as text in the package's formula language (the one
:func:`activation_lab.define` accepts), its parameters with their defaults as exact
decimal strings, aliases, a family, a one-line description and its source.  No SymPy
here: the symbolic layer parses these strings with the same safe parser users get.

Conventions at kinks: piecewise entries use ``where(x > 0, ...)`` so that derivatives at a
kink take the left-hand value, as PyTorch's autograd does (ReLU'(0) = 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Entry", "CATALOG", "PAPER_GROUP"]


@dataclass(frozen=True)
class Entry:
    name: str
    formula: str
    description: str
    source: str
    family: str
    aliases: tuple[str, ...] = ()
    params: dict[str, str] = field(default_factory=dict)


CATALOG: tuple[Entry, ...] = (
    Entry("telu", "x*tanh(exp(x))",
          "Hyperbolic tangent exponential linear unit, x·tanh(eˣ)",
          "Fernandez & Mali, arXiv 2412.20269 (2024); as TanhExp: Liu & Di, arXiv 2003.09855 (2020)",
          "self-gated", aliases=("tanhexp",)),
    Entry("relu", "where(x > 0, x, 0)",
          "Rectified linear unit, max(0, x)",
          "Nair & Hinton, ICML (2010)", "piecewise-linear"),
    Entry("lrelu", "where(x > 0, x, alpha*x)",
          "Leaky ReLU: x for x > 0, αx otherwise",
          "Maas, Hannun & Ng, ICML workshop (2013)", "piecewise-linear",
          aliases=("leaky_relu", "leakyrelu"), params={"alpha": "0.01"}),
    Entry("prelu", "where(x > 0, x, alpha*x)",
          "Parametric ReLU with learnable slope α (PyTorch's initial value)",
          "He et al., arXiv 1502.01852 (2015)", "piecewise-linear", params={"alpha": "0.25"}),
    Entry("elu", "where(x > 0, x, alpha*expm1(x))",
          "Exponential linear unit: x for x > 0, α(eˣ − 1) otherwise",
          "Clevert, Unterthiner & Hochreiter, arXiv 1511.07289 (2015)", "exponential-linear",
          params={"alpha": "1"}),
    Entry("selu", "scale*where(x > 0, x, alpha*expm1(x))",
          "Scaled ELU, λ·ELU_α, self-normalising",
          "Klambauer et al., arXiv 1706.02515 (2017)", "exponential-linear",
          params={"scale": "1.0507009873554804934193349852946",
                  "alpha": "1.6732632423543772848170429916717"}),
    Entry("celu", "where(x > 0, x, alpha*expm1(x/alpha))",
          "Continuously differentiable ELU: max(0, x) + min(0, α(e^{x/α} − 1))",
          "Barron, arXiv 1704.07483 (2017)", "exponential-linear", params={"alpha": "1"}),
    Entry("silu", "x*sigmoid(x)",
          "Sigmoid linear unit, x·σ(x)",
          "Hendrycks & Gimpel, arXiv 1606.08415 (2016); Elfwing et al. (2018)", "self-gated",
          aliases=("swish-1", "swish1")),
    Entry("swish", "x*sigmoid(beta*x)",
          "Swish, x·σ(βx)",
          "Ramachandran, Zoph & Le, arXiv 1710.05941 (2017)", "self-gated", params={"beta": "1"}),
    Entry("gelu", "x/2*erfc(-x/sqrt(2))",
          "Gaussian error linear unit, x·Φ(x) = x/2·erfc(−x/√2)",
          "Hendrycks & Gimpel, arXiv 1606.08415 (2016)", "self-gated"),
    Entry("gelu_tanh", "x/2*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x**3)))",
          "GELU, tanh approximation: x/2·(1 + tanh(√(2/π)(x + 0.044715x³)))",
          "Hendrycks & Gimpel, arXiv 1606.08415 (2016)", "self-gated",
          aliases=("gelu-tanh", "gelu_approx")),
    Entry("mish", "x*tanh(softplus(x))",
          "Mish, x·tanh(softplus(x))",
          "Misra, arXiv 1908.08681 (2019)", "self-gated"),
    Entry("logish", "x*log1p(sigmoid(x))",
          "Logish, x·ln(1 + σ(x))",
          "Zhu et al., Neurocomputing 458 (2021)", "self-gated"),
    Entry("smish", "x*tanh(log1p(sigmoid(x)))",
          "Smish, x·tanh(ln(1 + σ(x)))",
          "Wang, Ren & Wang, Electronics 11(4) 540 (2022)", "self-gated"),
    Entry("serf", "x*erf(softplus(x))",
          "Serf, x·erf(softplus(x))",
          "Nag & Bhattacharyya, arXiv 2108.09598 (2021)", "self-gated"),
    Entry("softplus", "softplus(beta*x)/beta",
          "Softplus, ln(1 + e^{βx})/β",
          "Dugas et al., NeurIPS (2001)", "smooth-rectifier", params={"beta": "1"}),
    Entry("tanh", "tanh(x)", "Hyperbolic tangent", "classical", "squashing"),
    Entry("sigmoid", "sigmoid(x)", "Logistic sigmoid, 1/(1 + e^{−x})", "classical", "squashing",
          aliases=("logistic",)),
    Entry("softsign", "x/(1 + abs(x))", "Softsign, x/(1 + |x|)",
          "Bergstra et al. (2009)", "squashing"),
    Entry("hardswish", "where(x <= -3, 0, where(x >= 3, x, x*(x + 3)/6))",
          "Hard swish, x·ReLU6(x + 3)/6",
          "Howard et al., arXiv 1905.02244 (2019)", "piecewise-polynomial",
          aliases=("hard_swish",)),
    Entry("relu6", "where(x <= 0, 0, where(x >= 6, 6, x))",
          "ReLU capped at 6, min(max(0, x), 6)",
          "Krizhevsky (2010)", "piecewise-linear"),
)

#: the linear-unit group of the paper's figures 9-12, in its order
PAPER_GROUP: tuple[str, ...] = ("telu", "relu", "elu", "silu", "gelu", "mish", "logish", "smish")
