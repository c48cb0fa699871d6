"""Programs from JAX's documentation, run through both libraries.

Each was found differing when JAX's tutorials and API docstrings were run
through minigrad_jax (sharp bits and type promotion, custom derivative rules,
control flow, the jax.lax and jax.linear_transpose docstrings). Each test runs
the same program with ``L = jax`` and ``L = mg`` and compares what the program
shows: values, dtypes, weak types, pytree structure, printed jaxprs, error
classes.
"""

from __future__ import annotations

import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp

BF16 = jnp.ones(2, jnp.bfloat16)


def _np(L):
    return jnp if L is jax else mnp


def _plain_ints(text):
    # JAX prints some params as numpy ints (``axes=(np.int64(1),)``); the values are equal.
    return re.sub(r"np\.int64\((-?\d+)\)", r"\1", text)


def _same(ours, theirs):
    assert jax.tree.structure(ours) == jax.tree.structure(theirs), (ours, theirs)
    for o, t in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs)):
        o, t = jnp.asarray(o), jnp.asarray(t)
        assert (o.shape, o.dtype, o.weak_type) == (t.shape, t.dtype, t.weak_type), (o, t)
        np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=1e-6)


# ---------------------------------------------------------------------------
# weak types (type_promotion.html: a weak result promotes with bfloat16 to bfloat16)


WEAK_PROGRAMS = {
    # a weakly typed scalar array closed over by a jitted function
    "closed-over weak scalar under jit": lambda L: (
        lambda c: L.jit(lambda u: _np(L).sin(c) + 0 * u)(0.0)
    )(_np(L).asarray(1.5)),
    # control-flow.html: cond whose branches return a closed-over weak array
    "cond returning a closed-over weak array": lambda L: (
        lambda x: L.lax.cond(True, lambda: x, lambda: x)
    )(_np(L).asarray(1.5)),
    "zeros_like of a weak argument under jit": lambda L: L.jit(lambda x: _np(L).zeros_like(x))(1.5),
    # jnp.array of a list of traced values is never weak
    "array of traced weak scalars under jit": lambda L: L.jit(lambda x, y: _np(L).array([x, y]))(
        1.0, 2.0
    ),
    "asarray of nested traced scalars under jit": lambda L: L.jit(
        lambda x, y: _np(L).asarray([[x], [y]])
    )(1.0, 2.0),
    "array of a traced scalar and a float16": lambda L: L.jit(
        lambda x: _np(L).array([x, np.float16(1)])
    )(1.0),
}


@pytest.mark.parametrize("name", list(WEAK_PROGRAMS))
def test_weak_types_match_jax(name):
    theirs, ours = WEAK_PROGRAMS[name](jax), WEAK_PROGRAMS[name](mg)
    _same(ours, theirs)
    assert (ours + BF16).dtype == (theirs + BF16).dtype


def _newton_sqrt(L):
    """Custom_derivative_rules_for_Python_code: implicit differentiation of a fixed point."""
    np_ = _np(L)

    @functools.partial(L.custom_vjp, nondiff_argnums=(0,))
    def fixed_point(f, a, x_guess):
        def cond_fun(carry):
            x_prev, x = carry
            return np_.abs(x_prev - x) > 1e-6

        def body_fun(carry):
            _, x = carry
            return x, f(a, x)

        _, x_star = L.lax.while_loop(cond_fun, body_fun, (x_guess, f(a, x_guess)))
        return x_star

    def fixed_point_fwd(f, a, x_init):
        x_star = fixed_point(f, a, x_init)
        return x_star, (a, x_star)

    def rev_iter(f, packed, u):
        a, x_star, x_star_bar = packed
        _, vjp_x = L.vjp(lambda x: f(a, x), x_star)
        return x_star_bar + vjp_x(u)[0]

    def fixed_point_rev(f, res, x_star_bar):
        a, x_star = res
        _, vjp_a = L.vjp(lambda a: f(a, x_star), a)
        (a_bar,) = vjp_a(
            fixed_point(functools.partial(rev_iter, f), (a, x_star, x_star_bar), x_star_bar)
        )
        return a_bar, np_.zeros_like(x_star)

    fixed_point.defvjp(fixed_point_fwd, fixed_point_rev)
    return lambda a: fixed_point(lambda a, x: 0.5 * (x + a / x), a, a)


