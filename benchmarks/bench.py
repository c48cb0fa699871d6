"""minigrad_jax against JAX, in the same process: medians and the ratio mg/JAX.

    python benchmarks/bench.py                 # default repeats (a few minutes on 2 CPU cores)
    python benchmarks/bench.py --quick         # smoke run
    python benchmarks/bench.py --device gpu --md docs/benchmarks_gpu.md

Writes benchmarks/results/latest.json and (with --md) a Markdown table with the
machine description. Not part of the test run.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import math
import os
import platform
import re
import statistics
import sys
import time

import jax
import jax.ad_checkpoint
import jax.numpy as jnp
import numpy as np
import optax

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import minigrad_jax as mg  # noqa: E402

try:  # HIPS autograd, for one comparison row where it is installed (not a dependency)
    import autograd as hips
    import autograd.numpy as hips_np
except ImportError:
    hips = hips_np = None


def _load_example(name):
    spec = importlib.util.spec_from_file_location(
        f"{name}_example", os.path.join(ROOT, "examples", f"{name}.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


ex = _load_example("train_mlp")
cnn = _load_example("train_cnn")

TARGETS = {  # ratio mg/JAX to meet (None: reported only)
    "dispatch": 1.5,
    "inline_jit": 1.5,
    "trace": 1.0,
    "first_call": 1.0,
    "train_step": 1.05,
    "eager_grad": None,
    "grad_of_jit": None,
    "per_example": 1.0,
    "vmap_vs_loop": 1.0,
    "cnn_train_step": 1.05,
    "conv_fwd_bwd": 1.05,
    "eager_op": 1.0,
    "eager_forward": 1.0,
    "eager_grad_chain": 0.25,
    "eager_grad_hips": 3.0,
    "eager_grad_mlp": 0.6,
    "trace_mlp": 0.5,
    "trace_scaling": None,
    "trace_linear": 1.5,
    "lowering": 1.0,
    "vmap_vs_stacked_loop": 1.0,
}
MEMORY_TARGETS = {  # ratio of bytes mg/JAX to meet
    "scan_residuals": 1.0,
}


def _block(x):
    jax.tree_util.tree_map(
        lambda a: a.block_until_ready() if hasattr(a, "block_until_ready") else a, x
    )
    return x


def _once(fn, inner):
    t0 = time.perf_counter()
    for _ in range(inner):
        out = fn()
    _block(out)
    return (time.perf_counter() - t0) / inner


def _paired(fn_mg, fn_jax, repeats, inner=1):
    """Medians over ``repeats`` of the per-call time of ``inner`` back-to-back calls.

    The two functions alternate (mg, JAX, JAX, mg, ...) so that machine noise and
    drift hit both sides alike.
    """
    t_mg, t_jax = [], []
    for i in range(repeats):
        if i % 2:
            t_jax.append(_once(fn_jax, inner))
            t_mg.append(_once(fn_mg, inner))
        else:
            t_mg.append(_once(fn_mg, inner))
            t_jax.append(_once(fn_jax, inner))
    return statistics.median(t_mg), statistics.median(t_jax)


# ---------------------------------------------------------------------------
# the programs


def jax_loss(params, x, y_onehot):
    """examples/train_mlp.py's loss_fn written with JAX: the same program (relu is
    jax.nn.relu, a custom_jvp function as mnn.relu is)."""
    h = x
    for layer in params[:-1]:
        h = jax.nn.relu(h @ layer["w"] + layer["b"])
    logits = h @ params[-1]["w"] + params[-1]["b"]
    return -jnp.sum(jax.nn.log_softmax(logits, axis=-1) * y_onehot) * np.float32(1.0 / x.shape[0])


def mlp_data(batch=128, sizes=(784, 256, 256, 10), seed=0):
    rng = np.random.RandomState(seed)
    x = jnp.asarray(rng.rand(batch, sizes[0]).astype(np.float32))
    y = jnp.asarray(np.eye(sizes[-1], dtype=np.float32)[rng.randint(0, sizes[-1], batch)])
    params = ex.init_params(sizes, seed)
    return params, x, y


def mg_chain(n):
    def f(x):
        for i in range(n // 2):
            x = mg.lax.sin(x) if i % 2 else mg.lax.tanh(x)
            x = x * 1.0001
        return x

    return f


def jax_chain(n):
    def f(x):
        for i in range(n // 2):
            x = jnp.sin(x) if i % 2 else jnp.tanh(x)
            x = x * 1.0001
        return x

    return f


# ---------------------------------------------------------------------------
# the measurements


def bench_dispatch(repeats, inner):
    rows = []
    x = jnp.ones((3,), jnp.float32)
    fm, fj = mg.jit(lambda x: x + 1.0), jax.jit(lambda x: x + 1.0)
    _block(fm(x)), _block(fj(x))
    rows.append(
        ("dispatch", "jit x+1 on f32[3]", *_paired(lambda: fm(x), lambda: fj(x), repeats, inner))
    )
    xs = [jnp.full((3,), float(i), jnp.float32) for i in range(10)]
    gm = mg.jit(lambda xs: [a + 1.0 for a in xs])
    gj = jax.jit(lambda xs: [a + 1.0 for a in xs])
    _block(gm(xs)), _block(gj(xs))
    rows.append(
        (
            "dispatch",
            "jit on a 10-array pytree",
            *_paired(lambda: gm(xs), lambda: gj(xs), repeats, inner),
        )
    )
    return rows


def bench_inline_jit(repeats, inner):
    """``jit(f)(x)`` written inline, a fresh wrapper per call, as JAX's docs do."""
    x = jnp.ones((3,), jnp.float32)

    def fm(x):
        return mg.lax.sin(x) * 2.0 + 1.0

    def fj(x):
        return jnp.sin(x) * 2.0 + 1.0

    _block(mg.jit(fm)(x)), _block(jax.jit(fj)(x))
    t = _paired(lambda: mg.jit(fm)(x), lambda: jax.jit(fj)(x), repeats, inner)
    return [("inline_jit", "jit(f)(x) inline, a fresh wrapper per call, f32[3]", *t)]


