"""The rest of jax.nn in minigrad_jax.nn: dot_product_attention, mish, log1mexp,
logmeanexp, identity. Values, dtypes, gradients, vmap and jit against jax.nn."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax import nn
from tests.test_nn import assert_close as _assert_close

RNG = np.random.default_rng(7)


def assert_close(ours, theirs, rtol=1e-5, atol=1e-5, what=""):
    _assert_close(ours, theirs, rtol, atol, what, weak_type=True)


def _jax(fn, *args, **kwargs):
    """JAX's reference ``fn(*args, **kwargs)``, in one jax.jit (one XLA compile, not
    one per operation as eagerly); keyword arguments are closed over (static)."""
    return jax.jit(partial(fn, **kwargs))(*args)


def test_names_match_jax_nn():
    # The microscaling trio is out of scope.
    left_out = {"scaled_matmul", "scaled_dot_general", "get_scaled_dot_general_config"}
    public = {n for n in dir(jax.nn) if not n.startswith("_")}
    assert public - set(dir(nn)) == left_out


# ---------------------------------------------------------------------------
# elementwise and reductions

X = jnp.asarray(RNG.normal(size=(3, 5)).astype(np.float32)) * 3
POS = jnp.asarray([1e-6, 1e-3, 0.1, 0.5, float(np.log(2.0)), 1.0, 5.0, 30.0, 100.0], jnp.float32)


@pytest.mark.parametrize("name", ["mish", "identity"])
def test_elementwise_values_grad_vmap_jit(name):
    ours, theirs = getattr(nn, name), getattr(jax.nn, name)
    want = _jax(theirs, X)
    assert_close(ours(X), want, what=name)
    assert_close(mg.jit(ours)(X), want, what=f"jit {name}")
    assert_close(mg.vmap(ours)(X), _jax(jax.vmap(theirs), X), what=f"vmap {name}")
    g_ours = mg.grad(lambda x: mnp.sum(ours(x)))(X)
    g_theirs = _jax(jax.grad(lambda x: jnp.sum(theirs(x))), X)
    assert_close(g_ours, g_theirs, what=f"grad {name}")


@pytest.mark.parametrize("x", [1.0, 2, np.float32(0.5), [1.0, 2.0]])
def test_identity_and_mish_accept_what_jax_accepts(x):
    for name in ("identity", "mish"):
        try:
            expected = getattr(jax.nn, name)(x)
        except TypeError:
            with pytest.raises(TypeError):
                getattr(nn, name)(x)
            continue
        assert_close(getattr(nn, name)(x), expected, what=f"{name}({x!r})")


def test_log1mexp_values_and_custom_derivative():
    want = _jax(jax.nn.log1mexp, POS)
    assert_close(nn.log1mexp(POS), want, rtol=1e-6, atol=0)
    # JAX's custom derivative 1 / expm1(x), finite where the formula's own would not be.
    g = mg.grad(lambda x: mnp.sum(nn.log1mexp(x)))(POS)
    g_want = _jax(jax.grad(lambda x: jnp.sum(jax.nn.log1mexp(x))), POS)
    assert_close(g, g_want, rtol=1e-6, atol=0)
    assert_close(mg.jit(nn.log1mexp)(POS), want, rtol=1e-6, atol=0)
    assert_close(mg.vmap(nn.log1mexp)(POS), want, rtol=1e-6, atol=0)
    # second order goes through the rule too
    h = mg.grad(mg.grad(lambda x: nn.log1mexp(x)))(2.0)
    assert_close(h, _jax(jax.grad(jax.grad(jax.nn.log1mexp)), 2.0), rtol=1e-6)


def test_log1mexp_jvp_matches_finite_differences():
    x, eps = np.float64(1.3), 1e-4
    _, t = mg.jvp(nn.log1mexp, (np.float32(x),), (np.float32(1.0),))
    fd = (np.log1p(-np.exp(-(x + eps))) - np.log1p(-np.exp(-(x - eps)))) / (2 * eps)
    np.testing.assert_allclose(float(t), fd, rtol=1e-4)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"axis": 1},
        {"axis": 0, "keepdims": True},
        {"axis": (0, 1)},
        {"axis": 1, "where": np.asarray(RNG.random((3, 5)) > 0.3)},
        {"where": np.asarray(RNG.random((3, 5)) > 0.3), "keepdims": True},
    ],
)
def test_logmeanexp(kwargs):
    want = _jax(jax.nn.logmeanexp, X, **kwargs)
    assert_close(nn.logmeanexp(X, **kwargs), want)
    g = mg.grad(lambda x: mnp.sum(nn.logmeanexp(x, **kwargs)))(X)
    assert_close(g, _jax(jax.grad(lambda x: jnp.sum(jax.nn.logmeanexp(x, **kwargs))), X))
    assert_close(mg.jit(lambda x: nn.logmeanexp(x, **kwargs))(X), want)


def test_logmeanexp_vmap_and_large_values():
    big = jnp.asarray([[1000.0, 1001.0], [-1000.0, -1003.0]], jnp.float32)
    assert_close(nn.logmeanexp(big, axis=1), _jax(jax.nn.logmeanexp, big, axis=1))
    ours = mg.vmap(lambda r: nn.logmeanexp(r))(X)
    assert_close(ours, _jax(jax.vmap(lambda r: jax.nn.logmeanexp(r)), X))


# ---------------------------------------------------------------------------
# dot_product_attention


def _qkv(B=2, T=5, S=6, N=4, K=2, H=8, dtype=np.float32):
    q = RNG.standard_normal((B, T, N, H)).astype(dtype)
    k = RNG.standard_normal((B, S, K, H)).astype(dtype)
    v = RNG.standard_normal((B, S, K, H)).astype(dtype)
    return jnp.asarray(q), jnp.asarray(k), jnp.asarray(v)


Q, K, V = _qkv()
SEQ = {
    "query_seq_lengths": jnp.asarray([5, 3], jnp.int32),
    "key_value_seq_lengths": jnp.asarray([6, 2], jnp.int32),
}
CASES = {
    "plain": ({}, {}),
    "scale": ({}, {"scale": 0.3}),
    "causal": ({}, {"is_causal": True}),
    "bias_one_head": ({"bias": RNG.standard_normal((2, 1, 5, 6)).astype(np.float32)}, {}),
    "bias_all_heads": ({"bias": RNG.standard_normal((1, 4, 5, 6)).astype(np.float32)}, {}),
    "mask": ({"mask": RNG.random((2, 4, 5, 6)) > 0.3}, {}),
    "mask_broadcast": ({"mask": RNG.random((1, 1, 5, 6)) > 0.2}, {"is_causal": True}),
    "window_int": ({}, {"local_window_size": 1}),
    "window_pair": ({}, {"local_window_size": (2, 0), "is_causal": True}),
    "seq_lengths": ({}, SEQ),
    "everything": (
        {"bias": RNG.standard_normal((2, 4, 5, 6)).astype(np.float32)},
        {"is_causal": True, "local_window_size": (3, 1), "scale": 0.5, **SEQ},
    ),
}


def _attn(lib, q, k, v, args, kwargs):
    return lib.dot_product_attention(q, k, v, **args, **kwargs)


@pytest.mark.parametrize("case", sorted(CASES))
def test_attention_values_and_grads(case):
    args, kwargs = CASES[case]
    want = _jax(lambda q, k, v: _attn(jax.nn, q, k, v, args, kwargs), Q, K, V)
    assert_close(_attn(nn, Q, K, V, args, kwargs), want, what=case)

    def loss(lib, reduce):
        return lambda q, k, v: reduce(_attn(lib, q, k, v, args, kwargs) ** 2)

    ours = mg.grad(loss(nn, mnp.sum), argnums=(0, 1, 2))(Q, K, V)
    theirs = _jax(jax.grad(loss(jax.nn, jnp.sum), argnums=(0, 1, 2)), Q, K, V)
    assert_close(ours, theirs, what=f"grad {case}")


def test_attention_bias_gradient():
    bias = jnp.asarray(RNG.standard_normal((2, 1, 5, 6)).astype(np.float32))

    def loss(lib, reduce):
        return lambda b: reduce(lib.dot_product_attention(Q, K, V, bias=b, is_causal=True) ** 2)

    assert_close(mg.grad(loss(nn, mnp.sum))(bias), _jax(jax.grad(loss(jax.nn, jnp.sum)), bias))


def test_attention_jit_and_vmap():
    args, kwargs = CASES["everything"]
    expected = _jax(lambda q, k, v: _attn(jax.nn, q, k, v, args, kwargs), Q, K, V)
    jitted = mg.jit(lambda q, k, v: _attn(nn, q, k, v, args, kwargs))
    assert_close(jitted(Q, K, V), expected)
    # vmap over an extra leading axis of query (3-D q, k, v inside: TNH / SKH)
    qs, ks, vs = Q[:, :, :2], K[:, :, :1], V[:, :, :1]
    ours = mg.vmap(lambda q, k, v: nn.dot_product_attention(q, k, v, is_causal=True))(qs, ks, vs)
    theirs = _jax(
        jax.vmap(lambda q, k, v: jax.nn.dot_product_attention(q, k, v, is_causal=True)), qs, ks, vs
    )
    assert_close(ours, theirs)


def test_attention_three_dim_inputs_and_mha():
    q, k, v = _qkv(B=1, T=3, S=4, N=2, K=2, H=4)
    assert_close(
        nn.dot_product_attention(q[0], k[0], v[0]),
        _jax(jax.nn.dot_product_attention, q[0], k[0], v[0]),
    )


def test_attention_return_residual():
    args, kwargs = CASES["everything"]
    ours = nn.dot_product_attention(Q, K, V, **args, **kwargs, return_residual=True)
    theirs = _jax(jax.nn.dot_product_attention, Q, K, V, **args, **kwargs, return_residual=True)
    assert_close(ours, theirs)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_attention_low_precision(dtype):
    q, k, v = (t.astype(dtype) for t in (Q, K, V))
    ours = nn.dot_product_attention(q, k, v, is_causal=True)
    if dtype == jnp.float16:  # jitted, JAX's float16 dot_general is refused on CPU
        theirs = jax.nn.dot_product_attention(q, k, v, is_causal=True)
    else:
        theirs = _jax(jax.nn.dot_product_attention, q, k, v, is_causal=True)
    assert_close(ours, theirs, rtol=2e-2, atol=2e-2)


def test_attention_implementation_option():
    assert_close(
        nn.dot_product_attention(Q, K, V, implementation="xla"), nn.dot_product_attention(Q, K, V)
    )
    with pytest.raises(RuntimeError, match="cuDNN"):
        nn.dot_product_attention(Q, K, V, implementation="cudnn")
    with pytest.raises(ValueError, match="Unsupported implementation"):
        nn.dot_product_attention(Q, K, V, implementation="flash")


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: (Q, K, V[:, :, :, :4]), "value shape"),
        (lambda: (Q[..., :4], K, V), "query shape"),
        (lambda: (Q[:, :, :3], K, V), "multiple of key/value heads"),
        (lambda: (Q, K, V.astype(jnp.bfloat16)), "value dtype"),
    ],
)
def test_attention_shape_errors_match_jax(make, match):
    q, k, v = make()
    with pytest.raises(ValueError, match=match):
        jax.nn.dot_product_attention(q, k, v)
    with pytest.raises(ValueError, match=match):
        nn.dot_product_attention(q, k, v)


def test_attention_mask_and_seq_length_dtype_errors():
    with pytest.raises(ValueError, match="mask dtype"):
        nn.dot_product_attention(Q, K, V, mask=np.ones((1, 1, 5, 6), np.int32))
    with pytest.raises(ValueError, match="query_seq_lengths dtype"):
        nn.dot_product_attention(Q, K, V, query_seq_lengths=np.array([1.0, 2.0]))
