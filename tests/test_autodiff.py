"""Reverse mode and its compositions, cross-checked against JAX and finite differences.

Oracles: ``jax.vjp`` / ``jax.grad`` / ``jax.hessian`` on the same program
written with ``jax.lax``, and ``minigrad_jax.testing.check_grads``.
"""

from __future__ import annotations

import importlib.util
import pathlib
import re
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax as jlax
from jax import tree_util
from jax_reference import jax_vjp

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax._src.lax import elementwise as ew
from minigrad_jax._src.lax import linalg, reductions, structural
from minigrad_jax._src.linear_transpose import linear_transpose
from minigrad_jax.testing import check_grads

ROOT = pathlib.Path(__file__).resolve().parents[1]


def assert_tree_close(got, want, rtol=1e-5, atol=1e-6):
    g_leaves, g_tree = tree_util.tree_flatten(got)
    w_leaves, w_tree = tree_util.tree_flatten(want)
    assert g_tree == w_tree, f"structures differ: {g_tree} vs {w_tree}"
    for g, w in zip(g_leaves, w_leaves, strict=True):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, (g.shape, w.shape)
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
        if g.dtype != jax.dtypes.float0:
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------
# the op table: (name, our function, JAX's function, argument makers)

rng = np.random.RandomState(0)


def U(lo, hi, shape=(3,)):
    """An argument maker: uniform values in [lo, hi) of the given shape."""
    return lambda dtype: rng.uniform(lo, hi, shape).astype(dtype)


def S(shape):
    return U(-1.0, 1.0, shape)


UNARY = {  # name: domain (lo, hi)
    "exp": (-2, 2),
    "exp2": (-2, 2),
    "log": (0.5, 3),
    "log1p": (-0.5, 2),
    "expm1": (-2, 2),
    "sqrt": (0.5, 3),
    "rsqrt": (0.5, 3),
    "cbrt": (0.5, 3),
    "sin": (-3, 3),
    "cos": (-3, 3),
    "tan": (-1, 1),
    "asin": (-0.8, 0.8),
    "acos": (-0.8, 0.8),
    "atan": (-2, 2),
    "sinh": (-2, 2),
    "cosh": (-2, 2),
    "tanh": (-2, 2),
    "asinh": (-2, 2),
    "acosh": (1.5, 3),
    "atanh": (-0.8, 0.8),
    "logistic": (-3, 3),
    "erf": (-2, 2),
    "erf_inv": (-0.8, 0.8),
    "lgamma": (0.5, 3),
    "digamma": (0.5, 3),
    "square": (-2, 2),
    "neg": (-2, 2),
    "abs": (0.2, 2),
}
BINARY = {  # name: (domain of x, domain of y)
    "add": ((-2, 2), (-2, 2)),
    "sub": ((-2, 2), (-2, 2)),
    "mul": ((-2, 2), (-2, 2)),
    "div": ((-2, 2), (0.5, 2)),
    "pow": ((0.5, 2), (-2, 2)),
    "atan2": ((-2, 2), (0.5, 2)),
    "rem": ((0.1, 0.9), (1.1, 2)),
}


