"""NumPy wiring of an exported activation, for the standalone files of ``activation-lab export --to numpy``.

``programs(orders)`` gives a function of x (float64 here) returning f⁽ⁿ⁾ for each n of
``orders``; float16 and float32 compute in float64 and round once, float64 in float64.  (Within
activation_lab, :meth:`activation_lab.Activation.evaluate` is the NumPy path, computing float64
in long double where the platform has it; these files are for users without the package.)
"""

# --- runtime: the text below is copied into standalone files ---
import numpy as np


def patch_nan(x, y, guarded):
    """y where it is a number, the guarded program (inf*0 = 0) where y is nan at a number x."""
    bad = np.isnan(y) & ~np.isnan(x)
    if not bad.any():
        return y
    return np.where(bad, guarded(x), y)


def plain_path(x):
    """Always: the plain program, its nan patched where there is any."""
    return True


def finish(x, ys, fix, zeros):
    """The fix-ups of a printed program (limits at +-inf, nan for nan, the guarded program, signed
    zeros), only where some input is +-inf or nan, some result nan or inf, or one of the outputs
    ``zeros`` (whose tail zeros take their limit's sign) is 0."""
    with np.errstate(all="ignore"):
        p = np.asarray(x)
        for y in ys:
            p = p * y
        if p.size and np.max(np.abs(p)) < np.inf and all(np.min(np.abs(ys[k])) > 0 for k in zeros):
            return ys
    return fix(x, *ys)


def make_function(programs, name="activation"):
    """The exported activation: ``activation(x)`` and ``activation.derivative(x, n=1)``."""

    def evaluate(n, x):
        x = np.asarray(x)
        dtype = x.dtype if x.dtype in (np.float16, np.float32, np.float64) else np.dtype(np.float64)
        with np.errstate(all="ignore"):   # intermediate overflow is expected and guarded
            (y,) = programs((n,))(x.astype(np.float64))
            return np.broadcast_to(y, x.shape).astype(dtype)

    def activation(x):
        return evaluate(0, x)

    def derivative(x, n=1):
        """f^(n)(x), computed in float64 and rounded once to x's dtype."""
        return evaluate(n, x)

    activation.__name__ = activation.__qualname__ = name
    activation.derivative = derivative
    return activation
