"""Every lax primitive against JAX: values, jvp, vjp, vmap and jaxprs, driven by op_table."""

from __future__ import annotations

import enum
from functools import partial

import jax
import numpy as np
import pytest
from jax import lax as jlax
from jax import tree_util
from jax_reference import jax_vjp
from op_table import OPS, OPS_BY_NAME, REQUIRED_PRIMITIVES, is_float, sample

import minigrad_jax as mg
from minigrad_jax import lax
from minigrad_jax._src import core, ir
from minigrad_jax._src.interpreters import ad, batching, lowering

float0 = jax.dtypes.float0
IDS = [s.name for s in OPS]
WITH_ARGS = [s for s in OPS if s.shapes]
DIFF = [s for s in WITH_ARGS if s.grad and any(is_float(d) for d in s.dtypes)]


def assert_trees_close(ours, theirs, tol, what=""):
    o_leaves, o_tree = tree_util.tree_flatten(ours)
    t_leaves, t_tree = tree_util.tree_flatten(theirs)
    assert o_tree == t_tree, f"{what}: tree structure {o_tree} != {t_tree}"
    for o, t in zip(o_leaves, t_leaves, strict=True):
        o, t = np.asarray(o), np.asarray(t)
        assert (o.shape, o.dtype) == (t.shape, t.dtype), (
            f"{what}: {o.dtype}{o.shape} != {t.dtype}{t.shape}"
        )
        if o.dtype == float0:
            continue
        if is_float(o.dtype):
            np.testing.assert_allclose(o, t, rtol=tol, atol=tol, err_msg=what)
        else:
            np.testing.assert_array_equal(o, t, err_msg=what)


def _float_positions(spec):
    return [i for i, d in enumerate(spec.dtypes) if is_float(d)]


def _on_floats(fn, args, positions):
    """``fn`` as a function of the float arguments only (the others are closed over)."""

    def g(*float_args):
        full = list(args)
        for i, a in zip(positions, float_args, strict=True):
            full[i] = a
        return fn(*full)

    return g


# ---------------------------------------------------------------------------
# (1) eager values


@pytest.mark.parametrize("spec", OPS, ids=IDS)
def test_values_match_jax(spec):
    args = sample(spec)
    assert_trees_close(spec.fn(*args), spec.jax_fn(*args), spec.tol, spec.name)


# ---------------------------------------------------------------------------
# (2) jvp and (3) vjp


@pytest.mark.parametrize("spec", DIFF, ids=[s.name for s in DIFF])
def test_jvp_matches_jax(spec):
    args = sample(spec)
    pos = _float_positions(spec)
    primals = [args[i] for i in pos]
    rng = np.random.default_rng(1)
    tangents = [rng.standard_normal(p.shape).astype(p.dtype) for p in primals]
    ours = mg.jvp(_on_floats(spec.fn, args, pos), primals, tangents)
    # JAX's side, here and below, runs as one jitted program: its eager transforms
    # compile every operation they run, which was most of this module's time.
    theirs = jax.jit(partial(jax.jvp, _on_floats(spec.jax_fn, args, pos)))(primals, tangents)
    assert_trees_close(ours, theirs, spec.tol, f"{spec.name} jvp")


@pytest.mark.parametrize("spec", DIFF, ids=[s.name for s in DIFF])
def test_vjp_matches_jax(spec):
    args = sample(spec)
    pos = _float_positions(spec)
    primals = [args[i] for i in pos]
    out, f_vjp = mg.vjp(_on_floats(spec.fn, args, pos), *primals)
    j_out = jax.eval_shape(_on_floats(spec.jax_fn, args, pos), *primals)
    rng = np.random.default_rng(2)
    ct = tree_util.tree_map(lambda o: _cotangent(rng, o), j_out)
    j_out, j_cts = jax_vjp(_on_floats(spec.jax_fn, args, pos), primals, ct)
    assert_trees_close(out, j_out, spec.tol, f"{spec.name} vjp primal")
    assert_trees_close(f_vjp(ct), j_cts, spec.tol, f"{spec.name} vjp")


