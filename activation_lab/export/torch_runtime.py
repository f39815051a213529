"""PyTorch wiring of an exported activation: autograd Functions over printed programs.

Imported by :func:`activation_lab.export.torch_function` only (importing activation_lab never
imports torch), and copied, from the marker line on, into the standalone files that
``activation-lab export --to torch`` writes: the library and the files run the same text.

``programs(orders)`` gives a function of x (in the working dtype) returning f⁽ⁿ⁾ for each n of
``orders``.  float16 and bfloat16 compute in float32, float32 and float64 in float64, and each
result is rounded once to x's dtype.  The forward pass computes f and f′ together when x needs
a gradient and keeps f′ for the backward pass; the backward pass is itself an autograd Function
whose backward uses f″ (and so on: each order's Function differentiates through the next), so
double backward gives f″ from its own stable program.

Eager on a CPU, a large x (:func:`eager_block`) is computed block by block on worker threads,
each thread's blocks in the same few buffers (the printed program's ``s``): every step then
reads and writes cache rather than memory, no step allocates, and the threads meet only at the end.
"""

# --- runtime: the text below is copied into standalone files ---
import torch

_WORK = {torch.float16: torch.float32, torch.bfloat16: torch.float32,
         torch.float32: torch.float64, torch.float64: torch.float64}


def work_dtype(x):
    work = _WORK.get(x.dtype)
    if work is None:
        raise TypeError(f"expected a floating-point tensor (float16, bfloat16, float32 or float64), got {x.dtype}; "
                        "convert it first, e.g. x.float()")
    return work


def patch_nan(x, y, guarded):
    """y where it is a number, the guarded program (inf*0 = 0) where y is nan at a number x
    (run only when some y is nan)."""
    bad = torch.isnan(y) & ~torch.isnan(x)
    if plain_path(x) and not bool(bad.any()):
        return y
    return torch.where(bad, guarded(x), y)


def plain_path(x):
    """Whether to run the plain program and patch its nan (eager on a CPU, where one check is
    cheaper than guarding every product), rather than the guarded program (compiled, on a GPU)."""
    return x.device.type == "cpu" and not torch.compiler.is_compiling()


def finish(x, ys, fix, zeros):
    """The fix-ups of a printed program (limits at +-inf, nan for nan, the guarded program, signed
    zeros): eager on a CPU only where some input is +-inf or nan, some result nan or inf, or one of
    the outputs ``zeros`` (whose tail zeros take their limit's sign) is 0, found from sums (reads,
    no writes); compiled or on a GPU always (fused there, and no device synchronisation)."""
    if plain_path(x) and x.numel():
        # a sum is nan or inf if any term is (or, rarely, if it overflows: then the fix-ups run, harmlessly)
        total = x.sum()
        for y in ys:
            total = total + y.sum()
        if not bool(torch.isfinite(total)) or any(int(torch.count_nonzero(ys[k])) < ys[k].numel() for k in zeros):
            return fix(x, *ys)
        return ys
    return fix(x, *ys)


#: elements per block of the eager CPU path: each of torch.get_num_threads() threads takes blocks
#: from a shared counter and runs the program on them in its own buffers (five float64
#: temporaries of 254 KiB stay in L2).  Blocks below torch's grain size (32768 elements) run each
#: operation on the calling thread, so no operation waits at a parallel region's barrier for a
#: thread the OS has descheduled.  TeLU f+f' float32 at 1e7 on 2 cores: as fast as naive autograd
#: idle; 0.77 of its time with one core busy elsewhere, where blocks of 2**20 on torch's own
#: threads took 1.6 times (docs/notes/exports.md).  0: no blocks.
BLOCK = 32512

#: inputs of fewer elements run in one pass (the temporaries fit in cache anyway, and starting
#: the worker threads would cost more than blocks save)
MIN_BLOCKED = 2**18


def eager_block(x):
    """Elements per block where the program runs block by block (eager, on a CPU, a contiguous x
    of at least MIN_BLOCKED elements), else 0."""
    if not BLOCK or not plain_path(x):   # compiled or on a GPU: one fused loop, no blocks
        return 0
    return BLOCK if x.is_contiguous() and x.numel() >= max(MIN_BLOCKED, BLOCK) else 0


