"""The PyTorch, JAX and standalone-NumPy targets: the program printed as framework source.

One printer for the three (the target names a column of the table of primitives,
:mod:`activation_lab.numeric.primitives`, ``targets``): each step of the program
(:mod:`activation_lab.numeric.program`) becomes one line ``v<i> = <the row's text>``, constants
become Python float literals (the float64 nearest the program's 40-digit text) and the function
returns one value per order.  What the program leaves to its targets is printed after the
steps, only where a probe at export time finds it needed (so that TeLU costs no extra pass):

* the guarded program (every product ``inf·0 = 0``) where the plain one gives nan at finite x
  (the probe runs the printed NumPy text in float32 and float64 over ±10⁻⁴⁵ … ±10³⁰⁸);
* the limits at ±inf (:func:`activation_lab.numeric.limits.limits`) where the steps do not
  reach them;
* the sign of tail zeros (TeLU′(−800) = −0.0), as :func:`activation_lab.numeric.evaluate.signed_zeros`;
* nan for nan where a select maps it to a number (ReLU's ``where(x > 0, x, 0)``).

For PyTorch and JAX, tanh and sech are the printer's helpers, which take cheaper forms where the
results are float32 or narrower (the printed functions' ``f32``); JAX's guarded product is one
product and one check.  For PyTorch, a step that would allocate its result writes into ``s[k]``
instead (``out=``; the function's argument ``s`` holds None, so that torch allocates, unless the runtime passes the
buffers it reuses from block to block), ``k`` a buffer freed at an earlier value's last use; the
function's ``slots`` attribute says how many.

The source never contains user text: names are ``x``, ``s``, ``f32``, ``v<i>``, ``y<k>``, the helpers'
and the framework's.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..errors import FormulaTooComplexError
from ..numeric.limits import limits, zero_limit_sides
from ..numeric.primitives import PRIMITIVES
from ..numeric.program import Program, Ref, Step, program

__all__ = ["TARGETS", "Target", "print_program", "program_source", "Finish", "finish_of"]


@dataclass(frozen=True)
class Target:
    """A framework the printer writes for: its array namespace's name and the imports its text needs."""

    name: str
    xp: str
    imports: tuple[str, ...]


TARGETS: dict[str, Target] = {
    "torch": Target("torch", "torch", ("import torch",)),
    "jax": Target("jax", "jnp", ("import functools", "", "import jax", "import jax.numpy as jnp",
                                 "import jax.scipy.special")),
    "numpy": Target("numpy", "np", ("import numpy as np", "import scipy.special")),
}

#: the guarded product, in every target's namespace (torch, jnp and np share these names)
_MUL_GUARDED = '''\
def _mul_guarded(*factors):
    """A product in which inf*0 is 0, signed as the product of the signs: where exp(x) has
    overflowed beside a factor that underflowed faster, the exact product is below every subnormal."""
    out = factors[0]
    for f in factors[1:]:
        prod = out * f
        bad = (prod != prod) & (out == out) & (f == f)   # nan from numbers (a != a: a vector compare when compiled)
        out = {xp}.where(bad, {xp}.copysign({xp}.zeros_like(prod), {xp}.sign(out) * {xp}.sign(f)), prod)
    return out
'''


#: PyTorch's guarded product: the same values as :data:`_MUL_GUARDED` with torch.sign(±0) = 0 (the
#: zero takes the infinite factor's sign), in fewer operations, which compiled cost (measured:
#: docs/notes/exports.md): where the product is nan and neither factor is, one is ±inf and the
#: other ±0, so their sum is that infinity
_MUL_GUARDED_TORCH = '''\
def _mul_guarded(*factors):
    """A product in which inf*0 is 0, signed as the infinite factor: where exp(x) has overflowed
    beside a factor that underflowed faster, the exact product is below every subnormal."""
    out = factors[0]
    for f in factors[1:]:
        prod = out * f
        s = out + f   # +-inf where prod is inf*0, nan where a factor is nan
        out = torch.where(prod == prod, prod, torch.where(s == s, torch.copysign(torch.zeros_like(prod), s), s))
    return out
'''

