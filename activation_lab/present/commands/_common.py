"""Small pieces shared by the CLI verbs: resolving a name-or-formula (with hints for the usual
slips), ``--param``, progress on stderr, printing tables/JSON, stopping cleanly on SIGTERM and
SIGHUP."""

from __future__ import annotations

import contextlib
import functools
import json
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ...errors import ActivationLabError, FormulaError, UnknownActivationError
from ..written import as_written  # noqa: F401 - the verbs import it from here

PARAM_HELP = "value of a parameter of the formula, e.g. --param a=0.5 (repeatable)"


def add_param_option(p: Any) -> None:
    """``--param NAME=VALUE`` (repeatable): every verb that takes a formula accepts it."""
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help=PARAM_HELP)


def add_quiet_option(p: Any) -> None:
    """``--quiet``: no progress bar on stderr."""
    p.add_argument("--quiet", action="store_true", help="no progress display on stderr")


def parse_params(items: Sequence[str]) -> dict[str, str]:
    """``["a=0.5", "b=2"]`` -> ``{"a": "0.5", "b": "2"}`` (values kept as the user wrote them)."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ActivationLabError(f"--param {item!r} is not NAME=VALUE; write e.g. --param alpha=0.1")
        out[name.strip()] = value.strip()
    return out


def resolve(text: str, params: dict[str, Any] | None = None):
    """A catalogue activation by name (a plain identifier other than x), else a user formula.

    The rule is the same for every verb: ``x^2`` and ``2x*tanh(x)`` are formulas, judged by the
    parser, with a hint for the usual slips (:func:`formula_hint`); ``tehlu`` is a misspelt name.
    """
    from ...activation import define, get

    params = dict(params or {})
    try:
        return get(text, **params)
    except UnknownActivationError:
        if text.strip().isidentifier() and text.strip() != "x":
            raise
    try:
        return define(text, **params)
    except FormulaError as err:
        raise formula_hint(err) from None


# a number written right against a name or a parenthesis (2x, 3(x+1)); "0 else" is no such slip
_IMPLICIT = re.compile(r"(?<![\w.])(\d+(?:\.\d*)?)(?![eE][+-]?\d)([A-Za-z_(])")


def formula_hint(err: FormulaError) -> FormulaError:
    """``err`` with its caret and fix aimed at the usual slips: ``^`` for powers, ``2x`` for
    ``2*x``, a parameter without a value (give it with ``--param``); else ``err`` itself."""
    if type(err) is not FormulaError or not isinstance(err.formula, str):
        return err
    text = err.formula
    if "^" in text:
        return FormulaError(text, text.index("^"), "'^' is not a power here",
                            "use ** for powers: x**2, not x^2")
    slip = _IMPLICIT.search(text)
    if slip:
        num, what = slip.group(1), slip.group(2)
        shown = f"{num}*{what}" if what != "(" else f"{num}*(...)"
        return FormulaError(text, slip.start(2), f"a number directly before {what!r} (no operator)",
                            f"write {shown}: multiplication needs *")
    if "unknown name" in err.problem:
        name = err.problem.split("'")[1] if "'" in err.problem else "NAME"
        return FormulaError(text, err.position, err.problem,
                            f"the variable is x; on the command line give a parameter's value with "
                            f"--param {name}=value")
    return err


# ------------------------------------------------------------------ progress on stderr
class _NoProgress:
    """Stands in for a progress bar where none is shown."""

    def update(self, n: int = 1) -> None:
        """Nothing to show."""

    def set_description(self, text: str) -> None:
        """Nothing to show."""

    def close(self) -> None:
        """Nothing to close."""


def progress(args: Any, total: int | None, desc: str) -> Any:
    """A progress bar on stderr (tqdm) when stderr is a terminal and neither ``--json`` nor
    ``--quiet`` was given; else an object with the same methods that shows nothing."""
    if getattr(args, "json", False) or getattr(args, "quiet", False) or not _stderr_is_tty():
        return _NoProgress()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, file=sys.stderr, leave=False, dynamic_ncols=True)


@contextlib.contextmanager
def working(args: Any, desc: str) -> Iterator[None]:
    """For work with no steps to count: the elapsed time on stderr, refreshed twice a second
    (a terminal only; nothing with ``--json`` or ``--quiet``)."""
    bar = progress(args, None, desc)
    if isinstance(bar, _NoProgress):
        yield
        return
    bar.bar_format = "{desc}: {elapsed}"
    done = threading.Event()

    def tick() -> None:
        while not done.wait(0.5):
            bar.refresh()
    thread = threading.Thread(target=tick, name="activation-lab-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        bar.close()


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):   # replaced or closed stream
        return False


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