def _cases():
    cases = []
    for name, (lo, hi) in UNARY.items():
        cases.append((name, getattr(ew, name), getattr(jlax, name), [U(lo, hi)]))
    for name, (dx, dy) in BINARY.items():
        cases.append((name, getattr(ew, name), getattr(jlax, name), [U(*dx), U(*dy)]))
    # max/min on inputs that never tie (ties are tested separately against JAX)
    cases.append(("max", ew.max, jlax.max, [U(-2, -1), U(1, 2)]))
    cases.append(("min", ew.min, jlax.min, [U(-2, -1), U(1, 2)]))
    for y in (2, 3, -2):
        cases.append(
            (
                f"integer_pow_{y}",
                lambda x, y=y: ew.integer_pow(x, y),
                lambda x, y=y: jlax.integer_pow(x, y),
                [U(0.5, 2)],
            )
        )
    pred = np.array([True, False, True])
    cases += [
        (
            "select_n",
            lambda a, b: ew.select_n(pred, a, b),
            lambda a, b: jlax.select_n(pred, a, b),
            [S((3,)), S((3,))],
        ),
        (
            "clamp",
            lambda x: ew.clamp(-0.5, x, 0.5),
            lambda x: jlax.clamp(-0.5, x, 0.5),
            [lambda d: np.array([-0.9, 0.1, 0.9, 0.3], d)],
        ),
        (
            "broadcast_in_dim",
            lambda x: structural.broadcast_in_dim(x, (2, 3, 4), (1, 2)),
            lambda x: jlax.broadcast_in_dim(x, (2, 3, 4), (1, 2)),
            [S((3, 1))],
        ),
        (
            "reshape",
            lambda x: structural.reshape(x, (3, 2)),
            lambda x: jlax.reshape(x, (3, 2)),
            [S((2, 3))],
        ),
        (
            "transpose",
            lambda x: structural.transpose(x, (1, 0)),
            lambda x: jlax.transpose(x, (1, 0)),
            [S((2, 3))],
        ),
        (
            "reduce_sum",
            lambda x: reductions.reduce_sum(x, (1,)),
            lambda x: jlax.reduce_sum(x, (1,)),
            [S((2, 3))],
        ),
        (
            "reduce_max",
            lambda x: reductions.reduce_max(x, (0,)),
            lambda x: jlax.reduce_max(x, (0,)),
            [S((2, 3))],
        ),
        (
            "reduce_min",
            lambda x: reductions.reduce_min(x, (1,)),
            lambda x: jlax.reduce_min(x, (1,)),
            [S((2, 3))],
        ),
        (
            "reduce_prod",
            lambda x: reductions.reduce_prod(x, (1,)),
            lambda x: jlax.reduce_prod(x, (1,)),
            [U(0.5, 1.5, (2, 3))],
        ),
        ("cumsum", lambda x: reductions.cumsum(x, 1), lambda x: jlax.cumsum(x, 1), [S((2, 3))]),
        (
            "cumprod",
            lambda x: reductions.cumprod(x, 0),
            lambda x: jlax.cumprod(x, 0),
            [U(0.5, 1.5, (3, 2))],
        ),
        (
            "dot_general",
            lambda x, y: linalg.dot_general(x, y, (((1,), (0,)), ((), ()))),
            lambda x, y: jlax.dot_general(x, y, (((1,), (0,)), ((), ()))),
            [S((2, 3)), S((3, 4))],
        ),
        (
            "dot_general_batch",
            lambda x, y: linalg.dot_general(x, y, (((2,), (1,)), ((0,), (0,)))),
            lambda x, y: jlax.dot_general(x, y, (((2,), (1,)), ((0,), (0,)))),
            [S((2, 3, 4)), S((2, 4, 1))],
        ),
        (
            "slice",
            lambda x: structural.slice(x, (0, 1), (2, 3)),
            lambda x: jlax.slice(x, (0, 1), (2, 3)),
            [S((3, 4))],
        ),
        (
            "pad",
            lambda x: structural.pad(x, np.zeros((), x.dtype), ((1, 2, 0), (0, 1, 1))),
            lambda x: jlax.pad(x, np.zeros((), x.dtype), ((1, 2, 0), (0, 1, 1))),
            [S((2, 3))],
        ),
        (
            "concatenate",
            lambda x, y: structural.concatenate([x, y], 0),
            lambda x, y: jlax.concatenate([x, y], 0),
            [S((2, 3)), S((1, 3))],
        ),
        ("rev", lambda x: structural.rev(x, (0,)), lambda x: jlax.rev(x, (0,)), [S((3, 2))]),
        (
            "squeeze",
            lambda x: structural.squeeze(x, (1,)),
            lambda x: jlax.squeeze(x, (1,)),
            [S((3, 1))],
        ),
        (
            "expand_dims",
            lambda x: structural.expand_dims(x, (0,)),
            lambda x: jlax.expand_dims(x, (0,)),
            [S((3,))],
        ),
        (
            "dynamic_slice",
            lambda x: structural.dynamic_slice(x, (1, 0), (2, 2)),
            lambda x: jlax.dynamic_slice(x, (1, 0), (2, 2)),
            [S((3, 3))],
        ),
        (
            "dynamic_update_slice",
            lambda x, u: structural.dynamic_update_slice(x, u, (1, 1)),
            lambda x, u: jlax.dynamic_update_slice(x, u, (1, 1)),
            [S((3, 3)), S((2, 1))],
        ),
    ]
    return cases


CASES = _cases()
IDS = [c[0] for c in CASES]
CASES_2ND = [pytest.param(*c, id=c[0]) for c in CASES]