#: PyTorch's tanh and sech (the rows' ``targets["torch"]`` text calls them).  ``f32``: the results
#: are rounded to float32 (float32 x, computed in float64).  Compiled, inductor's float64 tanh and
#: cosh cost about three times its exp (measured: docs/notes/exports.md), so there they are
#: computed from one exp each, as the C target's float32 CPU loop computes them: tanh|u| =
#: (1 - q)/(1 + q), q = e^-2|u| (|u| itself below 2^-17), relative error below 2^-35 (1 - q loses
#: bits as |u| -> 0), harmless in a float32 result but not in a float64 one, hence only with f32;
#: sech(u) = 2z/(1 + z^2), z = e^-|u|.  Eager, torch's own (the same bits as every other target).
_TORCH_HELPERS = '''

def _tanh(u, f32, out=None):
    """tanh(u); compiled for a float32 result, from one exp (relative error below 2**-35)."""
    if f32 and torch.compiler.is_compiling():
        z = torch.exp(-torch.abs(u))
        r = 1 / (1 + z * z)
        return torch.copysign(torch.where(torch.abs(u) < 2.0**-17, torch.abs(u), (1 - z * z) * r), u)
    return torch.tanh(u, out=out)


def _sech(u, f32, out=None):
    """sech(u) = 1/cosh(u); compiled for a float32 result, from one exp."""
    if f32 and torch.compiler.is_compiling():
        z = torch.exp(-torch.abs(u))
        r = 1 / (1 + z * z)
        return 2 * z * r
    return torch.cosh(u, out=out).reciprocal_()
'''


#: JAX's guarded product: the values of ``_MUL_GUARDED`` in jnp (a zero signed as the product of
#: the factors' signs, as jnp.sign keeps the sign of a zero), as one product and one check, which
#: jitted costs fewer operations than a check per factor: the plain product is nan where a factor is
#: nan (then so is the sum of their magnitudes) or where numbers met as inf*0, the product of
#: numbers whose exact value is 0 below every subnormal (an overflow met an underflow)
_MUL_GUARDED_JAX = """\
def _mul_guarded(*factors):
    \"\"\"A product in which inf*0 is 0, signed as the product of the signs: where exp(x) has
    overflowed beside a factor that underflowed faster, the exact product is below every subnormal.\"\"\"
    prod, size, signs = factors[0], jnp.abs(factors[0]), jnp.sign(factors[0])
    for f in factors[1:]:
        prod, size, signs = prod * f, size + jnp.abs(f), signs * jnp.sign(f)
    # prod is nan where a factor is (then so is size) or where numbers met as inf*0 (then it is 0)
    return jnp.where(prod == prod, prod, jnp.where(size == size, signs * 0.0, prod))
"""

#: JAX's tanh and sech (the rows' ``targets["jax"]`` text calls them).
#: ``f32``: the results are float32 or narrower (computed in float32 with 64-bit types off, in
#: float64 with them on).  Then tanh is XLA's own, a rational approximation (float32: 4.3 ULP at
#: most, measured on 8e5 points; float64: 6.5 float64 ULP, nothing in a float32 result) that costs
#: less than half the expm1 form (TeLU's f jitted, 10^7 float32: 3.6 -> 2.5 ns per element), and
#: sech(u) = 2z/(1 + z^2), z = e^-|u|: one exp where XLA's cosh is two (float32: 2.4 ULP at most
#: against 25 for 1/cosh, measured); z^2 is written z*min(z, 1), because XLA's simplifier turns
#: exp(a)*exp(a) into a second exp.  float64 results: the table's expm1 form of tanh (XLA's float64
#: tanh is 6.5 ULP off near +-1) and 1/cosh, the bits of before.
_JAX_HELPERS = """

def _tanh(u, f32):
    \"\"\"tanh(u); XLA's own where the results are float32 or narrower.\"\"\"
    if f32:
        return jnp.tanh(u)
    w = jnp.expm1(-2 * jnp.abs(u))
    return -jnp.sign(u) * w / (2 + w)


def _sech(u, f32):
    \"\"\"sech(u) = 1/cosh(u); from one exp where the results are float32 or narrower.\"\"\"
    if f32:
        z = jnp.exp(-jnp.abs(u))
        return 2 * z / (1 + z * jnp.minimum(z, 1.0))   # not z*z, which XLA rewrites as a second exp
    return 1.0 / jnp.cosh(u)
"""


