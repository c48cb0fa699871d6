"""Indexing (``x[idx]``) and indexed updates (``x.at[idx]``) against JAX: values,
jaxprs for static/dynamic indices, gradients and errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax._src.numpy import _getitem, _IndexUpdateHelper

X = jnp.arange(24.0, dtype=jnp.float32).reshape(2, 3, 4) - 7.0
M = jnp.asarray(np.random.default_rng(2).normal(size=(4, 5)).astype(np.float32))
MASK_IDX = (np.asarray([True, False]), 1)

STATIC = [
    1,
    -1,
    5,
    -9,
    (0, 1),
    (1, -1, 2),
    (slice(None), 1),
    (slice(1, None), slice(None, 2)),
    (slice(None, None, 2),),
    (slice(None), slice(None, None, -1)),
    (Ellipsis, slice(None, None, -2)),
    (slice(None, None, -1), slice(1, None, 2), slice(3, 0, -2)),
    (None,),
    (None, 1, None),
    (Ellipsis, None),
    (0, Ellipsis, 2),
    (slice(5, 1),),
    (slice(-100, 100),),
    (),
    (1, slice(None), None, slice(1, 3)),
]
ARRAYS = [
    np.asarray([0, 1, 1]),
    np.asarray([[1, 0], [-1, 0]]),
    ([0, -1],),
    (np.asarray([1, 0]), 2),
    (slice(None), np.asarray([2, 0, 2])),
    (np.asarray([1, 0]), slice(None), np.asarray([3, 1])),
    (np.asarray([[0], [1]]), np.asarray([0, 2, 1])),
    (0, np.asarray([2, 1]), slice(None, None, -1)),
    (slice(None), np.asarray([0, 2]), np.asarray([1, 3])),
    (np.asarray([1]), None, 0),
    (Ellipsis, np.asarray([3, -4])),
    (slice(None), slice(None, None, 2), np.asarray([0, 3])),
    np.asarray([True, False]),
    (slice(None), np.asarray([False, True, True])),
    np.asarray([[True, False, True], [False, False, True]]),
    ([True, False],),
    (True,),
    (False, 1),
    (1, Ellipsis, False),
    (slice(None), [[0], [2]], [1, 2]),
]


def _id(idx):
    return repr(idx).replace(" ", "")[:40]


def test_getitem_values_eager_and_traced():
    """Every index, compiled together (mg.jit vs jax.jit); every third one eagerly too."""
    indices = STATIC + ARRAYS
    traced = mg.jit(lambda x: [x[idx] for idx in indices])(X)
    wanted = jax.jit(lambda x: [x[idx] for idx in indices])(X)
    for k, (idx, got, want) in enumerate(zip(indices, traced, wanted, strict=True)):
        assert (got.shape, got.dtype) == (want.shape, want.dtype), _id(idx)
        np.testing.assert_array_equal(got, want, err_msg=_id(idx))
        if k % 3 == 0:
            eager = _getitem(X, idx)
            assert isinstance(eager, jax.Array), _id(idx)
            np.testing.assert_array_equal(eager, want, err_msg=f"eager {_id(idx)}")


def _eqns(closed):
    out = []
    for e in closed.eqns:
        if e.primitive.name == "jit":
            out.extend(_eqns(e.params["jaxpr"]))
            continue
        params = {k: v for k, v in e.params.items() if k not in ("sharding",)}
        out.append((e.primitive.name, repr(sorted(params.items()))))
    return out


@pytest.mark.parametrize("idx", STATIC, ids=[_id(i) for i in STATIC])
def test_static_indexing_jaxpr_matches_jax(idx):
    """Static indices become slice / rev / squeeze / broadcast_in_dim, exactly as in JAX."""
    ours = _eqns(mg.make_jaxpr(lambda x: x[idx])(X))
    theirs = _eqns(jax.make_jaxpr(lambda x: x[idx])(X))
    assert ours == theirs


def test_traced_scalar_index_is_dynamic_slice_like_jax():
    for f in (lambda x, i: x[i], lambda x, i: x[1, i], lambda x, i: x[i, ::-1, None]):
        ours = _eqns(mg.make_jaxpr(f)(X, jnp.int32(1)))
        theirs = _eqns(jax.make_jaxpr(f)(X, jnp.int32(1)))
        assert ours == theirs
        assert "dynamic_slice" in [name for name, _ in ours]
    # Negative and out-of-range traced indices: wrapped once, then clamped, as in JAX.
    f = lambda x, i: x[i, i]  # noqa: E731
    for i in (-1, 0, 1, 2, 7, -50):
        np.testing.assert_array_equal(mg.jit(f)(X, jnp.int32(i)), f(X, jnp.int32(i)))


def test_traced_index_wrapped_once_then_clamped():
    f = lambda x, i: x[i, i]  # noqa: E731
    np.testing.assert_array_equal(mg.jit(f)(X, jnp.int32(-3)), f(X, jnp.int32(-3)))


def test_integer_array_indexing_is_one_gather():
    f = lambda x, i: x[:, i]  # noqa: E731
    idx = jnp.asarray([2, -1, 0])
    closed = mg.make_jaxpr(f)(X, idx)
    assert [name for name, _ in _eqns(closed)].count("gather") == 1
    np.testing.assert_array_equal(mg.jit(f)(X, idx), f(X, idx))
    g = lambda x, i, j: x[i, :, j]  # noqa: E731
    i, j = jnp.asarray([[0, 1], [1, 1]]), jnp.asarray([3, -2])
    np.testing.assert_array_equal(mg.jit(g)(X, i, j), g(X, i, j))


def test_index_methods_on_tracers_in_vmap():
    ours = mg.vmap(lambda row, i: row[i] + row[-1])(M, jnp.asarray([0, 4, 2, 1]))
    theirs = jax.vmap(lambda row, i: row[i] + row[-1])(M, jnp.asarray([0, 4, 2, 1]))
    np.testing.assert_allclose(ours, theirs)


# ---------------------------------------------------------------------------
# x.at[...]

UPDATES = [
    ("set", (1,), 5.0),
    ("set", (slice(None), 0), jnp.asarray([[1.0], [2.0]])),
    ("set", (Ellipsis, slice(None, None, -2)), 0.0),
    ("set", (np.asarray([1, 0, 1]),), 3.0),
    ("add", (0, slice(1, None)), 5.0),
    ("add", (np.asarray([0, 0, 1]),), 1.5),
    ("add", (slice(None), np.asarray([2, 2, 0]), 1), jnp.asarray([1.0, 10.0, 100.0])),
    ("add", (np.asarray([[0, 1], [1, 1]]), 1, slice(None, 2)), 2.0),
    ("add", (None, 1), 1.0),
    ("add", MASK_IDX, 4.0),
    ("subtract", (1, 2), 3.0),
    ("multiply", (np.asarray([0, 0, 1]), 1), 2.0),
    ("multiply", (slice(None), -1), -1.0),
    ("divide", (0,), 4.0),
    ("power", (1, 0), 2.0),
    ("min", (np.asarray([0, 0, 1]), 1), jnp.asarray([[-20.0], [0.0], [5.0]])),
    ("max", (np.asarray([1, 1]), slice(None), 3), jnp.asarray([[0.0, 100.0, 0.0], [50.0, 0, 0]])),
    ("min", (slice(None), 0, 0), 0.0),
    ("add", (True, 1), 1.0),
    ("set", (0, False), 1.0),
    ("max", (slice(None), slice(None, None, -1), 0), jnp.asarray([[-9.0, 0.0, 9.0]])),
    ("set", (-1, -1, -1), 42.0),
    ("get", (1, np.asarray([2, 0])), None),
]


def _updates(x):
    return [getattr(x.at[idx], m)(*(() if v is None else (v,))) for m, idx, v in UPDATES]


def test_at_updates():
    """Every update, compiled together; set/add/get/max eagerly too."""
    traced = mg.jit(_updates)(X)
    wanted = jax.jit(_updates)(X)
    for k, ((method, idx, values), got, want) in enumerate(
        zip(UPDATES, traced, wanted, strict=True)
    ):
        what = f"{method}{_id(idx)}"
        assert isinstance(got, jax.Array) and got.dtype == want.dtype, what
        np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=what)
        if method in ("set", "add", "get", "max") and k % 2 == 0:
            args = () if values is None else (values,)
            eager = getattr(_IndexUpdateHelper(X)[idx], method)(*args)
            assert isinstance(eager, jax.Array), what
            np.testing.assert_allclose(eager, want, rtol=1e-6, err_msg=f"eager {what}")


def test_at_set_jaxpr_matches_jax():
    for f in (lambda x: x.at[1].set(3.0), lambda x: x.at[:, 0].add(1.0)):
        assert _eqns(mg.make_jaxpr(f)(X)) == _eqns(jax.make_jaxpr(f)(X))


def test_at_modes_and_dtypes():
    idx = jnp.asarray([0, 5, -1])
    v = jnp.arange(4.0)
    for mode in ("drop", "clip", "fill"):
        ours = mg.jit(lambda x, mode=mode: x.at[idx].set(9.0, mode=mode))(v)
        np.testing.assert_array_equal(ours, v.at[idx].set(9.0, mode=mode))
    np.testing.assert_array_equal(
        mg.jit(lambda x: x.at[idx].get(mode="fill", fill_value=-1.0))(v),
        v.at[idx].get(mode="fill", fill_value=-1.0),
    )
    ints = jnp.arange(6, dtype=jnp.int8)
    got = mg.jit(lambda x: x.at[2].add(3))(ints)
    assert got.dtype == jnp.int8
    np.testing.assert_array_equal(got, ints.at[2].add(3))
    with pytest.warns(FutureWarning):  # JAX warns about the lossy cast; we do not
        want = ints.at[1].set(2.7)
    np.testing.assert_array_equal(mg.jit(lambda x: x.at[1].set(2.7))(ints), want)


# ---------------------------------------------------------------------------
# gradients

GRAD_CASES = [
    lambda np_, x: x[1],
    lambda np_, x: x[:, ::-1, 1:3],
    lambda np_, x: x[None, 0, ..., -1],
    lambda np_, x: x[np.asarray([0, 0, 1])],
    lambda np_, x: x[:, np.asarray([2, 2, 0]), np.asarray([1, 3, 1])],
    lambda np_, x: x[MASK_IDX],
    lambda np_, x: x.at[0, 1].set(0.0),
    lambda np_, x: x.at[np.asarray([1, 1])].add(x[0]),
    lambda np_, x: x.at[:, 1].multiply(3.0),
    lambda np_, x: x.at[..., 0].max(0.0),
    lambda np_, x: x.at[np.asarray([0, 0])].min(-1.5),
    lambda np_, x: np_.take(x, jnp.asarray([3, 0, 3]), axis=2),
    lambda np_, x: np_.take_along_axis(x, jnp.asarray([[[1, 0, 3, 3]]]), axis=1),
]


def _grads(np_, grad):
    def run(x):
        return [grad(lambda x, f=f: (f(np_, x) ** 2).sum())(x) for f in GRAD_CASES]

    return run


def test_grad_through_indexing():
    ours = mg.jit(_grads(mnp, mg.grad))(X)
    theirs = jax.jit(_grads(jnp, jax.grad))(X)
    for k, (o, t) in enumerate(zip(ours, theirs, strict=True)):
        np.testing.assert_allclose(o, t, rtol=1e-6, err_msg=f"GRAD_CASES[{k}]")


def test_grad_through_dynamic_index_and_update_values():
    def loss(x, i, v):
        return (x[i] * x[i - 1]).sum() + (x.at[i].add(v) ** 2).sum()

    args = (M, jnp.int32(2), jnp.arange(5.0))
    ours = mg.grad(loss, argnums=(0, 2))(*args)
    theirs = jax.grad(loss, argnums=(0, 2))(*args)
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(o, t, rtol=1e-6)


# ---------------------------------------------------------------------------
# errors


def test_indexing_errors():
    trace = lambda f: mg.make_jaxpr(f)(X)  # noqa: E731
    with pytest.raises(IndexError, match="Too many indices"):
        trace(lambda x: x[0, 0, 0, 0])
    with pytest.raises(TypeError, match="integer or boolean"):
        trace(lambda x: x[1.5])
    with pytest.raises(TypeError, match="string"):
        trace(lambda x: x["a"])
    with pytest.raises(IndexError, match="single ellipsis"):
        trace(lambda x: x[..., 0, ...])
    with pytest.raises(IndexError, match="boolean index did not match"):
        trace(lambda x: x[np.asarray([True, False, True])])
    with pytest.raises(TypeError, match="non-tuple sequence"):
        trace(lambda x: x[[0, slice(None)]])
    with pytest.raises(TypeError, match="non-tuple sequence"):
        trace(lambda x: x[[0, 1]])
    with pytest.raises(IndexError, match="concrete"):
        mg.make_jaxpr(lambda x: x[x > 0])(X)
    with pytest.raises(IndexError, match="static integers"):
        mg.make_jaxpr(lambda x, i: x[i:])(X, jnp.int32(1))
    with pytest.raises(ValueError, match="step cannot be zero"):
        trace(lambda x: x[::0])
