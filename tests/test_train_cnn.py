"""Parity of examples/train_cnn.py with the same CNN written in pure JAX + Optax, and
its held-out accuracy."""

import importlib.util
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import minigrad_jax as mg

pytest.importorskip("sklearn")

_PATH = os.path.join(os.path.dirname(__file__), "..", "examples", "train_cnn.py")


@pytest.fixture(scope="module")
def ex():
    spec = importlib.util.spec_from_file_location("train_cnn_example", _PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _assert_trees_close(a, b, **tol):
    assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)
    for u, v in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_allclose(u, v, **tol)


def test_init_is_jax_initializers(ex):
    params = ex.init_params(4)
    k1, _, k3 = jax.random.split(jax.random.key(4), 3)
    he = jax.nn.initializers.he_normal()
    np.testing.assert_array_equal(params["conv1"]["w"], he(k1, (3, 3, 1, 16)))
    np.testing.assert_array_equal(params["dense"]["w"], he(k3, (128, 10)))


def test_loss_and_grads_match_jax(ex):
    x_tr, y_tr, _, _ = ex.load_digits(0)
    x, y = x_tr[:32], ex.one_hot(y_tr[:32])
    params = ex.init_params(3)
    v, g = mg.value_and_grad(ex.loss_fn)(params, x, y)
    v_ref, g_ref = jax.value_and_grad(ex.jax_loss_fn)(params, x, y)
    np.testing.assert_allclose(v, v_ref, rtol=1e-5)
    _assert_trees_close(g, g_ref, rtol=1e-4, atol=1e-6)


def test_training_parity_with_pure_jax_optax(ex):
    x_tr, y_tr, _, _ = ex.load_digits(0)
    oh = ex.one_hot(y_tr)
    params0 = ex.init_params(1)
    opt = optax.adam(ex.LEARNING_RATE)
    mg_step = ex.make_train_step(opt)

    @jax.jit
    def jax_step(params, state, x, y):
        loss, grads = jax.value_and_grad(ex.jax_loss_fn)(params, x, y)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    p_mg, s_mg = params0, opt.init(params0)
    p_jx, s_jx = params0, opt.init(params0)
    order = ex.batches(len(x_tr), ex.BATCH, 0)
    for i in range(20):
        idx = next(order)
        x, y = jnp.asarray(x_tr[idx]), jnp.asarray(oh[idx])
        p_mg, s_mg, l_mg = mg_step(p_mg, s_mg, x, y)
        p_jx, s_jx, l_jx = jax_step(p_jx, s_jx, x, y)
        np.testing.assert_allclose(l_mg, l_jx, rtol=1e-5, err_msg=f"loss at step {i}")
    assert mg_step.trace_count == 1
    _assert_trees_close(p_mg, p_jx, rtol=1e-5, atol=1e-6)
    _assert_trees_close(s_mg, s_jx, rtol=1e-5, atol=1e-6)


def test_main_reaches_97_percent_held_out(ex, tmp_path):
    res = ex.main(["--out", str(tmp_path)])
    assert len(res["losses"]) == ex.DEFAULT_STEPS
    assert all(np.isfinite(res["losses"]))
    assert res["accuracy"] >= 0.97, res["accuracy"]
    if res["plot"] is not None:
        assert os.path.exists(res["plot"])