def _cotangent(rng, out):
    if is_float(out.dtype):
        return rng.standard_normal(out.shape).astype(out.dtype)
    return np.zeros(out.shape, float0)


# ---------------------------------------------------------------------------
# (4) vmap: mapped axes 0, 1, -1 and unmapped (None) arguments mixed

# Mapped axis per argument: 0, 1 (0 for scalars), -1, or None (unmapped).
AXES_PATTERNS = {
    "axis0": lambda n: [0] * n,
    "axis-1": lambda n: [-1] * n,
    "axis1": lambda n: [1] * n,
    "mixed": lambda n: [[1, None, 0, -1][i % 4] for i in range(n)],
    "first_unmapped": lambda n: [[None, 1, -1, 0][i % 4] for i in range(n)],
}


def _patterns(spec, position):
    """Elementwise ops share one batching rule per family, so one pattern each suffices;
    the binary ones alternate between both-mapped and one-unmapped along the table."""
    n = len(spec.shapes)
    if spec.elementwise:
        return ["axis1"] if n == 1 else [("axis-1", "mixed")[position % 2]]
    if n == 1:
        return ["axis0", "axis1", "axis-1"]
    return ["axis0", "axis-1", "mixed", "first_unmapped"]


def _vmap_cases():
    for position, spec in enumerate(WITH_ARGS):
        for pname in _patterns(spec, position):
            pattern = AXES_PATTERNS[pname](len(spec.shapes))
            axes = [0 if a == 1 and not shape else a for a, shape in zip(pattern, spec.shapes)]
            yield pytest.param(spec, tuple(axes), id=f"{spec.name}-{pname}")


@pytest.mark.parametrize("spec, in_axes", list(_vmap_cases()))
def test_vmap_matches_jax(spec, in_axes):
    args = sample(spec, seed=3, batch=(3, in_axes))
    ours = mg.vmap(spec.fn, in_axes=in_axes)(*args)
    theirs = jax.jit(jax.vmap(spec.jax_fn, in_axes=in_axes))(*args)
    assert_trees_close(ours, theirs, spec.tol, f"{spec.name} vmap {in_axes}")
    loop = _loop_and_stack(spec.fn, args, in_axes, 3)
    assert_trees_close(ours, loop, spec.tol, f"{spec.name} vmap {in_axes} vs loop")


def _loop_and_stack(fn, args, in_axes, size):
    """The same map as a Python loop over the mapped axis, stacked (the third oracle)."""
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    outs = [
        fn(*[a if ax is None else np.take(np.asarray(a), i, axis=ax) for a, ax in zip(args, axes)])
        for i in range(size)
    ]
    return tree_util.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *outs)


# Compositions through the rules of the structural and indexing primitives.
COMPOSED = [
    "gather_rows",
    "scatter_add",
    "scatter",
    "dynamic_slice",
    "dynamic_update_slice",
    "pad_negative",
    "sort_key_val",
    "concatenate",
]


@pytest.mark.parametrize("name", COMPOSED)
def test_vmap_of_vjp_matches_jax(name):
    spec = OPS_BY_NAME[name]
    pos = _float_positions(spec)
    in_axes = tuple(0 if i in pos else None for i in range(len(spec.shapes)))
    args = sample(spec, seed=4, batch=(2, in_axes))

    def grad_sum(fn):
        def g(*a):
            f = _on_floats(fn, a, pos)
            out, f_vjp = (mg if fn is spec.fn else jax).vjp(f, *[a[i] for i in pos])
            return f_vjp(tree_util.tree_map(lambda o: o * 0 + 1, out))

        return g

    ours = mg.vmap(grad_sum(spec.fn), in_axes=in_axes)(*args)
    theirs = jax.vmap(grad_sum(spec.jax_fn), in_axes=in_axes)(*args)
    assert_trees_close(ours, theirs, spec.tol, f"{name} vmap(vjp)")


# ---------------------------------------------------------------------------
# (5) make_jaxpr: the same equations as JAX's


