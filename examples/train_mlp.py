"""Train an MLP classifier on scikit-learn's digits with minigrad_jax and Optax.

The train step is ``mg.jit``-compiled: ``mg.value_and_grad`` of a softmax
cross-entropy loss written with minigrad_jax, then the Optax Adam update run
inside the same compiled step through ``mg.from_jax``.

    python examples/train_mlp.py                  # CPU, default steps
    python examples/train_mlp.py --device gpu --steps 500 --out /tmp/mlp

Needs the ``examples`` extra: scikit-learn, optax, matplotlib, tqdm (optional).
"""

from __future__ import annotations

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_HERE, os.path.join(_HERE, "..")]

import example_utils  # noqa: E402

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


load_digits, one_hot = example_utils.load_digits, example_utils.one_hot


def make_train_step(optimizer):
    """The jitted step: value_and_grad in minigrad_jax, the Optax update via from_jax."""
    return example_utils.adam_step(optimizer, loss_fn)


def accuracy(params, x, y):
    return example_utils.accuracy(forward, params, x, y)


def main(argv=None):
    """Train and evaluate; returns {"losses", "accuracy", "seconds", "device", "plot"}."""
    args, device = example_utils.command_line(__doc__, DEFAULT_STEPS, argv)

    with jax.default_device(device):
        x_tr, y_tr, x_te, y_te = load_digits(args.seed)
        x_tr, oh_tr = jax.device_put(x_tr, device), jax.device_put(one_hot(y_tr), device)
        params = init_params(make_model(), args.seed)
        optimizer = optax.adam(LEARNING_RATE)
        opt_state = optimizer.init(params)
        step = make_train_step(optimizer)
        params, opt_state, losses, seconds = example_utils.fit(
            step, params, opt_state, lambda: (x_tr, oh_tr), args.steps
        )
        acc = accuracy(params, jax.device_put(x_te, device), y_te)

    return example_utils.classifier_report("mlp", args, device, losses, seconds, acc)


if __name__ == "__main__":
    main()
