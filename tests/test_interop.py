"""mg.from_jax / mg.to_jax: JAX functions inside our transforms and ours inside JAX's."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax._src.interop import from_jax, to_jax


def _close(a, b, rtol=1e-5, atol=1e-6):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


def jfun(x, y):
    return jnp.sum(jnp.tanh(x) * y) + jnp.sin(x[0]) ** 2


X = jnp.array([0.3, -1.2, 0.7], jnp.float32)
Y = jnp.array([1.5, 0.2, -0.4], jnp.float32)


def test_from_jax_values_and_is_one_primitive():
    f = from_jax(jfun)
    _close(f(X, Y), jfun(X, Y))
    jaxpr = mg.make_jaxpr(f)(X, Y)
    assert [e.primitive.name for e in jaxpr.jaxpr.eqns] == ["jax_call"]
    assert "jax_call" in str(jaxpr)


def test_from_jax_pytrees_in_and_out():
    def jf(d, t):
        return {"s": d["a"] * t[0], "p": (d["b"] + t[1], jnp.float32(2.0))}

    f = from_jax(jf)
    args = ({"a": X, "b": Y}, (Y, X))
    out = f(*args)
    assert jax.tree_util.tree_structure(out) == jax.tree_util.tree_structure(jf(*args))
    _close(out, jf(*args))


def test_grad_through_from_jax_matches_jax():
    f = from_jax(jfun)
    _close(mg.grad(f, argnums=(0, 1))(X, Y), jax.grad(jfun, argnums=(0, 1))(X, Y))

    def composite(x):  # our ops around the JAX call: the primal feeds further nonlinear ops
        v = f(mnp.sin(x), Y)
        return mnp.sin(v) * v

    def composite_ref(x):
        v = jfun(jnp.sin(x), Y)
        return jnp.sin(v) * v

    _close(mg.grad(composite)(X), jax.grad(composite_ref)(X))
    _close(mg.jit(mg.grad(composite))(X), jax.grad(composite_ref)(X))
    _close(mg.grad(mg.jit(composite))(X), jax.grad(composite_ref)(X))


def test_jvp_linearize_vjp_hessian_through_from_jax():
    f = from_jax(jfun)
    t = (jnp.ones(3), jnp.full((3,), 0.5))
    _close(mg.jvp(f, (X, Y), t), jax.jvp(jfun, (X, Y), t))
    y, f_jvp = mg.linearize(f, X, Y)
    _close(f_jvp(*t), jax.jvp(jfun, (X, Y), t)[1])
    _close(mg.hessian(f)(X, Y), jax.hessian(jfun)(X, Y), rtol=1e-4)
    out, vjp = mg.vjp(lambda x: from_jax(jnp.cumsum)(x) * 2.0, X)
    _close(vjp(Y), jax.vjp(lambda x: jnp.cumsum(x) * 2.0, X)[1](Y))


def test_vmap_of_from_jax_matches_jax():
    f = from_jax(jfun)
    xs = jnp.stack([X, Y, X * 2])
    _close(mg.vmap(f, in_axes=(0, None))(xs, Y), jax.vmap(jfun, in_axes=(0, None))(xs, Y))
    _close(
        mg.vmap(mg.grad(f), in_axes=(0, None))(xs, Y),
        jax.vmap(jax.grad(jfun), in_axes=(0, None))(xs, Y),
    )
    _close(mg.jit(mg.vmap(f, in_axes=(None, 1)))(X, xs), jax.vmap(jfun, in_axes=(None, 1))(X, xs))


def test_from_jax_integer_inputs_and_outputs():
    def jf(x, n):
        return x * n.astype(x.dtype), jnp.argmax(x)

    f = from_jax(jf)
    n = jnp.int32(3)
    _close(f(X, n), jf(X, n))
    g = mg.grad(lambda x: f(x, n)[0].sum())(X)
    _close(g, jnp.full(3, 3.0))


def test_from_jax_static_argnums_and_errors():
    key = jax.random.PRNGKey(0)
    normal = from_jax(jax.random.normal, static_argnums=1)
    _close(normal(key, (2, 3)), jax.random.normal(key, (2, 3)))
    with pytest.raises(TypeError, match="not an array"):
        from_jax(jax.random.normal)(key, "abc")
    with pytest.raises(TypeError, match="not hashable"):
        normal(key, [2, 3])
    with pytest.raises(TypeError, match="callable"):
        from_jax(3)
    with pytest.raises((TypeError, ValueError), match=r"from_jax\(jfun\).*f32\[4,5\]"):
        from_jax(jfun)(X, jnp.ones((4, 5)))


def test_jax_random_inside_jit():
    @mg.jit
    def noisy(key, x):
        k1, k2 = from_jax(lambda k: tuple(jax.random.split(k)))(key)
        return x + from_jax(lambda k: jax.random.normal(k, (3,)))(k2), k1

    key = jax.random.PRNGKey(42)
    out, k1 = noisy(key, X)
    k1_ref, k2_ref = jax.random.split(key)
    _close(out, X + jax.random.normal(k2_ref, (3,)))
    np.testing.assert_array_equal(k1, k1_ref)
    assert noisy.trace_count == 1


def test_optax_adam_inside_jit_matches_optax():
    opt = optax.adam(1e-1)
    update = from_jax(opt.update)
    apply = from_jax(optax.apply_updates)
    params = {"w": X, "b": jnp.float32(0.5)}

    def loss(p):
        return mnp.sum((p["w"] * Y + p["b"]) ** 2)

    def loss_ref(p):
        return jnp.sum((p["w"] * Y + p["b"]) ** 2)

    @mg.jit
    def step(p, s):
        lv, g = mg.value_and_grad(loss)(p)
        u, s = update(g, s, p)
        return apply(p, u), s, lv

    @jax.jit
    def step_ref(p, s):
        lv, g = jax.value_and_grad(loss_ref)(p)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s, lv

    p, s = params, opt.init(params)
    pr, sr = params, opt.init(params)
    for _ in range(5):
        p, s, lv = step(p, s)
        pr, sr, lr = step_ref(pr, sr)
        _close(lv, lr)
    _close(p, pr)
    _close(s, sr)
    assert jax.tree_util.tree_structure(s) == jax.tree_util.tree_structure(sr)


def test_to_jax_under_jax_transforms():
    def mf(x, y):
        return mnp.sum(mnp.sin(x) * y)

    def jf(x, y):
        return jnp.sum(jnp.sin(x) * y)

    f = to_jax(mf)
    out = f(X, Y)
    assert isinstance(out, jax.Array)
    _close(out, jf(X, Y))
    _close(jax.jit(f)(X, Y), jf(X, Y))
    _close(jax.grad(f, argnums=(0, 1))(X, Y), jax.grad(jf, argnums=(0, 1))(X, Y))
    _close(jax.jit(jax.grad(f))(X, Y), jax.grad(jf)(X, Y))
    xs = jnp.stack([X, Y])
    _close(jax.vmap(f, in_axes=(0, None))(xs, Y), jax.vmap(jf, in_axes=(0, None))(xs, Y))
    _close(jax.hessian(f)(X, Y), jax.hessian(jf)(X, Y), rtol=1e-4)


def test_to_jax_pytree_and_python_scalar_outputs():
    f = to_jax(lambda d: {"a": d["x"] * 2.0, "c": 1.0, "t": (d["x"],)})
    out = f({"x": X})
    assert set(out) == {"a", "c", "t"}
    assert all(isinstance(v, jax.Array) for v in jax.tree_util.tree_leaves(out))
    _close(out["a"], X * 2)


def test_value_and_grad_inside_jax_jit():
    def loss(w, x):
        return mnp.sum(mnp.sin(w * x) * w)

    @jax.jit
    def step(w, x):
        v, g = mg.value_and_grad(loss)(w, x)
        return w - 0.1 * g, v

    def loss_ref(w, x):
        return jnp.sum(jnp.sin(w * x) * w)

    w, v = step(X, Y)
    v_ref, g_ref = jax.value_and_grad(loss_ref)(X, Y)
    _close(v, v_ref)
    _close(w, X - 0.1 * g_ref)


def test_round_trip_from_jax_of_to_jax_and_back():
    def mf(x):
        return mnp.sin(x) * x

    inner = from_jax(jax.jit(to_jax(mf)))  # ours -> JAX -> ours
    ref = jax.grad(lambda x: jnp.sum(jnp.sin(x) * x))(X)
    _close(mg.grad(lambda x: mnp.sum(inner(x)))(X), ref)
    outer = to_jax(lambda x: mnp.sum(from_jax(jnp.cos)(x) * x))  # JAX -> ours -> JAX
    _close(jax.grad(outer)(X), jax.grad(lambda x: jnp.sum(jnp.cos(x) * x))(X))
