"""Exceptions raised by activation-lab; each message names the input, the problem and a fix."""

from __future__ import annotations

__all__ = ["ActivationLabError", "UnknownActivationError", "FormulaError", "FormulaTooComplexError",
           "UnsupportedDtypeError"]


class ActivationLabError(Exception):
    """Base class for every error this package raises on purpose."""


class UnknownActivationError(ActivationLabError, KeyError):
    """An activation name that is not in the catalogue."""

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
    """A formula string that the safe parser rejects; `position` is the 0-based column."""

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

    ``step`` names the step ("simplify", "catalogue match", "limit at +inf", ...) and
    ``budget`` its limit, in ``unit`` ("s" for seconds, "nodes" for expression size).  Raised by
    :func:`activation_lab.budget.bounded` and :func:`activation_lab.budget.check_size`.
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
    """An array dtype that evaluation does not support."""

    def __init__(self, dtype: object):
        self.dtype = dtype
        super().__init__(
            f"unsupported dtype {dtype!s}: activation-lab evaluates float16, float32 and float64 "
            "(bool and integer inputs are converted to float64); convert with x.astype('float64')"
        )
