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


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str, allow_nan=True)
    sys.stdout.write("\n")