def bench_grad_of_jit(repeats):
    """Eager ``grad(jit(loss))`` per call: the jit primitive's rules and compiled pieces
    must be reused, not rebuilt, on every call."""
    params, x, y = mlp_data()
    jm, jj = mg.jit(ex.loss_fn), jax.jit(jax_loss)
    gm, gj = mg.grad(jm), jax.grad(jj)
    _block(gm(params, x, y)), _block(gj(params, x, y))
    rows = [
        (
            "grad_of_jit",
            "eager grad(jit(MLP loss)), the jitted loss made once",
            *_paired(lambda: gm(params, x, y), lambda: gj(params, x, y), repeats),
        )
    ]
    t = _paired(
        lambda: mg.grad(mg.jit(ex.loss_fn))(params, x, y),
        lambda: jax.grad(jax.jit(jax_loss))(params, x, y),
        repeats,
    )
    rows.append(("grad_of_jit", "eager grad(jit(MLP loss)) written inline", *t))
    return rows


def _fresh_function_cases(chain_len):
    """(name, make mg function, make JAX function, args): the MLP loss and the chain,
    a fresh function per call of the makers (so that no trace cache hits)."""
    params, x, y = mlp_data()
    return [
        (
            "MLP loss 784-256-256-10",
            lambda: lambda *a: ex.loss_fn(*a),
            lambda: lambda *a: jax_loss(*a),
            (params, x, y),
        ),
        (
            f"{chain_len}-op elementwise chain",
            lambda: mg_chain(chain_len),
            lambda: jax_chain(chain_len),
            (jnp.ones((16,), jnp.float32),),
        ),
    ]


