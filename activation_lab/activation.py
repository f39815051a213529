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

    Attributes (besides the symbolic ones: ``name``, ``expr``, ``params``, ``formula``):
        equals: for :func:`define`: the catalogue entry this function equals, or None (computed
            on first use, within :data:`MATCH_SECONDS`).
        equals_note: why ``equals`` is None when the match could not be decided, else "".
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
        points), it is None and :attr:`equals_note` says why: the match is a convenience, and a
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

        Array in, array of the same shape and floating dtype out (float16/32/64; bool and
        integers give float64); the input is never modified.  ``n`` may be a tuple of
        orders, e.g. ``(0, 1)``, to get several derivatives at once.  The array's library
        chooses the backend: NumPy (fused, all cores), CuPy (one GPU kernel), or any other
        array-API library; a NumPy masked array comes back masked.  ``out`` (NumPy and CuPy):
        arrays to write into, one per order (like a ufunc's ``out``), so that repeated calls
        take no new memory.
        """
        return evaluate(self, x, n, out)

    def mpmath(self, n: int = 0) -> Callable[[Any], Any]:
        """f⁽ⁿ⁾ as a callable on mpmath numbers, evaluated at the current ``mp.prec``."""
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
    """Look an activation up by name or alias (case-insensitive), optionally with parameters;
    ``"framework:name"`` (torch, jax, keras, nnlib) gives that framework's function and defaults.

    >>> get("TanhExp").name
    'telu'
    >>> get("keras:leaky_relu").params
    {'alpha': 0.2}
    """
    found = symbolic.get(name, **params)
    return found if isinstance(found, Activation) else _held_entry(found)


def define(formula: str, name: str | None = None, **params: Any) -> Activation:
    """A user activation from a formula in ``x``, e.g. ``define("x*tanh(a*exp(x))", a=0.5)``.

    The formula is parsed safely (see :mod:`activation_lab.symbolic.parsing`) and validated;
    nothing else runs here, so ``define`` returns at once for any formula the parser accepts.
    Parameters used in it must be given as keyword arguments.  ``.equals`` names the catalogue
    entry the formula equals, if any (``define("x/(1+exp(-x))").equals == "silu"``), computed
    on first use within :data:`MATCH_SECONDS` (None, with ``.equals_note`` saying why, where
    it cannot be decided).
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
