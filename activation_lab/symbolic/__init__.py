"""Symbolic layer: SymPy primitives, the safe formula parser and the symbolic Activation (no evaluation)."""

from .activation import Activation, define, get, names
from .parsing import X, parse_formula

__all__ = ["Activation", "X", "define", "get", "names", "parse_formula"]
