"""mg.explain_grad: the step-by-step backward pass equals mg.grad and jax.grad."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
from minigrad_jax._src.lax import elementwise as ew
from minigrad_jax._src.lax import linalg
from minigrad_jax._src.lax import reductions as red
from minigrad_jax._src.teaching.explain import explain_grad


def linreg(w, x, y):
    y_hat = w * x
    loss = (y_hat - y) ** 2
    return loss


def test_tutorial_example_numbers():
    rep = explain_grad(linreg)(1.0, 1.0, 2.0)
    want = jax.grad(lambda w, x, y: (w * x - y) ** 2)(1.0, 1.0, 2.0)
    assert float(rep.grads) == float(want) == float(mg.grad(linreg)(1.0, 1.0, 2.0)) == -2.0
    prims = [r.equation.split(" = ")[1].split()[0] for r in rep.forward]
    assert prims == ["mul", "sub", "integer_pow[y=2]"]
    assert rep.forward[0].label == "y_hat" and rep.forward[0].value == "1.0"
    assert float(rep.value()) == 1.0 == float(rep.value("loss"))
    # local gradient d y_hat / d w = x = 1
    dyhat_dw = [r for r in rep.local if r.step == 1 and r.input == "w"]
    assert len(dyhat_dw) == 1 and float(np.asarray(dyhat_dw[0].raw)) == 1.0
    # backward: the sub equation sends dloss/dyhat = -2 to y_hat; mul sends -2 to w
    to_yhat = [r for r in rep.backward if r.input == "y_hat"]
    assert len(to_yhat) == 1 and float(to_yhat[0].raw_outgoing) == -2.0
    to_w = [r for r in rep.backward if r.input == "w"]
    assert len(to_w) == 1 and float(to_w[0].raw_outgoing) == -2.0
    # the backward pass runs in reverse order
    steps = [r.step for r in rep.backward]
    assert steps == sorted(steps, reverse=True)
    text = str(rep)
    assert "Forward pass" in text and "Backward pass" in text and "-2.0" in text
    assert "integer_pow" in rep.to_markdown() and "<html" in rep.to_html()
    assert "test_explain.py:" in rep.forward[0].source


def test_variable_used_twice_is_summed():
    def f(x):
        y = x * x
        return ew.sin(y) * x

    x = 1.3
    rep = explain_grad(f)(x)
    want = jax.grad(lambda x: jnp.sin(x * x) * x)(x)
    np.testing.assert_allclose(rep.grads, want, rtol=1e-6)
    np.testing.assert_allclose(rep.grads, mg.grad(f)(x), rtol=1e-6)
    summed = [r for r in rep.backward if r.accumulated]
    assert summed, "the adjoint of x (used three times) must show a sum"
    assert summed[-1].accumulated.startswith("x used 3x")


def _mlp(W1, b1, W2, b2, x, y):
    h = ew.tanh(linalg.dot_general(x, W1, (((0,), (0,)), ((), ()))) + b1)
    y_hat = linalg.dot_general(h, W2, (((0,), (0,)), ((), ()))) + b2
    return red.reduce_sum((y_hat - y) ** 2, (0,))


def _jax_mlp(W1, b1, W2, b2, x, y):
    return jnp.sum((jnp.tanh(x @ W1 + b1) @ W2 + b2 - y) ** 2)


def test_mlp_matches_grad_and_jax():
    rng = np.random.default_rng(1)
    args = (
        rng.normal(size=(3, 4)).astype(np.float32),
        rng.normal(size=4).astype(np.float32),
        rng.normal(size=(4, 1)).astype(np.float32),
        rng.normal(size=1).astype(np.float32),
        np.array([1.0, -2.0, 0.5], np.float32),
        np.array([0.3], np.float32),
    )
    rep = explain_grad(_mlp, argnums=(0, 1, 2, 3))(*args)
    ours = mg.grad(_mlp, argnums=(0, 1, 2, 3))(*args)
    theirs = jax.grad(_jax_mlp, argnums=(0, 1, 2, 3))(*args)
    assert isinstance(rep.grads, tuple) and len(rep.grads) == 4
    for g, o, t in zip(rep.grads, ours, theirs, strict=True):
        assert g.shape == t.shape
        np.testing.assert_allclose(g, o, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(g, t, rtol=1e-5, atol=1e-6)
    kinds = {r.kind.split(" (")[0] for r in rep.local}
    assert "diagonal Jacobian" in kinds  # tanh is elementwise
    assert any(k.startswith("Jacobian") for k in kinds)  # dot_general is not


def test_pytree_argument():
    def f(p, x):
        return (p["w"] * x + p["b"]) ** 2

    p = {"w": 2.0, "b": -1.0}
    rep = explain_grad(f)(p, 3.0)
    want = jax.grad(f)(p, 3.0)
    assert set(rep.grads) == {"b", "w"}
    for k in want:
        np.testing.assert_allclose(rep.grads[k], want[k])
    assert any("p['w']" in r.input for r in rep.backward)


def test_errors():
    with pytest.raises(TypeError, match="scalar output"):
        explain_grad(lambda x: x * np.ones(3, np.float32))(1.0)
    with pytest.raises(TypeError, match="int32"):
        explain_grad(lambda x: x * 2.0)(np.int32(1))
    with pytest.raises(ValueError, match="out of range"):
        explain_grad(lambda x: x * 2.0, argnums=3)(1.0)