def bench_trace_and_first_call(repeats, chain_len):
    rows = []
    cases = _fresh_function_cases(chain_len)
    for name, make_mg, make_jax, args in cases:
        mg.make_jaxpr(make_mg())(*args), jax.make_jaxpr(make_jax())(*args)  # warm imports
        t = _paired(
            lambda m=make_mg, a=args: mg.make_jaxpr(m())(*a),
            lambda m=make_jax, a=args: jax.make_jaxpr(m())(*a),
            repeats,
        )
        rows.append(("trace", f"make_jaxpr: {name}", *t))
        t = _paired(
            lambda m=make_mg, a=args: mg.jit(m())(*a),
            lambda m=make_jax, a=args: jax.jit(m())(*a),
            repeats,
        )
        rows.append(("first_call", f"jit first call (trace+compile): {name}", *t))
    return rows


def bench_train_step(repeats, inner):
    params, x, y = mlp_data()
    opt = optax.adam(1e-3)
    mg_step = ex.make_train_step(opt)

    @jax.jit
    def jax_step(p, s, x, y):
        loss, g = jax.value_and_grad(jax_loss)(p, x, y)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s, loss

    state = {"mg": (params, opt.init(params)), "jax": (params, opt.init(params))}

    def run_mg():
        p, s, loss = mg_step(*state["mg"], x, y)
        state["mg"] = (p, s)
        return loss

    def run_jax():
        p, s, loss = jax_step(*state["jax"], x, y)
        state["jax"] = (p, s)
        return loss

    _block(run_mg()), _block(run_jax())
    return [
        (
            "train_step",
            "train step MLP 784-256-256-10, batch 128, Adam",
            *_paired(run_mg, run_jax, repeats, inner),
        )
    ]


def bench_eager_grad(repeats):
    params, x, y = mlp_data()
    gm, gj = mg.grad(ex.loss_fn), jax.grad(jax_loss)
    _block(gm(params, x, y)), _block(gj(params, x, y))
    return [
        (
            "eager_grad",
            "eager grad of the MLP loss (not jitted)",
            *_paired(lambda: gm(params, x, y), lambda: gj(params, x, y), repeats),
        )
    ]