def test_fixed_point_example_gradients_match_jax():
    theirs, ours = _newton_sqrt(jax), _newton_sqrt(mg)
    _same(ours(2.0), theirs(2.0))
    _same(mg.grad(ours)(2.0), jax.grad(theirs)(2.0))
    _same(mg.grad(mg.grad(ours))(2.0), jax.grad(jax.grad(theirs))(2.0))


ARRAY_OF_TRACERS = {
    "pair": lambda np_: lambda x, y: np_.array([x, y]),
    "with a Python float": lambda np_: lambda x, y: np_.array([x, 2.0]),
    "nested": lambda np_: lambda x, y: np_.asarray([[x], [y]]),
    "matrix": lambda np_: lambda x, y: np_.array([[x, y], [y, 1.0]]),
    "with a float16": lambda np_: lambda x, y: np_.array([x, np.float16(1)]),
}


@pytest.mark.parametrize("name", list(ARRAY_OF_TRACERS))
def test_array_of_tracers_jaxpr_matches_jax(name):
    program = ARRAY_OF_TRACERS[name]
    theirs = jax.make_jaxpr(program(jnp))(1.0, 2.0)
    ours = mg.make_jaxpr(program(mnp))(1.0, 2.0)
    assert str(ours) == str(theirs)


def _func8(L):
    """jaxpr.html, "Conditionals": branches whose outputs differ in weak type."""
    np_ = _np(L)
    return lambda arg1, arg2: L.lax.cond(
        arg1 >= 0.0, lambda xtrue: xtrue[0], lambda xfalse: np_.array([1]) + xfalse[1], arg2
    )


def test_cond_branches_differing_in_weak_type_match_jax():
    # No conversion is added to either branch; the cond has branch 0's types.
    ours, theirs = _func8(mg), _func8(jax)
    args = (jnp.zeros(1), 2.0)
    assert str(mg.make_jaxpr(ours)(5.0, args)) == str(jax.make_jaxpr(theirs)(5.0, args))
    for pred in (5.0, -5.0):
        _same(ours(pred, args), theirs(pred, args))
        _same(mg.jit(ours)(pred, args), jax.jit(theirs)(pred, args))
    for L in (jax, mg):
        pick = lambda i, x, y, L=L: L.lax.switch(i, [lambda: x * 1.0, lambda: y])  # noqa: E731
        assert [pick(i, 2.0, jnp.ones(())).weak_type for i in (0, 1)] == [True, True]


def test_branches_share_the_values_they_close_over():
    def program(L):
        return lambda i, x, y: L.lax.switch(i, [lambda: y, lambda: x * 1.0, lambda: x + y])

    ours = mg.make_jaxpr(program(mg))(1, 2.0, jnp.ones(()))
    theirs = jax.make_jaxpr(program(jax))(1, 2.0, jnp.ones(()))
    assert str(ours) == str(theirs)
    for i in range(3):
        _same(program(mg)(i, 2.0, jnp.ones(())), program(jax)(i, 2.0, jnp.ones(())))
    _same(
        mg.grad(lambda x: program(mg)(2, x, 3.0))(1.0),
        jax.grad(lambda x: program(jax)(2, x, 3.0))(1.0),
    )


# ---------------------------------------------------------------------------
# jax.lax.map(..., batch_size=)


MAP_FUNCTIONS = {
    "sum of sines": lambda np_: lambda v: np_.sin(v).sum(),
    "a pytree out": lambda np_: lambda v: (v * 2, {"a": v.sum()}),
}


@pytest.mark.parametrize("batch_size", [1, 2, 3, 6, 7, 10])
@pytest.mark.parametrize("fn", list(MAP_FUNCTIONS))
def test_lax_map_batch_size_matches_jax(fn, batch_size):
    f_mg, f_jax = MAP_FUNCTIONS[fn](mnp), MAP_FUNCTIONS[fn](jnp)
    ours_fn = lambda v: mg.lax.map(f_mg, v, batch_size=batch_size)  # noqa: E731
    theirs_fn = lambda v: jax.lax.map(f_jax, v, batch_size=batch_size)  # noqa: E731
    for x in (np.arange(14.0, dtype=np.float32).reshape(7, 2), np.arange(6.0, dtype=np.float32)):
        _same(ours_fn(x), theirs_fn(x))
        assert str(mg.make_jaxpr(ours_fn)(x)) == _plain_ints(str(jax.make_jaxpr(theirs_fn)(x)))


