"""Data- and tensor-parallel training of the digits MLP over every device, through XLA SPMD.

The MLP of ``train_mlp.py`` (64-64-10, Optax Adam, minibatches of 128) is trained
four ways for the same steps from the same start, and the per-step losses are
printed side by side:

* ``one device``: the plain ``mg.jit`` step on one device;
* ``sharded jit``: the same step with the batch split by rows over a 1-D mesh of
  every device and the parameters replicated. The program is unchanged: XLA's
  SPMD partitioner reads the shardings and inserts the gradient all-reduce;
* ``shard_map + pmean``: the same, written by hand: ``mg.shard_map`` runs the
  gradient on each device's rows and ``lax.pmean`` averages it over the mesh;
* ``tensor parallel``: a 2-D (data x model) mesh; the hidden layer's weight is
  split by columns and the output layer's by rows over ``model`` (Megatron's
  layout), the batch over ``data``; the hidden activations are constrained to
  ``P("data", "model")`` and XLA inserts the ``model`` all-reduce.

JAX fixes its device count when it starts, so when run as a script this file
asks for ``--devices`` simulated CPU devices (8 by default) before importing JAX:

    python examples/train_data_parallel.py
    python examples/train_data_parallel.py --devices 4 --steps 20

On a real multi-device machine (GPUs, TPUs) the same code uses the real devices.
Needs the ``examples`` extra (scikit-learn).
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=8, help="simulated CPU devices (default 8)")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    return ap.parse_args(argv)


def _ask_for_devices(n):
    """Simulated CPU devices for this process: only effective before JAX starts."""
    os.environ.setdefault("JAX_NUM_CPU_DEVICES", str(n))
    flag = f"--xla_force_host_platform_device_count={n}"
    if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()


if __name__ == "__main__":
    _ask_for_devices(_parse().devices)

import jax  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from jax.sharding import Mesh, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_HERE, os.path.join(_HERE, "..")]

import example_utils  # noqa: E402
import train_mlp  # noqa: E402

import minigrad_jax as mg  # noqa: E402
from minigrad_jax import lax  # noqa: E402

LEARNING_RATE = train_mlp.LEARNING_RATE
loss_fn, init_params, relu = train_mlp.loss_fn, train_mlp.init_params, train_mlp.relu


def batches(seed, batch, steps):
    """``steps`` minibatches (x, one-hot y) of the digits, drawn by a seeded permutation."""
    x_tr, y_tr, _, _ = example_utils.load_digits(seed)
    rng = np.random.RandomState(seed)
    out = []
    for _ in range(steps):
        idx = rng.choice(len(x_tr), batch, replace=False)
        out.append((x_tr[idx], example_utils.one_hot(y_tr[idx])))
    return out


def make_step(optimizer, grad_fn, *, constrain_params=None, **jit_kwargs):
    """The jitted Adam step around ``grad_fn(params, x, y) -> (loss, grads)``."""
    update = mg.from_jax(optimizer.update)
    apply_updates = mg.from_jax(optax.apply_updates)

    def step(params, opt_state, x, y):
        loss, grads = grad_fn(params, x, y)
        updates, opt_state = update(grads, opt_state, params)
        params = apply_updates(params, updates)
        if constrain_params is not None:  # keep the parameters where they started
            params = lax.with_sharding_constraint(params, constrain_params)
        return params, opt_state, loss

    return mg.jit(step, **jit_kwargs)


def init_state(optimizer, params, scalar_place):
    """Adam's state for ``params``: the moments are made like (and placed like) the
    parameters; the step count, a scalar, is placed by ``scalar_place``. Placing it
    keeps the first step's inputs placed as every later step's (the outputs of a step
    are committed to their devices), so the step compiles once, not twice."""
    state = optimizer.init(params)
    return jax.tree.map(lambda a: jax.device_put(a, scalar_place) if a.ndim == 0 else a, state)


def train(step, params, opt_state, data, place=lambda x, y: (x, y)):
    """Run ``step`` over ``data``; (per-step losses as floats, seconds after the first
    step, the final parameters)."""
    losses = []
    t0 = None
    for i, (x, y) in enumerate(data):
        params, opt_state, loss = step(params, opt_state, *place(x, y))
        losses.append(loss)
        if i == 0:
            jax.block_until_ready(loss)
            t0 = time.perf_counter()
    jax.block_until_ready(params)
    seconds = time.perf_counter() - t0 if t0 is not None else 0.0
    return [float(v) for v in losses], seconds, params


# ---------------------------------------------------------------------------
# the four ways


def one_device(optimizer, params, data):
    device = jax.devices()[0]
    params = jax.device_put(params, device)
    step = make_step(optimizer, mg.value_and_grad(loss_fn))
    return train(
        step,
        params,
        init_state(optimizer, params, device),
        data,
        lambda x, y: jax.device_put((x, y), device),
    )


def sharded_jit(optimizer, params, data, mesh):
    """Batch rows over the 1-D mesh, parameters replicated; XLA reduces the gradient."""
    rows, rep = NamedSharding(mesh, P("data")), NamedSharding(mesh, P())
    params = jax.device_put(params, rep)
    opt_state = init_state(optimizer, params, rep)
    step = make_step(
        optimizer,
        mg.value_and_grad(loss_fn),
        in_shardings=(rep, rep, rows, rows),
        out_shardings=(rep, rep, rep),
    )
    return train(step, params, opt_state, data, lambda x, y: jax.device_put((x, y), rows))


def shard_map_pmean(optimizer, params, data, mesh):
    """The same by hand: each device takes the gradient of its rows, pmean averages."""

    def local_grads(params, x, y):  # x, y: this device's rows
        loss, grads = mg.value_and_grad(loss_fn)(params, x, y)
        return lax.pmean((loss, grads), "data")

    grad_fn = mg.shard_map(
        local_grads, mesh=mesh, in_specs=(P(), P("data"), P("data")), out_specs=(P(), P())
    )
    rows, rep = NamedSharding(mesh, P("data")), NamedSharding(mesh, P())
    params = jax.device_put(params, rep)
    step = make_step(optimizer, grad_fn)
    return train(
        step,
        params,
        init_state(optimizer, params, rep),
        data,
        lambda x, y: jax.device_put((x, y), rows),
    )


def tp_forward(grid):
    """The MLP's forward with its hidden activations placed on ``grid`` (data x model)."""

    def forward(params, x):
        (l1, l2) = params
        h = relu(x @ l1["w"] + l1["b"])
        h = lax.with_sharding_constraint(h, grid)
        return h @ l2["w"] + l2["b"]

    return forward


