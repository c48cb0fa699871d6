"""Draw the figures of docs/tutorial.md (deterministic; pure-Python layout, no Graphviz).

One figure per step of the tutorial: the graph, the forward pass (values on the edges), the
local gradients, the backward pass (d loss / d value in red under each value), the MLP, and a
three-step scan drawn unrolled.

Usage: python docs/make_figures.py [--out DIR]   (default: docs/figures next to this file;
the environment variable MINIGRAD_FIGURES_OUT also sets the directory).  Writes an SVG and a
PNG per figure and prints the paths.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

import minigrad_jax as mg
import minigrad_jax.numpy as mnp


def loss(w, x, y):
    """The tutorial's linear regression: y_hat = w * x, loss = (y_hat - y) ** 2."""
    y_hat = w * x
    loss = (y_hat - y) ** 2
    return loss


def mlp_loss(W1, b1, W2, b2, x, y):
    """A 3-4-1 MLP with tanh on one example, squared error."""
    h = mnp.tanh(x @ W1 + b1)
    y_hat = h @ W2 + b2
    return mnp.mean((y_hat - y) ** 2)


def rnn_loss(w):
    """Three steps of h = tanh(c * w + x) carried through a scan: the unrolled figure."""

    def step(c, x):
        h = mnp.tanh(c * w + x)
        return h, None

    c, _ = mg.lax.scan(step, 0.5, mnp.arange(3.0))
    return c


def mlp_params():
    rng = np.random.default_rng(0)
    W1 = rng.normal(size=(3, 4)).astype(np.float32) * 0.5
    b1 = np.zeros(4, np.float32)
    W2 = rng.normal(size=(4, 1)).astype(np.float32) * 0.5
    b2 = np.zeros(1, np.float32)
    x = np.array([1.0, 2.0, -1.0], np.float32)
    y = np.array([0.5], np.float32)
    return W1, b1, W2, b2, x, y


def figures():
    """name -> Drawing for every figure of the tutorial."""
    return {
        "linreg_graph": mg.draw(loss)(1.0, 1.0, 2.0),
        "linreg_forward": mg.draw(loss, values=True)(1.0, 1.0, 2.0),
        "linreg_local": mg.draw(loss, values=True, local=True)(1.0, 1.0, 2.0),
        "linreg_backward": mg.draw(loss, backward=True, values=True)(1.0, 1.0, 2.0),
        "mlp_backward": mg.draw(mlp_loss, backward=True, values=True)(*mlp_params()),
        "rnn_unrolled": mg.draw(rnn_loss, backward=True, values=True, unroll=True)(0.7),
    }


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("MINIGRAD_FIGURES_OUT") or Path(__file__).parent / "figures"
    parser.add_argument("--out", default=str(default), help="output directory")
    out = Path(parser.parse_args(argv).out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, drawing in figures().items():
        for suffix in (".svg", ".png"):
            written.append(drawing.save(out / f"{name}{suffix}", engine="python"))
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main(sys.argv[1:])