# jax.numpy functions, included as soon as minigrad_jax.numpy has them (the
# namespace is growing; the namespace's own tests check that it is complete).
NUMPY = [
    ("sin", [S((3,))]),
    ("cos", [S((3,))]),
    ("tanh", [S((3,))]),
    ("exp", [S((3,))]),
    ("log", [U(0.5, 2)]),
    ("sqrt", [U(0.5, 2)]),
    ("multiply", [S((2, 3)), S((3,))]),
    ("add", [S((2, 3)), S((2, 1))]),
    ("subtract", [S((3,)), S((2, 1))]),
    ("divide", [S((3,)), U(0.5, 2)]),
    ("power", [U(0.5, 2), S((3,))]),
    ("maximum", [U(-2, -1), U(1, 2)]),
    ("sum", [S((2, 3))]),
    ("mean", [S((2, 3))]),
    ("prod", [U(0.5, 1.5)]),
    ("max", [S((4,))]),
    ("matmul", [S((2, 3)), S((3, 2))]),
    ("dot", [S((3,)), S((3,))]),
    ("outer", [S((2,)), S((3,))]),
    ("cumsum", [S((4,))]),
    ("logaddexp", [S((3,)), S((3,))]),
    ("hypot", [U(0.5, 1), U(0.5, 1)]),
    ("arctan2", [S((3,)), U(0.5, 1)]),
    ("square", [S((3,))]),
    ("reciprocal", [U(0.5, 2)]),
    ("log1p", [U(0, 1)]),
    ("expm1", [S((3,))]),
    ("var", [S((5,))]),
    ("std", [S((5,))]),
    ("transpose", [S((2, 3))]),
    ("ravel", [S((2, 3))]),
    ("where", None),
]
NUMPY_CASES = [
    (n, getattr(mnp, n), getattr(jnp, n), makers)
    for n, makers in NUMPY
    if makers is not None and hasattr(mnp, n)
]


def _args(makers, dtype):
    return [m(dtype) for m in makers]


def _check_vjp_against_jax(ours, theirs, args, rtol, atol):
    out, f_vjp = mg.vjp(ours, *args)
    j_out = jax.eval_shape(theirs, *args)
    ct = np.asarray(np.random.RandomState(1).standard_normal(j_out.shape), j_out.dtype)
    j_out, j_ct = jax_vjp(theirs, args, ct)
    assert_tree_close(out, j_out, rtol, atol)
    assert_tree_close(f_vjp(ct), j_ct, rtol, atol)


@pytest.mark.parametrize(
    "name,ours,theirs,makers", CASES + NUMPY_CASES, ids=IDS + [f"numpy.{c[0]}" for c in NUMPY_CASES]
)
def test_vjp_matches_jax_float32(name, ours, theirs, makers):
    args = _args(makers, np.float32)
    _check_vjp_against_jax(ours, theirs, args, rtol=2e-5, atol=1e-5)


@pytest.mark.parametrize("name,ours,theirs,makers", CASES_2ND)
def test_check_grads_order2_float32(name, ours, theirs, makers):
    args = _args(makers, np.float32)
    check_grads(ours, args, order=2, modes=("fwd", "rev"), atol=2e-2, rtol=2e-2)


@pytest.mark.parametrize("name,ours,theirs,makers", CASES_2ND)
def test_vjp_and_check_grads_float64(x64, name, ours, theirs, makers):
    args = _args(makers, np.float64)
    _check_vjp_against_jax(ours, theirs, args, rtol=1e-12, atol=1e-12)
    check_grads(ours, args, order=2, modes=("fwd", "rev"))


def test_float64_in_a_fresh_process():
    # The fixture above flips x64 at run time; this checks a process that starts with it.
    import os
    import subprocess
    import sys

    code = (
        "import numpy as np, jax, minigrad_jax as mg\n"
        "from minigrad_jax._src.lax import elementwise as ew\n"
        "from minigrad_jax.testing import check_grads\n"
        "x = np.linspace(0.1, 1.0, 4)\n"
        "f = lambda x: mg.numpy.sum(ew.sin(x) * ew.exp(x))\n"
        "g = lambda x: jax.numpy.sum(jax.numpy.sin(x) * jax.numpy.exp(x))\n"
        "ours, theirs = mg.grad(f)(x), jax.jit(jax.grad(g))(x)\n"
        "assert ours.dtype == np.float64, ours.dtype\n"
        "np.testing.assert_allclose(ours, theirs, rtol=1e-13)\n"
        "np.testing.assert_allclose(mg.hessian(f)(x), jax.jit(jax.hessian(g))(x), rtol=1e-12)\n"
        "check_grads(f, (x,), order=3)\n"
        "print('ok')\n"
    )
    env = dict(os.environ, JAX_ENABLE_X64="1", PYTHONPATH=str(ROOT))
    res = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr


