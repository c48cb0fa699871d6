"""A variational autoencoder on scikit-learn's digits, with minigrad_jax and Optax.

Everything random goes through ``mg.random``, which gives jax.random's numbers:
the weights come from ``mg.nn.initializers.glorot_normal``, the encoder drops
hidden units with ``mg.random.bernoulli``, and the latent code is sampled with
the reparameterisation trick, ``z = mu + sigma * eps`` with ``eps`` from
``mg.random.normal``, so the gradient flows through ``mu`` and ``sigma``. The
train step is ``mg.jit``-compiled: ``mg.value_and_grad`` of the negative ELBO,
then the Optax Adam update through ``mg.from_jax``. The step takes the PRNG key
and hands back a fresh one, so the loop carries its randomness like its
parameters.

    python examples/vae.py                  # CPU, default steps
    python examples/vae.py --device gpu --steps 2000 --out /tmp/vae

Needs the ``examples`` extra: scikit-learn, optax, matplotlib (optional).
"""

from __future__ import annotations

import os
import sys
import time

import jax
import numpy as np
import optax

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_HERE, os.path.join(_HERE, "..")]

import example_utils  # noqa: E402

import minigrad_jax as mg  # noqa: E402
import minigrad_jax.nn as mnn  # noqa: E402
import minigrad_jax.numpy as mnp  # noqa: E402

N_IN = 64  # 8x8 pixels
HIDDEN = 128
LATENT = 8
DROPOUT = 0.1  # the encoder's dropout rate (training only)
LEARNING_RATE = 3e-3
DEFAULT_STEPS = 400
PRINT_EVERY = 50

# ---------------------------------------------------------------------------
# data


def load_digits(seed=0, test_fraction=0.2):
    """(x_train, x_test): 8x8 digits as 64 float32 intensities in [0, 1]."""
    x_tr, _, x_te, _ = example_utils.load_digits(seed, test_fraction)
    return x_tr, x_te


# ---------------------------------------------------------------------------
# model


def init_params(key, n_in=N_IN, hidden=HIDDEN, latent=LATENT):
    """Glorot-normal weights and zero biases: {layer: {"w", "b"}}, from one key."""
    sizes = {
        "enc": (n_in, hidden),
        "mu": (hidden, latent),
        "logvar": (hidden, latent),
        "dec_hidden": (latent, hidden),
        "dec_out": (hidden, n_in),
    }
    w_init, b_init = mg.nn.initializers.glorot_normal(), mg.nn.initializers.zeros
    keys = mg.random.split(key, len(sizes))
    return {
        name: {"w": w_init(k, shape), "b": b_init(k, shape[-1:])}
        for k, (name, shape) in zip(keys, sizes.items())
    }


def dense(layer, x):
    return x @ layer["w"] + layer["b"]


def dropout(key, x, rate):
    """Inverted dropout: zero each unit with probability ``rate``, scale the rest."""
    keep = mg.random.bernoulli(key, 1.0 - rate, x.shape)
    return mnp.where(keep, x / (1.0 - rate), 0.0)


def encode(params, x, key=None, rate=DROPOUT):
    """(mu, logvar) of q(z | x); dropout on the hidden layer when given a key."""
    h = mnn.relu(dense(params["enc"], x))
    if key is not None:
        h = dropout(key, h, rate)
    return dense(params["mu"], h), dense(params["logvar"], h)


def decode(params, z):
    """Logits of p(x | z), one Bernoulli per pixel."""
    return dense(params["dec_out"], mnn.relu(dense(params["dec_hidden"], z)))


def reparameterize(key, mu, logvar):
    """``z = mu + sigma * eps``, eps ~ N(0, 1): a sample that is differentiable in mu, sigma."""
    eps = mg.random.normal(key, mu.shape)
    return mu + mnp.exp(0.5 * logvar) * eps


