"""Train an MLP classifier on scikit-learn's digits with minigrad_jax and Optax.

The train step is ``mg.jit``-compiled: ``mg.value_and_grad`` of a softmax
cross-entropy loss written with minigrad_jax, then the Optax Adam update run
inside the same compiled step through ``mg.from_jax``.

    python examples/train_mlp.py                  # CPU, default steps
    python examples/train_mlp.py --device gpu --steps 500 --out /tmp/mlp

Needs the ``examples`` extra: scikit-learn, optax, matplotlib, tqdm (optional).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import minigrad_jax as mg  # noqa: E402
import minigrad_jax.nn as mnn  # noqa: E402
import minigrad_jax.numpy as mnp  # noqa: E402

HIDDEN = (64,)
LEARNING_RATE = 1e-2
DEFAULT_STEPS = 300

# ---------------------------------------------------------------------------
# the layers, written with minigrad_jax.numpy


def dense(x, w, b):
    """``x @ w + b`` for x: [batch, in], w: [in, out], b: [out]."""
    return x @ w + b


def relu(x):
    return mnn.relu(x)


def log_softmax(z):
    """Log-softmax over the last axis (max-shifted; the shift carries no gradient)."""
    return mnn.log_softmax(z, axis=-1)


# ---------------------------------------------------------------------------
# model, data, loss


def make_model(hidden=HIDDEN, n_in=64, n_out=10):
    """Layer sizes of the MLP: (n_in, *hidden, n_out)."""
    return (n_in, *hidden, n_out)


def init_params(sizes, seed=0):
    """He-initialized weights and zero biases: a list of {"w", "b"} dicts (jax.Arrays)."""
    keys = jax.random.split(jax.random.PRNGKey(seed), len(sizes) - 1)
    params = []
    for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:], strict=False):
        w = jax.random.normal(k, (n_in, n_out), jnp.float32) * np.float32(np.sqrt(2.0 / n_in))
        params.append({"w": w, "b": jnp.zeros((n_out,), jnp.float32)})
    return params


def forward(params, x):
    """Logits of the MLP (ReLU hidden layers)."""
    for layer in params[:-1]:
        x = relu(dense(x, layer["w"], layer["b"]))
    return dense(x, params[-1]["w"], params[-1]["b"])


def loss_fn(params, x, y_onehot):
    """Mean softmax cross-entropy; ``y_onehot`` is float32 [batch, classes]."""
    logp = log_softmax(forward(params, x))
    n = x.shape[0]
    return -mnp.sum(logp * y_onehot) * np.float32(1.0 / n)


def load_digits(seed=0, test_fraction=0.2):
    """(x_train, y_train, x_test, y_test): 8x8 digits as 64 features in [0, 1]."""
    from sklearn.datasets import load_digits as _load

    data = _load()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int32)
    perm = np.random.RandomState(seed).permutation(len(x))
    n_test = int(len(x) * test_fraction)
    test, train = perm[:n_test], perm[n_test:]
    return x[train], y[train], x[test], y[test]


def one_hot(y, n=10):
    return np.eye(n, dtype=np.float32)[y]


def make_train_step(optimizer):
    """The jitted step: value_and_grad in minigrad_jax, the Optax update via from_jax."""
    update = mg.from_jax(optimizer.update)
    apply_updates = mg.from_jax(optax.apply_updates)

    @mg.jit
    def train_step(params, opt_state, x, y):
        loss, grads = mg.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = update(grads, opt_state, params)
        return apply_updates(params, updates), opt_state, loss

    return train_step


def accuracy(params, x, y):
    logits = mg.jit(forward)(params, x)
    return float(np.mean(np.asarray(jnp.argmax(logits, axis=1)) == y))


# ---------------------------------------------------------------------------
# the command line


def _progress(n):
    try:
        from tqdm import trange

        return trange(n, desc="train", leave=False)
    except ImportError:
        return range(n)


def _save_curve(losses, out_dir):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no loss curve")
        return None
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "train_mlp_loss.png")
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(losses)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    ax.set_title("MLP on digits (minigrad_jax + optax.adam)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None):
    """Train and evaluate; returns {"losses", "accuracy", "seconds", "device", "plot"}."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    ap.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "out"))
    args = ap.parse_args(argv)

    try:
        device = jax.devices(args.device)[0]
    except RuntimeError as e:
        raise SystemExit(f"--device {args.device}: no such JAX backend here ({e})") from None

    with jax.default_device(device):
        x_tr, y_tr, x_te, y_te = load_digits(args.seed)
        x_tr, oh_tr = jax.device_put(x_tr, device), jax.device_put(one_hot(y_tr), device)
        params = init_params(make_model(), args.seed)
        optimizer = optax.adam(LEARNING_RATE)
        opt_state = optimizer.init(params)
        step = make_train_step(optimizer)
        losses = []
        t0 = time.perf_counter()
        bar = _progress(args.steps)
        for i in bar:
            params, opt_state, loss = step(params, opt_state, x_tr, oh_tr)
            losses.append(loss)
            if hasattr(bar, "set_postfix") and i % 20 == 0:
                bar.set_postfix(loss=f"{float(loss):.4f}")
            elif not hasattr(bar, "set_postfix") and i % 50 == 0:
                print(f"step {i:4d}  loss {float(loss):.4f}")
        losses = [float(v) for v in losses]
        seconds = time.perf_counter() - t0
        acc = accuracy(params, jax.device_put(x_te, device), y_te)

    plot = _save_curve(losses, args.out) if losses else None
    print(
        f"{args.steps} steps on {device} in {seconds:.2f}s; final loss "
        f"{losses[-1] if losses else float('nan'):.4f}; held-out accuracy {acc:.2%}"
    )
    if plot:
        print(f"loss curve: {plot}")
    return {
        "losses": losses,
        "accuracy": acc,
        "seconds": seconds,
        "device": str(device),
        "plot": plot,
    }


if __name__ == "__main__":
    main()
