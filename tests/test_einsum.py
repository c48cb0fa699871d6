"""mnp.einsum and mnp.einsum_path against jax.numpy.

Every case is computed by both libraries: values, dtypes, weak types, the
jaxpr (equation for equation: JAX inlines the jit it wraps einsum in), the
contraction path, derivatives and batching, and the errors' types and texts.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp

_rng = np.random.default_rng(0)


def _arr(shape, dtype=np.float32):
    x = _rng.uniform(-2.0, 2.0, size=shape)
    if np.dtype(dtype) == np.bool_:
        return x > 0
    if np.issubdtype(np.dtype(dtype), np.integer):
        return np.round(x * 2).astype(dtype)
    return x.astype(dtype)


def _same_value(ours, theirs, rtol=1e-5, atol=1e-5):
    assert np.shape(ours) == np.shape(theirs)
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    assert getattr(ours, "weak_type", False) == getattr(theirs, "weak_type", False)
    as_wide = lambda x: np.asarray(x, np.complex128 if np.iscomplexobj(x) else np.float64)  # noqa: E731
    np.testing.assert_allclose(as_wide(ours), as_wide(theirs), rtol=rtol, atol=atol)


def _check(args, *arrays, rtol=1e-5, atol=1e-5, **kwargs):
    """``args`` interleaved with ``arrays`` where an entry is None: same jaxpr and value."""

    def call(np_):
        def f(*xs):
            it = iter(xs)
            return np_.einsum(*[next(it) if a is None else a for a in args], **kwargs)

        return f

    theirs_jaxpr = str(jax.make_jaxpr(call(jnp))(*arrays))
    ours_jaxpr = str(mg.make_jaxpr(call(mnp))(*arrays))
    assert ours_jaxpr == theirs_jaxpr, f"\nours:\n{ours_jaxpr}\ntheirs:\n{theirs_jaxpr}"
    # values under jit (one compilation; eager evaluation is tested below)
    ours = mg.jit(call(mnp))(*arrays)
    _same_value(ours, jax.jit(call(jnp))(*arrays), rtol=rtol, atol=atol)


# (subscripts, operand shapes)
STRING_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("i,i->", [(3,), (3,)]),
    ("i,i", [(3,), (3,)]),
    ("i,j->ij", [(3,), (2,)]),
    ("i,j", [(3,), (2,)]),
    ("ij,j", [(3, 4), (4,)]),
    ("ij->ji", [(3, 4)]),
    ("ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("ji->", [(3, 4)]),
    ("jik->k", [(2, 3, 4)]),
    ("i->", [(5,)]),
    ("ij,ji->", [(3, 4), (4, 3)]),
    ("ijk,jl->il", [(2, 3, 4), (3, 5)]),
    ("ijk,jlk->il", [(2, 3, 5), (3, 4, 5)]),
    # repeated indices within one operand: diagonal, trace
    ("ii->i", [(3, 3)]),
    ("ii->", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iij->j", [(3, 3, 2)]),
    ("iii->i", [(3, 3, 3)]),
    ("iij,jk->ik", [(3, 3, 4), (4, 2)]),
    ("ii,jj->ij", [(2, 2), (3, 3)]),
    ("ij,kk->ij", [(2, 3), (4, 4)]),
    # ellipsis: same and different ranks, size-1 broadcasting
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("...ij,...jk", [(1, 3, 4), (2, 4, 5)]),
    ("...ij,...jk", [(2, 1, 3, 4), (5, 4, 2)]),
    ("i...,i->...", [(3, 2, 2), (3,)]),
    ("...j->...", [(4, 4)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("i...i", [(3, 2, 3)]),
    ("ij->...", [(3, 4)]),
    # size-1 dimensions broadcasting against a larger size
    ("ij,kj->ik", [(3, 4), (1, 4)]),
    ("ij,ij->ij", [(3, 4), (1, 4)]),
    ("ij,ij->i", [(3, 1), (3, 4)]),
    ("ab,cd->abcd", [(2, 2), (3, 1)]),
    # an index summed in one operand only (reduced first)
    ("ij,k->", [(2, 3), (4,)]),
    ("ijk,k->i", [(2, 3, 4), (4,)]),
    # three or more operands (opt_einsum's path)
    ("ijk,ikl,lm->jm", [(2, 3, 4), (2, 4, 5), (5, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 10), (10, 5)]),
    ("ij,jk,kl,lm->im", [(2, 3), (3, 4), (4, 5), (5, 6)]),
    ("i,j,k", [(2,), (3,), (4,)]),
    ("ij,ij,ij", [(2, 3), (2, 3), (2, 3)]),
    ("ea,fb,abcd,gc,hd->efgh", [(3, 3), (3, 3), (3, 3, 3, 3), (3, 3), (3, 3)]),
    # scalars
    (",->", [(), ()]),
    ("i,->i", [(3,), ()]),
    ("", [()]),
    (" i j , j k -> i k ", [(3, 4), (4, 5)]),
]


@pytest.mark.parametrize(("spec", "shapes"), STRING_CASES, ids=[c[0] for c in STRING_CASES])
def test_string_form_matches_jax(spec, shapes):
    _check([spec] + [None] * len(shapes), *[_arr(s) for s in shapes])


M, VEC = _arr((4, 4)), _arr((4,))
X3, Y3 = _arr((2, 3, 5)), _arr((3, 4, 5))

# operand/sublist form: None marks where the operand goes
SUBLIST_CASES = [
    ([None, (0,), None, (0,)], [VEC, VEC]),
    ([None, (0,), None, (0,), ()], [VEC, VEC]),
    ([None, [0, 1], None, [1], [0]], [M, VEC]),
    ([None, [0, 1], None, [1]], [M, VEC]),
    ([None, (0,), None, (1,), (0, 1)], [VEC, VEC]),
    ([None, (0,), ()], [VEC]),
    ([None, (..., 0), (...,)], [M]),
    ([None, [Ellipsis, 0, 1], [1, Ellipsis]], [_arr((2, 3, 4))]),
    ([None, (1, 0)], [M]),
    ([None, (0, 1), (1, 0)], [M]),
    ([None, [0, 0]], [M]),
    ([None, [0, 0], [0]], [M]),
    ([None, (0, 1, 2), None, (1, 3, 2)], [X3, Y3]),
    ([None, (0, 1, 2), None, (1, 3, 2), (0, 3)], [X3, Y3]),
    ([None, (..., 2), None, (..., 2), [...]], [X3, _arr((1, 3, 5))]),
    ([None, ["a", "b"], None, ["b", "c"]], [M, M]),
    (
        [None, (0, 1), None, (1, 2), None, (2, 3), None, (3, 4)],
        [_arr((2, 2)), _arr((2, 3)), _arr((3, 2)), _arr((2, 3))],
    ),
]


@pytest.mark.parametrize(("args", "arrays"), SUBLIST_CASES, ids=range(len(SUBLIST_CASES)))
def test_sublist_form_matches_jax(args, arrays):
    _check(args, *arrays)


DTYPES = [
    (np.int32, np.float32),
    (np.float32, np.int32),
    (jnp.bfloat16, jnp.bfloat16),
    (jnp.bfloat16, np.float32),
    (np.int8, np.int8),
    (np.int8, np.float16),
    (np.bool_, np.bool_),
    (np.bool_, np.int32),
    (np.complex64, np.float32),
]


@pytest.mark.parametrize(("da", "db"), DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize(
    ("spec", "pet"), [("ij,jk", None), ("ij,jk", np.float32), ("ii,jk->ik", None)], ids=str
)
def test_dtypes_and_preferred_element_type(spec, da, db, pet):
    shapes = {"ij,jk": [(2, 3), (3, 4)], "ii,jk->ik": [(3, 3), (3, 4)]}
    a, b = _arr(shapes[spec][0], da), _arr(shapes[spec][1], db)
    _check([spec, None, None], a, b, rtol=2e-2, atol=2e-2, preferred_element_type=pet)


@pytest.mark.parametrize("pet", [None, np.float32, np.int32])
@pytest.mark.parametrize("dtype", [np.int32, jnp.bfloat16, np.bool_])
@pytest.mark.parametrize("spec", ["ij->", "ii->i"])
def test_one_operand_dtypes(spec, dtype, pet):
    _check([spec, None], _arr((3, 3), dtype), rtol=2e-2, atol=2e-2, preferred_element_type=pet)


def test_python_scalar_operands_and_weak_types():
    x = _arr((2, 3), np.int32)
    _check(["ij,", None, 2.0], x)
    _check([",ij", 3, None], _arr((3, 4)))
    _check(["i,", None, 2], _arr((2,), np.float16))
    _check([",", 2.0, 3.0])
    _check([",", 2, 3])
    _check(["", None], 2.0)
    # a weakly typed traced operand stays weak
    theirs = jax.make_jaxpr(lambda s: jnp.einsum(",", s * 1, s * 2))(2.0)
    ours = mg.make_jaxpr(lambda s: mnp.einsum(",", s * 1, s * 2))(2.0)
    assert str(ours) == str(theirs)


CHAIN = [_arr((2, 2)), _arr((2, 3)), _arr((3, 2)), _arr((2, 3))]


@pytest.mark.parametrize(
    "optimize",
    [
        "auto",
        True,
        False,
        "greedy",
        "optimal",
        "dp",
        "branch-2",
        "eager",
        [(0, 1), (0, 1), (0, 1)],
        [(2, 3), (0, 1), (0, 1)],
        [(1, 2), (0, 1), (0, 1)],
    ],
    ids=str,
)
def test_optimize_matches_jax(optimize):
    _check(["ij,jk,kl,lm->im"] + [None] * 4, *CHAIN, optimize=optimize)


def test_optimize_with_a_path_from_einsum_path():
    x, y, z = _arr((2, 3)), _arr((3, 100)), _arr((100, 5))
    path, _ = mnp.einsum_path("ij,jk,kl", x, y, z, optimize="optimal")
    _check(["ij,jk,kl", None, None, None], x, y, z, optimize=path)


@pytest.mark.parametrize(
    "precision",
    [
        None,
        jax.lax.Precision.HIGHEST,
        "highest",
        (jax.lax.Precision.HIGH, jax.lax.Precision.DEFAULT),
    ],
    ids=str,
)
def test_precision(precision):
    a, b, c = _arr((3, 4)), _arr((4, 5)), _arr((5, 2))
    ours = mnp.einsum("ij,jk,kl", a, b, c, precision=precision)
    theirs = jnp.einsum("ij,jk,kl", a, b, c, precision=precision)
    _same_value(ours, theirs)
    # the precision reaches every dot_general equation
    eqns = mg.make_jaxpr(lambda *xs: mnp.einsum("ij,jk,kl", *xs, precision=precision))(
        a, b, c
    ).jaxpr.eqns
    jax_eqns = jax.make_jaxpr(lambda *xs: jnp.einsum("ij,jk,kl", *xs, precision=precision))(
        a, b, c
    ).jaxpr.eqns
    assert [e.params["precision"] for e in eqns] == _jax_dot_precisions(jax_eqns)


def _jax_dot_precisions(eqns):
    """The precision param of every dot_general in JAX's equations (inside its jit)."""
    out = []
    for e in eqns:
        if e.primitive.name == "dot_general":
            out.append(e.params["precision"])
        for p in e.params.values():
            if hasattr(p, "jaxpr") and hasattr(p.jaxpr, "eqns"):
                out += _jax_dot_precisions(p.jaxpr.eqns)
    return out


