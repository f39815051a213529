"""Small pieces shared by the CLI verbs: resolving a name-or-formula, printing tables/JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from ...errors import UnknownActivationError

FORMULA_CHARS = set("()*+-/ ")


def resolve(text: str, params: dict[str, Any] | None = None):
    """A catalogue activation by name, or a user formula when the text is not a name."""
    from ...symbolic.activation import define, get

    try:
        return get(text, **(params or {}))
    except UnknownActivationError:
        if FORMULA_CHARS & set(text) or text.strip() == "x":
            return define(text, **(params or {}))
        raise


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """A plain-text table with aligned columns."""
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def jsonable(v: Any) -> Any:
    """``v`` with nan and ±inf as the strings "nan", "inf", "-inf" (strict JSON has no such
    numbers), NumPy numbers as Python ones and SymPy expressions as text."""
    import math

    if isinstance(v, bool) or v is None or isinstance(v, (int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if type(v).__module__ == "numpy" and hasattr(v, "tolist"):    # NumPy scalars and arrays
        return jsonable(v.tolist())
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return str(v)


def emit_json(data: Any) -> None:
    """Strict JSON on stdout (see :func:`jsonable`), readable by any parser."""
    json.dump(jsonable(data), sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")
