"""minigrad_jax.numpy against jax.numpy: values, dtypes, weak types, gradients, errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp

RNG = np.random.default_rng(0)


def _f32(*shape, lo=-2.0, hi=2.0):
    return jnp.asarray(RNG.uniform(lo, hi, shape).astype(np.float32))


def _i32(*shape, lo=-5, hi=6):
    return jnp.asarray(RNG.integers(lo, hi, shape).astype(np.int32))


def _bool(*shape):
    return jnp.asarray(RNG.integers(0, 2, shape).astype(bool))


X = _f32(2, 3)
Y = _f32(2, 3)
V = _f32(3)
POS = _f32(2, 3, lo=0.5, hi=3.0)
UNIT = _f32(2, 3, lo=-0.9, hi=0.9)
BIG = _f32(2, 3, lo=1.1, hi=3.0)
IX = _i32(2, 3)
JX = _i32(2, 3, lo=1, hi=4)
B = _bool(2, 3)


def assert_same(ours, theirs, rtol=1e-6, atol=1e-6, what=""):
    """Same structure, shapes, dtypes and (close) values as JAX's result; jax.Arrays out."""
    o_leaves, o_tree = jax.tree_util.tree_flatten(ours)
    t_leaves, t_tree = jax.tree_util.tree_flatten(theirs)
    assert o_tree == t_tree, f"{what}: structure {o_tree} != {t_tree}"
    for o, t in zip(o_leaves, t_leaves, strict=True):
        if isinstance(t, jax.Array):
            assert isinstance(o, jax.Array), f"{what}: got {type(o).__name__}, not a jax.Array"
        o_np, t_np = np.asarray(o), np.asarray(t)
        assert o_np.shape == t_np.shape, f"{what}: shape {o_np.shape} != {t_np.shape}"
        assert o_np.dtype == t_np.dtype, f"{what}: dtype {o_np.dtype} != {t_np.dtype}"
        if jnp.issubdtype(o_np.dtype, jnp.inexact):
            np.testing.assert_allclose(
                o_np.astype(np.float64), t_np.astype(np.float64), rtol=rtol, atol=atol, err_msg=what
            )
        else:
            np.testing.assert_array_equal(o_np, t_np, err_msg=what)


def _avals(closed):
    return [(tuple(a.shape), str(a.dtype), bool(a.weak_type)) for a in closed.out_avals]


def assert_same_avals(ours_fn, theirs_fn, args, kwargs, what=""):
    """Traced with the array arguments abstract: same output shapes, dtypes and weak types."""
    pos = [i for i, a in enumerate(args) if isinstance(a, jax.Array)]

    def closing(fn):
        def g(*arrays):
            full = list(args)
            for i, a in zip(pos, arrays, strict=True):
                full[i] = a
            return fn(*full, **kwargs)

        return g

    arrays = [args[i] for i in pos]
    ours = _avals(mg.make_jaxpr(closing(ours_fn))(*arrays))
    theirs = _avals(jax.make_jaxpr(closing(theirs_fn))(*arrays))
    assert ours == theirs, f"{what}: traced (shape, dtype, weak_type) {ours} != {theirs}"


def check(name, *args, jname=None, rtol=1e-6, atol=1e-6, **kwargs):
    """Eager values/dtypes and traced avals (weak types included) of mnp.name vs jnp's."""
    ours_fn, theirs_fn = getattr(mnp, name), getattr(jnp, jname or name)
    what = f"{name}{kwargs or ''}"
    assert_same(ours_fn(*args, **kwargs), theirs_fn(*args, **kwargs), rtol, atol, what)
    assert_same_avals(ours_fn, theirs_fn, args, kwargs, what)


def _low_precision(args):
    leaves = jax.tree_util.tree_leaves(args)
    return any(getattr(a, "dtype", None) in (jnp.bfloat16, jnp.float16) for a in leaves)


def _bind(fn, args, kwargs):
    """``fn`` as a function of the jax.Array arguments only (the rest are closed over)."""
    pos = [i for i, a in enumerate(args) if isinstance(a, jax.Array)]

    def g(*arrays):
        full = list(args)
        for i, a in zip(pos, arrays, strict=True):
            full[i] = a
        return fn(*full, **kwargs)

    return g, [args[i] for i in pos]


def check_table(cases, eager_every=8, rtol=2e-6, atol=2e-6):
    """Check every ``(name, args, kwargs)`` case of a table against jax.numpy.

    For speed (XLA compilations dominate), all cases are compiled together: one
    mg.jit and one jax.jit program compute every case. Each case's traced
    output avals (weak types included) are compared without compiling, and
    every ``eager_every``-th case also runs eagerly (it must return jax.Arrays).
    All failures are reported together, by case.
    """
    bound = []
    for name, args, kwargs in cases:
        ours, arrays = _bind(getattr(mnp, name), args, kwargs)
        theirs, _ = _bind(getattr(jnp, name), args, kwargs)
        bound.append(
            (
                f"{name}{tuple(type(a).__name__ for a in args)}{kwargs or ''}",
                ours,
                theirs,
                arrays,
                _low_precision(args),
            )
        )
    failures = []
    for what, ours, theirs, arrays, _ in bound:
        try:
            assert_same_avals(ours, theirs, arrays, {}, what)
        except Exception as e:  # noqa: BLE001  (collected and reported below)
            failures.append(f"{what}: {type(e).__name__}: {e}")
    all_arrays = [b[3] for b in bound]
    ours_all = mg.jit(lambda arrs: [b[1](*a) for b, a in zip(bound, arrs, strict=True)])(all_arrays)
    theirs_all = jax.jit(lambda arrs: [b[2](*a) for b, a in zip(bound, arrs, strict=True)])(
        all_arrays
    )
    for k, ((what, ours, _, arrays, low), o, t) in enumerate(
        zip(bound, ours_all, theirs_all, strict=True)
    ):
        tol = (1e-2, 1e-2) if low else (rtol, atol)
        outs = [("jit", o)] + ([("eager", ours(*arrays))] if k % eager_every == 0 else [])
        for mode, got in outs:
            try:
                assert_same(got, t, *tol, what=f"{what} [{mode}]")
            except AssertionError as e:
                failures.append(str(e))
    assert not failures, f"{len(failures)} failing case(s):\n" + "\n".join(failures)


