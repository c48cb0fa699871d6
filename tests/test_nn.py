"""minigrad_jax.nn against jax.nn: values, dtypes, gradients (kinks included), stability."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax import nn

RNG = np.random.default_rng(1)
# Kinks (0, 6, +-1), large magnitudes and ordinary values.
EDGES = jnp.asarray([-30.0, -6.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0, 7.5, 30.0], jnp.float32)
X = jnp.asarray(RNG.normal(size=(3, 4)).astype(np.float32)) * 3
LARGE = jnp.asarray([[1000.0, 1001.0, 999.0], [-1000.0, -1002.0, -999.0]], jnp.float32)


def assert_close(ours, theirs, rtol=1e-6, atol=1e-6, what="", weak_type=False):
    """Same leaves, shapes, dtypes (and weak types, with ``weak_type``), close values."""
    o_leaves = jax.tree_util.tree_leaves(ours)
    t_leaves = jax.tree_util.tree_leaves(theirs)
    assert len(o_leaves) == len(t_leaves), what
    for o, t in zip(o_leaves, t_leaves, strict=True):
        assert isinstance(o, jax.Array), f"{what}: got {type(o).__name__}"
        assert (o.shape, o.dtype) == (t.shape, t.dtype), (
            f"{what}: {o.dtype}{o.shape} vs {t.dtype}{t.shape}"
        )
        if weak_type:
            assert o.weak_type == t.weak_type, f"{what}: weak_type {o.weak_type} vs {t.weak_type}"
        np.testing.assert_allclose(
            np.asarray(o, np.float64), np.asarray(t, np.float64), rtol=rtol, atol=atol, err_msg=what
        )


ACTIVATIONS = [
    ("relu", {}),
    ("relu6", {}),
    ("sigmoid", {}),
    ("silu", {}),
    ("swish", {}),
    ("log_sigmoid", {}),
    ("softplus", {}),
    ("elu", {}),
    ("elu", {"alpha": 0.5}),
    ("leaky_relu", {}),
    ("leaky_relu", {"negative_slope": 0.2}),
    ("gelu", {}),
    ("gelu", {"approximate": False}),
    ("celu", {"alpha": 2.0}),
    ("selu", {}),
    ("hard_tanh", {}),
    ("hard_sigmoid", {}),
    ("hard_silu", {}),
    ("soft_sign", {}),
    ("squareplus", {}),
    ("sparse_plus", {}),
    ("sparse_sigmoid", {}),
    ("tanh", {}),
]
IDS = [f"{n}{k or ''}" for n, k in ACTIVATIONS]


def _activations(mod):
    """All activations on EDGES and X, and their elementwise gradients on EDGES."""

    def run(edges, x):
        outs = []
        for name, kwargs in ACTIVATIONS:
            f = lambda v, name=name, kwargs=kwargs: getattr(mod, name)(v, **kwargs)  # noqa: E731
            grad, vmap = (mg.grad, mg.vmap) if mod is nn else (jax.grad, jax.vmap)
            outs.append((f(edges), f(x), vmap(grad(f))(edges)))
        return outs

    return run


def test_activation_values_and_grads():
    """Values and gradients (kinks included: relu'(0) == 0 as in JAX), compiled together."""
    ours = mg.jit(_activations(nn))(EDGES, X)
    theirs = jax.jit(_activations(jax.nn))(EDGES, X)
    failures = []
    for label, o, t in zip(IDS, ours, theirs, strict=True):
        for what, a, b, tol in zip(("edges", "x", "grad"), o, t, (2e-6, 2e-6, 1e-5), strict=True):
            try:
                assert_close(a, b, rtol=tol, atol=1e-6, what=f"{label} {what}")
            except AssertionError as e:
                failures.append(str(e))
    assert not failures, "\n".join(failures)
    for name, kwargs in ACTIVATIONS[::4]:  # eagerly too, op by op
        ours_e = getattr(nn, name)(EDGES, **kwargs)
        assert_close(ours_e, getattr(jax.nn, name)(EDGES, **kwargs), rtol=2e-6, what=name)


def test_relu_gradient_at_kinks_is_zero():
    assert float(mg.grad(nn.relu)(0.0)) == float(jax.grad(jax.nn.relu)(0.0)) == 0.0
    assert float(mg.grad(nn.relu6)(0.0)) == float(jax.grad(jax.nn.relu6)(0.0)) == 0.0
    assert float(mg.grad(nn.relu6)(6.0)) == float(jax.grad(jax.nn.relu6)(6.0)) == 0.0
    assert float(mg.grad(nn.relu)(2.0)) == 1.0
    assert np.isnan(np.asarray(nn.relu(jnp.asarray(np.nan))))


def test_activations_keep_low_precision_dtypes():
    names = ("relu", "sigmoid", "gelu", "silu", "softplus", "softmax")

    def run(mod):
        return lambda x16, xb16: [getattr(mod, n)(x) for n in names for x in (x16, xb16)]

    args = (X.astype(jnp.float16), X.astype(jnp.bfloat16))
    ours, theirs = mg.jit(run(nn))(*args), jax.jit(run(jax.nn))(*args)
    for o, t in zip(ours, theirs, strict=True):
        assert_close(o, t, rtol=2e-2, atol=2e-2)
    assert_close(nn.gelu(args[1]), jax.nn.gelu(args[1]), rtol=2e-2, atol=2e-2)  # eagerly


def test_activations_of_integers_and_python_scalars():
    ints = jnp.arange(-3, 4)
    for name in ("gelu", "softplus"):
        assert_close(getattr(nn, name)(ints), getattr(jax.nn, name)(ints), what=name)
        ours, theirs = getattr(nn, name)(1.5), getattr(jax.nn, name)(1.5)
        assert_close(ours, theirs, what=name)
        assert ours.weak_type == theirs.weak_type
    assert_close(nn.relu(ints), jax.nn.relu(ints))
    with pytest.raises(TypeError, match="logistic"):  # as jax.nn.sigmoid: floats only
        nn.sigmoid(ints)


SOFTMAX_CASES = [
    ("softmax", X, {}),
    ("softmax", X, {"axis": 0}),
    ("softmax", LARGE, {}),
    ("softmax", X, {"where": X > -1.0}),
    ("log_softmax", X, {}),
    ("log_softmax", LARGE, {"axis": 0}),
    ("log_softmax", X, {"where": X > -1.0}),
    ("logsumexp", X, {}),
    ("logsumexp", X, {"axis": 1}),
    ("logsumexp", LARGE, {"axis": 1, "keepdims": True}),
    ("logsumexp", X, {"axis": (0, 1)}),
    ("logsumexp", X, {"b": jnp.abs(X)}),
    ("logsumexp", X, {"b": X, "axis": 1}),
    ("logsumexp", X, {"axis": 1, "b": X, "return_sign": True}),
    ("logsumexp", X, {"axis": 0, "where": X > 0}),
    ("logsumexp", jnp.full((2,), -jnp.inf), {}),
]


def test_softmax_family():
    ours = mg.jit(lambda: [getattr(nn, n)(x, **k) for n, x, k in SOFTMAX_CASES])()
    theirs = jax.jit(lambda: [getattr(jax.nn, n)(x, **k) for n, x, k in SOFTMAX_CASES])()
    for (name, _, kwargs), o, t in zip(SOFTMAX_CASES, ours, theirs, strict=True):
        assert_close(o, t, rtol=2e-6, atol=2e-6, what=f"{name}{kwargs}")
    for name, x, kwargs in SOFTMAX_CASES[::5]:  # eagerly too
        assert_close(
            getattr(nn, name)(x, **kwargs),
            getattr(jax.nn, name)(x, **kwargs),
            rtol=2e-6,
            atol=2e-6,
            what=f"eager {name}{kwargs}",
        )


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
@pytest.mark.parametrize("x", [X, LARGE], ids=["normal", "large"])
def test_softmax_family_gradients_are_stable(name, x):
    weights = jnp.asarray(RNG.normal(size=x.shape).astype(np.float32))

    def loss(mod, np_):
        if name == "logsumexp":
            return lambda x: np_.sum(mod.logsumexp(x, axis=-1) * weights[..., 0])
        return lambda x: np_.sum(getattr(mod, name)(x) * weights)

    ours = mg.jit(mg.grad(loss(nn, mnp)))(x)
    theirs = jax.jit(jax.grad(loss(jax.nn, jnp)))(x)
    assert np.all(np.isfinite(np.asarray(ours)))
    assert_close(ours, theirs, rtol=1e-5, atol=1e-6, what=f"grad {name}")


def _names(eqns):
    out = []
    for e in eqns:
        inner = e.params.get("jaxpr") if e.primitive.name == "jit" else None
        out.extend(_names(inner.eqns) if inner is not None else [e.primitive.name])
    return out


def test_max_is_stop_gradient_as_in_jax():
    for name in ("softmax", "logsumexp", "log_softmax"):
        ours = _names(mg.make_jaxpr(getattr(nn, name))(X).eqns)
        theirs = _names(jax.make_jaxpr(getattr(jax.nn, name))(X).eqns)
        assert ours.count("stop_gradient") == theirs.count("stop_gradient") == 1, name
        assert ours.count("reduce_max") == theirs.count("reduce_max") == 1, name


def test_one_hot():
    labels = jnp.asarray([0, 2, 1, 5, -1])
    for kwargs in ({}, {"dtype": jnp.int32}, {"axis": 0}, {"dtype": jnp.bool_}):
        assert_close(
            nn.one_hot(labels, 3, **kwargs), jax.nn.one_hot(labels, 3, **kwargs), what=str(kwargs)
        )
    grid = jnp.asarray([[0, 1], [2, 0]])
    assert_close(nn.one_hot(grid, 3, axis=1), jax.nn.one_hot(grid, 3, axis=1))
    assert_close(mg.vmap(lambda i: nn.one_hot(i, 4))(labels), jax.nn.one_hot(labels, 4))


def test_standardize():
    assert_close(nn.standardize(X), jax.nn.standardize(X), rtol=1e-5, atol=1e-5)
    assert_close(
        nn.standardize(X, axis=0, epsilon=1e-3),
        jax.nn.standardize(X, axis=0, epsilon=1e-3),
        rtol=1e-5,
        atol=1e-5,
    )
    m, v = jnp.mean(X, 1, keepdims=True), jnp.var(X, 1, keepdims=True)
    assert_close(
        nn.standardize(X, mean=m, variance=v),
        jax.nn.standardize(X, mean=m, variance=v),
        rtol=1e-5,
        atol=1e-5,
    )
    ours = mg.jit(mg.grad(lambda x: mnp.sum(nn.standardize(x) * X)))(X)
    theirs = jax.jit(jax.grad(lambda x: jnp.sum(jax.nn.standardize(x) * X)))(X)
    assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


def test_glu_and_errors():
    assert_close(nn.glu(X), jax.nn.glu(X))
    with pytest.raises(ValueError, match="divisible by 2"):
        nn.glu(X[:, :3])
    with pytest.raises(TypeError):
        nn.one_hot(jnp.asarray([0]), 2.5)


def test_namespace_exports():
    names = ["relu", "gelu", "sigmoid", "softmax", "log_softmax", "logsumexp", "one_hot"]
    names += ["standardize", "silu", "elu", "leaky_relu", "softplus", "log_sigmoid", "relu6"]
    for name in names:
        assert name in nn.__all__ and callable(getattr(nn, name))


@pytest.mark.parametrize("name", ["relu", "relu6"])
def test_relu_jaxpr_is_jaxs(name):
    # a custom_jvp of a jitted max (and min), as JAX defines them: the same printed jaxpr,
    # and the same jaxpr of its gradient
    ours, theirs = getattr(nn, name), getattr(jax.nn, name)
    for x in (np.ones(3, np.float32), 1, 2.0):
        assert str(mg.make_jaxpr(ours)(x)) == str(jax.make_jaxpr(theirs)(x))
    g = lambda f: lambda x: f(x).sum()  # noqa: E731
    x = np.ones(3, np.float32)
    assert str(mg.make_jaxpr(mg.grad(g(ours)))(x)) == str(jax.make_jaxpr(jax.grad(g(theirs)))(x))
