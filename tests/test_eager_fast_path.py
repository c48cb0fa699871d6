"""The eager fast path: a primitive bound on concrete values runs a cached jax.jit of its
impl rule. Every case compares the fast path with the slow one (the impl rule called
directly, ``core.run_impl``) and with JAX: values, dtypes, weak types, devices,
committedness and shardings, numpy and Python-scalar operands, donation, errors, and
the abstract-evaluation memo that tracing uses.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import multidevice
import numpy as np
import pytest
from conftest import enable_x64

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax import lax
from minigrad_jax._src import core, ir
from minigrad_jax._src.lax import elementwise as el

RNG = np.random.RandomState(0)


def _same(ours, theirs):
    """Same value, dtype and weak type (and a jax.Array on both sides)."""
    assert isinstance(ours, jax.Array), type(ours)
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    assert ours.weak_type == theirs.weak_type, (ours.weak_type, theirs.weak_type)
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def _slow(prim, *args, **params):
    """The slow path: the impl rule itself, on the operands the eval trace would pass."""
    return core.run_impl(prim, [core.jaxable(a) for a in args], params)


def _values(dtype, shape=(5,)):
    if np.dtype(dtype) == np.bool_:
        return RNG.rand(*shape) > 0.5
    if np.issubdtype(dtype, np.integer):
        return RNG.randint(1, 9, size=shape).astype(dtype)
    if np.issubdtype(dtype, np.complexfloating):
        return (RNG.rand(*shape) + 1j * RNG.rand(*shape)).astype(dtype)
    return (RNG.rand(*shape) + 0.5).astype(dtype)


UNARY = [
    ("sin", lax.sin, jax.lax.sin, el.sin_p, {"accuracy": None}, ["float32", "float16", "bfloat16"]),
    ("exp", lax.exp, jax.lax.exp, el.exp_p, {"accuracy": None}, ["float32", "complex64"]),
    ("neg", lax.neg, jax.lax.neg, el.neg_p, {}, ["float32", "int32", "int8", "uint8"]),
    ("abs", lax.abs, jax.lax.abs, el.abs_p, {}, ["float32", "int16"]),
    ("not", lax.bitwise_not, jax.lax.bitwise_not, el.not_p, {}, ["bool", "int32"]),
]


@pytest.mark.parametrize(
    "name,ours,theirs,prim,params,dtype",
    [(n, o, t, p, k, d) for n, o, t, p, k, ds in UNARY for d in ds],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_unary_fast_equals_slow_and_jax(name, ours, theirs, prim, params, dtype):
    dtype = jnp.dtype(dtype)
    x = jnp.asarray(_values(dtype))
    fast = ours(x)
    _same(fast, theirs(x))
    _same(fast, _slow(prim, x, **params))
    assert ours(x) is not fast  # a fresh result each call, never a cached value


BINARY = [
    ("add", lax.add, jax.lax.add, ["float32", "int32", "bfloat16", "complex64"]),
    ("mul", lax.mul, jax.lax.mul, ["float32", "uint8", "float16"]),
    ("max", lax.max, jax.lax.max, ["float32", "int8"]),
    ("lt", lax.lt, jax.lax.lt, ["float32", "int32"]),
]


@pytest.mark.parametrize(
    "name,ours,theirs,dtype",
    [(n, o, t, d) for n, o, t, ds in BINARY for d in ds],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_binary_arrays_numpy_and_scalars(name, ours, theirs, dtype):
    dtype = jnp.dtype(dtype)
    a, b = _values(dtype), _values(dtype)
    ja, jb = jnp.asarray(a), jnp.asarray(b)
    _same(ours(ja, jb), theirs(ja, jb))
    _same(ours(a, b), theirs(a, b))  # numpy operands
    _same(ours(ja, b), theirs(ja, b))
    _same(ours(ja[0], jb[0]), theirs(ja[0], jb[0]))  # 0-d arrays


@pytest.mark.parametrize(
    "value,dtype,ours,theirs",
    [
        (2.0, "float32", lax.add, jax.lax.add),
        (3, "int32", lax.mul, jax.lax.mul),
        (True, "bool", lax.bitwise_or, jax.lax.bitwise_or),
    ],
    ids=["float", "int", "bool"],
)
def test_python_scalars_stay_weak(value, dtype, ours, theirs):
    x = jnp.asarray(_values(jnp.dtype(dtype)))
    _same(ours(x, value), theirs(x, value))
    _same(ours(value, x), theirs(value, x))
    both = ours(value, value)  # two Python scalars: weakly typed unless bool, as in JAX
    _same(both, theirs(value, value))
    assert both.weak_type == (not isinstance(value, bool))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "int8", "float32"])
def test_weak_constants_of_narrow_dtypes(dtype):
    # jnp's promotion hands lax a weak constant of the array's dtype; we do the same
    x = jnp.asarray(_values(jnp.dtype(dtype)))
    _same(mnp.add(x, 1), jnp.add(x, 1))
    _same(mnp.multiply(2, x), jnp.multiply(2, x))
    _same(x * 3 + mnp.ones((), dtype), x * 3 + jnp.ones((), dtype))
    if jnp.issubdtype(dtype, jnp.floating):
        _same(mnp.add(x, 0.5), jnp.add(x, 0.5))
    w = mnp.asarray(2.0) * 1.5  # weak f32 stays weak through the fast path
    _same(w, jnp.asarray(2.0) * 1.5)


def test_numpy_inputs_are_canonicalised_like_jax():
    x64 = RNG.rand(4)  # float64, canonicalised to float32 without x64
    _same(lax.sin(x64), jax.lax.sin(x64))
    i64 = np.arange(4)
    _same(lax.neg(i64), jax.lax.neg(i64))
    _same(lax.add(np.float32(1.5), np.float32(2.0)), jax.lax.add(np.float32(1.5), np.float32(2.0)))
    _same(mnp.sin(x64), jnp.sin(x64))


def test_x64_switch_is_seen():
    x = RNG.rand(3)
    with enable_x64():
        _same(lax.sin(x), jax.lax.sin(x))
        assert lax.sin(x).dtype == np.float64
        _same(mnp.add(np.arange(3), 1), jnp.add(np.arange(3), 1))
    _same(lax.sin(x), jax.lax.sin(x))
    assert lax.sin(x).dtype == np.float32


def test_params_pick_distinct_executables():
    x = jnp.asarray(_values(np.float32, (2, 3)))
    _same(lax.reduce_sum(x, (0,)), jax.lax.reduce_sum(x, (0,)))
    _same(lax.reduce_sum(x, (1,)), jax.lax.reduce_sum(x, (1,)))
    _same(lax.integer_pow(x, 2), jax.lax.integer_pow(x, 2))
    _same(lax.integer_pow(x, 3), jax.lax.integer_pow(x, 3))
    _same(lax.transpose(x, (1, 0)), jax.lax.transpose(x, (1, 0)))
    _same(lax.convert_element_type(x, np.int32), jax.lax.convert_element_type(x, np.int32))
    bid = ((4, 2, 3), (1, 2))
    _same(lax.broadcast_in_dim(x, *bid), jax.lax.broadcast_in_dim(x, *bid))


def test_prng_keys_run_eagerly():
    key = mg.random.key(0)
    ours = mg.random.normal(key, (3,))
    theirs = jax.random.normal(jax.random.key(0), (3,))
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-6)
    k1, k2 = mg.random.split(key)
    np.testing.assert_array_equal(
        np.asarray(mg.random.key_data(k1)),
        np.asarray(jax.random.key_data(jax.random.split(jax.random.key(0))[0])),
    )


def test_committed_device_is_kept():
    dev = jax.devices()[0]
    x = jax.device_put(jnp.arange(3.0), dev)  # committed
    ours, theirs = lax.sin(x), jax.lax.sin(x)
    _same(ours, theirs)
    assert ours.devices() == theirs.devices() == {dev}
    assert ours.sharding == theirs.sharding
    assert ours.committed == theirs.committed


def test_donation_unaffected():
    x = jnp.arange(4.0)
    y, y_jax = lax.sin(x), jax.lax.sin(x)  # eager results, owned by no one else
    out = mg.jit(lambda a: a * 2.0, donate_argnums=0)(y)
    out_jax = jax.jit(lambda a: a * 2.0, donate_argnums=0)(y_jax)
    _same(out, out_jax)
    assert y.is_deleted() == y_jax.is_deleted()
    # the eager op's input is not an alias of its result: it stays alive and correct
    assert not x.is_deleted()
    np.testing.assert_array_equal(np.asarray(x), np.arange(4.0))


def test_bad_operands_raise_our_error_and_keep_the_fast_path():
    x, y = jnp.ones((3,), jnp.float32), jnp.ones((4,), jnp.float32)
    with pytest.raises(TypeError, match=r"\(3,\).*\(4,\)|\(4,\).*\(3,\)"):
        lax.add(x, y)
    with pytest.raises(TypeError, match="int32"):
        lax.add(x, jnp.ones((3,), jnp.int32))
    # a user error does not send the primitive to the slow path
    assert core._eager_executables.get((el.add_p,)) is not None
    _same(lax.add(x, x), jax.lax.add(x, x))


def test_a_rule_jit_cannot_run_falls_back_for_those_operand_types_only():
    # An impl rule that reads integer operands on the host (jit cannot trace that): ints
    # take the slow path from then on, floats keep the jitted one (the rule runs only
    # when jit traces it).
    calls = []

    def rule(x):
        calls.append(x.dtype)
        if jnp.issubdtype(x.dtype, jnp.integer):
            return jnp.asarray(np.asarray(x) + 1)
        return x * 2

    prim = core.Primitive("host_rule_for_ints")
    core.impl_rules[prim] = rule
    core.abstract_eval_rules[prim] = lambda x: x
    f, i = jnp.arange(3.0), jnp.arange(3)
    try:
        for _ in range(3):
            _same(prim.bind(f), f * 2)
            _same(prim.bind(i), jnp.asarray(np.arange(3) + 1))
    finally:  # a throwaway primitive must not stay registered for other test modules
        del core.impl_rules[prim], core.abstract_eval_rules[prim]
        core._eager_executables.pop((prim,), None)
    n_float = sum(jnp.issubdtype(d, jnp.floating) for d in calls)
    n_int = len(calls) - n_float
    assert n_float == 1, calls  # traced once, then the compiled executable
    assert n_int >= 3, calls  # every int call ran the rule itself


def test_higher_order_primitives_are_not_cached():
    # cond's params carry jaxprs: a new pair per call; caching them would keep them alive
    x = jnp.float32(2.0)
    before = len(core._eager_executables)
    for i in range(5):
        out = mg.lax.cond(x > i, lambda v: v * 2.0, lambda v: v - 1.0, x)
        ref = jax.lax.cond(x > i, lambda v: v * 2.0, lambda v: v - 1.0, x)
        _same(out, ref)
    grown = len(core._eager_executables) - before
    assert grown <= 2, grown  # the comparison and the multiply, not one entry per cond


def test_jaxpr_params_are_never_printed_on_the_way(monkeypatch):
    # Deciding that a jit equation's params are not plain data must not read them as
    # dtypes (numpy would print the jaxpr to try, once per call).
    printed = []

    def counting(orig):
        def method(self):
            printed.append(type(self).__name__)
            return orig(self)

        return method

    def loss(w, x):
        return mnp.sum(mnp.tanh(x @ w))

    w, x = jnp.ones((3, 2)), jnp.ones((4, 3))
    expected = jax.grad(lambda w, x: jnp.sum(jnp.tanh(x @ w)))(w, x)
    g = mg.grad(mg.jit(loss))
    g(w, x)
    for cls in (ir.ClosedJaxpr, ir.Jaxpr):
        for name in ("__str__", "__repr__"):
            monkeypatch.setattr(cls, name, counting(getattr(cls, name)))
    for _ in range(2):
        np.testing.assert_allclose(np.asarray(g(w, x)), np.asarray(expected), rtol=1e-5)
        _same(mg.jit(loss)(w, x), jax.jit(lambda w, x: jnp.sum(jnp.tanh(x @ w)))(w, x))
    assert printed == []


def test_effectful_primitives_run_every_time():
    seen = []
    x = jnp.arange(3.0)
    for _ in range(3):
        mg.debug.callback(lambda v: seen.append(np.asarray(v)), x)
    assert len(seen) == 3
    for v in seen:
        np.testing.assert_array_equal(v, np.arange(3.0))


def test_constants_under_a_jax_trace_are_staged_in_place():
    c = jnp.arange(3.0)

    def ours(y):
        return y + lax.sin(c)

    def theirs(y):
        return y + jax.lax.sin(c)

    jo, jt = jax.make_jaxpr(ours)(1.0), jax.make_jaxpr(theirs)(1.0)
    assert [e.primitive.name for e in jo.eqns] == [e.primitive.name for e in jt.eqns]
    _same(jax.jit(ours)(1.0), jax.jit(theirs)(1.0))


def test_grad_uses_the_fast_path_and_matches_jax():
    def f(n):
        def g(x):
            for i in range(6):
                x = n.sin(x) * 1.5 if i % 2 else n.tanh(x) + 0.25
            return (x * x).sum()

        return g

    x = jnp.asarray(_values(np.float32, (4,)))
    np.testing.assert_allclose(
        np.asarray(mg.grad(f(mnp))(x)), np.asarray(jax.grad(f(jnp))(x)), rtol=1e-5
    )


# ---------------------------------------------------------------------------
# the abstract-evaluation memo tracing uses


def test_abstract_eval_memo_keys_on_types():
    # same primitive and params: the weak type, the dtype and the shape each get their own
    for x in (2.0, np.float32(2.0), np.ones(3, np.float16), np.ones(5, np.float16)):
        ours = mg.make_jaxpr(lambda v: lax.add(v, v))(x)
        theirs = jax.make_jaxpr(lambda v: jax.lax.add(v, v))(x)
        (a,), (b,) = ours.out_avals, theirs.out_avals
        assert (a.shape, a.dtype, a.weak_type) == (b.shape, b.dtype, b.weak_type)


def test_abstract_eval_memo_keeps_shape_errors():
    g = lambda x, y: lax.add(x, y)  # noqa: E731
    mg.make_jaxpr(g)(np.ones(3, np.float32), np.ones(3, np.float32))
    for _ in range(2):
        with pytest.raises(TypeError, match="add"):
            mg.make_jaxpr(g)(np.ones(3, np.float32), np.ones(4, np.float32))


def test_abstract_eval_memo_sees_the_named_axes():
    # a psum staged where "i" is bound, then the same types where it is not: NameError
    x = np.ones(3, np.float32)
    with core.extend_axis_env([("i", 2)]):
        jaxpr = mg.make_jaxpr(lambda v: mg.lax.psum(v, "i"))(x)
    assert [e.primitive.name for e in jaxpr.eqns] == ["psum"]
    with pytest.raises(NameError, match="unbound axis name: i"):
        mg.make_jaxpr(lambda v: mg.lax.psum(v, "i"))(x)
    ours = mg.vmap(lambda v: mg.lax.psum(v, "i"), axis_name="i")(np.ones((2, 3), np.float32))
    theirs = jax.vmap(lambda v: jax.lax.psum(v, "i"), axis_name="i")(np.ones((2, 3), np.float32))
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs))


# ---------------------------------------------------------------------------
# devices and shardings on 8 CPU devices (one subprocess)

CHECKS = {
    "committed_to_another_device": """
    d = jax.devices()[3]
    x = jax.device_put(jnp.arange(4.0), d)
    ours, theirs = mg.lax.sin(x), jax.lax.sin(x)
    close(ours, theirs)
    assert ours.devices() == theirs.devices() == {d}, (ours.devices(), theirs.devices())
    assert ours.committed and theirs.committed
    u = jnp.arange(4.0)  # uncommitted meets committed: the committed one's device
    assert mg.lax.add(u, x).devices() == jax.lax.add(u, x).devices() == {d}
    """,
    "two_committed_devices_raise_as_in_jax": """
    x = jax.device_put(jnp.arange(4.0), jax.devices()[1])
    y = jax.device_put(jnp.arange(4.0), jax.devices()[2])
    e1 = raises(ValueError, lambda: jax.lax.add(x, y))
    e2 = raises(ValueError, lambda: mg.lax.add(x, y))
    assert type(e1) is type(e2), (e1, e2)
    """,
    "sharded_operand_keeps_jax_sharding": """
    s = NamedSharding(MESH1, P('i'))
    x = jax.device_put(jnp.arange(16.0).reshape(8, 2), s)
    ours, theirs = mg.lax.exp(x), jax.lax.exp(x)
    close(ours, theirs)
    assert ours.sharding == theirs.sharding, (ours.sharding, theirs.sharding)
    ours2, theirs2 = mnp.sum(x, axis=0), jnp.sum(x, axis=0)
    close(ours2, theirs2)
    """,
    "whole_numpy_functions_keep_devices_and_shardings": """
    # jit_when_eager functions (one jax.jit of the whole function) and lax binders
    d = jax.devices()[3]
    x = jax.device_put(jnp.arange(8.0).reshape(2, 4), d)
    for ours, theirs in [
        (mnp.sin(x), jnp.sin(x)),
        (mnp.add(x, 1.0), jnp.add(x, 1.0)),
        (mnp.var(x, axis=1, ddof=1), jnp.var(x, axis=1, ddof=1)),
        (mg.nn.log_softmax(x), jax.nn.log_softmax(x)),
        (mg.lax.mul(x, x), jax.lax.mul(x, x)),
    ]:
        close(ours, theirs)
        assert ours.devices() == theirs.devices() == {d}, (ours.devices(), theirs.devices())
        assert ours.committed == theirs.committed
    y = jax.device_put(jnp.arange(8.0).reshape(2, 4), jax.devices()[1])
    e1 = raises(ValueError, lambda: jnp.add(x, y))
    e2 = raises(ValueError, lambda: mnp.add(x, y))
    assert type(e1) is type(e2), (e1, e2)
    s = NamedSharding(MESH1, P('i'))
    z = jax.device_put(jnp.arange(16.0).reshape(8, 2), s)
    for ours, theirs in [
        (mnp.exp(z), jnp.exp(z)),
        (mnp.sum(z, axis=1), jnp.sum(z, axis=1)),
        (mg.nn.softmax(z), jax.nn.softmax(z)),
    ]:
        close(ours, theirs)
        assert ours.sharding == theirs.sharding, (ours.sharding, theirs.sharding)
    """,
    "eager_grad_replays_keep_devices_and_shardings": """
    # eager grad: replayed JVP and transpose rules, weak constants as device scalars
    def f(v):
        return (mg.lax.tanh(v) * 1.5 - 2.0).sum() + (v @ v.T).sum()

    def jf(v):
        return (jax.lax.tanh(v) * 1.5 - 2.0).sum() + (v @ v.T).sum()

    d = jax.devices()[3]
    x = jax.device_put(jnp.arange(8.0).reshape(2, 4) / 8, d)
    for _ in range(2):  # recorded, then replayed
        ours, theirs = mg.grad(f)(x), jax.grad(jf)(x)
        close(ours, theirs)
        assert ours.devices() == theirs.devices() == {d}, (ours.devices(), theirs.devices())
        assert ours.committed == theirs.committed
    with jax.default_device(jax.devices()[5]):
        u = jnp.arange(8.0).reshape(2, 4) / 8
        for _ in range(2):
            ours, theirs = mg.grad(f)(u), jax.grad(jf)(u)
            close(ours, theirs)
            assert ours.devices() == theirs.devices(), (ours.devices(), theirs.devices())
    s = NamedSharding(MESH1, P('i'))
    z = jax.device_put(jnp.arange(16.0).reshape(8, 2) / 16, s)
    for _ in range(2):
        ours = mg.grad(lambda v: (mg.lax.sin(v) * 3.0).sum())(z)
        theirs = jax.grad(lambda v: (jax.lax.sin(v) * 3.0).sum())(z)
        close(ours, theirs)
        assert ours.sharding == theirs.sharding, (ours.sharding, theirs.sharding)
    """,
    "default_device_context": """
    d = jax.devices()[5]
    with jax.default_device(d):
        ours, theirs = mg.lax.sin(jnp.float32(1.0) + 0), jax.lax.sin(jnp.float32(1.0) + 0)
        assert ours.devices() == theirs.devices(), (ours.devices(), theirs.devices())
        y = mg.lax.add(np.ones(3, np.float32), np.ones(3, np.float32))
        z = jax.lax.add(np.ones(3, np.float32), np.ones(3, np.float32))
        assert y.devices() == z.devices() == {d}, (y.devices(), z.devices())
    """,
}


results, test_on_8_devices = multidevice.tests_for(CHECKS)