def test_max_min_ties_match_jax():
    x = np.array([1.0, 2.0, 3.0], np.float32)
    y = np.array([1.0, 0.0, 3.0], np.float32)
    for ours, theirs in ((ew.max, jlax.max), (ew.min, jlax.min)):
        _check_vjp_against_jax(ours, theirs, [x, y], 1e-6, 1e-6)
        f = lambda a, o=ours: reductions.reduce_sum(o(a, a), (0,))  # noqa: E731
        g = lambda a, t=theirs: jlax.reduce_sum(t(a, a), (0,))  # noqa: E731
        assert_tree_close(mg.grad(f)(x), jax.jit(jax.grad(g))(x))


# ---------------------------------------------------------------------------
# linearize and the jaxprs of reverse mode


def loss_ours(w, x, y):
    return (w * x - y) ** 2


def test_linearize_matches_jax():
    y, f_jvp = mg.linearize(loss_ours, 1.0, 1.0, 2.0)
    ts = [(1.0, 0.0, 0.0), (0.5, 2.0, -1.0)]

    @jax.jit
    def jax_linearized(ts):
        j_y, j_jvp = jax.linearize(loss_ours, 1.0, 1.0, 2.0)
        return j_y, [j_jvp(*t) for t in ts]

    j_y, j_tangents = jax_linearized(ts)
    assert float(y) == float(j_y)
    for t, j_t in zip(ts, j_tangents, strict=True):
        assert float(f_jvp(*t)) == pytest.approx(float(j_t))


def test_linearized_jaxpr_prints_as_jax():
    f = lambda w: loss_ours(w, 1.0, 2.0)  # noqa: E731
    _, f_jvp = mg.linearize(f, 1.0)
    _, j_jvp = jax.linearize(f, 1.0)
    assert str(f_jvp.jaxpr) == str(jax.make_jaxpr(j_jvp)(1.0))


GRAD_PROGRAMS = {
    "tutorial": (loss_ours, loss_ours, (1.0, 1.0, 2.0)),
    "sin_mul": (
        lambda x: reductions.reduce_sum(ew.sin(x) * ew.cos(x), (0,)),
        lambda x: jlax.reduce_sum(jlax.sin(x) * jlax.cos(x), (0,)),
    ),
    "dot_sum": (
        lambda x: linalg.dot_general(ew.exp(x), x, (((0,), (0,)), ((), ()))),
        lambda x: jlax.dot_general(jlax.exp(x), x, (((0,), (0,)), ((), ()))),
    ),
}


def _grad_jaxprs(name):
    ours, theirs, *args = GRAD_PROGRAMS[name]
    args = args[0] if args else (np.arange(1.0, 4.0, dtype=np.float32),)
    return mg.make_jaxpr(mg.grad(ours))(*args), jax.make_jaxpr(jax.grad(theirs))(*args)


def _equations(closed, params=False):
    """Each equation as (primitive, input avals, output avals[, params])."""

    def aval(v):
        return (tuple(v.aval.shape), np.dtype(v.aval.dtype).name)

    return [
        (str(e.primitive), [aval(v) for v in e.invars], [aval(v) for v in e.outvars])
        + ((dict(e.params),) if params else ())
        for e in closed.eqns
    ]


@pytest.mark.parametrize("name", list(GRAD_PROGRAMS))
def test_grad_jaxpr_matches_jax(name):
    ours, theirs = _grad_jaxprs(name)
    assert _equations(ours) == _equations(theirs)


@pytest.mark.parametrize("name", ["sin_mul", "dot_sum"])
def test_grad_jaxpr_params_match_jax(name):
    ours, theirs = _grad_jaxprs(name)
    assert _equations(ours, params=True) == _equations(theirs, params=True)


def test_vjp_skips_unused_residuals():
    # DCE: the linear jaxpr keeps only what the tangent needs (here cos x, not sin x).
    x = np.float32(0.3)
    _, f_jvp = mg.linearize(lambda x: ew.sin(x) + ew.exp(np.float32(2.0)) * 0.0, x)
    assert [e.primitive.name for e in f_jvp.jaxpr.eqns] == ["mul"]
    assert len(f_jvp.jaxpr.consts) == 1
    np.testing.assert_allclose(f_jvp.jaxpr.consts[0], np.cos(x), rtol=1e-6)


# ---------------------------------------------------------------------------
# any order


def f_scalar(x):
    return ew.sin(x) * ew.exp(x) + x * x * x


def j_scalar(x):
    return jnp.sin(x) * jnp.exp(x) + x * x * x


