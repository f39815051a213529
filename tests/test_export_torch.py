"""activation_lab.export for PyTorch: gradcheck and gradgradcheck of every catalogue entry, ULP
accuracy of f and f′ in float32 against mpmath-confirmed references, every float16 and bfloat16
input of TeLU, GELU and Mish, torch.compile(fullgraph=True), and torch_module's learnable
parameters against closed forms."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

import activation_lab as al
from activation_lab.analysis.exhaustive import reference
from activation_lab.analysis.ulp import split_exact, ulp_error
from activation_lab.numeric.mpmath_target import mpmath_of

from ._agreement import points

torch = pytest.importorskip("torch")

from activation_lab.export import torch_function, torch_module  # noqa: E402

NAMES = al.names()
#: where the catalogue's formulas have kinks (0, ±λ = ±0.5, ±1, ±3, 6): gradcheck's finite
#: differences are not derivatives there
KINKS = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0, 6.0])


def _smooth_points(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.uniform(-8, 8, 16), [-25.0, -11.3, 14.2, 30.0]])
    return x[np.min(np.abs(x[:, None] - KINKS[None, :]), axis=1) > 0.02]


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_and_gradgradcheck(name):
    """float64 autograd of the export against finite differences: backward (f′) and double
    backward (f″), away from kinks."""
    fn = torch_function(name)
    x = torch.tensor(_smooth_points(NAMES.index(name)), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fn, (x,))
    assert torch.autograd.gradgradcheck(fn, (x,))


def _float32_grid() -> np.ndarray:
    """10⁵ float32 points (99,077 distinct, 3,392 of them subnormal or zero): ±(smallest subnormal …
    largest float) log-spaced, dense [−40, 40],
    [−800, 800], the exp thresholds and their neighbours (conftest.sweep_points), ±0, ±inf, nan,
    subnormals (tests/_agreement.points), and ±100, ±1000 with their neighbours."""
    extra = np.array([100.0, -100.0, 1000.0, -1000.0], dtype=np.float32)
    near = np.concatenate([extra, np.nextafter(extra, np.float32(np.inf)), np.nextafter(extra, np.float32(-np.inf))])
    return np.concatenate([points(np.float32, 100_000 - near.size - 12), near])


GRID = _float32_grid()


def _mp_check(name: str, n: int, xs: np.ndarray, got: np.ndarray) -> None:
    """The export at 60 of the points against mpmath directly (100 bits), at most 1 ULP."""
    act = al.get(name)
    fn = mpmath_of(act.expr, n)
    rng = np.random.default_rng(n)
    finite = np.flatnonzero(np.isfinite(xs))
    pick = rng.choice(finite, 60, replace=False)
    with mpmath.workprec(100):
        exact = [fn(mpmath.mpf(float(xs[i]))) for i in pick]
    hi, lo = split_exact(exact)
    err = ulp_error(got[pick], hi, lo, np.float32)
    assert np.all(err <= 1.0), (name, n, xs[pick][err > 1], got[pick][err > 1], hi[err > 1])


@pytest.mark.parametrize("name", NAMES)
def test_float32_within_one_ulp(name):
    """f and f′ in float32 at 10⁵ points (GRID) within 1 ULP of the exact value, no nan or inf
    where it is finite (see _allowance for the ill-conditioned points, where float64 arithmetic
    cannot give 1 ULP).  Exact: activation_lab.analysis.exhaustive.reference (float64, long
    double where terms cancel, mpmath at every point near a float32 rounding boundary and at a
    random sample, whose relative error is asserted), and mpmath directly at 60 random points."""
    fn = torch_function(name)
    x = torch.from_numpy(GRID.copy())
    before = x.clone()
    got = (fn(x).numpy(), fn.derivative(x, 1).numpy())
    assert torch.equal(x, before) or torch.equal(torch.isnan(x), torch.isnan(before))
    _assert_within_one_ulp(name, got)


def _assert_within_one_ulp(name: str, got: tuple[np.ndarray, np.ndarray]) -> None:
    """f (got[0]) and f′ (got[1]) at GRID within 1 ULP (or _allowance) of the exact values."""
    for n in (0, 1):
        exact = reference(al.get(name), n, GRID)
        assert exact.max_rel < 1e-12, (name, n, exact.max_rel)
        err = ulp_error(got[n], exact.ref, exact.lo, np.float32)
        over = np.flatnonzero(err > 1.0)
        err[over] /= _allowance(name, n, GRID[over])
        worst = int(np.nanargmax(err))
        assert err[worst] <= 1.0, (name, n, GRID[worst], got[n][worst], exact.ref[worst], err[worst])
        _mp_check(name, n, GRID, got[n])


def _allowance(name: str, n: int, xs: np.ndarray) -> np.ndarray:
    """1 ULP, or κ·2⁻²⁹ ULP where the condition number κ = |x·f⁽ⁿ⁺¹⁾/f⁽ⁿ⁾| exceeds 2²⁹: there a
    float64 rounding of an intermediate (2⁻⁵³ relative) moves the result by κ·2⁻⁵³ relative, more
    than a float32 ULP (2⁻²⁴) — snake′ = 1 + sin(2x) near its zeros at |x| ≈ 10⁵."""
    act = al.get(name)
    with np.errstate(all="ignore"):
        x64 = xs.astype(np.float64)
        y, dy = act.evaluate(x64, n=(n, n + 1))
        kappa = np.abs(x64 * dy / y)
    return np.where(np.isfinite(kappa) & (kappa > 2.0**29), kappa * 2.0**-29, 1.0)


@pytest.mark.parametrize("name", ["telu", "gelu", "silu"])
def test_backward_is_the_printed_derivative(name):
    """Autograd's gradient is f′ computed with f in the forward pass (the same bits as
    derivative(x, 1)), in every float dtype; f″ from double backward likewise."""
    fn = torch_function(name)
    for dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        x = torch.linspace(-120, 120, 2001, dtype=dtype).requires_grad_(True)
        (g,) = torch.autograd.grad(fn(x).sum(), x, create_graph=True)
        assert torch.equal(g, fn.derivative(x.detach(), 1))
        (h,) = torch.autograd.grad(g.sum(), x)
        assert torch.equal(h, fn.derivative(x.detach(), 2))
        assert not torch.isnan(g).any() and not torch.isnan(h).any()


def _bits16(dtype):
    import ml_dtypes

    u = np.arange(65536, dtype=np.uint32).astype(np.uint16)
    np_dtype = np.float16 if dtype == torch.float16 else ml_dtypes.bfloat16
    return u.view(np_dtype), torch.from_numpy(u.view(np.int16).copy()).view(dtype), np_dtype


@pytest.mark.slow
@pytest.mark.parametrize("name", ["telu", "gelu", "mish"])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_every_16_bit_input(name, dtype):
    """All 65,536 inputs: f and f′ within 1 ULP of the exact value (mpmath-confirmed float64
    reference rounded to the format) and correctly rounded (≤ 0.5 ULP) for at least 99.9 %."""
    tdtype = getattr(torch, dtype)
    xs, x, np_dtype = _bits16(tdtype)
    fn = torch_function(name)
    for n in (0, 1):
        y = fn(x) if n == 0 else fn.derivative(x, 1)
        got = y.view(torch.int16).numpy().view(np_dtype)
        exact = reference(al.get(name), n, xs)
        assert exact.max_rel < 1e-12
        err = ulp_error(got, exact.ref, exact.lo, np_dtype)
        worst = int(np.nanargmax(err))
        assert err[worst] <= 1.0, (name, dtype, n, float(xs[worst]), float(got[worst]), exact.ref[worst])
        assert np.mean(err <= 0.5) >= 0.999, (name, dtype, n, np.mean(err <= 0.5))


def test_float16_computes_in_float32_and_rounds_once():
    """TeLU at x = 12 in float16: e^12 overflows float16 (the naive formula's nan gradient past
    x ≈ 11.09); the export's f and f′ are the float32 results rounded (exact: 12 and 1)."""
    fn = torch_function("telu")
    x = torch.tensor([12.0, 11.5, -17.0], dtype=torch.float16, requires_grad=True)
    y = fn(x)
    (g,) = torch.autograd.grad(y.sum(), x)
    assert y.dtype == g.dtype == torch.float16
    assert y.tolist()[:2] == [12.0, 11.5] and g.tolist()[:2] == [1.0, 1.0]
    exact = float(mpmath.mpf(-17) * mpmath.tanh(mpmath.exp(-17)))   # -7.0e-7: a float16 subnormal
    assert y[2].item() == float(torch.tensor(exact, dtype=torch.float16))