def test_dot_general_override_is_called_as_jax_calls_it():
    def recorder(lax_dot_general, log):
        def dot_general(lhs, rhs, dims, precision=None, preferred_element_type=None):
            pet = preferred_element_type
            log.append((np.shape(lhs), np.shape(rhs), dims, pet))
            return lax_dot_general(lhs, rhs, dims, precision, preferred_element_type=pet)

        return dot_general

    ours_log, theirs_log = [], []
    args = ("bij,bjk,bkl->bil", _arr((2, 3, 4)), _arr((2, 4, 5)), _arr((2, 5, 6)))
    ours = mnp.einsum(*args, _dot_general=recorder(mg.lax.dot_general, ours_log))
    theirs = jnp.einsum(*args, _dot_general=recorder(jax.lax.dot_general, theirs_log))
    _same_value(ours, theirs)
    norm = lambda log: [  # noqa: E731
        (s1, s2, tuple(tuple(map(tuple, p)) for p in dn), np.dtype(t)) for s1, s2, dn, t in log
    ]
    assert norm(ours_log) == norm(theirs_log) and len(ours_log) == 2


# ---------------------------------------------------------------------------
# einsum_path


PATH_CASES = [
    ("ij,jk,kl", [(2, 3), (3, 100), (100, 5)]),
    ("ij,jk,kl->il", [(2, 2), (2, 5), (5, 2)]),
    ("ea,fb,abcd,gc,hd->efgh", [(10, 10), (10, 10), (10, 10, 10, 10), (10, 10), (10, 10)]),
    ("ij,jk", [(3, 4), (4, 5)]),
    ("ii->i", [(3, 3)]),
    ("...ij,...jk", [(2, 3, 4), (4, 5)]),
]


