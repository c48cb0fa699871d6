"""Where programs lean on JAX: JAX functions and jax.Arrays meeting our tracers; vmap's
pytree handling of in_axes / out_axes.

JAX (0.10) has no hook through which another library's tracer could take part in
a JAX function or in ``jax.Array.__getitem__``: it checks arguments against its
own types (it no longer calls ``__jax_array__`` while abstracting values) and
raises. So these programs raise a TypeError that says what to write instead, and
the alternatives it names compute what JAX computes.
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax import tree_util

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax._src.errors import TracerToJaxError

ARR = jnp.arange(10.0)
X3 = np.arange(3.0, dtype=np.float32)


def _line(fn, offset=1):
    return f"test_jax_boundary.py:{inspect.getsourcelines(fn)[1] + offset}"


# ---------------------------------------------------------------------------
# a concrete jax.Array indexed by one of our tracers


def index_arr(i):
    return ARR[i]


def fori_body(i, x):
    return x + ARR[i]


INDEXING = {
    "jit": (lambda: mg.jit(index_arr)(3), index_arr, "jit"),
    "fori_loop": (lambda: mg.lax.fori_loop(0, 10, fori_body, 0.0), fori_body, ""),
    "vmap": (lambda: mg.vmap(index_arr)(jnp.arange(3)), index_arr, "vmap"),
    "make_jaxpr": (lambda: mg.make_jaxpr(index_arr)(3), index_arr, "make_jaxpr"),
}


@pytest.mark.parametrize("name", INDEXING)
def test_indexing_a_jax_array_with_a_tracer_says_what_to_write(name):
    run, fn, transform = INDEXING[name]
    with pytest.raises(TypeError) as info:
        run()
    msg = str(info.value)
    assert isinstance(info.value, TracerToJaxError)
    assert "float32[10]" in msg and "int32[]" in msg  # the array's and the index's types
    assert _line(fn) in msg  # the user's line
    assert f"`{transform}" in msg
    assert "mnp.take(arr, i, axis=0)" in msg and "as an argument" in msg


def test_the_indexing_alternatives_compute_what_jax_computes():
    want = jax.lax.fori_loop(0, 10, lambda i, x: x + ARR[i], 0.0)
    got = mg.lax.fori_loop(0, 10, lambda i, x: x + mnp.take(ARR, i, axis=0), 0.0)
    np.testing.assert_allclose(got, want)
    got = mg.lax.fori_loop(
        0, 10, lambda i, x: x + mg.lax.dynamic_index_in_dim(ARR, i, keepdims=False), 0.0
    )
    np.testing.assert_allclose(got, want)
    np.testing.assert_allclose(mg.jit(lambda a, i: a[i])(ARR, 3), jax.jit(lambda i: ARR[i])(3))


def test_indexing_with_a_concrete_index_still_works():
    # grad over x with an integer (concrete) index: as in JAX, nothing to trace.
    f = lambda x, i: ARR[i] * x  # noqa: E731
    np.testing.assert_allclose(mg.grad(f)(2.0, 3), jax.grad(f)(2.0, 3))


def test_at_update_of_a_jax_array_with_a_tracer_index():
    def f(i):
        return ARR.at[i].set(1.0)

    with pytest.raises(TracerToJaxError, match=r"float32\[10\].*int32\[\]"):
        mg.vmap(f)(jnp.arange(3))


# ---------------------------------------------------------------------------
# JAX functions applied to our tracers


def uses_jnp_sin(x):
    return jnp.sin(x).sum()


def uses_jnp_dot(x):
    return jnp.dot(x, x)


def uses_lax_add(x):
    return jax.lax.add(x, 1.0)


def uses_lax_cond(x):
    return jax.lax.cond(x > 0, lambda: 1.0, lambda: 2.0)


def uses_jax_jit(x):
    return jax.jit(jnp.sin)(x)


OPT = optax.adam(1e-2)
PARAMS = jnp.ones(3)
STATE = OPT.init(PARAMS)


def uses_optax(p):
    updates, _ = OPT.update(p, STATE, p)
    return mnp.sum(optax.apply_updates(p, updates))


JAX_ON_TRACER = {
    "jnp.sin under grad": (lambda: mg.grad(uses_jnp_sin)(X3), uses_jnp_sin, "grad"),
    "jnp.dot under jit": (lambda: mg.jit(uses_jnp_dot)(X3), uses_jnp_dot, "jit"),
    "lax.add under vmap": (lambda: mg.vmap(uses_lax_add)(X3), uses_lax_add, "vmap"),
    "lax.cond under make_jaxpr": (
        lambda: mg.make_jaxpr(uses_lax_cond)(1.0),
        uses_lax_cond,
        "make_jaxpr",
    ),
    "jax.jit under grad": (lambda: mg.grad(uses_jax_jit)(1.0), uses_jax_jit, "grad"),
    "optax update under grad": (lambda: mg.grad(uses_optax)(PARAMS), uses_optax, "grad"),
}


@pytest.mark.parametrize(
    "name",
    JAX_ON_TRACER,
)
def test_jax_function_on_a_tracer_says_what_to_use(name):
    run, fn, transform = JAX_ON_TRACER[name]
    with pytest.raises(TypeError) as info:
        run()
    msg = str(info.value)
    assert isinstance(info.value, TracerToJaxError), msg
    for advice in ("minigrad_jax.numpy", "minigrad_jax.lax", "mg.from_jax", "mg.debug.print"):
        assert advice in msg
    assert f"traced by `{transform}" in msg
    assert _line(fn) in msg  # the user's line (for optax: the line that called it)
    assert "JAX said:" in msg


def test_jax_function_error_names_the_tracer_type():
    def f(x):
        return jnp.sin(x)

    with pytest.raises(TracerToJaxError, match=r"float32\[2,3\]"):
        mg.vmap(f)(np.ones((4, 2, 3), np.float32))


def test_from_jax_is_the_working_alternative_for_a_jax_function():
    def loss(p):
        return jnp.sum(jnp.sin(p) * p)

    ours = mg.grad(lambda p: mg.from_jax(loss)(p))(X3)
    np.testing.assert_allclose(ours, jax.grad(loss)(X3), rtol=1e-6)


def test_numpy_on_a_tracer_points_to_minigrad_numpy():
    with pytest.raises(TypeError, match="minigrad_jax.numpy"):
        mg.make_jaxpr(lambda x: np.sin(x))(1.0)


def test_users_own_error_mentioning_a_tracer_is_left_alone():
    def f(x):
        raise TypeError(f"user error about {x!r}")

    with pytest.raises(TypeError, match="user error about") as info:
        mg.grad(f)(1.0)
    assert not isinstance(info.value, TracerToJaxError)


# ---------------------------------------------------------------------------
# vmap of a user pytree whose unflatten rejects placeholders


class Checked:
    """A pytree whose unflatten insists on array-like children (as many real ones do)."""

    def __init__(self, a, b):
        self.a, self.b = a, b


def _unflatten_checked(aux, children):
    for c in children:
        if not hasattr(c, "shape"):
            raise TypeError(f"Checked needs array children, got {type(c).__name__}")
    return Checked(*children)


tree_util.register_pytree_node(Checked, lambda t: ((t.a, t.b), None), _unflatten_checked)
TREE = Checked(np.ones((3, 2), np.float32), np.arange(3.0, dtype=np.float32))


def _leaves(t):
    return [np.asarray(x) for x in tree_util.tree_leaves(t)]


def _same(ours, theirs):
    assert tree_util.tree_structure(ours) == tree_util.tree_structure(theirs)
    for o, t in zip(_leaves(ours), _leaves(theirs)):
        assert o.shape == t.shape
        np.testing.assert_allclose(o, t)


VMAP_TREES = {
    "identity": dict(),
    "in_axes_node": dict(in_axes=(Checked(0, 0),)),
    "in_axes_node_none": dict(in_axes=(Checked(0, None),)),
    "out_axes_node": dict(out_axes=Checked(1, 0)),
    "out_axes_negative": dict(out_axes=-1),
    "out_axes_node_negative": dict(out_axes=Checked(-1, -1)),
}


@pytest.mark.parametrize("name", list(VMAP_TREES))
def test_vmap_of_a_checking_pytree_as_jax(name):
    kw = VMAP_TREES[name]
    _same(mg.vmap(lambda t: t, **kw)(TREE), jax.vmap(lambda t: t, **kw)(TREE))


def test_vmap_keyword_arguments_are_mapped_along_axis_0_as_jax():
    def f(x, *, scale):
        return x * scale

    kw = dict(scale=np.arange(3.0, dtype=np.float32))
    _same(mg.vmap(f, in_axes=(None,))(2.0, **kw), jax.vmap(f, in_axes=(None,))(2.0, **kw))


def test_vmap_out_axes_none_for_unmapped_outputs():
    def g(np_):
        return lambda x: (x * 2.0, np_.ones(2), 3.0)

    ours = mg.vmap(g(mnp), out_axes=(0, None, None))(X3)
    theirs = jax.vmap(g(jnp), out_axes=(0, None, None))(X3)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t)
        assert np.shape(o) == np.shape(t)


@pytest.mark.parametrize("out_axes", [3, -3])
def test_vmap_out_axes_out_of_range_is_a_value_error(out_axes):
    x = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError):
        jax.vmap(lambda t: t, out_axes=out_axes)(x)
    with pytest.raises(ValueError, match=r"rank 2.*\[-2, 2\)"):
        mg.vmap(lambda t: t, out_axes=out_axes)(x)


def test_vmap_prefix_mismatch_names_the_node():
    with pytest.raises(ValueError, match=r"in_axes\[0\] is a tuple with 3 entries.*Checked"):
        mg.vmap(lambda t: t, in_axes=((0, 0, 0),))(TREE)
    with pytest.raises(ValueError, match="out_axes"):
        mg.vmap(lambda t: t, out_axes=(0, 0))(TREE)
