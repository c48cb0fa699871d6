"""Parity of examples/train_mlp.py with the same training written in pure JAX + Optax."""

import importlib.util
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

pytest.importorskip("sklearn")

_PATH = os.path.join(os.path.dirname(__file__), "..", "examples", "train_mlp.py")


@pytest.fixture(scope="module")
def ex():
    spec = importlib.util.spec_from_file_location("train_mlp_example", _PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _jax_loss(params, x, y_onehot):
    h = x
    for layer in params[:-1]:
        h = jnp.maximum(h @ layer["w"] + layer["b"], 0.0)
    logits = h @ params[-1]["w"] + params[-1]["b"]
    return -jnp.mean(jnp.sum(jax.nn.log_softmax(logits, axis=-1) * y_onehot, axis=-1))


def test_loss_matches_jax(ex):
    x_tr, y_tr, _, _ = ex.load_digits(0)
    x, y = x_tr[:64], ex.one_hot(y_tr[:64])
    params = ex.init_params(ex.make_model(), 3)
    import minigrad_jax as mg

    v, g = mg.value_and_grad(ex.loss_fn)(params, x, y)
    v_ref, g_ref = jax.value_and_grad(_jax_loss)(params, x, y)
    np.testing.assert_allclose(v, v_ref, rtol=1e-5)
    for a, b in zip(jax.tree_util.tree_leaves(g), jax.tree_util.tree_leaves(g_ref), strict=False):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_training_parity_with_pure_jax_optax(ex):
    x_tr, y_tr, _, _ = ex.load_digits(0)
    x, y = jnp.asarray(x_tr), jnp.asarray(ex.one_hot(y_tr))
    params0 = ex.init_params(ex.make_model(), 1)
    opt = optax.adam(ex.LEARNING_RATE)

    mg_step = ex.make_train_step(opt)

    @jax.jit
    def jax_step(params, state, x, y):
        loss, grads = jax.value_and_grad(_jax_loss)(params, x, y)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    p_mg, s_mg = params0, opt.init(params0)
    p_jx, s_jx = params0, opt.init(params0)
    for i in range(20):
        p_mg, s_mg, l_mg = mg_step(p_mg, s_mg, x, y)
        p_jx, s_jx, l_jx = jax_step(p_jx, s_jx, x, y)
        np.testing.assert_allclose(l_mg, l_jx, rtol=1e-5, err_msg=f"loss at step {i}")
    assert mg_step.trace_count == 1
    assert jax.tree_util.tree_structure(p_mg) == jax.tree_util.tree_structure(p_jx)
    for a, b in zip(jax.tree_util.tree_leaves(p_mg), jax.tree_util.tree_leaves(p_jx), strict=False):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(jax.tree_util.tree_leaves(s_mg), jax.tree_util.tree_leaves(s_jx), strict=False):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_main_small_run(ex, tmp_path):
    res = ex.main(["--steps", "5", "--out", str(tmp_path)])
    assert len(res["losses"]) == 5
    assert all(np.isfinite(res["losses"]))
    assert res["losses"][-1] < res["losses"][0]
    assert 0.0 <= res["accuracy"] <= 1.0
    if res["plot"] is not None:
        assert os.path.getsize(res["plot"]) > 0


def test_main_default_steps_reaches_95_percent(ex, tmp_path):
    # no wall-time assertion: speed is benchmarks/bench.py's business, not a test's
    res = ex.main(["--out", str(tmp_path)])
    assert len(res["losses"]) == ex.DEFAULT_STEPS
    assert res["accuracy"] >= 0.95, res["accuracy"]
