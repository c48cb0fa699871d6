"""custom_jvp and custom_vjp against JAX: values, jvp, grad, jit, vmap, higher order."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax._src.custom_derivatives import custom_jvp, custom_vjp
from minigrad_jax._src.errors import UnexpectedTracerError
from minigrad_jax._src.lax import elementwise as ew
from minigrad_jax._src.lax import reductions as red

TOL = dict(rtol=1e-5, atol=1e-6)
XS = np.array([-3.0, 0.5, 2.0, 100.0], np.float32)


def close(a, b):
    jax.tree_util.tree_map(lambda x, y: np.testing.assert_allclose(x, y, **TOL), a, b)


# log(1 + exp(x)) with a derivative that stays finite where the naive one is nan.
@custom_jvp
def log1pexp(x):
    return ew.log1p(ew.exp(x))


@log1pexp.defjvp
def _log1pexp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return log1pexp(x), t * (1.0 - 1.0 / (1.0 + ew.exp(x)))


@jax.custom_jvp
def jlog1pexp(x):
    return jnp.log1p(jnp.exp(x))


@jlog1pexp.defjvp
def _jlog1pexp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return jlog1pexp(x), t * (1.0 - 1.0 / (1.0 + jnp.exp(x)))


def test_custom_jvp_safe_gradient():
    naive = mg.grad(lambda x: ew.log1p(ew.exp(x)))(100.0)
    assert np.isnan(naive)  # the naive derivative overflows to inf/inf
    g = mg.grad(log1pexp)(100.0)
    assert np.isfinite(g)
    close(g, jax.grad(jlog1pexp)(100.0))


def test_custom_jvp_all_transforms():
    close(mg.vmap(log1pexp)(XS[:3]), jax.vmap(jlog1pexp)(XS[:3]))
    close(mg.jvp(log1pexp, (0.5,), (2.0,)), jax.jvp(jlog1pexp, (0.5,), (2.0,)))
    close(mg.vmap(mg.grad(log1pexp))(XS), jax.vmap(jax.grad(jlog1pexp))(XS))
    close(mg.jit(mg.vmap(mg.grad(log1pexp)))(XS), jax.vmap(jax.grad(jlog1pexp))(XS))
    close(mg.grad(mg.jit(log1pexp))(2.0), jax.grad(jlog1pexp)(2.0))
    close(
        mg.grad(lambda x: red.reduce_sum(mg.vmap(log1pexp)(x), (0,)))(XS),
        jax.grad(lambda x: jax.vmap(jlog1pexp)(x).sum())(XS),
    )
    # higher order goes through the (traceable) rule
    close(mg.grad(mg.grad(log1pexp))(0.5), jax.grad(jax.grad(jlog1pexp))(0.5))


def test_custom_jvp_rule_is_used_and_primal_is_original():
    @custom_jvp
    def f(x):
        return ew.sin(x)

    f.defjvp(lambda p, t: (f(p[0]), 10.0 * t[0]))
    close(f(0.3), np.sin(np.float32(0.3)))
    close(mg.grad(f)(0.3), 10.0)
    close(mg.jvp(f, (0.3,), (1.0,))[1], 10.0)
    names = [e.primitive.name for e in mg.make_jaxpr(f)(0.3).jaxpr.eqns]
    assert names == ["custom_jvp_call"]


def test_custom_jvp_defjvps_and_nondiff_argnums():
    @custom_jvp
    def f(x, y):
        return x * y

    f.defjvps(lambda g, ans, x, y: g * y * 2.0, lambda g, ans, x, y: g * x * 3.0)
    close(mg.grad(f, (0, 1))(2.0, 5.0), (10.0, 6.0))

    def scale(k, x):
        return x * k

    g = custom_jvp(scale, nondiff_argnums=(0,))
    g.defjvp(lambda k, p, t: (scale(k, p[0]), t[0] * k * 2.0))
    close(mg.grad(lambda x: g(3.0, x))(1.0), 6.0)


def test_custom_jvp_errors():
    @custom_jvp
    def f(x):
        return x * 2.0

    with pytest.raises(AttributeError, match="No JVP defined"):
        f(1.0)
    f.defjvp(lambda p, t: (p[0] * 2.0, jnp.ones(3, jnp.float32)))
    with pytest.raises(TypeError, match="corresponding shapes and dtypes"):
        mg.jvp(f, (1.0,), (1.0,))


# gradient clipping in the backward pass
@custom_vjp
def clip_gradient(x):
    return x


clip_gradient.defvjp(lambda x: (x, None), lambda _, g: (ew.clamp(-1.0, g, 1.0),))


@jax.custom_vjp
def jclip_gradient(x):
    return x


jclip_gradient.defvjp(lambda x: (x, None), lambda _, g: (jnp.clip(g, -1.0, 1.0),))


def loss(x):
    return red.reduce_sum(clip_gradient(x) * XS, (0,))


def jloss(x):
    return (jclip_gradient(x) * XS).sum()


def test_custom_vjp_clipping():
    x = np.ones(4, np.float32)
    close(mg.grad(loss)(x), jax.grad(jloss)(x))
    assert np.max(np.abs(mg.grad(loss)(x))) == 1.0
    close(mg.jit(mg.grad(loss))(x), jax.grad(jloss)(x))
    close(mg.grad(mg.jit(loss))(x), jax.grad(jloss)(x))
    xb = np.stack([x, 2 * x])
    close(mg.vmap(mg.grad(loss))(xb), jax.vmap(jax.grad(jloss))(xb))
    close(
        mg.grad(lambda v: red.reduce_sum(mg.vmap(clip_gradient)(v) * 5.0, (0, 1)))(xb),
        jax.grad(lambda v: (jax.vmap(jclip_gradient)(v) * 5.0).sum())(xb),
    )
    close(mg.vmap(clip_gradient)(xb), xb)


def test_custom_vjp_residuals_nondiff_and_pytrees():
    def f(k, x):
        return {"a": ew.sin(x["u"]) * k, "b": x["v"]}

    g = custom_vjp(f, nondiff_argnums=(0,))

    def fwd(k, x):
        return f(k, x), (ew.cos(x["u"]),)

    def bwd(k, res, ct):
        return ({"u": ct["a"] * res[0] * k, "v": ct["b"] * 0.5},)

    g.defvjp(fwd, bwd)
    x = {"u": np.float32(0.4), "v": np.float32(2.0)}
    out = mg.grad(lambda x: g(3.0, x)["a"] + g(3.0, x)["b"])(x)
    close(out, {"u": 3.0 * np.cos(np.float32(0.4)), "v": 0.5})


def test_custom_vjp_errors():
    @custom_vjp
    def f(x, y):
        return x * y

    f.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: g * res[1])
    with pytest.raises(TypeError, match="must produce a tuple with one entry per"):
        mg.grad(f)(2.0, 3.0)
    f.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (jnp.ones(3, jnp.float32), g))
    with pytest.raises(ValueError, match="expected shape f32\\[\\] but got f32\\[3\\]"):
        mg.grad(f)(2.0, 3.0)
    f.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (g * res[1], g * res[0]))
    close(mg.grad(f, (0, 1))(2.0, 3.0), (3.0, 2.0))
    with pytest.raises(TypeError, match="forward-mode autodiff"):
        mg.jvp(f, (2.0, 3.0), (1.0, 1.0))


def test_rule_closing_over_a_differentiated_value_raises_like_jax():
    def make(cj, np_):
        def outer(y):
            @cj
            def f(x):
                return np_.sin(x) * y

            f.defjvp(lambda p, t: (f(*p), np_.cos(p[0]) * y * t[0]))
            return f(2.0)

        return outer

    with pytest.raises(jax.errors.UnexpectedTracerError):
        jax.grad(make(jax.custom_jvp, jnp))(3.0)
    with pytest.raises(UnexpectedTracerError, match="custom_jvp/custom_vjp rule"):
        mg.grad(make(mg.custom_jvp, mnp))(3.0)