# ---------------------------------------------------------------------------
# elementwise

UNARY = [
    ("exp", X),
    ("exp2", X),
    ("expm1", X),
    ("log", POS),
    ("log1p", POS),
    ("log2", POS),
    ("log10", POS),
    ("sqrt", POS),
    ("cbrt", X),
    ("square", X),
    ("reciprocal", POS),
    ("sin", X),
    ("cos", X),
    ("tan", UNIT),
    ("arcsin", UNIT),
    ("arccos", UNIT),
    ("arctan", X),
    ("sinh", X),
    ("cosh", X),
    ("tanh", X),
    ("arcsinh", X),
    ("arccosh", BIG),
    ("arctanh", UNIT),
    ("negative", X),
    ("positive", X),
    ("abs", X),
    ("absolute", IX),
    ("sign", X),
    ("sign", IX),
    ("floor", X),
    ("ceil", X),
    ("round", X * 3),
    ("trunc", X * 3),
    ("rint", X * 3),
    ("isnan", X),
    ("isinf", X),
    ("isfinite", X),
    ("logical_not", B),
    ("invert", IX),
    ("invert", B),
    ("conj", X),
    ("real", X),
    ("square", IX),
    ("negative", IX),
    ("floor", IX),
    ("abs", B),
]


def test_unary():
    check_table([(name, (x,), {}) for name, x in UNARY])


FLOAT_UNARY = ["exp", "log1p", "sqrt", "sin", "tanh", "arctan", "log2", "reciprocal", "cbrt"]
PROMOTED = [JX, 3, 2.5, jnp.asarray(2, jnp.int8), jnp.asarray(True)]


def test_unary_promotes_like_jax():
    """Integers and bools become float32; Python scalars stay weakly typed."""
    check_table([(name, (arg,), {}) for name in FLOAT_UNARY for arg in PROMOTED])


def test_special_values():
    x = jnp.asarray([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0])
    names = ("isnan", "isinf", "isfinite", "sign", "abs", "isposinf", "isneginf", "floor")
    check_table([(name, (x,), {}) for name in names])


BINARY = [
    "add",
    "subtract",
    "multiply",
    "divide",
    "true_divide",
    "floor_divide",
    "power",
    "mod",
    "remainder",
    "fmod",
    "maximum",
    "minimum",
    "arctan2",
    "logaddexp",
    "hypot",
    "equal",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
]

PAIRS = {
    "f32,f32": (X, Y),
    "f32,pyint": (X, 3),
    "pyfloat,f32": (2.5, X),
    "i32,pyfloat": (JX, 2.5),
    "i32,i32": (IX, JX),
    "bool,i32": (B, JX),
    "f32[3],f32[2,3]": (V, X),
    "f32[2,1],f32[3]": (X[:, :1], V),
    "i8,u8": (jnp.asarray([1, -2, 3], jnp.int8), jnp.asarray([2, 2, 1], jnp.uint8)),
    "bf16,pyfloat": (X.astype(jnp.bfloat16), 1.5),
    "f16,i32": (X.astype(jnp.float16), JX),
    "weakf32,i32": (jnp.asarray(1.5), JX),
}


# These ops meet every dtype/shape pair; the rest see the basic pairs only
# (dtype promotion and broadcasting are shared by all; these also branch on dtype).
FULL_MATRIX = ("add", "true_divide", "floor_divide", "power", "remainder")
BASIC_PAIRS = ("i32,pyfloat", "f32[2,1],f32[3]")
COMPARISONS = ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal")
WEAK_PAIRS = ("i32,pyfloat", "weakf32,i32")  # both operands weak after promotion


def _binary_cases(weak_bool):
    for name in BINARY:
        for pair in PAIRS if name in FULL_MATRIX else BASIC_PAIRS:
            if name in ("arctan2", "hypot", "logaddexp", "power") and pair == "i8,u8":
                continue  # JAX warns or rejects this integer combination itself
            if (name in COMPARISONS and pair in WEAK_PAIRS) == weak_bool:
                yield name, PAIRS[pair], {}


def test_binary():
    check_table(list(_binary_cases(weak_bool=False)), eager_every=7)


def test_comparisons_of_weak_values_are_weak():
    check_table(list(_binary_cases(weak_bool=True)))


def test_bitwise():
    shifts = jnp.asarray([0, 1, 3, 7, 31, 33], jnp.int32)
    vals = jnp.asarray([1, -7, 12345, -1, 3, 5], jnp.int32)
    u = jnp.asarray([1, 200, 7, 255, 3, 128], jnp.uint8)
    us = jnp.asarray([0, 1, 2, 7, 8, 9], jnp.uint8)
    pairs = [(vals, shifts), (u, us), (vals, 3), (B, ~B)]
    names = ("bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift")
    check_table(
        [
            (name, pair, {})
            for name in names
            for pair in pairs
            if not (name.endswith("shift") and pair[0] is B)
        ]
    )