def bench_eager_ops(repeats, inner, chain_len):
    """Op-by-op dispatch, not jitted: one mnp op, the MLP loss forward, the chain forward."""
    x = jnp.ones((3,), jnp.float32)
    mnp = mg.numpy
    _block(mnp.sin(x)), _block(jnp.sin(x))
    rows = [
        (
            "eager_op",
            "one eager op: mnp.sin vs jnp.sin on f32[3]",
            *_paired(lambda: mnp.sin(x), lambda: jnp.sin(x), repeats, inner),
        )
    ]
    params, xb, yb = mlp_data()
    _block(ex.loss_fn(params, xb, yb)), _block(jax_loss(params, xb, yb))
    t = _paired(
        lambda: ex.loss_fn(params, xb, yb),
        lambda: jax_loss(params, xb, yb),
        repeats,
        max(2, inner // 20),
    )
    rows.append(("eager_forward", "eager MLP loss forward 784-256-256-10, batch 128", *t))
    xc = jnp.ones((16,), jnp.float32)
    fm, fj = mg_chain(chain_len), jax_chain(chain_len)
    _block(fm(xc)), _block(fj(xc))
    t = _paired(lambda: fm(xc), lambda: fj(xc), repeats, max(1, inner // 200))
    rows.append(("eager_forward", f"eager {chain_len}-op elementwise chain forward", *t))
    return rows


def bench_eager_grad_targets(repeats, chain_len):
    """Eager grad (op by op, not jitted): the chain (summed) and the MLP loss."""
    xc = jnp.ones((16,), jnp.float32)
    fm, fj = mg_chain(chain_len), jax_chain(chain_len)
    gm, gj = mg.grad(lambda x: fm(x).sum()), jax.grad(lambda x: fj(x).sum())
    _block(gm(xc)), _block(gj(xc))
    rows = [
        (
            "eager_grad_chain",
            f"eager grad of the {chain_len}-op elementwise chain",
            *_paired(lambda: gm(xc), lambda: gj(xc), max(3, repeats // 3)),
        )
    ]
    hips_grad = _hips_chain_grad(chain_len)
    if hips_grad is not None:
        xn = np.ones((16,), np.float32)
        hips_grad(xn)
        t = _paired(lambda: gm(xc), lambda: hips_grad(xn), max(3, repeats // 3))
        rows.append(
            (
                "eager_grad_hips",
                f"eager grad of the {chain_len}-op chain: mg (col 1) vs HIPS autograd (col 2)",
                *t,
            )
        )
    params, x, y = mlp_data()
    gm2, gj2 = mg.grad(ex.loss_fn), jax.grad(jax_loss)
    _block(gm2(params, x, y)), _block(gj2(params, x, y))
    t = _paired(lambda: gm2(params, x, y), lambda: gj2(params, x, y), repeats)
    rows.append(("eager_grad_mlp", "eager grad of the MLP loss 784-256-256-10", *t))
    return rows


def _hips_chain_grad(n):
    """grad of the same chain in HIPS autograd (``pip install autograd``), else None."""
    if hips is None:
        return None

    def f(x):
        for i in range(n // 2):
            x = hips_np.sin(x) if i % 2 else hips_np.tanh(x)
            x = x * 1.0001
        return hips_np.sum(x)

    return hips.grad(f)


def bench_trace_targets(repeats, sizes=(1000, 10000, 100000)):
    """make_jaxpr of the MLP loss (fresh function each repeat), and of elementwise chains
    of growing length: against JAX at each size, and our largest against the smallest
    scaled up (1.0x is exactly linear in the number of equations)."""
    params, x, y = mlp_data()
    args = (params, x, y)
    mg.make_jaxpr(ex.loss_fn)(*args), jax.make_jaxpr(jax_loss)(*args)
    t = _paired(
        lambda: mg.make_jaxpr(lambda *a: ex.loss_fn(*a))(*args),
        lambda: jax.make_jaxpr(lambda *a: jax_loss(*a))(*args),
        repeats,
        10,
    )
    rows = [("trace_mlp", "make_jaxpr: MLP loss 784-256-256-10", *t)]
    xc = jnp.ones((16,), jnp.float32)
    per_eqn = {}
    for n in sizes:
        reps = max(1, min(repeats, 3) if n <= 10000 else 1)
        t = _paired(
            lambda n=n: mg.make_jaxpr(mg_chain(n))(xc),
            lambda n=n: jax.make_jaxpr(jax_chain(n))(xc),
            reps,
        )
        per_eqn[n] = t[0] / n
        rows.append(("trace_scaling", f"make_jaxpr: {n}-op elementwise chain", *t))
    lo, hi = min(sizes), max(sizes)
    rows.append(
        (
            "trace_linear",
            f"make_jaxpr per equation: {hi}-op chain (col 1) vs {lo}-op chain (col 2), mg",
            per_eqn[hi],
            per_eqn[lo],
        )
    )
    return rows


def bench_per_example_grads(repeats, inner):
    """vmap(grad) at batch 128, jitted: against JAX, and against a jitted loop of grads."""
    params, x, y = mlp_data()

    def one_mg(p, xi, yi):
        return ex.loss_fn(p, xi[None], yi[None])

    def one_jax(p, xi, yi):
        return jax_loss(p, xi[None], yi[None])

    mg_vmap = mg.jit(mg.vmap(mg.grad(one_mg), in_axes=(None, 0, 0)))
    jax_vmap = jax.jit(jax.vmap(jax.grad(one_jax), in_axes=(None, 0, 0)))
    n = x.shape[0]
    mg_loop = mg.jit(lambda p, x, y: [mg.grad(one_mg)(p, x[i], y[i]) for i in range(n)])
    _block(mg_vmap(params, x, y)), _block(jax_vmap(params, x, y)), _block(mg_loop(params, x, y))
    return [
        (
            "per_example",
            "per-example grads, vmap(grad), batch 128, jitted",
            *_paired(lambda: mg_vmap(params, x, y), lambda: jax_vmap(params, x, y), repeats, inner),
        ),
        (
            "vmap_vs_loop",
            "per-example grads: mg vmap (col 1) vs mg jitted loop (col 2)",
            *_paired(
                lambda: mg_vmap(params, x, y),
                lambda: mg_loop(params, x, y),
                repeats,
                max(1, inner // 10),
            ),
        ),
    ]


def bench_per_example_stacked(repeats, inner):
    """vmap(grad) at batch 128 against a jitted loop of 128 grads whose results are
    stacked into the arrays vmap returns (the loop above hands back 128 pytrees)."""
    params, x, y = mlp_data()

    def one_mg(p, xi, yi):
        return ex.loss_fn(p, xi[None], yi[None])

    n = x.shape[0]
    mg_vmap = mg.jit(mg.vmap(mg.grad(one_mg), in_axes=(None, 0, 0)))

    def loop(p, x, y):
        grads = [mg.grad(one_mg)(p, x[i], y[i]) for i in range(n)]
        return jax.tree_util.tree_map(lambda *g: mg.numpy.stack(g), *grads)

    mg_loop = mg.jit(loop)
    _block(mg_vmap(params, x, y)), _block(mg_loop(params, x, y))
    t = _paired(lambda: mg_vmap(params, x, y), lambda: mg_loop(params, x, y), repeats, inner)
    return [
        (
            "vmap_vs_stacked_loop",
            "per-example grads: mg vmap (col 1) vs mg jitted loop, stacked (col 2)",
            *t,
        )
    ]


def bench_lowering(repeats, chain_len):
    """``jit(f).lower(*args)`` of a fresh function: tracing and lowering to StableHLO."""
    cases = _fresh_function_cases(chain_len)
    rows = []
    for name, make_mg, make_jax, args in cases:
        mg.jit(make_mg()).lower(*args), jax.jit(make_jax()).lower(*args)  # warm imports
        t = _paired(
            lambda m=make_mg, a=args: mg.jit(m()).lower(*a),
            lambda m=make_jax, a=args: jax.jit(m()).lower(*a),
            repeats,
        )
        rows.append(("lowering", f"jit(f).lower (trace + StableHLO): {name}", *t))
    return rows


def bench_cnn(repeats, inner):
    """The CNN of examples/train_cnn.py: one Adam step at batch 128, and one conv's
    forward + backward (the value and both cotangents) alone."""
    x_tr, y_tr, _, _ = cnn.load_digits(0)
    x, y = jnp.asarray(x_tr[: cnn.BATCH]), jnp.asarray(cnn.one_hot(y_tr[: cnn.BATCH]))
    params = cnn.init_params(0)
    opt = optax.adam(cnn.LEARNING_RATE)
    mg_step = cnn.make_train_step(opt)

    @jax.jit
    def jax_step(p, s, x, y):
        loss, g = jax.value_and_grad(cnn.jax_loss_fn)(p, x, y)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s, loss

    state = {"mg": (params, opt.init(params)), "jax": (params, opt.init(params))}

    def run(side, step):
        def go():
            p, s, loss = step(*state[side], x, y)
            state[side] = (p, s)
            return loss

        return go

    run_mg, run_jax = run("mg", mg_step), run("jax", jax_step)
    _block(run_mg()), _block(run_jax())

    rng = np.random.RandomState(0)
    lhs = jnp.asarray(rng.rand(cnn.BATCH, 8, 8, 16).astype(np.float32))
    rhs = jnp.asarray(rng.rand(3, 3, 16, 32).astype(np.float32))
    dn = cnn.DIMENSION_NUMBERS

    def conv_loss(lax_mod):
        def f(a, b):
            out = lax_mod.conv_general_dilated(a, b, (1, 1), "SAME", dimension_numbers=dn)
            return (out * out).sum()

        return f

    conv_mg = mg.jit(mg.value_and_grad(conv_loss(mg.lax), argnums=(0, 1)))
    conv_jax = jax.jit(jax.value_and_grad(conv_loss(jax.lax), argnums=(0, 1)))
    _block(conv_mg(lhs, rhs)), _block(conv_jax(lhs, rhs))
    return [
        (
            "cnn_train_step",
            "train step CNN conv16-pool-conv32-pool-dense on 8x8x1, batch 128, Adam",
            *_paired(run_mg, run_jax, repeats, inner),
        ),
        (
            "conv_fwd_bwd",
            "conv 3x3 SAME f32[128,8,8,16] * [3,3,16,32]: value and both grads, jitted",
            *_paired(lambda: conv_mg(lhs, rhs), lambda: conv_jax(lhs, rhs), repeats, inner),
        ),
    ]


# ---------------------------------------------------------------------------
# memory: what reverse mode saves (bytes, not time)


def _jax_saved_bytes(f, *args):
    """The bytes of the residuals ``jax.ad_checkpoint.print_saved_residuals`` lists."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        jax.ad_checkpoint.print_saved_residuals(f, *args)
    total = 0
    for line in buf.getvalue().splitlines():
        m = re.match(r"([a-z]+)(\d+)\[([\d,]*)\] ", line)
        shape = [int(d) for d in m.group(3).split(",") if d]
        total += math.prod(shape) * int(m.group(2)) // 8
    return total


def _mg_saved_bytes(f, *args):
    return sum(r.nbytes for r in mg.saved_residuals(f, *args))


def _rnn(np_, lax_mod, invariant=False):
    """Loss of a tanh RNN, h = tanh(W h + U x_t), over a scan; with ``invariant`` the
    step normalises W first (a loop invariant: computed from the weights alone)."""

    def loss(w, u, xs):
        def step(h, x):
            wn = w / np_.sqrt(np_.sum(w * w)) if invariant else w
            h = np_.tanh(wn @ h + u @ x)
            return h, h

        _, hs = lax_mod.scan(step, np_.zeros(w.shape[0], np_.float32), xs)
        return np_.sum(hs)

    return loss


def bench_scan_residuals(t=100, h=128, d=128):
    """Bytes saved for grad of a scan RNN, by us and by JAX (``saved_residuals`` of each)."""
    rng = np.random.RandomState(0)
    w = jnp.asarray(rng.randn(h, h).astype(np.float32) / np.sqrt(h))
    u = jnp.asarray(rng.randn(h, d).astype(np.float32) / np.sqrt(d))
    xs = jnp.asarray(rng.randn(t, d).astype(np.float32))
    rows = []
    for inv, what in ((False, ""), (True, ", W normalised in the step (a loop invariant)")):
        rows.append(
            (
                "scan_residuals",
                f"grad of scan RNN h = tanh(W h + U x_t), T={t}, H={h}, D={d}{what}",
                _mg_saved_bytes(_rnn(mg.numpy, mg.lax, inv), w, u, xs),
                _jax_saved_bytes(_rnn(jnp, jax.lax, inv), w, u, xs),
            )
        )
    return rows


def _fmt_bytes(n):
    if n >= 2**20:
        return f"{n / 2**20:.2f} MiB"
    if n >= 2**10:
        return f"{n / 2**10:.1f} KiB"
    return f"{n} B"


def memory_table(rows):
    lines = [
        "| kind | benchmark | minigrad_jax | JAX | mg/JAX | target | met |",
        "|---|---|---:|---:|---:|---:|:---:|",
    ]
    for kind, name, b_mg, b_jx in rows:
        ratio = b_mg / b_jx
        target = MEMORY_TARGETS[kind]
        met = "yes" if ratio <= target else "no"
        lines.append(
            f"| {kind} | {name} | {_fmt_bytes(b_mg)} | {_fmt_bytes(b_jx)} | "
            f"{ratio:.2f}x | <= {target:.2f}x | {met} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# reporting


def machine():
    devs = jax.devices()
    return {
        "platform": platform.system(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "devices": [f"{d.platform}:{d.device_kind}" for d in devs],
    }


def _fmt_time(s):
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    if s < 1.0:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def table(rows):
    lines = [
        "| kind | benchmark | minigrad_jax | JAX | mg/JAX | target | met |",
        "|---|---|---:|---:|---:|---:|:---:|",
    ]
    for kind, name, t_mg, t_jx in rows:
        ratio = t_mg / t_jx
        target = TARGETS.get(kind)
        met = "-" if target is None else ("yes" if ratio <= target else "no")
        tgt = "-" if target is None else f"<= {target:.2f}x"
        lines.append(
            f"| {kind} | {name} | {_fmt_time(t_mg)} | {_fmt_time(t_jx)} | "
            f"{ratio:.2f}x | {tgt} | {met} |"
        )
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few repeats (smoke run)")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--device", choices=("cpu", "gpu"), default=None)
    ap.add_argument("--json", default=os.path.join(HERE, "results", "latest.json"))
    ap.add_argument("--md", default=None, help="also write the Markdown report here")
    ap.add_argument("--note", default="", help="a line appended to the Markdown report")
    ap.add_argument(
        "--memory-only",
        action="store_true",
        help="only the memory rows (bytes saved for the backward pass); prints, writes nothing",
    )
    args = ap.parse_args(argv)
    if args.memory_only:
        mem = bench_scan_residuals()
        print(memory_table(mem))
        return mem
    r = args.repeats or (3 if args.quick else 21)
    inner = 20 if args.quick else 200
    chain_len = 1000
    pe_inner = max(2, inner // 20)
    dev = jax.devices(args.device)[0] if args.device else jax.devices()[0]

    rows = []
    with jax.default_device(dev):
        for fn in (
            lambda: bench_dispatch(r, inner),
            lambda: bench_inline_jit(r, max(5, inner // 4)),
            lambda: bench_trace_and_first_call(max(3, r // 3), chain_len),
            lambda: bench_train_step(r, max(5, inner // 4)),
            lambda: bench_eager_grad(r),
            lambda: bench_grad_of_jit(r),
            lambda: bench_per_example_grads(max(3, r // 3), pe_inner),
            lambda: bench_cnn(r, max(5, inner // 4)),
            lambda: bench_eager_ops(r, inner, chain_len),
            lambda: bench_eager_grad_targets(r, chain_len),
            lambda: bench_trace_targets(max(3, r // 3)),
            lambda: bench_lowering(max(5, r // 2), chain_len),
            lambda: bench_per_example_stacked(max(3, r // 3), pe_inner),
        ):
            new = fn()
            rows.extend(new)
            print("\n".join(table(new).splitlines()[2:]), flush=True)
        mem = bench_scan_residuals()
    info = machine()
    info["device_used"] = str(dev)
    text = table(rows) + "\n\nMemory (bytes saved for the backward pass):\n\n" + memory_table(mem)
    print()
    print(text)
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as fh:
        json.dump(
            {
                "machine": info,
                "repeats": r,
                "results": [
                    {
                        "kind": k,
                        "name": n,
                        "mg_s": a,
                        "jax_s": b,
                        "ratio": a / b,
                        "target": TARGETS.get(k),
                    }
                    for k, n, a, b in rows
                ],
                "memory": [
                    {
                        "kind": k,
                        "name": n,
                        "mg_bytes": a,
                        "jax_bytes": b,
                        "ratio": a / b,
                        "target": MEMORY_TARGETS[k],
                    }
                    for k, n, a, b in mem
                ],
            },
            fh,
            indent=2,
        )
    if args.md:
        with open(args.md, "w") as fh:
            fh.write(markdown(info, text, r) + (f"\n{args.note}\n" if args.note else ""))
    return rows


def markdown(info, text, repeats):
    return f"""# Benchmarks: minigrad_jax against JAX

Produced by `python benchmarks/bench.py --md docs/benchmarks.md` (medians over {repeats}
repeats, both libraries in the same process; mg/JAX < 1 means minigrad_jax is faster).
See benchmarks/README.md for what each row measures.

Machine: {info["platform"]}, {info["processor"]}, {info["cpu_count"]} CPU cores,
Python {info["python"]}, jax {info["jax"]}, devices {", ".join(info["devices"])},
run on `{info["device_used"]}`.

{text}
"""


if __name__ == "__main__":
    main()
