"""The tracer, the IR and its printer, jvp, and the core errors, checked against JAX."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
from minigrad_jax._src import errors, ir
from minigrad_jax._src.lax import elementwise as ew
from minigrad_jax._src.lax import reductions as red

mnp = mg.numpy


def _both(f_of_np):
    return f_of_np(mnp), f_of_np(jnp)


@pytest.mark.parametrize(
    "make, args",
    [
        (lambda np_: np_.sin, (jnp.ones(3),)),
        (lambda np_: lambda x: x * 2.0 + 1.0, (1.0,)),
        (lambda np_: lambda x: (x * 1.0 - 2.0) ** 2, (1.0,)),
        (lambda np_: lambda x, y: np_.sin(x) * y, (jnp.ones(3), jnp.ones(3))),
        (lambda np_: lambda x: x, (1.0,)),
        (lambda np_: lambda x: (x, x * 2.0), (1.0,)),
    ],
)
def test_printed_jaxpr_matches_jax(make, args):
    ours, theirs = _both(make)
    assert str(mg.make_jaxpr(ours)(*args)) == str(jax.make_jaxpr(theirs)(*args))


def test_grad_jaxpr_prints_like_jax():
    def loss(w):
        return (w * 1.0 - 2.0) ** 2

    assert str(mg.make_jaxpr(mg.grad(loss))(1.0)) == str(jax.make_jaxpr(jax.grad(loss))(1.0))


def test_closed_over_array_is_a_constvar():
    c = jnp.arange(3.0)
    closed = mg.make_jaxpr(lambda x: x * c)(jnp.ones(3))
    assert len(closed.jaxpr.constvars) == 1 and closed.consts[0] is c
    assert str(closed).startswith("{ lambda a:f32[3]; b:f32[3]. let")


def test_pytree_inputs_and_outputs():
    def f(d, t):
        return {"s": d["a"] * t[0], "p": (t[1], d["b"])}

    d, t = {"a": jnp.ones(2), "b": 3.0}, (2.0, jnp.zeros(2))
    closed = mg.make_jaxpr(f)(d, t)
    assert len(closed.jaxpr.invars) == 4 and len(closed.jaxpr.outvars) == 3
    out = f(d, t)
    jax_out = jax.tree_util.tree_map(lambda a: a, out)
    assert jax.tree_util.tree_structure(out) == jax.tree_util.tree_structure(jax_out)


def test_static_argnums_in_make_jaxpr():
    closed = mg.make_jaxpr(lambda x, n: x * n, static_argnums=1)(1.0, 3)
    assert [e.primitive.name for e in closed.eqns] == ["mul"]
    assert "3.0:f32[]" in str(closed)


def test_long_jaxpr_is_broken_over_lines_and_checks():
    closed = mg.make_jaxpr(lambda x: mnp.sin(x) * mnp.sin(x) + 1.0)(jnp.ones(4))
    assert str(closed).count("\n") == len(closed.eqns) + 1
    ir.check_jaxpr(closed.jaxpr)


def test_eval_shape_matches_jax():
    def f(x, y):
        return {"z": x * y, "s": mnp.sum(x)}

    ours = mg.eval_shape(f, jnp.ones((2, 3)), jnp.ones(3, jnp.float32))
    theirs = jax.eval_shape(
        lambda x, y: {"z": x * y, "s": jnp.sum(x)}, jnp.ones((2, 3)), jnp.ones(3, jnp.float32)
    )
    assert jax.tree_util.tree_map(
        lambda a, b: (a.shape, a.dtype) == (b.shape, b.dtype), ours, theirs
    ) == {"z": True, "s": True}


def test_eager_outputs_are_jax_arrays():
    y = mnp.sin(jnp.ones(3))
    assert isinstance(y, jax.Array)
    assert isinstance(mg.grad(lambda x: x * x)(3.0), jax.Array)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_nested_jvp_matches_jax(order):
    def nest(jvp, f):
        for _ in range(order):
            f = (lambda g: lambda x: jvp(g, (x,), (1.0,))[1])(f)
        return f

    ours = nest(mg.jvp, lambda x: mnp.sin(x) * x)(0.7)
    theirs = nest(jax.jvp, lambda x: jnp.sin(x) * x)(0.7)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_no_perturbation_confusion():
    # d/dx [x * d/dy (x + y)] = d/dx [x * 1] = 1; a confused system gives 2.
    def f(np_jvp):
        return lambda x: x * np_jvp(lambda y: x + y, (1.0,), (1.0,))[1]

    ours = mg.jvp(f(mg.jvp), (1.0,), (1.0,))[1]
    theirs = jax.jvp(f(jax.jvp), (1.0,), (1.0,))[1]
    assert float(ours) == float(theirs) == 1.0


def test_symbolic_zero_tangent_costs_nothing():
    closed = mg.make_jaxpr(lambda x, y: mg.jvp(lambda a: a * y, (x,), (1.0,)))(1.0, 2.0)
    # only the primal mul and the tangent mul; y's zero tangent adds no equation
    assert [e.primitive.name for e in closed.eqns] == ["mul", "mul"]


def test_jvp_argument_errors():
    with pytest.raises(TypeError, match="tuples or lists"):
        mg.jvp(mnp.sin, 1.0, 1.0)
    with pytest.raises(ValueError, match="shape"):
        mg.jvp(mnp.sin, (jnp.ones(3),), (jnp.ones(2),))
    with pytest.raises(TypeError, match="float0"):
        mg.jvp(lambda i: i, (jnp.arange(3),), (jnp.ones(3),))


def test_shape_mismatch_names_primitive_shapes_and_line():
    def f(x, y):
        return ew.add(x, y)  # the line the error must point at

    with pytest.raises(TypeError) as info:
        mg.make_jaxpr(f)(jnp.ones((2, 3)), jnp.ones(4))
    msg = str(info.value)
    assert "add" in msg and "f32[2,3]" in msg and "f32[4]" in msg
    assert "test_core.py" in msg


def test_dtype_mismatch_is_a_type_error():
    with pytest.raises(TypeError, match="same dtypes"):
        mg.make_jaxpr(ew.mul)(jnp.ones(3), jnp.ones(3, jnp.int32))


def test_eager_shape_error_is_ours_too():
    with pytest.raises(errors.MinigradTypeError, match="reduce_sum"):
        red.reduce_sum(jnp.ones(3), (2,))


@pytest.mark.parametrize("conv", [bool, int, float])
def test_concretization_error(conv):
    def f(x):
        return conv(x > 0) if conv is bool else conv(x)

    with pytest.raises(errors.ConcretizationError) as info:
        mg.make_jaxpr(f)(1.0)
    assert isinstance(info.value, TypeError)
    assert "make_jaxpr" in str(info.value) and "lax.cond" in str(info.value)


def test_python_control_flow_on_concrete_values_under_grad():
    def f(x):
        return x * x if x > 0 else -x

    assert float(mg.grad(f)(3.0)) == float(jax.grad(f)(3.0)) == 6.0


def test_unexpected_tracer_error():
    leaked = []

    def f(x):
        leaked.append(x)
        return x

    mg.make_jaxpr(f)(1.0)
    with pytest.raises(errors.UnexpectedTracerError, match="make_jaxpr"):
        mnp.sin(leaked[0])
    leaked.clear()
    mg.jvp(f, (1.0,), (1.0,))
    with pytest.raises(errors.UnexpectedTracerError, match="jvp"):
        mg.make_jaxpr(lambda x: x * leaked[0])(1.0)


def test_weak_type_promotion_matches_jax():
    cases = [
        (lambda np_: lambda x: x * 2, jnp.ones(3, jnp.int32)),
        (lambda np_: lambda x: x * 2.5, jnp.ones(3, jnp.int32)),
        (lambda np_: lambda x: x + 1, jnp.ones(3, jnp.float32)),
        (lambda np_: lambda x: x * jnp.ones(2, jnp.float16), 2.0),
    ]
    for make, arg in cases:
        ours, theirs = _both(make)
        a = mg.eval_shape(ours, arg)
        b = jax.eval_shape(theirs, arg)
        assert (a.dtype, a.weak_type) == (b.dtype, b.weak_type), (a, b)


def test_one_layer_tanh_grad_prints_like_jax():
    from minigrad_jax._src.lax import linalg

    dn = (((0,), (0,)), ((), ()))

    def ours(w, x):
        return red.reduce_sum(ew.tanh(linalg.dot_general(x, w, dn)), (0,))

    def theirs(w, x):
        return jnp.sum(jnp.tanh(jax.lax.dot_general(x, w, dn)))

    w, x = jnp.ones((3, 2)), jnp.ones(3)
    assert str(mg.make_jaxpr(mg.grad(ours))(w, x)) == str(jax.make_jaxpr(jax.grad(theirs))(w, x))