def test_lax_map_batch_size_under_grad_and_vmap():
    x = np.linspace(0.1, 2.0, 14, dtype=np.float32).reshape(7, 2)

    def loss(L, v):
        return L.lax.map(lambda r: _np(L).sin(r).sum(), v, batch_size=3).sum()

    _same(mg.grad(lambda v: loss(mg, v))(x), jax.grad(lambda v: loss(jax, v))(x))
    xs = np.stack([x, 2 * x])
    _same(mg.vmap(lambda v: loss(mg, v))(xs), jax.vmap(lambda v: loss(jax, v))(xs))


def test_lax_map_batch_size_must_be_positive():
    with pytest.raises(ValueError, match="batch_size"):
        mg.lax.map(mnp.sin, np.ones(3), batch_size=0)


# ---------------------------------------------------------------------------
# example arguments given by their types (jax.ShapeDtypeStruct)


def test_linear_transpose_docstring_example():
    # jax.linear_transpose's docstring
    f = lambda x, y: 0.5 * x - 0.5 * y  # noqa: E731
    scalar = jax.ShapeDtypeStruct(shape=(), dtype=np.dtype(np.float32))
    _same(mg.linear_transpose(f, scalar, scalar)(1.0), jax.linear_transpose(f, scalar, scalar)(1.0))


@pytest.mark.parametrize(
    "x",
    [
        jax.ShapeDtypeStruct((2,), jnp.float32),
        jax.ShapeDtypeStruct((), jnp.float32, weak_type=True),
        jnp.asarray(1.0),
        1.0,
        np.ones(2, np.float32),
    ],
    ids=["struct", "weak struct", "weak array", "python float", "numpy"],
)
def test_eval_shape_reads_example_arguments_as_jax_does(x):
    assert mg.eval_shape(lambda v: v * 2, x) == jax.eval_shape(lambda v: v * 2, x)


# ---------------------------------------------------------------------------
# names, containers and error classes the docs rely on


TOP_LEVEL_JAX_NAMES = [
    "Array",
    "ShapeDtypeStruct",
    "block_until_ready",
    "default_backend",
    "device_count",
    "device_get",
    "devices",
    "dtypes",
    "float0",
    "local_device_count",
    "local_devices",
    "make_mesh",
    "sharding",
    "tree",
    "tree_util",
]


def test_top_level_jax_names_are_jaxs():
    # jax.tree.map, jax.block_until_ready, jax.ShapeDtypeStruct... as the tutorials
    # write them, on our results (jax.Arrays) and pytrees.
    for name in TOP_LEVEL_JAX_NAMES:
        assert getattr(mg, name) is getattr(jax, name), name
        assert name in mg.__all__, name
    out = mg.tree.map(lambda v: v * 2, {"a": mnp.ones(2)})
    assert isinstance(mg.block_until_ready(out)["a"], mg.Array)


def test_jacobian_is_jacrev():
    f = lambda x: mnp.sin(x) * x[::-1]  # noqa: E731
    x = np.linspace(0.1, 1.0, 3, dtype=np.float32)
    _same(mg.jacobian(f)(x), jax.jacobian(lambda v: jnp.sin(v) * v[::-1])(x))


def test_traced_boolean_mask_raises_jaxs_class():
    # thinking-in-jax: x[x < 0] under jit
    x = jnp.array([1.0, -2.0, 3.0])
    with pytest.raises(jax.errors.NonConcreteBooleanIndexError):
        jax.jit(lambda v: v[v < 0])(x)
    with pytest.raises(jax.errors.NonConcreteBooleanIndexError) as info:
        mg.jit(lambda v: v[v < 0])(x)
    assert isinstance(info.value, (IndexError, mg.errors.NonConcreteBooleanIndexError))
    assert "mnp.where" in str(info.value)


def test_top_k_returns_a_list():
    x = jnp.array([3.0, 1.0, 4.0])
    ours, theirs = mg.lax.top_k(x, 2), jax.lax.top_k(x, 2)
    assert type(ours) is type(theirs) is list
    _same(ours, theirs)


def test_arange_of_a_traced_bound_names_stop():
    for L in (jax, mg):
        with pytest.raises(jax.errors.ConcretizationTypeError, match="stop"):
            L.jit(lambda n, L=L: _np(L).arange(n))(3)


def test_avals_print_as_jax():
    # jaxpr.html prints jaxpr.invars' avals; inside jit, print(x.aval)
    for L in (jax, mg):
        seen = []
        L.jit(lambda x, y, seen=seen: seen.extend([str(x.aval), str(y.aval), repr(y.aval)]) or x)(
            jnp.ones((2, 3)), 1.0
        )
        closed = L.make_jaxpr(lambda x, y: x * y)(jnp.ones(3), 2.0)
        seen += [str(v.aval) for v in closed.jaxpr.invars] + [repr(a) for a in closed.out_avals]
        if L is jax:
            theirs = seen
    assert seen == theirs


