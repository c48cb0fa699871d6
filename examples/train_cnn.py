"""Train a small convolutional network on scikit-learn's digits with minigrad_jax and Optax.

conv 3x3 (16) -> relu -> max-pool 2x2 -> conv 3x3 (32) -> relu -> max-pool 2x2 ->
dense (10), on the 8x8 digits as NHWC images. The convolutions are
``lax.conv_general_dilated`` and the pooling ``lax.reduce_window`` with ``lax.max``,
so the backward pass runs the convolution transposes (themselves convolutions) and
max-pooling's select-and-scatter, as in JAX. The train step is ``mg.jit``-compiled:
``mg.value_and_grad`` of the softmax cross-entropy, then the Optax Adam update
through ``mg.from_jax``, on minibatches of 128.

    python examples/train_cnn.py                  # CPU, default steps
    python examples/train_cnn.py --device gpu --steps 1000 --out /tmp/cnn

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

import minigrad_jax as mg  # noqa: E402
import minigrad_jax.nn as mnn  # noqa: E402
import minigrad_jax.numpy as mnp  # noqa: E402
from minigrad_jax import lax  # noqa: E402

CHANNELS = (16, 32)
LEARNING_RATE = 3e-3
BATCH = 128
DEFAULT_STEPS = 400
DIMENSION_NUMBERS = ("NHWC", "HWIO", "NHWC")

# ---------------------------------------------------------------------------
# the layers


def conv2d(x, w, b):
    """3x3 'SAME' convolution of NHWC ``x`` with an HWIO kernel, plus a bias per channel."""
    y = lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=DIMENSION_NUMBERS)
    return y + b


def max_pool(x):
    """2x2 max-pooling with stride 2 over the spatial axes of NHWC ``x``."""
    return lax.reduce_window(x, -mnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def forward(params, x):
    """Logits for NHWC images ``x`` of shape [batch, 8, 8, 1]."""
    x = max_pool(mnn.relu(conv2d(x, params["conv1"]["w"], params["conv1"]["b"])))
    x = max_pool(mnn.relu(conv2d(x, params["conv2"]["w"], params["conv2"]["b"])))
    x = mnp.reshape(x, (x.shape[0], -1))
    return x @ params["dense"]["w"] + params["dense"]["b"]


def loss_fn(params, x, y_onehot):
    """Mean softmax cross-entropy; ``y_onehot`` is float32 [batch, 10]."""
    logp = mnn.log_softmax(forward(params, x), axis=-1)
    return -mnp.sum(logp * y_onehot) * np.float32(1.0 / x.shape[0])


def init_params(seed=0, channels=CHANNELS, n_classes=10):
    """He-normal kernels (mg.nn.initializers, jax.nn.initializers' numbers) and zero biases."""
    k1, k2, k3 = mg.random.split(mg.random.key(seed), 3)
    he = mnn.initializers.he_normal()
    c1, c2 = channels
    flat = 2 * 2 * c2  # 8x8 pooled twice
    return {
        "conv1": {"w": he(k1, (3, 3, 1, c1)), "b": mnp.zeros((c1,))},
        "conv2": {"w": he(k2, (3, 3, c1, c2)), "b": mnp.zeros((c2,))},
        "dense": {"w": he(k3, (flat, n_classes)), "b": mnp.zeros((n_classes,))},
    }


# ---------------------------------------------------------------------------
# the same model in pure JAX (the parity test and the benchmark compare against it)


def jax_forward(params, x):
    def conv(x, layer):
        dn = DIMENSION_NUMBERS
        y = jax.lax.conv_general_dilated(x, layer["w"], (1, 1), "SAME", dimension_numbers=dn)
        return y + layer["b"]

    def pool(x):
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    x = pool(jax.nn.relu(conv(x, params["conv1"])))
    x = pool(jax.nn.relu(conv(x, params["conv2"])))
    x = x.reshape(x.shape[0], -1)
    return x @ params["dense"]["w"] + params["dense"]["b"]


def jax_loss_fn(params, x, y_onehot):
    logp = jax.nn.log_softmax(jax_forward(params, x), axis=-1)
    return -jnp.sum(logp * y_onehot) * np.float32(1.0 / x.shape[0])


# ---------------------------------------------------------------------------
# data and training


def load_digits(seed=0, test_fraction=0.2):
    """(x_train, y_train, x_test, y_test) with the images as NHWC [n, 8, 8, 1]."""
    x_tr, y_tr, x_te, y_te = example_utils.load_digits(seed, test_fraction)
    return x_tr.reshape(-1, 8, 8, 1), y_tr, x_te.reshape(-1, 8, 8, 1), y_te


one_hot = example_utils.one_hot


def batches(n, batch, seed):
    """Endless minibatch indices: a fresh seeded permutation every epoch."""
    rng = np.random.RandomState(seed)
    while True:
        perm = rng.permutation(n)
        for i in range(0, n - batch + 1, batch):
            yield perm[i : i + batch]


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
        oh_tr = one_hot(y_tr)
        params = init_params(args.seed)
        optimizer = optax.adam(LEARNING_RATE)
        opt_state = optimizer.init(params)
        step = make_train_step(optimizer)
        order = batches(len(x_tr), BATCH, args.seed)

        def next_batch():
            idx = next(order)
            return jax.device_put(x_tr[idx], device), jax.device_put(oh_tr[idx], device)

        params, opt_state, losses, seconds = example_utils.fit(
            step, params, opt_state, next_batch, args.steps
        )
        acc = accuracy(params, jax.device_put(x_te, device), y_te)

    return example_utils.classifier_report("cnn", args, device, losses, seconds, acc)


if __name__ == "__main__":
    main()
