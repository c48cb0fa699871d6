"""examples/multi_host.py: 2 processes x 4 CPU devices, one mesh of 8, through
``jax.distributed.initialize``; its losses against one device and against JAX."""

from __future__ import annotations

import importlib.util
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

_PATH = os.path.join(os.path.dirname(__file__), "..", "examples", "multi_host.py")
STEPS = 3


@pytest.fixture(scope="module")
def run():
    spec = importlib.util.spec_from_file_location("multi_host_example", _PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, mod.main(["--steps", str(STEPS)])


def _jax_loss(params, x, y_onehot):
    h = jax.nn.relu(x @ params[0]["w"] + params[0]["b"])
    logits = h @ params[1]["w"] + params[1]["b"]
    return -jnp.sum(jax.nn.log_softmax(logits, axis=-1) * y_onehot) / x.shape[0]


def test_every_process_sees_the_whole_mesh(run):
    _, out = run
    assert [r["process"] for r in out["results"]] == [0, 1]
    for r in out["results"]:
        assert (r["processes"], r["devices"], r["local_devices"]) == (2, 8, 4), r
        assert r["hidden_weight_spec"] == str(jax.sharding.PartitionSpec()), r
    # one SPMD program: both processes read the same replicated loss
    assert out["results"][0]["losses"] == out["results"][1]["losses"]


def test_losses_equal_one_device_and_jax(run):
    mod, out = run
    losses = out["results"][0]["losses"]
    np.testing.assert_allclose(losses, out["one_device"], rtol=1e-5)

    opt = optax.adam(mod.tdp.LEARNING_RATE)

    @jax.jit
    def step(params, state, x, y):
        loss, grads = jax.value_and_grad(_jax_loss)(params, x, y)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    params = mod.tdp.init_params(mod.tdp.train_mlp.make_model(), 0)
    state, theirs = opt.init(params), []
    for x, y in mod.tdp.batches(0, 128, STEPS):
        params, state, loss = step(params, state, x, y)
        theirs.append(float(loss))
    np.testing.assert_allclose(losses, theirs, rtol=1e-5)
