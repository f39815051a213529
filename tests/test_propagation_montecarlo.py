"""Monte-Carlo check of the mean-field maps (issue 18): random fully connected networks simulated in
NumPy (width 1000, depth 30, three seeds) off the edge of chaos.

Layer by layer, the variance q of the pre-activations and the correlation c of two inputs must
follow the predicted maps q ↦ V(q), c ↦ C(c) from the measured (q, c) of the layer before, within
sampling error, and the trajectory must settle at the predicted fixed points (q*, c*).  The
activations are written out in NumPy here."""

from __future__ import annotations

import numpy as np
import pytest

import activation_lab as al
from activation_lab.analysis.propagation import correlation_map, variance_map

WIDTH, DEPTH, SEEDS = 1000, 30, (1, 2, 3)


def _telu(x):
    return x * np.tanh(np.exp(np.minimum(x, 30.0)))


def _simulate(f, sw: float, sb: float, q0: float, c0: float, seed: int) -> np.ndarray:
    """(q, c) of two inputs' pre-activations at the input and after each of DEPTH random layers."""
    rng = np.random.default_rng(seed)
    z1, z2 = rng.standard_normal((2, WIDTH))
    h = np.stack([np.sqrt(q0) * z1, np.sqrt(q0) * (c0 * z1 + np.sqrt(1 - c0 * c0) * z2)])
    out = []
    for _ in range(DEPTH + 1):
        q1, q2 = np.mean(h * h, axis=1)
        out.append(((q1 + q2) / 2, np.mean(h[0] * h[1]) / np.sqrt(q1 * q2)))
        # float32 weights: the sampling error (~1/√WIDTH) dwarfs their rounding, and they come twice as fast
        w = rng.standard_normal((WIDTH, WIDTH), dtype=np.float32)
        b = rng.standard_normal(WIDTH) * sb
        h = (f(h).astype(np.float32) @ w.T).astype(np.float64) * (sw / np.sqrt(WIDTH)) + b
    return np.array(out)


@pytest.mark.parametrize(("name", "f", "sw", "sb", "q0", "c0", "phase"), [
    ("tanh", np.tanh, 2.5, 0.1, 1.0, 0.9, "chaotic"),
    ("telu", _telu, 1.1, 0.3, 4.0, 0.3, "ordered"),
])
def test_variance_and_correlation_follow_the_maps(name, f, sw, sb, q0, c0, phase):
    point = al.propagation(name, sw, sb)
    assert point.phase == phase                       # off the edge of chaos
    runs = np.array([_simulate(f, sw, sb, q0, c0, seed) for seed in SEEDS])     # (seed, layer, (q, c))
    q, c = runs[..., 0], runs[..., 1]
    q_next = np.array([[variance_map(name, qq, sw, sb) for qq in row[:-1]] for row in q])
    c_next = np.array([[correlation_map(name, cc, sw, sb, qq) for qq, cc in zip(qr[:-1], cr[:-1], strict=True)]
                       for qr, cr in zip(q, c, strict=True)])
    rq, rc = q[:, 1:] / q_next - 1, c[:, 1:] - c_next
    # one layer's sampling error: a mean over WIDTH units, ≈ √(2/WIDTH) relative for q
    assert np.abs(rq).max() < 5 * np.sqrt(2 / WIDTH) * 1.5 and np.abs(rc).max() < 5 * np.sqrt(2 / WIDTH)
    # no bias: the mean residual of 90 independent layer steps is within 5 standard errors of 0
    for r in (rq, rc):
        assert abs(r.mean()) < 5 * r.std() / np.sqrt(r.size), (r.mean(), r.std())
    # the maps move the signal far more than that, and it settles at the predicted fixed points
    assert abs(q_next[0, 0] / q0 - 1) > 0.2 or abs(c_next[0, 0] - c0) > 0.2
    assert abs(q[:, 15:].mean() / point.q_star - 1) < 0.05
    if point.c_star == 1:     # ordered: the inputs' correlation goes to 1 (a chaotic c* < 1 is blurred by
        assert abs(c[:, 15:].mean() - 1) < 0.01   # the finite-width noise around it, which the map's curvature biases)