def test_grad_of_grad_of_grad():
    x = np.float32(0.7)
    ours = mg.grad(mg.grad(mg.grad(f_scalar)))(x)
    theirs = jax.jit(jax.grad(jax.grad(jax.grad(j_scalar))))(x)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_jvp_of_grad_and_grad_of_jvp():
    x = np.float32(0.7)
    ours = mg.jvp(mg.grad(f_scalar), (x,), (np.float32(1.5),))
    theirs = jax.jit(partial(jax.jvp, jax.grad(j_scalar)))((x,), (np.float32(1.5),))
    assert_tree_close(ours, theirs)

    def tangent_of(f, jvp):
        return lambda x: jvp(f, (x,), (np.float32(2.0),))[1]

    ours = mg.grad(tangent_of(f_scalar, mg.jvp))(x)
    theirs = jax.jit(jax.grad(tangent_of(j_scalar, jax.jvp)))(x)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def _vec_ours(x, y):
    return {"u": ew.sin(x) * y, "v": reductions.reduce_sum(x * ew.exp(y), (0,))}


def _vec_jax(x, y):
    return {"u": jnp.sin(x) * y, "v": jnp.sum(x * jnp.exp(y))}


@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1,)])
def test_jacfwd_jacrev_match_jax(argnums):
    x = np.array([0.1, 0.5, 0.9], np.float32)
    y = np.array([1.0, -1.0, 2.0], np.float32)
    for ours, theirs in ((mg.jacfwd, jax.jacfwd), (mg.jacrev, jax.jacrev)):
        want = jax.jit(theirs(_vec_jax, argnums))(x, y)
        assert_tree_close(ours(_vec_ours, argnums)(x, y), want)


def test_jacobian_structure_output_outer_input_inner():
    x = {"a": np.ones((2,), np.float32), "b": np.float32(3.0)}
    f = lambda p: (p["a"] * p["b"], ew.sin(p["b"]))  # noqa: E731
    g = lambda p: (p["a"] * p["b"], jnp.sin(p["b"]))  # noqa: E731
    for ours, theirs in ((mg.jacfwd, jax.jacfwd), (mg.jacrev, jax.jacrev)):
        got, want = ours(f)(x), jax.jit(theirs(g))(x)
        assert tree_util.tree_structure(got) == tree_util.tree_structure(want)
        assert got[0]["a"].shape == (2, 2) and got[1]["b"].shape == ()
        assert_tree_close(got, want)


def test_jacfwd_of_jacrev_and_hessian_match_jax():
    x = np.array([0.3, -0.4, 0.8], np.float32)

    def f(x):
        return reductions.reduce_sum(ew.sin(x) * ew.exp(x) * x, (0,))

    def g(x):
        return jnp.sum(jnp.sin(x) * jnp.exp(x) * x)

    want = jax.jit(lambda x: (jax.jacfwd(jax.jacrev(g))(x), jax.jacrev(jax.jacfwd(g))(x)))(x)
    assert_tree_close(mg.jacfwd(mg.jacrev(f))(x), want[0], rtol=1e-5)
    assert_tree_close(mg.jacrev(mg.jacfwd(f))(x), want[1], rtol=1e-5)
    assert_tree_close(mg.hessian(f)(x), jax.jit(jax.hessian(g))(x), rtol=1e-5)


def test_hessian_of_pytree_args_matches_jax():
    def f(p, q):
        return reductions.reduce_sum(ew.sin(p["w"]) * q[0], (0,)) * ew.exp(q[1])

    def g(p, q):
        return jnp.sum(jnp.sin(p["w"]) * q[0]) * jnp.exp(q[1])

    p = {"w": np.array([0.1, 0.2], np.float32)}
    q = (np.array([1.0, 2.0], np.float32), np.float32(0.3))
    want = jax.jit(jax.hessian(g, (0, 1)))(p, q)
    assert_tree_close(mg.hessian(f, (0, 1))(p, q), want, rtol=1e-5)


def test_jit_of_jacobians_and_hessian():
    x = np.array([0.3, -0.4, 0.8], np.float32)
    f = lambda x: reductions.reduce_sum(ew.sin(x) * x, (0,))  # noqa: E731
    g = lambda x: jnp.sum(jnp.sin(x) * x)  # noqa: E731
    assert_tree_close(mg.jit(mg.hessian(f))(x), jax.jit(jax.hessian(g))(x))
    assert_tree_close(mg.jit(mg.jacrev(ew.sin))(x), jax.jit(jax.jacrev(jnp.sin))(x))
    assert_tree_close(mg.jacrev(mg.jit(f))(x), jax.jit(jax.jacrev(g))(x))