def _norm(v):
    if hasattr(v, "eqns") or hasattr(v, "jaxpr"):
        return _SKIP
    if isinstance(v, enum.Enum):
        return v
    if isinstance(v, np.dtype) or (isinstance(v, type) and issubclass(v, np.generic)):
        return np.dtype(v)
    if isinstance(v, (tuple, list)):
        return tuple(_norm(x) for x in v)
    if isinstance(v, float) and np.isnan(v):
        return "nan"
    return v


_SKIP = object()


def _atoms(jaxpr):
    """Each equation's inputs as ("var", definition index) or ("lit", value, dtype)."""
    index = {}
    for v in list(jaxpr.constvars) + list(jaxpr.invars):
        index[v] = len(index)
    out = []
    for eqn in jaxpr.eqns:
        row = []
        for a in eqn.invars:
            if type(a).__name__ == "Literal":
                val = np.asarray(a.val)
                row.append(("lit", val.tolist(), np.dtype(a.aval.dtype)))
            else:
                row.append(("var", index[a]))
        out.append(row)
        for v in eqn.outvars:
            index[v] = len(index)
    return out


def assert_same_equations(ours, theirs, name):
    assert _atoms(ours.jaxpr) == _atoms(theirs.jaxpr), f"{name} operands:\n{ours}\n{theirs}"
    o_eqns, t_eqns = ours.jaxpr.eqns, theirs.jaxpr.eqns
    o_names = [e.primitive.name for e in o_eqns]
    t_names = [e.primitive.name for e in t_eqns]
    assert o_names == t_names, f"{name}:\nours:\n{ours}\njax:\n{theirs}"
    for o, t in zip(o_eqns, t_eqns, strict=True):
        where = f"{name}: {o.primitive.name}"
        only_one = sorted(set(t.params) ^ set(o.params))
        assert not only_one, f"{where} params {only_one} are in only one of the jaxprs"
        for key in set(o.params) & set(t.params):
            ov, tv = _norm(o.params[key]), _norm(t.params[key])
            if ov is _SKIP or tv is _SKIP:
                continue
            assert ov == tv, f"{where} param {key}: {o.params[key]!r} != {t.params[key]!r}"
        o_out = [(v.aval.shape, np.dtype(v.aval.dtype)) for v in o.outvars]
        t_out = [(v.aval.shape, np.dtype(v.aval.dtype)) for v in t.outvars]
        assert o_out == t_out, f"{where} outputs {o_out} != {t_out}"


JAXPR_SPECS = [s for s in OPS if s.jaxpr]


@pytest.mark.parametrize("spec", JAXPR_SPECS, ids=[s.name for s in JAXPR_SPECS])
def test_jaxpr_matches_jax(spec):
    args = sample(spec)
    ours = mg.make_jaxpr(spec.fn)(*args)
    theirs = jax.make_jaxpr(spec.jax_fn)(*args)
    assert_same_equations(ours, theirs, spec.name)


@pytest.mark.parametrize("spec", DIFF, ids=[s.name for s in DIFF])
def test_transformed_jaxprs_typecheck(spec):
    """Tracing only: every rule's output is well typed under grad and vmap(grad)."""
    args = sample(spec)
    pos = _float_positions(spec)

    def loss(*float_args):
        out = _on_floats(spec.fn, args, pos)(*float_args)
        leaves = [x for x in tree_util.tree_leaves(out) if is_float(x.dtype)]
        return sum((lax.reduce_sum(x, tuple(range(x.ndim))) for x in leaves), np.float32(0))

    g = mg.grad(loss, argnums=tuple(range(len(pos))))
    primals = [args[i] for i in pos]
    ir.check_jaxpr(mg.make_jaxpr(g)(*primals).jaxpr)
    ir.check_jaxpr(mg.make_jaxpr(mg.vmap(g))(*[np.stack([p, p]) for p in primals]).jaxpr)


