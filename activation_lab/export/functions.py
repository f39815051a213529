"""The library's exports: :func:`torch_function` and :func:`jax_function`, each over the programs
of one activation (:mod:`activation_lab.export.build`) wired by its framework's runtime."""

from __future__ import annotations

from typing import Any

from .build import program_table, resolve_activation

__all__ = ["torch_function", "jax_function"]


def torch_function(act: Any, /, **params: Any) -> Any:
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


def jax_function(act: Any, /, **params: Any) -> Any:
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
