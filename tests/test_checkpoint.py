"""checkpoint / remat: no residuals but the inputs, the same gradients as JAX."""

import jax
import jax.numpy as jnp
import numpy as np

import minigrad_jax as mg
from minigrad_jax._src.checkpoint import checkpoint, remat
from minigrad_jax._src.lax import control_flow as cf
from minigrad_jax._src.lax import elementwise as ew
from minigrad_jax._src.lax import reductions as red

X = np.linspace(-1.0, 1.0, 5).astype(np.float32)


def f(x):
    return red.reduce_sum(ew.sin(ew.sin(ew.sin(x))) * ew.exp(x), (0,))


def jf(x):
    return (jnp.sin(jnp.sin(jnp.sin(x))) * jnp.exp(x)).sum()


def test_checkpoint_saves_only_inputs():
    plain = mg.linearize(f, X)[1].jaxpr
    ckpt = mg.linearize(checkpoint(f), X)[1].jaxpr
    assert len(plain.consts) > 1  # the sin/cos/exp intermediates
    assert len(ckpt.consts) == 1  # just x: the forward is recomputed
    assert np.array_equal(np.asarray(ckpt.consts[0]), X)
    # the recomputation lives in the linear jaxpr, inside the checkpoint primitive
    (eqn,) = ckpt.jaxpr.eqns
    assert eqn.primitive.name == "remat2" and eqn.params["differentiated"]
    assert "sin" in [e.primitive.name for e in eqn.params["jaxpr"].jaxpr.eqns]


def test_checkpoint_gradients_unchanged():
    want = jax.grad(jf)(X)
    np.testing.assert_allclose(mg.grad(checkpoint(f))(X), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mg.grad(remat(f))(X), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mg.jit(mg.grad(checkpoint(f)))(X), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        mg.vmap(mg.grad(checkpoint(f)))(np.stack([X, 2 * X])),
        jax.vmap(jax.grad(jf))(np.stack([X, 2 * X])),
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        mg.grad(mg.grad(lambda x: checkpoint(f)(x * X)))(0.5),
        jax.grad(jax.grad(lambda x: jax.checkpoint(jf)(x * X)))(0.5),
        rtol=1e-5,
        atol=1e-5,
    )
    np.testing.assert_allclose(checkpoint(f)(X), jf(X), rtol=1e-6)


def test_checkpoint_jaxpr_matches_jax_and_scan_body():
    ours = mg.make_jaxpr(checkpoint(ew.sin))(1.0).jaxpr.eqns[0]
    theirs = jax.make_jaxpr(jax.checkpoint(jnp.sin))(1.0).eqns[0]
    assert ours.primitive.name == str(theirs.primitive)
    assert set(ours.params) == set(theirs.params)

    def g(w):
        body = checkpoint(lambda c, x: (ew.tanh(c * w + x), c))
        return red.reduce_sum(cf.scan(body, 0.0, X)[1], (0,))

    def jg(w):
        body = jax.checkpoint(lambda c, x: (jnp.tanh(c * w + x), c))
        return jax.lax.scan(body, 0.0, X)[1].sum()

    np.testing.assert_allclose(mg.grad(g)(0.7), jax.grad(jg)(0.7), rtol=1e-5)
