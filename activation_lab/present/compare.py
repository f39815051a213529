"""Compare an activation with TeLU and the usual ones: every result of the report, as data.

>>> import activation_lab as al
>>> c = al.compare("x*tanh(exp(x)/2)")
>>> c.equivalence.statement          # first: is it a catalogue activation (or a rescaling/shift of one)?
>>> c.summary                        # plain-language sentences, each made from the numbers below
>>> c.properties["telu"].minimum     # the analyses themselves, per activation

:func:`compare` runs the analyses (equivalence, properties, saturation at ±∞, the gradient
quotient against TeLU, the accuracy of the project's evaluation) and the report's plots, and
returns a frozen :class:`Comparison`; :mod:`activation_lab.present.report` renders it as
Markdown or as an offline HTML page.  Every sentence of the summary is built from a number
in the comparison, and says no more than that number does.
"""

from __future__ import annotations

import fractions
import math
import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ActivationLabError

__all__ = ["Comparison", "EquivalenceFinding", "equivalence_finding", "Formulas", "Plot", "Table", "Unavailable",
           "compare", "check_real", "attempt", "resolve_subject", "DEFAULT_AGAINST"]

#: the stages of :func:`compare`, in order (its ``progress`` callback is called with each)
STAGES: tuple[str, ...] = ("equivalence", "analyses", "accuracy", "plots")
#: the references a comparison is drawn against by default
DEFAULT_AGAINST: tuple[str, ...] = ("telu", "silu", "gelu", "mish")
#: derivative orders and formats of the accuracy check (f and f′: the forward and backward pass)
ACCURACY_ORDERS: tuple[int, ...] = (0, 1)
ACCURACY_DTYPES: tuple[str, ...] = ("float16", "bfloat16", "float32", "float64")

# how a catalogue name is written in prose (others: as written in the catalogue)
_PROSE_NAMES = dict(telu="TeLU", relu="ReLU", lrelu="LReLU", prelu="PReLU", elu="ELU", selu="SELU", celu="CELU",
                    silu="SiLU", swish="Swish", gelu="GELU", gelu_tanh="GELU (tanh approximation)", mish="Mish",
                    logish="Logish", smish="Smish", serf="Serf", softplus="Softplus", tanh="tanh",
                    sigmoid="sigmoid", softsign="Softsign", hardswish="Hardswish", relu6="ReLU6")


# ------------------------------------------------------------------ the result
@dataclass(frozen=True)
class EquivalenceFinding:
    """What the activation is, before anything else: a catalogue activation, a rescaling
    c·g(x), an offset g(x) + b or a shift g(x + s) of one, or new.

    ``relation`` is ``"identical"``, ``"parameters"`` (the catalogue activation with other
    parameter values), ``"scaled"``, ``"offset"``, ``"shifted"`` or ``"new"``; ``match`` the
    catalogue name (None when new); ``constant`` the c, b or s of the relation; ``params`` the
    parameter values (exact text) of a ``"parameters"`` match; ``constant_text`` the constant as
    the statement writes it (2, −1/3, √2, 0.25); ``near`` (when new) a catalogue
    activation that a relation or identity came close to before :func:`equivalent` refuted it.
    """

    relation: str
    match: str | None
    constant: float | None
    statement: str
    params: Mapping[str, str] | None = None
    near: str | None = None
    constant_text: str | None = None

    def __str__(self) -> str:
        return self.statement


@dataclass(frozen=True)
class Formulas:
    """f, f′ and f″ of one activation: ``latex`` as SymPy prints it (for Markdown/MathJax),
    ``mathtext`` the same within matplotlib's mathtext subset (piecewise as one line)."""

    name: str
    label: str
    latex: tuple[str, str, str]
    mathtext: tuple[str, str, str]


