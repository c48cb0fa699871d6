"""jit composed with the other transforms at several depths, against JAX."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
from minigrad_jax._src.lax import elementwise as ew


def f_mg(x):
    return ew.mul(ew.sin(x), x)


def f_jax(x):
    return jnp.sin(x) * x


COMPOSITIONS = [
    ("grad(jit)", lambda t, j, f: t.grad(j(f))),
    ("jit(grad)", lambda t, j, f: j(t.grad(f))),
    ("jit(grad(jit))", lambda t, j, f: j(t.grad(j(f)))),
    ("grad(jit(grad(jit)))", lambda t, j, f: t.grad(j(t.grad(j(f))))),
    ("jit(grad(jit(grad(jit))))", lambda t, j, f: j(t.grad(j(t.grad(j(f)))))),
    ("grad(grad(grad(jit)))", lambda t, j, f: t.grad(t.grad(t.grad(j(f))))),
]


@pytest.mark.parametrize("name, build", COMPOSITIONS, ids=[c[0] for c in COMPOSITIONS])
def test_grad_jit_compositions(name, build):
    ours = build(mg, mg.jit, f_mg)(0.8)
    theirs = build(jax, jax.jit, f_jax)(0.8)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_vmap_grad_jit_and_jvp_grad_jit():
    x = jnp.linspace(-1.0, 1.0, 5)
    np.testing.assert_allclose(
        mg.vmap(mg.grad(mg.jit(f_mg)))(x), jax.vmap(jax.grad(f_jax))(x), rtol=1e-5
    )
    ours = mg.jvp(mg.grad(mg.jit(f_mg)), (0.3,), (1.0,))
    theirs = jax.jvp(jax.grad(f_jax), (0.3,), (1.0,))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_jit_closing_over_an_outer_tracer():
    def ours(x):
        return mg.jit(lambda y: ew.mul(ew.sin(y), x))(x)

    def theirs(x):
        return jax.jit(lambda y: jnp.sin(y) * x)(x)

    np.testing.assert_allclose(mg.grad(ours)(3.0), jax.grad(theirs)(3.0), rtol=1e-5)


def test_grad_of_jit_shows_known_and_transposed_jit_boundaries():
    closed = mg.make_jaxpr(mg.grad(mg.jit(f_mg)))(1.0)
    names = [e.params.get("name") for e in closed.eqns if e.primitive.name == "jit"]
    theirs = jax.make_jaxpr(jax.grad(jax.jit(f_mg)))(1.0)
    jax_names = [e.params["name"] for e in theirs.eqns if e.primitive.name == "jit"]
    # a known (forward) and a transposed call, both keeping the function's name as in JAX
    assert names == jax_names == ["f_mg", "f_mg"]


def test_value_and_grad_inside_jax_jit():
    @jax.jit
    def step(w):
        return mg.value_and_grad(lambda w: ew.integer_pow(ew.sub(w, 2.0), 2))(w)

    value, g = step(1.0)
    assert (float(value), float(g)) == (1.0, -2.0)


def test_wrapped_jit_keeps_its_own_state():
    inner = mg.jit(f_mg)
    outer = mg.jit(mg.grad(inner))
    assert outer.fun is not inner.fun
    np.testing.assert_allclose(outer(0.5), jax.grad(f_jax)(0.5), rtol=1e-6)