LAX_WRAPPERS = {
    "batch_matmul": (
        lambda L: lambda a, b: L.lax.batch_matmul(a, b),
        (np.arange(24.0, dtype=np.float32).reshape(2, 3, 4), np.ones((2, 4, 5), np.float32)),
    ),
    "broadcast_to_rank": (
        lambda L: lambda a: L.lax.broadcast_to_rank(a, 3),
        (np.arange(4.0, dtype=np.float32),),
    ),
    "broadcast_to_rank, already": (
        lambda L: lambda a: L.lax.broadcast_to_rank(a, 1),
        (np.arange(4.0, dtype=np.float32),),
    ),
}


@pytest.mark.parametrize("name", list(LAX_WRAPPERS))
def test_lax_wrappers_match_jax(name):
    program, args = LAX_WRAPPERS[name]
    _same(program(mg)(*args), program(jax)(*args))
    assert str(mg.make_jaxpr(program(mg))(*args)) == str(jax.make_jaxpr(program(jax))(*args))
    loss = lambda L: lambda *a: program(L)(*a).sum()  # noqa: E731
    _same(mg.grad(loss(mg))(*args), jax.grad(loss(jax))(*args))


def test_batch_matmul_errors_are_jaxs():
    for bad in [(np.ones(3), np.ones((3, 2))), (np.ones((2, 3, 4)), np.ones((4, 5)))]:
        with pytest.raises(ValueError) as theirs:
            jax.lax.batch_matmul(*bad)
        with pytest.raises(ValueError) as ours:
            mg.lax.batch_matmul(*bad)
        assert str(ours.value) == str(theirs.value)


def _reduce_cases():
    x = np.arange(1.0, 7.0, dtype=np.float32).reshape(2, 3)
    i = np.arange(6, dtype=np.int32).reshape(2, 3)
    b = np.array([[True, False, True], [True, True, False]])
    return {
        "add from 0": (x, 0.0, "add", (0,)),
        "add from 0, both axes": (x, np.float32(0), "add", (0, 1)),
        "mul from 1": (x, 1.0, "mul", (1,)),
        "max from -inf": (x, -np.inf, "max", (0,)),
        "min from +inf": (x, np.inf, "min", (1,)),
        "max of ints from the lowest int": (i, np.iinfo(np.int32).min, "max", (1,)),
        "or of bools from False": (b, False, "bitwise_or", (0,)),
        "and of bools from True": (b, True, "bitwise_and", (1,)),
        "xor of bools from False": (b, False, "bitwise_xor", (0,)),
        "a weak operand and init": (2.0, 0.0, "add", ()),
    }


@pytest.mark.parametrize("name", list(_reduce_cases()))
def test_lax_reduce_of_a_monoid_matches_jax(name):
    x, init, op, dims = _reduce_cases()[name]
    program = lambda L: lambda v: L.lax.reduce(v, init, getattr(L.lax, op), dims)  # noqa: E731
    _same(program(mg)(x), program(jax)(x))
    assert str(mg.make_jaxpr(program(mg))(x)) == str(jax.make_jaxpr(program(jax))(x))


def test_lax_reduce_of_another_computation_says_what_is_supported():
    with pytest.raises(NotImplementedError, match="monoids"):
        mg.lax.reduce(np.ones(3, np.float32), 1.0, mg.lax.add, (0,))  # not add's identity
    with pytest.raises(ValueError, match="tree structure"):
        mg.lax.reduce((np.ones(3),), 0.0, mg.lax.add, (0,))


def test_typeof_matches_jax():
    for x in (np.ones((2, 3), np.float32), 1.0, jnp.arange(3)):
        assert str(mg.typeof(x)) == str(jax.typeof(x))
    seen = {}
    for L in (jax, mg):
        L.jit(lambda x, y, L=L: seen.setdefault(L, [str(L.typeof(x)), str(L.typeof(y))]) and x)(
            np.ones(3, np.float32), 2.0
        )
        L.grad(lambda x, L=L: seen.setdefault((L, "grad"), str(L.typeof(x))) and x)(1.0)
    assert seen[mg] == seen[jax] and seen[(mg, "grad")] == seen[(jax, "grad")]
