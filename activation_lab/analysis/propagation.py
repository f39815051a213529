"""Signal propagation through deep random networks: the variance and correlation maps, the edge of
chaos, depth scales and initialisation gains, for any activation.

A fully connected network with weights W ~ N(0, σ_w²/N), biases b ~ N(0, σ_b²) and Z ~ N(0, 1)
(mean-field theory: Poole et al., NeurIPS 2016; Schoenholz et al., ICLR 2017):

- variance map V(q) = σ_w²·E[f(√q·Z)²] + σ_b², fixed point q*, stable when |V′(q*)| < 1, where
  V′(q) = σ_w²·E[Z·f(√qZ)·f′(√qZ)]/√q (Stein's lemma; = χ₁ + σ_w²·E[f″·f] where f′ is continuous,
  and still right at a kink of f′ where that form misses a delta term);
- χ₁ = σ_w²·E[f′(√q*·Z)²];
- correlation map C(c) = (σ_w²·E[f(u₁)f(u₂)] + σ_b²)/q*, u₁ = √q*·z₁, u₂ = √q*·(c·z₁ + √(1−c²)·z₂),
  with slope C′(c) = σ_w²·E[f′(u₁)f′(u₂)]; c = 1 is a fixed point with slope χ₁;
- depth scales ξ_q = −1/log V′(q*) and ξ_c = −1/log C′(c*); ξ_c diverges on the edge of chaos χ₁ = 1.

Gaussian expectations E[g(√q·Z)] are composite Gauss–Legendre sums over |z| ≤ 38.5 (beyond it the
Gaussian weight underflows float64), on panels no wider than 0.5 in z and 0.5 in x = √q·z, split at
the activation's kinks; f and f′ come from the package's accurate float64 evaluation.  A 10-point
and a 16-point rule share the panels; their difference, the rounding of the sum and the mass in the
outermost panels make the error estimate each result carries.  Two-input expectations use Mehler's
(Hermite) expansion E[g(z₁)·g(c·z₁ + √(1−c²)·z₂)] = Σ aₙ²cⁿ, aₙ = E[g(Z)·Heₙ(Z)]/√n!, whose tail
after N terms is at most |c|ᴺ·(E[g²] − Σ_{n<N} aₙ²) (Parseval): the truncation error is bounded.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..budget import bounded
from ..errors import ActivationLabError
from ..numeric.evaluate import evaluate
from ..symbolic.activation import Activation, get, resolve

__all__ = ["Propagation", "EdgeOfChaos", "EocCurve", "Gain", "Gains", "GAIN_CONVENTIONS", "TORCH_GAINS",
           "propagation", "edge_of_chaos", "eoc_curve", "gain", "variance_map", "correlation_map",
           "significant", "Q_RANGE"]

#: the conventions of :func:`gain`, each with what it means
GAIN_CONVENTIONS: dict[str, str] = {
    "torch": "PyTorch's torch.nn.init.calculate_gain (defined for linear, sigmoid, tanh, relu, leaky_relu, selu)",
    "variance": "1/√E[f(Z)²], Z ~ N(0, 1): keeps E[f(gain·…)²]-style second moments at 1 (the project's "
                "earlier 'init gain')",
    "eoc": "σ_w on the edge of chaos at σ_b = 0 (χ₁ = σ_w²·E[f′(√q*·Z)²] = 1)",
}

#: PyTorch's calculate_gain values (torch/nn/init.py); leaky_relu: √(2/(1 + slope²))
TORCH_GAINS: dict[str, float] = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0),
                                 "selu": 0.75}

#: the q range searched for fixed points of the variance map
Q_RANGE: tuple[float, float] = (1e-8, 1e6)

_L = 38.5            # |z| beyond which the N(0, 1) density underflows float64
_STEP = 0.5          # widest panel, in z and in x = √q·z
_X_SPAN = 40.0       # x-panels cover |x| ≤ 40, where activations have their structure
_TAIL = 30.0         # mass beyond |z| = 30 must be negligible, else the integral is not trusted
_Q_GRID = np.geomspace(*Q_RANGE, 141)
_HERMITE_TERMS = 240
_EPS = np.finfo(np.float64).eps


# ---------------------------------------------------------------------------------------------
# Gaussian expectations with an error estimate
# ---------------------------------------------------------------------------------------------
@functools.cache
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


def _panels(scale: float, kinks: Sequence[float]) -> np.ndarray:
    """Panel edges in z for x = scale·z: every 0.5 in z and in x (|x| ≤ 40), and at the kinks."""
    edges = [np.arange(-_L, _L + _STEP / 2, _STEP)]
    if scale > 0:
        inner = [np.arange(-_X_SPAN, _X_SPAN + _STEP / 2, _STEP), np.asarray(kinks, dtype=np.float64)]
        for x in inner:
            z = x / scale
            edges.append(z[np.abs(z) < _L])
    e = np.unique(np.concatenate(edges))
    return e[np.concatenate(([True], np.diff(e) > 1e-13 * _L))]


def _rule(scale: float, kinks: Sequence[float], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z and weights (Gauss–Legendre × the N(0, 1) density) of an n-point composite rule."""
    e = _panels(scale, kinks)
    a, b = e[:-1, None], e[1:, None]
    t, w = _legendre(n)
    z = (a + b) / 2 + (b - a) / 2 * t
    weights = (b - a) / 2 * w * np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return z.ravel(), weights.ravel()


