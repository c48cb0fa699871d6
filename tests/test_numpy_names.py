"""The remaining names of jax.numpy: packbits/unpackbits, bitwise_count, scalar types and
dtype aliases, ``ndarray``, and the ``ufunc`` objects (``mnp.add.reduce`` and friends,
``frompyfunc``), each against jax.numpy: values, dtypes, isinstance, jit and grad."""

from __future__ import annotations

import operator
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax._src import core
from tests.test_nn import assert_close as assert_same

RNG = np.random.default_rng(3)


# ---------------------------------------------------------------------------
# packbits / unpackbits / bitwise_count

INTS = RNG.integers(-3, 3, size=(3, 10)).astype(np.int32)


@pytest.mark.parametrize("axis", [None, 0, -1])
@pytest.mark.parametrize("arg", [INTS, INTS > 0, INTS.astype(np.uint8)], ids=["i32", "bool", "u8"])
def test_packbits(arg, axis):
    for bitorder in ("big", "little"):
        assert_same(mnp.packbits(arg, axis, bitorder), jnp.packbits(arg, axis, bitorder))


BYTES = RNG.integers(0, 256, size=(2, 3)).astype(np.uint8)


@pytest.mark.parametrize(
    "axis, count, bitorder",
    [(None, None, "big"), (None, 30, "little"), (0, 3, "big"), (1, None, "little"), (1, 30, "big")],
)
def test_unpackbits(axis, count, bitorder):
    ours = mnp.unpackbits(BYTES, axis=axis, count=count, bitorder=bitorder)
    assert_same(ours, jnp.unpackbits(BYTES, axis=axis, count=count, bitorder=bitorder))


def test_pack_unpack_roundtrip_under_jit_and_vmap():
    bits = np.asarray(RNG.random((4, 13)) > 0.5)
    packed = mg.jit(lambda b: mnp.packbits(b, axis=1))(bits)
    assert_same(packed, jnp.packbits(bits, axis=1))
    back = mg.vmap(lambda p: mnp.unpackbits(p, count=13))(packed)
    assert_same(back, jnp.asarray(bits.astype(np.uint8)))


def test_pack_unpack_errors_match_jax():
    for lib in (jnp, mnp):
        with pytest.raises(TypeError):
            lib.packbits(np.ones(3, np.float32))
        with pytest.raises(TypeError):
            lib.unpackbits(np.ones(3, np.int32))
        with pytest.raises(ValueError, match="'order'"):
            lib.packbits(INTS, bitorder="middle")


def test_bitwise_count():
    x = np.array([0, 1, 7, -8, 2**30, -1], np.int32)
    assert_same(mnp.bitwise_count(x), jnp.bitwise_count(x))
    assert_same(mg.jit(mnp.bitwise_count)(x), jnp.bitwise_count(x))


def test_bitwise_count_unsigned():
    x = np.array([0, 1, 7, 248, 255], np.uint8)
    assert_same(mnp.bitwise_count(x), jnp.bitwise_count(x))


# ---------------------------------------------------------------------------
# scalar types and dtype aliases

NEW_SCALAR_TYPES = [
    "int1",
    "int2",
    "int4",
    "uint1",
    "uint2",
    "uint4",
    "float4_e2m1fn",
    "float6_e2m3fn",
    "float6_e3m2fn",
    "float8_e3m4",
    "float8_e4m3",
    "float8_e4m3b11fnuz",
    "float8_e4m3fn",
    "float8_e4m3fnuz",
    "float8_e5m2",
    "float8_e5m2fnuz",
    "float8_e8m0fnu",
]


# XLA on CPU has no float6 (jnp.zeros(2, jnp.float6_e2m3fn) fails in JAX too).
NO_ARRAYS = {"float6_e2m3fn", "float6_e3m2fn", "uint1"}  # XLA on CPU builds none, in JAX either
ALL_TYPES = NEW_SCALAR_TYPES + ["bool", "single", "double", "uint"]


def _canonical(dtype):
    dtype = np.dtype(dtype)
    if not jax.config.jax_enable_x64 and dtype.itemsize == 8:
        return np.dtype({"f": np.float32, "u": np.uint32, "i": np.int32}[dtype.kind])
    return dtype