def run_workers(worker):
    """Run ``worker`` on torch.get_num_threads() threads (this one among them) until all return;
    the first exception raised in any of them is raised here."""
    import threading

    errors = []

    def guarded():
        try:
            worker()
        except BaseException as err:  # noqa: BLE001 - handed to the calling thread below
            errors.append(err)

    others = [threading.Thread(target=guarded, daemon=True) for _ in range(torch.get_num_threads() - 1)]
    for t in others:
        t.start()
    guarded()
    for t in others:
        t.join()
    if errors:
        raise errors[0]


def make_function(programs, name="activation"):
    """The exported activation: a function of one tensor backed by ``torch.autograd.Function``."""

    def evaluate(orders, x):
        work = work_dtype(x)
        program = programs(orders)
        block = eager_block(x)
        if not block:
            # f32: results rounded to float32, which lets compiled tanh and sech take a cheaper form
            ys = program(x.to(work), f32=x.dtype == torch.float32)
            # a result is never the caller's tensor (f(x) = x would hand x itself back)
            return tuple(y.to(x.dtype) if y is not x else y.clone() for y in ys)
        # eager on a CPU: block by block on worker threads, so that the program's temporaries stay
        # in cache rather than each step streaming arrays of x's size, in the same buffers for
        # every block (fresh ones would be page-faulted in again whenever malloc returns them to
        # the system), and with no barrier between the threads but the last join
        flat = x.view(-1)
        outs = tuple(torch.empty_like(flat) for _ in orders)
        slots = getattr(program, "slots", 0)   # the printed program's buffers, and one for x
        starts = iter(range(0, flat.numel(), block))   # shared by the workers: next() is atomic

        def worker():
            with torch.no_grad():   # grad mode is per thread
                buffers = [torch.empty(block, dtype=work) for _ in range(slots + 1)]
                for start in starts:
                    part = flat[start:start + block]
                    s = buffers if part.numel() == block else [b[:part.numel()] for b in buffers]
                    xw = part if part.dtype == work else s[-1].copy_(part)
                    ys = program(xw, s=s[:-1]) if slots else program(xw)
                    for out, y in zip(outs, ys, strict=True):
                        out[start:start + block].copy_(y)   # rounded once to x's dtype, as .to() rounds

        run_workers(worker)
        return tuple(out.view(x.shape) for out in outs)

    class Derivative(torch.autograd.Function):
        """g * f^(k)(x), f^(k)(x) given (fk) or computed; differentiable through f^(k+1)."""

        @staticmethod
        def forward(ctx, g, x, fk, k):
            if fk is None:
                (fk,) = evaluate((k,), x)
            ctx.save_for_backward(g, x, fk)
            ctx.k = k
            return g * fk

        @staticmethod
        def backward(ctx, grad):
            g, x, fk = ctx.saved_tensors
            dg = Derivative.apply(grad, x, fk, ctx.k) if ctx.needs_input_grad[0] else None
            dx = Derivative.apply(grad * g, x, None, ctx.k + 1) if ctx.needs_input_grad[1] else None
            return dg, dx, None, None

    class Activation(torch.autograd.Function):
        """f(x); with a gradient wanted, f and f' in one pass, f' kept for backward."""

        @staticmethod
        def forward(ctx, x):
            if ctx.needs_input_grad[0]:
                y, dy = evaluate((0, 1), x)
                ctx.save_for_backward(x, dy)
            else:
                (y,) = evaluate((0,), x)
            return y

        @staticmethod
        def backward(ctx, grad):
            x, dy = ctx.saved_tensors
            return Derivative.apply(grad, x, dy, 1)

    def activation(x):
        return Activation.apply(x)

    def derivative(x, n=1):
        """f^(n)(x), without autograd (rounded once to x's dtype)."""
        with torch.no_grad():
            return evaluate((n,), x)[0]

    activation.__name__ = activation.__qualname__ = name
    activation.derivative = derivative
    return activation