def test_power_integer_exponent_uses_integer_pow():
    jaxpr = mg.make_jaxpr(lambda x: mnp.power(x, 3))(X)
    assert [e.primitive.name for e in jaxpr.jaxpr.eqns] == ["integer_pow"]
    check("power", IX, JX)  # integer ** integer array: binary exponentiation
    check("power", jnp.asarray([2, -3, 0], jnp.int32), jnp.asarray([5, 3, 0], jnp.int32))


def test_where_clip_isclose():
    check("where", X > 0, X, 0.0)
    check("where", B, IX, 2.5)
    check("where", X > 0, V, X[:1])
    check("clip", X, -0.5, 0.5)
    check("clip", IX, 0)
    check("clip", X, max=0.1)
    near = X + 1e-7
    check("isclose", X, near)
    check(
        "isclose",
        jnp.asarray([np.nan, np.inf, 1.0]),
        jnp.asarray([np.nan, np.inf, 1.1]),
        equal_nan=True,
    )
    check("isclose", IX, JX)
    assert bool(mnp.allclose(X, near)) and not bool(mnp.allclose(X, X + 1.0))


def test_round_decimals_and_divmod():
    check("round", X * 100, 1)
    check("round", X.astype(jnp.float16) * 10, 1, rtol=1e-3)
    check("round", IX, 2)
    check("divmod", X, 0.7)
    check("divmod", IX, JX)


# ---------------------------------------------------------------------------
# weak types and jaxprs


def _eqns(closed):
    """(primitive, params, input avals) per equation, ours or JAX's, JAX's jit calls inlined.

    ``sharding``/``out_sharding`` params are left out (we have no shardings) and so
    is ``out_dtype=None``, which only jax's ``mul`` carries.
    """
    out = []
    for e in closed.jaxpr.eqns if hasattr(closed, "jaxpr") else closed.eqns:
        if e.primitive.name == "jit":
            out.extend(_eqns(e.params["jaxpr"]))
            continue
        params = {k: v for k, v in e.params.items() if k not in ("sharding", "out_sharding")}
        if params.get("out_dtype", 0) is None:
            del params["out_dtype"]
        ins = [(a.aval.shape, str(a.aval.dtype), a.aval.weak_type) for a in e.invars]
        out.append((e.primitive.name, repr(sorted(params.items())), ins))
    return out


JAXPR_CASES = {
    "x*2.0": (lambda np_: lambda x: x * 2.0, (X,)),
    "x+1": (lambda np_: lambda x: x + 1, (IX,)),
    "int*2.5": (lambda np_: lambda x: x * 2.5, (IX,)),
    "weak*strong": (lambda np_: lambda x, y: np_.multiply(x, y), (1.0, X)),
    "sin(int)": (lambda np_: lambda x: np_.sin(x), (IX,)),
    "sum": (lambda np_: lambda x: np_.sum(x, axis=1), (X,)),
    "mean": (lambda np_: lambda x: np_.mean(x, axis=0), (X,)),
    "max_keepdims": (lambda np_: lambda x: np_.max(x, axis=0, keepdims=True), (X,)),
    "argmax": (lambda np_: lambda x: np_.argmax(x), (X,)),
    "matmul": (lambda np_: lambda x, y: np_.matmul(x, y.T), (X, Y)),
    "dot": (lambda np_: lambda x, y: np_.dot(x, y), (X, V)),
    "zeros": (lambda np_: lambda x: x + np_.zeros((2, 3)), (X,)),
    "eye": (lambda np_: lambda x: x + np_.eye(3)[:2], (X,)),
    "expand_dims": (lambda np_: lambda x: np_.expand_dims(x, 0), (X,)),
    "concatenate": (lambda np_: lambda x: np_.concatenate([x, x]), (X,)),
    "tril": (lambda np_: lambda x: np_.tril(x), (X,)),
    "cumsum": (lambda np_: lambda x: np_.cumsum(x, axis=1), (X,)),
    "transpose": (lambda np_: lambda x: np_.transpose(x), (X,)),
    "reshape": (lambda np_: lambda x: np_.reshape(x, (3, 2)), (X,)),
    "sort": (lambda np_: lambda x: np_.sort(x, axis=0), (X,)),
}


@pytest.mark.parametrize("case", list(JAXPR_CASES))
def test_jaxpr_matches_jax(case):
    make, args = JAXPR_CASES[case]
    ours = _eqns(mg.make_jaxpr(make(mnp))(*args))
    theirs = _eqns(jax.make_jaxpr(make(jnp))(*args))
    assert ours == theirs


def test_weak_type_rules():
    # A weak value meets a strong one: the weak one is converted, strongly typed.
    jaxpr = mg.make_jaxpr(lambda x, y: x * y)(1.0, X)
    (conv, mul) = jaxpr.jaxpr.eqns
    assert conv.primitive.name == "convert_element_type"
    assert conv.params["new_dtype"] == np.float32 and conv.params["weak_type"] is False
    assert mul.primitive.name == "mul"
    # Results keep JAX's weak flags, eagerly too.
    assert_same(mnp.multiply(IX, 2.5), IX * 2.5)
    assert_same(mnp.add(X, 1), X + 1)
    assert_same(mnp.add(B, B), jnp.add(B, B))
    assert_same(mnp.add(B, 1), jnp.add(B, 1))
    assert_same(mnp.multiply(jnp.asarray(2.0), 3), jnp.multiply(jnp.asarray(2.0), 3))


