"""``torch_module``: an exported activation as an ``nn.Module``, its parameters learnable when asked.

A program (:mod:`activation_lab.numeric.program`) is a function of x alone: parameters are folded
into its 40-digit constants.  For a learnable parameter p the module needs p at run time, so the
program is built from the stable forms of f, f′ and ∂f/∂p with p replaced by two nearby values
(sentinels): the steps must come out the same, and each constant that moved must be a monomial
c·p₁^k₁·p₂^k₂… (the exponents found from how it moved, checked on a third build).  Those constants
are printed as ``c*p**k`` over the parameter tensors; everything else is the printed program as
:func:`activation_lab.export.torch_function` runs it.  A formula whose constants are not monomials in
the parameter (``(lower + upper)/2`` of rrelu, ``exp(a)``) is refused with a message naming the
parameter; the stable form is the one chosen at the parameter's initial value (a rewrite that
depends on its sign, say, stays as chosen).

Gradients with learnable parameters are first order (``backward`` of the module's output gives
∂L/∂x from f′ and ∂L/∂p from the printed ∂f/∂p, both stable); double backward is refused with a
clear error (without learnable parameters, use the module as ``torch_function``'s, which has it).
The fix-ups at ±inf and of tail zeros' signs depend on the parameters and are not applied to
learnable programs; nan at finite x is patched with the guarded program as everywhere.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import mpmath
import sympy as sp

from ..errors import ActivationLabError
from ..numeric.program import Program, straight_line
from ..numeric.rewrite import stable_derivative
from ..symbolic.parsing import exact_number, parse_with_symbols
from .build import namespace, resolve_activation
from .printer import print_program

__all__ = ["torch_module", "parametrised_source", "LearnableError"]

#: relative offsets of the sentinels from the parameter's value (irrational-looking, so that no
#: constant of the formula is mistaken for one)
_OFFSETS = (sp.Rational(1, 1000) * sp.Rational(314159, 100000), -sp.Rational(1, 1000) * sp.Rational(271828, 100000),
            sp.Rational(1, 1000) * sp.Rational(141421, 100000))


class LearnableError(ActivationLabError):
    """A parameter that cannot be made learnable in this formula."""


def _sentinel(value: float, which: int) -> sp.Rational:
    v = exact_number(repr(float(value)))
    base = v if v != 0 else sp.Rational(1, 3)
    return base * (1 + _OFFSETS[which])


def _forms(formula: str, fixed: Mapping[str, float], learnable: Sequence[str],
           values: Mapping[str, sp.Rational]) -> tuple[sp.Expr, ...]:
    """Stable f, f′ and ∂f/∂p for each learnable p, at the parameter values ``values``."""
    symbols = {name: sp.Symbol(name, real=True) for name in learnable}
    consts = {name: exact_number(repr(float(v))) for name, v in fixed.items()}
    expr = parse_with_symbols(formula, {**symbols, **consts})
    at = {symbols[name]: values[name] for name in learnable}
    f = expr.subs(at)
    forms = [stable_derivative(f, 0), stable_derivative(f, 1)]
    forms += [stable_derivative(sp.diff(expr, symbols[name]).subs(at), 0) for name in learnable]
    return tuple(forms)


def _skeleton(prog: Program) -> tuple:
    """The program with its 40-digit constants blanked (what must not move with the parameters)."""
    def blank(a):
        return ("c", "K", "K") if a[0] == "c" and a[2] == "K" else a

    return tuple((s.op, tuple(blank(a) for a in s.args)) for s in prog.steps), tuple(blank(a) for a in prog.outputs)


def _constants(prog: Program) -> list[str]:
    return [a[1] for s in prog.steps for a in s.args if a[0] == "c" and a[2] == "K"] + \
           [a[1] for a in prog.outputs if a[0] == "c" and a[2] == "K"]


@functools.lru_cache(maxsize=128)
def parametrised_source(formula: str, fixed: tuple[tuple[str, float], ...], learnable: tuple[str, ...],
                        initial: tuple[tuple[str, float], ...], guarded: bool = False) -> str:
    """``def _program(x, p_<name>, ...)`` returning f, f′ and ∂f/∂p per learnable p, printed for torch,
    its constants as monomials in the parameter tensors; LearnableError where that is impossible."""
    init = dict(initial)
    builds = []
    for which in range(len(learnable) + 2):
        # build 0: every sentinel 0; build i+1: parameter i moved to sentinel 1; last: all moved (the check)
        values = {}
        for i, name in enumerate(learnable):
            moved = which == i + 1 or which == len(learnable) + 1
            values[name] = _sentinel(init[name], 1 if moved else 0)
        prog = straight_line(_forms(formula, dict(fixed), learnable, values), guarded, True, None)
        builds.append((values, prog))
    base_values, base = builds[0]
    for _, prog in builds[1:]:
        if _skeleton(prog) != _skeleton(base):
            raise LearnableError(f"the stable program of {formula!r} changes shape with {', '.join(learnable)} "
                                 "(a rewrite depends on its value); keep it fixed")
    with mpmath.workdps(50):
        texts = {}
        for pos, k0 in enumerate(_constants(base)):
            key = k0.removeprefix("-")
            c0 = mpmath.mpf(key)
            powers = []
            for i, name in enumerate(learnable):
                ci = mpmath.mpf(_constants(builds[i + 1][1])[pos].removeprefix("-"))
                ratio = mpmath.mpf(str(sp.N(builds[i + 1][0][name] / base_values[name], 45)))
                k = mpmath.log(ci / c0) / mpmath.log(ratio) if c0 != 0 and ci != 0 else mpmath.mpf(0)
                if abs(k - mpmath.nint(k)) > mpmath.mpf(10) ** -20:
                    raise LearnableError(f"{name} enters {formula!r} other than as a factor c*{name}**k "
                                         f"(a constant {k0} of its stable program); keep it fixed")
                powers.append(int(mpmath.nint(k)))
            if not any(powers):
                continue
            c = c0 / mpmath.fprod(mpmath.mpf(str(sp.N(base_values[n], 45))) ** k for n, k in zip(learnable, powers,
                                                                                                 strict=True))
            check = c * mpmath.fprod(mpmath.mpf(str(sp.N(builds[-1][0][n], 45))) ** k
                                     for n, k in zip(learnable, powers, strict=True))
            last = mpmath.mpf(_constants(builds[-1][1])[pos].removeprefix("-"))
            if abs(check - last) > abs(last) * mpmath.mpf(10) ** -30:
                raise LearnableError(f"the constants of {formula!r} are not monomials in {', '.join(learnable)}; "
                                     "keep them fixed")
            factors = [repr(float(c))] + [f"p_{n}**{k}" if k != 1 else f"p_{n}"
                                          for n, k in zip(learnable, powers, strict=True) if k]
            texts[key] = "(" + "*".join(factors) + ")"
    return print_program(base, "torch", "_program", (), arguments=tuple(f"p_{n}" for n in learnable),
                         constants=texts)


def torch_module(act: Any, /, learnable: Sequence[str] = (), **params: Any) -> Any:
    """``act`` (a catalogue name, a formula in x, or an Activation) as an ``nn.Module``.

    Args:
        act: e.g. ``"swish"``, ``"x*tanh(a*exp(x))"``.
        learnable: names of parameters to train (``nn.Parameter``, initialised at their values);
            the others are fixed in the printed program and listed in ``module.fixed``.
        params: parameter values.

    Without learnable parameters the module runs :func:`activation_lab.export.torch_function`'s
    function (double backward included).  With them, see the module docstring for what holds.
    """
    import torch

    from .functions import torch_function

    a = resolve_activation(act, params)
    learnable = tuple(learnable)
    unknown = [n for n in learnable if n not in a.params]
    if unknown:
        have = ", ".join(a.params) or "none"
        raise LearnableError(f"{a.name} has no parameter {', '.join(map(repr, unknown))}; its parameters: {have}")
    fixed = {k: v for k, v in a.params.items() if k not in learnable}
    fn = torch_function(a) if not learnable else None
    forward_source = parametrised_source(a.formula, tuple(sorted(fixed.items())), learnable,
                                         tuple(sorted((k, a.params[k]) for k in learnable))) if learnable else ""
    program = guarded = None
    if learnable:
        ns = namespace("torch")
        exec(compile(forward_source, f"<activation_lab export learnable: {a.name}>", "exec"), ns)  # noqa: S102
        program = ns["_program"]
        guarded_source = parametrised_source(a.formula, tuple(sorted(fixed.items())), learnable,
                                             tuple(sorted((k, a.params[k]) for k in learnable)), True)
        gns = namespace("torch")
        exec(compile(guarded_source, f"<activation_lab export learnable guarded: {a.name}>", "exec"), gns)  # noqa: S102
        guarded = gns["_program"]

    def run(x: Any, ps: Sequence[Any]) -> tuple:
        from .torch_runtime import work_dtype

        work = work_dtype(x)
        xw = x.to(work)
        pw = [p.to(work) for p in ps]
        ys = program(xw, *pw)
        bad = torch.isnan(ys[0]) | torch.isnan(ys[1])
        for y in ys[2:]:
            bad = bad | torch.isnan(y)
        bad = bad & ~torch.isnan(xw)
        if not (x.device.type == "cpu" and not bool(bad.any())):
            safe = guarded(xw, *pw)
            ys = tuple(torch.where(bad, s, y) for s, y in zip(safe, ys, strict=True))
        return ys

    class Learnable(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, *ps):
            ys = run(x, ps)
            ctx.save_for_backward(*ys[1:])
            ctx.x_dtype = x.dtype
            ctx.p_dtypes = [p.dtype for p in ps]
            return ys[0].to(x.dtype)

        @staticmethod
        def backward(ctx, grad):
            if torch.is_grad_enabled():   # create_graph=True: a second derivative would be wanted
                raise LearnableError(f"double backward through {a.name} with learnable parameters "
                                     f"{', '.join(learnable)} is not exported (first-order gradients only); "
                                     "for second derivatives use torch_module without learnable parameters "
                                     "or torch_function")
            dy, *dps = ctx.saved_tensors
            gx = (grad * dy.to(ctx.x_dtype)) if ctx.needs_input_grad[0] else None
            gw = grad.to(dy.dtype)
            gps = [(gw * d).sum().reshape(()).to(p_dtype) if need else None
                   for d, need, p_dtype in zip(dps, ctx.needs_input_grad[1:], ctx.p_dtypes, strict=True)]
            return (gx, *gps)

    class ExportedActivation(torch.nn.Module):
        """An activation printed from its stable program (activation_lab.export)."""

        def __init__(self) -> None:
            super().__init__()
            self.name = a.name
            self.formula = a.formula
            self.fixed = dict(fixed)
            for k in learnable:
                self.register_parameter(k, torch.nn.Parameter(torch.tensor(a.params[k])))

        def forward(self, x: Any) -> Any:
            if fn is not None:
                return fn(x)
            ps = [getattr(self, k) for k in learnable]
            return Learnable.apply(x, *ps)

        def extra_repr(self) -> str:
            values = ", ".join(f"{k}={v:g}" for k, v in self.fixed.items())
            return f"{self.name}: {self.formula}" + (f", {values}" if values else "") + \
                (f", learnable={learnable}" if learnable else "")

    return ExportedActivation()
