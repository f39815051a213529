"""An activation's symbolic definition: a SymPy formula with derivatives and LaTeX, by name or formula.

This layer knows nothing of evaluation: the object users hold, :class:`activation_lab.Activation`
(:mod:`activation_lab.activation`), extends this class with ``.evaluate``, ``.mpmath`` and
``.equals`` on top of the layers they need.  SymPy work is cached per activation (per formula and
parameter values), so asking twice for ``get("telu").derivative(2)`` differentiates once.  Every
SymPy step on the formula runs under a time budget (:mod:`activation_lab.budget`): each derivative
order within :data:`DERIVATIVE_SECONDS` (past it, :class:`~activation_lab.errors.FormulaTooComplexError`),
the tidying ``simplify`` within :data:`TIDY_SECONDS` (past it, the untidied derivative, which
is the same function).
"""

from __future__ import annotations

import difflib
import fractions
import functools
import numbers
from collections.abc import Mapping
from typing import Any

import sympy as sp

from .. import frameworks as _frameworks
from ..budget import bounded, count_nodes, short_text
from ..catalog import CATALOG, Entry
from ..errors import ActivationLabError, FormulaError, FormulaTooComplexError, UnknownActivationError
from ..requests import check_order
from .parsing import X, exact_number, parse_formula

__all__ = ["Activation", "names", "get", "define", "resolve", "fold_pieces", "X", "DERIVATIVE_SECONDS", "TIDY_SECONDS"]

#: time budget of a derivative (SymPy's diff and piecewise_fold, all orders not cached yet), in
#: seconds of CPU time (see activation_lab.budget: at most 2.5 times that in waiting)
DERIVATIVE_SECONDS = 3.5
#: time budget of the simplify that tidies a derivative for display; past it the raw form is kept
TIDY_SECONDS = 3.0

def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


@functools.cache
def _index() -> dict[str, Entry]:
    index: dict[str, Entry] = {}
    for entry in CATALOG:
        for label in (entry.name, *entry.aliases):
            index[_key(label)] = entry
    return index


def names() -> list[str]:
    """The catalogue's activation names, in catalogue order.

    Returns
    -------
    list of str
        One canonical name per catalogue entry (aliases such as ``"tanhexp"`` are not listed).
    """
    return [entry.name for entry in CATALOG]


class Activation:
    """An activation function f(x) given by an exact SymPy expression in the real symbol ``x``.

    Usually made by :func:`get` (a catalogue entry) or :func:`define` (a formula); the object users
    hold, :class:`activation_lab.activation.Activation`, adds evaluation on top.

    Parameters
    ----------
    name : str
        Catalogue name, or the user's name (or the formula) for :func:`define`.
    formula : str
        The formula in ``x`` in the package's formula language, e.g. ``"x*tanh(exp(x))"``.
    params : mapping of str to number or str, optional
        Values of the formula's parameters; numbers are taken exactly (a float by its shortest
        repr, a string as decimal text).
    description, source, family : str, optional
        One-line description, first publication, and catalogue family (``"user"`` by default).
    aliases : tuple of str, optional
        Other names the catalogue knows it by.

    Attributes
    ----------
    name : str
        Catalogue name, or the user's name (or formula) for :func:`define`.
    expr : sympy.Expr
        SymPy expression of f in ``x``, with parameter values substituted exactly.
    params : dict of str to float
        Parameter values as floats.
    formula : str
        The formula text it was parsed from.

    Raises
    ------
    FormulaError
        The formula is malformed, uses an unknown name or parameter, or is not real where it
        stands (the message names the token and its position).
    FormulaTooComplexError
        Parsing ran past its time or size budget.
    """

    def __init__(self, name: str, formula: str, params: Mapping[str, Any] | None = None, *,
                 description: str = "", source: str = "", family: str = "user",
                 aliases: tuple[str, ...] = ()):
        self.name = name
        self.formula = formula
        self.expr: sp.Expr = _parse(formula, tuple(sorted((k, _text(v)) for k, v in (params or {}).items())))
        self._exact_params = {k: exact_number(_text(v)) for k, v in (params or {}).items()}
        self.params: dict[str, float] = {k: float(v) for k, v in self._exact_params.items()}
        self.description = description
        self.source = source
        self.family = family
        self.aliases = aliases

    # identity -------------------------------------------------------------------
    def _id(self) -> tuple:
        return (self.name, self.formula, tuple(sorted((k, str(v)) for k, v in self._exact_params.items())))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Activation) and self._id() == other._id()

    def __hash__(self) -> int:
        return hash(self._id())

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v:g}" for k, v in self.params.items())
        return f"Activation({self.name!r}: {self.expr}{extra})"

    # symbolic -------------------------------------------------------------------
    def derivative(self, n: int = 1) -> sp.Expr:
        """The n-th derivative f⁽ⁿ⁾ as a SymPy expression, simplified to a readable form.

        Parameters
        ----------
        n : int, optional
            Derivative order, 0 to 40 (default 1; 0 gives f itself).

        Returns
        -------
        sympy.Expr
            f⁽ⁿ⁾ in ``x``; TeLU′ is ``x*exp(x)*sech(exp(x))**2 + tanh(exp(x))``.  Where the tidying
            ``simplify`` runs past :data:`TIDY_SECONDS` the untidied form (the same function) is
            returned.

        Raises
        ------
        ActivationLabError
            ``n`` is not an integer from 0 to 40.
        FormulaTooComplexError
            Differentiating took longer than :data:`DERIVATIVE_SECONDS` of CPU time.
        """
        check_order(n)
        try:
            with bounded(f"derivative of order {n}", DERIVATIVE_SECONDS):
                raw = _raw_derivative(self.expr, n)
        except FormulaTooComplexError as err:   # name the user's formula, not SymPy's form of it
            raise FormulaTooComplexError(err.step, err.budget, formula=self.formula, unit=err.unit,
                                         why=err.why) from None
        return _tidy(raw)

    def latex(self, n: int = 0) -> str:
        """LaTeX of f⁽ⁿ⁾ (n = 0: f itself).

        Parameters
        ----------
        n : int, optional
            Derivative order, 0 to 40 (default 0).

        Returns
        -------
        str
            SymPy's LaTeX of the expression (``x \\tanh{\\left(e^{x} \\right)}`` for TeLU).

        Raises
        ------
        ActivationLabError
            ``n`` is not an integer from 0 to 40.
        FormulaTooComplexError
            Differentiating took longer than :data:`DERIVATIVE_SECONDS` of CPU time.
        """
        check_order(n)
        return sp.latex(self.expr if n == 0 else self.derivative(n))

