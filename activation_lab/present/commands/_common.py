"""Small pieces shared by the CLI verbs: resolving a name-or-formula, printing tables/JSON,
stopping cleanly on SIGTERM and SIGHUP."""

from __future__ import annotations

import contextlib
import functools
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
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


# ------------------------------------------------------------------ clean shutdown
#: the signals a long command turns into :class:`Terminated`, as SIGINT is turned into KeyboardInterrupt
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread: every ``except KeyboardInterrupt`` / ``finally``
    on the way out (stopping workers, saving state) runs as it does for Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def stop_signals() -> Iterator[None]:
    """While the block runs, the first SIGTERM or SIGHUP raises :class:`Terminated`; later ones
    are ignored, so the clean-up they started is not cut short.  Outside the main thread: nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = []

    def handler(signum: int, frame: Any) -> None:
        if not raised:
            raised.append(signum)
            raise Terminated(signum)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def long_command(note: Callable[[Any], str] | None = None) -> Callable:
    """Decorate a verb's ``run``: SIGTERM and SIGHUP stop it like SIGINT (workers stopped, state
    saved by the code on the way out), then one line on stderr and exit status 128 + signal."""
    def wrap(run: Callable[[Any], int]) -> Callable[[Any], int]:
        @functools.wraps(run)
        def wrapper(args: Any) -> int:
            with stop_signals():
                try:
                    return run(args)
                except Terminated as stop:
                    name = signal.Signals(stop.signum).name
                    extra = note(args) if note else ""
                    with contextlib.suppress(OSError):   # after SIGHUP the terminal may be gone
                        verb = getattr(args, "verb", None)
                        print(f"activation-lab{' ' + verb if verb else ''}: stopped by {name}{extra}",
                              file=sys.stderr, flush=True)
                    return 128 + stop.signum
        return wrapper
    return wrap