def _literal(text: str) -> str:
    """A program constant as a Python literal (the float64 nearest its 40-digit text)."""
    value = float(text)
    if math.isnan(value):
        return 'float("nan")'
    if math.isinf(value):
        return 'float("inf")' if value > 0 else '(-float("inf"))'
    out = repr(value)
    return f"({out})" if out.startswith("-") else out


def _text(a: Ref, constants: Mapping[str, str] | None = None) -> str:
    if a[0] == "x":
        return "x"
    if a[0] == "v":
        return f"v{a[1]}"
    if a[2] == "nan":
        return 'float("nan")'
    if a[2] == "K" and constants and a[1].removeprefix("-") in constants:
        text = constants[a[1].removeprefix("-")]
        return f"(-{text})" if a[1].startswith("-") else text
    if a[2] in ("K", "float"):
        return _literal(a[1])
    return f"({a[1]})" if a[1].startswith("-") else a[1]


def _fill(target: Target, value: str) -> str:
    return f"{target.xp}.full_like(x, {value})"


_UNARY_CALL = re.compile(r"torch\.[\w.]+\(\{0\}\)|_(tanh|sech)\(\{0\}, f32\)")
#: in-place forms of PyTorch's arithmetic on a dead operand ({d}) and the other one ({o})
_IN_PLACE = {"add": "{d}.add_({o})", "mul": "{d}.mul_({o})", "sub": "{d}.sub_({o})", "div": "{d}.div_({o})",
             "neg": "{d}.neg_()"}


def _in_place(prog: Program, step: Step, args: list[str], dead: list[int]) -> tuple[str, int] | None:
    """PyTorch's text for ``step`` writing into the buffer of an operand that dies here (a
    float temporary; every temporary has x's shape, constants being folded), and that operand's
    step: eager PyTorch allocates, and faults in, a new buffer per operation otherwise.  None
    where none applies."""
    def floating(a: Ref) -> bool:
        return a[0] == "v" and a[1] in dead and PRIMITIVES[prog.steps[a[1]].op].kind == "float" \
            and prog.steps[a[1]].op not in ("lt", "le", "gt", "ge", "eq", "ne", "and", "or", "not")

    text = PRIMITIVES[step.op].targets["torch"]
    if len(step.args) == 1 and floating(step.args[0]):
        if _UNARY_CALL.fullmatch(text):
            return text.format(args[0])[:-1] + f", out={args[0]})", step.args[0][1]
        if step.op == "neg":
            return _IN_PLACE["neg"].format(d=args[0]), step.args[0][1]
        return None
    if step.op in _IN_PLACE and len(step.args) == 2:
        if floating(step.args[0]):
            return _IN_PLACE[step.op].format(d=args[0], o=args[1]), step.args[0][1]
        if step.op in ("add", "mul") and floating(step.args[1]):
            return _IN_PLACE[step.op].format(d=args[1], o=args[0]), step.args[1][1]
        if step.op == "div" and args[0] == "1.0" and floating(step.args[1]):
            return f"{args[1]}.reciprocal_()", step.args[1][1]
    return None


#: PyTorch's arithmetic written into a given buffer (``out=``): {a} a tensor, {b} either
_INTO = {"add": "torch.add({a}, {b}, out={s})", "mul": "torch.mul({a}, {b}, out={s})",
         "sub": "torch.sub({a}, {b}, out={s})", "div": "torch.div({a}, {b}, out={s})"}


def _into_slot(step: Step, args: list[str], slot: str) -> str | None:
    """PyTorch's text for ``step`` writing into the buffer ``slot`` (``s[k]``: None lets torch
    allocate, as without ``out=``), for a float step computed by one call; None where the step's
    text has no such form (it then allocates)."""
    text = PRIMITIVES[step.op].targets["torch"]
    if PRIMITIVES[step.op].kind != "float" or step.op in ("lt", "le", "gt", "ge", "eq", "ne", "and", "or", "not"):
        return None
    tensor = [a[0] in ("x", "v") for a in step.args]
    if len(step.args) == 1 and tensor[0]:
        if _UNARY_CALL.fullmatch(text):
            return text.format(args[0])[:-1] + f", out={slot})"
        return f"torch.neg({args[0]}, out={slot})" if step.op == "neg" else None
    if step.op in _INTO and len(step.args) == 2:
        if tensor[0]:
            return _INTO[step.op].format(a=args[0], b=args[1], s=slot)
        if step.op in ("add", "mul") and tensor[1]:   # IEEE + and * commute exactly
            return _INTO[step.op].format(a=args[1], b=args[0], s=slot)
        if step.op == "div" and args[0] == "1.0" and tensor[1]:
            return f"torch.reciprocal({args[1]}, out={slot})"
    return None