@dataclass(frozen=True)
class _Sample:
    """f and f′ at x = √q·z on the fine (16-point) and coarse (10-point) rules."""

    q: float
    z: tuple[np.ndarray, np.ndarray]
    w: tuple[np.ndarray, np.ndarray]
    f: tuple[np.ndarray, np.ndarray]
    df: tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class _Kernel:
    """The activation as the integrals need it: kinks and values at 0."""

    act: Activation
    kinks: tuple[float, ...]
    f0: float
    df0_sq: float        # (f′(0⁻)² + f′(0⁺)²)/2: the q → 0 limit of E[f′(√q·Z)²]

    def sample(self, q: float) -> _Sample:
        s = math.sqrt(q)
        rules = [_rule(s, self.kinks, n) for n in (16, 10)]
        xs = np.concatenate([s * z for z, _ in rules])
        f, df = evaluate(self.act, xs, n=(0, 1))
        k = rules[0][0].size
        return _Sample(q, (rules[0][0], rules[1][0]), (rules[0][1], rules[1][1]), (f[:k], f[k:]), (df[:k], df[k:]))


@functools.lru_cache(maxsize=64)
def _kernel(act: Activation) -> _Kernel:
    from .properties import breakpoints

    with bounded("locating the kinks for the Gaussian integrals", formula=act.formula):
        kinks = tuple(float(k) for k in breakpoints(act.expr))
    tiny = np.array([-1e-300, 0.0, 1e-300])
    f, df = evaluate(act, tiny, n=(0, 1))
    return _Kernel(act, kinks, float(f[1]), float((df[0] ** 2 + df[2] ** 2) / 2))


class _UndefinedError(Exception):
    """A Gaussian expectation that diverges, overflows float64 or does not decay within |z| ≤ 38.5."""


def _integral(sample: _Sample, what: str) -> tuple[float, float]:
    """(value, error estimate) of E[g] for g named by ``what``: 'f2' f², 'df2' f′², 'f' f,
    'zffp' Z·f·f′/√q (V′(q)/σ_w²)."""
    out = []
    tail = 0.0
    for k in (0, 1):
        z, w, f, df = sample.z[k], sample.w[k], sample.f[k], sample.df[k]
        with np.errstate(all="ignore"):
            g = {"f2": f * f, "df2": df * df, "f": f, "zffp": z * f * df / math.sqrt(sample.q)}[what]
            terms = w * g
        live = w > 0
        if not np.all(np.isfinite(terms[live])):
            bad = float(np.sqrt(sample.q) * z[live][~np.isfinite(terms[live])][0])
            raise _UndefinedError(f"E[{_NAMES[what]}] at q = {sample.q:.6g} is undefined: the integrand overflows "
                                  f"float64 at x = √q·z = {bad:.6g} (the expectation diverges or lies beyond float64)")
        terms = np.where(live, terms, 0.0)
        value = float(np.sum(terms))
        if k == 0:
            tail = float(np.sum(np.abs(terms[np.abs(z) > _TAIL])))
            scale = float(np.sum(np.abs(terms)))
        out.append(value)
    if tail > 1e-14 * max(abs(out[0]), 1e-300) and tail > 1e-300:
        raise _UndefinedError(f"E[{_NAMES[what]}] at q = {sample.q:.6g} does not converge: the integrand does not "
                              f"decay within |z| ≤ {_L} (the expectation diverges or lies beyond float64)")
    err = abs(out[0] - out[1]) + 64 * _EPS * scale + tail
    return out[0], err


_NAMES = {"f2": "f(√q·Z)²", "df2": "f′(√q·Z)²", "f": "f(√q·Z)", "zffp": "Z·f(√q·Z)·f′(√q·Z)/√q"}


def _moment(kern: _Kernel, q: float, what: str) -> tuple[float, float]:
    """E[g(√q·Z)] with its error; q = 0 is the limit q → 0⁺."""
    if q == 0:
        limits = {"f2": kern.f0 ** 2, "df2": kern.df0_sq, "f": kern.f0,
                  "zffp": kern.df0_sq if kern.f0 == 0 else math.inf}
        return limits[what], 0.0
    return _integral(_cached_sample(kern, q), what)


@functools.lru_cache(maxsize=256)     # ≈ 250 kB each
def _cached_sample(kern: _Kernel, q: float) -> _Sample:
    return kern.sample(q)


def _hermite(kern: _Kernel, q: float, order: int, terms: int = _HERMITE_TERMS) -> tuple[np.ndarray, float, float]:
    """(aₙ² for n < terms, E[g²], error of the aₙ² sums) for g(z) = f⁽ᵒʳᵈᵉʳ⁾(√q·z), aₙ = E[g(Z)·Heₙ(Z)]/√n!.

    The normalised Hermite functions ψₙ = Heₙ·√φ/√n! are bounded, so the recurrence
    ψₙ₊₁ = (z·ψₙ − √n·ψₙ₋₁)/√(n+1) cannot overflow at |z| ≤ 38.5.
    """
    sample = _cached_sample(kern, q)
    sums = []
    for k in (0, 1):
        z, w = sample.z[k], sample.w[k]
        g = (sample.f if order == 0 else sample.df)[k]
        root = np.sqrt(np.exp(-z * z / 2) / math.sqrt(2 * math.pi))
        with np.errstate(all="ignore"):
            weighted = np.where(w > 0, w * g / np.where(root > 0, root, 1.0), 0.0)
        coeffs = np.empty(terms)
        prev, cur = np.zeros_like(z), root
        for n in range(terms):
            coeffs[n] = weighted @ cur
            prev, cur = cur, (z * cur - math.sqrt(n) * prev) / math.sqrt(n + 1)
        sums.append(coeffs ** 2)
    total, err = _moment(kern, q, "f2" if order == 0 else "df2")
    spread = float(np.max(np.abs(np.cumsum(sums[0]) - np.cumsum(sums[1]))))
    return sums[0], total, spread + err