@pytest.mark.parametrize("optimize", ["auto", "greedy", "optimal", True, False, "dp"], ids=str)
@pytest.mark.parametrize(("spec", "shapes"), PATH_CASES, ids=[c[0] for c in PATH_CASES])
def test_einsum_path_matches_jax(spec, shapes, optimize):
    xs = [_arr(s) for s in shapes]
    ours_path, ours_info = mnp.einsum_path(spec, *xs, optimize=optimize)
    theirs_path, theirs_info = jnp.einsum_path(spec, *xs, optimize=optimize)
    assert ours_path == theirs_path
    assert str(ours_info) == str(theirs_info)


def test_einsum_path_default_and_sublist_form_and_tracers():
    xs = [_arr(s) for s in PATH_CASES[0][1]]
    ours, theirs = mnp.einsum_path("ij,jk,kl", *xs), jnp.einsum_path("ij,jk,kl", *xs)
    assert ours[0] == theirs[0] and str(ours[1]) == str(theirs[1])
    sub = (xs[0], [0, 1], xs[1], [1, 2], xs[2], [2, 3], [0, 3])
    assert mnp.einsum_path(*sub)[0] == jnp.einsum_path(*sub)[0]
    # only shapes are read: it works on the tracers of a transform
    seen = []

    def f(*xs):
        seen.append(mnp.einsum_path("ij,jk,kl", *xs, optimize="optimal")[0])
        return mnp.einsum("ij,jk,kl", *xs)

    mg.jit(f)(*xs)
    mg.vmap(f, in_axes=(None, None, 0))(xs[0], xs[1], np.stack([xs[2], xs[2]]))
    assert seen == [theirs[0], theirs[0]]


