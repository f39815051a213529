"""The training frameworks' activations measured in float16, bfloat16 and float32 (issue 17).

For PyTorch (``torch.nn.functional``) and JAX (``jax.nn``), where installed, three kinds of
implementation of each activation are measured, value f and derivative f′ (by autograd), with
the verdicts of :mod:`activation_lab.analysis.exhaustive`:

* ``builtin``: the framework's own function, as :mod:`activation_lab.frameworks` names it
  (``al.get("jax:gelu")`` is the reference it is measured against, so JAX's derivative
  conventions at kinks are its own);
* ``naive``: the catalogue formula typed into the framework (SymPy's printer, the framework's
  sigmoid, softplus, erf …), differentiated by autograd: what a user writes by hand;
* ``export``: this project's :func:`activation_lab.export.torch_function` /
  :func:`~activation_lab.export.jax_function`, where that package is present; for JAX also
  ``export-x64``, the same run under ``jax.enable_x64(True)`` (the export then computes in
  float64, out of reach of XLA's flush of float32 subnormal intermediates on the CPU).

Every input of float16 and bfloat16 is measured (2¹⁶ each), and float32 on the default sweep
(:func:`~activation_lab.analysis.sweep.default_points`).  The exact values come once per
activation, order and format (:func:`activation_lab.analysis.exhaustive.reference`: float64,
with mpmath near rounding boundaries) and every implementation is judged against them
(:func:`~activation_lab.analysis.exhaustive.judge`: err ≤ T·max(1, κ) ULP, no nan or inf for
a finite exact value).  Each row also gives the first x (smallest |x|) where the result is nan,
inf, or 0 while the exact value rounds to a finite, nonzero number of the format.

The frameworks run on the CPU, in the format itself (no upcast by this module); JAX under
``jit``.  Importing this module imports neither framework.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..errors import ActivationLabError

__all__ = ["AUDIT_DTYPES", "AUDIT_FRAMEWORKS", "KINDS", "AuditRow", "FrameworkAudit", "audited_names",
           "builtin_name", "framework_audit", "framework_function", "naive_function", "naive_namespace",
           "to_torch"]

#: the frameworks audited, in table order
AUDIT_FRAMEWORKS = ("torch", "jax")
#: the formats audited: every input of the 16-bit ones, the default sweep of float32
AUDIT_DTYPES = ("float16", "bfloat16", "float32")
#: kinds of implementation, in table order
KINDS = ("builtin", "naive", "export", "export-x64")
#: the catalogue entry the audit always includes although neither framework ships it
SUBJECT = "telu"
#: framework functions whose keyword arguments give another catalogue entry than their defaults
_WITH_ARGUMENTS: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("jax", "gelu"): ("gelu", {"approximate": False}),
    ("torch", "gelu_tanh"): ("gelu", {"approximate": "tanh"}),
}
#: framework names that cannot be called with defaults alone (required arguments)
_NEEDS_ARGUMENTS = frozenset({("torch", "threshold"), ("torch", "prelu")})


# --------------------------------------------------------------------------- the frameworks' functions

def builtin_name(framework: str, entry: str) -> tuple[str, dict[str, Any], str] | None:
    """(function name, keyword arguments, catalogue name of its reference) of the framework's built-in
    for catalogue entry ``entry``, or None where the framework ships none."""
    from ..frameworks import NAMES

    if (framework, entry) in _WITH_ARGUMENTS:
        name, kwargs = _WITH_ARGUMENTS[(framework, entry)]
        return name, dict(kwargs), entry
    for row in NAMES:
        if row.framework == framework and row.entry == entry and (framework, row.name) not in _NEEDS_ARGUMENTS:
            return row.name, {}, row.qualified
    return None


def audited_names() -> list[str]:
    """TeLU, then every catalogue entry both PyTorch and JAX ship (with keyword arguments where needed)."""
    from ..catalog import CATALOG

    both = [e.name for e in CATALOG
            if all(builtin_name(fw, e.name) is not None for fw in AUDIT_FRAMEWORKS)]
    return [SUBJECT, *[n for n in both if n != SUBJECT]]


def naive_namespace(framework: str) -> dict[str, Any]:
    """The framework's own meanings of the package's primitives, for formulas typed into it."""
    if framework == "torch":
        import torch

        return {"sigmoid": torch.sigmoid, "softplus": torch.nn.functional.softplus, "erf": torch.special.erf,
                "erfc": torch.special.erfc, "expm1": torch.expm1, "log1p": torch.log1p}
    if framework == "jax":
        import jax
        import jax.numpy as jnp

        return {"sigmoid": jax.nn.sigmoid, "softplus": jax.nn.softplus, "erf": jax.scipy.special.erf,
                "erfc": jax.scipy.special.erfc, "expm1": jnp.expm1, "log1p": jnp.log1p}
    raise ActivationLabError(f"no naive composition for framework {framework!r}; choose torch or jax")


def naive_function(act: Any, framework: str) -> Callable[[Any], Any]:
    """The formula of ``act`` typed into the framework: SymPy's printer with the framework's own
    sigmoid, softplus, erf, erfc, expm1 and log1p, numbers folded to floats (``torch.sqrt(2)``
    is an error); no stable forms, no shared subexpressions."""
    import sympy as sp

    from ..numeric.program import fold_numbers
    from ..symbolic.parsing import X

    expr = fold_numbers(act.expr)
    namespace = naive_namespace(framework)
    if framework == "torch":
        from sympy.printing.pytorch import TorchPrinter

        return sp.lambdify(X, expr, [namespace, "torch"], printer=TorchPrinter({"strict": False}))
    return sp.lambdify(X, expr, [namespace, "jax"])


def framework_function(framework: str, kind: str, act: Any) -> Callable[[Any], Any] | None:
    """The framework's function of one tensor for ``act`` (None where it has no such kind).

    ``kind``: ``builtin`` (the framework's own), ``naive`` (:func:`naive_function`) or
    ``export`` (:mod:`activation_lab.export`, None where that package is absent).
    """
    if kind == "naive":
        return naive_function(act, framework)
    if kind == "builtin":
        found = builtin_name(framework, act.name)
        if found is None:
            return None
        name, kwargs, _ = found
        if framework == "torch":
            import torch

            fn = getattr(torch.nn.functional, name)
        else:
            import jax

            fn = getattr(jax.nn, name)
        return (lambda x: fn(x, **kwargs)) if kwargs else fn
    if kind in ("export", "export-x64"):
        if kind == "export-x64" and framework != "jax":
            return None
        try:
            from .. import export  # type: ignore[attr-defined]
        except ImportError:
            return None
        maker = getattr(export, f"{framework}_function", None)
        return None if maker is None else maker(act)
    raise ActivationLabError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")


def to_torch(x: np.ndarray) -> Any:
    """A torch tensor holding a copy of ``x`` (bfloat16 too: NumPy's is ml_dtypes', torch gets its bits)."""
    import torch

    if x.dtype.name == "bfloat16":
        return torch.from_numpy(x.view(np.int16).copy()).view(torch.bfloat16)
    return torch.from_numpy(x.copy())


def _torch_runner(fn: Callable, n: int) -> Callable[[np.ndarray], np.ndarray]:
    """NumPy array in, f or f′ (autograd) of the torch function out, in the array's format."""
    import torch

    def to_numpy(y: Any, like: np.ndarray) -> np.ndarray:
        y = y.detach()
        if like.dtype.name == "bfloat16":
            return y.view(torch.int16).numpy().view(like.dtype)
        return y.numpy()

    def run(x: np.ndarray) -> np.ndarray:
        xt = to_torch(x)
        if n == 0:
            with torch.no_grad():
                y = fn(xt)
            return to_numpy(y if torch.is_tensor(y) else torch.full_like(xt, y), x)
        xt.requires_grad_(True)
        y = fn(xt)
        if not torch.is_tensor(y) or not y.requires_grad:
            return np.zeros_like(x)
        (g,) = torch.autograd.grad(y, xt, torch.ones_like(y), allow_unused=True)
        return np.zeros_like(x) if g is None else to_numpy(g, x)

    return run


def _jax_runner(fn: Callable, n: int, x64: bool = False) -> Callable[[np.ndarray], np.ndarray]:
    """NumPy array in, f or f′ (``jax.vjp``) of the JAX function out, under ``jit``, in the array's format;
    with ``x64``, traced and run under ``jax.enable_x64(True)`` (the global setting is left alone)."""
    import jax
    import jax.numpy as jnp

    def value(x: Any) -> Any:
        return jnp.broadcast_to(jnp.asarray(fn(x), dtype=x.dtype), x.shape)

    def derivative(x: Any) -> Any:
        y, pullback = jax.vjp(value, x)
        return pullback(jnp.ones_like(y))[0]

    jitted = jax.jit(value if n == 0 else derivative)
    if not x64:
        return lambda x: np.asarray(jitted(jnp.asarray(x)))

    def run(x: np.ndarray) -> np.ndarray:
        with jax.enable_x64(True):
            return np.asarray(jitted(jnp.asarray(x)))

    return run


# --------------------------------------------------------------------------- results

@dataclass(frozen=True)
class AuditRow:
    """One implementation of f (n = 0) or f′ (n = 1) in one format.

    ``worst_ulp``: the largest error of a finite result for a finite input (nan and inf results
    are counted apart: ``n_failures``, ``first_nan``, ``first_inf``); ``median_ulp`` over every
    finite input (a nan or inf result counts as an infinite error); ``first_nan``, ``first_inf`` and
    ``first_zero``: the x of smallest magnitude where the result is nan, ±inf, or 0 while the exact
    value rounds to a finite (for zero: nonzero) value of the format (None: nowhere);
    ``n_failures``: finite inputs over T·max(1, κ) ULP or non-finite for a finite exact value;
    ``n_special``: those non-finite results and the ±inf and nan inputs answered wrongly (nan must
    give nan, ±inf the limit), ``n_special_inputs`` the latter alone; ``worst_normal_ulp``: the
    worst error of a finite result where the input and the exact value are normal numbers of the
    format (no subnormals, which XLA flushes to zero on the CPU); ``error``: why the
    implementation could not run (the other fields are then nan/None).
    """

    activation: str
    framework: str
    kind: str
    function: str
    dtype: str
    n: int
    points: int
    exhaustive: bool
    worst_ulp: float
    median_ulp: float
    first_nan: float | None
    first_inf: float | None
    first_zero: float | None
    n_failures: int
    n_special: int
    n_special_inputs: int = 0
    worst_normal_ulp: float = math.nan
    error: str = ""

    @property
    def passed(self) -> bool:
        return not self.error and self.n_failures == 0 and self.n_special == 0


@dataclass(frozen=True)
class FrameworkAudit:
    """The audit's rows, and the versions and formats it ran with."""

    rows: tuple[AuditRow, ...]
    versions: dict[str, str]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"rows": [{**asdict(r), "passed": r.passed} for r in self.rows], "versions": dict(self.versions),
                "notes": list(self.notes)}

    def activations(self) -> list[str]:
        return list(dict.fromkeys(r.activation for r in self.rows))

    def table(self, activation: str) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
        """(header, rows) of one activation's table: an implementation and format per row, f and f′ side by side."""
        head = ("implementation", "dtype", "f worst", "f median", "f' worst", "f' median", "worst on normals (f/f')",
                "first nan (f/f')", "first inf (f/f')", "first 0 (f/f')", "special inputs wrong (f/f')", "target")
        cells: dict[tuple[str, str, str, str], dict[int, AuditRow]] = {}
        for r in self.rows:
            if r.activation == activation:
                cells.setdefault((r.framework, r.kind, r.function, r.dtype), {})[r.n] = r
        body = []
        for (_, kind, function, dtype), by_n in cells.items():
            f, df = by_n.get(0), by_n.get(1)
            label = function if kind != "builtin" else f"{function} (builtin)"
            if (f and f.error) or (df and df.error):
                why = (f.error if f and f.error else df.error if df else "")[:60]
                body.append((label, dtype, "error", "", "", "", "", "", "", "", "", why))
                continue
            both = (f, df)
            met = all(r.passed for r in both if r)
            body.append((label, dtype, _u(f.worst_ulp if f else math.nan), _u(f.median_ulp if f else math.nan),
                         _u(df.worst_ulp if df else math.nan), _u(df.median_ulp if df else math.nan),
                         "/".join(_u(r.worst_normal_ulp) if r else "" for r in both),
                         _pair(both, "first_nan"), _pair(both, "first_inf"), _pair(both, "first_zero"),
                         "/".join(str(r.n_special_inputs) if r else "" for r in both), "met" if met else "NOT met"))
        return head, body

    def markdown(self, stamp: str = "") -> str:
        """The audit as Markdown: a stamp, the method in a few lines, one table per activation."""
        lines = ["# Framework audit: activations in float16, bfloat16 and float32", ""]
        if stamp:
            lines += [stamp, ""]
        lines += [
            "ULP errors against the exact value (float64, confirmed with mpmath near rounding boundaries) of "
            "the value f and the derivative f' (by autograd), at every float16 and bfloat16 input (65,536 each) "
            "and on the default float32 sweep; worst: of the finite results, median: of all (a nan or inf "
            "counting as infinite); worst on normals: where the input and the exact value are normal "
            "numbers (no subnormal in or out). "
            "Kinds: *builtin* is the framework's own function, *naive* the catalogue formula typed into the "
            "framework and differentiated by autograd, *export* this project's activation_lab.export "
            "(for JAX also under jax.enable_x64(True), *(x64)*, where it computes in float64). "
            "\"first nan/inf/0\": the input of smallest magnitude where the result is nan, inf, or 0 while the "
            "exact value rounds to a finite nonzero number (- : nowhere). \"special inputs wrong\": how many of "
            "±inf and the nan patterns do not give the limit (nan for nan). Target: every finite input within "
            "T·max(1, κ) ULP (T = 4), no nan or inf for a finite exact value, the special inputs right.", ""]
        lines += [
            "On the CPU, XLA (JAX) flushes subnormal inputs, intermediates and results to zero in float32 and "
            "bfloat16 (bfloat16's subnormals are float32's): every JAX row shows it as a first 0 at the smallest "
            "subnormal input, or where e^x leaves the normal range (x = -87.34) although the result is still "
            "normal, and a worst error of millions of ULP (float32) or hundreds (bfloat16) there. float16 "
            "computes in float32, where its subnormals are normal numbers, and keeps them.", ""]
        for note in self.notes:
            lines.append(f"- {note}")
        if self.notes:
            lines.append("")
        for act in self.activations():
            head, body = self.table(act)
            lines += [f"## {act}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in body]
            lines.append("")
        return "\n".join(lines)

    def __str__(self) -> str:
        out = []
        for act in self.activations():
            head, body = self.table(act)
            widths = [max(len(c) for c in col) for col in zip(head, *body, strict=True)]
            out.append(act)
            out += ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                    for row in (head, *body)]
            out.append("")
        out += [f"note: {n}" for n in self.notes]
        out.append("versions: " + ", ".join(f"{k} {v}" for k, v in self.versions.items()))
        return "\n".join(out)


