"""mg.jit: values, gradients, caching/retracing, static args, donation, devices, lowering."""

import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax._src.lax import elementwise as ew
from minigrad_jax._src.lax import linalg, reductions, structural

X = jnp.array([0.3, -1.2, 0.7, 2.0], jnp.float32)
Y = jnp.array([1.5, 0.2, -0.4, 0.9], jnp.float32)


def _close(a, b, rtol=1e-5, atol=1e-6):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


# (name, minigrad_jax function, the same function in jax.lax); scalar-valued for grad.
OPS = [
    ("sin", lambda x, y: ew.sin(x), lambda x, y: jax.lax.sin(x)),
    ("tanh", lambda x, y: ew.tanh(x), jax.lax.tanh and (lambda x, y: jax.lax.tanh(x))),
    ("exp", lambda x, y: ew.exp(x * 0.5), lambda x, y: jax.lax.exp(x * 0.5)),
    ("log", lambda x, y: ew.log(x * x + 1.0), lambda x, y: jax.lax.log(x * x + 1.0)),
    ("logistic", lambda x, y: ew.logistic(x), lambda x, y: jax.lax.logistic(x)),
    ("add_mul", lambda x, y: x * y + x, lambda x, y: x * y + x),
    ("div", lambda x, y: x / (y * y + 1.0), lambda x, y: x / (y * y + 1.0)),
    ("max", lambda x, y: ew.max(x, y), lambda x, y: jax.lax.max(x, y)),
    ("pow", lambda x, y: (x * x + 1.0) ** 1.5, lambda x, y: (x * x + 1.0) ** 1.5),
    ("integer_pow", lambda x, y: x**3, lambda x, y: x**3),
    (
        "reduce_sum",
        lambda x, y: reductions.reduce_sum(x * y, (0,)),
        lambda x, y: jax.lax.reduce_sum(x * y, (0,)),
    ),
    (
        "dot",
        lambda x, y: linalg.dot_general(x, y, (((0,), (0,)), ((), ()))),
        lambda x, y: jax.lax.dot_general(x, y, (((0,), (0,)), ((), ()))),
    ),
    (
        "broadcast_reshape",
        lambda x, y: structural.reshape(structural.broadcast_in_dim(x, (2, 4), (1,)), (8,)),
        lambda x, y: jax.lax.reshape(jax.lax.broadcast_in_dim(x, (2, 4), (1,)), (8,)),
    ),
]
IDS = [o[0] for o in OPS]


def _scalar(f, lib_sum):
    return lambda x, y: lib_sum(f(x, y) * y[0]) if np.ndim(f(X, Y)) else f(x, y)


@pytest.mark.parametrize("name,mf,jf", OPS, ids=IDS)
def test_jit_values(name, mf, jf):
    _close(mg.jit(mf)(X, Y), jf(X, Y))


@pytest.mark.parametrize("name,mf,jf", OPS, ids=IDS)
def test_grad_of_jit_and_jit_of_grad(name, mf, jf):
    def ms(x, y):
        out = mf(x, y)
        return mnp.sum(out * out) if out.ndim else out * out

    def js(x, y):
        out = jf(x, y)
        return jnp.sum(out * out)

    ref = jax.grad(js, argnums=(0, 1))(X, Y)
    _close(mg.grad(mg.jit(ms), argnums=(0, 1))(X, Y), ref, rtol=1e-5)
    _close(mg.jit(mg.grad(ms, argnums=(0, 1)))(X, Y), ref, rtol=1e-5)


def test_grad_jit_matches_jax_and_vmap_jit():
    def mf(x):
        return mnp.sum(ew.sin(x) * x)

    def jf(x):
        return jnp.sum(jnp.sin(x) * x)

    _close(mg.grad(mg.jit(mf))(X), jax.grad(jf)(X))
    _close(mg.jit(mg.grad(mf))(X), jax.grad(jf)(X))
    xs = jnp.stack([X, Y, X * Y])
    _close(mg.vmap(mg.jit(mf))(xs), jax.vmap(jf)(xs))
    _close(mg.jit(mg.vmap(mg.grad(mf)))(xs), jax.vmap(jax.grad(jf))(xs))
    _close(mg.jvp(mg.jit(mf), (X,), (Y,)), jax.jvp(jf, (X,), (Y,)))


def test_pytrees_in_and_out():
    f = mg.jit(lambda d, t: {"s": d["a"] * t[0], "p": (d["b"] + t[1],)})
    out = f({"a": X, "b": Y}, (Y, X))
    assert set(out) == {"s", "p"}
    _close(out["s"], X * Y)
    _close(out["p"][0], Y + X)


def test_no_retrace_same_shapes_retrace_new_shapes():
    f = mg.jit(lambda x: x * 2.0 + 1.0)
    f(X)
    f(Y)
    f(X + 1)
    assert f.trace_count == 1
    f(jnp.ones((2, 3)))
    assert f.trace_count == 2
    f(jnp.ones((2, 3)))
    assert f.trace_count == 2
    f(jnp.ones(4, jnp.int32))
    assert f.trace_count == 3


def test_retrace_reasons_logged(caplog):
    old = mg.config.log_compiles
    mg.config.update("log_compiles", True)
    try:
        f = mg.jit(lambda x, n: x * n, static_argnums=1)
        with caplog.at_level(logging.WARNING, logger="minigrad_jax"):
            f(X, 2)
            f(X, 2)
            f(jnp.ones((2, 2)), 2)
            f(jnp.ones((2, 2)), 3)
            g = mg.jit(lambda t: t[0])
            g((X,))
            g((X, Y))
        msgs = [r.getMessage() for r in caplog.records if r.name == "minigrad_jax"]
    finally:
        mg.config.update("log_compiles", old)
    assert f.trace_count == 3
    assert len(msgs) == 5, msgs
    assert "first call" in msgs[0]
    assert "shape" in msgs[1] and "f32[2,2]" in msgs[1]
    assert "static" in msgs[2]
    assert "structure" in msgs[4]