def _sech_steps(prog: Program) -> Program:
    """The program with each 1/cosh(u) (as the NumPy targets lower sech) one sech step, which
    PyTorch's row and JAX's helper compute (:data:`_TORCH_HELPERS`, :data:`_JAX_HELPERS`); a cosh
    read by nothing else dropped."""
    def sech_of(step: Step) -> bool:
        return (step.op == "div" and step.args[0] == ("c", "1.0", "float") and step.args[1][0] == "v"
                and prog.steps[step.args[1][1]].op == "cosh")

    if not any(sech_of(step) for step in prog.steps):
        return prog
    steps = [Step("sech", prog.steps[step.args[1][1]].args) if sech_of(step) else step for step in prog.steps]
    live = {a[1] for a in prog.outputs if a[0] == "v"}
    for k in range(len(steps) - 1, -1, -1):
        if k in live:
            live |= {a[1] for a in steps[k].args if a[0] == "v"}
    renumber = {k: j for j, k in enumerate(sorted(live))}

    def moved(a: Ref) -> Ref:
        return ("v", renumber[a[1]]) if a[0] == "v" else a

    return dataclasses.replace(prog, steps=tuple(Step(steps[k].op, tuple(moved(a) for a in steps[k].args))
                                                 for k in sorted(live)),
                               outputs=tuple(moved(a) for a in prog.outputs))


def print_program(prog: Program, target: str, name: str, finish: tuple[Finish, ...] = (),
                  arguments: tuple[str, ...] = (), constants: Mapping[str, str] | None = None) -> str:
    """``def name(x): ...`` computing the program's outputs (a tuple) with ``target``'s text from
    the table of primitives; ``finish[i]`` says which fix-ups output i needs (see :class:`Finish`).
    ``arguments``: names of further arguments, which ``constants`` (40-digit text → printed
    expression) may use in place of constants (the learnable parameters)."""
    tgt = TARGETS[target]
    if target in ("torch", "jax"):
        prog = _sech_steps(prog)
    last_use = {a[1]: i for i, step in enumerate(prog.steps) for a in step.args if a[0] == "v"}
    kept = {a[1] for a in prog.outputs if a[0] == "v"}
    lines = []
    # PyTorch: a step that would allocate its result writes into a buffer s[k] the caller may give
    # (torch_runtime's blocks reuse theirs), freed for a later step at its value's last use
    slot_of: dict[int, int] = {}
    free: list[int] = []
    slots = 0
    for i, step in enumerate(prog.steps):
        args = [_text(a, constants) for a in step.args]
        if step.op == "where" and all(a[0] == "c" for a in step.args[1:]):
            args[2] = _fill(tgt, args[2])   # a select of two numbers: an array of the working dtype
        if step.op == "mul_guarded":
            args = [_fill(tgt, t) if a[0] == "c" else t for a, t in zip(step.args, args, strict=True)]
        dead = sorted({a[1] for a in step.args if a[0] == "v" and last_use[a[1]] == i and a[1] not in kept})
        in_place = _in_place(prog, step, args, dead) if target == "torch" else None
        text = in_place[0] if in_place else None
        if in_place:   # the result lives in the dead operand's buffer
            if in_place[1] in slot_of:
                slot_of[i] = slot_of.pop(in_place[1])
        elif target == "torch":
            k = free.pop() if free else slots
            text = _into_slot(step, args, f"s[{k}]")
            if text:
                slot_of[i] = k
                slots = max(slots, k + 1)
            elif k < slots:
                free.append(k)
        lines.append(f"    v{i} = {text or PRIMITIVES[step.op].targets[target].format(*args, args=', '.join(args))}")
        if dead:   # dropped after their last use, as a nested expression drops its temporaries
            lines.append(f"    del {', '.join(f'v{k}' for k in dead)}")
            free += [slot_of.pop(k) for k in dead if k in slot_of]
    slot_arg = (f"s=(None,) * {slots}",) if slots else ()
    f32_arg = ("f32=False",) if target in ("torch", "jax") else ()   # read by _tanh and _sech
    lines.insert(0, f"def {name}({', '.join(('x', *arguments, *slot_arg, *f32_arg))}):")
    names = []
    fix = [f"def _fix{name}(x, {', '.join(f'y{k}' for k in range(len(prog.outputs)))}):"]
    for k, out in enumerate(prog.outputs):
        value = _fill(tgt, _text(out, constants)) if out[0] == "c" else _text(out)
        lines.append(f"    y{k} = {value}")
        if k < len(finish):
            fix += [f"    {line}" for line in finish[k].lines(tgt, f"y{k}")]
        names.append(f"y{k}")
    returned = f"{', '.join(names)}{',' if len(names) == 1 else ''}"
    slots_line = f"\n{name}.slots = {slots}   # the buffers s may hold\n" if slots else ""
    if len(fix) == 1:
        lines.append(f"    return {returned}")
        return "\n".join(lines) + "\n" + slots_line
    # the fix-ups in a function of their own, which the runtime's ``finish`` skips where no input
    # is ±inf or nan and no result is nan or inf, and none of the outputs ``zeros`` is 0 (a tail's zero is signed)
    zeros = tuple(k for k, fin in enumerate(finish) if fin.zero_sides)
    lines.append(f"    return finish(x, ({returned}), _fix{name}, {zeros!r})")
    fix.append(f"    return {returned}")
    return "\n".join(lines) + "\n" + slots_line + "\n\n" + "\n".join(fix) + "\n"