@pytest.mark.parametrize("name", ALL_TYPES)
def test_scalar_types_match_jnp(name):
    ours, theirs = getattr(mnp, name), getattr(jnp, name)
    assert ours.dtype == theirs.dtype
    assert np.dtype(ours) == np.dtype(theirs)
    assert ours == theirs.dtype.type
    assert mnp.issubdtype(ours, theirs.dtype)
    value = -1 if name == "int1" else 1
    assert isinstance(theirs.dtype.type(value), ours)
    if name in NO_ARRAYS:
        return
    assert mnp.zeros(2, dtype=ours).dtype == _canonical(theirs.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # uint64 -> uint32 without x64, from both
        assert_same(ours(value), theirs(value), what=name)


def test_aliases_are_the_same_objects_as_in_jnp():
    assert mnp.bool is mnp.bool_
    assert mnp.single is mnp.float32 and mnp.double is mnp.float64
    assert mnp.uint is mnp.uint64
    for name in ("object_", "character", "flexible", "ComplexWarning"):
        assert getattr(mnp, name) is getattr(jnp, name), name
    assert issubclass(mnp.ComplexWarning, Warning)


def test_scalar_type_used_inside_transforms():
    f = mg.jit(lambda x: mnp.float8_e4m3fn(x).astype(mnp.float32))
    x = np.array([0.3, 1.7, -2.2], np.float32)
    assert_same(f(x), jnp.float8_e4m3fn(x).astype(jnp.float32))


# ---------------------------------------------------------------------------
# ndarray


def test_ndarray_isinstance_on_values():
    assert isinstance(mnp.ones(3), mnp.ndarray)
    assert isinstance(jnp.ones(3), mnp.ndarray)
    assert not isinstance(np.ones(3), mnp.ndarray)
    assert not isinstance(1.0, mnp.ndarray)
    assert not isinstance([1.0], mnp.ndarray)
    # as in JAX: jnp.ndarray is jax.Array and numpy arrays are not instances
    assert not isinstance(np.ones(3), jnp.ndarray)
    assert issubclass(jax.Array, mnp.ndarray)
    assert issubclass(core.Tracer, mnp.ndarray)
    assert not issubclass(np.ndarray, mnp.ndarray)


@pytest.mark.parametrize("transform", ["jit", "grad", "vmap", "make_jaxpr", "jvp"])
def test_ndarray_isinstance_on_tracers(transform):
    seen = []

    def f(x):
        seen.append((isinstance(x, mnp.ndarray), isinstance(x, core.Tracer)))
        return mnp.sum(mnp.sin(x))

    x = np.ones(3, np.float32)
    if transform == "jvp":
        mg.jvp(f, (x,), (x,))
    else:
        getattr(mg, transform)(f)(x)
    assert seen and all(is_array for is_array, _ in seen)
    assert any(is_tracer for _, is_tracer in seen)


def test_our_tracers_are_not_virtual_jax_arrays():
    def f(x):
        assert isinstance(x, mnp.ndarray)
        assert not isinstance(x, jax.Array)
        return x

    mg.grad(lambda x: f(x) * 2.0)(1.0)
    assert not issubclass(core.Tracer, jax.Array)


def test_ndarray_cannot_be_instantiated():
    with pytest.raises(TypeError):
        mnp.ndarray((2,))


# ---------------------------------------------------------------------------
# ufunc objects

JNP_UFUNCS = sorted(n for n in dir(jnp) if isinstance(getattr(jnp, n), jnp.ufunc))


def test_the_same_names_are_ufuncs():
    ours = sorted(n for n in dir(mnp) if isinstance(getattr(mnp, n), mnp.ufunc))
    assert ours == JNP_UFUNCS


@pytest.mark.parametrize("name", JNP_UFUNCS)
def test_ufunc_attributes(name):
    ours, theirs = getattr(mnp, name), getattr(jnp, name)
    assert (ours.nin, ours.nout, ours.nargs) == (theirs.nin, theirs.nout, theirs.nargs)
    assert ours.identity == theirs.identity or (
        np.isnan(ours.identity) and np.isnan(theirs.identity)
    )
    assert ours.__name__ == theirs.__name__ == name
    assert repr(ours) == f"<mnp.ufunc '{name}'>"
    assert hash(ours) == hash(ours) and ours == ours and ours != mnp.add or name == "add"


F = RNG.normal(size=(3, 4, 5)).astype(np.float32)
INT = RNG.integers(-8, 9, size=(3, 4, 5)).astype(np.int32)
B = RNG.random((3, 4, 5)) > 0.5
WHERE = RNG.random((3, 4, 5)) > 0.4


def _operand(name):
    if name.startswith("bitwise"):
        return INT
    if name.startswith("logical"):
        return B
    return F


BINARY = [n for n in JNP_UFUNCS if getattr(jnp, n).nin == 2]


@pytest.mark.parametrize("name", JNP_UFUNCS)
def test_ufunc_call_is_our_function(name):
    ours, theirs = getattr(mnp, name), getattr(jnp, name)
    args = (_operand(name),) * ours.nin
    assert_same(ours(*args), theirs(*args), what=name)
    assert_same(mg.jit(ours)(*args), theirs(*args), what=name)


def test_make_jaxpr_of_a_ufunc_is_the_plain_function():
    x = np.ones(3, np.float32)
    assert str(mg.make_jaxpr(mnp.add)(x, x)) == str(mg.make_jaxpr(lambda a, b: a + b)(x, x))
    assert "add a b" in str(mg.make_jaxpr(mnp.add)(x, x))


REDUCE_CONFIGS = [{"axis": 0}, {"axis": -1, "keepdims": True}, {"axis": None}]


@pytest.mark.parametrize("name", BINARY)
def test_ufunc_reduce(name):
    a = _operand(name)
    for kwargs in REDUCE_CONFIGS:
        ours = getattr(mnp, name).reduce(a, **kwargs)
        theirs = getattr(jnp, name).reduce(a, **kwargs)
        assert_same(ours, theirs, rtol=1e-5, what=f"{name}.reduce {kwargs}")


@pytest.mark.parametrize("name", BINARY)
def test_ufunc_reduce_initial_where(name):
    a, where = _operand(name), WHERE
    initial = {F.dtype: 0.5, INT.dtype: 3, B.dtype: True}[a.dtype]
    kwargs = {"axis": 1, "initial": initial, "where": where}
    ours = getattr(mnp, name).reduce(a, **kwargs)
    assert_same(ours, getattr(jnp, name).reduce(a, **kwargs), rtol=1e-5, what=name)
    if getattr(jnp, name).identity is None:
        for lib in (jnp, mnp):
            with pytest.raises(ValueError, match="identity"):
                getattr(lib, name).reduce(a, where=where)


@pytest.mark.parametrize("name", ["add", "multiply"])
def test_ufunc_reduce_dtype(name):
    ours = getattr(mnp, name).reduce(INT, axis=0, dtype=jnp.float32)
    assert_same(ours, getattr(jnp, name).reduce(INT, axis=0, dtype=jnp.float32))


# add/multiply accumulate with cumsum/cumprod; the others share the generic scan.
@pytest.mark.parametrize(
    "name", ["add", "multiply", "maximum", "logaddexp2", "bitwise_and", "logical_or"]
)
def test_ufunc_accumulate(name):
    a = _operand(name)
    axis = 2 if name < "logical" else 0
    ours = getattr(mnp, name).accumulate(a, axis=axis)
    assert_same(ours, getattr(jnp, name).accumulate(a, axis=axis), rtol=1e-5, what=name)


@pytest.mark.parametrize("name", BINARY)
def test_ufunc_outer(name):
    a = _operand(name)
    x, y = a[0, :2, :3], a[1, 0]
    assert_same(getattr(mnp, name).outer(x, y), getattr(jnp, name).outer(x, y), what=name)


@pytest.mark.parametrize("shapes", [((3,), (4,)), ((), (2, 2)), ((2, 1), ())])
def test_ufunc_outer_shapes(shapes):
    x, y = F.ravel()[: int(np.prod(shapes[0]))], F.ravel()[-int(np.prod(shapes[1])) :]
    x, y = x.reshape(shapes[0]), y.reshape(shapes[1])
    assert_same(mnp.add.outer(x, y), jnp.add.outer(x, y))


# jnp's ufunc.at is jitted with the indices traced: arrays and ints only.
AT_INDICES = [np.array([0, 2, 2]), (np.array([0, 1, 0]), np.array([1, 1, 3])), 1]


# add/multiply/subtract scatter; the others share the generic gather-apply-scatter scan.
@pytest.mark.parametrize(
    "name", ["add", "multiply", "subtract", "maximum", "logaddexp", "bitwise_xor", "logical_and"]
)
def test_ufunc_at(name):
    a = _operand(name)
    for indices in AT_INDICES[:2] if name not in ("add", "maximum", "subtract") else AT_INDICES:
        b = jnp.asarray(a)[indices]
        ours = getattr(mnp, name).at(a, indices, b, inplace=False)
        theirs = getattr(jnp, name).at(a, indices, b, inplace=False)
        assert_same(ours, theirs, rtol=1e-5, what=f"{name}.at {indices}")


@pytest.mark.parametrize("name", ["add", "maximum", "logical_or"])
def test_ufunc_at_with_slices_matches_numpy(name):
    # Beyond jnp (whose jitted ufunc.at rejects slices): numpy's ufunc.at is the reference.
    a = _operand(name)
    indices = (np.array([0, 1, 0]), slice(None), 1)
    b = np.asarray(a)[indices]
    expected = np.array(a)
    getattr(np, name).at(expected, indices, b)
    ours = getattr(mnp, name).at(a, indices, b, inplace=False)
    np.testing.assert_allclose(np.asarray(ours), expected, rtol=1e-6)


def test_unary_ufunc_at_and_binary_only_methods():
    ours, theirs = (
        mnp.negative.at(F, (0, 1), inplace=False),
        jnp.negative.at(F, (0, 1), inplace=False),
    )
    assert_same(ours, theirs)
    for method in ("reduce", "accumulate", "reduceat", "outer"):
        args = (F, np.array([0])) if method in ("reduceat", "outer") else (F,)
        for lib in (jnp, mnp):
            with pytest.raises(ValueError, match="binary"):
                getattr(lib.negative, method)(*args)
    for lib in (jnp, mnp):
        with pytest.raises(NotImplementedError):
            lib.add.at(F, 0, 1.0)


@pytest.mark.parametrize("name", ["add", "maximum", "logaddexp", "bitwise_or", "logical_xor"])
def test_ufunc_reduceat(name):
    a = _operand(name)
    configs = ((2, np.array([0, 2, 1, 4])), (0, np.array([0, 1])))
    for axis, indices in configs if name == "add" else configs[:1]:
        ours = getattr(mnp, name).reduceat(a, indices, axis=axis)
        theirs = getattr(jnp, name).reduceat(a, indices, axis=axis)
        assert_same(ours, theirs, rtol=1e-5, what=f"{name}.reduceat axis={axis}")


def test_ufunc_methods_under_jit():
    def methods(lib, x):
        return (
            lib.add.reduce(x, axis=1),
            lib.maximum.accumulate(x, axis=0),
            lib.multiply.outer(x[0, 0], x[1, 1]),
            lib.subtract.at(x, np.array([0, 0]), 1.0, inplace=False),
            lib.logaddexp.reduceat(x, np.array([0, 2]), axis=1),
        )

    assert_same(mg.jit(lambda x: methods(mnp, x))(F), methods(jnp, F), rtol=1e-5)


GRAD_CASES = {
    "add.reduce": lambda lib, x: lib.add.reduce(x, axis=1),
    "multiply.reduce": lambda lib, x: lib.multiply.reduce(x, axis=0),
    "maximum.reduce": lambda lib, x: lib.maximum.reduce(x, axis=2),
    "logaddexp.reduce": lambda lib, x: lib.logaddexp.reduce(x, axis=None),
    "logaddexp2.reduce": lambda lib, x: lib.logaddexp2.reduce(x, axis=1, initial=0.5),
    "add.accumulate": lambda lib, x: lib.add.accumulate(x, axis=1),
    "subtract.outer": lambda lib, x: lib.subtract.outer(x[0], x[1, 0]),
    "add.at": lambda lib, x: lib.add.at(x, np.array([0, 0]), x[1], inplace=False),
    "maximum.at": lambda lib, x: lib.maximum.at(x, np.array([1, 2, 1]), 0.1, inplace=False),
}


def test_ufunc_method_gradients():
    for case, fn in GRAD_CASES.items():
        ours = mg.jit(mg.grad(lambda x, fn=fn: mnp.sum(fn(mnp, x) ** 2)))(F)
        theirs = jax.jit(jax.grad(lambda x, fn=fn: jnp.sum(fn(jnp, x) ** 2)))(F)
        assert_same(ours, theirs, rtol=1e-4, atol=1e-5, what=case)


def test_multiply_at_gradient_matches_finite_differences():
    # jnp's multiply.at has no gradient (scatter_mul without unique_indices); ours does.
    idx, vals = np.array([0, 0, 2]), np.array([1.5, -2.0, 0.5], np.float32)
    x = np.array([0.3, -1.2, 2.0, 0.7], np.float64)

    def f(x):
        return mnp.sum(mnp.multiply.at(x, idx, vals, inplace=False) ** 2)

    g = np.asarray(mg.grad(f)(x.astype(np.float32)))
    eps = 1e-4
    for i in range(4):
        step = np.eye(4)[i] * eps
        y_plus, y_minus = np.array(x + step), np.array(x - step)
        np.multiply.at(y_plus, idx, vals)
        np.multiply.at(y_minus, idx, vals)
        fd = (np.sum(y_plus**2) - np.sum(y_minus**2)) / (2 * eps)
        np.testing.assert_allclose(g[i], fd, rtol=1e-3, atol=1e-3)


def test_bool_add_and_multiply_at():
    idx, vals = np.array([0, 0, 2]), np.array([True, False, True])
    for name in ("add", "multiply"):
        ours = getattr(mnp, name).at(B[0, 0], idx, vals, inplace=False)
        assert_same(ours, getattr(jnp, name).at(B[0, 0], idx, vals, inplace=False), what=name)


def test_empty_reductions():
    empty = np.zeros((0, 3), np.float32)
    assert_same(mnp.add.reduce(empty), jnp.add.reduce(empty))
    assert_same(mnp.logaddexp.reduce(empty), jnp.logaddexp.reduce(empty))
    for lib in (jnp, mnp):
        with pytest.raises(ValueError, match="identity"):
            lib.maximum.reduce(empty)


# ---------------------------------------------------------------------------
# frompyfunc


def _pyfuncs(lib):
    return {
        "add": (lib.frompyfunc(operator.add, nin=2, nout=1, identity=0), F),
        "poly": (lib.frompyfunc(lambda a, b: a * b + 1.0, nin=2, nout=1), F),
        "int_max": (lib.frompyfunc(lib.maximum, 2, 1), INT),
    }


PYFUNCS = sorted(_pyfuncs(jnp))


@pytest.mark.parametrize("case", PYFUNCS)
def test_frompyfunc_methods(case):
    ours, a = _pyfuncs(mnp)[case]
    theirs, _ = _pyfuncs(jnp)[case]
    assert isinstance(ours, mnp.ufunc)
    assert (ours.nin, ours.nout, ours.identity) == (theirs.nin, theirs.nout, theirs.identity)
    assert_same(ours(a, a[::-1]), theirs(a, a[::-1]), rtol=1e-5)
    for kwargs in REDUCE_CONFIGS[1:]:
        assert_same(ours.reduce(a, **kwargs), theirs.reduce(a, **kwargs), rtol=1e-5)
    assert_same(ours.accumulate(a, axis=2), theirs.accumulate(a, axis=2), rtol=1e-5)
    assert_same(ours.outer(a[0, 0], a[1, 1]), theirs.outer(a[0, 0], a[1, 1]), rtol=1e-5)
    idx, vals = np.array([1, 1, 0]), a[:3]
    assert_same(ours.at(a, idx, vals, inplace=False), theirs.at(a, idx, vals, inplace=False))
    ind = np.array([0, 3, 1])
    assert_same(ours.reduceat(a, ind, axis=2), theirs.reduceat(a, ind, axis=2), rtol=1e-5)
    if ours.identity is not None:
        assert_same(ours.reduce(a, where=WHERE), theirs.reduce(a, where=WHERE), rtol=1e-5)


def test_frompyfunc_reduce_grad_jit_and_vmap():
    poly_ours = mnp.frompyfunc(lambda a, b: a * b + 1.0, nin=2, nout=1)
    poly_jax = jnp.frompyfunc(lambda a, b: a * b + 1.0, nin=2, nout=1)
    ours = mg.grad(lambda x: mnp.sum(poly_ours.reduce(x, axis=1)))(F)
    assert_same(ours, jax.grad(lambda x: jnp.sum(poly_jax.reduce(x, axis=1)))(F), rtol=1e-5)
    jitted = mg.jit(lambda x: poly_ours.accumulate(x, axis=0))(F)
    assert_same(jitted, poly_jax.accumulate(F, axis=0), rtol=1e-5)
    mapped = mg.vmap(lambda x: poly_ours.reduce(x))(F)
    assert_same(mapped, jax.vmap(lambda x: poly_jax.reduce(x))(F), rtol=1e-5)


def test_ufunc_call_options():
    f = mnp.frompyfunc(operator.mul, 2, 1)
    with pytest.raises(NotImplementedError):
        f(F, F, out=F)
    with pytest.raises(NotImplementedError):
        f(F, F, where=B)
    assert_same(f(F, F, out=None), jnp.multiply(F, F))
    # mnp.add is our function itself: no out/where keywords (jnp.add: NotImplementedError).
    with pytest.raises(TypeError):
        mnp.add(F, F, where=B)
    assert type(mnp.add).__name__ == "ufunc" and isinstance(mnp.add, mnp.ufunc)
