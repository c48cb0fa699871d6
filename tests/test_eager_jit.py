"""Whole-function eager paths: numpy and nn functions called on concrete values run as
one cached jax.jit of themselves (``core.jit_when_eager``), and the lax wrappers call
their primitive's cached executable directly (``core.binder``). Each case compares
the fast path with the function as written (``__wrapped__``, the op-by-op path) and
with JAX: values, dtypes, weak types; plus fallbacks, debug_nans and jaxprs.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax import lax, nn
from minigrad_jax._src import core
from minigrad_jax._src import jit as jit_module

RNG = np.random.RandomState(1)


def _same(ours, theirs, exact=True):
    assert isinstance(ours, jax.Array), type(ours)
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    assert ours.weak_type == theirs.weak_type, (ours.weak_type, theirs.weak_type)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    if exact:
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    else:
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=2e-6, atol=1e-7)


def _as_written(f):
    """The op-by-op function under the jit_when_eager wrapper (of a ufunc object too)."""
    if not hasattr(f, "__wrapped__"):
        f = type(f).__call__
    return f.__wrapped__


def _warm(f, *args, **kwargs):
    """Call twice: the first call may take the slow path while array types are learnt."""
    f(*args, **kwargs)
    return f(*args, **kwargs)


X = jnp.asarray(RNG.randn(3, 4).astype(np.float32))
XI = jnp.asarray(RNG.randint(-5, 5, (3, 4)).astype(np.int32))
OPERANDS = {
    "f32": X,
    "i32": XI,
    "bool": XI > 0,
    "numpy": np.asarray(X),
    "python float": 1.5,
    "python int": 3,
}

UNARY = ["sin", "exp", "tanh", "negative", "square", "absolute", "sign", "floor", "isfinite"]


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("kind", sorted(OPERANDS))
def test_unary_numpy_functions(name, kind):
    x = OPERANDS[kind]
    ours, theirs = getattr(mnp, name), getattr(jnp, name)
    try:
        expected = theirs(x)
    except TypeError:  # jnp rejects it (a negative of booleans): so do we, on both paths
        for _ in range(2):
            with pytest.raises(TypeError):
                ours(x)
        return
    _same(_warm(ours, x), expected)
    _same(_as_written(ours)(x), expected)


BINARY = ["add", "multiply", "subtract", "maximum", "true_divide", "less", "equal", "remainder"]


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize(
    "pair",
    [
        ("f32", "f32"),
        ("f32", "python float"),
        ("i32", "python int"),
        ("i32", "f32"),
        ("python int", "numpy"),
        ("bool", "i32"),
    ],
)
def test_binary_numpy_functions(name, pair):
    x, y = (OPERANDS[k] for k in pair)
    ours, theirs = getattr(mnp, name), getattr(jnp, name)
    _same(_warm(ours, x, y), theirs(x, y))


REDUCTIONS = [
    ("sum", {}),
    ("sum", {"axis": 0, "keepdims": True}),
    ("sum", {"axis": (0, 1), "dtype": jnp.float32}),
    ("max", {"axis": 1}),
    ("max", {"axis": 0, "initial": -1.0}),
    ("min", {"where": None}),
    ("mean", {"axis": -1}),
    ("var", {"ddof": 1}),
    ("var", {"axis": 0, "correction": 2}),
    ("std", {"ddof": 1}),
    ("prod", {"axis": 0}),
    ("argmax", {"axis": 1}),
    ("cumsum", {"axis": 1}),
    ("any", {"axis": 0}),
]


@pytest.mark.parametrize("name,kwargs", REDUCTIONS, ids=[f"{n}-{k}" for n, k in REDUCTIONS])
@pytest.mark.parametrize("kind", ["f32", "i32"])
def test_reductions(name, kwargs, kind):
    x = OPERANDS[kind]
    ours, theirs = getattr(mnp, name), getattr(jnp, name)
    _same(_warm(ours, x, **kwargs), theirs(x, **kwargs), exact=name not in ("var", "std"))


def test_var_matches_jax_bit_for_bit_whatever_the_call_order():
    # The correction is an operand, as in JAX: a constant divisor would let XLA fold
    # the division differently (1.6666667 where JAX gives 1.6666666).
    x = mnp.array([1.0, 2.0, 3.0, 4.0])
    for ddof in (0, 1, 2, 1):
        _same(mnp.var(x, ddof=ddof), jnp.var(x, ddof=ddof))
    _same(mg.jit(lambda x: mnp.var(x, ddof=1))(x), jax.jit(lambda x: jnp.var(x, ddof=1))(x))


NN = [
    ("log_softmax", {"axis": -1}),
    ("softmax", {"axis": 0}),
    ("sigmoid", {}),
    ("silu", {}),
    ("gelu", {"approximate": False}),
    ("gelu", {}),
    ("elu", {"alpha": 0.5}),
    ("leaky_relu", {}),
    ("standardize", {"axis": 1}),
]


@pytest.mark.parametrize("name,kwargs", NN, ids=[f"{n}-{k}" for n, k in NN])
def test_nn_functions(name, kwargs):
    ours, theirs = getattr(nn, name), getattr(jax.nn, name)
    _same(_warm(ours, X, **kwargs), theirs(X, **kwargs), exact=False)
    _same(_as_written(ours)(X, **kwargs), theirs(X, **kwargs), exact=False)


def test_matmul_dot_tensordot():
    a = jnp.asarray(RNG.randn(4, 5).astype(np.float32))
    _same(_warm(mnp.matmul, X, a), jnp.matmul(X, a), exact=False)
    _same(_warm(mnp.dot, X, a), jnp.dot(X, a), exact=False)
    _same(_warm(mnp.tensordot, X, a, axes=1), jnp.tensordot(X, a, axes=1), exact=False)
    # a list of axes cannot be a jit key: the function runs as written
    _same(mnp.tensordot(X, a, axes=[[1], [0]]), jnp.tensordot(X, a, axes=[[1], [0]]), exact=False)


def test_unhashable_options_fall_back():
    # A list axis cannot be a jit key: the function runs as written and does what
    # jnp does with it (an answer or the same kind of error).
    try:
        expected = jnp.sum(X, axis=[0, 1])
    except Exception as e:  # noqa: BLE001
        with pytest.raises(type(e)):
            mnp.sum(X, axis=[0, 1])
    else:
        _same(mnp.sum(X, axis=[0, 1]), expected)


def test_bad_operands_raise_our_errors():
    with pytest.raises(ValueError, match=r"Incompatible shapes.*\(3, 4\), \(5,\)"):
        _warm(mnp.add, X, jnp.ones((5,)))
    with pytest.raises(ValueError, match="Incompatible shapes"):
        jnp.add(X, jnp.ones((5,)))
    with pytest.raises(TypeError, match="bool"):
        mnp.negative(XI > 0)
    with pytest.raises(ValueError, match="axis"):
        mnp.sum(X, axis=4)


def test_jaxprs_are_unchanged():
    # Under our transforms the functions run as written: no jit equation appears.
    jaxpr = mg.make_jaxpr(lambda x: nn.log_softmax(mnp.sin(x)).sum())(X)
    assert "jit" not in str(jaxpr), jaxpr
    assert [e.primitive.name for e in jaxpr.eqns][:2] == ["sin", "reduce_max"]


def test_under_transforms_values_match_jax():
    f = lambda x: mnp.sum(nn.log_softmax(mnp.tanh(x) * 2.0, axis=-1) ** 2)  # noqa: E731
    g = lambda x: jnp.sum(jax.nn.log_softmax(jnp.tanh(x) * 2.0, axis=-1) ** 2)  # noqa: E731
    np.testing.assert_allclose(mg.grad(f)(X), jax.grad(g)(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mg.vmap(f)(X), jax.vmap(g)(X), rtol=1e-5)
    np.testing.assert_allclose(mg.jit(f)(X), jax.jit(g)(X), rtol=1e-6)


def test_inside_jax_transforms():
    # JAX tracers are not concrete: the function runs as written under JAX's trace.
    f = lambda x: mnp.sum(mnp.sin(x) * x)  # noqa: E731
    np.testing.assert_allclose(jax.grad(f)(X), jax.grad(lambda x: jnp.sum(jnp.sin(x) * x))(X))
    np.testing.assert_allclose(jax.jit(f)(X), f(X), rtol=1e-6)


def test_debug_nans_checks_each_primitive():
    mg.config.update("debug_nans", True)
    try:
        assert core.eager_fast_trace is None
        with pytest.raises(FloatingPointError, match="log"):
            mnp.sum(mnp.log(mnp.array([1.0, -1.0])))
        with pytest.raises(FloatingPointError):
            lax.log(jnp.asarray(-1.0))
    finally:
        mg.config.update("debug_nans", False)
    assert core.eager_fast_trace is core.EVAL_TRACE
    assert np.isnan(lax.log(jnp.asarray(-1.0)))


def test_x64_is_part_of_the_key():
    from conftest import enable_x64

    with enable_x64():
        _same(_warm(mnp.sum, np.arange(3.0)), jnp.sum(np.arange(3.0)))
        assert mnp.sin(1.0).dtype == jnp.sin(1.0).dtype
    _same(mnp.sum(np.arange(3.0)), jnp.sum(np.arange(3.0)))


LAX_UNARY = ["sin", "tanh", "exp", "neg", "abs", "floor", "logistic", "sqrt"]


@pytest.mark.parametrize("name", LAX_UNARY)
@pytest.mark.parametrize("operand", ["f32", "numpy", "python float"])
def test_lax_binders_unary(name, operand):
    x = OPERANDS[operand]
    if name == "sqrt":
        x = abs(x) if not isinstance(x, jax.Array) else jnp.abs(x)
    _same(_warm(getattr(lax, name), x), getattr(jax.lax, name)(x))


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "max", "lt", "eq", "pow"])
@pytest.mark.parametrize("pair", [("f32", "f32"), ("f32", "python float"), ("python float", "f32")])
def test_lax_binders_binary(name, pair):
    x, y = (OPERANDS[k] for k in pair)
    _same(_warm(getattr(lax, name), x, y), getattr(jax.lax, name)(x, y))


def test_lax_binders_errors_and_tracing():
    with pytest.raises(TypeError, match="add"):
        _warm(lax.add, X, XI)
    with pytest.raises(TypeError, match="sin"):
        _warm(lax.sin, XI)
    jaxpr = mg.make_jaxpr(lambda x: lax.mul(lax.sin(x), 2.0))(X)
    assert [e.primitive.name for e in jaxpr.eqns] == ["sin", "mul"]
    assert str(jaxpr) == str(jax.make_jaxpr(lambda x: jax.lax.mul(jax.lax.sin(x), 2.0))(X))
    assert lax.sin.__name__ == "sin" and lax.bitwise_and.__name__ == "bitwise_and"


def _count_jit_calls(monkeypatch):
    """The functions mg.jit runs from now on (of the cached jits too)."""
    calls = []
    real = jit_module.JitWrapped.__call__

    def counting(self, *args, **kwargs):
        calls.append(self.fun)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(jit_module.JitWrapped, "__call__", counting)
    return calls


AUTODIFF = [
    (lambda m, n: lambda z: m.sum(n.log_softmax(z, axis=0) * z)),
    (lambda m, n: lambda z: m.sum(n.softmax(z) ** 2)),
    (lambda m, n: lambda z: m.sum(m.var(z, axis=1, ddof=1))),
    (lambda m, n: lambda z: m.sum(n.gelu(z, approximate=False))),
    (lambda m, n: lambda z: m.sum(n.standardize(z, axis=1) * z)),
]


@pytest.mark.parametrize("make", AUTODIFF)
def test_composite_functions_under_eager_autodiff(make, monkeypatch):
    # Under eager grad/jvp they run as mg.jit of themselves (one executable for the
    # known part, one for the transposed part), as JAX differentiates its jitted
    # functions; the derivatives are JAX's.
    made = _count_jit_calls(monkeypatch)
    f, g = make(mnp, nn), make(jnp, jax.nn)
    z = jnp.asarray(RNG.randn(4, 6).astype(np.float32))
    np.testing.assert_allclose(mg.grad(f)(z), jax.grad(g)(z), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        mg.jvp(f, (z,), (z,))[1], jax.jvp(g, (z,), (z,))[1], rtol=1e-5, atol=1e-6
    )
    value, f_lin = mg.linearize(f, z)
    np.testing.assert_allclose(f_lin(z), jax.linearize(g, z)[1](z), rtol=1e-5, atol=1e-6)
    assert made, "the composite function did not run as one jit under autodiff"
    # staged (jit, make_jaxpr) it runs as written: no jit equation in the jaxpr
    assert "jit[" not in str(mg.make_jaxpr(mg.grad(f))(z))
    np.testing.assert_allclose(mg.jit(mg.grad(f))(z), jax.grad(g)(z), rtol=1e-5, atol=1e-6)
    # under vmap (not autodiff alone) too
    np.testing.assert_allclose(
        mg.vmap(mg.grad(f))(z[None]), jax.vmap(jax.grad(g))(z[None]), rtol=1e-5, atol=1e-6
    )


def test_no_autodiff_jit_while_debug_nans(monkeypatch):
    made = _count_jit_calls(monkeypatch)
    f = lambda z: nn.log_softmax(z)[0]  # noqa: E731
    z = jnp.ones((3,))
    mg.config.update("debug_nans", True)
    try:
        expected = jax.grad(lambda z: jax.nn.log_softmax(z)[0])(z)
        np.testing.assert_allclose(mg.grad(f)(z), expected, rtol=1e-6)
    finally:
        mg.config.update("debug_nans", False)
    assert not made  # each primitive was checked on its own
    np.testing.assert_allclose(mg.grad(f)(z), expected, rtol=1e-6)
    assert made


PROMOTION_CASES = [
    (np.float16, 2.0),
    (np.float16, 3),
    (np.float32, 2**40),
    (np.int32, 7),
    (np.int32, 2**31),
    (np.int8, 300),
    (np.uint8, -1),
    (np.uint32, 5),
    (np.bool_, True),
    (np.bool_, 2),
    (np.complex64, 1.5),
    (np.float32, 1j),
    (jnp.bfloat16, 0.5),
]


@pytest.mark.parametrize("dtype,scalar", PROMOTION_CASES)
@pytest.mark.parametrize("op", ["add", "multiply", "maximum", "true_divide", "subtract"])
def test_binary_promotion_under_transforms_is_jax(dtype, scalar, op):
    # The short cut for (tracer, Python scalar) and (tracer, tracer) promotion must give
    # what the general path gives, which is JAX's: dtype, weak type, value, or the error.
    x = np.asarray([1, 2, 3]).astype(dtype)
    o_mg, o_jax = getattr(mnp, op), getattr(jnp, op)

    def ours(x):
        x = mnp.asarray(x)
        return o_mg(x, scalar), o_mg(scalar, x), o_mg(x, x)

    def theirs(x):
        return o_jax(x, scalar), o_jax(scalar, x), o_jax(x, x)

    for weak in (False, True):
        arg = x[0].item() if weak else x  # a Python scalar argument is weakly typed
        try:
            expected = jax.jit(theirs)(arg)
        except Exception as e:  # noqa: BLE001
            with pytest.raises(type(e)):
                mg.jit(ours)(arg)
            continue
        for a, b in zip(mg.jit(ours)(arg), expected, strict=True):
            _same(a, b)


def test_donation_and_deleted_operands():
    x = jnp.arange(4.0)
    y, y_jax = mnp.sin(x), jnp.sin(x)  # results of whole-function jits
    _same(
        mg.jit(lambda a: a * 2.0, donate_argnums=0)(y),
        jax.jit(lambda a: a * 2.0, donate_argnums=0)(y_jax),
    )
    assert y.is_deleted() == y_jax.is_deleted()
    if y_jax.is_deleted():  # a deleted operand: an error naming it, not a wrong value
        # (JAX's C++ dispatch raises ValueError, its Python path RuntimeError)
        with pytest.raises((ValueError, RuntimeError), match="deleted"):
            jnp.sin(y_jax)
        for _ in range(2):
            with pytest.raises((ValueError, RuntimeError), match="deleted"):
                mnp.sin(y)
    assert not x.is_deleted()
    _same(mnp.sin(x), jnp.sin(x))
