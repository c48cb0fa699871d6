"""Derivative conventions at kinks and ties, and weak types, are JAX's.

Where a function is not differentiable (abs at 0, max/min at a tie, clip and
clamp at their bounds, a reduction's tied maxima) a JAX rule picks one value:
abs'(0) = 1, a tie in max/min splits the tangent 1/2 and 1/2, clamp passes no
tangent to x at a bound, jnp.max averages over the tied maxima, ... Each
program here runs through JAX and through minigrad_jax under grad, jvp and
vmap(grad), for Python-scalar (weakly typed) inputs and float32, bfloat16 and
float16 arrays; values, dtypes and weak types must all agree with JAX's.
"""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp


class _Lib:
    """One side of the comparison: its transforms, numpy and lax under one name."""

    def __init__(self, api, np_, lax):
        self.grad, self.jvp, self.vmap, self.make_jaxpr = (
            api.grad,
            api.jvp,
            api.vmap,
            api.make_jaxpr,
        )
        self.np, self.lax = np_, lax


JAX = _Lib(jax, jnp, jax.lax)
MG = _Lib(mg, mnp, mg.lax)

DTYPES = [None, np.float32, jnp.bfloat16, np.float16]  # None: Python floats (weak)
ARRAY_DTYPES = DTYPES[1:]


def _arg(value, dtype):
    return float(value) if dtype is None else jnp.asarray(value, dtype)


def _assert_same(mine, theirs, what):
    m_leaves, j_leaves = jax.tree_util.tree_leaves(mine), jax.tree_util.tree_leaves(theirs)
    assert len(m_leaves) == len(j_leaves), what
    for m, j in zip(m_leaves, j_leaves, strict=True):
        assert np.dtype(m.dtype) == np.dtype(j.dtype), f"{what}: dtype {m.dtype} vs {j.dtype}"
        assert m.weak_type == j.weak_type, f"{what}: weak_type {m.weak_type} vs {j.weak_type}"
        np.testing.assert_array_equal(
            np.asarray(m, np.float64), np.asarray(j, np.float64), err_msg=what
        )


def _compare(program, args, argnums, what):
    """grad and jvp of ``program(lib)`` at ``args``, ours against JAX's."""
    for name, run in (("grad", _grad), ("jvp", _jvp)):
        theirs = run(JAX, program(JAX), args, argnums)
        mine = run(MG, program(MG), args, argnums)
        _assert_same(mine, theirs, f"{what}: {name}")


def _grad(lib, f, args, argnums):
    return lib.grad(f, argnums=argnums)(*args)


def _jvp(lib, f, args, argnums):
    # Unit tangents in the differentiated positions, zeros elsewhere (same dtypes).
    tangents = tuple(
        jax.tree_util.tree_map(lambda a, i=i: (a * 0 + 1) if i in argnums else a * 0, a)
        for i, a in enumerate(args)
    )
    return lib.jvp(f, args, tangents)


def _vmap_grad(lib, f, args, argnums):
    return lib.vmap(lib.grad(f, argnums=argnums))(*args)


# ---------------------------------------------------------------------------
# scalar programs: (name, program(lib) -> f, points, argnums)

_UNARY_POINTS = [-1.5, 0.0, 2.0]
_TIE_POINTS = [(1.0, 1.0), (2.0, 1.0), (1.0, 2.0), (0.0, 0.0)]
# x below, at and inside the bounds [0, 1], at the upper bound and above it.
_CLAMP_POINTS = [
    (0.0, -1.0, 1.0),
    (0.0, 0.0, 1.0),
    (0.0, 0.5, 1.0),
    (0.0, 1.0, 1.0),
    (0.0, 2.0, 1.0),
]