def _pair(rows: tuple[AuditRow | None, ...], attr: str) -> str:
    return "/".join(_x(getattr(r, attr)) if r else "" for r in rows)


def _u(v: float) -> str:
    if math.isnan(v):
        return ""
    if math.isinf(v):
        return "inf"
    return f"{v:.3g}" if v < 1e4 else f"{v:.2e}"


def _x(v: float | None) -> str:
    return "-" if v is None else f"{v:.6g}"


# --------------------------------------------------------------------------- measuring

def _first(xs: np.ndarray, mask: np.ndarray) -> float | None:
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return None
    i = idx[np.argmin(np.abs(xs[idx]))]
    return float(xs[i])


def _row(listed: str, ref_act: Any, framework: str, kind: str, function: str, n: int, exact: Any, got: np.ndarray,
         exhaustive: bool) -> AuditRow:
    from ..requests import finfo
    from .accuracy import tolerance
    from .exhaustive import judge

    out, err = judge(ref_act, n, exact, got)
    x64, dt = exact.x64, exact.xs.dtype
    finite_x = np.isfinite(x64)
    with np.errstate(all="ignore"):
        rounded = exact.ref.astype(dt).astype(np.float64)
        y = got.astype(np.float64)
    finite_err = err[finite_x & np.isfinite(err)]
    smallest = float(finfo(dt).smallest_normal)
    normal = finite_x & (np.abs(x64) >= smallest) & (np.abs(exact.ref) >= smallest) & np.isfinite(err)
    finite_exact = np.isfinite(rounded) & ~np.isnan(x64)
    return AuditRow(
        activation=listed, framework=framework, kind=kind, function=function, dtype=dt.name, n=n,
        points=int(x64.size), exhaustive=exhaustive,
        worst_ulp=float(finite_err.max()) if finite_err.size else math.nan,
        median_ulp=float(np.median(err[finite_x])) if finite_x.any() else math.nan,
        first_nan=_first(x64, finite_exact & np.isnan(y)), first_inf=_first(x64, finite_exact & np.isinf(y)),
        first_zero=_first(x64, finite_exact & (rounded != 0) & (y == 0)),
        n_failures=out["failures_n"], n_special=out["special"],
        n_special_inputs=int(np.count_nonzero(~finite_x & (err > tolerance(n)))),
        worst_normal_ulp=float(err[normal].max()) if normal.any() else math.nan)