def _series(coeffs: np.ndarray, total: float, err: float, c: float) -> tuple[float, float]:
    """Σ aₙ²cⁿ with its error: the computed terms plus the bound |c|ᴺ·(Σ all − Σ computed) on the tail."""
    n = np.arange(coeffs.size)
    with np.errstate(under="ignore"):
        powers = np.where(n == 0, 1.0, abs(c) ** n * np.where(n % 2 == 1, math.copysign(1.0, c), 1.0))
    value = float(coeffs @ powers)
    rest = max(total - float(coeffs.sum()), 0.0)
    return value, abs(c) ** coeffs.size * (rest + err) + err


# ---------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------
def _number(value: Any, what: str, positive: bool = False) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    v = float(value) if ok else math.nan
    if not math.isfinite(v) or (positive and v <= 0) or (not positive and v < 0):
        need = "a finite number > 0" if positive else "a finite number ≥ 0"
        example = "sigma_w=1.5" if what == "sigma_w" else f"{what}=0.1"
        raise ActivationLabError(f"{what} must be {need}, got {value!r}; pass e.g. {example} "
                                 f"({'weights have variance σ_w²/N: σ_w > 0' if what == 'sigma_w' else 'a spread'})")
    return v


def significant(value: float, error: float, most: int = 10) -> str:
    """``value`` with only the digits its ``error`` leaves right (1 to ``most`` significant digits).

    Parameters
    ----------
    value : float
        The number.
    error : float
        Its estimated absolute error (0: exact, shown to ``most`` digits).
    most : int, optional
        The most significant digits shown (default 10).

    Returns
    -------
    str
        The number as text, e.g. ``"1.3748"``; ``"0.5 (± 0.7)"`` where the error swamps it.
    """
    if not math.isfinite(value):
        return {math.inf: "inf", -math.inf: "-inf"}.get(value, "nan")
    if value == 0:
        return "0" if error == 0 else f"0 ± {error:.1g}"
    if not math.isfinite(error) or error >= abs(value):
        return f"{value:.1g} (± {error:.1g})"
    digits = most if error == 0 else int(math.floor(math.log10(abs(value) / (2 * error))))
    return f"{value:.{max(1, min(most, digits))}g}"


# ---------------------------------------------------------------------------------------------
# the maps
# ---------------------------------------------------------------------------------------------
def variance_map(act: Activation | str, q: float, sigma_w: float, sigma_b: float) -> float:
    """V(q) = σ_w²·E[f(√q·Z)²] + σ_b²: the per-unit pre-activation variance of the next layer.

    Parameters
    ----------
    act : Activation or str
        The activation, or a catalogue name.
    q : float
        The pre-activation variance of this layer (≥ 0).
    sigma_w : float
        Weight spread (> 0): weights N(0, σ_w²/N).
    sigma_b : float
        Bias spread (≥ 0).

    Returns
    -------
    float
        V(q).

    Raises
    ------
    ActivationLabError
        A value out of range, or the expectation is undefined at this q.
    """
    kern = _kernel(resolve(act))
    sw, sb = _number(sigma_w, "sigma_w", positive=True), _number(sigma_b, "sigma_b")
    try:
        return sw * sw * _moment(kern, _number(q, "q"), "f2")[0] + sb * sb
    except _UndefinedError as why:
        raise ActivationLabError(str(why)) from None


def correlation_map(act: Activation | str, c: float, sigma_w: float, sigma_b: float, q: float) -> float:
    """c ↦ (σ_w²·E[f(u₁)f(u₂)] + σ_b²)/V(q) for two inputs of variance q and correlation c
    (u₁ = √q·z₁, u₂ = √q·(c·z₁ + √(1−c²)·z₂)); at q = q* the denominator V(q*) is q*.

    Parameters
    ----------
    act : Activation or str
        The activation, or a catalogue name.
    c : float
        The correlation of the two inputs, in [−1, 1].
    sigma_w, sigma_b : float
        Weight (> 0) and bias (≥ 0) spreads.
    q : float
        The variance of each input (> 0).

    Returns
    -------
    float
        The correlation of the next layer's pre-activations.

    Raises
    ------
    ActivationLabError
        A value out of range, or the expectation is undefined at this q.
    """
    kern = _kernel(resolve(act))
    sw, sb = _number(sigma_w, "sigma_w", positive=True), _number(sigma_b, "sigma_b")
    q = _number(q, "q", positive=True)
    if not (isinstance(c, (int, float, np.floating)) and -1 <= float(c) <= 1):
        raise ActivationLabError(f"c must be a correlation in [-1, 1], got {c!r}")
    try:
        coeffs, total, err = _hermite(kern, q, 0)
    except _UndefinedError as why:
        raise ActivationLabError(str(why)) from None
    cross, _ = _series(coeffs, total, err, float(c))
    return (sw * sw * cross + sb * sb) / (sw * sw * total + sb * sb)