@dataclass(frozen=True)
class Finish:
    """What order n's output needs after the steps, each only where the probe found it missing:
    the guarded program's value where the plain one is nan at finite x (``guarded``: the name of
    the function computing it), the limits at ±inf (``at_inf``: (sign, limit) pairs), the
    signed zeros of the tails (``zero_sides``: (sign, signed zero) pairs) and nan for nan
    (``nan_in``)."""

    guarded: str | None = None
    at_inf: tuple[tuple[int, float], ...] = ()
    zero_sides: tuple[tuple[int, float], ...] = ()
    nan_in: bool = False

    def lines(self, tgt: Target, y: str) -> list[str]:
        xp = tgt.xp
        out = []
        if self.nan_in:   # a select such as where(x > 0, x, 0) maps nan to a number
            out.append(f"{y} = {xp}.where({xp}.isnan(x), x, {y})")
        if self.guarded:
            out.append(f"{y} = patch_nan(x, {y}, lambda x: {self.guarded}(x)[0])")
        for sign, limit in self.at_inf:
            inf = 'float("inf")' if sign > 0 else '-float("inf")'
            out.append(f"{y} = {xp}.where(x == {inf}, {_literal(repr(limit))}, {y})")
        for sign, zero in self.zero_sides:
            side = "x <= -1.0" if sign < 0 else "x >= 1.0"
            # nested rather than (y == 0) & (side): compiled, a mask's & costs more than a select
            out.append(f"{y} = {xp}.where({side}, {xp}.where({y} == 0, {_literal(repr(zero))}, {y}), {y})"
                       "   # a tail's zero takes its limit's sign")
        return out


def _probe_points() -> dict[str, np.ndarray]:
    mags = np.logspace(-45, 308, 3000)
    mags = np.concatenate([mags, np.linspace(0, 1000, 4001), [5e-324, 1.4e-45, 3.4e38, 1.7e308]])
    x = np.concatenate([mags, -mags])
    out = {}
    with np.errstate(all="ignore"):
        for dtype in ("float32", "float64"):
            pts = x.astype(dtype)
            out[dtype] = pts[np.isfinite(pts)]
    return out


def _run_numpy(source: str, name: str, x: np.ndarray) -> tuple:
    import scipy.special

    namespace = {"np": np, "scipy": scipy}
    exec(_MUL_GUARDED.format(xp="np"), namespace)  # noqa: S102 - the printer's own helper text
    exec(compile(source, "<activation_lab export probe>", "exec"), namespace)  # noqa: S102 - printed from a program
    with np.errstate(all="ignore"):
        return namespace[name](x)


