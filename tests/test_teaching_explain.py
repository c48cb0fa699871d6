"""explain_grad in the user's names, value/cotangent of intermediates, and control flow.

Oracles: JAX (jax.grad; for an intermediate, jax.grad of the rest of the function with respect
to it, the function split there) and mg.grad.
"""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp


def loss(w, x, y):
    y_hat = w * x
    return (y_hat - y) ** 2


def test_tutorial_names_are_the_users():
    rep = mg.explain_grad(loss)(1.0, 1.0, 2.0)
    assert {"w", "x", "y", "y_hat", "loss"} <= set(rep.names())
    assert [r.var for r in rep.forward][0] == "y_hat" and rep.forward[-1].var == "loss"
    # the printer's letters of the named variables (a b c = w x y, d = y_hat, f = loss)
    text = " ".join(r.equation for r in rep.forward) + " ".join(r.input for r in rep.backward)
    assert not set(re.findall(r"\b[a-z]\b", text)) & {"a", "b", "c", "d", "f"}
    assert rep.forward[0].equation == "y_hat = mul w x"
    local = {(r.output, r.input) for r in rep.local}
    assert ("y_hat", "w") in local and ("loss", "e") in local


def test_value_and_cotangent_by_name_match_jax_split():
    w, x, y = 1.0, 1.0, 2.0
    rep = mg.explain_grad(loss)(w, x, y)
    assert float(rep.value("y_hat")) == w * x
    want = jax.grad(lambda y_hat: (y_hat - y) ** 2)(w * x)  # the rest of loss, from y_hat on
    assert float(rep.cotangent("y_hat")) == float(want) == -2.0
    assert float(rep.cotangent("w")) == float(jax.grad(loss)(w, x, y))
    assert float(rep.cotangent("loss")) == 1.0
    with pytest.raises(ValueError, match="no variable named 'nope'"):
        rep.value("nope")


def mlp_loss(W1, b1, W2, b2, x, y):
    h = mnp.tanh(x @ W1 + b1)
    y_hat = h @ W2 + b2
    return mnp.mean((y_hat - y) ** 2)