# ---------------------------------------------------------------------------------------------
# propagation at one point
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Propagation:
    """Mean-field signal propagation of f at (σ_w, σ_b).

    Attributes
    ----------
    name : str
        The activation.
    sigma_w, sigma_b : float
        The point: weights N(0, σ_w²/N), biases N(0, σ_b²).
    status : str
        ``"ok"``; ``"no fixed point"`` (q grows without bound, or the fixed point lies outside the
        searched range); or ``"undefined"`` (a Gaussian expectation diverges).
    reason : str
        Why, when status is not ``"ok"``.
    q_star : float
        The fixed point of V reached from q0 (nan unless status is ``"ok"``).
    q_stable : bool
        |V′(q*)| < 1.
    fixed_points : tuple of float
        Every fixed point of V found in [0] ∪ [1e−8, 1e6].
    v_slope : float
        V′(q*) = σ_w²·E[Z·f·f′]/√q*.
    chi1 : float
        χ₁ = σ_w²·E[f′(√q*·Z)²].
    phase : str
        ``"ordered"`` (χ₁ < 1), ``"chaotic"`` (χ₁ > 1) or ``"edge of chaos"``.
    c_star, c_slope : float
        The stable fixed point of the correlation map (1 in the ordered phase) and
        C′(c*) = σ_w²·E[f′(u₁)f′(u₂)] there (= χ₁ at c* = 1); nan where q* = 0 (no signal left).
    xi_q, xi_c : float
        Depth scales −1/log|V′(q*)| and −1/log C′(c*) (inf on the edge).
    errors : mapping of str to float
        Estimated absolute error of each number above, by field name.
    """

    name: str
    sigma_w: float
    sigma_b: float
    status: str
    reason: str
    q_star: float
    q_stable: bool
    fixed_points: tuple[float, ...]
    v_slope: float
    chi1: float
    phase: str
    c_star: float
    c_slope: float
    xi_q: float
    xi_c: float
    errors: Mapping[str, float] = field(default_factory=dict)

    def show(self, key: str) -> str:
        """One field as text, to the digits its error leaves right.

        Parameters
        ----------
        key : str
            A field name, e.g. ``"chi1"``.

        Returns
        -------
        str
            The value with the digits its error estimate leaves right (see :func:`significant`).

        Raises
        ------
        AttributeError
            ``key`` is not a field.
        """
        return significant(getattr(self, key), self.errors.get(key, 0.0))

    def __str__(self) -> str:
        head = f"signal propagation of {self.name} at σ_w = {self.sigma_w:g}, σ_b = {self.sigma_b:g}"
        if self.status != "ok":
            return f"{head}\n  {self.status}: {self.reason}"
        rows = [("q* (variance fixed point)", f"{self.show('q_star')} ({'stable' if self.q_stable else 'unstable'})"),
                ("V'(q*)", self.show("v_slope")), ("chi1", f"{self.show('chi1')} ({self.phase})"),
                ("c* (correlation fixed point)", self.show("c_star")), ("C'(c*)", self.show("c_slope")),
                ("xi_q (depth scale, variance)", self.show("xi_q")),
                ("xi_c (depth scale, correlation)", self.show("xi_c"))]
        width = max(len(k) for k, _ in rows)
        lines = [head] + [f"  {k.ljust(width)}  {v}" for k, v in rows]
        return "\n".join(lines + ([f"  note: {self.reason}"] if self.reason else []))


def _bracket_roots(fn: Any, grid: np.ndarray, values: np.ndarray) -> list[float]:
    """Roots of fn at each sign change of ``values`` (fn on ``grid``), refined by Brent's method."""
    from scipy.optimize import brentq

    roots = []
    for i in np.flatnonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0):
        roots.append(float(brentq(fn, grid[i], grid[i + 1], xtol=1e-15 * grid[i], rtol=4 * _EPS)))
    roots += [float(grid[i]) for i in np.flatnonzero(values == 0)]
    return sorted(roots)


def _on_grid(kern: _Kernel, fn: Any) -> tuple[np.ndarray, np.ndarray, str]:
    """fn on the q grid, up to the first q where an expectation is undefined (and why)."""
    out = []
    for q in _Q_GRID:
        try:
            out.append(fn(q))
        except _UndefinedError as why:
            return _Q_GRID[:len(out)], np.array(out), str(why)
    return _Q_GRID, np.array(out), ""


def _no_point(name: str, sw: float, sb: float, status: str, reason: str, fixed: tuple[float, ...] = ()
              ) -> Propagation:
    nan = math.nan
    return Propagation(name, sw, sb, status, reason, nan, False, fixed, nan, nan, "", nan, nan, nan, nan, {})


def propagation(act: Activation | str, sigma_w: float, sigma_b: float, *, q0: float = 1.0) -> Propagation:
    """Signal propagation of f in a deep random network at (σ_w, σ_b) (see :class:`Propagation`).

    q* is the fixed point of V(q) = σ_w²·E[f(√qZ)²] + σ_b² that iterating V from ``q0`` reaches;
    χ₁ = σ_w²·E[f′(√q*Z)²]; ξ_q = −1/log V′(q*); ξ_c = −1/log C′(c*) (Schoenholz et al. 2017).

    Parameters
    ----------
    act : Activation or str
        The activation, or a catalogue name.
    sigma_w : float
        Weight spread (> 0): weights N(0, σ_w²/N).
    sigma_b : float
        Bias spread (≥ 0): biases N(0, σ_b²).
    q0 : float, optional
        The input variance the iteration of V starts from (default 1).

    Returns
    -------
    Propagation
        q*, χ₁ and the phase, c*, the depth scales, each with an error estimate; or a status saying
        why there is no fixed point (the variance grows without bound, an expectation diverges).

    Raises
    ------
    UnknownActivationError
        An unknown catalogue name.
    ActivationLabError
        ``sigma_w``, ``sigma_b`` or ``q0`` is out of range.

    Examples
    --------
    >>> p = propagation("tanh", 1.5, 0.1); p.phase
    'chaotic'
    """
    act = resolve(act)
    sw, sb = _number(sigma_w, "sigma_w", positive=True), _number(sigma_b, "sigma_b")
    q0 = _number(q0, "q0", positive=True)
    kern = _kernel(act)
    return _propagation(kern, sw, sb, q0)