def test_hessian_of_jit():
    x = np.array([0.3, -0.4, 0.8], np.float32)
    f = lambda x: reductions.reduce_sum(ew.sin(x) * x, (0,))  # noqa: E731
    g = lambda x: jnp.sum(jnp.sin(x) * x)  # noqa: E731
    assert_tree_close(mg.hessian(mg.jit(f))(x), jax.jit(jax.hessian(g))(x))


def test_jacobians_has_aux():
    x = np.array([0.5, 1.5], np.float32)
    for ours, theirs in ((mg.jacfwd, jax.jacfwd), (mg.jacrev, jax.jacrev)):
        jac, aux = ours(lambda x: (ew.sin(x), {"y": x * 2.0}), has_aux=True)(x)
        j_jac, j_aux = jax.jit(theirs(lambda x: (jnp.sin(x), {"y": x * 2.0}), has_aux=True))(x)
        assert_tree_close((jac, aux), (j_jac, j_aux))


def test_vmap_of_grad_and_grad_of_vmap():
    xs = np.linspace(-1, 1, 5).astype(np.float32)
    assert_tree_close(mg.vmap(mg.grad(f_scalar))(xs), jax.jit(jax.vmap(jax.grad(j_scalar)))(xs))

    def total(f, vmap, x):
        return vmap(f)(x).sum() if vmap is jax.vmap else reductions.reduce_sum(vmap(f)(x), (0,))

    assert_tree_close(
        mg.grad(lambda x: total(f_scalar, mg.vmap, x))(xs),
        jax.jit(jax.grad(lambda x: total(j_scalar, jax.vmap, x)))(xs),
    )


# ---------------------------------------------------------------------------
# pytrees, argnums, has_aux


def test_grad_pytree_inputs_and_argnums_tuple():
    def f(p, s, k):
        return reductions.reduce_sum(p["w"] * p["b"][0] + ew.sin(s), (0,)) * k

    def g(p, s, k):
        return jnp.sum(p["w"] * p["b"][0] + jnp.sin(s)) * k

    p = {"w": np.array([1.0, 2.0], np.float32), "b": (np.float32(0.5),)}
    s, k = np.array([0.1, 0.2], np.float32), np.float32(3.0)
    for argnums in (0, 1, (0, 2), (2, 0, 1)):
        assert_tree_close(mg.grad(f, argnums)(p, s, k), jax.jit(jax.grad(g, argnums))(p, s, k))
    v, gr = mg.value_and_grad(f, (0, 1))(p, s, k)
    jv, jgr = jax.jit(jax.value_and_grad(g, (0, 1)))(p, s, k)
    assert_tree_close((v, gr), (jv, jgr))


def test_grad_negative_argnums_and_kwargs():
    def f(a, b, scale=1.0):
        return a * b * scale

    assert float(mg.grad(f, -1)(2.0, 3.0, scale=2.0)) == float(jax.grad(f, -1)(2.0, 3.0, scale=2.0))


def test_grad_and_vjp_has_aux():
    def f(x):
        return reductions.reduce_sum(x * x, (0,)), {"norm": x * 1.0, "n": 3}

    def g(x):
        return jnp.sum(x * x), {"norm": x * 1.0, "n": 3}

    x = np.array([1.0, 2.0], np.float32)
    (gr, aux), (jgr, jaux) = mg.grad(f, has_aux=True)(x), jax.jit(jax.grad(g, has_aux=True))(x)
    assert_tree_close(gr, jgr)
    assert tree_util.tree_structure(aux) == tree_util.tree_structure(jaux)
    (v, aux), gr = mg.value_and_grad(f, has_aux=True)(x)
    (jv, jaux), jgr = jax.jit(jax.value_and_grad(g, has_aux=True))(x)
    assert_tree_close((v, gr), (jv, jgr))
    out, f_vjp, aux = mg.vjp(f, x, has_aux=True)
    j_out, j_ct, j_aux = jax_vjp(g, (x,), np.float32(1.0), has_aux=True)
    assert_tree_close((out, f_vjp(np.float32(1.0))), (j_out, j_ct))


def test_vjp_pytree_output_structure():
    def f(x, y):
        return {"a": x * y, "b": (ew.sin(x), y)}

    def g(x, y):
        return {"a": x * y, "b": (jnp.sin(x), y)}

    x, y = np.array([1.0, 2.0], np.float32), np.array([3.0, 4.0], np.float32)
    out, f_vjp = mg.vjp(f, x, y)
    ct = {"a": np.ones(2, np.float32), "b": (np.full(2, 2.0, np.float32), np.ones(2, np.float32))}
    j_out, j_ct = jax_vjp(g, (x, y), ct)
    assert_tree_close(out, j_out)
    assert_tree_close(f_vjp(ct), j_ct)