def _text(value: object) -> str:
    """Parameter value as exact decimal text (floats, NumPy's too, by their shortest repr)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return f"<{type(value).__name__}>"
    if isinstance(value, (numbers.Integral, sp.Rational, fractions.Fraction)):
        return str(value)
    if isinstance(value, numbers.Real):
        return repr(float(value))
    return f"<{type(value).__name__}>"


@functools.lru_cache(maxsize=512)
def _parse(formula: str, params: tuple[tuple[str, str], ...]) -> sp.Expr:
    return parse_formula(formula, dict(params))


#: at most this many Piecewise in an expression are folded into one (2^k branches): a sum of
#: twelve relus stays a sum of twelve two-branch pieces, which every target computes as written
FOLD_PIECES = 6


def fold_pieces(e: sp.Expr) -> sp.Expr:
    """``sympy.piecewise_fold`` where the result stays small (see :data:`FOLD_PIECES`), else ``e``.

    Parameters
    ----------
    e : sympy.Expr
        An expression that may hold Piecewise parts.

    Returns
    -------
    sympy.Expr
        One Piecewise for the whole expression when it holds at most :data:`FOLD_PIECES` of them,
        else ``e`` unchanged (the same function, computed piece by piece).
    """
    if sum(1 for _ in e.atoms(sp.Piecewise)) > FOLD_PIECES:
        return e
    return sp.piecewise_fold(e)


@functools.lru_cache(maxsize=2048)
def _raw_derivative(expr: sp.Expr, n: int) -> sp.Expr:
    """f⁽ⁿ⁾ as SymPy differentiates it; each order within :data:`DERIVATIVE_SECONDS` (and within
    the budget of an enclosing block: :meth:`Activation.derivative` gives all orders up to n
    that), else :class:`FormulaTooComplexError`; the orders done stay cached."""
    if n == 0:
        return expr
    previous = expr if n == 1 else _raw_derivative(expr, n - 1)
    with bounded(f"derivative of order {n}", DERIVATIVE_SECONDS, formula=short_text(expr)):
        if n == 1 and expr.has(sp.Abs):
            # |u| as a Piecewise, so derivatives are sign-free and DiracDelta never appears
            previous = previous.replace(sp.Abs, lambda u: sp.Piecewise((u, u >= 0), (-u, True)))
            previous = fold_pieces(previous)
        return fold_pieces(sp.diff(previous, X))


def _sech_form(expr: sp.Expr) -> sp.Expr:
    """tanh(u)**2 as 1 - sech(u)**2 and 1/cosh(u)**k as sech(u)**k: TeLU' reads
    tanh(eˣ) + x·eˣ·sech²(eˣ), as in the paper."""
    for t in expr.atoms(sp.tanh):
        expr = expr.subs(t**2, 1 - sp.sech(t.args[0]) ** 2)
    return expr.replace(lambda e: e.is_Pow and isinstance(e.base, sp.cosh) and e.exp.is_negative,
                        lambda e: sp.sech(e.base.args[0]) ** (-e.exp))


#: largest expression (tree nodes) whose operations are counted to decide on simplify (count_ops
#: is slow on big trees; 40 operations are well under 400 nodes)
TIDY_NODES = 400


@functools.lru_cache(maxsize=2048)
def _tidy(expr: sp.Expr) -> sp.Expr:
    """A readable form of a derivative; the raw one where tidying runs past its budget (the
    same function, only longer; the budget counts CPU time, so this does not depend on the
    machine's load).  Never fails for the tidying's sake."""
    try:
        return _tidied(expr)
    except FormulaTooComplexError:
        return expr


def _tidied(expr: sp.Expr) -> sp.Expr:
    """The shortest of the raw derivative and SymPy's simplify (only where simplify is
    affordable: its time grows steeply, minutes at ~80 operations), within :data:`TIDY_SECONDS`."""
    with bounded("tidying the derivative", TIDY_SECONDS):
        candidates = [_sech_form(expr)]
        if count_nodes(expr, TIDY_NODES) <= TIDY_NODES and sp.count_ops(expr) <= 40:
            try:
                candidates.append(_sech_form(sp.simplify(expr)))
            except Exception:  # simplify can fail on unusual forms; the raw derivative is still right
                pass
        candidates += [sp.factor_terms(c) for c in candidates]
        return min(candidates, key=sp.count_ops)


@functools.lru_cache(maxsize=256)
def _from_catalog(name: str, params: tuple[tuple[str, str], ...]) -> Activation:
    entry = _index()[_key(name)]
    merged = {**entry.params, **dict(params)}
    return Activation(entry.name, entry.formula, merged, description=entry.description,
                      source=entry.source, family=entry.family, aliases=entry.aliases)


def _from_framework(text: str, params: Mapping[str, Any]) -> Activation:
    """``"framework:name"`` (e.g. ``"jax:gelu"``): the catalogue entry with that framework's
    defaults, and its derivative conventions at kinks where they differ from the catalogue's
    (then named ``framework:name``, since it is another formula); see :mod:`activation_lab.frameworks`."""
    framework, fname = _frameworks.split(text)  # type: ignore[misc]
    row = _frameworks.lookup(framework, fname)
    if row is None:
        raise UnknownActivationError(text, _frameworks.close_names(framework, fname))
    entry = _index()[_key(row.entry)]
    unknown = sorted(set(params) - set(entry.params))
    if unknown:
        allowed = ", ".join(f"{k}={v}" for k, v in {**entry.params, **row.params}.items()) or "none"
        raise ActivationLabError(f"{row.qualified} ({entry.name}) has no parameter {', '.join(map(repr, unknown))}; "
                                 f"its parameters (with {row.framework}'s defaults) are: {allowed}")
    merged = {**row.params, **{k: _text(v) for k, v in params.items()}}
    if not row.formula:
        return get(entry.name, **merged)
    return _framework_variant(row.qualified, tuple(sorted(merged.items())))


@functools.lru_cache(maxsize=256)
def _framework_variant(qualified: str, params: tuple[tuple[str, str], ...]) -> Activation:
    framework, fname = _frameworks.split(qualified)  # type: ignore[misc]
    row = _frameworks.lookup(framework, fname)
    entry = _index()[_key(row.entry)]  # type: ignore[union-attr]
    return Activation(row.qualified, row.formula, {**entry.params, **dict(params)},  # type: ignore[union-attr]
                      description=f"{entry.description} ({row.note})", source=entry.source,  # type: ignore[union-attr]
                      family=entry.family, aliases=())


def get(name: str | Activation, **params: Any) -> Activation:
    """Look an activation up by name or alias (case-insensitive), optionally with parameters.

    Parameters
    ----------
    name : str or Activation
        A catalogue name or alias (``"telu"``, ``"TanhExp"``), or ``"framework:name"`` (torch,
        jax, keras, nnlib) for that framework's function with its defaults and kink conventions.
        An Activation is returned as it is, or with ``params`` replacing its parameter values.
    **params
        Parameter values, e.g. ``get("swish", beta=2)``; the entry's defaults otherwise.

    Returns
    -------
    Activation
        The catalogue entry (cached: the same object for the same name and parameters).

    Raises
    ------
    UnknownActivationError
        ``name`` is not in the catalogue; the message suggests the closest names.
    ActivationLabError
        A parameter the entry does not have.

    Examples
    --------
    >>> get("TanhExp").name
    'telu'
    >>> get("keras:leaky_relu").params
    {'alpha': 0.2}
    """
    if isinstance(name, Activation):
        if not params:
            return name
        return type(name)(name.name, name.formula, {**{k: str(v) for k, v in name._exact_params.items()}, **params})
    if not isinstance(name, str):
        raise UnknownActivationError(repr(name), [])
    if _frameworks.split(name) is not None:
        return _from_framework(name, params)
    entry = _index().get(_key(name))
    if entry is None:
        labels = {label: e.name for e in CATALOG for label in (e.name, *e.aliases)}
        close = difflib.get_close_matches(name.lower(), list(labels), n=3, cutoff=0.5)
        raise UnknownActivationError(name, list(dict.fromkeys(labels[c] for c in close)))
    unknown = sorted(set(params) - set(entry.params))
    if unknown:
        allowed = ", ".join(f"{k}={v}" for k, v in entry.params.items()) or "none"
        raise ActivationLabError(f"{entry.name} has no parameter {', '.join(map(repr, unknown))}; "
                                 f"its parameters (with defaults) are: {allowed}")
    key = tuple(sorted((k, _text(v)) for k, v in params.items()))
    return _from_catalog(entry.name, key)


def resolve(act: Activation | str) -> Activation:
    """``act`` itself if it is an Activation, else the catalogue's by name (the rule of every analysis).

    Parameters
    ----------
    act : Activation or str
        An activation, or a catalogue name.

    Returns
    -------
    Activation
        ``act``, or ``get(act)``.

    Raises
    ------
    UnknownActivationError
        An unknown name.
    ActivationLabError
        ``act`` is neither an Activation nor a string.
    """
    if isinstance(act, Activation):
        return act
    if isinstance(act, str):
        return get(act)
    raise ActivationLabError(f"expected an Activation or a catalogue name, got {type(act).__name__} {act!r}; "
                             "pass e.g. 'telu' or activation_lab.define('x*tanh(exp(x))')")


def _check_own_name(name: object) -> None:
    """A user activation's name: printable text that is not a catalogue name or alias (results are
    keyed by name, so a borrowed one would mix two functions)."""
    if not isinstance(name, str) or not name.strip() or len(name) > 80 or not name.isprintable():
        raise ActivationLabError(f"name must be printable text of 1 to 80 characters, got {name!r}")
    taken = _index().get(_key(name.strip()))
    if taken is not None:
        raise ActivationLabError(f"name {name!r} is the catalogue's {taken.name!r}; choose a name of your own, "
                                 f"e.g. my-{taken.name}")


def define(formula: str, name: str | None = None, **params: Any) -> Activation:
    """A user activation from a formula in ``x``, e.g. ``define("x*tanh(a*exp(x))", a=0.5)``.

    The formula is parsed safely (see :mod:`activation_lab.symbolic.parsing`) and validated;
    nothing else runs here, so ``define`` returns at once for any formula the parser accepts.

    Parameters
    ----------
    formula : str
        The formula in ``x``: numbers, ``x``, parameters, arithmetic and the whitelisted functions
        (exp, log, tanh, sigmoid, softplus, erf, where, ...); at most 500 characters.
    name : str, optional
        A name for the results and reports (default: the formula itself); it may not be a
        catalogue name or alias.
    **params
        Values of the parameters the formula uses, e.g. ``a=0.5``; every one it uses must be given
        and every one given must be used.

    Returns
    -------
    Activation
        The symbolic activation.

    Raises
    ------
    FormulaError
        A malformed formula, an unknown function or parameter, or a part that is undefined or not
        real where it stands (the message names the token and its position).
    FormulaTooComplexError
        Parsing ran past its time or size budget.
    ActivationLabError
        ``name`` is not printable text of 1 to 80 characters, or is a catalogue name.
    """
    if not isinstance(formula, str):
        raise FormulaError(repr(formula), None, f"a formula must be a string, got {type(formula).__name__}",
                           "pass text such as 'x*tanh(exp(x))'")
    if name is not None:
        _check_own_name(name)
    return Activation(name or formula.strip(), formula, params, source="user formula")