@dataclass(frozen=True)
class Table:
    """A table of the report: ``header`` and ``rows`` as text, first column the row label."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""

    def __str__(self) -> str:
        from .commands._common import table

        return f"{self.title}\n" + (f"{self.note}\n" if self.note else "") + table(self.rows, self.header)


@dataclass(frozen=True)
class Plot:
    """One plot of the report: its data (a :class:`~activation_lab.present.figures.FigureData`)
    and the matplotlib Figure drawn from it (not compared, not printed)."""

    key: str
    title: str
    caption: str
    data: Any
    figure: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Unavailable:
    """An analysis that could not run for this activation, and why (the analysis's own error)."""

    reason: str

    def __str__(self) -> str:
        return f"not available ({self.reason})"


@dataclass(frozen=True)
class Comparison:
    """Everything the comparison report shows, as data.

    Per activation (keys: ``activation.name`` and each reference's name): ``properties``
    (:class:`~activation_lab.analysis.properties.Properties`), ``saturation`` (a pair: f′ as
    x → −∞, f as x → +∞), ``quotients`` (f′/TeLU′).  ``accuracy`` holds the reports of the
    project's evaluation of the activation (f and f′, float32 and float64, default sweep).
    ``tables`` and ``summary`` are what the report prints, made from those numbers;
    ``worst_inputs`` lists the worst input of each accuracy run and every miss.
    """

    activation: Any
    references: tuple[Any, ...]
    params: Mapping[str, float]
    command: str
    equivalence: EquivalenceFinding
    formulas: tuple[Formulas, ...]
    properties: Mapping[str, Any]
    saturation: Mapping[str, tuple[Any, Any]]
    quotients: Mapping[str, Any]
    accuracy: tuple[Any, ...]
    tables: tuple[Table, ...]
    plots: tuple[Plot, ...]
    summary: tuple[str, ...]
    worst_inputs: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        refs = ", ".join(_prose(r.name) for r in self.columns[1:])
        return f"{_prose(self.activation.name)} compared with {refs}"

    @property
    def columns(self) -> tuple[Any, ...]:
        """The activation, then the references (without repeating the activation)."""
        return (self.activation, *(r for r in self.references if r.name != self.activation.name))

    def __str__(self) -> str:
        from .report import to_markdown

        return to_markdown(self)

    def __repr__(self) -> str:
        # the full dataclass repr runs to ~18,000 characters: a REPL shows this line instead
        against = ", ".join(r.name for r in self.references)
        return (f"<Comparison of {self.activation.name!r} against {against}: {len(self.summary)} findings; "
                "print() it for the report, or write_report(...)>")


# ------------------------------------------------------------------ small formatters
def _prose(name: str) -> str:
    return _PROSE_NAMES.get(name, name)


def _num(v: Any, digits: int = 6) -> str:
    """A number for prose and tables: 6 significant digits, typographic minus, ±∞ and nan by name."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "+∞" if f > 0 else "−∞"
    if f == 0:
        return "0"
    return f"{f:.{digits}g}".replace("-", "−")


def _plain(expr: Any) -> str:
    """A SymPy expression as short text: x·exp(x), x^2; long exact constants (SELU's) as 7 digits."""
    import sympy as sp

    if isinstance(expr, sp.Basic):
        long = {r: sp.Float(r, 7) for r in expr.atoms(sp.Rational) if r.q > 10**4 or abs(r.p) > 10**8}
        expr = expr.xreplace(long) if long else expr
    return str(expr).replace("**", "^").replace("*", "·")


def _interval(a: float, b: float) -> str:
    return f"({_num(a, 4)}, {_num(b, 4)})"


def _intervals(spans: Iterable[Sequence[float]]) -> str:
    spans = list(spans)
    return " ∪ ".join(_interval(a, b) for a, b in spans) if spans else "nowhere"


# ------------------------------------------------------------------ formulas
def _mathtext_printer():
    from sympy.printing.latex import LatexPrinter

    class MathtextPrinter(LatexPrinter):
        """LaTeX within mathtext's subset: a Piecewise as one line, {a if c, b otherwise}."""

        def _print_Piecewise(self, expr):  # noqa: N802 - SymPy's printer protocol
            parts = []
            for value, cond in expr.args:
                if cond is True or cond == True:  # noqa: E712 - SymPy's true is not the bool True
                    parts.append(rf"{self._print(value)}\ \mathrm{{otherwise}}")
                else:
                    parts.append(rf"{self._print(value)}\ \mathrm{{if}}\ {self._print(cond)}")
            return r"\left\{" + r",\ ".join(parts) + r"\right."

    return MathtextPrinter()


def _formulas(act: Any) -> Formulas:
    import sympy as sp

    from .written import written_expr

    printer = _mathtext_printer()
    # numbers as the user wrote them: sigmoid(1.702 x), not sigmoid(851 x/500)
    exprs = [written_expr(e) for e in (act.expr, act.derivative(1), act.derivative(2))]
    latex = tuple(sp.latex(e) for e in exprs)
    label = _prose(act.name) if act.name in _PROSE_NAMES else act.name
    return Formulas(act.name, label, latex, tuple(printer.doprint(e) for e in exprs))  # type: ignore[arg-type]


# ------------------------------------------------------------------ equivalence
#: sample points of the numerical relation checks: irregular, both signs, beyond every
#: catalogue kink (±3, 6) and short of any under- or overflow; values compared at 256 bits
_CHECK_POINTS: tuple[str, ...] = ("-19.7713", "-5.3710392", "-2.71734", "-1.3183", "-0.61275", "-0.1419",
                                  "0.0873311", "0.4561", "1.2917", "2.0663", "3.17719", "4.83105", "6.6093",
                                  "9.90217", "17.3307")
_CHECK_PREC = 256
_CHECK_TOL = 2.0**-180


def _values(act: Any, shift: Any = 0) -> list:
    import mpmath

    fn = act.mpmath(0)
    with mpmath.workprec(_CHECK_PREC):
        return [fn(mpmath.mpf(p) + shift) for p in _CHECK_POINTS]


def _close(a: Any, b: Any) -> bool:
    scale = max(abs(a), abs(b), 1e-30)
    return bool(abs(a - b) <= _CHECK_TOL * scale)


def _relation_to(f_vals: list, act: Any, g: Any) -> tuple[str, Any] | None:
    """("scaled", c) if f = c·g, ("offset", b) if f = g + b, ("shifted", s) if f(x) = g(x + s) at the
    check points (c, b, s as 256-bit mpf), else None.  A filter only: :func:`equivalent` judges."""
    import mpmath

    g_vals = _values(g)
    with mpmath.workprec(_CHECK_PREC):
        pivot = max(range(len(g_vals)), key=lambda i: abs(g_vals[i]))
        if g_vals[pivot] != 0:
            c = f_vals[pivot] / g_vals[pivot]
            if c != 0 and all(_close(fv, c * gv) for fv, gv in zip(f_vals, g_vals, strict=True)):
                return "scaled", c
        b = f_vals[0] - g_vals[0]
        if all(_close(fv, gv + b) for fv, gv in zip(f_vals, g_vals, strict=True)):
            return "offset", b
        for s in _shifts(f_vals, g):
            if all(_close(fv, gv) for fv, gv in zip(f_vals, _values(g, s), strict=True)):
                return "shifted", s
    return None


def _shifts(f_vals: list, g: Any) -> Iterable[Any]:
    """Candidates s with f(p) = g(p + s) at a few pivots p (secant steps from a few starts).

    Several pivots, because where f is flat (ReLU-like pieces) one equation has many roots.
    """
    import mpmath

    gfn = g.mpmath(0)
    for i in (10, 5, 2):
        p = mpmath.mpf(_CHECK_POINTS[i])
        for start in (0.25, -0.25, 1, -1, 2.5, -2.5):
            try:
                s = mpmath.findroot(lambda s, p=p, v=f_vals[i]: gfn(p + s) - v, mpmath.mpf(start),
                                    tol=mpmath.mpf(2) ** -200)
            except (ValueError, ZeroDivisionError, TypeError, OverflowError):
                continue
            if mpmath.isfinite(s) and mpmath.mpf(2) ** -100 < abs(s) < 50:
                yield s
                break


def _fraction(v: Any) -> fractions.Fraction:
    """An mpf exactly, as a Fraction."""
    man, exp = v.man_exp      # |v| = man·2^exp (mpmath keeps the sign apart)
    size = fractions.Fraction(int(man)) * fractions.Fraction(2) ** int(exp)
    return -size if v < 0 else size


def _exact_constant(c: Any) -> tuple[Any, str]:
    """The relation's constant as a user would write it, (exact SymPy number, text), from its 256-bit
    value: a fraction with a denominator up to 10⁶ or the square root of one where that is the value
    to 2⁻²⁰⁰, else its 12 significant digits (then :func:`equivalent` says whether it is right:
    c = 2·(1 + 10⁻⁴⁵) is written 2, and 2·TeLU is then refuted, not claimed)."""
    import mpmath
    import sympy as sp

    from ..analysis.equivalence import decimal_or_fraction

    with mpmath.workprec(_CHECK_PREC):
        exact = _fraction(c)
        tol = abs(exact) * fractions.Fraction(1, 2**200)
        q = exact.limit_denominator(10**6)
        if abs(exact - q) <= tol:
            return sp.Rational(q.numerator, q.denominator), decimal_or_fraction(q)
        q2 = (exact * exact).limit_denominator(10**6)
        if abs(exact * exact - q2) <= 2 * tol * abs(exact):
            root = sp.sqrt(sp.Rational(q2.numerator, q2.denominator)) * (1 if exact > 0 else -1)
            return root, re.sub(r"sqrt\((\d+)\)", r"√\1", str(root))
    q = fractions.Fraction(f"{float(c):.12g}")
    return sp.Rational(q.numerator, q.denominator), decimal_or_fraction(q)


_RELATION_TEXT = {
    "scaled": "{c}·{g}(x)", "offset": "{g}(x) {sign} {c}", "shifted": "{g}(x {sign} {c})",
}
_RELATION_NOUN = {"scaled": "a rescaling", "offset": "an offset", "shifted": "a shift"}


def _relation_text(kind: str, g: str, value: Any, text: str) -> str:
    """c·g(x), g(x) ± c or g(x ± c) in prose; '' for the identity (c = 1, or b = s = 0)."""
    if (kind == "scaled" and value == 1) or (kind != "scaled" and value == 0):
        return ""
    if kind == "scaled":
        return _RELATION_TEXT[kind].format(g=_prose(g), c=text.replace("-", "−"), sign="")
    return _RELATION_TEXT[kind].format(g=_prose(g), c=text.lstrip("-"), sign="−" if value < 0 else "+")


def equivalence_finding(act: Any) -> EquivalenceFinding:
    """Is ``act`` a catalogue activation, or c·g(x), g(x) + b or g(x + s) for one?  (The one
    answer that ``compare``, its report and ``analyze`` all show.)

    Every answer is :func:`~activation_lab.analysis.equivalence.equivalent`'s, with its three
    outcomes: identity by :func:`~activation_lab.analysis.equivalence.catalog_match` and
    :func:`~activation_lab.analysis.equivalence.catalog_fit`; a relation is a candidate found at
    15 irregular points (its constant read as a user would write it, see :func:`_exact_constant`),
    then put to ``equivalent(act, related(g, kind, c))``: reported when proven or
    indistinguishable (the statement says which), dropped when refuted.  A candidate refuted
    this way is named in the "new" statement with the witness, so a near miss such as
    ``x*tanh(exp(x))*(1 + 1e-45)`` reads as different from TeLU, never as TeLU or 1·TeLU.
    """
    from ..activation import get
    from ..analysis.equivalence import catalog_fit, catalog_match, equivalent, related
    from ..catalog import CATALOG

    shown = f"`{act.formula}`" if act.name == act.formula.strip() else f"{act.name} (`{act.formula}`)"
    # define() has already looked for a catalogue twin; a catalogue activation is its own
    match = getattr(act, "equals", None) or catalog_match(act)
    if match == act.name:
        return EquivalenceFinding("identical", match, None, f"{_prose(match)} is the catalogue activation `{match}`.")
    if match is not None:
        verdict = equivalent(act, match)
        if not verdict.different:
            return EquivalenceFinding("identical", match, None,
                                      f"{shown} is {_prose(match)} (catalogue name `{match}`): {_how(verdict)}, "
                                      f"so every number below is also {_prose(match)}'s.")
    fit = catalog_fit(act)
    if fit is not None:
        name, params = fit
        verdict = equivalent(act, get(name, **params))
        if not verdict.different:
            values = ", ".join(f"{k} = {v}" for k, v in params.items())
            flags = " ".join(f"--param {k}={v}" for k, v in params.items())
            return EquivalenceFinding("parameters", name, None,
                                      f"{shown} is {_prose(name)} with {values} (catalogue name `{name}`, "
                                      f"`activation-lab show {name} {flags}`): {_how(verdict)}.", params=dict(params))
    f_vals = _values(act)
    near: tuple[str, str, Any] | None = None
    for entry in CATALOG:
        found = _relation_to(f_vals, act, get(entry.name))
        if found is None:
            continue
        kind, c = found
        value, text = _exact_constant(c)
        relation = _relation_text(kind, entry.name, value, text)
        verdict = equivalent(act, related(entry.name, kind, value) if relation else entry.name)
        if verdict.different:
            near = near or (entry.name, relation or f"{_prose(entry.name)}(x)", verdict)
            continue
        if not relation:        # c = 1 (b, s = 0) and not refuted: the entry itself
            return EquivalenceFinding("identical", entry.name, None,
                                      f"{shown} is {_prose(entry.name)} (catalogue name `{entry.name}`): "
                                      f"{_how(verdict)}, so every number below is also {_prose(entry.name)}'s.")
        statement = (f"{shown} is not in the catalogue, but it equals {relation}: {_RELATION_NOUN[kind]} of "
                     f"{_prose(entry.name)} (catalogue name `{entry.name}`): {_how(verdict)}.")
        return EquivalenceFinding(kind, entry.name, float(value), statement, constant_text=text)
    close = ""
    if near is not None:
        name, relation, verdict = near
        fa, fb = verdict.values or ("?", "?")
        close = (f" It comes close to {relation} (catalogue name `{name}`), agreeing at {len(_CHECK_POINTS)} "
                 f"check points, but it is a different function: at x = {verdict.witness!r} it is {fa}, "
                 f"{relation} is {fb} (relative difference {verdict.max_difference:.2g}).")
    return EquivalenceFinding("new", None, None,
                              f"{shown} is a new activation: it equals no catalogue activation, nor a rescaling "
                              "c·g(x), an offset g(x) + b or a shift g(x + s) of one (candidates are found at "
                              f"{len(_CHECK_POINTS)} points, then each is proved or refuted by the equivalence "
                              f"test).{close}", near=near[0] if near else None)


def _how(verdict: Any) -> str:
    """How sure an identity or relation is, in words: proven, or indistinguishable at the stated evidence."""
    if verdict.proven:
        return "the same function, proven symbolically"
    if verdict.different:      # callers drop refuted candidates; said plainly should one reach here
        return f"refuted (different at x = {verdict.witness!r})"
    return f"indistinguishable at the evidence (not proven: they agree at {verdict.evidence})"


def resolve_subject(formula_or_name: Any, name: str | None, params: Mapping[str, Any] | None) -> Any:
    from ..activation import Activation, define, get
    from ..errors import FormulaError, UnknownActivationError

    if isinstance(formula_or_name, Activation):
        act = formula_or_name if not params else define(formula_or_name.formula,
                                                        **{**_exact_params(formula_or_name), **params})
    elif isinstance(formula_or_name, str):
        try:
            act = get(formula_or_name, **dict(params or {}))
        except UnknownActivationError:
            text = formula_or_name.strip()
            if text.isidentifier() and text != "x":
                raise   # a name, misspelt: the error suggests the close ones
            # anything else is a formula, judged by the safe parser (which names what is wrong),
            # with the hints every verb gives for the usual slips (x^2, 2x)
            from .commands._common import formula_hint

            try:
                act = define(formula_or_name, **dict(params or {}))
            except FormulaError as err:
                raise formula_hint(err) from None
    else:
        raise ActivationLabError(f"compare() takes a catalogue name or a formula in x, got "
                                 f"{type(formula_or_name).__name__}; e.g. compare('x*tanh(exp(x)/2)')")
    if name is not None and name != act.name:
        # define() refuses a catalogue name: the report keys every result by name
        act = define(act.formula, name=name.strip() if isinstance(name, str) else name, **_exact_params(act))
    check_real(act)
    return act


def check_real(act: Any) -> None:
    """Refuse a formula that is not real and finite across the line (log(x), sqrt(x) for x < 0):
    every analysis assumes an activation defined on all of ℝ.  The one rule of every verb: such
    a formula is refused with this message; a real one (sin(x)) is analysed, and an analysis
    that does not apply to it (no leading term for an oscillating tail) is shown as not
    available, with its reason."""
    import mpmath

    for p, v in zip(_CHECK_POINTS, _values(act), strict=True):
        if not (isinstance(v, mpmath.mpf) and mpmath.isfinite(v)):
            raise ActivationLabError(
                f"{act.formula!r} is not a finite real number at x = {p} (value {mpmath.nstr(v, 6)}); "
                f"every analysis needs "
                "an activation defined on the whole real line: restrict the formula, e.g. "
                "where(x > 0, log(1 + x), 0) instead of log(1 + x)")


def _exact_params(act: Any) -> dict[str, str]:
    """The activation's parameter values as exact text (e.g. '1/100'), to rebuild it losslessly."""
    return {k: str(v) for k, v in act._exact_params.items()}


def _references(against: Iterable[str] | str) -> tuple[Any, ...]:
    from ..activation import get

    names = against.split(",") if isinstance(against, str) else list(against)
    refs = [get(str(n).strip()) for n in names if str(n).strip()]
    if not any(r.name == "telu" for r in refs):
        refs.insert(0, get("telu"))   # the quotient and the summary are against TeLU: always shown
    unique: dict[str, Any] = {}
    for r in refs:
        unique.setdefault(r.name, r)
    return tuple(unique.values())


def _command(given: str, name: str | None, params: Mapping[str, Any] | None, references: Sequence[Any]) -> str:
    """The command line that makes this comparison (the parameters as the caller gave them)."""
    parts = ["activation-lab", "compare", given]
    if name is not None:
        parts += ["--name", name]
    for k, v in (params or {}).items():
        parts += ["--param", f"{k}={v}"]
    refs = ",".join(r.name for r in references)
    if refs != ",".join(DEFAULT_AGAINST):
        parts += ["--against", refs]
    return " ".join(shlex.quote(p) for p in parts)


def compare(formula_or_name: Any, name: str | None = None, params: Mapping[str, Any] | None = None,
            against: Iterable[str] | str = DEFAULT_AGAINST, *, plots: bool = True,
            accuracy: bool = True, progress: Callable[[str], None] | None = None) -> Comparison:
    """Compare an activation (a catalogue name, a formula in ``x`` or an Activation) with ``against``.

    Parameters
    ----------
    formula_or_name : str or Activation
        e.g. ``"x*tanh(exp(x)/2)"``, ``"mish"``; formulas go through the safe parser.
    name : str, optional
        The name shown in the report (default: the catalogue name or the formula).
    params : mapping, optional
        Values of the formula's parameters, e.g. ``{"a": 0.5}``.
    against : iterable of str or str, optional
        Catalogue names of the references; TeLU is always among them.
    plots : bool, optional
        Draw the report's four plots (f, f′, |f′| on a log axis, the quotient).
    accuracy : bool, optional
        Measure the project's evaluation (f, f′; float16, float32, float64; default sweep).
    progress : callable, optional
        Called with the name of each stage as it starts (:data:`STAGES`), e.g. to advance a
        progress bar.

    Returns
    -------
    Comparison
        A frozen report: equivalence finding, summary sentences, the analyses per activation,
        accuracy reports, plots and tables; ``str()`` of it is the Markdown report.

    Raises
    ------
    FormulaError
        A formula the safe parser refuses (with its position), before any work is done.
    UnknownActivationError
        An unknown name in ``formula_or_name`` or ``against`` (with close matches).
    """
    act = resolve_subject(formula_or_name, name, params)
    references = _references(against)
    given = formula_or_name.formula if not isinstance(formula_or_name, str) else formula_or_name
    columns = (act, *(r for r in references if r.name != act.name))
    from .propagation_figures import report_section

    step = progress or (lambda stage: None)
    step("equivalence")
    equivalence = equivalence_finding(act)
    step("analyses")
    props, sats, quots = _analyses(columns)
    step("accuracy")
    reports = _accuracy(act) if accuracy else ()
    step("plots")
    figs = _plots(act, references) if plots else ()
    tables = (_property_table(columns, props), _saturation_table(columns, sats),
              _quotient_table(columns, quots), Table(*report_section(columns)))
    if reports:
        tables += (_accuracy_table(reports),)
    return Comparison(
        activation=act, references=references, params=dict(act.params),
        command=_command(given, name, params, references), equivalence=equivalence,
        formulas=tuple(_formulas(a) for a in columns), properties=props, saturation=sats, quotients=quots,
        accuracy=reports, tables=tables, plots=figs,
        summary=tuple(_summary(act, equivalence, props, sats, quots, reports)),
        worst_inputs=tuple(_worst_notes(reports)),
    )


def attempt(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs), or :class:`Unavailable` with the analysis's own message when it
    cannot handle this activation (an oscillating tail, a pole on the real line, …)."""
    try:
        return fn(*args, **kwargs)
    except ActivationLabError as err:
        return Unavailable(str(err).splitlines()[0])
    except ArithmeticError as err:   # e.g. a division by zero at a pole of the user's formula
        return Unavailable(f"{type(err).__name__} {err}".strip())


def _analyses(columns: Sequence[Any]) -> tuple[dict, dict, dict]:
    from ..analysis.properties import properties
    from ..analysis.quotient import quotient
    from ..analysis.saturation import saturation

    props = {a.name: attempt(properties, a) for a in columns}
    sats = {a.name: (attempt(saturation, a, direction=-1, order=1), attempt(saturation, a, direction=1, order=0))
            for a in columns}
    quots = {a.name: attempt(quotient, a, reference="telu") for a in columns}
    return props, sats, quots


def _accuracy(act: Any) -> tuple[Any, ...]:
    from ..analysis.accuracy import accuracy

    reports = tuple(attempt(accuracy, act, n=n, dtype=dt) for n in ACCURACY_ORDERS for dt in ACCURACY_DTYPES)
    return tuple(r for r in reports if not isinstance(r, Unavailable)) or reports[:1]


def _plots(act: Any, references: Sequence[Any]) -> tuple[Plot, ...]:
    from . import figures

    names = [r.name for r in references]
    add = [] if act.name in names else [act]
    new = _prose(act.name) if not add else f"the new activation {act.name}"
    refs = ", ".join(_prose(n) for n in names if n != act.name)
    # the paper's figure captions name the paper's group; the report's say what it draws
    specs = (("f", "f(x)", figures.linear_units,
              f"f(x) of {new} (with its markers) beside {refs}."),
             ("derivative", "f′(x)", figures.derivatives,
              f"The first derivative f′(x) of {new} beside {refs}: the gradient each passes back."),
             ("saturation", "|f′(x)| on a log axis as x → −∞", figures.saturation,
              f"|f′(x)| of {new} beside {refs} as x → −∞ on a log axis: the steeper the fall, the faster "
              "the gradient saturates; the grey lines mark the float32 and float64 smallest subnormals (below "
              "half of one, a result rounds to 0)."),
             ("quotient", "gradient quotient |f′/TeLU′|", figures.quotient,
              f"The gradient quotient |f′(x)/TeLU′(x)| of {new} and {refs}: above 1 a function passes back "
              "more gradient than TeLU at the same x, below 1 less; it is undefined at TeLU′'s zero."))
    out = []
    for key, title, make, caption in specs:
        fig, data = make(names=names, add=add)
        out.append(Plot(key, title, caption, data, fig))
    return tuple(out)


# ------------------------------------------------------------------ tables
def _at(point: Sequence[float] | None, digits: int = 7) -> str:
    """(x, value) → 'value at x = x'; None → 'none'."""
    if point is None:
        return "none"
    where = {math.inf: "as x → +∞", -math.inf: "as x → −∞"}.get(point[0], f"at x = {_num(point[0], digits)}")
    return f"{_num(point[1], digits)} {where}"


def _crossings(zeros: Sequence[float], shown: int = 6) -> str:
    """The zero crossings, the first few of a long list (sin(x) has hundreds in the scanned range)."""
    if not zeros:
        return "none"
    text = ", ".join(_num(z, 7) for z in zeros[:shown])
    return text if len(zeros) <= shown else f"{text}, … ({len(zeros)} in the scanned range)"


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


#: the property table: (row label, value of a Properties as text)
_PROPERTY_ROWS: tuple[tuple[str, Any], ...] = (
    ("f(0)", lambda p: _num(p.f0, 7)),
    ("f′(0)", lambda p: _num(p.df0, 7)),
    ("f″(0)", lambda p: _num(p.d2f0, 7)),
    ("minimum of f", lambda p: _at(p.minimum)),
    ("maximum of f", lambda p: _at(p.maximum)),
    ("inf f′", lambda p: _at(p.derivative_min)),
    ("sup f′", lambda p: _at(p.derivative_max)),
    ("Lipschitz constant sup |f′|", lambda p: _num(p.lipschitz, 7)),
    ("monotonic", lambda p: _yes_no(p.monotonic)),
    ("bounded below / above", lambda p: f"{_yes_no(p.bounded_below)} / {_yes_no(p.bounded_above)}"),
    ("f(−∞), f(+∞)", lambda p: f"{_num(p.limits[0])}, {_num(p.limits[1])}"),
    ("smoothness", lambda p: p.smoothness + (f" (kinks at {', '.join(_num(k) for k in p.kinks)})" if p.kinks else "")),
    ("zero crossings", lambda p: _crossings(p.zero_crossings)),
    ("self-gated form x·g(x)", lambda p: f"g = {_plain(p.self_gated)}" if p.self_gated is not None else "no"),
    ("E[f(Z)]", lambda p: _num(p.E_f, 7)),
    ("E[f(Z)²]", lambda p: _num(p.E_f2, 7)),
    ("E[f′(Z)]", lambda p: _num(p.E_df, 7)),
    ("E[f′(Z)²]", lambda p: _num(p.E_df2, 7)),
    ("init gain, variance convention 1/√E[f(Z)²]", lambda p: _num(p.init_gain, 7)),
)


def _property_table(columns: Sequence[Any], props: Mapping[str, Any]) -> Table:
    header = ("", *(_column_label(a) for a in columns))
    def cell(p: Any, text: Any) -> str:
        return "—" if isinstance(p, Unavailable) else text(p)

    rows = tuple((label, *(cell(props[a.name], text) for a in columns)) for label, text in _PROPERTY_ROWS)
    missing = "".join(f" {_column_label(a)}: {props[a.name]}." for a in columns
                      if isinstance(props[a.name], Unavailable))
    return Table("Properties", header, rows,
                 "Computed with mpmath (roots of f′ and f″, quadrature), not by sampling; shown to 7 significant "
                 "digits. Z ~ N(0, 1); the init gain keeps E[f(Z)²]·gain² = 1." + missing)


def _limit_text(q: Any) -> str:
    if q.limit_exact is not None:
        exact = _plain(q.limit_exact)
        return exact if q.limit_exact.is_Integer or exact == _num(q.limit_neg_inf, 7) else \
            f"{exact} = {_num(q.limit_neg_inf, 7)}"
    return f"{_num(q.limit_neg_inf, 7)} (numerical estimate)"


def _quotient_table(columns: Sequence[Any], quots: Mapping[str, Any]) -> Table:
    header = ("", *(_column_label(a) for a in columns))
    rows = []
    for label, text in (("limit as x → −∞", _limit_text), ("|q| < 1 on", lambda q: _intervals(q.below_one)),
                        ("|q| > 1 on", lambda q: _intervals(q.above_one)),
                        ("poles (TeLU′ = 0)", lambda q: ", ".join(_num(p, 7) for p in q.poles) or "none")):
        rows.append((label, *(str(quots[a.name]) if isinstance(quots[a.name], Unavailable) else text(quots[a.name])
                              for a in columns)))
    span = next((f"[{_num(q.x.min())}, {_num(q.x.max())}]" for q in quots.values()
                 if not isinstance(q, Unavailable)), "the paper's range")
    return Table("Gradient quotient against TeLU", header, tuple(rows),
                 f"q(x) = |f′(x)/TeLU′(x)| on {span} (the paper's range; interval ends are the range's ends, "
                 "poles, or points where |f′| = |TeLU′|). Below 1, TeLU's gradient is the larger one.")


def _described(sat: Any) -> str:
    """What a Saturation describes: f′(x), f(x), or 1 − f(x)/A(x) for the approach to an asymptote A."""
    import sympy as sp

    f = "f" + "′" * sat.order + "(x)"
    if sat.asymptote is None:
        return f
    a = sat.asymptote
    if a == 1:
        return f"1 − {f}"
    shown = _plain(a)
    return f"1 − {f}/{shown}" if isinstance(a, (sp.Symbol, sp.Number)) else f"1 − {f}/({shown})"


def _leading(sat: Any) -> str | None:
    """The leading term as text, None when the fit found none (nan)."""
    import sympy as sp

    return None if sat.leading.has(sp.nan) else _plain(sat.leading)


def _behaviour(sat: Any) -> str:
    """'≈ x·exp(x)/2 (exponential)'; says "numerical fit" when the symbolic route failed."""
    if isinstance(sat, Unavailable):
        return str(sat)
    fit = ", numerical fit" if sat.numerical_fallback else ""
    lead = _leading(sat)
    return f"{_described(sat)} " + (f"≈ {lead}" if lead else "has no leading term found") + f" ({sat.kind}{fit})"


def _saturation_table(columns: Sequence[Any], sats: Mapping[str, Any]) -> Table:
    def ratio(sat: Any) -> str:
        if isinstance(sat, Unavailable):
            return "—"
        far = max(sat.ratios, key=abs)
        return f"{_num(sat.ratios[far], 4)} at x = {_num(far)}"

    header = ("", *(_column_label(a) for a in columns))
    rows = [("x → −∞", *(_behaviour(sats[a.name][0]) for a in columns)),
            ("x → +∞", *(_behaviour(sats[a.name][1]) for a in columns)),
            ("ratio to the leading term, x → −∞", *(ratio(sats[a.name][0]) for a in columns)),
            ("ratio to the leading term, x → +∞", *(ratio(sats[a.name][1]) for a in columns))]
    return Table("Saturation", header, tuple(tuple(r) for r in rows),
                 "Leading asymptotic terms (SymPy, checked with mpmath: the ratio of the function to its leading "
                 "term tends to 1). As x → +∞ an activation that approaches a line A(x) is described by its "
                 "relative distance 1 − f(x)/A(x) from it.")


def _column_label(act: Any) -> str:
    return _prose(act.name)


def _accuracy_table(reports: Sequence[Any]) -> Table:
    rows = []
    for r in reports:
        if isinstance(r, Unavailable):
            rows.append(("f, f′", str(r), *("—",) * 7))
            continue
        rows.append((f"{_order(r.n)}, {r.dtype}", str(r.count), _num(r.max_ulp, 3), _num(r.p99_ulp, 3),
                     f"{r.within_half:.2%}", f"{r.within_1:.2%}",
                     f"≤ {r.tolerance:g}·max(1, κ): " + ("met" if r.passed else f"not met at {r.n_failures}"),
                     str(r.n_special_mismatches), str(r.n_signed_zero_mismatches)))
    return Table("Numerical accuracy", ("", "finite points", "max ULP", "99% ULP", "≤ 0.5 ULP", "≤ 1 ULP",
                                        "target", "special values wrong", "zeros of wrong sign"), tuple(rows),
                 "The project's evaluation of the activation against mpmath, in units in the last place, over the "
                 "default sweep (both signs, subnormal to overflow magnitudes, critical points and their "
                 "neighbours, ±0, ±∞, nan); κ is the condition number |x·g′(x)/g(x)| of g = f or f′.")


# ------------------------------------------------------------------ the plain-language summary
def _same_class(a: Any, b: Any) -> bool:
    """Same kind of decay with the same exponent and power of x: only the constant differs."""
    import sympy as sp

    return (a.kind == b.kind and sp.simplify(a.exponent - b.exponent) == 0
            and sp.simplify(a.prefactor_power - b.prefactor_power) == 0)


def _class_words(a: Any, b: Any) -> str:
    """How a's decay relates to b's: the same class and rate, the same class at another rate
    (x·e^{2x} beside x·eˣ: both exponential), or a different class."""
    if _same_class(a, b):
        return "the same class and rate as"
    if a.kind == b.kind:
        return f"the same class ({a.kind}) at a different rate from"
    return "a different class from"


def _decay_sentence(sat: Any, ref: Any, q: Any, is_telu: bool) -> str:
    if isinstance(sat, Unavailable):
        return f"The saturation as x → −∞ could not be analysed: {sat.reason}."
    lead = _leading(sat)
    fit = ", from a numerical fit" if sat.numerical_fallback else ""
    if lead is None:
        text = f"As x → −∞, f′(x) decays in a {sat.kind} way ({fit[2:]}, no closed leading term)"
    else:
        text = f"As x → −∞, f′(x) ≈ {lead} ({sat.kind}{fit})"
    if is_telu:
        return text + "."
    if sat.kind == "zero":
        return text + f": its gradient is exactly 0 far to the left, where TeLU′(x) ≈ {_plain(ref.leading)}."
    if lead is not None:
        text += f", {_class_words(sat, ref)} TeLU′(x) ≈ {_plain(ref.leading)} ({ref.kind})"
    if isinstance(q, Unavailable) or math.isnan(q.limit_neg_inf):
        return text + "."
    limit = q.limit_neg_inf
    if q.limit_exact is None:
        # an extrapolation from finite x: stated as such, with no reading put on it
        return text + f"; a numerical estimate of lim |f′/TeLU′| is {_num(limit, 4)}."
    if limit == 0:
        return text + "; |f′/TeLU′| → 0: its gradient vanishes faster than TeLU's."
    if math.isinf(limit):
        return text + "; |f′/TeLU′| → ∞: its gradient vanishes more slowly than TeLU's."
    return text + f"; |f′/TeLU′| → {_plain(q.limit_exact)}."


def _quotient_sentence(q: Any) -> str:
    if isinstance(q, Unavailable):
        return f"The gradient quotient against TeLU could not be computed: {q.reason}."
    parts = []
    if q.below_one:
        parts.append(f"< 1 on {_intervals(q.below_one)}")
    if q.above_one:
        parts.append(f"> 1 on {_intervals(q.above_one)}")
    text = f"On [{_num(q.x.min(), 4)}, {_num(q.x.max(), 4)}], |f′/TeLU′| " + (" and ".join(parts) or "= 1")
    if q.poles:
        text += f"; TeLU′ = 0 at x ≈ {', '.join(_num(p, 5) for p in q.poles)} (a pole of the quotient)"
    return text + "."


def _compared(value: str, ref: str | None) -> str:
    return value if ref is None else f"{value} (TeLU: {ref})"


def _shape_sentences(p: Any, t: Any | None) -> list[str]:
    """Minimum, slope and smoothness, each beside TeLU's value (``t``) unless it is TeLU."""
    out = []
    if p.minimum is not None:
        ref = None if t is None or t.minimum is None else f"{_num(t.minimum[1], 4)} at x = {_num(t.minimum[0], 4)}"
        out.append(_compared(f"Its minimum is {_num(p.minimum[1], 4)} at x = {_num(p.minimum[0], 4)}", ref) + ".")
    elif p.bounded_below:
        out.append(f"It is bounded below by f(−∞) = {_num(p.limits[0], 4)}, approached but not attained.")
    else:
        out.append("It is unbounded below.")
    lip_ref = None if t is None else _num(t.lipschitz, 4)
    slope = (f"f′ ranges over [{_num(p.derivative_min[1], 4)}, {_num(p.derivative_max[1], 4)}], so f is "
             + (f"Lipschitz with constant {_num(p.lipschitz, 4)}" if math.isfinite(p.lipschitz) else "not Lipschitz"))
    out.append(_compared(slope, lip_ref if math.isfinite(p.lipschitz) else None)
               + ("; it is monotonic." if p.monotonic else "; it is not monotonic (f′ < 0 somewhere)."
                  if p.derivative_min[1] < 0 else "; it is not monotonic."))
    kinks = f", with kinks at x = {', '.join(_num(k, 4) for k in p.kinks)}" if p.kinks else ""
    smooth = "analytic on ℝ" if p.smoothness == "analytic" else p.smoothness
    out.append(f"At 0: f(0) = {_num(p.f0, 4)}, f′(0) = {_num(p.df0, 4)}"
               + ("" if t is None else f" (TeLU: {_num(t.df0, 4)})") + f"; f is {smooth}{kinks}.")
    return out


def _gain_sentence(p: Any, t: Any | None) -> str:
    text = (f"For Z ~ N(0, 1): E[f(Z)] = {_num(p.E_f, 4)} and E[f(Z)²] = {_num(p.E_f2, 4)}, so the "
            f"init gain in the variance convention, 1/√E[f(Z)²], is {_num(p.init_gain, 4)}")
    return _compared(text, None if t is None else _num(t.init_gain, 4)) + "."


def _approach_sentence(sat: Any, ref: Any, is_telu: bool) -> str:
    text = f"As x → +∞, {_behaviour(sat)}"
    if not is_telu:
        text += f"; TeLU: {_behaviour(ref)}"
    return text + "."


def _order(n: int) -> str:
    from ..analysis.accuracy import order_label

    return order_label(n).replace("'", "′")


def _accuracy_sentence(reports: Sequence[Any]) -> str:
    orders = " and ".join(dict.fromkeys(_order(r.n) for r in reports))
    worst = ", ".join(f"{_num(max(r.max_ulp for r in reports if r.dtype == dt), 3)} ULP in {dt}"
                      for dt in dict.fromkeys(r.dtype for r in reports))
    count = " and ".join(f"{r.count} {r.dtype}" for r in {r.dtype: r for r in reports}.values())
    text = (f"The project's evaluation of {orders} is at most {worst} from the exact value over the default sweep "
            f"({count} finite points)")
    failing = [r for r in reports if not r.passed]
    if failing:
        text += "; the target of ≤ T·max(1, κ) ULP is not met for " + ", ".join(
            f"{_order(r.n)} {r.dtype} ({r.n_failures} points, {r.n_special_mismatches} special values)"
            for r in failing)
    else:
        text += "; every point meets the target of ≤ 4·max(1, κ) ULP and ±0, ±∞ and nan give the right values"
    zeros = [r for r in reports if r.n_signed_zero_mismatches]
    if zeros:
        text += ("; zeros of the wrong sign (reported apart): " + ", ".join(
            f"{r.n_signed_zero_mismatches} for {_order(r.n)} {r.dtype}" for r in zeros))
    return text + "."


def _summary(act: Any, equivalence: EquivalenceFinding, props: Mapping[str, Any], sats: Mapping[str, Any],
             quots: Mapping[str, Any], reports: Sequence[Any]) -> list[str]:
    """Plain-language sentences, each stating numbers held in the comparison (TeLU's beside)."""
    is_telu = act.name == "telu" or equivalence.match == "telu" and equivalence.relation == "identical"
    p, sat, q = props[act.name], sats[act.name], quots[act.name]
    t = None if is_telu else props["telu"]
    out = [_decay_sentence(sat[0], sats["telu"][0], q, is_telu)]
    if not is_telu:
        out.append(_quotient_sentence(q))
    if isinstance(p, Unavailable):
        out.append(f"Its properties (extremes, slope, moments) could not be computed: {p.reason}.")
    else:
        out += _shape_sentences(p, t)
    if isinstance(sat[1], Unavailable):
        out.append(f"Its behaviour as x → +∞ could not be analysed: {sat[1].reason}.")
    else:
        out.append(_approach_sentence(sat[1], sats["telu"][1], is_telu))
    if not isinstance(p, Unavailable):
        out.append(_gain_sentence(p, t))
    if reports and isinstance(reports[0], Unavailable):
        out.append(f"The accuracy check could not run: {reports[0].reason}.")
    elif reports:
        out.append(_accuracy_sentence(reports))
    return out


def _worst_notes(reports: Sequence[Any]) -> list[str]:
    """The worst input of each accuracy run, and every kind of miss, one line each."""
    notes = []
    for r in (r for r in reports if not isinstance(r, Unavailable)):
        label = f"{_order(r.n)} {r.dtype}"
        if r.worst:
            notes.append(f"{label}: worst {r.worst[0]}")
        notes += [f"{label}: failure {c}" for c in r.failures[:2]]
        notes += [f"{label}: special value {m}" for m in r.special_mismatches[:2]]
        if r.n_signed_zero_mismatches:
            notes.append(f"{label}: {r.n_signed_zero_mismatches} zeros of the wrong sign, "
                         f"e.g. {r.signed_zero_mismatches[0]}")
    return notes