def test_unused_input_gets_zero_gradient():
    x = np.array([1.0, 2.0], np.float32)
    assert_tree_close(
        mg.grad(lambda x, y: reductions.reduce_sum(x, (0,)), 1)(x, x),
        jax.grad(lambda x, y: jnp.sum(x), 1)(x, x),
    )
    assert_tree_close(mg.grad(lambda x: 3.0)(1.0), jax.grad(lambda x: 3.0)(1.0))


# ---------------------------------------------------------------------------
# stop_gradient, integer inputs, linear_transpose


def test_stop_gradient_matches_jax():
    def f(x):
        return reductions.reduce_sum(structural.stop_gradient(x * x) * x + ew.sin(x), (0,))

    def g(x):
        return jnp.sum(jlax.stop_gradient(x * x) * x + jnp.sin(x))

    x = np.array([0.5, 1.5], np.float32)
    assert_tree_close(mg.grad(f)(x), jax.jit(jax.grad(g))(x))
    assert_tree_close(mg.hessian(f)(x), jax.jit(jax.hessian(g))(x))
    assert_tree_close(
        mg.jvp(f, (x,), (np.ones(2, np.float32),)),
        jax.jit(partial(jax.jvp, g))((x,), (np.ones(2, np.float32),)),
    )
    assert float(mg.grad(lambda x: structural.stop_gradient(x))(2.0)) == 0.0


def test_vjp_integer_input_gets_float0_zero_cotangent():
    f = lambda x, n: x * n  # noqa: E731
    out, f_vjp = mg.vjp(f, 2.0, 3)
    ct_x, ct_n = f_vjp(np.float32(1.0))
    j_ct_x, j_ct_n = jax.vjp(f, 2.0, 3)[1](np.float32(1.0))
    assert float(ct_x) == float(j_ct_x) == 3.0
    assert ct_n.dtype == j_ct_n.dtype == jax.dtypes.float0
    assert np.shape(ct_n) == np.shape(j_ct_n) == ()
    _, f_vjp = mg.vjp(lambda n: n * 2, np.arange(3))
    (ct,) = f_vjp(np.ones(3, np.int32))
    assert ct.dtype == jax.dtypes.float0 and ct.shape == (3,)


def test_jvp_integer_primal_takes_float0_tangent():
    f = lambda x, n: x * n  # noqa: E731
    t0 = np.zeros((), jax.dtypes.float0)
    out, t = mg.jvp(f, (2.0, 3), (1.0, t0))
    j_out, j_t = jax.jvp(f, (2.0, 3), (1.0, t0))
    assert (float(out), float(t)) == (float(j_out), float(j_t)) == (6.0, 3.0)
    with pytest.raises(TypeError, match="float0"):
        mg.jvp(f, (2.0, 3), (1.0, 1))
    with pytest.raises(TypeError):
        jax.jvp(f, (2.0, 3), (1.0, 1))


def test_grad_allow_int_gives_float0():
    g = mg.grad(lambda x, n: x * n, argnums=(0, 1), allow_int=True)(2.0, 3)
    jg = jax.grad(lambda x, n: x * n, argnums=(0, 1), allow_int=True)(2.0, 3)
    assert float(g[0]) == float(jg[0]) and g[1].dtype == jg[1].dtype == jax.dtypes.float0


def test_linear_transpose_matches_jax():
    def f(x, y):
        return {"s": reductions.reduce_sum(x, (0,)) * 2.0, "t": structural.transpose(y, (1, 0))}

    def g(x, y):
        return {"s": jnp.sum(x) * 2.0, "t": y.T}

    x, y = np.ones(3, np.float32), np.ones((2, 3), np.float32)
    ct = {"s": np.float32(1.5), "t": np.arange(6, dtype=np.float32).reshape(3, 2)}
    want = jax.jit(lambda ct: jax.linear_transpose(g, x, y)(ct))(ct)
    assert_tree_close(linear_transpose(f, x, y)(ct), want)
    # the transpose of the linearized function is the vjp
    _, f_jvp = mg.linearize(f_scalar, np.float32(0.4))
    (ct_in,) = linear_transpose(f_jvp, np.float32(0.0))(np.float32(1.0))
    np.testing.assert_allclose(ct_in, jax.jit(jax.grad(j_scalar))(np.float32(0.4)), rtol=1e-6)