@functools.lru_cache(maxsize=512)
def finish_of(expr: sp.Expr, k: int) -> Finish:
    """The fix-ups f⁽ᵏ⁾'s printed program needs: found by running the printed NumPy text of the
    plain program on the probe points and at ±inf, in float32 and float64."""
    plain = print_program(program(expr, (k,)), "numpy", "_plain")
    try:
        lo_hi: tuple[float, float] | None = limits(expr, k)
    except FormulaTooComplexError:
        lo_hi = None   # the steps' own values at ±inf (as evaluate gives them then)
    guarded, at_inf, zeros, nan_in = None, set(), set(), False
    tail_zeros = dict(zero_limit_sides(expr, k))
    for dtype, pts in _probe_points().items():
        (y,) = _run_numpy(plain, "_plain", pts)
        y = np.broadcast_to(y, pts.shape)
        if np.any(np.isnan(y)):
            guarded = f"_guarded{k}"
        for sign, zero in tail_zeros.items():
            side = (y == 0) & ((pts <= -1) if sign < 0 else (pts >= 1))
            if np.any(np.signbit(y[side]) != (math.copysign(1.0, zero) < 0)):
                zeros.add((sign, zero))
        (y_nan,) = _run_numpy(plain, "_plain", np.array([np.nan], dtype=dtype))
        nan_in = nan_in or not np.all(np.isnan(y_nan))
        if lo_hi is not None:
            (y_inf,) = _run_numpy(plain, "_plain", np.array([-np.inf, np.inf], dtype=dtype))
            for sign, got, want in zip((-1, 1), np.broadcast_to(y_inf, (2,)), lo_hi, strict=True):
                same = (math.isnan(got) and math.isnan(want)) or (got == want and np.signbit(got) == np.signbit(want))
                if not same:
                    at_inf.add((sign, want))
    # a guarded value may be a zero of either sign: its tail's sign is then set after it
    if guarded:
        zeros |= set(tail_zeros.items())
    return Finish(guarded, tuple(sorted(at_inf)), tuple(sorted(zeros)), nan_in)


def program_source(expr: sp.Expr, target: str, functions: dict[str, tuple[int, ...]]) -> str:
    """Source of each ``def name(x)`` of ``functions`` (name → orders) returning f⁽ⁿ⁾ for each n
    of its orders, fix-ups included, then of the guarded programs they call (``_guarded<n>``)."""
    parts, guarded = [], {}
    for name, orders in functions.items():
        finish = tuple(finish_of(expr, k) for k in orders)
        if not any(fin.guarded for fin in finish):
            parts.append(print_program(program(expr, orders), target, name, finish))
            continue
        # two variants: the plain program with the guarded one run where it gave nan (eager NumPy
        # and PyTorch on a CPU, which check first), and the guarded program itself with the other
        # fix-ups (compiled, jitted, on a GPU: its guards fuse into the one loop, a second program would not)
        plain = print_program(program(expr, orders), target, name, finish)
        head, body = plain.split("\n", 1)
        call = f"{name}_guarded(x, f32=f32)" if target in ("torch", "jax") else f"{name}_guarded(x)"
        parts.append(f"{head}\n    if not plain_path(x):\n        return {call}\n{body}")
        unguarded = tuple(dataclasses.replace(fin, guarded=None) for fin in finish)
        parts.append(print_program(program(expr, orders, guarded=True), target, f"{name}_guarded", unguarded))
        guarded.update({fin.guarded: k for k, fin in zip(orders, finish, strict=True) if fin.guarded})
    for name, k in guarded.items():
        parts.append(print_program(program(expr, (k,), guarded=True), target, name))
    return "\n\n".join(parts)


def helpers_source(target: str) -> str:
    """The helpers printed programs may call (the guarded product; for PyTorch also tanh and
    sech); ``patch_nan`` is the runtime's."""
    if target == "torch":
        return _MUL_GUARDED_TORCH + _TORCH_HELPERS
    if target == "jax":
        return _MUL_GUARDED_JAX + _JAX_HELPERS
    return _MUL_GUARDED.format(xp=TARGETS[target].xp)
