"""Exceptions raised by activation-lab; each message names the input, the problem and a fix."""

from __future__ import annotations

__all__ = ["ActivationLabError", "UnknownActivationError", "FormulaError", "FormulaTooComplexError",
           "UnsupportedDtypeError"]


class ActivationLabError(Exception):
    """Base class for every error this package raises on purpose.

    Its message names the input, what was wrong and what would work; catch it to handle any of
    the package's errors.

    Parameters
    ----------
    message : str
        The message.
    """


class UnknownActivationError(ActivationLabError, KeyError):
    """An activation name that is not in the catalogue (a ``KeyError`` too).

    Parameters
    ----------
    name : str
        The name asked for.
    suggestions : list of str
        The closest catalogue names, shown as "did you mean ...?".

    Attributes
    ----------
    name : str
        The name asked for.
    suggestions : list of str
        The closest catalogue names.
    """

    def __init__(self, name: str, suggestions: list[str]):
        self.name = name
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(
            f"unknown activation {name!r}{hint} (run `activation-lab list` or activation_lab.names() "
            "for the catalogue, or activation_lab.define('formula') for your own)"
        )

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0])


class FormulaError(ActivationLabError, ValueError):
    """A formula string that the safe parser rejects (a ``ValueError`` too).

    The message shows the formula with a caret under the offending position, and a fix.

    Parameters
    ----------
    formula : str
        The formula as given.
    position : int or None
        The 0-based column of the offending token, or None when the problem is the whole formula.
    problem : str
        What is wrong.
    fix : str, optional
        What would work.

    Attributes
    ----------
    formula : str
        The formula as given.
    position : int or None
        The 0-based column of the offending token.
    problem : str
        What is wrong.
    """

    def __init__(self, formula: str, position: int | None, problem: str, fix: str = ""):
        self.formula = formula
        self.position = position
        self.problem = problem
        where = ""
        if position is not None:
            shown = formula if len(formula) <= 120 else formula[:117] + "..."
            caret = " " * min(position, len(shown)) + "^"
            where = f" at position {position}\n  {shown}\n  {caret}"
        msg = f"invalid formula: {problem}{where}"
        if fix:
            msg += f"\n  fix: {fix}"
        super().__init__(msg)


class FormulaTooComplexError(FormulaError):
    """A symbolic or high-precision step on a formula that ran past its time or size budget.

    Raised by :func:`activation_lab.budget.bounded` and :func:`activation_lab.budget.check_size`;
    a :class:`FormulaError`, so a ``ValueError`` too.  The message is one line (the command line
    prints it as it is).

    Parameters
    ----------
    step : str
        The step that ran over ("simplify", "catalogue match", "limit at +inf", ...).
    budget : float
        Its limit, in ``unit``.
    formula : str, optional
        The user's formula.
    unit : str, optional
        ``"s"`` for seconds of CPU time (default), ``"nodes"`` for expression size.
    why : str, optional
        More detail.

    Attributes
    ----------
    step, budget, unit, formula, why
        As given.
    problem : str
        The step and its budget, in words.
    fix : str
        What to try instead.
    """

    def __init__(self, step: str, budget: float, *, formula: str = "", unit: str = "s", why: str = ""):
        self.formula = formula
        self.position = None
        self.step = step
        self.budget = budget
        self.unit = unit
        self.why = why
        limit = f"{budget:g} {unit}" if isinstance(budget, (int, float)) else f"{budget} {unit}"
        self.problem = f"{step} did not finish within its budget of {limit}" + (f" ({why})" if why else "")
        self.fix = "simplify the formula (fewer nested functions, smaller powers) or ask for fewer terms"
        shown = formula if len(formula) <= 120 else formula[:117] + "..."
        where = f" for {shown!r}" if formula else ""
        # one line: the CLI prints it as is
        ValueError.__init__(self, f"formula too complex: {self.problem}{where}; fix: {self.fix}")


class UnsupportedDtypeError(ActivationLabError, TypeError):
    """An array dtype that evaluation does not support (a ``TypeError`` too).

    Parameters
    ----------
    dtype : object
        The dtype given.

    Attributes
    ----------
    dtype : object
        The dtype given.
    """

    def __init__(self, dtype: object):
        self.dtype = dtype
        super().__init__(
            f"unsupported dtype {dtype!s}: activation-lab evaluates float16, bfloat16 (ml_dtypes), float32 and float64 "
            "(bool and integer inputs are converted to float64); convert with x.astype('float64')"
        )
