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

from typing import Any

from .build import program_table, resolve_activation
from .learnable import torch_module
from .standalone import module_source

__all__ = ["torch_function", "torch_module", "jax_function", "module_source", "resolve_activation"]


def torch_function(act: Any, **params: Any) -> Any:
    """``act`` (a catalogue name, a formula in x, or an Activation; ``params`` set its
    parameters) as a PyTorch function of one tensor, backed by ``torch.autograd.Function``.

    Args:
        act: e.g. ``"telu"``, ``"x*tanh(a*exp(x))"`` (with ``a=0.5``), ``activation_lab.get("gelu")``.
        params: parameter values (exact decimals or numbers).

    Returns:
        ``fn(x)`` computing f(x) (float16/bfloat16 in float32, float32/float64 in float64, rounded
        once), with f′ from its stable program in backward and f″ in double backward;
        ``fn.derivative(x, n)`` gives f⁽ⁿ⁾(x) directly.  Works on any device and under
        ``torch.compile(fullgraph=True)``.
    """
    from . import torch_runtime

    a = resolve_activation(act, params)
    return torch_runtime.make_function(program_table(a.expr, "torch"), _identifier(a.name))


def jax_function(act: Any, **params: Any) -> Any:
    """``act`` (as for :func:`torch_function`) as a ``jax.custom_jvp`` function of one array:
    correct under ``jit``, ``vmap``, ``grad`` and ``grad(grad(...))``, each order's tangent the next
    order's stable program.  Every format computes in float64 where ``jax_enable_x64`` is on, else
    in float32, and is rounded once; ``fn.derivative(x, n)`` is f⁽ⁿ⁾."""
    from . import jax_runtime

    a = resolve_activation(act, params)
    return jax_runtime.make_function(program_table(a.expr, "jax"), _identifier(a.name))


def _identifier(name: str) -> str:
    text = "".join(ch if ch.isalnum() else "_" for ch in name).strip("_")
    return text if text.isidentifier() else "activation"