def elbo(params, x, key, train=True):
    """The mean ELBO of a batch: E_q[log p(x | z)] - KL(q(z | x) || N(0, I)), one sample."""
    k_drop, k_eps = mg.random.split(key)
    mu, logvar = encode(params, x, k_drop if train else None)
    logits = decode(params, reparameterize(k_eps, mu, logvar))
    # Bernoulli log-likelihood of the intensities (binary cross-entropy, summed per image)
    log_lik = mnp.sum(x * mnn.log_sigmoid(logits) + (1 - x) * mnn.log_sigmoid(-logits), axis=-1)
    kl = -0.5 * mnp.sum(1 + logvar - mu**2 - mnp.exp(logvar), axis=-1)
    return mnp.mean(log_lik - kl)


def loss_fn(params, x, key):
    """The negative ELBO, with dropout: what training minimises."""
    return -elbo(params, x, key, train=True)


def make_train_step(optimizer):
    """The jitted step: (params, opt_state, x, key) -> (params, opt_state, key, loss)."""
    update = mg.from_jax(optimizer.update)
    apply_updates = mg.from_jax(optax.apply_updates)

    @mg.jit
    def train_step(params, opt_state, x, key):
        key, sub = mg.random.split(key)
        loss, grads = mg.value_and_grad(loss_fn)(params, x, sub)
        updates, opt_state = update(grads, opt_state, params)
        return apply_updates(params, updates), opt_state, key, loss

    return train_step


@mg.jit
def eval_elbo(params, x, key):
    """The held-out ELBO (no dropout; one latent sample per image)."""
    return elbo(params, x, key, train=False)


@mg.jit
def reconstruct(params, x):
    """Pixel means of p(x | z = mu(x)): the deterministic reconstruction."""
    mu, _ = encode(params, x)
    return mnn.sigmoid(decode(params, mu))


@mg.jit
def sample(params, key, n=8):
    """``n`` digits decoded from the prior N(0, I)."""
    return mnn.sigmoid(decode(params, mg.random.normal(key, (n, LATENT))))


# ---------------------------------------------------------------------------
# the command line


def _save_figure(x, recon, samples, out_dir):
    plt = example_utils.pyplot()
    if plt is None:
        return None
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "vae_digits.png")
    rows = [("input", x), ("reconstruction", recon), ("prior sample", samples)]
    fig, axes = plt.subplots(len(rows), len(x), figsize=(len(x), len(rows) + 0.3))
    for r, (title, imgs) in enumerate(rows):
        for c, img in enumerate(np.asarray(imgs)):
            axes[r, c].imshow(img.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
            axes[r, c].axis("off")
        axes[r, 0].set_title(title, fontsize=8, loc="left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None):
    """Train and evaluate; returns {"elbos", "test_elbo", "seconds", "device", "plot"}."""
    args, device = example_utils.command_line(__doc__, DEFAULT_STEPS, argv)

    with jax.default_device(device):
        x_tr, x_te = load_digits(args.seed)
        x_tr, x_te = jax.device_put(x_tr, device), jax.device_put(x_te, device)
        init_key, train_key, eval_key = mg.random.split(mg.random.key(args.seed), 3)
        params = init_params(init_key)
        optimizer = optax.adam(LEARNING_RATE)
        opt_state = optimizer.init(params)
        step = make_train_step(optimizer)
        key, losses = train_key, []
        t0 = time.perf_counter()
        for i in range(args.steps):
            params, opt_state, key, loss = step(params, opt_state, x_tr, key)
            losses.append(loss)
            if i % PRINT_EVERY == 0 or i == args.steps - 1:
                print(f"step {i:4d}  ELBO {-float(loss):8.3f} nats/image")
        elbos = [-float(v) for v in losses]
        seconds = time.perf_counter() - t0
        k_test, k_sample = mg.random.split(eval_key)
        test_elbo = float(eval_elbo(params, x_te, k_test))
        recon, samples = reconstruct(params, x_te[:8]), sample(params, k_sample)

    plot = _save_figure(x_te[:8], recon, samples, args.out)
    print(
        f"{args.steps} steps on {device} in {seconds:.2f}s; final training ELBO "
        f"{elbos[-1] if elbos else float('nan'):.3f}; held-out ELBO {test_elbo:.3f} nats/image"
    )
    if plot:
        print(f"figure: {plot}")
    return {
        "elbos": elbos,
        "test_elbo": test_elbo,
        "seconds": seconds,
        "device": str(device),
        "plot": plot,
    }


if __name__ == "__main__":
    main()
