"""Export an activation to PyTorch and JAX (and standalone files), from its stable program.

>>> from activation_lab.export import torch_function, jax_function
>>> telu = torch_function("telu")              # a torch.autograd.Function-backed callable
>>> act = torch_module("swish", learnable=("beta",))
>>> f = jax_function("x*tanh(a*exp(x))", a=0.5)  # a jax.custom_jvp function

f, f′, f″ (and further orders on demand) are printed from the program of
:mod:`activation_lab.numeric.program` with the ``targets`` column of the table of primitives
(:mod:`activation_lab.export.printer`), and wired to autograd by
:mod:`activation_lab.export.torch_runtime` and :mod:`activation_lab.export.jax_runtime`.
Importing this package imports neither framework; each function imports its own.
See docs/notes/exports.md for what is guaranteed and measured.
"""

from __future__ import annotations

from .build import resolve_activation
from .functions import jax_function, torch_function
from .learnable import torch_module
from .standalone import module_source

__all__ = ["torch_function", "torch_module", "jax_function", "module_source", "resolve_activation"]
