"""The object users hold: :class:`Activation`, a symbolic activation with evaluation and its catalogue twin.

It extends the symbolic layer's :class:`activation_lab.symbolic.activation.Activation` (formula,
parameters, derivatives, LaTeX) with what the layers below it compute:

* ``.evaluate(x, n)``: f⁽ⁿ⁾ on numbers and arrays (:mod:`activation_lab.numeric.evaluate`);
* ``.mpmath(n)``: f⁽ⁿ⁾ on mpmath numbers (:func:`activation_lab.numeric.mpmath_target.mpmath_of`);
* ``.equals``: for :func:`define`, the catalogue entry the formula equals
  (:func:`activation_lab.analysis.equivalence.catalog_match`), on first use and within
  :data:`MATCH_SECONDS`.

It lives above the layers it delegates to (catalog → symbolic → numeric → analysis → here →
present), so none of them imports upwards; :func:`get` and :func:`define` here are the symbolic
ones returning this class.
"""

from __future__ import annotations

import collections
import enum
import functools
import threading
from collections.abc import Callable
from typing import Any

from .analysis.equivalence import catalog_match
from .budget import bounded
from .errors import ActivationLabError, FormulaTooComplexError
from .numeric.evaluate import evaluate
from .numeric.mpmath_target import mpmath_of
from .symbolic import activation as symbolic

__all__ = ["Activation", "get", "define", "names", "MATCH_SECONDS"]

#: time budget of the catalogue match behind ``Activation.equals``
MATCH_SECONDS = 3.0

names = symbolic.names


class _Match(enum.Enum):
    """State of ``Activation.equals`` before the catalogue match ran (an enum: survives pickling)."""

    PENDING = "pending"


_PENDING = _Match.PENDING