SCALAR_PROGRAMS = [
    ("lax.abs", lambda L: L.lax.abs, [(p,) for p in _UNARY_POINTS], (0,)),
    ("jnp.abs", lambda L: L.np.abs, [(p,) for p in _UNARY_POINTS], (0,)),
    ("lax.max", lambda L: L.lax.max, _TIE_POINTS, (0, 1)),
    ("lax.min", lambda L: L.lax.min, _TIE_POINTS, (0, 1)),
    ("jnp.maximum", lambda L: L.np.maximum, _TIE_POINTS, (0, 1)),
    ("jnp.minimum", lambda L: L.np.minimum, _TIE_POINTS, (0, 1)),
    (
        "jnp.maximum(x, 1.0)",
        lambda L: lambda x: L.np.maximum(x, 1.0),
        [(p,) for p in (0.0, 1.0, 2.0)],
        (0,),
    ),
    ("lax.clamp", lambda L: L.lax.clamp, _CLAMP_POINTS, (0, 1, 2)),
    ("jnp.clip", lambda L: lambda lo, x, hi: L.np.clip(x, lo, hi), _CLAMP_POINTS, (0, 1, 2)),
    (
        "jnp.clip(x, 0.0, 1.0)",
        lambda L: lambda x: L.np.clip(x, 0.0, 1.0),
        [(p,) for p in (-1.0, 0.0, 0.5, 1.0, 2.0)],
        (0,),
    ),
    (
        "jnp.clip(x, max=1.0)",
        lambda L: lambda x: L.np.clip(x, max=1.0),
        [(p,) for p in (0.0, 1.0, 2.0)],
        (0,),
    ),
]


def _scalar_cases():
    for name, program, points, argnums in SCALAR_PROGRAMS:
        for dtype in DTYPES:
            yield pytest.param(program, points, argnums, dtype, id=f"{name}-{_dtype_id(dtype)}")


def _dtype_id(dtype):
    return "pyfloat" if dtype is None else np.dtype(dtype).name


@pytest.mark.parametrize("program,points,argnums,dtype", list(_scalar_cases()))
def test_scalar_kinks_and_ties(program, points, argnums, dtype):
    for point in points:
        args = tuple(_arg(v, dtype) for v in point)
        _compare(program, args, argnums, f"at {point}")


@pytest.mark.parametrize("dtype", ARRAY_DTYPES, ids=_dtype_id)
@pytest.mark.parametrize(
    "program,points,argnums",
    [pytest.param(p, pts, a, id=n) for n, p, pts, a in SCALAR_PROGRAMS],
)
def test_scalar_kinks_and_ties_under_vmap_of_grad(program, points, argnums, dtype):
    # Every point at once, one batch element each.
    args = tuple(jnp.asarray(col, dtype) for col in zip(*points, strict=True))
    theirs = _vmap_grad(JAX, program(JAX), args, argnums)
    mine = _vmap_grad(MG, program(MG), args, argnums)
    _assert_same(mine, theirs, "vmap(grad)")


# ---------------------------------------------------------------------------
# reductions over tied values


_TIED = [1.0, 3.0, 3.0, 2.0]
_TIED_2D = [[1.0, 3.0, 3.0], [4.0, 0.0, 4.0]]

REDUCTION_PROGRAMS = [
    ("jnp.max", lambda L: L.np.max, _TIED),
    ("jnp.min", lambda L: lambda x: L.np.min(-x), _TIED),
    ("jnp.max axis=1", lambda L: lambda x: L.np.max(x, axis=1).sum(), _TIED_2D),
    ("jnp.min axis=0", lambda L: lambda x: L.np.min(x, axis=0).sum(), _TIED_2D),
    ("jnp.amax keepdims", lambda L: lambda x: L.np.amax(x, 1, keepdims=True).sum(), _TIED_2D),
    ("lax.reduce_max", lambda L: lambda x: L.lax.reduce_max(x, (0,)), _TIED),
    ("lax.reduce_min", lambda L: lambda x: L.lax.reduce_min(x, (0, 1)), _TIED_2D),
    ("jnp.ptp", lambda L: L.np.ptp, _TIED),
    ("x[argmax(x)]", lambda L: lambda x: x[L.np.argmax(x)], _TIED),
    ("x[argmin(-x)]", lambda L: lambda x: x[L.np.argmin(-x)], _TIED),
    (
        "take_along_axis(argmax)",
        lambda L: (
            lambda x: L.np.take_along_axis(x, L.np.argmax(x, axis=1, keepdims=True), axis=1).sum()
        ),
        _TIED_2D,
    ),
    ("lax.cummax", lambda L: lambda x: L.lax.cummax(x, axis=0).sum(), _TIED),
    ("lax.cummin", lambda L: lambda x: L.lax.cummin(-x, axis=0, reverse=True).sum(), _TIED),
    ("jnp.maximum of rows", lambda L: lambda x: L.np.maximum(x[0], x[1]).sum(), _TIED_2D),
]


