"""What the training examples share: the digits data, the command line, a progress
bar and the loss plot. Not part of the library."""

from __future__ import annotations

import argparse
import os
import time

import jax
import numpy as np
import optax

import minigrad_jax as mg
import minigrad_jax.numpy as mnp

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def load_digits(seed=0, test_fraction=0.2):
    """(x_train, y_train, x_test, y_test): scikit-learn's 8x8 digits as 64 float32
    intensities in [0, 1] and int32 labels, split by a seeded permutation."""
    from sklearn.datasets import load_digits as _load  # the optional `examples` extra

    data = _load()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int32)
    perm = np.random.RandomState(seed).permutation(len(x))
    n_test = int(len(x) * test_fraction)
    test, train = perm[:n_test], perm[n_test:]
    return x[train], y[train], x[test], y[test]


def one_hot(y, n=10):
    return np.eye(n, dtype=np.float32)[y]


def command_line(doc, default_steps, argv=None):
    """(args, device) from ``--device cpu|gpu --steps N --seed S --out DIR``."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    ap.add_argument("--steps", type=int, default=default_steps)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=OUT_DIR)
    args = ap.parse_args(argv)
    try:
        device = jax.devices(args.device)[0]
    except RuntimeError as e:
        raise SystemExit(f"--device {args.device}: no such JAX backend here ({e})") from None
    return args, device


def progress(n, desc="train"):
    """``range(n)`` with a tqdm bar when tqdm is installed."""
    try:
        from tqdm import trange  # optional
    except ImportError:
        return range(n)
    return trange(n, desc=desc, leave=False)


def log_step(bar, i, loss, every=50):
    """The loss on the bar (every 20 steps) or printed (every ``every`` steps)."""
    if hasattr(bar, "set_postfix"):
        if i % 20 == 0:
            bar.set_postfix(loss=f"{float(loss):.4f}")
    elif i % every == 0:
        print(f"step {i:4d}  loss {float(loss):.4f}")


def pyplot():
    """matplotlib.pyplot on the Agg backend, or None when matplotlib is missing."""
    try:
        import matplotlib  # optional

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no figure")
        return None
    return plt


def save_loss_curve(losses, out_dir, filename, title):
    """The training loss on a log scale, saved as ``out_dir/filename``; its path or None."""
    plt = pyplot()
    if plt is None or not losses:
        return None
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, filename)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(losses)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def adam_step(optimizer, loss_fn):
    """The jitted train step: ``mg.value_and_grad(loss_fn)``, then the Optax update
    through ``mg.from_jax``, all in one compiled program."""
    update = mg.from_jax(optimizer.update)
    apply_updates = mg.from_jax(optax.apply_updates)

    @mg.jit
    def train_step(params, opt_state, x, y):
        loss, grads = mg.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = update(grads, opt_state, params)
        return apply_updates(params, updates), opt_state, loss

    return train_step


def accuracy(forward, params, x, y):
    """The fraction of ``x`` whose arg-max logit is the label ``y``."""
    logits = mg.jit(forward)(params, x)
    return float(np.mean(np.asarray(mnp.argmax(logits, axis=1)) == y))


def fit(step, params, opt_state, next_batch, steps):
    """``steps`` calls of ``step`` on ``next_batch()``'s (x, y), with a progress bar;
    (params, opt_state, losses as floats, seconds)."""
    losses = []
    t0 = time.perf_counter()
    bar = progress(steps)
    for i in bar:
        params, opt_state, loss = step(params, opt_state, *next_batch())
        losses.append(loss)
        log_step(bar, i, loss)
    losses = [float(v) for v in losses]
    return params, opt_state, losses, time.perf_counter() - t0


def classifier_report(name, args, device, losses, seconds, acc):
    """Print the run's summary, save the loss curve; {"losses", "accuracy", "seconds",
    "device", "plot"}."""
    title = f"{name.upper()} on digits (minigrad_jax + optax.adam)"
    plot = save_loss_curve(losses, args.out, f"train_{name}_loss.png", title)
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
