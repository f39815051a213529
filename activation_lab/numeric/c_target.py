"""C code generation: one elementwise kernel body computing f⁽ⁿ⁾ for several orders at once.

The body is the exact ``operation`` string of a ``cupy.ElementwiseKernel`` (see
:mod:`activation_lab.numeric.backends`); the tests compile the same text with gcc on the CPU.
It reads one input ``x_in`` (any real dtype), computes in double and writes ``y0, y1, …``
(one per requested order) in the output dtype, following the NumPy backend
(:mod:`activation_lab.numeric.evaluate`) step by step:

* the stable forms of :func:`~activation_lab.numeric.rewrite.stable_derivative`, constants
  folded to correctly rounded double literals, common subexpressions shared between orders;
* softplus and sech as the same formulas as ``numpy.logaddexp(0, u)`` and ``1/cosh(u)``;
  sigmoid as e^-|u|/(1 + e^-|u|) for u < 0 (no overflow, and the subnormal tail below u ≈ −709
  that ``scipy.special.expit`` flushes to 0 is kept); tanh as the GPU's tanh, or on the CPU
  from one expm1; erfc, expm1, log1p from the C library; every helper branch-free, so that a
  CPU compiler vectorises the loop (:mod:`activation_lab.numeric.native`);
* an element whose fast result is nan for a finite x is recomputed with the guarded form, in
  which a product inf·0 is 0 (the exact product is far below the smallest subnormal there);
* x = ±inf gives the limit of f⁽ⁿ⁾ (computed once with mpmath), x = nan gives nan;
* a float16 result is rounded once, correctly: double → float by round-to-odd, then → half.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from ..errors import ActivationLabError
from .primitives import PRIMITIVES
from .program import Program, program

__all__ = ["CKernel", "c_kernel", "C_PREAMBLE", "KernelSourceError", "fast_statements", "print_c"]

#: helper functions shared by every kernel; ``AL_FN`` marks them device functions under NVRTC
C_PREAMBLE = r"""
#if defined(__CUDACC_RTC__) || defined(__CUDACC__)
#define AL_FN __device__ inline
#define AL_NAN __longlong_as_double(0x7ff8000000000000LL)
#define AL_INF __longlong_as_double(0x7ff0000000000000LL)
#define AL_FLOAT_BITS(f) __float_as_uint(f)
#define AL_BITS_FLOAT(u) __uint_as_float(u)
#else
#include <math.h>
#include <string.h>
#define AL_FN static inline
#define AL_NAN ((double)NAN)
#define AL_INF ((double)INFINITY)
AL_FN unsigned int al_float_bits(float f) { unsigned int u; memcpy(&u, &f, sizeof u); return u; }
AL_FN float al_bits_float(unsigned int u) { float f; memcpy(&f, &u, sizeof f); return f; }
#define AL_FLOAT_BITS(f) al_float_bits(f)
#define AL_BITS_FLOAT(u) al_bits_float(u)
#endif

/* 1/(1 + e^-u) without overflow of exp for either sign; subnormal results kept for u < -709.
   Branch-free (one exp, one division), so that a CPU compiler can vectorise the loop. */
AL_FN double al_sigmoid(double u) {
    const double e = exp(-fabs(u));
    return (u < 0.0 ? e : 1.0) / (1.0 + e);
}
/* numpy.logaddexp(0, u) = ln(1 + e^u) = max(u, 0) + log1p(e^-|u|); nan stays nan */
AL_FN double al_softplus(double u) {
    return (u > 0.0 ? u : 0.0) + log1p(exp(-fabs(u)));
}
/* tanh(u): the GPU's own tanh; on the CPU -w/(2 + w) with w = expm1(-2|u|), accurate to a few
   ULP of double for every u and half the cost of a vectorised tanh (one expm1) */
#if defined(__CUDACC_RTC__) || defined(__CUDACC__)
AL_FN double al_tanh(double u) { return tanh(u); }
#else
AL_FN double al_tanh(double u) {
    const double w = expm1(-2.0 * fabs(u));
    return copysign(-w / (2.0 + w), u);
}
/* For results rounded to float32 only (native CPU kernels): tanh and sech² share q = e^-2|u|
   and r = 1/(1 + q) (the compiler merges them), so both cost one exp and one division; relative
   error below 2^-35 (1 - q loses bits for small |u|: tanh(u) = u below 2^-17, where u^3/3 is
   below 2^-35 of u). */