def test_eager_results_keep_weak_type():
    assert mnp.multiply(IX, 2.5).weak_type == (IX * 2.5).weak_type


def test_var_method_on_staged_tracers():
    ours = mg.jit(lambda x: x.var(axis=0))(X)
    assert_same(ours, jnp.var(X, axis=0))


def test_tracer_operators_and_methods():
    def f(np_, x, i):
        y = (x + 1) * 2 - x / 3 + x**2 - (-x) + abs(x) + (x // 0.7) + (x % 0.5)
        z = (i << 2) + (i >> 1) + (~i) + (i & 3) + (i | 1) + (i ^ 5)
        m = (x > 0) & (x < 1.5) | (x == 0) ^ (x != 0.5)
        return (
            y.sum(axis=0),
            y.mean(),
            y.max(),
            y.min(axis=1),
            y.prod(),
            y.argmax(),
            y.argmin(axis=0),
            y.reshape(3, 2),
            y.reshape((6,)),
            y.transpose(),
            y.T,
            y.astype(np_.int32),
            y.squeeze(),
            y.ravel(),
            y.flatten(),
            y.std(),
            m.any(),
            m.all(axis=0),
            y.cumsum(axis=1),
            y.cumprod(),
            y.clip(-1, 1),
            y.dot(y.T),
            y.round(1),
            y.swapaxes(0, 1),
            y.repeat(2),
            y.take(2),
            y.sort(),
            y.argsort(axis=0),
            y.conj(),
            y.trace(),
            y.diagonal(),
            z,
            x @ x.T,
            y[1],
            y[:, ::-1],
            y[None, 0, 1:],
        )

    theirs = jax.jit(lambda x, i: f(jnp, x, i))(X, IX)
    ours = mg.jit(lambda x, i: f(mnp, x, i))(X, IX)
    assert_same(ours, theirs, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------
# reductions

A3 = _f32(2, 3, 4)

REDUCTIONS = [
    ("sum", (A3,), {}),
    ("sum", (A3,), {"axis": 1}),
    ("sum", (A3,), {"axis": (0, 2)}),
    ("sum", (A3,), {"axis": -1, "keepdims": True}),
    ("sum", (IX,), {}),
    ("sum", (B,), {}),
    ("sum", (jnp.asarray([1, 2], jnp.uint8),), {}),
    ("sum", (A3,), {"dtype": jnp.int32}),
    ("sum", (X,), {"where": B}),
    ("sum", (X,), {"initial": 10.0}),
    ("sum", (X.astype(jnp.bfloat16),), {"axis": 0}),
    ("prod", (X,), {"axis": 1}),
    ("prod", (IX,), {}),
    ("max", (A3,), {"axis": 2}),
    ("max", (IX,), {"axis": 0}),
    ("max", (X,), {"initial": 1.0}),
    ("max", (X,), {"where": B, "initial": -5.0}),
    ("min", (A3,), {}),
    ("amax", (X,), {"keepdims": True}),
    ("amin", (X,), {"axis": 0}),
    ("max", (B,), {}),
    ("argmax", (A3,), {"axis": 1}),
    ("argmin", (A3,), {}),
    ("argmax", (X,), {"axis": 0, "keepdims": True}),
    ("mean", (A3,), {}),
    ("mean", (A3,), {"axis": (0, 1)}),
    ("mean", (IX,), {"axis": 0}),
    ("mean", (X,), {"where": B}),
    ("mean", (X.astype(jnp.float16),), {}),
    ("var", (A3,), {}),
    ("var", (A3,), {"axis": 1, "ddof": 1}),
    ("var", (IX,), {}),
    ("var", (X,), {"axis": 0, "keepdims": True}),
    ("std", (A3,), {"axis": 2}),
    ("std", (X,), {"correction": 1}),
    ("all", (B,), {}),
    ("any", (B,), {"axis": 1}),
    ("all", (X,), {"axis": 0}),
    ("any", (IX,), {"keepdims": True}),
    ("cumsum", (A3,), {}),
    ("cumsum", (A3,), {"axis": 1}),
    ("cumsum", (B,), {"axis": 0}),
    ("cumprod", (X,), {"axis": 1}),
    ("cumsum", (jnp.asarray([1, 2], jnp.int8),), {}),
    ("cumsum", (IX,), {"dtype": jnp.float32}),
    ("average", (A3,), {}),
    ("average", (A3,), {"axis": 1}),
    ("average", (A3,), {"axis": 1, "weights": _f32(3, lo=0.1, hi=1.0)}),
    ("average", (X,), {"weights": POS, "returned": True}),
    ("count_nonzero", (IX,), {"axis": 0}),
    ("ptp", (X,), {"axis": 1}),
]


def test_reductions():
    check_table(REDUCTIONS)


def test_var_with_too_few_elements_is_nan():
    check("var", V, ddof=3)
    check("var", X, axis=1, ddof=5)


# ---------------------------------------------------------------------------
# shapes

SHAPES = [
    ("reshape", (A3, (4, -1)), {}),
    ("reshape", (A3, (6, 4)), {"order": "F"}),
    ("ravel", (A3,), {}),
    ("transpose", (A3,), {}),
    ("transpose", (A3, (1, 0, 2)), {}),
    ("swapaxes", (A3, 0, 2), {}),
    ("moveaxis", (A3, 0, -1), {}),
    ("moveaxis", (A3, (0, 1), (2, 0)), {}),
    ("expand_dims", (X, (0, 3)), {}),
    ("squeeze", (A3[:1, :, :1],), {}),
    ("squeeze", (A3[:1],), {"axis": 0}),
    ("broadcast_to", (V, (4, 2, 3)), {}),
    ("atleast_1d", (jnp.asarray(1.0),), {}),
    ("atleast_2d", (V,), {}),
    ("atleast_3d", (X,), {}),
    ("flip", (A3,), {}),
    ("flip", (A3,), {"axis": (0, 2)}),
    ("roll", (A3, 2), {}),
    ("roll", (A3, -1), {"axis": 1}),
    ("roll", (A3, (1, 2)), {"axis": (0, 2)}),
    ("tile", (X, 2), {}),
    ("tile", (V, (2, 1, 2)), {}),
    ("repeat", (X, 2), {}),
    ("repeat", (X, 3), {"axis": 1}),
    ("repeat", (X, np.asarray([1, 0, 2])), {"axis": 1}),
    ("pad", (X, 1), {}),
    ("pad", (X, ((0, 1), (2, 0))), {"constant_values": 5.0}),
    ("pad", (X, ((1, 2), (0, 1))), {"mode": "edge"}),
    ("pad", (X, 2), {"mode": "wrap"}),
    ("pad", (X, ((1, 1), (2, 2))), {"mode": "reflect"}),
    ("pad", (X, ((1, 1), (2, 2))), {"mode": "symmetric"}),
    ("pad", (IX, ((1, 0), (0, 1))), {"constant_values": ((1, 2), (3, 4))}),
    ("diagonal", (A3,), {}),
    ("diagonal", (A3,), {"offset": 1, "axis1": 1, "axis2": 2}),
    ("diagonal", (X,), {"offset": -1}),
    ("diagonal", (X,), {"offset": 5}),
    ("diag", (V,), {}),
    ("diag", (V,), {"k": -1}),
    ("diag", (X,), {"k": 1}),
    ("trace", (A3,), {}),
    ("trace", (X,), {"offset": 1}),
    ("trace", (IX,), {}),
    ("tril", (A3,), {}),
    ("triu", (X,), {"k": 1}),
    ("tril", (X,), {"k": -1}),
    ("astype", (X, jnp.int32), {}),
    ("astype", (IX, jnp.bool_), {}),
    ("take", (X, jnp.asarray([0, 5, -1, -7])), {}),
    ("take", (X, np.asarray([[2, 0]])), {"axis": 1}),
    ("take", (IX, jnp.asarray([0, 4, -1])), {"axis": 1, "mode": "wrap"}),
    ("take", (X, jnp.asarray([0, 4, -1])), {"axis": 1, "mode": "clip"}),
    ("take", (X, jnp.asarray([3, 9])), {"axis": 1, "fill_value": -1.0}),
    ("take_along_axis", (A3, jnp.argsort(A3, axis=1)), {"axis": 1}),
    ("take_along_axis", (X, jnp.asarray([[2], [0]])), {"axis": 1}),
    ("take_along_axis", (X, jnp.asarray([[0, 5, -1]])), {"axis": 0}),
    ("take_along_axis", (V, jnp.asarray([2, 0])), {"axis": None}),
]


def test_shape_functions():
    check_table(SHAPES)


def test_joining_and_splitting():
    check("concatenate", [X, Y], axis=1)
    check("concatenate", [X, IX])
    check("concatenate", [X, Y], axis=None)
    check("concatenate", A3, axis=1)
    check("stack", [X, Y])
    check("stack", [X, Y], axis=-1)
    check("stack", A3, axis=1)
    check("hstack", [X, Y])
    check("hstack", [V, V])
    check("vstack", [X, V])
    check("split", A3, 2)
    check("split", A3, [1, 3], axis=2)
    check("array_split", A3, 3, axis=2)
    check("broadcast_arrays", V, X, 1.0)
    assert mnp.broadcast_shapes((3,), (2, 1)) == (2, 3)


def test_shape_queries():
    for f in ("ndim", "shape", "size"):
        assert getattr(mnp, f)(A3) == getattr(jnp, f)(A3)
    assert mnp.size(A3, 1) == 3
    assert mnp.ndim(1.0) == 0 and mnp.shape([[1, 2]]) == (1, 2)


# ---------------------------------------------------------------------------
# creation and dtypes


CREATION = [
    ("zeros", ((2, 3),), {}),
    ("zeros", (3,), {"dtype": jnp.int32}),
    ("ones", ((2,),), {"dtype": mnp.bfloat16}),
    ("full", ((2, 3), 7), {}),
    ("full", ((2, 3), 7.0), {"dtype": jnp.int32}),
    ("full", ((2, 3), V), {}),
    ("empty", ((0, 2),), {}),
    *[
        (f, (like,), {})
        for f in ("zeros_like", "ones_like")
        for like in (X, IX, jnp.asarray(1.0), 3)
    ],
    *[("full_like", (like, 4), {}) for like in (X, IX, jnp.asarray(1.0), 3)],
    ("full_like", (X, 2), {"dtype": jnp.int8, "shape": (4,)}),
    ("arange", (5,), {}),
    ("arange", (5.0,), {}),
    ("arange", (2, 11, 3), {}),
    ("arange", (0.0, 1.0, 0.25), {}),
    ("arange", (4,), {"dtype": jnp.float32}),
    ("linspace", (0.0, 1.0, 5), {}),
    ("linspace", (0, 10, 4), {"endpoint": False}),
    ("linspace", (V, V + 1, 3), {"axis": 1}),
    ("linspace", (0, 10, 6), {"dtype": jnp.int32}),
    ("linspace", (0.0, 1.0, 5), {"retstep": True}),
    ("eye", (3,), {}),
    ("eye", (2, 4), {"k": 1, "dtype": jnp.int32}),
    ("identity", (3,), {"dtype": jnp.bool_}),
    ("tri", (3, 4), {"k": 1}),
    ("array", ([[1, 2], [3, 4]],), {}),
    ("array", ([1.0, 2.0],), {"dtype": jnp.bfloat16}),
    ("array", (3.0,), {}),
    ("array", (X,), {}),
    ("array", (V,), {"ndmin": 3}),
    ("asarray", ([True, False],), {}),
    ("asarray", (IX,), {"dtype": jnp.float32}),
    ("asarray", (np.arange(3.0),), {}),
]


def test_creation():
    check_table(CREATION, eager_every=1)
    assert isinstance(mnp.zeros(3), jax.Array) and isinstance(mnp.zeros(()), jax.Array)


def test_array_of_traced_values():
    def f(np_, x):
        return np_.array([x[0, 0], 2.0 * x[1, 1], 3]), np_.asarray([[x[0, 0]], [x[1, 2]]])

    ours = mg.make_jaxpr(lambda x: f(mnp, x))(X)
    from minigrad_jax._src.ir import eval_jaxpr

    got = eval_jaxpr(ours.jaxpr, ours.consts, X)
    want = jax.jit(lambda x: f(jnp, x))(X)
    assert_same(tuple(got), want)
    assert mg.grad(lambda x: mnp.sum(mnp.array([x, 2 * x])))(1.5) == 3.0


def test_dtype_objects_and_facts():
    for name in (
        "float16",
        "bfloat16",
        "float32",
        "float64",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint32",
        "bool_",
    ):
        ours, theirs = getattr(mnp, name), getattr(jnp, name)
        assert np.dtype(ours) == np.dtype(theirs)
        assert ours == theirs and hash(ours) == hash(np.dtype(theirs).type)
        if name not in ("float64", "int64"):  # JAX warns that x64 is off
            assert_same(ours(3), theirs(3))
            assert_same(ours(X), theirs(X))
            assert_same(mnp.zeros(2, ours), jnp.zeros(2, theirs))
    assert isinstance(np.float32(1), mnp.float32)
    assert mnp.finfo(mnp.float32).eps == jnp.finfo(jnp.float32).eps
    assert mnp.iinfo(mnp.int8).max == 127
    assert mnp.finfo(mnp.bfloat16).bits == 16
    assert mnp.result_type(mnp.int32, 1.0) == jnp.result_type(jnp.int32, 1.0)
    assert mnp.result_type(IX, 2.5) == jnp.result_type(IX, 2.5)
    assert mnp.result_type(X.astype(jnp.bfloat16), 1.0) == jnp.bfloat16
    assert mnp.result_type(jnp.int8, jnp.uint8) == jnp.result_type(jnp.int8, jnp.uint8)
    assert mnp.result_type(mnp.float32, float) == jnp.result_type(jnp.float32, float)
    assert mnp.promote_types(mnp.int32, mnp.float16) == jnp.promote_types("int32", "float16")
    assert (mnp.pi, mnp.e, mnp.inf, mnp.newaxis) == (np.pi, np.e, np.inf, None)
    assert np.isnan(mnp.nan)
    assert mnp.issubdtype(mnp.float32, mnp.floating)


# ---------------------------------------------------------------------------
# products and norms


def test_products():
    M, N = _f32(3, 4), _f32(4, 2)  # noqa: N806
    check("dot", M, N)
    check("dot", V, V)
    check("dot", X, 2.0)
    check("dot", M, _f32(4))
    check("dot", IX, X.T)
    check("matmul", M, N)
    check("matmul", _f32(5, 3, 4), N)
    check("matmul", _f32(2, 1, 3, 4), _f32(5, 4, 2))
    check("matmul", V, _f32(3, 2))
    check("matmul", _f32(2, 3), V)
    check("matmul", _i32(2, 3), _i32(3, 2))
    check("vdot", X, Y)
    check("inner", M, _f32(2, 4))
    check("inner", V, 2.0)
    check("outer", V, _f32(2))
    check("tensordot", A3, _f32(3, 4, 5), 2, rtol=1e-5)
    check("tensordot", A3, _f32(4, 3), ((1, 2), (1, 0)), rtol=1e-5)
    check("tensordot", X, V, (1, 0))


EINSUMS = [
    ("ij,jk->ik", ((3, 4), (4, 5))),
    ("ij,jk", ((3, 4), (4, 5))),
    ("bij,bjk->bik", ((2, 3, 4), (2, 4, 5))),
    ("i,i->", ((3,), (3,))),
    ("i,j->ij", ((3,), (2,))),
    ("ij->ji", ((3, 4),)),
    ("ij->", ((3, 4),)),
    ("ij->j", ((3, 4),)),
    ("ijk,ikl,lm->jm", ((2, 3, 4), (2, 4, 5), (5, 2))),
    ("...ij,...jk->...ik", ((2, 3, 4), (2, 4, 5))),
    ("i...,i->...", ((3, 2, 2), (3,))),
    ("bi,bi->b", ((4, 3), (4, 3))),
    ("ab,cd->abcd", ((2, 2), (3, 1))),
    ("ij,kj->ik", ((3, 4), (1, 4))),
]


def test_einsum():
    cases = [("einsum", (spec, *[_f32(*s) for s in shapes]), {}) for spec, shapes in EINSUMS]
    check_table(cases, rtol=1e-5, atol=1e-5)


def test_einsum_gradient():
    a, b = _f32(3, 4), _f32(4, 2)

    def loss(np_):
        return lambda a, b: np_.sum(np_.einsum("ij,jk->ik", a, b) ** 2)

    ours = mg.grad(loss(mnp), argnums=(0, 1))(a, b)
    theirs = jax.grad(loss(jnp), argnums=(0, 1))(a, b)
    assert_same(ours, theirs, rtol=1e-5, atol=1e-5)


NORMS = [
    ((V,), {}),
    ((V,), {"ord": 1}),
    ((V,), {"ord": np.inf}),
    ((V,), {"ord": -np.inf}),
    ((V,), {"ord": 0}),
    ((V,), {"ord": 3}),
    ((X,), {}),
    ((X,), {"ord": "fro"}),
    ((X,), {"ord": 1}),
    ((X,), {"ord": -1}),
    ((X,), {"ord": np.inf}),
    ((X,), {"ord": -np.inf}),
    ((A3,), {"axis": 1}),
    ((A3,), {"axis": (0, 2), "keepdims": True}),
    ((IX,), {"axis": 0}),
]


def test_linalg_norm():
    failures = []
    for args, kwargs in NORMS:
        ours, theirs = mnp.linalg.norm(*args, **kwargs), jnp.linalg.norm(*args, **kwargs)
        try:
            assert_same(ours, theirs, rtol=2e-6, what=f"norm{kwargs}")
        except AssertionError as e:
            failures.append(str(e))
    assert not failures, "\n".join(failures)
    ours = mg.jit(lambda x: mnp.linalg.norm(x, ord=3, axis=0, keepdims=True))(X)
    assert_same(ours, jnp.linalg.norm(X, ord=3, axis=0, keepdims=True), rtol=2e-6)


# ---------------------------------------------------------------------------
# sorting


def test_sort_and_argsort():
    ties = jnp.asarray([[3.0, 1.0, 3.0, 2.0, 1.0], [0.0, np.nan, -1.0, 0.0, 5.0]])
    for kwargs in ({}, {"axis": 0}, {"axis": None}, {"descending": True}, {"stable": False}):
        check("sort", ties, **kwargs)
    for kwargs in ({}, {"axis": 0}, {"axis": None}, {"descending": True}):
        check("argsort", ties, **kwargs)
    check("sort", IX, axis=0)
    check("argsort", IX, dtype=jnp.int16)


# ---------------------------------------------------------------------------
# gradients against jax.grad (table-driven)

GRADS = [
    ("exp", (X,), {}),
    ("log", (POS,), {}),
    ("sqrt", (POS,), {}),
    ("tanh", (X,), {}),
    ("sin", (X,), {}),
    ("arctan", (X,), {}),
    ("log1p", (POS,), {}),
    ("power", (POS, 2.5), {}),
    ("power", (X, 3), {}),
    ("divide", (X, POS), {}),
    ("maximum", (X, Y), {}),
    ("minimum", (X, 0.1), {}),
    ("abs", (X,), {}),
    ("square", (X,), {}),
    ("cbrt", (POS,), {}),
    ("logaddexp", (X, Y), {}),
    ("hypot", (X, Y), {}),
    ("arctan2", (X, POS), {}),
    ("where", (B, X, Y), {}),
    ("clip", (X, -0.5, 0.5), {}),
    ("sum", (A3,), {"axis": 1}),
    ("mean", (A3,), {}),
    ("prod", (X,), {"axis": 0}),
    ("max", (A3,), {"axis": 2}),
    ("min", (X,), {}),
    ("var", (A3,), {"axis": 0}),
    ("std", (X,), {}),
    ("cumsum", (X,), {"axis": 1}),
    ("cumprod", (POS,), {}),
    ("average", (X,), {"weights": POS}),
    ("reshape", (A3, (4, 6)), {}),
    ("transpose", (A3,), {}),
    ("moveaxis", (A3, 0, 2), {}),
    ("concatenate", ([X, Y],), {"axis": 1}),
    ("stack", ([X, Y],), {}),
    ("tile", (V, 3), {}),
    ("repeat", (X, 2), {"axis": 0}),
    ("flip", (X,), {}),
    ("roll", (X, 1), {"axis": 1}),
    ("pad", (X, 1), {}),
    ("pad", (X, 2), {"mode": "reflect"}),
    ("diagonal", (A3,), {}),
    ("trace", (X,), {}),
    ("tril", (X,), {}),
    ("diag", (V,), {}),
    ("broadcast_to", (V, (2, 3)), {}),
    ("take", (V, jnp.asarray([0, 2, 2])), {}),
    ("take_along_axis", (X, JX % 3), {"axis": 1}),
    ("matmul", (X, Y.T), {}),
    ("dot", (X, V), {}),
    ("tensordot", (A3, V, (1, 0)), {}),
    ("outer", (V, V), {}),
    ("sort", (X,), {"axis": 1}),
    ("split", (A3, 2), {"axis": 2}),
    ("linspace", (V, V + 2.0, 4), {}),
    ("isclose", (X, Y), {}),
    ("hstack", ([X, Y],), {}),
]


def _loss(np_, name, args, kwargs, pos):
    def f(x):
        full = list(args)
        full[pos] = x
        out = getattr(np_, name)(*full, **kwargs)
        leaves = jax.tree_util.tree_leaves(out)
        total = 0.0
        for leaf in leaves:
            leaf = leaf.astype(np_.float32)
            total = total + np_.sum(np_.sin(leaf) * leaf)
        return total

    return f


def test_grad_matches_jax():
    """Gradients of every differentiable function, all compiled in one program per side."""
    losses = [
        (
            _loss(mnp, n, a, k, 1 if n == "where" else 0),
            _loss(jnp, n, a, k, 1 if n == "where" else 0),
            a[1 if n == "where" else 0],
        )
        for n, a, k in GRADS
    ]
    xs = [x for _, _, x in losses]
    ours = mg.jit(lambda xs: [mg.grad(f)(x) for (f, _, _), x in zip(losses, xs, strict=True)])(xs)
    theirs = jax.jit(lambda xs: [jax.grad(g)(x) for (_, g, _), x in zip(losses, xs, strict=True)])(
        xs
    )
    failures = []
    for (name, _, _), o, t in zip(GRADS, ours, theirs, strict=True):
        try:
            assert_same(o, t, rtol=2e-5, atol=2e-5, what=f"grad of {name}")
        except AssertionError as e:
            failures.append(str(e))
    assert not failures, "\n".join(failures)
    # One eagerly, op by op, too (the other test files take more eager gradients).
    for name, args, kwargs in (GRADS[25],):
        pos = 1 if name == "where" else 0
        ours_e = mg.grad(_loss(mnp, name, args, kwargs, pos))(args[pos])
        theirs_e = jax.grad(_loss(jnp, name, args, kwargs, pos))(args[pos])
        assert_same(ours_e, theirs_e, rtol=2e-5, atol=2e-5, what=f"eager grad of {name}")


def test_grad_through_vmap_of_numpy():
    f = lambda np_: lambda w, x: np_.sum(np_.tanh(np_.dot(x, w)) ** 2)  # noqa: E731
    w, xs = _f32(3, 2), _f32(4, 5, 3)
    ours = mg.vmap(mg.grad(f(mnp)), in_axes=(None, 0))(w, xs)
    theirs = jax.vmap(jax.grad(f(jnp)), in_axes=(None, 0))(w, xs)
    assert_same(ours, theirs, rtol=1e-5, atol=1e-5)


def test_x64_dtypes(x64):
    """With x64 on, defaults are 64-bit and Python scalars promote as in JAX."""
    x = jnp.arange(6.0).reshape(2, 3)
    i = jnp.arange(6).reshape(2, 3)
    assert x.dtype == jnp.float64 and i.dtype == jnp.int64
    check_table(
        [
            ("zeros", ((2,),), {}),
            ("arange", (4,), {}),
            ("sum", (i.astype(jnp.int32),), {}),
            ("mean", (i,), {}),
            ("multiply", (i, 2.5), {}),
            ("sin", (i.astype(jnp.int8),), {}),
            ("argmax", (x,), {"axis": 1}),
            ("argsort", (x,), {}),
            ("add", (x.astype(jnp.float32), 1.0), {}),
            ("linspace", (0.0, 1.0, 4), {}),
            ("eye", (2,), {}),
            ("true_divide", (i, 4), {}),
        ],
        eager_every=1,
    )


# ---------------------------------------------------------------------------
# errors


def test_unsupported_arguments_name_the_thing():
    with pytest.raises(NotImplementedError, match="kind"):
        mnp.sort(X, kind="heapsort")
    with pytest.raises(NotImplementedError, match="order"):
        mnp.sort(X, order="x")
    with pytest.raises(NotImplementedError, match="kind"):
        mnp.argsort(X, kind="quicksort")
    with pytest.raises(NotImplementedError, match="out"):
        mnp.sum(X, out=X)
    with pytest.raises(NotImplementedError, match="median"):
        mnp.pad(X, 1, mode="median")
    with pytest.raises(NotImplementedError, match="raise"):
        mnp.take(V, jnp.asarray([0]), mode="raise")
    with pytest.raises(NotImplementedError, match="where"):
        mnp.where(B)
    with pytest.raises(NotImplementedError, match="order='K'"):
        mnp.ravel(X, order="K")
    with pytest.raises(NotImplementedError, match="repeat"):
        mg.make_jaxpr(lambda r: mnp.repeat(V, r))(jnp.asarray([1, 2, 3]))
    with pytest.raises(AttributeError):
        mnp.no_such_function  # noqa: B018


def test_bad_inputs_raise_typed_errors():
    with pytest.raises(TypeError, match="add requires ndarray or scalar"):
        mnp.add([1, 2], X)
    with pytest.raises(ValueError, match="Incompatible shapes"):
        mnp.add(_f32(3), _f32(4))
    with pytest.raises(TypeError, match="cannot reshape"):
        mnp.reshape(X, (4, 2))
    with pytest.raises(ValueError, match="squeeze"):
        mnp.squeeze(X, 0)
    with pytest.raises(np.exceptions.AxisError):
        mnp.sum(X, axis=2)
    with pytest.raises(ValueError, match="duplicate"):
        mnp.sum(X, axis=(0, 0))
    with pytest.raises(ValueError, match="same shape"):
        mnp.stack([X, V])
    with pytest.raises(ValueError, match="equal division"):
        mnp.split(V, 2)
    with pytest.raises(ValueError, match="matmul"):
        mnp.matmul(X, X)
    with pytest.raises(ValueError, match="empty"):
        mnp.argmax(jnp.zeros((0,)))
    with pytest.raises(ValueError, match="identity"):
        mnp.max(jnp.zeros((0, 2)), axis=0)
    with pytest.raises(TypeError, match="tensordot"):
        mnp.tensordot(V, V, 3)
    with pytest.raises(ValueError, match="einsum"):
        mnp.einsum("ij,jk->ik", X, X)
