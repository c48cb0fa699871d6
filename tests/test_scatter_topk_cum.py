"""scatter-sub/-mul/-min/-max, scatter_apply, top_k, cumlogsumexp (and the other
cumulative ops) and associative_scan against JAX: values, JVPs and gradients,
vmap, jit, make_jaxpr equation by equation, and errors."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.lax as L
import minigrad_jax.numpy as mnp
from minigrad_jax._src.numpy import _IndexUpdateHelper

RNG = np.random.default_rng(0)
DN = jax.lax.ScatterDimensionNumbers(
    update_window_dims=(), inserted_window_dims=(0,), scatter_dims_to_operand_dims=(0,)
)
# Rows of a (4, 3) operand: windows of size 3, two of them aimed at row 1.
ROW_DN = jax.lax.ScatterDimensionNumbers(
    update_window_dims=(1,), inserted_window_dims=(0,), scatter_dims_to_operand_dims=(0,)
)
X = jnp.asarray(RNG.normal(size=6).astype(np.float32))
IDX = jnp.asarray([[0], [4], [0], [2], [4], [4]])
UPD = jnp.asarray(RNG.normal(size=6).astype(np.float32))
X2 = jnp.asarray(RNG.normal(size=(4, 3)).astype(np.float32))
IDX2 = jnp.asarray([[1], [3], [1]])
UPD2 = jnp.asarray(RNG.normal(size=(3, 3)).astype(np.float32))
NAMES = ("scatter_add", "scatter_sub", "scatter_mul", "scatter_min", "scatter_max")


def _eqns(closed):
    out = []
    for e in closed.eqns:
        if e.primitive.name in ("jit", "pjit"):
            out.extend(_eqns(e.params["jaxpr"]))
            continue
        params = {k: v for k, v in e.params.items() if k != "sharding"}
        # JAX sometimes leaves numpy ints in its params (np.int64(4)): same value.
        text = re.sub(r"np\.int\d+\((-?\d+)\)", r"\1", repr(sorted(params.items())))
        out.append((e.primitive.name, text))
    return out


def _same_jaxpr(ours, theirs, *args):
    assert _eqns(mg.make_jaxpr(ours)(*args)) == _eqns(jax.make_jaxpr(theirs)(*args))


def _check(ours, theirs, *args, **tol):
    """``mg.jit(ours)`` and ``jax.jit(theirs)`` agree on ``args`` (one compile each)."""
    _close(mg.jit(ours)(*args), jax.jit(theirs)(*args), **tol)


def _close(got, want, **kw):
    kw.setdefault("rtol", 2e-5)
    kw.setdefault("atol", 2e-6)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want), strict=True):
        assert np.shape(g) == np.shape(w) and np.asarray(g).dtype == np.asarray(w).dtype
        np.testing.assert_allclose(g, w, **kw)


# ---------------------------------------------------------------------------
# scatter family: values


def _all_scatters(lax_mod):
    def run(x, x2, u, u2, xi):
        outs = []
        for name in NAMES:
            fn = getattr(lax_mod, name)
            outs.append(fn(x, IDX, u, DN))
            outs.append(fn(x2, IDX2, u2, ROW_DN))
            outs.append(fn(x, jnp.asarray([[7], [-2], [5]]), u[:3], DN, mode="clip"))
            outs.append(fn(x, jnp.asarray([[7], [1], [1]]), u[:3], DN, mode="drop"))
            outs.append(fn(xi, IDX, jnp.arange(6, dtype=jnp.int32) - 2, DN))
        return outs

    return run


def test_scatter_family_values_eager_and_jit():
    xi = jnp.arange(6, dtype=jnp.int32) + 1
    args = (X, X2, UPD, UPD2, xi)
    want = jax.jit(_all_scatters(jax.lax))(*args)
    _close(mg.jit(_all_scatters(L))(*args), want)
    _close(_all_scatters(L)(*args), want)


def test_scatter_apply_values():
    def run(lax_mod, sin):
        def f(x):
            return [
                lax_mod.scatter_apply(x, IDX, sin, DN, update_shape=(6,)),
                lax_mod.scatter_apply(x, IDX, lambda v: v * 2.0 + 1.0, DN, update_shape=(6,)),
                lax_mod.scatter_apply(x, jnp.asarray([[9], [1]]), sin, DN, update_shape=(2,)),
            ]

        return f

    want = jax.jit(run(jax.lax, jnp.sin))(X)
    _close(run(L, mnp.sin)(X), want)
    _close(mg.jit(run(L, mnp.sin))(X), want)


# ---------------------------------------------------------------------------
# .at[] methods: the same equations as jax.numpy's


AT_METHODS = [
    ("set", 2.0),
    ("add", 2.0),
    ("subtract", 2.0),
    ("multiply", 2.0),
    ("mul", 3.0),
    ("divide", 2.0),
    ("power", 2.0),
    ("min", 0.5),
    ("max", 0.5),
]


@pytest.mark.parametrize("method,value", AT_METHODS, ids=[m for m, _ in AT_METHODS])
def test_at_methods_match_jax_equation_by_equation(method, value):
    x = jnp.abs(X) + 0.5

    def f(x, i):
        return getattr(x.at[i], method)(value)

    def g(x):
        return getattr(x.at[1:5:2], method)(value)

    i = jnp.asarray([0, 0, -1, 2])
    _same_jaxpr(f, f, x, i)
    _same_jaxpr(g, g, x)
    eager = getattr(_IndexUpdateHelper(x)[i], method)(value)  # x.at on a jax.Array is JAX's
    _close(eager, jax.jit(f)(x, i))


def test_at_methods_values_under_jit():
    x, i = jnp.abs(X) + 0.5, jnp.asarray([0, 0, -1, 2])

    def f(x, i):
        return [getattr(x.at[i], m)(v) for m, v in AT_METHODS] + [
            getattr(x.at[1:5:2], m)(v) for m, v in AT_METHODS
        ]

    _check(f, f, x, i)


def test_at_apply_matches_jax():
    i = jnp.asarray([0, 0, 3])
    ours = lambda x, i: x.at[i].apply(mnp.sin)  # noqa: E731
    theirs = lambda x, i: x.at[i].apply(jnp.sin)  # noqa: E731
    _same_jaxpr(ours, theirs, X, i)
    want = jax.jit(theirs)(X, i)
    _close(mg.jit(ours)(X, i), want)
    _close(_IndexUpdateHelper(X)[i].apply(mnp.sin), want)
    ints = jnp.arange(5, dtype=jnp.int32)
    triple = lambda v: v * 3  # noqa: E731
    want_1, want_i = jax.jit(lambda v: (v.at[1].apply(triple), v.at[i].apply(triple)))(ints)
    _close(_IndexUpdateHelper(ints)[1].apply(triple), want_1)
    _close(mg.jit(lambda v: v.at[i].apply(triple))(ints), want_i)


# ---------------------------------------------------------------------------
# scatter family: derivatives


def test_scatter_min_max_jvp_matches_jax_with_ties():
    x = jnp.asarray([1.0, 2.0, 3.0, 4.0, 5.0, 0.0])
    u = jnp.asarray([1.0, 7.0, 1.0, 3.0, -1.0, 7.0])  # ties with the operand and each other
    idx = jnp.asarray([[0], [4], [0], [2], [5], [4]])
    tx = jnp.asarray(RNG.normal(size=6).astype(np.float32))
    tu = jnp.asarray(RNG.normal(size=6).astype(np.float32))
    for name in ("scatter_min", "scatter_max"):
        ours = lambda x, u, n=name: getattr(L, n)(x, idx, u, DN)  # noqa: E731
        theirs = lambda x, u, n=name: getattr(jax.lax, n)(x, idx, u, DN)  # noqa: E731
        jvp_ours = lambda x, u, f=ours: mg.jvp(f, (x, u), (tx, tu))  # noqa: E731
        jvp_theirs = lambda x, u, f=theirs: jax.jvp(f, (x, u), (tx, tu))  # noqa: E731
        _check(jvp_ours, jvp_theirs, x, u)
        _same_jaxpr(jvp_ours, jvp_theirs, x, u)
        loss = lambda f: lambda x, u: jnp.sum(jnp.sin(f(x, u)))  # noqa: E731
        mloss = lambda f: lambda x, u: mnp.sum(mnp.sin(f(x, u)))  # noqa: E731
        _check(mg.grad(mloss(ours), (0, 1)), jax.grad(loss(theirs), (0, 1)), x, u)


def test_scatter_add_sub_and_unique_mul_gradients_match_jax():
    def loss(lax_mod, np_, name, unique):
        idx = jnp.asarray([[0], [4], [2]]) if unique else IDX

        def f(x, u):
            u = u[:3] if unique else u
            out = getattr(lax_mod, name)(x, idx, u, DN, unique_indices=unique)
            return np_.sum(np_.sin(out) * np_.arange(6.0))

        return f

    cases = [("scatter_add", False), ("scatter_sub", False), ("scatter_mul", True)]
    _check(
        lambda x, u: [mg.grad(loss(L, mnp, n, q), (0, 1))(x, u) for n, q in cases],
        lambda x, u: [jax.grad(loss(jax.lax, jnp, n, q), (0, 1))(x, u) for n, q in cases],
        X,
        UPD,
    )
    # With unique indices the JVP is JAX's, equation for equation.
    f = lambda x, u: x.at[jnp.asarray([0, 3, 2])].multiply(u, unique_indices=True)  # noqa: E731
    _same_jaxpr(
        lambda x, u: mg.jvp(f, (x, u), (x, u)), lambda x, u: jax.jvp(f, (x, u), (x, u)), X, UPD[:3]
    )


def _mul_reference(x, idx, u):
    """x * (product of the updates aimed at each element), written with jnp only."""
    hit = idx[:, 0][:, None] == jnp.arange(x.shape[0])[None, :]
    return x * jnp.prod(jnp.where(hit, u[:, None], 1.0), axis=0)


@pytest.mark.parametrize(
    "u",
    [
        [2.0, -1.5, 0.5, 3.0, 1.25, -0.75],  # no zeros
        [0.0, -1.5, 0.5, 3.0, 1.25, -0.75],  # one zero among the repeats of 0
        [0.0, 0.0, 0.0, 3.0, 1.25, 0.0],  # two zeros at 0 and at 4
    ],
    ids=["no-zero", "one-zero", "two-zeros"],
)
def test_scatter_mul_repeated_indices_derivative_is_exact(u):
    # JAX raises NotImplementedError here; ours is the exact derivative, checked
    # against JAX differentiating a dense reformulation.
    u = jnp.asarray(u, jnp.float32)
    tx = jnp.asarray(RNG.normal(size=6).astype(np.float32))
    tu = jnp.asarray(RNG.normal(size=6).astype(np.float32))
    ours = lambda x, u: L.scatter_mul(x, IDX, u, DN)  # noqa: E731
    ref = lambda x, u: _mul_reference(x, IDX, u)  # noqa: E731
    _check(
        lambda x, u: [
            mg.jvp(ours, (x, u), (tx, tu)),
            mg.grad(lambda x, u: mnp.sum(mnp.cos(ours(x, u))), (0, 1))(x, u),
        ],
        lambda x, u: [
            jax.jvp(ref, (x, u), (tx, tu)),
            jax.grad(lambda x, u: jnp.sum(jnp.cos(ref(x, u))), (0, 1))(x, u),
        ],
        X,
        u,
        rtol=1e-5,
    )


def test_scatter_apply_is_not_differentiable_as_in_jax():
    f = lambda x: L.scatter_apply(x, IDX, mnp.sin, DN, update_shape=(6,))  # noqa: E731
    g = lambda x: jax.lax.scatter_apply(x, IDX, jnp.sin, DN, update_shape=(6,))  # noqa: E731
    with pytest.raises(NotImplementedError, match="scatter_apply JVP"):
        jax.jvp(g, (X,), (X,))
    with pytest.raises(NotImplementedError, match="scatter_apply JVP"):
        mg.jvp(f, (X,), (X,))


# ---------------------------------------------------------------------------
# scatter family: vmap


def test_scatter_family_vmap():
    xs = jnp.asarray(RNG.normal(size=(2, 6)).astype(np.float32))
    us = jnp.asarray(RNG.normal(size=(6, 2)).astype(np.float32))
    idxs = jnp.stack([IDX, IDX[::-1]])
    # overwriting is order-dependent with repeated indices: scatter gets unique ones
    idx_u = jnp.asarray([[[0], [4], [2], [1], [3], [5]], [[5], [4], [3], [2], [1], [0]]])

    def run(lax_mod, api):
        def f(xs, idxs, idx_u, us):
            outs = []
            for name in NAMES + ("scatter",):
                unique = name == "scatter"
                op = getattr(lax_mod, name)
                fn = lambda x, i, u, op=op, q=unique: op(x, i, u, DN, unique_indices=q)  # noqa: E731
                ii = idx_u if unique else idxs
                for in_axes, args in [
                    ((0, None, None), (xs, IDX, UPD)),
                    ((None, 0, None), (X, ii, UPD)),
                    ((None, None, 1), (X, IDX, us)),
                    ((0, 0, 1), (xs, ii, us)),
                ]:
                    outs.append(api.vmap(fn, in_axes=in_axes)(*args))
            return outs

        return f

    _check(run(L, mg), run(jax.lax, jax), xs, idxs, idx_u, us)


def test_at_max_under_vmap_and_grad():
    def f(np_):
        return lambda x, u: np_.sum(x.at[np.asarray([0, 0, 2])].max(u) ** 2)

    xs = jnp.asarray(RNG.normal(size=(3, 5)).astype(np.float32))
    us = jnp.asarray(RNG.normal(size=(3, 3)).astype(np.float32))
    _check(mg.vmap(mg.grad(f(mnp), (0, 1))), jax.vmap(jax.grad(f(jnp), (0, 1))), xs, us)


# ---------------------------------------------------------------------------
# top_k


def test_top_k_values_jaxpr_and_errors():
    x = jnp.asarray([[9.0, 3.0, 6.0, 6.0], [1.0, 10.0, -2.0, 10.0], [0.0, 0.0, 0.0, 5.0]])
    for k, axis in [(2, -1), (4, 1), (1, 0), (0, -1), (3, 0)]:
        want = jax.lax.top_k(x, k, axis=axis)
        _close(L.top_k(x, k, axis=axis), want)
        _close(mg.jit(lambda x, k=k, axis=axis: L.top_k(x, k, axis=axis))(x), want)
        _same_jaxpr(
            lambda x, k=k, a=axis: L.top_k(x, k, axis=a),
            lambda x, k=k, a=axis: jax.lax.top_k(x, k, axis=a),
            x,
        )
    ints = jnp.asarray([3, 1, 4, 1, 5], jnp.int32)
    _close(L.top_k(ints, 3), jax.lax.top_k(ints, 3))
    with pytest.raises(ValueError, match="no larger than size"):
        L.top_k(x, 5)
    with pytest.raises(ValueError, match="nonnegative"):
        L.top_k(x, -1)
    with pytest.raises(TypeError, match=">= 1 dimension"):
        L.top_k(jnp.float32(1.0), 1)
    with pytest.raises(ValueError, match="complex"):
        L.top_k(jnp.ones(3, jnp.complex64), 1)
    with pytest.raises(ValueError, match="out of bounds"):
        L.top_k(x, 1, axis=2)


def test_top_k_jvp_grad_vmap():
    x = jnp.asarray(RNG.normal(size=(3, 5)).astype(np.float32))
    t = jnp.asarray(RNG.normal(size=(3, 5)).astype(np.float32))

    def run(lax_mod, np_, api):
        def f(x, t):
            outs = []
            for axis in (0, 1):
                fn = lambda x, a=axis: lax_mod.top_k(x, 2, axis=a)[0]  # noqa: E731
                outs.append(api.jvp(fn, (x,), (t,)))
                outs.append(api.grad(lambda x, fn=fn: np_.sum(np_.sin(fn(x))))(x))
            for in_axes in (0, 1):
                outs.append(api.vmap(lambda v: lax_mod.top_k(v, 2), in_axes=in_axes)(x))
            return outs

        return f

    _check(run(L, mnp, mg), run(jax.lax, jnp, jax), x, t)
    ours = lambda x: L.top_k(x, 2, axis=0)[0]  # noqa: E731
    theirs = lambda x: jax.lax.top_k(x, 2, axis=0)[0]  # noqa: E731
    _same_jaxpr(lambda x: mg.jvp(ours, (x,), (x,)), lambda x: jax.jvp(theirs, (x,), (x,)), x)
    # the indices carry no tangent
    _, (_, t_idx) = mg.jvp(lambda v: L.top_k(v, 2), (x,), (t,))
    assert t_idx.dtype == jax.dtypes.float0


# ---------------------------------------------------------------------------
# cumulative reductions

CUMS = ("cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp")


@pytest.mark.parametrize("name", CUMS)
def test_cumulative_ops_match_jax(name):
    x = jnp.asarray(RNG.normal(size=(3, 5)).astype(np.float32))
    x = x.at[1, 2].set(0.0).at[0, 1].set(x[0, 0])  # a zero (cumprod) and a tie (cummax/min)
    t = jnp.asarray(RNG.normal(size=(3, 5)).astype(np.float32))

    def run(lax_mod, np_, api):
        op = getattr(lax_mod, name)

        def f(x, t):
            outs = []
            for axis, reverse in [(0, False), (1, True)]:
                fn = lambda v, a=axis, r=reverse: op(v, axis=a, reverse=r)  # noqa: E731
                outs.append(api.jvp(fn, (x,), (t,)))
                outs.append(api.grad(lambda v, fn=fn: np_.sum(np_.sin(fn(v))))(x))
            outs.append(api.vmap(lambda v: op(v, reverse=True), in_axes=1)(x))
            return outs

        return f

    _check(run(L, mnp, mg), run(jax.lax, jnp, jax), x, t, rtol=1e-5)
    ours = lambda v: getattr(L, name)(v, axis=1, reverse=True)  # noqa: E731
    theirs = lambda v: getattr(jax.lax, name)(v, axis=1, reverse=True)  # noqa: E731
    _same_jaxpr(ours, theirs, x)
    _close(ours(x), theirs(x))  # eager


def test_cumsum_jvp_and_transpose_are_jaxs_equations():
    x = jnp.asarray(RNG.normal(size=7).astype(np.float32))
    ours = lambda v: L.cumsum(v, reverse=True)  # noqa: E731
    theirs = lambda v: jax.lax.cumsum(v, reverse=True)  # noqa: E731
    _same_jaxpr(lambda v: mg.jvp(ours, (v,), (v,)), lambda v: jax.jvp(theirs, (v,), (v,)), x)
    _same_jaxpr(mg.grad(lambda v: ours(v)[2]), jax.grad(lambda v: theirs(v)[2]), x)


def test_cumlogsumexp_with_infinities_and_numpy_wrappers():
    x = jnp.asarray([-jnp.inf, 0.5, -jnp.inf, 2.0, 80.0, 80.0])
    t = jnp.ones_like(x)

    def run(lax_mod, np_, api):
        return lambda x, t: [
            lax_mod.cumlogsumexp(x),
            api.jvp(lax_mod.cumlogsumexp, (x,), (t,)),
            api.grad(lambda v: np_.sum(lax_mod.cumlogsumexp(v, reverse=True)))(x),
        ]

    _check(run(L, mnp, mg), run(jax.lax, jnp, jax), x, t)
    m = jnp.arange(6.0).reshape(2, 3)
    for name in ("cumsum", "cumprod"):
        _same_jaxpr(getattr(mnp, name), getattr(jnp, name), m)
        _same_jaxpr(
            lambda v, n=name: getattr(mnp, n)(v, axis=1), lambda v, n=name: getattr(jnp, n)(v, 1), m
        )
    with pytest.raises(TypeError, match="cumlogsumexp"):
        L.cumlogsumexp(jnp.asarray([True, False]))


# ---------------------------------------------------------------------------
# associative_scan


def _affine(a, b):
    """Composition of affine maps x -> m x + c, a pytree-valued associative op."""
    return {"m": a["m"] * b["m"], "c": a["c"] * b["m"] + b["c"]}


def _pair(a, b):
    return (a[0] + b[0], a[1] * b[1])


def test_associative_scan_matches_jax():
    x = jnp.asarray(RNG.normal(size=(4, 7)).astype(np.float32))
    tree = {"m": jnp.asarray(RNG.uniform(0.5, 1.5, size=(4, 7)).astype(np.float32)), "c": x}
    cases = [
        (L.add, jax.lax.add, x, 0, False),
        (L.mul, jax.lax.mul, x, 1, True),
        (L.max, jax.lax.max, x, -1, False),
        (_affine, _affine, tree, 1, False),
        (_affine, _affine, tree, 0, True),
        (_pair, _pair, (x, x), 1, True),
    ]
    for ours_fn, theirs_fn, elems, axis, reverse in cases:
        kw = dict(reverse=reverse, axis=axis)
        ours = lambda e, f=ours_fn, kw=kw: L.associative_scan(f, e, **kw)  # noqa: E731
        theirs = lambda e, f=theirs_fn, kw=kw: jax.lax.associative_scan(f, e, **kw)  # noqa: E731
        _check(ours, theirs, elems)
        _same_jaxpr(ours, theirs, elems)
    ints = jnp.arange(5)
    _close(
        L.associative_scan(L.add, ints),
        jax.jit(lambda e: jax.lax.associative_scan(jax.lax.add, e))(ints),
    )
    bools = jnp.asarray([False, True, False, False])
    _check(
        lambda b: L.associative_scan(L.bitwise_or, b),
        lambda b: jax.lax.associative_scan(jax.lax.bitwise_or, b),
        bools,
    )


def test_associative_scan_under_transforms():
    tree = {
        "m": jnp.asarray(RNG.uniform(0.5, 1.5, size=(3, 6)).astype(np.float32)),
        "c": jnp.asarray(RNG.normal(size=(3, 6)).astype(np.float32)),
    }

    def run(scan, np_, api):
        def loss(t):
            return np_.sum(np_.sin(scan(_affine, t, axis=1, reverse=True)["c"]))

        axes = ({"m": 1, "c": 1},)
        return lambda t: [api.grad(loss)(t), api.vmap(lambda t: scan(_affine, t), in_axes=axes)(t)]

    _check(run(L.associative_scan, mnp, mg), run(jax.lax.associative_scan, jnp, jax), tree)


def test_associative_scan_errors():
    with pytest.raises(TypeError, match="callable"):
        L.associative_scan(1, jnp.ones(3))
    with pytest.raises(ValueError, match="same"):
        L.associative_scan(lambda a, b: a, (jnp.ones(3), jnp.ones(4)))
    with pytest.raises(ValueError, match="out of bounds"):
        L.associative_scan(L.add, jnp.ones(3), axis=1)


# ---------------------------------------------------------------------------
# errors


def test_scatter_errors():
    with pytest.raises(TypeError, match="dtype"):
        L.scatter_mul(X, IDX, UPD.astype(jnp.int32), DN)
    with pytest.raises(TypeError, match="integer dtype"):
        L.scatter_max(X, IDX.astype(jnp.float32), UPD, DN)
    with pytest.raises(TypeError, match="ScatterDimensionNumbers"):
        L.scatter_min(X, IDX, UPD, (0,))
    with pytest.raises(TypeError, match="scalar"):
        L.scatter_apply(X, IDX, lambda v: mnp.stack([v, v]), DN, update_shape=(6,))
    with pytest.raises(TypeError, match="callable"):
        L.scatter_apply(X, IDX, 3.0, DN)
    # scatter_mul is linear in its updates only with unique indices, as in JAX.
    f_t = mg.linear_transpose(lambda u: L.scatter_mul(X, IDX, u, DN), UPD)
    with pytest.raises(NotImplementedError, match="unique_indices"):
        f_t(X)
