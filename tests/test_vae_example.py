"""Parity of examples/vae.py with the same VAE written in pure JAX + Optax + jax.random.

Both sides get the same keys. mg.random and mg.nn.initializers give jax.random's
and jax.nn.initializers' numbers, so the weights, the dropout masks and the
reparameterisation noise are the same on both sides, and the training runs
agree step for step up to float rounding.
"""

import importlib.util
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import minigrad_jax as mg

pytest.importorskip("sklearn")

_PATH = os.path.join(os.path.dirname(__file__), "..", "examples", "vae.py")


@pytest.fixture(scope="module")
def ex():
    spec = importlib.util.spec_from_file_location("vae_example", _PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def data(ex):
    return ex.load_digits(0)


# ---------------------------------------------------------------------------
# the same model in pure JAX

_LAYERS = ("enc", "mu", "logvar", "dec_hidden", "dec_out")


def _jax_init(ex, key):
    sizes = dict(
        zip(
            _LAYERS,
            [
                (ex.N_IN, ex.HIDDEN),
                (ex.HIDDEN, ex.LATENT),
                (ex.HIDDEN, ex.LATENT),
                (ex.LATENT, ex.HIDDEN),
                (ex.HIDDEN, ex.N_IN),
            ],
        )
    )
    keys = jax.random.split(key, len(sizes))
    w_init = jax.nn.initializers.glorot_normal()
    return {
        name: {"w": w_init(k, s), "b": jax.nn.initializers.zeros(k, s[-1:])}
        for k, (name, s) in zip(keys, sizes.items())
    }


def _jax_elbo(params, x, key, rate, train=True):
    def dense(name, h):
        return h @ params[name]["w"] + params[name]["b"]

    k_drop, k_eps = jax.random.split(key)
    h = jax.nn.relu(dense("enc", x))
    if train:
        keep = jax.random.bernoulli(k_drop, 1.0 - rate, h.shape)
        h = jnp.where(keep, h / (1.0 - rate), 0.0)
    mu, logvar = dense("mu", h), dense("logvar", h)
    z = mu + jnp.exp(0.5 * logvar) * jax.random.normal(k_eps, mu.shape)
    logits = dense("dec_out", jax.nn.relu(dense("dec_hidden", z)))
    log_lik = jnp.sum(
        x * jax.nn.log_sigmoid(logits) + (1 - x) * jax.nn.log_sigmoid(-logits), axis=-1
    )
    kl = -0.5 * jnp.sum(1 + logvar - mu**2 - jnp.exp(logvar), axis=-1)
    return jnp.mean(log_lik - kl)


def _close_trees(a, b, rtol, atol, what):
    assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b), what
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=what)


# ---------------------------------------------------------------------------


def test_init_equals_jax(ex):
    for seed in (3,):
        ours = ex.init_params(mg.random.key(seed))
        ref = _jax_init(ex, jax.random.key(seed))
        assert jax.tree_util.tree_structure(ours) == jax.tree_util.tree_structure(ref)
        for a, b in zip(jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(ref)):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


def test_loss_and_grads_match_jax(ex, data):
    x = data[0][:128]
    params = ex.init_params(mg.random.key(1))
    key = jax.random.key(5)
    v, g = mg.jit(mg.value_and_grad(ex.loss_fn))(params, x, key)
    v_ref, g_ref = jax.jit(jax.value_and_grad(lambda p, x, k: -_jax_elbo(p, x, k, ex.DROPOUT)))(
        params, x, key
    )
    np.testing.assert_allclose(v, v_ref, rtol=1e-6)
    _close_trees(g, g_ref, 1e-5, 1e-6, "grads")
    # the key matters: other dropout masks and noise give another loss
    assert float(mg.jit(ex.loss_fn)(params, x, jax.random.key(6))) != float(v)


def test_eval_elbo_matches_jax(ex, data):
    x_te = data[1]
    params = ex.init_params(mg.random.key(2))
    key = jax.random.key(9)
    got = ex.eval_elbo(params, x_te, key)
    want = jax.jit(lambda p, x, k: _jax_elbo(p, x, k, ex.DROPOUT, train=False))(params, x_te, key)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_training_parity_with_pure_jax_optax(ex, data):
    x = jnp.asarray(data[0])
    init_key, train_key = jax.random.split(jax.random.key(0))
    opt = optax.adam(ex.LEARNING_RATE)

    @jax.jit
    def jax_step(params, state, x, key):
        key, sub = jax.random.split(key)
        loss, grads = jax.value_and_grad(lambda p: -_jax_elbo(p, x, sub, ex.DROPOUT))(params)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, key, loss

    mg_step = ex.make_train_step(opt)
    p_mg = ex.init_params(init_key)
    p_jx = _jax_init(ex, init_key)
    s_mg, s_jx = opt.init(p_mg), opt.init(p_jx)
    k_mg = k_jx = train_key
    for i in range(20):
        p_mg, s_mg, k_mg, l_mg = mg_step(p_mg, s_mg, x, k_mg)
        p_jx, s_jx, k_jx, l_jx = jax_step(p_jx, s_jx, x, k_jx)
        np.testing.assert_allclose(l_mg, l_jx, rtol=1e-6, err_msg=f"loss at step {i}")
        np.testing.assert_array_equal(jax.random.key_data(k_mg), jax.random.key_data(k_jx))
    assert mg_step.trace_count == 1
    _close_trees(p_mg, p_jx, 1e-5, 1e-6, "params")
    _close_trees(s_mg, s_jx, 1e-5, 1e-6, "optimizer state")


def test_main_small_run(ex, tmp_path):
    res = ex.main(["--steps", "40", "--out", str(tmp_path)])
    elbos = res["elbos"]
    assert len(elbos) == 40 and all(np.isfinite(elbos))
    # the ELBO of the untrained model is about 64 * log(1/2); training raises it
    assert elbos[-1] > elbos[0] + 5.0, (elbos[0], elbos[-1])
    assert np.isfinite(res["test_elbo"]) and res["test_elbo"] > elbos[0]
    if res["plot"] is not None:
        assert os.path.getsize(res["plot"]) > 0
