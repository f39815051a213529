"""The catalogue of activation functions, as plain data.

Each entry holds the formula as text in the package's formula language (the one
:func:`activation_lab.define` accepts), its parameters with their defaults as exact
decimal strings, aliases, a family, a one-line description and its provenance: the first
publication (``authors``, ``year``, ``venue`` with an arXiv id where there is one) and the
rediscoveries and other names it is known by.  The frameworks' names and defaults for the same
functions are in :mod:`activation_lab.frameworks`.  No SymPy here: the symbolic layer parses
these strings with the same safe parser users get.

Conventions at kinks (README, "Derivatives at kinks"): each kink's derivative is the one
PyTorch's autograd gives where PyTorch has the function (ReLU'(0) = 0, LReLU'(0) = α,
hardswish'(-3) = -1/2 and hardswish'(3) = 3/2, hardtanh'(±1) = 0, softshrink'(±λ) = 0), written
into the formula by which piece owns the kink point; softsign's ``where(x < 0, ..)`` middle piece
at x = 0 is x/(1 - x²), the mean of both sides, whose derivatives are PyTorch's (f''(0) = 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Entry", "CATALOG", "PAPER_GROUP", "NOT_ELEMENTWISE", "FAMILIES"]


@dataclass(frozen=True)
class Entry:
    """One catalogue activation.

    ``source`` is the provenance in one line; ``authors``, ``year`` and ``venue`` are its first
    publication as fields; ``rediscoveries`` the same function published or shipped under other
    names (each with its year).
    """

    name: str
    formula: str
    description: str
    source: str
    family: str
    aliases: tuple[str, ...] = ()
    params: dict[str, str] = field(default_factory=dict)
    authors: str = ""
    year: int = 0
    venue: str = ""
    rediscoveries: tuple[str, ...] = ()


CATALOG: tuple[Entry, ...] = (
    # --- the paper's group and the original catalogue (formulas unchanged, but hardswish's and
    # softsign's kink pieces: PyTorch's derivative values there) ---
    Entry("telu", "x*tanh(exp(x))",
          "Hyperbolic tangent exponential linear unit, x·tanh(eˣ)",
          "Fernandez & Mali, arXiv 2412.20269 (2024); as TanhExp: Liu & Di, arXiv 2003.09855 (2020)",
          "self-gated", aliases=("tanhexp",),
          authors="Liu & Di", year=2020, venue="arXiv 2003.09855 (as TanhExp)",
          rediscoveries=("TeLU: Fernandez & Mali, arXiv 2412.20269 (2024)",)),
    Entry("relu", "where(x > 0, x, 0)",
          "Rectified linear unit, max(0, x)",
          "Nair & Hinton, ICML (2010)", "piecewise-linear",
          authors="Nair & Hinton", year=2010, venue="ICML",
          rediscoveries=("Fukushima's rectifying units, Biological Cybernetics (1969 / 1980)",
                         "Hahnloser et al., Nature 405 (2000)")),
    Entry("lrelu", "where(x > 0, x, alpha*x)",
          "Leaky ReLU: x for x > 0, αx otherwise",
          "Maas, Hannun & Ng, ICML workshop (2013)", "piecewise-linear",
          aliases=("leaky_relu", "leakyrelu"), params={"alpha": "0.01"},
          authors="Maas, Hannun & Ng", year=2013,
          venue="ICML Workshop on Deep Learning for Audio, Speech and Language"),
    Entry("prelu", "where(x > 0, x, alpha*x)",
          "Parametric ReLU with learnable slope α (PyTorch's initial value)",
          "He et al., arXiv 1502.01852 (2015)", "piecewise-linear", params={"alpha": "0.25"},
          authors="He, Zhang, Ren & Sun", year=2015, venue="ICCV; arXiv 1502.01852"),
    Entry("elu", "where(x > 0, x, alpha*expm1(x))",
          "Exponential linear unit: x for x > 0, α(eˣ − 1) otherwise",
          "Clevert, Unterthiner & Hochreiter, arXiv 1511.07289 (2015)", "exponential-linear",
          params={"alpha": "1"},
          authors="Clevert, Unterthiner & Hochreiter", year=2015, venue="ICLR 2016; arXiv 1511.07289"),
    Entry("selu", "scale*where(x > 0, x, alpha*expm1(x))",
          "Scaled ELU, λ·ELU_α, self-normalising",
          "Klambauer et al., arXiv 1706.02515 (2017)", "exponential-linear",
          params={"scale": "1.0507009873554804934193349852946",
                  "alpha": "1.6732632423543772848170429916717"},
          authors="Klambauer, Unterthiner, Mayr & Hochreiter", year=2017, venue="NeurIPS; arXiv 1706.02515"),
    Entry("celu", "where(x > 0, x, alpha*expm1(x/alpha))",
          "Continuously differentiable ELU: max(0, x) + min(0, α(e^{x/α} − 1))",
          "Barron, arXiv 1704.07483 (2017)", "exponential-linear", params={"alpha": "1"},
          authors="Barron", year=2017, venue="arXiv 1704.07483"),
    Entry("silu", "x*sigmoid(x)",
          "Sigmoid linear unit, x·σ(x)",
          "Hendrycks & Gimpel, arXiv 1606.08415 (2016); Elfwing et al. (2018)", "self-gated",
          aliases=("swish-1", "swish1", "swish_1"),
          authors="Hendrycks & Gimpel", year=2016, venue="arXiv 1606.08415 (as SiLU)",
          rediscoveries=("sigmoid-weighted linear unit (SiL): Elfwing, Uchibe & Doya, arXiv 1702.03118 (2017), "
                         "Neural Networks 107 (2018)",
                         "Swish-1 (Swish with β = 1): Ramachandran, Zoph & Le, arXiv 1710.05941 (2017)")),
    Entry("swish", "x*sigmoid(beta*x)",
          "Swish, x·σ(βx)",
          "Ramachandran, Zoph & Le, arXiv 1710.05941 (2017)", "self-gated", params={"beta": "1"},
          authors="Ramachandran, Zoph & Le", year=2017, venue="arXiv 1710.05941",
          rediscoveries=("β = 1 is SiLU (2016); β = 1.702 is GELU's sigmoid approximation (2016), QuickGELU",)),
    Entry("gelu", "x/2*erfc(-x/sqrt(2))",
          "Gaussian error linear unit, x·Φ(x) = x/2·erfc(−x/√2)",
          "Hendrycks & Gimpel, arXiv 1606.08415 (2016)", "self-gated", aliases=("gelu_erf", "gelu-erf"),
          authors="Hendrycks & Gimpel", year=2016, venue="arXiv 1606.08415"),
    Entry("gelu_tanh", "x/2*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x**3)))",
          "GELU, tanh approximation: x/2·(1 + tanh(√(2/π)(x + 0.044715x³)))",
          "Hendrycks & Gimpel, arXiv 1606.08415 (2016)", "self-gated",
          aliases=("gelu-tanh", "gelu_approx", "gelu_new"),
          authors="Hendrycks & Gimpel", year=2016, venue="arXiv 1606.08415 (the tanh approximation, section 2)",
          rediscoveries=("as x·σ(2√(2/π)(x + 0.044715x³)): the same function (1 + tanh u = 2σ(2u))",)),
    Entry("mish", "x*tanh(softplus(x))",
          "Mish, x·tanh(softplus(x))",
          "Misra, arXiv 1908.08681 (2019)", "self-gated",
          authors="Misra", year=2019, venue="BMVC 2020; arXiv 1908.08681"),
    Entry("logish", "x*log1p(sigmoid(x))",
          "Logish, x·ln(1 + σ(x))",
          "Zhu et al., Neurocomputing 458 (2021)", "self-gated",
          authors="Zhu, Zeng, Liu, Xu, Tian & Huang", year=2021, venue="Neurocomputing 458"),
    Entry("smish", "x*tanh(log1p(sigmoid(x)))",
          "Smish, x·tanh(ln(1 + σ(x)))",
          "Wang, Ren & Wang, Electronics 11(4) 540 (2022)", "self-gated",
          authors="Wang, Ren & Wang", year=2022, venue="Electronics 11(4) 540"),
    Entry("serf", "x*erf(softplus(x))",
          "Serf, x·erf(softplus(x))",
          "Nag & Bhattacharyya, arXiv 2108.09598 (2021)", "self-gated",
          authors="Nag & Bhattacharyya", year=2021, venue="arXiv 2108.09598"),
    Entry("softplus", "softplus(beta*x)/beta",
          "Softplus, ln(1 + e^{βx})/β",
          "Dugas et al., NeurIPS (2001)", "smooth-rectifier", params={"beta": "1"},
          authors="Dugas, Bengio, Bélisle, Nadeau & Garcia", year=2001, venue="NeurIPS 13"),
    Entry("tanh", "tanh(x)", "Hyperbolic tangent", "classical", "squashing", aliases=("tanh_fast",),
          authors="classical (as a network activation: LeCun, Bottou, Orr & Müller, 'Efficient BackProp')",
          year=1998, venue="Neural Networks: Tricks of the Trade, LNCS 1524"),
    Entry("sigmoid", "sigmoid(x)", "Logistic sigmoid, 1/(1 + e^{−x})", "classical", "squashing",
          aliases=("logistic", "σ", "sigmoid_fast"),
          authors="Verhulst (the logistic function); in networks: Rumelhart, Hinton & Williams", year=1838,
          venue="Correspondance mathématique et physique 10; Nature 323 (1986)"),
    Entry("softsign", "where(x > 0, x/(1 + x), where(x < 0, x/(1 - x), x/(1 - x**2)))",
          "Softsign, x/(1 + |x|)",
          "Bergstra et al. (2009)", "squashing", aliases=("soft_sign",),
          authors="Bergstra, Desjardins, Lamblin & Bengio", year=2009,
          venue="'Quadratic polynomials learn better image features', Université de Montréal TR 1337",
          rediscoveries=("Elliott's sigmoid (x/(1 + |x|)), Elliott, UCSD tech report (1993)",)),
    Entry("hardswish", "where(x < -3, 0, where(x > 3, x, x*(x + 3)/6))",
          "Hard swish, x·ReLU6(x + 3)/6",
          "Howard et al., arXiv 1905.02244 (2019)", "piecewise-polynomial",
          aliases=("hard_swish", "hard_silu", "hardsilu"),
          authors="Howard, Sandler, Chu, Chen, Chen, Tan, Wang, Zhu, Pang, Vasudevan, Le & Adam", year=2019,
          venue="ICCV; arXiv 1905.02244 (MobileNetV3)"),
    Entry("relu6", "where(x <= 0, 0, where(x >= 6, 6, x))",
          "ReLU capped at 6, min(max(0, x), 6)",
          "Krizhevsky (2010)", "piecewise-linear",
          authors="Krizhevsky", year=2010, venue="'Convolutional deep belief networks on CIFAR-10', tech report"),
    # --- the frameworks' element-wise activations and the smooth ReLU relatives (issue 16) ---
    Entry("hardsigmoid", "where(x <= -3, 0, where(x >= 3, 1, x/6 + 1/2))",
          "Hard sigmoid, ReLU6(x + 3)/6",
          "Howard et al., arXiv 1905.02244 (2019)", "piecewise-linear",
          aliases=("hard_sigmoid", "hardσ"),
          authors="Howard et al.", year=2019, venue="ICCV; arXiv 1905.02244 (MobileNetV3, h-sigmoid)",
          rediscoveries=("clip((x + 1)/2, 0, 1) in BinaryConnect: Courbariaux, Bengio & David, arXiv 1511.00363 "
                         "(2015); Keras 2's 0.2x + 0.5 (a different slope)",)),
    Entry("hardtanh", "where(x <= min_val, min_val, where(x >= max_val, max_val, x))",
          "Hard tanh, min(max(x, lo), hi)",
          "Collobert, PhD thesis (2004)", "piecewise-linear", aliases=("hard_tanh",),
          params={"min_val": "-1", "max_val": "1"},
          authors="Collobert", year=2004, venue="PhD thesis, Université Paris VI ('Large scale machine learning')"),
    Entry("rrelu", "where(x > 0, x, (lower + upper)/2*x)",
          "Randomized leaky ReLU, evaluation mode: slope (lower + upper)/2 for x ≤ 0",
          "Xu, Wang, Chen & Li, arXiv 1505.00853 (2015)", "piecewise-linear",
          params={"lower": "1/8", "upper": "1/3"},
          authors="Xu, Wang, Chen & Li", year=2015, venue="arXiv 1505.00853",
          rediscoveries=("its training mode draws the slope from U(lower, upper) per element",)),
    Entry("threshold", "where(x > theta, x, value)",
          "Threshold: x for x > θ, else a constant value",
          "Konda, Memisevic & Krueger, arXiv 1402.3337 (2014)", "piecewise-linear",
          aliases=("trelu", "thresholdrelu", "thresholded_relu"), params={"theta": "1", "value": "0"},
          authors="Konda, Memisevic & Krueger", year=2014, venue="ICLR 2015; arXiv 1402.3337 (thresholded ReLU)",
          rediscoveries=("Torch7's Threshold(θ, value): Collobert, Kavukcuoglu & Farabet, BigLearn workshop (2011)",)),
    Entry("squared_relu", "where(x > 0, x**2, 0)",
          "Squared ReLU, max(0, x)²",
          "So et al., arXiv 2109.08668 (2021)", "piecewise-polynomial", aliases=("relu2", "relu_squared"),
          authors="So, Mańke, Liu, Dai, Shazeer & Le", year=2021, venue="NeurIPS; arXiv 2109.08668 (Primer)"),
    Entry("logsigmoid", "log(sigmoid(x))",
          "Log-sigmoid, ln σ(x) = −softplus(−x)",
          "classical", "smooth-rectifier", aliases=("log_sigmoid", "logσ"),
          authors="classical (log of the logistic function; Verhulst's logistic)", year=1838,
          venue="Correspondance mathématique et physique 10",
          rediscoveries=("−softplus(−x): Dugas et al., NeurIPS 13 (2001)",)),
    Entry("logcosh", "log(cosh(x))",
          "Log-cosh, ln cosh(x), a smooth |x|",
          "classical", "smooth-rectifier", aliases=("log_cosh",),
          authors="classical (the log-cosh function); as an activation in NNlib.jl", year=2018,
          venue="NNlib.jl (FluxML) logcosh",
          rediscoveries=("as a loss: the log-cosh loss (Keras' log_cosh)",)),
    Entry("softshrink", "where(x > lambd, x - lambd, where(x < -lambd, x + lambd, 0))",
          "Soft shrinkage: x − λ·sign(x) for |x| > λ, else 0",
          "Donoho & Johnstone, Biometrika 81 (1994)", "shrinkage", aliases=("soft_shrink",),
          params={"lambd": "0.5"},
          authors="Donoho & Johnstone", year=1994,
          venue="Biometrika 81(3) ('Ideal spatial adaptation by wavelet shrinkage')"),
    Entry("hardshrink", "where(x > lambd, x, where(x < -lambd, x, 0))",
          "Hard shrinkage: x for |x| > λ, else 0",
          "Donoho & Johnstone, Biometrika 81 (1994)", "shrinkage", aliases=("hard_shrink",),
          params={"lambd": "0.5"},
          authors="Donoho & Johnstone", year=1994, venue="Biometrika 81(3) (hard thresholding)"),
    Entry("tanhshrink", "x - tanh(x)",
          "Tanh shrink, x − tanh(x)",
          "Collobert, Kavukcuoglu & Farabet, BigLearn workshop (2011)", "shrinkage", aliases=("tanh_shrink",),
          authors="Collobert, Kavukcuoglu & Farabet", year=2011,
          venue="'Torch7: a Matlab-like environment for machine learning', BigLearn, NeurIPS workshop (TanhShrink)"),
    Entry("lisht", "x*tanh(x)",
          "Linearly scaled hyperbolic tangent, x·tanh(x)",
          "Roy et al., arXiv 1901.05894 (2019)", "self-gated",
          authors="Roy, Manna, Dubey & Chaudhuri", year=2019, venue="arXiv 1901.05894"),
    Entry("quick_gelu", "x*sigmoid(1.702*x)",
          "QuickGELU, GELU's sigmoid approximation x·σ(1.702x)",
          "Hendrycks & Gimpel, arXiv 1606.08415 (2016)", "self-gated",
          aliases=("quickgelu", "gelu_sigmoid"),
          authors="Hendrycks & Gimpel", year=2016, venue="arXiv 1606.08415 (section 2, x·σ(1.702x))",
          rediscoveries=("QuickGELU in CLIP: Radford et al., arXiv 2103.00020 (2021)",
                         "Swish with β = 1.702: Ramachandran, Zoph & Le (2017)")),
    Entry("elish", "where(x > 0, x*sigmoid(x), expm1(x)*sigmoid(x))",
          "ELiSH: x·σ(x) for x > 0, (eˣ − 1)·σ(x) otherwise",
          "Basirat & Roth, arXiv 1808.00783 (2018)", "self-gated",
          authors="Basirat & Roth", year=2018, venue="arXiv 1808.00783"),
    Entry("hard_elish", "where(x > 0, where(x < 1, x*(x + 1)/2, x), where(x > -1, expm1(x)*(x + 1)/2, 0))",
          "Hard ELiSH: x·hσ(x) for x > 0, (eˣ − 1)·hσ(x) otherwise, hσ(x) = max(0, min(1, (x + 1)/2))",
          "Basirat & Roth, arXiv 1808.00783 (2018)", "piecewise-polynomial", aliases=("hardelish",),
          authors="Basirat & Roth", year=2018, venue="arXiv 1808.00783"),
    Entry("squareplus", "(x + sqrt(x**2 + b))/2",
          "Squareplus, (x + √(x² + b))/2, an algebraic softplus",
          "Barron, arXiv 2112.11687 (2021)", "smooth-rectifier", params={"b": "4"},
          authors="Barron", year=2021, venue="arXiv 2112.11687"),
    Entry("sparse_plus", "where(x <= -1, 0, where(x >= 1, x, (x + 1)**2/4))",
          "Sparse plus: 0, (x + 1)²/4, x on x ≤ −1, |x| < 1, x ≥ 1",
          "Blondel, Martins & Niculae, JMLR 21 (2020)", "piecewise-polynomial", aliases=("sparseplus",),
          authors="Blondel, Martins & Niculae", year=2020,
          venue="JMLR 21(35), 'Learning with Fenchel-Young losses'; arXiv 1901.02324"),
    Entry("sparse_sigmoid", "where(x <= -1, 0, where(x >= 1, 1, (x + 1)/2))",
          "Sparse sigmoid, clip((x + 1)/2, 0, 1)",
          "Blondel, Martins & Niculae, JMLR 21 (2020)", "piecewise-linear", aliases=("sparsesigmoid",),
          authors="Blondel, Martins & Niculae", year=2020,
          venue="JMLR 21(35), 'Learning with Fenchel-Young losses'; arXiv 1901.02324",
          rediscoveries=("the same function as hard sigmoid with slope 1/2 (BinaryConnect, 2015)",)),
    Entry("snake", "x + sin(a*x)**2/a",
          "Snake, x + sin²(ax)/a, periodic inductive bias",
          "Ziyin, Hartwig & Ueda, arXiv 2006.08195 (2020)", "periodic", params={"a": "1"},
          authors="Ziyin, Hartwig & Ueda", year=2020, venue="NeurIPS; arXiv 2006.08195"),
    Entry("isru", "x/sqrt(1 + alpha*x**2)",
          "Inverse square root unit, x/√(1 + αx²)",
          "Carlile et al., arXiv 1710.09967 (2017)", "squashing", params={"alpha": "1"},
          authors="Carlile, Delamarter, Kinney, Marti & Whitney", year=2017, venue="arXiv 1710.09967"),
    Entry("isrlu", "where(x > 0, x, x/sqrt(1 + alpha*x**2))",
          "Inverse square root linear unit: x for x > 0, x/√(1 + αx²) otherwise",
          "Carlile et al., arXiv 1710.09967 (2017)", "exponential-linear", params={"alpha": "1"},
          authors="Carlile, Delamarter, Kinney, Marti & Whitney", year=2017, venue="arXiv 1710.09967"),
    Entry("bent_identity", "(sqrt(x**2 + 1) - 1)/2 + x",
          "Bent identity, (√(x² + 1) − 1)/2 + x",
          "no first publication found (listed in activation tables since about 2016)", "algebraic",
          aliases=("bentidentity",),
          authors="unknown (no first publication found)", year=2016,
          venue="listed in Wikipedia's table of activation functions (2016)"),
    Entry("arctan", "atan(x)",
          "Arctangent, atan(x)",
          "classical", "squashing", aliases=("atan",),
          authors="classical (as a network activation: Kamruzzaman & Aziz)", year=2002,
          venue="'A note on activation function in multilayer feedforward learning', IJCNN 2002"),
    Entry("exponential", "exp(x)",
          "Exponential, eˣ (Keras' exponential)",
          "classical", "elementary", aliases=("exp",),
          authors="classical; as an activation: Keras (Chollet et al.)", year=2015,
          venue="Keras, keras.activations.exponential"),
    Entry("linear", "x",
          "Identity, x (Keras' linear, JAX's identity)",
          "classical", "elementary", aliases=("identity",),
          authors="classical (the identity; linear units)", year=1958,
          venue="Rosenblatt's perceptron, Psychological Review 65 (the pre-threshold linear unit)"),
)

#: functions the frameworks ship beside their activations that are not element-wise (out of scope)
NOT_ELEMENTWISE: tuple[str, ...] = ("softmax", "log_softmax", "softmin", "gumbel_softmax", "glu", "sparsemax",
                                    "logsumexp", "standardize", "one_hot", "maxout")

#: the families, in the order ``activation-lab list`` groups them
FAMILIES: tuple[str, ...] = ("self-gated", "smooth-rectifier", "exponential-linear", "piecewise-linear",
                             "piecewise-polynomial", "squashing", "shrinkage", "algebraic", "periodic",
                             "elementary")

#: the linear-unit group of the paper's figures 9-12, in its order
PAPER_GROUP: tuple[str, ...] = ("telu", "relu", "elu", "silu", "gelu", "mish", "logish", "smish")