@functools.lru_cache(maxsize=512)
def _propagation(kern: _Kernel, sw: float, sb: float, q0: float) -> Propagation:
    name = kern.act.name

    def gap(q: float) -> float:
        return sw * sw * _moment(kern, q, "f2")[0] + sb * sb - q

    grid, values, undefined = _on_grid(kern, gap)
    roots = _bracket_roots(gap, grid, values) if grid.size > 1 else []
    if sb == 0 and kern.f0 == 0:
        roots = [0.0, *roots]
    fixed = tuple(roots)
    try:
        start = gap(q0)
    except _UndefinedError as why:
        return _no_point(name, sw, sb, "undefined", f"{why}; the variance map is undefined at q0 = {q0:g}", fixed)
    ahead = [r for r in roots if r >= q0] if start > 0 else [r for r in roots if r <= q0][::-1]
    if not ahead:
        if start > 0 and undefined:
            return _no_point(name, sw, sb, "undefined", f"iterating V from q0 = {q0:g} raises q until {undefined}",
                             fixed)
        where = "grows without bound" if start > 0 else "falls below the searched range"
        return _no_point(name, sw, sb, "no fixed point",
                         f"V(q) {'>' if start > 0 else '<'} q on [{q0:g}, {'1e+06' if start > 0 else '1e-08'}]: "
                         f"q {where} from q0 = {q0:g}", fixed)
    q_star = ahead[0]
    try:
        return _at_fixed_point(kern, sw, sb, q_star, fixed)
    except _UndefinedError as why:
        return _no_point(name, sw, sb, "undefined", str(why), fixed)


def _at_fixed_point(kern: _Kernel, sw: float, sb: float, q: float, fixed: tuple[float, ...]) -> Propagation:
    w2 = sw * sw
    f2, e_f2 = _moment(kern, q, "f2")
    df2, e_df2 = _moment(kern, q, "df2")
    zf, e_zf = _moment(kern, q, "zffp")
    v_slope, chi1 = w2 * zf, w2 * df2
    e_v, e_chi = w2 * e_zf, w2 * e_df2
    # q*'s error: the error of V(q*) − q* over the slope of that difference
    e_q = (w2 * e_f2 + 4 * _EPS * q) / max(abs(v_slope - 1), 1e-300)
    errors = {"q_star": e_q, "v_slope": e_v, "chi1": e_chi}
    phase = "edge of chaos" if abs(chi1 - 1) <= e_chi else ("ordered" if chi1 < 1 else "chaotic")
    note = ""
    if q == 0:
        c_star = c_slope = xi_c = math.nan
        note = "q* = 0: the signal dies out, so the correlation map (divided by q*) is undefined"
    elif chi1 <= 1:
        c_star, c_slope = 1.0, chi1
        errors.update(c_star=0.0, c_slope=e_chi)
    else:
        c_star, c_slope, e_c, e_slope = _chaotic_fixed_point(kern, sw, sb, q)
        errors.update(c_star=e_c, c_slope=e_slope)
    xi_q = _depth(abs(v_slope), e_v)
    if q != 0:
        xi_c = _depth(c_slope, errors["c_slope"])
        errors["xi_c"] = _depth_error(c_slope, errors["c_slope"])
    errors["xi_q"] = _depth_error(abs(v_slope), e_v)
    return Propagation(kern.act.name, sw, sb, "ok", note, q, abs(v_slope) < 1, fixed, v_slope, chi1, phase,
                       c_star, c_slope, xi_q, xi_c, errors)


def _depth(slope: float, err: float) -> float:
    """−1/log(slope): inf at slope 1 (within its error), nan where the fixed point repels."""
    if abs(slope - 1) <= err or slope == 1:
        return math.inf
    if slope <= 0:
        return 0.0
    return -1 / math.log(slope) if slope < 1 else math.nan


def _depth_error(slope: float, err: float) -> float:
    if not 0 < slope < 1 or abs(slope - 1) <= err:
        return math.inf if abs(slope - 1) <= err else 0.0
    return err / (slope * math.log(slope) ** 2)


def _chaotic_fixed_point(kern: _Kernel, sw: float, sb: float, q: float) -> tuple[float, float, float, float]:
    """(c*, C′(c*), their errors) for χ₁ > 1: the largest root of C(c) = c below 1."""
    a2, tot_a, err_a = _hermite(kern, q, 0)
    b2, tot_b, err_b = _hermite(kern, q, 1)
    w2 = sw * sw

    def gap(c: float) -> float:
        return (w2 * _series(a2, tot_a, err_a, c)[0] + sb * sb) / q - c

    grid = np.concatenate([np.linspace(-1, 0.99, 200), 1 - np.geomspace(1e-2, 1e-9, 60)])
    values = np.array([gap(c) for c in grid])
    roots = _bracket_roots(gap, grid, values) or [-1.0]
    c_star = roots[-1]
    value_err = w2 * _series(a2, tot_a, err_a, c_star)[1] / q
    slope, e_slope = _series(b2, tot_b, err_b, c_star)
    e_c = value_err / max(abs(w2 * slope - 1), 1e-300) + 4 * _EPS
    n = np.arange(1, b2.size)
    curvature = w2 * float(np.sum(n * b2[1:] * abs(c_star) ** (n - 1)))     # bounds |dC′/dc|
    return c_star, w2 * slope, e_c, w2 * e_slope + curvature * e_c