def _error_row(act: Any, framework: str, kind: str, function: str, dtype: str, n: int, err: Exception) -> AuditRow:
    text = " ".join(str(err).split())
    return AuditRow(act.name, framework, kind, function, dtype, n, 0, False, math.nan, math.nan, None, None, None,
                    0, 0, 0, math.nan, error=f"{type(err).__name__}: {text[:200]}")


def _points(dtype: str) -> tuple[np.ndarray, bool]:
    from ..requests import float_dtype
    from .exhaustive import format_inputs
    from .sweep import default_points

    dt = float_dtype(dtype)
    if dt.itemsize == 2:
        return format_inputs(dt, 0, 2**16), True
    return default_points(dt), False


def _versions(frameworks: Sequence[str]) -> dict[str, str]:
    import importlib.metadata

    from ..version import __version__

    out = {"activation_lab": __version__, "numpy": np.__version__}
    for pkg in ("ml_dtypes", *frameworks):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def framework_audit(frameworks: Sequence[str] = AUDIT_FRAMEWORKS, names: Sequence[Any] | None = None,
                    dtypes: Sequence[str] = AUDIT_DTYPES, orders: Sequence[int] = (0, 1),
                    kinds: Sequence[str] = KINDS, progress: Callable[[str], None] | None = None) -> FrameworkAudit:
    """Measure the frameworks' activations (see the module docstring).

    Args:
        frameworks: ``torch`` and/or ``jax``; a framework that is not installed is a clear error.
        names: catalogue names or Activations (default :func:`audited_names`: TeLU and every entry both
            frameworks ship).
        dtypes: float16, bfloat16 (every input) and/or float32 (the default sweep).
        orders: 0 (f) and/or 1 (f′, by autograd).
        kinds: builtin, naive and/or export.
        progress: called with a line before each activation, order and format.
    Returns:
        :class:`FrameworkAudit`.
    """
    import importlib

    from ..requests import check_order
    from ..symbolic.activation import get, resolve
    from .accuracy import order_label
    from .exhaustive import reference

    frameworks = list(dict.fromkeys(frameworks))
    for fw in frameworks:
        if fw not in AUDIT_FRAMEWORKS:
            raise ActivationLabError(f"cannot audit {fw!r}; choose torch and/or jax, e.g. --implementation torch,jax")
        try:
            importlib.import_module(fw)
        except ImportError:
            raise ActivationLabError(f"the audit of {fw} needs {fw} installed: pip install 'activation-lab[{fw}]'"
                                     ) from None
    for dtype in dtypes:
        if dtype not in AUDIT_DTYPES:
            raise ActivationLabError(f"the framework audit covers {', '.join(AUDIT_DTYPES)}, not {dtype!r}")
    for n in orders:
        if check_order(n) > 1:
            raise ActivationLabError(f"the framework audit measures f and f' (orders 0 and 1), not order {n}")
    acts = [resolve(a) for a in (names if names is not None else audited_names())]
    notes: list[str] = []
    if "export" in kinds or "export-x64" in kinds:
        try:
            importlib.import_module("activation_lab.export")
        except ImportError:
            notes.append("activation_lab.export is not present in this build: no export rows")
    runners = {"torch": _torch_runner, "jax": _jax_runner}
    rows: list[AuditRow] = []
    for act in acts:
        for dtype in dtypes:
            xs, whole = _points(dtype)
            for n in orders:
                if progress:
                    progress(f"{act.name} {order_label(n)} {dtype}")
                exact: dict[Any, Any] = {}
                for fw in frameworks:
                    for kind in kinds:
                        ref_act = act
                        function = {"naive": f"{fw}: formula + autograd",
                                    "export": f"activation_lab.export.{fw}_function",
                                    "export-x64": f"activation_lab.export.{fw}_function (x64)"}.get(kind, "")
                        if kind == "builtin":
                            found = builtin_name(fw, act.name)
                            if found is None:
                                continue
                            name, kwargs, ref_name = found
                            ref_act = get(ref_name)
                            args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
                            module = "torch.nn.functional" if fw == "torch" else "jax.nn"
                            function = f"{module}.{name}" + (f"(x, {args})" if args else "")
                        try:
                            fn = framework_function(fw, kind, act)
                            if fn is None:
                                continue
                            with np.errstate(all="ignore"):
                                runner = _jax_runner(fn, n, x64=True) if kind == "export-x64" else runners[fw](fn, n)
                                got = np.asarray(runner(xs)).astype(xs.dtype)
                        except Exception as err:  # noqa: BLE001 - the framework's failure is a result
                            rows.append(_error_row(act, fw, kind, function, dtype, n, err))
                            continue
                        key = ref_act if ref_act == act else ref_act.name
                        if key not in exact:
                            exact[key] = reference(ref_act, n, xs)
                        rows.append(_row(act.name, ref_act, fw, kind, function, n, exact[key], got, whole))
    return FrameworkAudit(tuple(rows), _versions(frameworks), tuple(notes))

