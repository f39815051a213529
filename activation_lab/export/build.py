"""From the user's request to runnable printed programs: the activation, and each program compiled once.

The printed source (:mod:`activation_lab.export.printer`) is generated from the program of the
activation's SymPy expression, never from user text, and compiled in a namespace holding only
the framework, the printer's helpers and the runtime's ``patch_nan``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import sympy as sp

from ..errors import ActivationLabError, UnknownActivationError
from ..symbolic.activation import Activation, define, get, resolve
from .printer import helpers_source, program_source

__all__ = ["resolve_activation", "compiled_program", "namespace", "ProgramTable", "program_table"]


def resolve_activation(act: Any, params: Mapping[str, Any] | None = None) -> Activation:
    """A catalogue name, a formula in x or an Activation, with ``params`` set.

    A string that names no catalogue entry is parsed as a formula (by the safe parser); when it
    fails as both, the error says so for both readings.
    """
    params = dict(params or {})
    if isinstance(act, Activation):
        return get(act, **params) if params else act
    if not isinstance(act, str):
        return resolve(act)   # its error names what would work
    try:
        return get(act, **params)
    except UnknownActivationError as unknown:
        try:
            return define(act, **params)
        except ActivationLabError as err:
            raise ActivationLabError(f"{act!r} is neither a catalogue activation ({unknown}) nor a formula in x "
                                     f"({err})") from None


def namespace(target: str) -> dict[str, Any]:
    """The names printed programs of ``target`` read: the framework and the helpers."""
    ns: dict[str, Any] = {}
    if target == "torch":
        import torch

        from .torch_runtime import finish, plain_path
        from .torch_runtime import patch_nan as patch
        ns["torch"] = torch
    elif target == "jax":
        import jax
        import jax.numpy as jnp
        import jax.scipy.special

        from .jax_runtime import finish, plain_path
        from .jax_runtime import patch_nan as patch
        ns.update(jax=jax, jnp=jnp)
    else:
        import numpy as np
        import scipy.special

        from .numpy_runtime import finish, plain_path
        from .numpy_runtime import patch_nan as patch
        ns.update(np=np, scipy=scipy)
    ns.update(patch_nan=patch, finish=finish, plain_path=plain_path)
    exec(helpers_source(target), ns)  # noqa: S102 - the printer's own helper text
    return ns


@functools.lru_cache(maxsize=1024)
def compiled_program(expr: sp.Expr, target: str, orders: tuple[int, ...]) -> Callable[[Any], tuple]:
    """The printed program computing f⁽ⁿ⁾ for each n in ``orders`` on ``target``, compiled once."""
    source = program_source(expr, target, {"_program": tuple(orders)})
    ns = namespace(target)
    exec(compile(source, f"<activation_lab export {target}: {orders}>", "exec"), ns)  # noqa: S102 - printed program
    fn = ns["_program"]
    fn.__doc__ = source
    return fn


class ProgramTable:
    """``table(orders)``: the compiled program of those orders; the usual ones are built up front
    (a tracer such as torch.compile then only reads a dict), other orders on first use."""

    def __init__(self, expr: sp.Expr, target: str, orders: tuple[tuple[int, ...], ...]):
        self.expr = expr
        self.target = target
        self.table = {o: compiled_program(expr, target, o) for o in orders}

    def __call__(self, orders: tuple[int, ...]) -> Callable[[Any], tuple]:
        if orders in self.table:
            return self.table[orders]
        fn = self.table[orders] = compiled_program(self.expr, self.target, orders)
        return fn


#: the programs each runtime asks for in the forward pass and two levels of backward
USUAL_ORDERS = {"torch": ((0,), (0, 1), (1,), (2,)), "jax": ((0,), (1,), (2,)),
                "numpy": ((0,), (1,), (2,))}


def program_table(expr: sp.Expr, target: str) -> ProgramTable:
    """The programs of ``expr`` for ``target``, the usual orders built now."""
    return ProgramTable(expr, target, USUAL_ORDERS[target])