# ---------------------------------------------------------------------------
# transforms

GRAD_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ii->", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("iij,jk->ik", [(3, 3, 4), (4, 2)]),
    ("...ij,...jk", [(1, 3, 4), (2, 4, 5)]),
    ("ij,ij->ij", [(3, 4), (1, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 10), (10, 5)]),
    ("ijk,k->i", [(2, 3, 4), (4,)]),
    ("i,->i", [(3,), ()]),
]


def _flat(closed_jaxpr):
    """A jaxpr's text on one line, ints printed alike (JAX shows some as np.int64(1))."""
    text = re.sub(r"np\.int64\((\d+)\)", r"\1", str(closed_jaxpr))
    return re.sub(r"\s*([\[\]])\s*", r"\1", re.sub(r"\s+", " ", text))


@pytest.mark.parametrize(("spec", "shapes"), GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_grad_jvp_vmap_jit_match_jax(spec, shapes):
    xs = [_arr(s) for s in shapes]
    ts = [_arr(s) for s in shapes]
    n = len(xs)
    argnums = tuple(range(n))

    def loss(np_):
        return lambda *a: np_.sum(np_.sin(np_.einsum(spec, *a)))

    def ein(np_):
        return lambda *a: np_.einsum(spec, *a)

    # the backward pass and the JVP have JAX's equations
    for ours_fn, theirs_fn, args in [
        (mg.grad(loss(mnp), argnums=argnums), jax.grad(loss(jnp), argnums=argnums), xs),
        (
            lambda xs, ts: mg.jvp(ein(mnp), xs, ts),
            lambda xs, ts: jax.jvp(ein(jnp), xs, ts),
            (xs, ts),
        ),
    ]:
        assert _flat(mg.make_jaxpr(ours_fn)(*args)) == _flat(jax.make_jaxpr(theirs_fn)(*args))

    # values of grad, jvp, vmap (every operand mapped along its last axis; only
    # the first one mapped), all in one jit per library to compile once
    batched = [np.stack([x, 2 * x, -x], axis=-1) for x in xs]
    in_axes = tuple(np.ndim(x) for x in xs)
    one = (0,) + (None,) * (n - 1)
    first = np.stack([xs[0], 3 * xs[0]])

    def everything(lib, np_):
        def run(xs, ts, batched, first):
            return (
                np_.einsum(spec, *xs),
                lib.grad(loss(np_), argnums=argnums)(*xs),
                lib.jvp(ein(np_), xs, ts),
                lib.vmap(ein(np_), in_axes=in_axes)(*batched),
                lib.vmap(ein(np_), in_axes=one)(first, *xs[1:]),
            )

        return run

    ours = mg.jit(everything(mg, mnp))(xs, ts, batched, first)
    theirs = jax.jit(everything(jax, jnp))(xs, ts, batched, first)
    ours_leaves, ours_tree = jax.tree_util.tree_flatten(ours)
    theirs_leaves, theirs_tree = jax.tree_util.tree_flatten(theirs)
    assert ours_tree == theirs_tree
    for o, t in zip(ours_leaves, theirs_leaves, strict=True):
        _same_value(o, t)


EAGER_CASES = ["ij,jk->ik", "iij,jk->ik", "ij,jk,kl->il"]


@pytest.mark.parametrize("spec", EAGER_CASES)
def test_eager_value_and_grad(spec):
    xs = [_arr(s) for s in dict(GRAD_CASES)[spec]]
    _same_value(mnp.einsum(spec, *xs), jnp.einsum(spec, *xs))
    if spec == "ij,jk->ik":  # one operand a numpy array, one a jax.Array
        _same_value(mnp.einsum(spec, xs[0], jnp.asarray(xs[1])), jnp.einsum(spec, *xs))
    argnums = tuple(range(len(xs)))

    def loss(np_):
        return lambda *a: np_.sum(np_.einsum(spec, *a) ** 2)

    ours = mg.grad(loss(mnp), argnums=argnums)(*xs)
    theirs = jax.grad(loss(jnp), argnums=argnums)(*xs)
    for o, t in zip(ours, theirs, strict=True):
        _same_value(o, t, rtol=1e-4, atol=1e-4)


def test_grad_through_jit_and_vmap_of_grad():
    a, b = _arr((3, 4)), _arr((5, 4, 2))

    def loss(np_):
        return lambda a, b: np_.sum(np_.einsum("ij,bjk->bik", a, b) ** 2)

    ours = mg.jit(mg.grad(loss(mnp), argnums=(0, 1)))(a, b)
    theirs = jax.grad(loss(jnp), argnums=(0, 1))(a, b)
    for o, t in zip(ours, theirs, strict=True):
        _same_value(o, t, rtol=1e-4, atol=1e-4)
    per = mg.vmap(mg.grad(loss(mnp)), in_axes=(None, 0))(a, b[:, None])
    per_jax = jax.vmap(jax.grad(loss(jnp)), in_axes=(None, 0))(a, b[:, None])
    _same_value(per, per_jax, rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------
# errors


def _jax_error(fn):
    with pytest.raises(Exception) as info:
        fn(jnp)
    return info.value


A23, A45, A33 = _arr((2, 3)), _arr((4, 5)), _arr((3, 3))

ERROR_CASES = [
    ("too few operands", lambda np_: np_.einsum("ij,jk", A23)),
    ("too many operands", lambda np_: np_.einsum("ij", A23, A23)),
    ("no operands", lambda np_: np_.einsum("ij")),
    ("size mismatch", lambda np_: np_.einsum("ij,jk", A23, A45)),
    ("size mismatch ellipsis", lambda np_: np_.einsum("...i,...i", _arr((2, 3)), _arr((4, 3)))),
    ("output index not in inputs", lambda np_: np_.einsum("ij->k", A23)),
    ("repeated output index", lambda np_: np_.einsum("ij->ii", A23)),
    ("two arrows", lambda np_: np_.einsum("ij->i->j", A23)),
    ("dangling dash", lambda np_: np_.einsum("ij-", A23)),
    ("wrong rank", lambda np_: np_.einsum("ijk", A23)),
    ("ellipsis rank", lambda np_: np_.einsum("...ijk", A23)),
    ("bad ellipsis", lambda np_: np_.einsum("i..j", A23)),
    ("single dot", lambda np_: np_.einsum("i.j", A23)),
    ("sublist repeated output", lambda np_: np_.einsum(A23, [0, 1], A23, [1, 2], [0, 0])),
    ("sublist bad label", lambda np_: np_.einsum(A23, [0, "x"])),
    ("sublist wrong rank", lambda np_: np_.einsum(5.0, [0, 1])),
]


@pytest.mark.parametrize("fn", [c[1] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_errors_are_jaxs(fn):
    theirs = _jax_error(fn)
    with pytest.raises(type(theirs), match=re.escape(str(theirs))):
        fn(mnp)


def test_size_mismatch_names_the_index_and_the_shapes():
    with pytest.raises(ValueError, match=r"label 'j'.*\(2, 3\).*\(4, 5\)"):
        mnp.einsum("ij,jk", A23, A45)
    with pytest.raises(ValueError, match=r"label 'j'.*\(2, 3\).*\(4, 5\)"):
        mnp.einsum_path("ij,jk", A23, A45)
    with pytest.raises(ValueError, match=r"label 'j'"):
        mg.jit(lambda a, b: mnp.einsum("ij,jk", a, b))(A23, A45)


def test_output_index_missing_from_the_inputs_is_a_value_error():
    # jnp.einsum (opt_einsum) raises a bare KeyError here; ours is also a ValueError
    for np_ in (jnp, mnp):
        with pytest.raises(KeyError):
            np_.einsum(A23, [0, 1], [5])
    with pytest.raises(ValueError, match=r"output index 5 appears in no input.*\(2, 3\)"):
        mnp.einsum(A23, [0, 1], [5])
    with pytest.raises(ValueError, match=r"output index ','"):
        mnp.einsum("i,j->i,j", VEC, VEC)


def test_unsupported_arguments():
    for np_ in (jnp, mnp):
        with pytest.raises(NotImplementedError, match="'out' argument"):
            np_.einsum("ij", A23, out=A23)
        with pytest.raises(NotImplementedError, match="simultaneous contraction of 3 or more"):
            np_.einsum("ij,jk,kl", A23, A23.T, A23, optimize=[(0, 1, 2)])
    with pytest.raises(TypeError, match="einsum requires ndarray or scalar"):
        mnp.einsum("i,i", [1, 2], [3, 4])