@pytest.mark.parametrize("dtype", ARRAY_DTYPES, ids=_dtype_id)
@pytest.mark.parametrize(
    "program,data", [pytest.param(p, d, id=n) for n, p, d in REDUCTION_PROGRAMS]
)
def test_reductions_over_ties(program, data, dtype):
    x = jnp.asarray(data, dtype)
    _compare(program, (x,), (0,), "reduction")
    batch = jnp.stack([x, x[::-1] if x.ndim == 1 else x[:, ::-1]])
    theirs = _vmap_grad(JAX, program(JAX), (batch,), (0,))
    mine = _vmap_grad(MG, program(MG), (batch,), (0,))
    _assert_same(mine, theirs, "vmap(grad)")


# ---------------------------------------------------------------------------
# the rules themselves: the same equations as JAX's


_JAXPR_PROGRAMS = [
    ("abs", lambda L: L.lax.abs, False),
    ("max", lambda L: lambda x: L.lax.max(x, 2 * x), False),
    ("min", lambda L: lambda x: L.lax.min(x, 2 * x), False),
    ("maximum", lambda L: lambda x: L.np.maximum(x, 1.0), False),
    ("reduce_max", lambda L: L.np.max, False),
    ("reduce_min", lambda L: lambda x: L.np.min(x, axis=0), True),
]


def _jaxpr_cases():
    for name, program, needs_array in _JAXPR_PROGRAMS:
        if not needs_array:
            yield pytest.param(program, 1.0, id=f"{name}-pyfloat")
        yield pytest.param(program, np.ones((2, 3), np.float32), id=f"{name}-f32")


@pytest.mark.parametrize("program,x", list(_jaxpr_cases()))
def test_jvp_and_grad_jaxprs_match_jax(program, x):
    def jvp_of(L):
        return L.make_jaxpr(lambda x, t: L.jvp(program(L), (x,), (t,)))(x, x)

    def grad_of(L):
        return L.make_jaxpr(L.grad(lambda x: L.np.sum(program(L)(x))))(x)

    assert str(jvp_of(MG)) == str(jvp_of(JAX))
    assert str(grad_of(MG)) == _plain_ints(str(grad_of(JAX)))


def _plain_ints(text):
    # JAX prints some params as numpy ints (``(np.int64(1),)``); the values are the same.
    return re.sub(r"np\.int64\((-?\d+)\)", r"\1", text)


def test_the_comparison_can_fail():
    # A subgradient other than JAX's at the kink (sign(0) = 0) is caught, as is a
    # strong result where JAX's is weak.
    with pytest.raises(AssertionError):
        _assert_same(mg.grad(lambda x: mnp.sign(x) * x)(0.0), jax.grad(jnp.abs)(0.0), "abs")
    with pytest.raises(AssertionError):
        _assert_same(jnp.asarray(1.0, np.float32), jax.grad(jnp.abs)(0.0), "weak")


def test_dot_general_transpose_keeps_preferred_type_and_operand_dtype():
    # bf16 operands accumulated in f32: the cotangent comes back in bf16, as in JAX
    w = jnp.ones((2, 3), jnp.bfloat16) * 0.5

    def loss(lax, np_):
        dn = (((1,), (0,)), ((), ()))
        return lambda v: np_.sum(lax.dot_general(v, v.T, dn, preferred_element_type=np_.float32))

    ours, theirs = mg.grad(loss(mg.lax, mnp))(w), jax.grad(loss(jax.lax, jnp))(w)
    assert ours.dtype == theirs.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(ours, np.float32), np.asarray(theirs, np.float32))