def test_table_covers_every_required_primitive():
    seen = set()
    for spec in OPS:
        seen.update(e.primitive.name for e in mg.make_jaxpr(spec.fn)(*sample(spec)).eqns)
    assert REQUIRED_PRIMITIVES <= seen, sorted(REQUIRED_PRIMITIVES - seen)


# ---------------------------------------------------------------------------
# every primitive has every rule it needs

LINEAR = {
    "add_any",
    "copy",
    "neg",
    "add",
    "sub",
    "mul",
    "div",
    "convert_element_type",
    "select_n",
    "dot_general",
    "broadcast_in_dim",
    "reshape",
    "transpose",
    "squeeze",
    "rev",
    "pad",
    "concatenate",
    "slice",
    "dynamic_slice",
    "dynamic_update_slice",
    "gather",
    "scatter-add",
    "scatter",
    "reduce_sum",
    "cumsum",
    "split",
}


# Primitives that only ever live in a linear jaxpr that is transposed (like JAX's
# custom_lin, the residual-carrying call a custom_vjp leaves in a linearized jaxpr):
# they need a transpose rule, not a jvp or batching rule.
TRANSPOSE_ONLY = {"custom_lin"}


def test_every_primitive_has_its_rules():
    missing = []
    for prim in core.abstract_eval_rules:
        if prim.name in TRANSPOSE_ONLY:
            if prim not in ad.transpose_rules:
                missing.append(f"{prim.name}: transpose")
            continue
        if prim not in lowering.lowering_rules:
            missing.append(f"{prim.name}: lowering")
        if prim not in batching.batch_rules:
            missing.append(f"{prim.name}: batching")
        if prim not in ad.jvp_rules and prim not in ad.non_differentiable:
            missing.append(f"{prim.name}: jvp")
        if prim.name in LINEAR and prim not in ad.transpose_rules:
            missing.append(f"{prim.name}: transpose")
    assert not missing, missing
    names = {p.name for p in core.abstract_eval_rules}
    assert LINEAR <= names, sorted(LINEAR - names)


# ---------------------------------------------------------------------------
# bad input: a typed error naming the primitive

x34 = np.ones((3, 4), np.float32)
ROWS = lax.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,), start_index_map=(0,))
SROWS = lax.ScatterDimensionNumbers(
    update_window_dims=(1,), inserted_window_dims=(0,), scatter_dims_to_operand_dims=(0,)
)
i21 = np.zeros((2, 1), np.int32)
BAD = [
    ("pad", lambda: lax.pad(x34, np.float16(0), [(1, 1, 0), (0, 0, 0)]), "same dtype"),
    ("pad", lambda: lax.pad(x34, 0.0, [(1, 1, 0)]), "padding_config"),
    ("pad", lambda: lax.pad(x34, 0.0, [(-3, -1, 0), (0, 0, 0)]), "negative"),
    ("concatenate", lambda: lax.concatenate([x34, np.ones((3, 5), np.float32)], 0), "differ"),
    ("slice", lambda: lax.slice(x34, (0, 0), (4, 4)), "limit"),
    ("squeeze", lambda: lax.squeeze(x34, (0,)), "size 1"),
    ("rev", lambda: lax.rev(x34, (2,)), "dimensions"),
    ("dynamic_slice", lambda: lax.dynamic_slice(x34, (0, 0), (4, 1)), "slice_sizes"),
    ("dynamic_update_slice", lambda: lax.dynamic_update_slice(x34, x34.T[:, :1], (0, 0)), "fit"),
    ("gather", lambda: lax.gather(x34, i21, ROWS, (2, 4)), "slice size"),
    ("gather", lambda: lax.gather(x34, i21.astype(np.float32), ROWS, (1, 4)), "integer"),
    ("scatter-add", lambda: lax.scatter_add(x34, i21, x34, SROWS), "updates"),
    ("sort", lambda: lax.sort((x34, x34.T)), "equal shapes"),
    ("reduce_max", lambda: lax.reduce_max(x34, (2,)), "axes"),
    ("argmax", lambda: lax.argmax(x34, 0, np.float32), "index_dtype"),
    ("cumsum", lambda: lax.cumsum(x34 > 0, 0), "numeric"),
    ("iota", lambda: lax.broadcasted_iota(np.int32, (3,), 1), "dimension"),
]