def test_infinities_zeros_and_nan():
    """f and f′ at ±inf are the limits (TeLU: −0, +inf; f′: −0, 1), tail zeros are −0, nan stays nan."""
    fn = torch_function("telu")
    x = torch.tensor([-math.inf, math.inf, -800.0, math.nan], dtype=torch.float32)
    y, d = fn(x), fn.derivative(x, 1)
    assert y[1] == math.inf and d[1] == 1.0
    for v in (y[0], d[0], y[2], d[2]):
        assert v == 0 and math.copysign(1.0, v.item()) < 0
    assert torch.isnan(y[3]) and torch.isnan(d[3])


def test_caller_tensor_untouched_and_never_returned():
    """f(x) = x returns a new tensor; the input is unchanged by forward, backward and derivative."""
    for name in ("linear", "relu", "telu"):
        fn = torch_function(name)
        x = torch.linspace(-3, 3, 7, dtype=torch.float64, requires_grad=True)
        before = x.detach().clone()
        y = fn(x)
        assert y.data_ptr() != x.data_ptr()
        (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
        torch.autograd.grad(g.sum(), x)
        fn.derivative(x, 2)
        assert torch.equal(x.detach(), before)


_BITS = {torch.float16: torch.int16, torch.bfloat16: torch.int16, torch.float32: torch.int32,
         torch.float64: torch.int64}


@pytest.mark.parametrize("name", ["telu", "gelu", "linear", "relu"])
def test_blocks_give_the_bits_of_one_pass(name, monkeypatch):
    """Eager on a CPU, an x of more than one block runs the program block by block in reused
    buffers on torch.get_num_threads() worker threads (torch_runtime.eager_block); f, f′ and
    autograd's gradient are then the bits of
    evaluating pieces of at most one block (one pass each), in every dtype, with ±inf, nan, ±0
    and subnormals spread over the blocks and a short last block; and, in float32, f and f′
    within 1 ULP of mpmath at 60 of the points.  (Blocks of 20,011 elements here, so that the
    10⁵ GRID points fill several.)"""
    from activation_lab.export import torch_runtime

    least = max(torch_runtime.MIN_BLOCKED, torch_runtime.BLOCK)
    assert torch_runtime.eager_block(torch.empty(least)) == torch_runtime.BLOCK
    assert torch_runtime.eager_block(torch.empty(least - 1)) == 0
    monkeypatch.setattr(torch_runtime, "BLOCK", 20_011)
    monkeypatch.setattr(torch_runtime, "MIN_BLOCKED", 0)
    block = torch_runtime.eager_block(torch.empty(10**6, dtype=torch.float32))
    assert block == 20_011 and torch_runtime.eager_block(torch.empty(block - 1)) == 0
    rng = np.random.default_rng(7)
    grid = np.resize(rng.permutation(GRID), 2 * block + block // 2 + 7)
    fn = torch_function(name)
    for dtype in _BITS:
        x = torch.from_numpy(grid).to(dtype)
        leaf = x.clone().requires_grad_(True)
        y = fn(leaf)
        (g,) = torch.autograd.grad(y, leaf, torch.ones_like(y))
        d = fn.derivative(x, 1)
        pieces = [x[i:i + block // 3] for i in range(0, x.numel(), block // 3)]
        for got, n in ((y.detach(), 0), (g, 1), (d, 1)):
            want = torch.cat([fn.derivative(p, n) if n else fn(p) for p in pieces])
            assert got.dtype == dtype and torch.equal(got.view(_BITS[dtype]), want.view(_BITS[dtype])), (name, dtype, n)
        if dtype == torch.float32:
            _mp_check(name, 0, grid, y.detach().numpy())
            _mp_check(name, 1, grid, d.numpy())


def test_formula_and_parameters_and_errors():
    """A formula text with its parameters; integers are refused with a message naming the dtype."""
    fn = torch_function("x*tanh(a*exp(x))", a=0.5)
    x = torch.tensor([0.7], dtype=torch.float64)
    want = 0.7 * math.tanh(0.5 * math.exp(0.7))
    assert abs(fn(x).item() - want) <= 1e-15 * abs(want)
    with pytest.raises(TypeError, match="int64"):
        fn(torch.tensor([1, 2]))
    with pytest.raises(al.ActivationLabError, match="neither a catalogue activation"):
        torch_function("x*tehlu(x)")


def test_module_learnable_parameter_gradient():
    """swish with learnable β: ∂f/∂β = x²·σ′(βx) (closed form, mpmath), ∂f/∂x = σ(βx) + βx·σ′(βx)."""
    m = torch_module("swish", learnable=("beta",)).double()
    x = torch.tensor([-30.0, -2.5, 0.3, 4.0, 50.0], dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        m.beta.fill_(1.7)
    y = m(x)
    gx, gb = torch.autograd.grad(y.sum(), (x, m.beta))
    b = mpmath.mpf(1.7)
    with mpmath.workdps(40):
        def sig(u):
            return 1 / (1 + mpmath.exp(-u))

        want_b = sum(mpmath.mpf(v) ** 2 * sig(b * v) * sig(-b * v) for v in x.tolist())
        want_x = [sig(b * v) + b * v * sig(b * v) * sig(-b * v) for v in x.tolist()]
        want_y = [v * sig(b * v) for v in x.tolist()]
    assert abs(gb.item() - float(want_b)) <= 1e-14 * abs(float(want_b))
    for got, want in zip(gx.tolist() + y.tolist(), want_x + want_y, strict=True):
        assert abs(got - float(want)) <= 1e-14 * abs(float(want)) + 1e-300
    assert torch.autograd.gradcheck(lambda x, b: m(x), (x, m.beta))
    with pytest.raises(al.ActivationLabError, match="double backward"):
        torch.autograd.grad(m(x).sum(), x, create_graph=True)


def test_module_fixed_and_refused():
    """Without learnable parameters the module is torch_function's (double backward included);
    a parameter that is not a factor of the program's constants is refused by name."""
    m = torch_module("elu", alpha=0.5)
    assert not list(m.parameters()) and m.fixed == {"alpha": 0.5}
    x = torch.tensor([-1.3, 0.4], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(m, (x,))
    with pytest.raises(al.ActivationLabError, match="lower"):
        torch_module("rrelu", learnable=("lower",))
    with pytest.raises(al.ActivationLabError, match="no parameter 'gamma'"):
        torch_module("swish", learnable=("gamma",))


#: torch 2.13's dynamo instantiates every autograd.Function it traces (even a three-line one at
#: module level) and so raises PyTorch's own deprecation warning about instantiating them
DYNAMO_WARNING = "ignore:<class 'torch.autograd.function.Function'> should not be instantiated:DeprecationWarning"
#: and inductor's import path touches torch.jit.script_method, which PyTorch itself deprecates
INDUCTOR_WARNING = "ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"


@pytest.mark.slow
@pytest.mark.filterwarnings(DYNAMO_WARNING)
@pytest.mark.filterwarnings(INDUCTOR_WARNING)
def test_compile_fullgraph_telu():
    """torch.compile(fullgraph=True) (inductor) of exported TeLU: no graph break, forward and
    backward the eager values."""
    fn = torch_function("telu")
    compiled = torch.compile(fn, fullgraph=True)
    x = torch.linspace(-100, 100, 257, requires_grad=True)
    y = compiled(x)
    (g,) = torch.autograd.grad(y.sum(), x)
    x2 = x.detach().clone().requires_grad_(True)
    y2 = fn(x2)
    (g2,) = torch.autograd.grad(y2.sum(), x2)
    assert torch.allclose(y, y2, rtol=2e-7, atol=0) and torch.allclose(g, g2, rtol=2e-7, atol=0)


@pytest.mark.slow
@pytest.mark.filterwarnings(DYNAMO_WARNING)
@pytest.mark.filterwarnings(INDUCTOR_WARNING)
@pytest.mark.parametrize("name", ["telu", "mish"])
def test_compiled_float32_within_one_ulp(name):
    """Compiled (inductor), float32 results take tanh and sech from one exp (printer._TORCH_HELPERS,
    relative error below 2⁻³⁵) and the lean guarded product: f and autograd's f′ at the 10⁵ GRID
    points still within 1 ULP of the exact values, as eager."""
    fn = torch.compile(torch_function(name), fullgraph=True)
    x = torch.from_numpy(GRID.copy()).requires_grad_(True)
    y = fn(x)
    (g,) = torch.autograd.grad(y, x, torch.ones_like(y))
    _assert_within_one_ulp(name, (y.detach().numpy(), g.numpy()))


@pytest.mark.slow
@pytest.mark.filterwarnings(DYNAMO_WARNING)
def test_compile_fullgraph_user_formula():
    """A parametrised user formula under torch.compile(fullgraph=True), traced with the AOT
    autograd backend (graph breaks are dynamo's to find; inductor's C++ build is the TeLU test's)."""
    fn = torch_function("x*tanh(a*exp(x))", a=0.5)
    compiled = torch.compile(fn, fullgraph=True, backend="aot_eager")
    x = torch.linspace(-30, 30, 101, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(compiled(x).sum(), x)
    assert torch.equal(g, fn.derivative(x.detach(), 1))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (the same code runs on CPU above)")
def test_cuda_matches_cpu():
    fn = torch_function("telu")
    x = torch.linspace(-100, 100, 4097, dtype=torch.float32)
    xc = x.cuda().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(xc).sum(), xc)
    ref = fn.derivative(x, 1)
    assert torch.equal(fn(xc).cpu(), fn(x)) or torch.allclose(fn(xc).cpu(), fn(x), rtol=1.2e-7, atol=0)
    assert torch.allclose(g.cpu(), ref, rtol=1.2e-7, atol=0)


def test_an_error_in_a_block_worker_reaches_the_caller(monkeypatch):
    """An exception raised on a worker thread of the eager blocks is raised to the caller (not
    lost with a half-written result), whichever thread hits it."""
    from activation_lab.export import torch_runtime

    monkeypatch.setattr(torch_runtime, "BLOCK", 1000)
    monkeypatch.setattr(torch_runtime, "MIN_BLOCKED", 0)
    calls = []

    def worker():
        calls.append(1)
        if len(calls) == 2 or torch.get_num_threads() == 1:
            raise RuntimeError("planted")

    with pytest.raises(RuntimeError, match="planted"):
        torch_runtime.run_workers(worker)
    assert len(calls) == torch.get_num_threads()