def tensor_parallel(optimizer, params, data, mesh2):
    """Hidden weight by columns, output weight by rows over ``model``; batch over ``data``."""
    grid = NamedSharding(mesh2, P("data", "model"))
    rows = NamedSharding(mesh2, P("data"))
    shard = {
        "w1": NamedSharding(mesh2, P(None, "model")),
        "b1": NamedSharding(mesh2, P("model")),
        "w2": NamedSharding(mesh2, P("model", None)),
        "b2": NamedSharding(mesh2, P()),
    }
    layout = [{"w": shard["w1"], "b": shard["b1"]}, {"w": shard["w2"], "b": shard["b2"]}]
    params = jax.device_put(params, layout)
    forward = tp_forward(grid)

    def tp_loss(params, x, y_onehot):
        logp = train_mlp.log_softmax(forward(params, x))
        return -mg.numpy.sum(logp * y_onehot) * np.float32(1.0 / x.shape[0])

    step = make_step(optimizer, mg.value_and_grad(tp_loss), constrain_params=layout)
    opt_state = init_state(optimizer, params, shard["b2"])
    return train(step, params, opt_state, data, lambda x, y: jax.device_put((x, y), rows))


def meshes(n):
    """The 1-D ``data`` mesh of ``n`` devices and a 2-D ``data x model`` mesh
    (``model`` of size 2 when ``n`` is even)."""
    devices = np.array(jax.devices()[:n])
    model = 2 if n % 2 == 0 else 1
    return Mesh(devices, ("data",)), Mesh(devices.reshape(n // model, model), ("data", "model"))


def main(argv=None):
    """Train the four ways; {"losses": {way: [...]}, "seconds": {way: s}, "devices": n,
    "max_abs_diff": {way: max |loss - one-device loss|}, "hidden_weight_sharding":
    {way: the final hidden weight's sharding}}."""
    args = _parse(argv)
    n = len(jax.devices())
    if args.batch % n:
        raise SystemExit(f"--batch {args.batch} is not divisible by the {n} devices")
    mesh, mesh2 = meshes(n)
    data = batches(args.seed, args.batch, args.steps)
    params0 = init_params(train_mlp.make_model(), args.seed)
    optimizer = optax.adam(LEARNING_RATE)

    ways = {
        "one device": lambda: one_device(optimizer, params0, data),
        "sharded jit": lambda: sharded_jit(optimizer, params0, data, mesh),
        "shard_map + pmean": lambda: shard_map_pmean(optimizer, params0, data, mesh),
        "tensor parallel": lambda: tensor_parallel(optimizer, params0, data, mesh2),
    }
    losses, seconds, placement = {}, {}, {}
    for name, run in ways.items():
        losses[name], seconds[name], params = run()
        placement[name] = params[0]["w"].sharding

    base = np.asarray(losses["one device"])
    diffs = {name: float(np.max(np.abs(np.asarray(v) - base))) for name, v in losses.items()}
    print(
        f"{n} devices ({jax.devices()[0].platform}); data mesh {dict(mesh.shape)}, "
        f"tensor-parallel mesh {dict(mesh2.shape)}"
    )
    header = f"{'step':>4}  " + "  ".join(f"{name:>17}" for name in ways)
    print(header)
    for i in range(args.steps):
        print(f"{i:>4}  " + "  ".join(f"{losses[name][i]:>17.6f}" for name in ways))
    print("max |loss - one device|: " + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()))
    for name in ways:
        print(
            f"{name}: {args.steps - 1} steps in {seconds[name]:.3f}s after the first; "
            f"hidden weight {getattr(placement[name], 'spec', placement[name])}"
        )
    return {
        "losses": losses,
        "seconds": seconds,
        "devices": n,
        "max_abs_diff": diffs,
        "hidden_weight_sharding": placement,
    }


if __name__ == "__main__":
    main()