@pytest.mark.parametrize("prim, thunk, needle", BAD, ids=[f"{b[0]}-{b[2]}" for b in BAD])
def test_bad_input_raises_a_clear_error(prim, thunk, needle):
    with pytest.raises((TypeError, ValueError)) as info:
        mg.make_jaxpr(thunk)()
    msg = str(info.value)
    assert prim in msg and needle in msg, msg


def test_stop_gradient_blocks_gradients_like_jax():
    def f(L, x):
        return L.mul(L.stop_gradient(L.mul(x, x)), x)

    g = mg.grad(lambda x: f(lax, x))(3.0)
    assert float(g) == float(jax.grad(lambda x: f(jlax, x))(3.0)) == 9.0
    # A Python scalar reaching stop_gradient's lowering still comes back as an array.
    assert float(mg.grad(lambda x: lax.mul(lax.stop_gradient(x), x))(3.0)) == 3.0


def test_reduce_max_ties_share_the_tangent_like_jax():
    x = np.array([1.0, 3.0, 3.0, 2.0], np.float32)
    t = np.array([1.0, 2.0, 4.0, 8.0], np.float32)
    ours = mg.jvp(lambda v: lax.reduce_max(v, (0,)), (x,), (t,))
    theirs = jax.jvp(lambda v: jlax.reduce_max(v, (0,)), (x,), (t,))
    assert_trees_close(ours, theirs, 0, "reduce_max ties")
    assert float(ours[1]) == 3.0


def test_pad_transpose_handles_negative_and_interior_padding():
    config = [(-2, 3, 2), (1, -2, 1)]
    x = np.arange(20, dtype=np.float32).reshape(4, 5)
    ct = np.random.default_rng(5).standard_normal((11, 8)).astype(np.float32)
    ours = mg.vjp(lambda a, v: lax.pad(a, v, config), x, np.float32(0))[1](ct)
    theirs = jax.vjp(lambda a, v: jlax.pad(a, v, config), x, np.float32(0))[1](ct)
    assert_trees_close(ours, theirs, 1e-6, "pad transpose")


X64_PROGRAMS = {
    "dynamic_slice": lambda L, x, i: L.dynamic_slice(x, (i, -2), (2, 2)),
    "dynamic_update_slice": lambda L, x, i: L.dynamic_update_slice(
        x, L.slice(L.mul(x, x), (0, 0), (2, 2)), (i, 1)
    ),
    "gather": lambda L, x, i: L.gather(x, L.broadcast(i, (2, 1)), ROWS, (1, 5)),
    "sort_key_val": lambda L, x, i: L.sort_key_val(x, L.mul(x, x), 0)[1],
    "argmax_iota": lambda L, x, i: L.mul(
        x,
        L.convert_element_type(
            L.add(
                L.broadcasted_iota(np.int64, (4, 5), 0), L.broadcast(L.argmax(x, 0, np.int64), (4,))
            ),
            np.float64,
        ),
    ),
}


@pytest.mark.parametrize("name", list(X64_PROGRAMS))
def test_float64_and_int64_like_jax(x64, name):
    prog = X64_PROGRAMS[name]
    x = np.random.default_rng(6).standard_normal((4, 5))
    i = np.int64(1)

    def loss(L):
        return lambda x: L.reduce_sum(prog(L, x, i), (0, 1))

    assert_trees_close(prog(lax, x, i), prog(jlax, x, i), 1e-12, name)
    assert np.asarray(prog(lax, x, i)).dtype == np.float64
    assert_trees_close(mg.grad(loss(lax))(x), jax.grad(loss(jlax))(x), 1e-12, name)
    ours = mg.make_jaxpr(lambda x: prog(lax, x, i))(x)
    assert_same_equations(ours, jax.make_jaxpr(lambda x: prog(jlax, x, i))(x), name)