def test_log_compiles_off_is_silent(caplog):
    assert not mg.config.log_compiles
    with caplog.at_level(logging.WARNING, logger="minigrad_jax"):
        mg.jit(lambda x: x + 1.0)(X)
    assert not [r for r in caplog.records if r.name == "minigrad_jax"]


def test_unknown_config_option():
    with pytest.raises(ValueError, match="unknown"):
        mg.config.update("no_such_option", True)


def test_static_argnums():
    calls = []

    def f(x, n):
        calls.append(n)
        return x * n

    jf = mg.jit(f, static_argnums=1)
    _close(jf(X, 3), X * 3)
    _close(jf(X, 3), X * 3)
    _close(jf(X, 4), X * 4)
    assert jf.trace_count == 2
    assert calls == [3, 4]
    # inside another transform (the jit primitive path) static values are part of the key too
    _close(mg.grad(lambda x: mnp.sum(jf(x, 3) + jf(x, 5)))(X), jnp.full(4, 8.0))


def test_static_argnames():
    def f(x, *, mode="a"):
        return x * 2.0 if mode == "a" else x + 2.0

    jf = mg.jit(f, static_argnames="mode")
    _close(jf(X, mode="a"), X * 2)
    _close(jf(X, mode="b"), X + 2)
    assert jf.trace_count == 2
    g = mg.grad(lambda x: mnp.sum(jf(x, mode="a") + jf(x, mode="b")))(X)
    _close(g, jnp.full(4, 3.0))


def test_static_arg_unhashable_is_value_error_as_in_jax():
    for lib in (mg, jax):  # jax.jit raises ValueError for an unhashable static argument
        jf = lib.jit(lambda x, s: x * len(s), static_argnums=1)
        with pytest.raises(ValueError, match="hashable"):
            jf(X, [1, 2])
        jn = lib.jit(lambda x, s=(): x, static_argnames="s")
        with pytest.raises(ValueError, match="hashable"):
            jn(X, s={"a": 1})
        with pytest.raises(ValueError, match="hashable"):
            jn(X, {"a": 1})  # a static name passed by position is static too


def test_static_argnums_out_of_range():
    for lib in (mg, jax):  # both refuse at definition, knowing the signature
        with pytest.raises(ValueError, match="static_argnums"):
            lib.jit(lambda x: x, static_argnums=3)
    # with *args the position may exist in another call: JAX ignores it in this one
    _close(
        mg.jit(lambda *xs: xs[0], static_argnums=2)(X),
        jax.jit(lambda *xs: xs[0], static_argnums=2)(X),
    )


def test_traced_value_in_python_control_flow_errors():
    def f(x):
        return x if float(mnp.sum(x)) > 0 else -x

    with pytest.raises(TypeError):
        mg.jit(f)(X)


def test_donation():
    f = mg.jit(lambda x, y: x * 2.0 + y, donate_argnums=0)
    a = jnp.array(X)
    out = f(a, Y)
    _close(out, X * 2 + Y)
    out2 = f(out, Y)  # the returned array is fine to pass (and donate) again
    _close(out2, (X * 2 + Y) * 2 + Y)
    if a.is_deleted():  # backends that honour donation (CPU does in jax 0.10)
        with pytest.raises(ValueError, match="argument 0"):
            f(a, Y)
    else:
        pytest.fail("donated buffer was not deleted; donation is not wired to jax.jit")


def test_device_placement():
    dev = jax.devices()[-1]
    out = mg.jit(lambda x: x + 1.0, device=dev)(X)
    assert out.devices() == {dev}
    out = mg.jit(lambda x: x + 1.0)(jax.device_put(X, dev))
    assert out.devices() == {dev}


def test_lower_as_text_and_compile():
    f = mg.jit(lambda x, y: ew.sin(x) * y)
    lowered = f.lower(X, Y)
    text = lowered.as_text()
    assert "stablehlo" in text or "func" in text
    assert "sine" in text
    compiled = lowered.compile()
    cost = compiled.cost_analysis()
    assert cost is not None
    _close(compiled(X, Y), jnp.sin(X) * Y)
    jaxpr = f.trace(X, Y)
    assert [e.primitive.name for e in jaxpr.jaxpr.eqns] == ["sin", "mul"]


def test_make_jaxpr_shows_jit_boundary():
    def inner(x):
        return ew.sin(x) * 2.0

    text = str(mg.make_jaxpr(lambda x: mg.jit(inner)(x) + 1.0)(X))
    assert "jit[" in text and "name=inner" in text
    jtext = str(jax.make_jaxpr(lambda x: jax.jit(lambda x: jnp.sin(x) * 2.0)(x) + 1.0)(X))
    assert "jit[" in jtext  # the same boundary JAX shows
    gtext = str(mg.make_jaxpr(mg.grad(lambda x: mnp.sum(mg.jit(inner)(x))))(X))
    assert "jit[" in gtext


def test_jit_of_jit_and_closure_constants():
    c = jnp.arange(4.0)
    inner = mg.jit(lambda x: x * c)
    outer = mg.jit(lambda x: inner(x) + inner(x * 2.0))
    _close(outer(X), X * c + X * 2 * c)
    _close(mg.grad(lambda x: mnp.sum(outer(x)))(X), 3 * c)


def test_jit_not_callable():
    with pytest.raises(TypeError, match="callable"):
        mg.jit(3)
