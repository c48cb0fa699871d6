"""examples/train_data_parallel.py on 8 simulated devices, against one device and JAX.

The example trains the digits MLP four ways (one device, sharded jit, shard_map +
pmean, tensor parallel). Each way's per-step losses must equal the one-device
losses, and the data-parallel and tensor-parallel steps must equal the same steps
written in JAX with Optax, losses and final placement of the weights alike.
"""

from __future__ import annotations

import multidevice

SETUP = """
import importlib.util, optax
spec = importlib.util.spec_from_file_location(
    "train_data_parallel", "examples/train_data_parallel.py")
EX = importlib.util.module_from_spec(spec)
spec.loader.exec_module(EX)
STEPS = 5
OUT = EX.main(["--steps", str(STEPS)])
MESH, MESH2 = EX.meshes(8)
DATA = EX.batches(0, 128, STEPS)
PARAMS0 = EX.init_params(EX.train_mlp.make_model(), 0)

def jax_train(step, params, state, place):
    losses = []
    for x, y in DATA:
        params, state, loss = step(params, state, *place(x, y))
        losses.append(float(loss))
    return losses, params

def jax_step(loss_fn, constrain=None, **kw):
    opt = optax.adam(EX.LEARNING_RATE)
    def step(params, state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, state = opt.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        if constrain is not None:
            params = jax.lax.with_sharding_constraint(params, constrain)
        return params, state, loss
    return opt, jax.jit(step, **kw)

def jax_forward(params, x, grid=None):
    (l1, l2) = params
    h = jax.nn.relu(x @ l1["w"] + l1["b"])
    if grid is not None:
        h = jax.lax.with_sharding_constraint(h, grid)
    return h @ l2["w"] + l2["b"]

def jax_loss(params, x, y, grid=None):
    logp = jax.nn.log_softmax(jax_forward(params, x, grid), axis=-1)
    return -jnp.sum(logp * y) * np.float32(1.0 / x.shape[0])
"""

CHECKS = {
    "every_way_equals_one_device": """
        assert OUT["devices"] == 8
        base = OUT["losses"]["one device"]
        assert len(base) == STEPS and base[-1] < base[0], base
        for way, losses in OUT["losses"].items():
            np.testing.assert_allclose(losses, base, rtol=1e-5, err_msg=way)
    """,
    "data_parallel_equals_jax_sharded_step": """
        rows, rep = NamedSharding(MESH, P("data")), NamedSharding(MESH, P())
        opt, step = jax_step(jax_loss, in_shardings=(rep, rep, rows, rows),
                             out_shardings=(rep, rep, rep))
        params = jax.device_put(PARAMS0, rep)
        losses, params = jax_train(step, params, jax.device_put(opt.init(params), rep),
                                   lambda x, y: jax.device_put((x, y), rows))
        for way in ("sharded jit", "shard_map + pmean"):
            np.testing.assert_allclose(OUT["losses"][way], losses, rtol=1e-5, err_msg=way)
            assert OUT["hidden_weight_sharding"][way] == params[0]["w"].sharding, way
    """,
    "tensor_parallel_equals_jax": """
        grid = NamedSharding(MESH2, P("data", "model"))
        rows = NamedSharding(MESH2, P("data"))
        col, row = NamedSharding(MESH2, P(None, "model")), NamedSharding(MESH2, P("model", None))
        layout = [{"w": col, "b": NamedSharding(MESH2, P("model"))},
                  {"w": row, "b": NamedSharding(MESH2, P())}]
        opt, step = jax_step(functools.partial(jax_loss, grid=grid), constrain=layout)
        params = jax.device_put(PARAMS0, layout)
        losses, params = jax_train(step, params, opt.init(params),
                                   lambda x, y: jax.device_put((x, y), rows))
        np.testing.assert_allclose(OUT["losses"]["tensor parallel"], losses, rtol=1e-5)
        ours = OUT["hidden_weight_sharding"]["tensor parallel"]
        assert ours == params[0]["w"].sharding == col, (ours, params[0]["w"].sharding)
    """,
}


results, test_on_8_devices = multidevice.tests_for(CHECKS, SETUP)
