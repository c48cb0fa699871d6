"""A small RNN trained with minigrad_jax: the recurrence is one ``lax.scan``.

Task: read a sequence of numbers and output, at every step, the running sum
so far (a synthetic sequence task that needs the hidden state). The loss and
its gradient are one ``mg.jit``-compiled function; its jaxpr holds a single
``scan`` (and, after differentiation, a forward scan saving residuals and a
reverse scan for the backward pass). The Optax Adam update is a plain JAX call
on the gradient pytree.

    python examples/rnn_scan.py --steps 200
"""

from __future__ import annotations

import argparse
import os
import sys

import jax
import numpy as np
import optax

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import minigrad_jax as mg  # noqa: E402
from minigrad_jax import lax  # noqa: E402

HIDDEN = 16
SEQ_LEN = 12
BATCH = 32
LEARNING_RATE = 1e-2


def make_data(seed, seq_len=SEQ_LEN, batch=BATCH):
    """Inputs [T, B, 1] uniform in [-1, 1]; targets: their running sums (scaled)."""
    rng = np.random.RandomState(seed)
    xs = rng.uniform(-1.0, 1.0, size=(seq_len, batch, 1)).astype(np.float32)
    ys = (np.cumsum(xs, axis=0) / 4.0).astype(np.float32)
    return xs, ys


def init_params(seed, hidden=HIDDEN):
    rng = np.random.RandomState(seed + 1)
    scale = 1.0 / np.sqrt(hidden)
    return {
        "w_xh": rng.normal(0, 1.0, (1, hidden)).astype(np.float32),
        "w_hh": rng.normal(0, scale, (hidden, hidden)).astype(np.float32),
        "b_h": np.zeros((hidden,), np.float32),
        "w_hy": rng.normal(0, scale, (hidden, 1)).astype(np.float32),
        "b_y": np.zeros((1,), np.float32),
    }


def _dense(x, w, b):
    y = lax.dot_general(x, w, (((1,), (0,)), ((), ())))
    return y + lax.broadcast_in_dim(b, y.shape, (1,))


def loss_fn(params, xs, ys):
    """Mean squared error of the RNN's per-step predictions."""
    batch = xs.shape[1]

    def step(h, x):
        pre = _dense(x, params["w_xh"], params["b_h"])
        pre = pre + lax.dot_general(h, params["w_hh"], (((1,), (0,)), ((), ())))
        h = lax.tanh(pre)
        return h, _dense(h, params["w_hy"], params["b_y"])

    h0 = lax.full((batch, params["w_hh"].shape[0]), 0.0, np.float32)
    _, preds = lax.scan(step, h0, xs)
    err = preds - ys
    return lax.reduce_sum(err * err, (0, 1, 2)) * np.float32(1.0 / err.size)


def main(steps=200, seed=0, verbose=False):
    """Train for ``steps`` Adam steps; returns the per-step losses (a list of floats)."""
    xs, ys = make_data(seed)
    params = init_params(seed)
    opt = optax.adam(LEARNING_RATE)
    opt_state = opt.init(params)
    loss_and_grad = mg.jit(mg.value_and_grad(loss_fn))

    @jax.jit
    def apply(params, opt_state, grads):
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    losses = []
    for i in range(steps):
        loss, grads = loss_and_grad(params, xs, ys)
        params, opt_state = apply(params, opt_state, grads)
        losses.append(float(loss))
        if verbose and (i % 20 == 0 or i == steps - 1):
            print(f"step {i:4d}  loss {float(loss):.6f}")
    return losses


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    main(a.steps, a.seed, verbose=True)