def test_mlp_intermediate_cotangents_match_jax_split():
    rng = np.random.default_rng(0)
    W1, W2 = rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(4, 1)).astype(np.float32)
    b1, b2 = rng.normal(size=4).astype(np.float32), rng.normal(size=1).astype(np.float32)
    x, y = np.array([1.0, 2.0, -1.0], np.float32), np.array([0.5], np.float32)
    rep = mg.explain_grad(mlp_loss, argnums=(0, 1, 2, 3))(W1, b1, W2, b2, x, y)
    h = jnp.tanh(x @ W1 + b1)
    np.testing.assert_allclose(rep.value("h"), h, rtol=1e-6)
    d_h = jax.grad(lambda h: jnp.mean((h @ W2 + b2 - y) ** 2))(h)
    np.testing.assert_allclose(rep.cotangent("h"), d_h, rtol=1e-5, atol=1e-7)
    y_hat = h @ W2 + b2
    d_yhat = jax.grad(lambda y_hat: jnp.mean((y_hat - y) ** 2))(y_hat)
    np.testing.assert_allclose(rep.cotangent("y_hat"), d_yhat, rtol=1e-5)
    theirs = jax.grad(
        lambda W1, b1, W2, b2: jnp.mean((jnp.tanh(x @ W1 + b1) @ W2 + b2 - y) ** 2), (0, 1, 2, 3)
    )(W1, b1, W2, b2)
    for g, t in zip(rep.grads, theirs, strict=True):
        np.testing.assert_allclose(g, t, rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------- control flow


def scan_loss(w, L):
    def step(c, x):
        h = L.tanh(c * w + x)
        return h, h * h

    c, ys = L.scan(step, 0.5, L.arange(4))
    return c + L.sum(ys)


def cond_loss(w, L):
    z = L.cond(w > 0, lambda a: L.sin(a) * a, lambda a: -a, w)
    return z * w


def fori_loss(w, L):
    return L.fori_loop(0, 5, lambda i, c: L.sin(c) * w + 1.0, w)


def jit_loss(w, L):
    inner = L.jit(lambda a: L.exp(a) * a)
    return inner(w) + inner(2.0 * w)


def nested_loss(w, L):
    def step(c, x):
        c2 = L.cond(x > 1.0, lambda a: a * w, lambda a: a + w, c)
        return c2, c2

    c, ys = L.scan(step, w, L.arange(3))
    return c * L.sum(ys)


class _MG:
    tanh, sin, exp, sum, jit = mnp.tanh, mnp.sin, mnp.exp, mnp.sum, mg.jit
    scan, cond, fori_loop = mg.lax.scan, mg.lax.cond, mg.lax.fori_loop

    @staticmethod
    def arange(n):
        return mnp.arange(float(n))


class _JX:
    tanh, sin, exp, sum, jit = jnp.tanh, jnp.sin, jnp.exp, jnp.sum, jax.jit
    scan, cond, fori_loop = jax.lax.scan, jax.lax.cond, jax.lax.fori_loop

    @staticmethod
    def arange(n):
        return jnp.arange(float(n))


PROGRAMS = {"scan": scan_loss, "cond": cond_loss, "fori": fori_loss, "jit": jit_loss}
PROGRAMS["scan_of_cond"] = nested_loss


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.parametrize("w", [0.7, -0.4])
def test_gradients_through_control_flow(name, w):
    prog = PROGRAMS[name]
    rep = mg.explain_grad(lambda w: prog(w, _MG))(w)
    ours = mg.grad(lambda w: prog(w, _MG))(w)
    theirs = jax.grad(lambda w: prog(w, _JX))(w)
    np.testing.assert_allclose(rep.grads, theirs, rtol=2e-5)
    np.testing.assert_allclose(rep.grads, ours, rtol=2e-5)
    assert rep.loops and "Inside control flow" in str(rep)


def test_scan_adjoints_per_iteration_match_jax():
    """d loss / d h at every iteration: JAX's gradient with respect to a perturbation added to
    h in each iteration (the function split at h, once per iteration)."""
    w = 0.7

    def jax_loss(w, eps):
        def step(c, xe):
            x, e = xe
            h = jnp.tanh(c * w + x) + e
            return h, h * h

        c, ys = jax.lax.scan(step, 0.5, (jnp.arange(4.0), eps))
        return c + jnp.sum(ys)

    rep = mg.explain_grad(lambda w: scan_loss(w, _MG))(w)
    scope = next(s for s in rep.model.top.walk() if s.kind == "scan")
    (h,) = [v for v, n in rep.model.names[scope].items() if n == "h"]
    want = jax.grad(jax_loss, 1)(w, jnp.zeros(4))
    np.testing.assert_allclose(scope.cotangent(h), want, rtol=1e-5)
    np.testing.assert_allclose(rep.cotangent("h"), want, rtol=1e-5)  # by name, per iteration
    vals = jax.lax.scan(lambda c, x: (jnp.tanh(c * w + x),) * 2, 0.5, jnp.arange(4.0))[1]
    np.testing.assert_allclose(rep.value("h"), vals, rtol=1e-6)
    # w is loop-invariant: its per-iteration adjoints are summed into what the scan sends out
    summed = [r for r in rep.loops if r.var == "w" and r.summed.startswith("summed over")]
    assert summed and summed[0].where.startswith("scan body")


def test_cond_branch_not_taken_is_marked():
    rep = mg.explain_grad(lambda w: cond_loss(w, _MG))(0.7)
    assert any(r.values == "not taken" for r in rep.loops)


def test_loop_body_inputs_are_named_after_the_body_parameters():
    rep = mg.explain_grad(lambda w: scan_loss(w, _MG))(0.7)
    scope = next(s for s in rep.model.top.walk() if s.kind == "scan")
    names = [rep.model.names[scope][v] for v in scope.jaxpr.invars]
    assert names[-2:] == ["c", "x"]  # def step(c, x)
    rep = mg.explain_grad(lambda w: fori_loss(w, _MG))(0.7)
    scope = next(s for s in rep.model.top.walk() if s.kind == "scan")
    names = [rep.model.names[scope][v] for v in scope.jaxpr.invars]
    assert names[-2:] == ["i", "c"]  # lambda i, c: ...
    # the fori body's value, d loss / d c per iteration, is JAX's: d out / d carry at step i
    want = [
        jax.grad(lambda c, k=k: jax.lax.fori_loop(k, 5, lambda i, c: jnp.sin(c) * 0.7 + 1.0, c))(
            jax.lax.fori_loop(0, k, lambda i, c: jnp.sin(c) * 0.7 + 1.0, 0.7)
        )
        for k in range(5)
    ]
    np.testing.assert_allclose(scope.cotangent(scope.jaxpr.invars[-1]), want, rtol=1e-5)