def test_linear_transpose_integer_and_dot():
    assert int(linear_transpose(lambda n: n * 3, 1)(2)[0]) == 6
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    f = lambda v: linalg.dot_general(a, v, (((1,), (0,)), ((), ())))  # noqa: E731
    ct = np.array([1.0, -1.0], np.float32)
    np.testing.assert_allclose(linear_transpose(f, np.ones(3, np.float32))(ct)[0], a.T @ ct)


@pytest.mark.parametrize(
    "fun,word",
    [
        (lambda x: ew.sin(x), "'sin'"),
        (lambda x: x * x, "product"),
        (lambda x: 1.0 / x, "'div'"),
    ],
)
def test_linear_transpose_rejects_nonlinear(fun, word):
    with pytest.raises(ValueError, match="not linear") as e:
        linear_transpose(fun, np.float32(1.0))
    assert word in str(e.value) and "test_autodiff.py" in str(e.value)


def test_linear_transpose_checks_cotangent():
    f_t = linear_transpose(lambda x: x * 2.0, np.ones(3, np.float32))
    with pytest.raises(TypeError, match="f32\\[3\\]"):
        f_t(np.ones(4, np.float32))
    with pytest.raises(TypeError, match="tree"):
        f_t((np.ones(3, np.float32),))
    with pytest.raises(TypeError, match="int32"):
        linear_transpose(lambda x: structural.convert_element_type(x, np.float32), np.int32(1))


# ---------------------------------------------------------------------------
# weak types (JAX keeps Python-scalar results weakly typed)


def test_weak_types_match_jax():
    for f in (lambda x: x * 2.0, lambda w: (w * 1.0 - 2.0) ** 2):
        assert mg.grad(f)(1.0).weak_type == jax.grad(f)(1.0).weak_type
        assert mg.vjp(f, 1.0)[1](1.0)[0].weak_type == jax.vjp(f, 1.0)[1](1.0)[0].weak_type
    assert mg.jvp(lambda x: x * 3.0, (2.0,), (1.0,))[0].weak_type


# ---------------------------------------------------------------------------
# the tutorial example


def _run_example(capsys, argv):
    spec = importlib.util.spec_from_file_location(
        "linear_regression", ROOT / "examples" / "linear_regression.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(argv)
    return capsys.readouterr().out


def test_linear_regression_example(capsys):
    out = _run_example(capsys, ["--steps", "60"])
    loss = lambda w: (w * 1.0 - 2.0) ** 2  # noqa: E731
    assert re.search(r"^loss = (\S+)$", out, re.M).group(1) == repr(float(loss(1.0)))
    assert float(re.search(r"jvp dloss/dw = (\S+)", out).group(1)) == float(
        jax.jvp(loss, (1.0,), (1.0,))[1]
    )
    assert float(re.search(r"grad dloss/dw = (\S+)", out).group(1)) == float(jax.grad(loss)(1.0))
    assert str(jax.make_jaxpr(lambda w, x, y: (w * x - y) ** 2)(1.0, 1.0, 2.0)) in out
    assert str(jax.make_jaxpr(jax.grad(lambda w, x, y: (w * x - y) ** 2))(1.0, 1.0, 2.0)) in out
    jvp_of_loss = lambda w, dw: jax.jvp(loss, (w,), (dw,))  # noqa: E731
    assert str(jax.make_jaxpr(jvp_of_loss)(1.0, 1.0)) in out
    _, j_jvp = jax.linearize(loss, 1.0)
    assert str(jax.make_jaxpr(j_jvp)(1.0)) in out  # the linearized jaxpr, as JAX builds it
    residual = 2 * (1.0 * 1.0 - 2.0)
    assert f"residual, 2 * (w*x - y)): [{residual}]" in out
    # the descent, step by step, against the same loop run with jax.grad
    steps = re.findall(r"step +(\d+): w = (\S+)  loss = (\S+)  dloss/dw = (\S+)", out)
    w = jnp.float32(1.0)
    value_and_grad = jax.jit(jax.value_and_grad(loss))
    for _step, w_s, loss_s, g_s in steps:
        value, g = value_and_grad(w)
        np.testing.assert_allclose(
            [float(w_s), float(loss_s), float(g_s)],
            [float(w), float(value), float(g)],
            rtol=1e-5,
            atol=1e-7,
        )
        w = w - 0.1 * g
    assert float(steps[-1][2]) < 1e-6 <= float(steps[-2][2])
    assert 10 < len(steps) < 60


def test_linear_regression_example_steps_flag(capsys):
    out = _run_example(capsys, ["--steps", "3"])
    assert len(re.findall(r"^step ", out, re.M)) == 3