# ---------------------------------------------------------------------------------------------
# the edge of chaos
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EdgeOfChaos:
    """The edge of chaos of f at one σ_b: the σ_w with χ₁ = 1 at the variance fixed point q*.

    Attributes
    ----------
    name : str
        The activation.
    sigma_b : float
        The bias spread.
    exists : bool
        Whether there is such a σ_w; when not, ``reason`` says why.
    sigma_w, q_star : float
        The point (nan when none; q_star nan also where every q is a fixed point).
    q_stable : bool
        Whether q* attracts the variance map there (|V′(q*)| ≤ 1); SiLU, GELU and Mish at small
        σ_b have their edge at an unstable q* (V′(q*) > 1), and ``reason`` says so.
    reason : str
        Why there is none, or a note on the point (q* = 0, every q a fixed point).
    errors : mapping of str to float
        Estimated absolute errors of sigma_w and q_star.
    """

    name: str
    sigma_b: float
    exists: bool
    sigma_w: float
    q_star: float
    q_stable: bool = True
    reason: str = ""
    errors: Mapping[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        head = f"edge of chaos of {self.name} at σ_b = {self.sigma_b:g}: "
        if not self.exists:
            return head + f"none ({self.reason})"
        text = (f"σ_w = {significant(self.sigma_w, self.errors.get('sigma_w', 0.0))}, "
                f"q* = {significant(self.q_star, self.errors.get('q_star', 0.0))}")
        return head + text + (f" ({self.reason})" if self.reason else "")


def edge_of_chaos(act: Activation | str, sigma_b: float) -> EdgeOfChaos:
    """σ_w with χ₁ = σ_w²·E[f′(√q*Z)²] = 1 where q* = σ_w²·E[f(√q*Z)²] + σ_b², or a reason there is none.

    Eliminating σ_w² = 1/E[f′²] leaves one equation in q: E[f(√qZ)²]/E[f′(√qZ)²] + σ_b² = q, solved on
    [1e−8, 1e6] (and q = 0 when σ_b = 0 and f(0) = 0, where σ_w = 1/|f′(0)|).  ReLU: the single point
    σ_b = 0, σ_w = √2 (every q is then a fixed point); tanh: σ_w = 1 at σ_b = 0.

    Parameters
    ----------
    act : Activation or str
        The activation, or a catalogue name.
    sigma_b : float
        Bias spread (≥ 0).

    Returns
    -------
    EdgeOfChaos
        σ_w and q* with error estimates, whether q* is stable there, or ``exists=False`` with the
        reason (ReLU at σ_b > 0: the variance map has no fixed point on χ₁ = 1).

    Raises
    ------
    UnknownActivationError
        An unknown catalogue name.
    ActivationLabError
        ``sigma_b`` is not a finite number ≥ 0.

    Examples
    --------
    >>> round(edge_of_chaos("tanh", 0).sigma_w, 12)
    1.0
    """
    act = resolve(act)
    sb = _number(sigma_b, "sigma_b")
    return _edge(_kernel(act), sb)


@functools.lru_cache(maxsize=2048)
def _edge(kern: _Kernel, sb: float) -> EdgeOfChaos:
    name = kern.act.name

    def ratio(q: float) -> float:
        return _moment(kern, q, "f2")[0] / _moment(kern, q, "df2")[0]

    grid, rq, undefined = _ratio_grid(kern)
    if grid.size and np.all(np.abs(rq - grid) <= 1e-9 * grid):
        # f positively homogeneous (ReLU, leaky ReLU): E[f²]/E[f′²] = q for every q
        df2, err = _moment(kern, 1.0, "df2")
        sw = 1 / math.sqrt(df2)
        if sb == 0:
            return EdgeOfChaos(name, sb, True, sw, math.nan, True,
                               "every q ≥ 0 is a fixed point here: E[f(√qZ)²]/E[f′(√qZ)²] = q for all q",
                               {"sigma_w": sw * err / (2 * df2), "q_star": math.nan})
        return EdgeOfChaos(name, sb, False, math.nan, math.nan, False,
                           f"E[f(√qZ)²]/E[f′(√qZ)²] = q for every q (f is positively homogeneous), so on χ₁ = 1 "
                           f"(σ_w = {sw:.10g}) the variance map is q ↦ q + σ_b² and has no fixed point for σ_b > 0: "
                           "the edge of chaos is the single point σ_b = 0")
    candidates = []
    if sb == 0 and kern.f0 == 0 and kern.df0_sq > 0:
        candidates.append(0.0)
    h = rq + sb * sb - grid
    roots = _bracket_roots(lambda q: ratio(q) + sb * sb - q, grid, h) if grid.size > 1 else []
    candidates += roots
    found = []
    for q in candidates:
        df2, e_df2 = _moment(kern, q, "df2")
        if df2 > 0:
            sw = 1 / math.sqrt(df2)
            found.append((abs(sw * sw * _moment(kern, q, "zffp")[0]), q, sw, df2, e_df2))
    # a stable fixed point first: a network that starts near q* settles there
    found.sort(key=lambda item: item[0] > 1 + 1e-9)
    if found:
        v_slope, q, sw, df2, e_df2 = found[0]
        dq = _root_error(kern, q) if q > 0 else 0.0
        e_sw = sw * e_df2 / (2 * df2) + _sw_shift(kern, q, dq)
        stable = v_slope <= 1 + 1e-9
        note = "q* = 0: on the edge the signal variance itself dies out (σ_w = 1/|f′(0)|)" if q == 0 else ""
        if not stable:
            note = (f"q* is an unstable fixed point of the variance map here (V′(q*) = {v_slope:.4g} > 1): "
                    "layer variances drift away from it")
        return EdgeOfChaos(name, sb, True, sw, q, stable, note, {"sigma_w": e_sw, "q_star": dq})
    if undefined and not roots:
        return EdgeOfChaos(name, sb, False, math.nan, math.nan, False,
                           f"no q in [1e-08, {grid[-1] if grid.size else 1e-8:.3g}] solves "
                           f"E[f²]/E[f′²] + σ_b² = q, and beyond that {undefined}")
    side = "above" if h.size and np.all(h > 0) else "below" if h.size and np.all(h < 0) else "on both sides of"
    detail = {"above": "on χ₁ = 1 the variance map pushes q up everywhere, so q grows without bound",
              "below": "on χ₁ = 1 the variance map pulls q down everywhere, so q* = 0 (the signal dies out)",
              }.get(side, "no solution has E[f′(√qZ)²] > 0")
    return EdgeOfChaos(name, sb, False, math.nan, math.nan, False,
                       f"E[f(√qZ)²]/E[f′(√qZ)²] + σ_b² stays {side} q for q in [1e-08, 1e+06]: {detail}")


@functools.lru_cache(maxsize=64)
def _ratio_grid(kern: _Kernel) -> tuple[np.ndarray, np.ndarray, str]:
    return _on_grid(kern, lambda q: _moment(kern, q, "f2")[0] / _moment(kern, q, "df2")[0])


def _root_error(kern: _Kernel, q: float) -> float:
    """Error of the root q of E[f²]/E[f′²] + σ_b² − q: the error of that expression over its slope."""
    f2, e_f2 = _moment(kern, q, "f2")
    df2, e_df2 = _moment(kern, q, "df2")
    err = f2 / df2 * (e_f2 / abs(f2) + e_df2 / df2) + 4 * _EPS * q
    h = 1e-5 * q
    up = _moment(kern, q + h, "f2")[0] / _moment(kern, q + h, "df2")[0]
    down = _moment(kern, q - h, "f2")[0] / _moment(kern, q - h, "df2")[0]
    slope = (up - down) / (2 * h) - 1
    return err / max(abs(slope), 1e-12)


def _sw_shift(kern: _Kernel, q: float, dq: float) -> float:
    """How far σ_w = 1/√E[f′(√qZ)²] moves when q moves by dq."""
    if q == 0 or dq == 0:
        return 0.0
    sw = 1 / math.sqrt(_moment(kern, q, "df2")[0])
    h = max(dq, 1e-7 * q)
    moved = 1 / math.sqrt(_moment(kern, q + h, "df2")[0])
    return abs(moved - sw) / h * dq


@dataclass(frozen=True)
class EocCurve:
    """The edge of chaos of f over a range of σ_b: ``points`` (one :class:`EdgeOfChaos` each) and
    the columns ``sigma_b``, ``sigma_w`` and ``q_star`` (nan where there is none).

    Attributes
    ----------
    name : str
        The activation.
    points : tuple of EdgeOfChaos
        One per σ_b, in the order asked.
    sigma_b, sigma_w, q_star : numpy.ndarray
        The columns of ``points`` (float64, nan where there is no edge).
    exists : numpy.ndarray
        Whether each point exists (bool).
    """

    name: str
    points: tuple[EdgeOfChaos, ...]

    @property
    def sigma_b(self) -> np.ndarray:
        return np.array([p.sigma_b for p in self.points])

    @property
    def sigma_w(self) -> np.ndarray:
        return np.array([p.sigma_w for p in self.points])

    @property
    def q_star(self) -> np.ndarray:
        return np.array([p.q_star for p in self.points])

    @property
    def exists(self) -> np.ndarray:
        return np.array([p.exists for p in self.points])

    def __str__(self) -> str:
        lines = [f"edge of chaos of {self.name}", "  sigma_b       sigma_w         q*"]
        for p in self.points:
            if p.exists:
                lines.append(f"  {p.sigma_b:<12g}  {significant(p.sigma_w, p.errors.get('sigma_w', 0)):<14}  "
                             f"{significant(p.q_star, p.errors.get('q_star', 0))}")
            else:
                lines.append(f"  {p.sigma_b:<12g}  none: {p.reason}")
        return "\n".join(lines)


def eoc_curve(act: Activation | str, sigma_b: Any = None) -> EocCurve:
    """:func:`edge_of_chaos` at each σ_b (default 0, 0.05, …, 1); the caller's array is not modified.

    Parameters
    ----------
    act : Activation or str
        The activation, or a catalogue name.
    sigma_b : array_like, optional
        Bias spreads (≥ 0); default 21 points from 0 to 1.

    Returns
    -------
    EocCurve
        One :class:`EdgeOfChaos` per σ_b, with the columns as arrays.

    Raises
    ------
    UnknownActivationError
        An unknown catalogue name.
    ActivationLabError
        A σ_b that is not a finite number ≥ 0.
    """
    act = resolve(act)
    values = np.linspace(0, 1, 21) if sigma_b is None else np.array(sigma_b, dtype=np.float64).ravel()
    kern = _kernel(act)
    return EocCurve(act.name, tuple(_edge(kern, _number(float(b), "sigma_b")) for b in values))


# ---------------------------------------------------------------------------------------------
# initialisation gain
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Gain:
    """An initialisation gain in one convention (see :data:`GAIN_CONVENTIONS`).

    Attributes
    ----------
    name : str
        The activation.
    convention : str
        ``"torch"``, ``"variance"`` or ``"eoc"``.
    defined : bool
        Whether the convention defines a gain for this activation.
    value : float
        The gain (nan where not defined).
    error : float
        Its estimated absolute error (0 for PyTorch's table values).
    statement : str
        What the value is, or why there is none.
    """

    name: str
    convention: str
    defined: bool
    value: float
    error: float
    statement: str

    def __str__(self) -> str:
        shown = significant(self.value, self.error) if self.defined else "undefined"
        return f"{self.convention} gain of {self.name}: {shown} ({self.statement})"


@dataclass(frozen=True)
class Gains:
    """The gains of f in every convention, side by side.

    Attributes
    ----------
    name : str
        The activation.
    torch, variance, eoc : Gain
        The gain in each convention of :data:`GAIN_CONVENTIONS`.
    """

    name: str
    torch: Gain
    variance: Gain
    eoc: Gain

    def __str__(self) -> str:
        lines = [f"initialisation gains of {self.name}"]
        for g in (self.torch, self.variance, self.eoc):
            shown = significant(g.value, g.error) if g.defined else "undefined"
            lines.append(f"  {g.convention:<9} {shown:<14} {g.statement}")
        return "\n".join(lines)


def gain(act: Activation | str, convention: str | None = None) -> Gain | Gains:
    """The initialisation gain of f: ``"torch"``, ``"variance"`` (1/√E[f(Z)²]) or ``"eoc"`` (σ_w on the
    edge of chaos at σ_b = 0); None gives all three side by side (:class:`Gains`).

    Parameters
    ----------
    act : Activation or str
        The activation, or a catalogue name.
    convention : {"torch", "variance", "eoc"}, optional
        ``"torch"``: PyTorch's ``calculate_gain`` where it has the function (:data:`TORCH_GAINS`);
        ``"variance"``: 1/√E[f(Z)²], which keeps a unit variance through a layer;
        ``"eoc"``: σ_w on the edge of chaos at σ_b = 0.  None (default): all three.

    Returns
    -------
    Gain or Gains
        The gain in the convention asked, or all three side by side.

    Raises
    ------
    UnknownActivationError
        An unknown catalogue name.
    ActivationLabError
        An unknown convention.

    Examples
    --------
    >>> gain("relu", "torch").value == 2 ** 0.5
    True
    """
    act = resolve(act)
    if convention is None:
        return Gains(act.name, *(gain(act, c) for c in GAIN_CONVENTIONS))
    if convention not in GAIN_CONVENTIONS:
        raise ActivationLabError(f"unknown gain convention {convention!r}; choose from "
                                 f"{', '.join(map(repr, GAIN_CONVENTIONS))} (or None for all three)")
    if convention == "torch":
        return _torch_gain(act)
    if convention == "variance":
        kern = _kernel(act)
        try:
            f2, err = _moment(kern, 1.0, "f2")
        except _UndefinedError as why:
            return Gain(act.name, "variance", False, math.nan, math.nan, str(why))
        if not f2 > 0:
            return Gain(act.name, "variance", False, math.nan, math.nan, "E[f(Z)²] = 0: f vanishes almost everywhere")
        return Gain(act.name, "variance", True, 1 / math.sqrt(f2), err / (2 * f2 ** 1.5), "1/√E[f(Z)²]")
    point = edge_of_chaos(act, 0.0)
    if not point.exists:
        return Gain(act.name, "eoc", False, math.nan, math.nan, f"no edge of chaos at σ_b = 0: {point.reason}")
    return Gain(act.name, "eoc", True, point.sigma_w, point.errors.get("sigma_w", 0.0),
                "σ_w with χ₁ = 1 at σ_b = 0" + (f"; {point.reason}" if point.reason else ""))


def _twin(act: Activation) -> str | None:
    """The catalogue entry a user formula equals (as ``Activation.equals`` says), None when undecided."""
    from ..budget import bounded
    from ..errors import FormulaTooComplexError
    from .equivalence import catalog_match

    try:
        with bounded("catalogue match", 3.0, formula=act.formula):
            return catalog_match(act)
    except (FormulaTooComplexError, ActivationLabError, ArithmeticError, TypeError, ValueError):
        return None


def _torch_gain(act: Activation) -> Gain:
    from ..symbolic.parsing import X

    known = act.name if act.source != "user formula" else ("linear" if act.expr == X else _twin(act))
    if act.source != "user formula" and known is not None and known not in ("lrelu", "prelu"):
        if act.expr != get(known).expr:
            known = None          # a catalogue entry with other parameters: not PyTorch's function
    if known in ("lrelu", "prelu"):
        slope = -float(evaluate(act, np.array([-1.0]))[0])
        value = math.sqrt(2 / (1 + slope * slope))
        extra = "" if known == "lrelu" else " (PyTorch has no 'prelu' gain; this is leaky_relu's at the same slope)"
        return Gain(act.name, "torch", True, value, 0.0,
                    f"calculate_gain('leaky_relu', {slope:g}) = √(2/(1 + slope²)){extra}")
    if known in TORCH_GAINS:
        return Gain(act.name, "torch", True, TORCH_GAINS[known], 0.0, f"calculate_gain({known!r})")
    return Gain(act.name, "torch", False, math.nan, math.nan,
                f"PyTorch's calculate_gain does not define a gain for {act.name} (it knows linear, conv, sigmoid, "
                "tanh, relu, leaky_relu and selu, and raises for other names)")
