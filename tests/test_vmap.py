"""mg.vmap's API, compositions and errors, against jax.vmap and Python loops."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad_jax as mg
from minigrad_jax._src.lax import elementwise as ew
from minigrad_jax._src.lax import linalg
from minigrad_jax._src.lax import reductions as red

X = jnp.arange(6.0, dtype=jnp.float32).reshape(2, 3) / 5.0


def f_mg(a, b):
    return ew.mul(ew.sin(a), b)


def f_jax(a, b):
    return jnp.sin(a) * b


@pytest.mark.parametrize("in_axes", [(0, 0), (1, 1), (-1, 1), (0, None), (None, 1)])
@pytest.mark.parametrize("out_axes", [0, 1, -1])
def test_in_and_out_axes_match_jax(in_axes, out_axes):
    b = X if in_axes[1] is not None else jnp.ones(3) * 2.0
    a = X if in_axes[0] is not None else jnp.ones(2) * 0.5
    if in_axes == (0, None):
        b = jnp.ones(3) * 2.0
    if in_axes == (None, 1):
        a = jnp.ones(2) * 0.5
    ours = mg.vmap(f_mg, in_axes, out_axes)(a, b)
    theirs = jax.vmap(f_jax, in_axes, out_axes)(a, b)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_against_a_python_loop_with_stack():
    ours = mg.vmap(f_mg, in_axes=(1, None))(X, jnp.float32(2.0))
    loop = jnp.stack([f_mg(X[:, i], jnp.float32(2.0)) for i in range(3)])
    np.testing.assert_allclose(ours, loop, rtol=1e-6)


def test_pytree_in_axes_prefix_and_dict_outputs():
    def f(d):
        return {"p": ew.mul(d["a"], d["b"]), "s": red.reduce_sum(d["a"], (0,))}

    arg = {"a": X, "b": jnp.ones(3)}
    ours = mg.vmap(f, in_axes=({"a": 0, "b": None},))(arg)
    theirs = jax.vmap(
        lambda d: {"p": d["a"] * d["b"], "s": jnp.sum(d["a"])}, in_axes=({"a": 0, "b": None},)
    )(arg)
    for k in ("p", "s"):
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-6)


def test_nested_vmap():
    ours = mg.vmap(mg.vmap(f_mg, in_axes=(0, None)), in_axes=(None, 0))(X[0], X)
    theirs = jax.vmap(jax.vmap(f_jax, in_axes=(0, None)), in_axes=(None, 0))(X[0], X)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_unmapped_output_is_broadcast_like_jax():
    ours = mg.vmap(lambda a: 3.0)(X)
    theirs = jax.vmap(lambda a: 3.0)(X)
    np.testing.assert_allclose(ours, theirs)
    assert ours.shape == theirs.shape


def test_axis_size_without_mapped_inputs():
    ours = mg.vmap(lambda a: ew.mul(a, 2.0), in_axes=None, axis_size=4)(jnp.ones(2))
    theirs = jax.vmap(lambda a: a * 2.0, in_axes=None, axis_size=4)(jnp.ones(2))
    np.testing.assert_allclose(ours, theirs)


def test_vmap_of_jit_stays_one_compiled_call():
    jf = mg.jit(f_mg)
    closed = mg.make_jaxpr(mg.vmap(jf))(X, X)
    assert [e.primitive.name for e in closed.eqns] == ["jit"]
    np.testing.assert_allclose(mg.vmap(jf)(X, X), jax.vmap(f_jax)(X, X), rtol=1e-6)
    np.testing.assert_allclose(mg.jit(mg.vmap(f_mg))(X, X), jax.vmap(f_jax)(X, X), rtol=1e-6)


def _sumsq_mg(w, x):
    return red.reduce_sum(ew.integer_pow(ew.sub(ew.mul(w, x), 1.0), 2), (0,))


def _sumsq_jax(w, x):
    return jnp.sum((w * x - 1.0) ** 2)


def test_vmap_of_grad_is_per_example_gradients():
    ours = mg.vmap(mg.grad(_sumsq_mg), in_axes=(None, 0))(X[0], X)
    theirs = jax.vmap(jax.grad(_sumsq_jax), in_axes=(None, 0))(X[0], X)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_grad_of_vmap():
    def ours(w):
        return red.reduce_sum(mg.vmap(_sumsq_mg, in_axes=(None, 0))(w, X), (0,))

    def theirs(w):
        return jnp.sum(jax.vmap(_sumsq_jax, in_axes=(None, 0))(w, X))

    np.testing.assert_allclose(mg.grad(ours)(X[1]), jax.grad(theirs)(X[1]), rtol=1e-5)


def test_vmap_of_jvp_and_of_linearized_function():
    t = jnp.ones_like(X)
    ours = mg.vmap(lambda x, t: mg.jvp(ew.sin, (x,), (t,)))(X, t)
    theirs = jax.vmap(lambda x, t: jax.jvp(jnp.sin, (x,), (t,)))(X, t)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)
    _, f_jvp = mg.linearize(ew.sin, X[0])
    np.testing.assert_allclose(
        mg.vmap(f_jvp)(X), jax.vmap(jax.linearize(jnp.sin, X[0])[1])(X), rtol=1e-6
    )


def test_vmap_dot_general_both_and_one_side():
    def mv(m, v):
        return linalg.dot_general(m, v, (((1,), (0,)), ((), ())))

    m, v = jnp.ones((4, 2, 3)) * 0.5, jnp.arange(12.0).reshape(4, 3)
    np.testing.assert_allclose(mg.vmap(mv)(m, v), jax.vmap(jnp.dot)(m, v), rtol=1e-6)
    for axes, a, b in (((None, 0), m[0], v), ((0, None), m, v[0])):
        ours = mg.vmap(mv, in_axes=axes)(a, b)
        np.testing.assert_allclose(ours, jax.vmap(jnp.dot, in_axes=axes)(a, b), rtol=1e-6)


# -- errors ------------------------------------------------------------------


def test_inconsistent_sizes_lists_every_argument():
    with pytest.raises(ValueError) as info:
        mg.vmap(f_mg)(X, jnp.ones((3, 3)))
    msg = str(info.value)
    assert "inconsistent sizes" in msg and "size 2" in msg and "size 3" in msg


def test_in_axes_out_of_range_names_the_argument():
    with pytest.raises(ValueError, match="axis 2.*rank"):
        mg.vmap(f_mg, in_axes=(2, 0))(X, X)


def test_in_axes_structure_mismatch():
    with pytest.raises(ValueError, match="in_axes"):
        mg.vmap(f_mg, in_axes=(0,))(X, X)
    with pytest.raises(ValueError, match="tree prefix"):
        mg.vmap(lambda d: d["a"], in_axes=({"zz": 0},))({"a": X})


def test_mapped_output_with_out_axes_none():
    with pytest.raises(ValueError, match="out_axes is None"):
        mg.vmap(lambda a: a, out_axes=None)(X)


# -- random programs ---------------------------------------------------------

UNARY = [
    (ew.sin, jnp.sin),
    (ew.tanh, jnp.tanh),
    (ew.exp, lambda x: jnp.exp(x)),
    (lambda x: ew.integer_pow(x, 2), lambda x: x**2),
]
BINARY = [(ew.add, jnp.add), (ew.mul, jnp.multiply), (ew.sub, jnp.subtract), (ew.max, jnp.maximum)]


@st.composite
def programs(draw):
    ops = draw(st.lists(st.tuples(st.booleans(), st.integers(0, 3)), min_size=1, max_size=6))
    return ops


def _run(ops, table_u, table_b, x, y):
    a = x
    for binary, i in ops:
        a = table_b[i](a, y) if binary else table_u[i](a)
    return a


@settings(max_examples=30, deadline=None)
@given(programs(), st.sampled_from([(0, 0), (1, None), (None, 0), (-1, 1)]))
def test_random_programs_vmap_and_vmap_grad(ops, in_axes):
    mu, mb = [u[0] for u in UNARY], [b[0] for b in BINARY]
    ju, jb = [u[1] for u in UNARY], [b[1] for b in BINARY]
    x = X * 0.3 if in_axes[0] is not None else X[0] * 0.3
    y = X[::-1] * 0.2 + 0.1 if in_axes[1] is not None else X[1] * 0.2
    if in_axes == (1, None):
        y = X[:, 0] * 0.2
    if in_axes == (-1, 1):
        y = X * 0.2 + 0.1
    ours = mg.vmap(lambda a, b: _run(ops, mu, mb, a, b), in_axes)(x, y)
    # JAX's side jitted: one compile, where its eager vmap compiles every operation
    theirs = jax.jit(jax.vmap(lambda a, b: _run(ops, ju, jb, a, b), in_axes))(x, y)
    np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=1e-6)

    def g_mg(a, b):
        return red.reduce_sum(_run(ops, mu, mb, a, b), tuple(range(jnp.ndim(a))))

    def g_jax(a, b):
        return jnp.sum(_run(ops, ju, jb, a, b))

    ours = mg.vmap(mg.grad(g_mg), in_axes)(x, y)
    theirs = jax.jit(jax.vmap(jax.grad(g_jax), in_axes))(x, y)
    np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=1e-6)

    # grad of a vmapped program (the mapped outputs summed)
    def total(vm, g, sum_):
        return lambda a, b: sum_(vm(lambda a, b: _run(ops, *g, a, b), in_axes)(a, b))

    def mg_sum(o):
        return red.reduce_sum(o, tuple(range(o.ndim)))

    ours = mg.grad(total(mg.vmap, (mu, mb), mg_sum))(x, y)
    theirs = jax.jit(jax.grad(total(jax.vmap, (ju, jb), jnp.sum)))(x, y)
    np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=1e-6)


def test_per_example_grads_example_runs_and_agrees():
    import importlib.util
    import os

    path = os.path.join(os.path.dirname(__file__), "..", "examples", "per_example_grads.py")
    spec = importlib.util.spec_from_file_location("per_example_grads", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.main(["--batch", "8"])
    assert res["err_loop"] < 1e-5 and res["err_jax"] < 1e-5
    assert res["shapes"][0] == (8, 64, 32)


def test_batched_vector_matrix_product_is_one_matmul_like_jax():
    def ours(w, x):
        return red.reduce_sum(ew.tanh(linalg.dot_general(x, w, (((0,), (0,)), ((), ())))), (0,))

    def theirs(w, x):
        return jnp.sum(jnp.tanh(jax.lax.dot_general(x, w, (((0,), (0,)), ((), ())))))

    w, xs = jnp.ones((3, 2)), jnp.ones((5, 3))
    a = mg.make_jaxpr(mg.vmap(ours, in_axes=(None, 0)))(w, xs)
    b = jax.make_jaxpr(jax.vmap(theirs, in_axes=(None, 0)))(w, xs)
    # JAX's batched reduce_sum prints its axis as np.int64(1); the value is the same.
    assert str(a) == re.sub(r"np\.int64\((\d+)\)", r"\1", str(b))