AL_FN double al_tanh_f32(double u) {
    const double a = fabs(u), q = exp(-2.0 * a);
    return copysign(a < 0x1p-17 ? a : (1.0 - q) * (1.0 / (1.0 + q)), u);
}
AL_FN double al_sech2_f32(double u) {
    const double q = exp(-2.0 * fabs(u)), r = 1.0 / (1.0 + q);
    return 4.0 * q * (r * r);
}
AL_FN double al_sech_f32(double u) {
    const double z = exp(-fabs(u));
    return 2.0 * z / (1.0 + z * z);
}
#endif
AL_FN double al_sq(double u) { return u * u; }
/* numpy.sign with +0 for both zeros, as the NumPy backend's guarded product uses it */
AL_FN double al_sgn(double u) { return u > 0.0 ? 1.0 : (u < 0.0 ? -1.0 : 0.0); }
/* product in which inf*0 is 0 (signed as the product of the signs) */
AL_FN double al_mul(double a, double b) {
    const double p = a * b;
    if (isnan(p) && !isnan(a) && !isnan(b)) return copysign(0.0, al_sgn(a) * al_sgn(b));
    return p;
}
/* double -> float rounding to odd: the later float -> half rounding is then correct (no double rounding) */
AL_FN float al_round_odd(double d) {
    float f = (float)d;
    if (!isnan(d) && (double)f != d) {
        if (fabs((double)f) > fabs(d)) f = nextafterf(f, 0.0f);
        f = AL_BITS_FLOAT(AL_FLOAT_BITS(f) | 1u);
    }
    return f;
}
"""

_C_TYPES = {"float16": "float", "float32": "float", "float64": "double"}


class KernelSourceError(ActivationLabError, ValueError):
    """An expression that the C target cannot print (a function without a C routine)."""


@dataclass(frozen=True)
class CKernel:
    """Source of one fused elementwise kernel.

    Attributes:
        name: a C identifier naming the kernel.
        orders: derivative orders, output ``y{i}`` holds f⁽ⁿ⁾ for ``orders[i]``.
        in_dtype, out_dtype: NumPy dtype names of ``x_in`` and of every output.
        preamble: helper functions (:data:`C_PREAMBLE`).
        operation: the per-element statements (CuPy's ``operation``).
        in_params, out_params: CuPy parameter lists, e.g. ``"float32 x_in"``.
    """

    name: str
    orders: tuple[int, ...]
    in_dtype: str
    out_dtype: str
    preamble: str
    operation: str
    in_params: str
    out_params: str

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(f"y{i}" for i in range(len(self.orders)))

    def __str__(self) -> str:
        return (f"// kernel {self.name}: orders {self.orders}, {self.in_params} -> {self.out_params}\n"
                f"{self.operation}")


def _c_double(value: float) -> str:
    """A C double literal for a float64 value, ±0, ±inf and nan included."""
    if math.isnan(value):
        return "AL_NAN"
    if math.isinf(value):
        return "AL_INF" if value > 0 else "(-AL_INF)"
    text = repr(value)  # shortest round-tripping decimal: the same constant as the NumPy target
    return f"({text})" if text.startswith("-") else text


def print_c(prog: Program, prefix: str, indent: str, float32: bool = False) -> tuple[list[str], list[str]]:
    """C declarations of the steps of ``prog`` (``const double al_t3 = …;``) and the C text of
    each output, each step spelled by its row of the table of primitives.

    ``float32`` (results rounded to float32, CPU only): the rows' cheaper ``c_float32`` forms,
    and sech(u)² as one ``al_sech2_f32(u)``.
    """
    def text(a: tuple) -> str:
        if a[0] == "x":
            return "x"
        if a[0] == "v":
            return f"{prefix}{a[1]}"
        if a[2] == "bool":
            return "1" if a[1] == "True" else "0"
        return _c_double(float(a[1]))

    def sech_squared(step) -> bool:
        return (float32 and step.op == "square" and step.args[0][0] == "v"
                and prog.steps[step.args[0][1]].op == "sech")

    # the operands each step reads once printed (sech(u)² reads u, not sech(u)), and from them the
    # steps that are needed: a compiler may not drop an unused call to the vector math library
    reads = [prog.steps[s.args[0][1]].args if sech_squared(s) else s.args for s in prog.steps]
    live = {a[1] for a in prog.outputs if a[0] == "v"}
    for i in range(len(prog.steps) - 1, -1, -1):
        if i in live:
            live |= {a[1] for a in reads[i] if a[0] == "v"}
    lines = []
    for i, step in enumerate(prog.steps):
        if i not in live:
            continue
        row = PRIMITIVES[step.op]
        args = [text(a) for a in step.args]
        if step.op == "mul_guarded":   # folded left to right, as the NumPy target's guarded product
            value = functools.reduce(lambda acc, p: f"al_mul({acc}, {p})", args)
        elif sech_squared(step):
            value = f"al_sech2_f32({text(prog.steps[step.args[0][1]].args[0])})"
        else:
            value = (row.c_float32 if float32 and row.c_float32 else row.c).format(*args)
        lines.append(f"{indent}const {'int' if row.kind == 'bool' else 'double'} {prefix}{i} = {value};")
    return lines, [text(a) for a in prog.outputs]


def _program(expr: sp.Expr, orders: tuple[int, ...], guarded: bool = False) -> Program:
    try:
        return program(expr, orders, guarded, expand=False)
    except NotImplementedError as err:
        raise KernelSourceError(f"the C/CuPy target cannot print this expression ({err}); "
                                "evaluate it with NumPy arrays instead") from None


@functools.lru_cache(maxsize=512)
def fast_statements(expr: sp.Expr, orders: tuple[int, ...], float32: bool = False
                    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The C statements of the fast program of f⁽ⁿ⁾, n in ``orders``: declarations of the steps
    (``const double al_t0 = …;``) and one C expression per order, in ``x``.

    The fast part of the CuPy kernel; with ``float32`` (results rounded to float32, CPU only)
    tanh and sech are printed as the cheaper ``al_tanh_f32``/``al_sech2_f32`` (relative error
    below 2⁻³⁵): the body of the native CPU loop (:mod:`activation_lab.numeric.native`).
    """
    lines, values = print_c(_program(expr, orders), "al_t", "    ", float32)
    return tuple(lines), tuple(values)


def c_kernel(expr: sp.Expr, orders: int | Sequence[int] = (0, 1), in_dtype: str = "float64",
             out_dtype: str | None = None) -> CKernel:
    """The fused kernel computing f⁽ⁿ⁾(x) for each n in ``orders``.

    The source is printed from the same stable program as the NumPy target (one step per
    line over the table of primitives); CuPy compiles it with NVRTC, and the test suite
    compiles it with gcc on the CPU and compares it with NumPy.

    Parameters
    ----------
    expr : sympy.Expr
        f as a SymPy expression in ``x`` (``Activation.expr``).
    orders : int or sequence of int, optional
        Derivative orders, e.g. ``(0, 1)`` for f and f′ in one pass.
    in_dtype : str, optional
        NumPy dtype name of the input (floating, integer or bool).
    out_dtype : str, optional
        float16, float32 or float64; default as the NumPy backend chooses.

    Returns
    -------
    CKernel
        The preamble (helper functions) and the per-element operation of an element-wise kernel.

    Raises
    ------
    KernelSourceError
        No orders given, or ``expr`` has free symbols other than ``x``.
    ActivationLabError
        An order that is not a non-negative integer up to ``MAX_ORDER``, or an unsupported dtype.
    """
    from ..requests import check_order

    orders = (orders,) if isinstance(orders, int) else tuple(orders)
    if not orders:
        raise KernelSourceError("no derivative orders given; pass e.g. orders=(0, 1)")
    for k in orders:
        check_order(k)
    return _c_kernel(expr, orders, in_dtype, out_dtype)


@functools.lru_cache(maxsize=512)
def _c_kernel(expr: sp.Expr, orders: tuple[int, ...], in_dtype: str, out_dtype: str | None) -> CKernel:
    import numpy as np

    from ..requests import result_dtype
    from ..symbolic.parsing import X
    from .limits import limits, zero_limit_sides

    if expr.free_symbols - {X}:
        others = sorted(map(str, expr.free_symbols - {X}))
        raise KernelSourceError(f"expression has free symbols other than x: {others}")
    out_name = (np.dtype(out_dtype) if out_dtype else result_dtype(np.dtype(in_dtype))).name
    if out_name not in _C_TYPES:
        raise KernelSourceError(f"output dtype {out_name} is not supported; use float16, float32 or float64")
    fast_lines, fast_values = fast_statements(expr, orders)
    body = ["{", "const double x = (double)(x_in);"]
    body.append("double " + ", ".join(f"al_y{i}" for i in range(len(orders))) + ";")
    body.append("if (isnan(x)) {")
    body += [f"    al_y{i} = AL_NAN;" for i in range(len(orders))]
    body.append("} else if (isinf(x)) {")
    for i, k in enumerate(orders):
        lo, hi = limits(expr, k)
        body.append(f"    al_y{i} = (x > 0.0) ? {_c_double(hi)} : {_c_double(lo)};")
    body.append("} else {")
    body += fast_lines
    body += [f"    al_y{i} = {v};" for i, v in enumerate(fast_values)]
    for i, k in enumerate(orders):
        lines, (value,) = print_c(_program(expr, (k,), guarded=True), f"al_g{i}_", "        ")
        body.append(f"    if (isnan(al_y{i})) {{")
        body += lines
        body.append(f"        al_y{i} = {value};")
        body.append("    }")
    for i, k in enumerate(orders):
        # tail zeros take their limit's sign, as evaluate.signed_zeros gives them (TeLU'(-800) = -0.0)
        for sign, limit in zero_limit_sides(expr, k):
            test = "x <= -1.0" if sign < 0 else "x >= 1.0"
            body.append(f"    if (al_y{i} == 0.0 && {test}) al_y{i} = {_c_double(limit)};")
    body.append("}")
    for i in range(len(orders)):
        store = {"float64": f"al_y{i}", "float32": f"(float)al_y{i}", "float16": f"al_round_odd(al_y{i})"}[out_name]
        body.append(f"y{i} = {store};")
    body.append("}")
    in_name = np.dtype(in_dtype).name
    digest = hashlib.sha1(f"{sp.srepr(expr)}|{orders}".encode()).hexdigest()[:12]
    name = f"al_{digest}_{in_name}_{out_name}"
    return CKernel(
        name=name, orders=tuple(orders), in_dtype=in_name, out_dtype=out_name, preamble=C_PREAMBLE,
        operation="\n".join(body) + "\n", in_params=f"{in_name} x_in",
        out_params=", ".join(f"{out_name} y{i}" for i in range(len(orders))))