class Activation(symbolic.Activation):
    """An activation function f(x) given by an exact SymPy expression in the real symbol ``x``.

    The object :func:`get` and :func:`define` return: the symbolic activation (formula, parameters,
    derivatives, LaTeX) with evaluation on numbers and arrays, mpmath references and its catalogue
    twin.

    Parameters
    ----------
    name : str
        Catalogue name, or the user's name (or the formula) for :func:`define`.
    formula : str
        The formula in ``x`` in the package's formula language, e.g. ``"x*tanh(exp(x))"``.
    params : mapping of str to number or str, optional
        Values of the formula's parameters (taken exactly).
    description, source, family : str, optional
        One-line description, first publication, and catalogue family.
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
    equals : str or None
        For :func:`define`: the catalogue entry this function equals, or None (computed on first
        use, within :data:`MATCH_SECONDS`).
    equals_note : str
        Why ``equals`` is None when the match could not be decided, else ``""``.

    Raises
    ------
    FormulaError
        The formula is malformed or not real where it stands.
    FormulaTooComplexError
        Parsing ran past its time or size budget.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._equals: object = None
        self.equals_note = ""

    @property
    def equals(self) -> str | None:
        """For :func:`define`: the catalogue entry this formula equals, or None.

        Computed on first use (SymPy and high-precision checks, see
        :func:`activation_lab.analysis.equivalence.catalog_match`) within :data:`MATCH_SECONDS`.
        When it cannot be decided (over the budget, or the formula cannot be compared at the probe
        points), it is None and ``equals_note`` says why: the match is a convenience, and a
        formula that is too complex for it is still a valid activation.
        """
        if self._equals is _PENDING:
            self._equals, self.equals_note = _catalog_match(self)
        return self._equals  # type: ignore[return-value]

    @equals.setter
    def equals(self, value: str | None) -> None:
        self._equals = value
        self.equals_note = ""

    def __repr__(self) -> str:
        # the match is shown once known; repr never starts it (it may take seconds)
        known = self._equals
        if known is _PENDING:
            known = (_known_match(self) or (None, ""))[0]
        same = f", equals catalogue entry {known!r}" if known else ""
        return super().__repr__()[:-1] + same + ")"

    def evaluate(self, x: Any, n: int | tuple[int, ...] = 0, out: Any = None) -> Any:
        """f⁽ⁿ⁾(x) on a scalar, list or array, accurate to a few ULP.

        Computed from the stable form of f⁽ⁿ⁾ (see the documentation's explanations), so tails,
        overflow edges and cancellations are right: float16 and float32 in double and rounded once,
        float64 in long double.  ±inf give the limits, nan stays nan, and no floating-point
        warning escapes.

        Parameters
        ----------
        x : scalar, list or array
            The points.  The array's library chooses the backend: NumPy (fused, all cores), CuPy
            (one GPU kernel), or any other array-API library; a NumPy masked array comes back
            masked.  The input is never modified.
        n : int or tuple of int, optional
            Derivative order (default 0: f itself), or a tuple of orders, e.g. ``(0, 1)``, to get
            several at once from one pass.
        out : array or tuple of arrays, optional
            NumPy or CuPy arrays to write into, one per order (like a ufunc's ``out``): the input's
            shape and the result dtype, writeable, sharing no memory with ``x``.  Repeated calls
            then take no new memory.

        Returns
        -------
        array or tuple of arrays
            f⁽ⁿ⁾(x) with the shape of ``x`` and its floating dtype (bool and integers give float64),
            as a float for a Python scalar; one result per order when ``n`` is a tuple (``out``
            itself when given).

        Raises
        ------
        UnsupportedDtypeError
            An array dtype other than bool, integer or float16, bfloat16 (ml_dtypes), float32 or float64.
        ActivationLabError
            A bad order, or ``out`` that does not fit (wrong count, shape, dtype, read-only,
            overlapping the input); the CuPy backend asked for without CuPy or a GPU.
        """
        return evaluate(self, x, n, out)

    def mpmath(self, n: int = 0) -> Callable[[Any], Any]:
        """f⁽ⁿ⁾ as a callable on mpmath numbers, evaluated at the current ``mp.prec``.

        Parameters
        ----------
        n : int, optional
            Derivative order (default 0).

        Returns
        -------
        callable
            ``mpf -> mpf``, computing the stable form of f⁽ⁿ⁾ (no cancellation in the tails).

        Raises
        ------
        ActivationLabError
            ``n`` is not an integer from 0 to 40.
        FormulaTooComplexError
            Differentiating or rewriting ran past its time budget.
        """
        return mpmath_of(self.expr, n)


def _held(act: symbolic.Activation) -> Activation:
    """``act`` as the object users hold (the same definition; a new object only for a symbolic one)."""
    if isinstance(act, Activation):
        return act
    held = Activation.__new__(Activation)
    held.__dict__.update(act.__dict__)
    held._equals, held.equals_note = None, ""
    return held


@functools.lru_cache(maxsize=512)
def _held_entry(act: symbolic.Activation) -> Activation:
    """One held object per catalogue activation (the symbolic lookups are cached the same way)."""
    return _held(act)


def get(name: str | symbolic.Activation, **params: Any) -> Activation:
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
        The catalogue entry (the same object for the same name and parameters).

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
    found = symbolic.get(name, **params)
    return found if isinstance(found, Activation) else _held_entry(found)


def define(formula: str, name: str | None = None, **params: Any) -> Activation:
    """A user activation from a formula in ``x``, e.g. ``define("x*tanh(a*exp(x))", a=0.5)``.

    The formula is parsed safely (see :mod:`activation_lab.symbolic.parsing`: no ``eval``, a
    whitelist of functions, bounded size) and validated; nothing else runs here, so ``define``
    returns at once for any formula the parser accepts.

    Parameters
    ----------
    formula : str
        The formula in ``x``: numbers, ``x``, parameters, arithmetic and the whitelisted functions
        (exp, log, tanh, sigmoid, softplus, erf, where, ...); at most 500 characters.
    name : str, optional
        A name for results and reports (default: the formula itself); not a catalogue name.
    **params
        Values of the parameters the formula uses, e.g. ``a=0.5``: every one it uses must be given,
        and every one given must be used.

    Returns
    -------
    Activation
        The activation.  Its ``.equals`` names the catalogue entry the formula equals, if any
        (``define("x/(1+exp(-x))").equals == "silu"``), computed on first use within
        :data:`MATCH_SECONDS` (None, with ``.equals_note`` saying why, where it cannot be decided).

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
    act = _held(symbolic.define(formula, name, **params))
    act._equals = _PENDING      # the catalogue match runs when .equals is first read
    return act


#: catalogue matches found so far, (name, formula, params) -> (twin or None, note); bounded
_MATCHES: collections.OrderedDict[tuple, tuple[str | None, str]] = collections.OrderedDict()
_MATCHES_LOCK = threading.Lock()
_MATCHES_SIZE = 256


def _known_match(act: Activation) -> tuple[str | None, str] | None:
    """The catalogue match of an activation equal to ``act`` found before, else None (runs nothing)."""
    with _MATCHES_LOCK:
        return _MATCHES.get(act._id())


def _catalog_match(act: Activation) -> tuple[str | None, str]:
    """(catalogue twin or None, note), cached per formula and parameters, budget overruns too
    (asking again would only spend the same seconds)."""
    found = _known_match(act)
    if found is None:
        found = _decide_match(act)
        with _MATCHES_LOCK:
            _MATCHES[act._id()] = found
            while len(_MATCHES) > _MATCHES_SIZE:
                _MATCHES.popitem(last=False)
    return found


def _decide_match(act: Activation) -> tuple[str | None, str]:
    """(catalogue twin or None, note): the match within :data:`MATCH_SECONDS`, its failures as notes."""
    try:
        with bounded("catalogue match", MATCH_SECONDS, formula=act.formula):
            return catalog_match(act), ""
    except FormulaTooComplexError as err:
        return None, f"not decided: {err.problem}"
    except ActivationLabError as err:
        return None, f"not decided: {err}"
    except (ArithmeticError, TypeError, ValueError) as err:
        # the probes may meet a pole (1/(x+2.5) at -2.5) or leave the reals (sqrt(x) at -0.7)
        detail = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        return None, f"not decided: the formula cannot be compared at the probe points ({detail})"
