"""Per-example gradients of an MLP loss: mg.jit(mg.vmap(mg.grad(loss), in_axes=(None, 0, 0))).

Checked against a Python loop of mg.grad and against the same program in JAX.

    python examples/per_example_grads.py [--batch 32]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import minigrad_jax as mg
import minigrad_jax.nn as mnn
import minigrad_jax.numpy as mnp


def init_params(key, sizes=(64, 32, 10)):
    params = []
    for k, (m, n) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        w = jax.random.normal(k, (m, n), jnp.float32) * np.sqrt(2.0 / m)
        params.append((w, jnp.zeros(n, jnp.float32)))
    return params


def make_loss(np_, nn_):
    """The loss of ONE example, written once for minigrad_jax or JAX."""

    def loss(params, x, label):
        h = x
        for w, b in params[:-1]:
            h = nn_.relu(h @ w + b)
        w, b = params[-1]
        logits = h @ w + b
        return -nn_.log_softmax(logits)[label]

    return loss


def per_example_grads(params, xs, labels):
    return mg.jit(mg.vmap(mg.grad(make_loss(mnp, mnn)), in_axes=(None, 0, 0)))(params, xs, labels)


def _max_diff(a, b):
    leaves = zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b))
    return max(float(jnp.max(jnp.abs(x - y))) for x, y in leaves)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args(argv)
    key = jax.random.PRNGKey(0)
    params = init_params(key)
    xs = jax.random.uniform(jax.random.PRNGKey(1), (args.batch, 64))
    labels = jax.random.randint(jax.random.PRNGKey(2), (args.batch,), 0, 10)

    t0 = time.perf_counter()
    ours = per_example_grads(params, xs, labels)
    t_ours = time.perf_counter() - t0
    loss_mg = make_loss(mnp, mnn)
    loop = [mg.grad(loss_mg)(params, xs[i], labels[i]) for i in range(args.batch)]
    loop = jax.tree_util.tree_map(lambda *g: jnp.stack(g), *loop)
    theirs = jax.jit(jax.vmap(jax.grad(make_loss(jnp, jax.nn)), in_axes=(None, 0, 0)))(
        params, xs, labels
    )
    err_loop = _max_diff(ours, loop)
    err_jax = _max_diff(ours, theirs)
    shapes = [tuple(g.shape) for g in jax.tree_util.tree_leaves(ours)]
    print(f"per-example gradient shapes: {shapes}")
    print(f"first call (trace + compile): {t_ours * 1e3:.1f} ms")
    print(f"max |vmap - loop| = {err_loop:.2e}   max |minigrad_jax - JAX| = {err_jax:.2e}")
    return {"err_loop": err_loop, "err_jax": err_jax, "shapes": shapes}


if __name__ == "__main__":
    main()
