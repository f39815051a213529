"""activation-lab: symbolic and numerical analysis of activation functions, centred on TeLU.

TeLU(x) = x·tanh(eˣ) (Fernandez & Mali 2024; earlier TanhExp, Liu & Di 2020).

>>> import activation_lab as al
>>> telu = al.get("telu")
>>> telu.derivative(1)          # SymPy
>>> telu.evaluate([-1.0, 0.0, 1.0], n=1)

Importing the package is light: SymPy, NumPy's helpers, SciPy, matplotlib, CuPy and Dask
are imported only by the functions that need them.
"""

from __future__ import annotations

import importlib
from typing import Any

from .catalog import CATALOG, PAPER_GROUP
from .errors import (
    ActivationLabError,
    FormulaError,
    FormulaTooComplexError,
    UnknownActivationError,
    UnsupportedDtypeError,
)
from .version import __version__  # noqa: F401 - the package version, as activation_lab.__version__

# public name -> "module:attribute" (a module alone when the attribute is empty)
_LAZY: dict[str, str] = {
    "Activation": "activation_lab.activation:Activation",
    "get": "activation_lab.activation:get",
    "define": "activation_lab.activation:define",
    "saturation": "activation_lab.analysis.saturation:saturation",
    "quotient": "activation_lab.analysis.quotient:quotient",
    "properties": "activation_lab.analysis.properties:properties",
    "equivalent": "activation_lab.analysis.equivalence:equivalent",
    "accuracy": "activation_lab.analysis.accuracy:accuracy",
    "benchmark": "activation_lab.analysis.benchmark:benchmark",
    "c_kernel": "activation_lab.numeric.c_target:c_kernel",
    "compare": "activation_lab.present.compare:compare",
    "propagation": "activation_lab.analysis.propagation:propagation",
    "edge_of_chaos": "activation_lab.analysis.propagation:edge_of_chaos",
    "eoc_curve": "activation_lab.analysis.propagation:eoc_curve",
    "gain": "activation_lab.analysis.propagation:gain",
    "figures": "activation_lab.present.figures:",
}

__all__ = [
    "CATALOG", "PAPER_GROUP", "ActivationLabError", "FormulaError", "FormulaTooComplexError",
    "UnknownActivationError",
    "UnsupportedDtypeError", "names", *_LAZY,
]


def names() -> list[str]:
    """The catalogue's activation names, in catalogue order.

    Returns
    -------
    list of str
        One canonical name per catalogue entry (``"telu"``, ``"relu"``, ...); aliases such as
        ``"tanhexp"`` are not listed, :func:`activation_lab.get` accepts them.
    """
    return [entry.name for entry in CATALOG]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'activation_lab' has no attribute {name!r}")
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    value = getattr(module, attr) if attr else module
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
