"""One table of lax op specs that drives the value, jvp, vjp, vmap and jaxpr tests.

Each spec's program is written once as ``f(L, *args)`` and run with
``L = minigrad_jax.lax`` and with ``L = jax.lax``, so both sides compute the
same program by construction. ``domains`` say how each argument is sampled
(e.g. ``pos`` for log's argument, ``idx5`` for indices into an axis of 5).
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import jax
import numpy as np
import op_specs_conv
import op_specs_fft
import op_specs_linalg
import op_specs_solves
import op_specs_spectral
import op_specs_window
from jax import lax as jlax

from minigrad_jax import lax as mlax
from minigrad_jax._src.interpreters import ad

f32, i32, b_ = np.float32, np.int32, np.bool_


class OpSpec(NamedTuple):
    name: str  # test id
    fn: Callable  # ours
    jax_fn: Callable  # JAX's
    shapes: tuple  # one shape per argument
    dtypes: tuple  # one dtype per argument
    domains: tuple  # one sampler name per argument (see SAMPLERS)
    tol: float  # rtol and atol of every comparison
    grad: bool  # compare jvp/vjp with JAX (False: integer/boolean output or no float input)
    jaxpr: bool  # compare make_jaxpr equation by equation (False where JAX inserts a jit)
    elementwise: bool  # one shared batching rule: fewer vmap axis patterns are needed


def _op(
    name,
    f,
    shapes,
    dtypes=None,
    domains=None,
    tol=1e-5,
    grad=True,
    jaxpr=True,
    jax_f=None,
    elementwise=False,
):
    n = len(shapes)
    dtypes = (f32,) * n if dtypes is None else tuple(dtypes)
    domains = (
        tuple("real" if d == f32 else "int" if d == i32 else "bool" for d in dtypes)
        if domains is None
        else tuple(domains)
    )
    jax_f = f if jax_f is None else jax_f
    return OpSpec(
        name,
        functools.partial(f, mlax),
        functools.partial(jax_f, jlax),
        tuple(map(tuple, shapes)),
        dtypes,
        domains,
        tol,
        grad,
        jaxpr,
        elementwise,
    )


# ---------------------------------------------------------------------------
# samplers: rng, shape, dtype -> numpy array


def _real(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def _uniform(lo, hi):
    return lambda rng, shape, dtype: rng.uniform(lo, hi, shape).astype(dtype)


def _nonzero(rng, shape, dtype):
    mag = rng.uniform(0.5, 2.0, shape)
    return (mag * rng.choice([-1.0, 1.0], shape)).astype(dtype)


def _some_zeros(rng, shape, dtype):
    return (rng.standard_normal(shape) * (rng.uniform(size=shape) > 0.3)).astype(dtype)


def _ints(lo, hi):
    return lambda rng, shape, dtype: rng.integers(lo, hi, shape).astype(dtype)


def _bool(rng, shape, dtype):
    return rng.uniform(size=shape) > 0.5


SAMPLERS = {
    "real": _real,
    "pos": _uniform(0.5, 2.0),
    "unit": _uniform(-0.9, 0.9),
    "gt1": _uniform(1.1, 3.0),
    "nonzero": _nonzero,
    "zeros": _some_zeros,
    "int": _ints(-5, 6),
    "small": _ints(-3, 4),  # start indices, negative ones included
    "sel3": _ints(0, 3),
    "idx5": _ints(0, 5),
    "idx4": _ints(0, 4),
    "oob": _ints(-2, 7),  # out of bounds for an axis of 5
    "bool": _bool,
}


def sample(spec: OpSpec, seed: int = 0, batch=None):
    """The spec's arguments; ``batch=(size, axes)`` inserts a mapped axis per argument."""
    rng = np.random.default_rng(seed)
    args = []
    for i, (shape, dtype, dom) in enumerate(zip(spec.shapes, spec.dtypes, spec.domains)):
        if batch is not None and batch[1][i] is not None:
            size, ax = batch[0], batch[1][i]
            shape = list(shape)
            shape.insert(ax % (len(shape) + 1), size)
        args.append(np.asarray(SAMPLERS[dom](rng, tuple(shape), dtype), dtype))
    return args


# ---------------------------------------------------------------------------
# the table

S = (2, 3)
_UNARY_FLOAT = [
    ("neg", "real"),
    ("sign", "real"),
    ("floor", "real"),
    ("ceil", "real"),
    ("round", "real"),
    ("abs", "nonzero"),
    ("exp", "real"),
    ("exp2", "real"),
    ("log", "pos"),
    ("log1p", "pos"),
    ("expm1", "real"),
    ("sqrt", "pos"),
    ("rsqrt", "pos"),
    ("cbrt", "nonzero"),
    ("sin", "real"),
    ("cos", "real"),
    ("tan", "unit"),
    ("asin", "unit"),
    ("acos", "unit"),
    ("atan", "real"),
    ("sinh", "real"),
    ("cosh", "real"),
    ("tanh", "real"),
    ("asinh", "real"),
    ("acosh", "gt1"),
    ("atanh", "unit"),
    ("logistic", "real"),
    ("erf", "real"),
    ("erfc", "real"),
    ("erf_inv", "unit"),
    ("lgamma", "pos"),
    ("digamma", "pos"),
    ("square", "real"),
    ("is_finite", "real"),
    ("stop_gradient", "real"),
]
_BINARY_FLOAT = [
    ("add", "real", "real"),
    ("sub", "real", "real"),
    ("mul", "real", "real"),
    ("div", "real", "nonzero"),
    ("rem", "real", "nonzero"),
    ("pow", "pos", "real"),
    ("max", "real", "real"),
    ("min", "real", "real"),
    ("atan2", "real", "nonzero"),
    ("nextafter", "real", "real"),
]
_COMPARE = ["eq", "ne", "lt", "le", "gt", "ge"]
_LOGIC = ["bitwise_and", "bitwise_or", "bitwise_xor"]


def _unary(name, dom, dtype=f32, **kw):
    return _op(
        f"{name}_{np.dtype(dtype).name}",
        lambda L, x: getattr(L, name)(x),
        [S],
        [dtype],
        [dom],
        elementwise=True,
        **kw,
    )


def _binary(name, d1, d2, dtype=f32, **kw):
    return _op(
        f"{name}_{np.dtype(dtype).name}",
        lambda L, x, y: getattr(L, name)(x, y),
        [S, S],
        [dtype, dtype],
        [d1, d2],
        elementwise=True,
        **kw,
    )


GDN = jlax.GatherDimensionNumbers
SDN = jlax.ScatterDimensionNumbers
ROWS = GDN(offset_dims=(1,), collapsed_slice_dims=(0,), start_index_map=(0,))
WINDOWS = GDN(offset_dims=(1, 2), collapsed_slice_dims=(), start_index_map=(0, 1))
POINTS = GDN(offset_dims=(), collapsed_slice_dims=(0, 1), start_index_map=(1, 0))
SROWS = SDN(update_window_dims=(1,), inserted_window_dims=(0,), scatter_dims_to_operand_dims=(0,))
SPOINTS = SDN(
    update_window_dims=(), inserted_window_dims=(0, 1), scatter_dims_to_operand_dims=(0, 1)
)
UNIQUE_ROWS = np.array([[3], [0], [4]], np.int32)


def _copy(L, x):
    return (ad.copy_p if L is mlax else jlax.copy_p).bind(x)


def _sort3(L, k1, k2, v):
    return L.sort((k1, k2, v), dimension=0, num_keys=2)


OPS = (
    [
        _unary(n, d, tol=1e-4 if n in ("lgamma", "digamma", "erf_inv") else 1e-5)
        for n, d in _UNARY_FLOAT
    ]
    + [
        _binary(n, a, b, tol=1e-4 if n == "pow" else 1e-5, grad=n != "nextafter")
        for n, a, b in _BINARY_FLOAT
    ]
    + [_binary(n, "int", "int", i32, grad=False) for n in _COMPARE]
    + [_binary("lt", "real", "real", grad=False)]
    + [_binary(n, "bool", "bool", b_, grad=False) for n in _LOGIC]
    + [_binary(n, "int", "int", i32, grad=False) for n in _LOGIC + ["add", "mul", "max", "rem"]]
    + [
        _unary("neg", "int", i32, grad=False),
        _unary("abs", "int", i32, grad=False),
        _unary("sign", "int", i32, grad=False),
        _unary("bitwise_not", "bool", b_, grad=False),
        _unary("bitwise_not", "int", i32, grad=False),
        _op("integer_pow_3", lambda L, x: L.integer_pow(x, 3), [S], elementwise=True),
        _op(
            "integer_pow_-2",
            lambda L, x: L.integer_pow(x, -2),
            [S],
            domains=["nonzero"],
            elementwise=True,
        ),
        _op("mul_python_scalar", lambda L, x: L.mul(x, 2.0), [S], elementwise=True),
        _op("copy", _copy, [S], elementwise=True),
        _op("select_n_bool", lambda L, p, x, y: L.select_n(p, x, y), [S, S, S], [b_, f32, f32]),
        _op(
            "select_n_int",
            lambda L, p, x, y, z: L.select_n(p, x, y, z),
            [S, S, S, S],
            [i32, f32, f32, f32],
            ["sel3", "real", "real", "real"],
        ),
        _op("select", lambda L, p, x, y: L.select(p, x, y), [S, S, S], [b_, f32, f32]),
        _op("clamp_scalar_bounds", lambda L, x: L.clamp(-0.5, x, 0.5), [S]),
        _op(
            "clamp_array_bounds",
            lambda L, lo, x, hi: L.clamp(lo, x, hi),
            [S, S, S],
            domains=["real", "real", "gt1"],
        ),
        # dtype conversion and shapes
        _op("convert_f32_i32", lambda L, x: L.convert_element_type(x, np.int32), [S], grad=False),
        _op(
            "convert_i32_f32",
            lambda L, x: L.convert_element_type(x, np.float32),
            [S],
            [i32],
            grad=False,
        ),
        _op("convert_f32_f16", lambda L, x: L.convert_element_type(x, np.float16), [S], tol=1e-2),
        _op("broadcast_in_dim", lambda L, x: L.broadcast_in_dim(x, (3, 2, 4), (1, 2)), [(2, 1)]),
        _op("broadcast", lambda L, x: L.broadcast(x, (2,)), [S]),
        _op("reshape", lambda L, x: L.reshape(x, (3, 2)), [S]),
        _op("reshape_dimensions", lambda L, x: L.reshape(x, (6,), (1, 0)), [S]),
        _op("collapse", lambda L, x: L.collapse(x, 1, 3), [(2, 3, 2, 2)]),
        _op("transpose", lambda L, x: L.transpose(x, (2, 0, 1)), [(2, 3, 4)]),
        _op("squeeze", lambda L, x: L.squeeze(x, (-2, 0)), [(1, 3, 1, 2)]),
        _op("expand_dims", lambda L, x: L.expand_dims(x, (0, -1)), [S]),
        _op("rev", lambda L, x: L.rev(x, (0, 2)), [(2, 3, 2)]),
        _op("pad", lambda L, x, v: L.pad(x, v, [(1, 2, 1), (0, 1, 0)]), [S, ()]),
        _op("pad_negative", lambda L, x, v: L.pad(x, v, [(-1, 2, 2), (2, -2, 0)]), [(3, 4), ()]),
        _op("pad_int", lambda L, x: L.pad(x, 0, [(1, -1, 1), (0, 0, 0)]), [S], [i32], grad=False),
        _op(
            "concatenate", lambda L, x, y, z: L.concatenate([x, y, z], 1), [(2, 1), (2, 3), (2, 2)]
        ),
        _op("split", lambda L, x: L.split(x, (1, 0, 2), axis=-1), [S]),
        _op("split_one_piece_used", lambda L, x: L.split(x, (3, 1), axis=0)[1], [(4, 2)]),
        _op("slice", lambda L, x: L.slice(x, (1, 0), (3, 4)), [(4, 5)]),
        _op("slice_strided", lambda L, x: L.slice(x, (1, 0), (4, 5), (2, 3)), [(4, 5)]),
        _op("slice_in_dim", lambda L, x: L.slice_in_dim(x, 1, -1, 2, axis=1), [(3, 6)]),
        _op("index_in_dim", lambda L, x: L.index_in_dim(x, -1, 1, keepdims=False), [(3, 4)]),
        _op(
            "dynamic_slice",
            lambda L, x, i, j: L.dynamic_slice(x, (i, j), (2, 3)),
            [(4, 5), (), ()],
            [f32, i32, i32],
            ["real", "small", "small"],
        ),
        _op(
            "dynamic_slice_static_index",
            lambda L, x, i: L.dynamic_slice(x, (-1, i), (2, 2)),
            [(4, 5), ()],
            [f32, i32],
            ["real", "small"],
        ),
        _op(
            "dynamic_slice_in_dim",
            lambda L, x, i: L.dynamic_slice_in_dim(x, i, 2, axis=1),
            [(3, 5), ()],
            [f32, i32],
            ["real", "small"],
        ),
        _op(
            "dynamic_index_in_dim",
            lambda L, x, i: L.dynamic_index_in_dim(x, i, 0, keepdims=False),
            [(3, 5), ()],
            [f32, i32],
            ["real", "small"],
            jaxpr=False,
        ),
        _op(
            "dynamic_update_slice",
            lambda L, x, u, i, j: L.dynamic_update_slice(x, u, (i, j)),
            [(4, 5), (2, 3), (), ()],
            [f32, f32, i32, i32],
            ["real", "real", "small", "small"],
        ),
        _op(
            "dynamic_update_slice_in_dim",
            lambda L, x, u, i: L.dynamic_update_slice_in_dim(x, u, i, 0),
            [(4, 3), (2, 3), ()],
            [f32, f32, i32],
            ["real", "real", "small"],
        ),
        _op("iota", lambda L: L.iota(np.int32, 5), [], grad=False),
        _op("broadcasted_iota", lambda L, x: L.mul(x, L.broadcasted_iota(np.float32, S, 1)), [S]),
        _op("full", lambda L, x: L.add(x, L.full(S, 2.0)), [S]),
        _op("full_like", lambda L, x: L.full_like(x, 3, np.int32), [S], grad=False),
        _op(
            "zeros_like_array",
            lambda L, x: L.zeros_like_array(x),
            [S],
            jax_f=lambda L, x: L.full_like(x, 0),
        ),
        # gather / scatter
        _op(
            "gather_rows",
            lambda L, x, i: L.gather(x, i, ROWS, (1, 4)),
            [(5, 4), (3, 1)],
            [f32, i32],
            ["real", "idx5"],
        ),
        _op(
            "gather_windows_clip",
            lambda L, x, i: L.gather(x, i, WINDOWS, (2, 3), mode="clip"),
            [(4, 5), (3, 2)],
            [f32, i32],
            ["real", "idx5"],
        ),
        _op(
            "gather_points_fill",
            lambda L, x, i: L.gather(x, i, POINTS, (1, 1), mode="fill", fill_value=-1.0),
            [(5, 5), (4, 2)],
            [f32, i32],
            ["real", "oob"],
        ),
        _op(
            "scatter_add",
            lambda L, x, i, u: L.scatter_add(x, i, u, SROWS),
            [(5, 4), (3, 1), (3, 4)],
            [f32, i32, f32],
            ["real", "idx5", "real"],
        ),
        _op(
            "scatter_add_points",
            lambda L, x, i, u: L.scatter_add(x, i, u, SPOINTS, mode="clip"),
            [(4, 4), (5, 2), (5,)],
            [f32, i32, f32],
            ["real", "oob", "real"],
        ),
        _op(
            "scatter_unique",
            lambda L, x, u: L.scatter(x, UNIQUE_ROWS, u, SROWS, unique_indices=True),
            [(5, 4), (3, 4)],
        ),
        _op(
            "scatter",
            lambda L, x, i, u: L.scatter(x, i, u, SROWS),
            [(5, 4), (3, 1), (3, 4)],
            [f32, i32, f32],
            ["real", "idx5", "real"],
        ),
        # reductions
        _op("reduce_sum", lambda L, x: L.reduce_sum(x, (0, 2)), [(2, 3, 2)]),
        _op("reduce_max", lambda L, x: L.reduce_max(x, (1,)), [(2, 4, 3)]),
        _op("reduce_min", lambda L, x: L.reduce_min(x, (0, 2)), [(2, 3, 2)]),
        _op("reduce_max_int", lambda L, x: L.reduce_max(x, (1,)), [S], [i32], grad=False),
        _op("reduce_prod", lambda L, x: L.reduce_prod(x, (1,)), [(2, 3, 2)]),
        _op(
            "reduce_prod_zeros",
            lambda L, x: L.reduce_prod(x, (0, 1)),
            [(3, 2, 2)],
            domains=["zeros"],
        ),
        _op("reduce_and", lambda L, x: L.reduce_and(x, (1,)), [S], [b_], grad=False),
        _op("reduce_or", lambda L, x: L.reduce_or(x, (0,)), [S], [b_], grad=False),
        _op("reduce_xor", lambda L, x: L.reduce_xor(x, (0, 1)), [S], [i32], grad=False),
        _op("argmax", lambda L, x: L.argmax(x, 1, np.int32), [(2, 4, 3)]),
        _op("argmin", lambda L, x: L.argmin(x, 0, np.int32), [(3, 2)]),
        _op("argmax_int", lambda L, x: L.argmax(x, 0, np.int32), [(4, 3)], [i32], grad=False),
        _op("cumsum", lambda L, x: L.cumsum(x, 1), [(2, 4)]),
        _op("cumsum_reverse", lambda L, x: L.cumsum(x, 0, reverse=True), [(3, 2)]),
        _op("cumsum_int", lambda L, x: L.cumsum(x, 0), [(3, 2)], [i32], grad=False),
        _op("cumprod", lambda L, x: L.cumprod(x, 1), [(2, 3)]),
        _op(
            "cumprod_reverse_zeros",
            lambda L, x: L.cumprod(x, 0, reverse=True),
            [(3, 1)],
            domains=["zeros"],
        ),
        _op("cummax", lambda L, x: L.cummax(x, 1), [(2, 4)]),
        _op("cummin_reverse", lambda L, x: L.cummin(x, 0, reverse=True), [(3, 2)]),
        # sorting
        _op("sort", lambda L, x: L.sort(x), [(3, 4)]),
        _op("sort_dim0", lambda L, x: L.sort(x, dimension=0, is_stable=False), [(3, 4)]),
        _op(
            "sort_multi_keys",
            _sort3,
            [(4, 2), (4, 2), (4, 2)],
            [i32, i32, f32],
            ["sel3", "sel3", "real"],
        ),
        _op("sort_key_val", lambda L, k, v: L.sort_key_val(k, v), [(2, 5), (2, 5)]),
        # contractions
        _op(
            "dot_general",
            lambda L, x, y: L.dot_general(x, y, (((1,), (0,)), ((), ()))),
            [(2, 3), (3, 4)],
        ),
        _op(
            "dot_general_batch",
            lambda L, x, y: L.dot_general(x, y, (((2,), (1,)), ((0,), (0,)))),
            [(2, 3, 4), (2, 4, 2)],
        ),
        _op("dot", lambda L, x, y: L.dot(x, y), [(2, 3), (3,)]),
    ]
)

# ---------------------------------------------------------------------------
# special functions and precision (lax/special.py)

SAMPLERS["order"] = _ints(0, 4)  # polygamma's m: an integer-valued float
SAMPLERS["prob"] = _uniform(0.05, 0.95)  # betainc's x in (0, 1)
SAMPLERS["gt1.5"] = _uniform(1.5, 4.0)  # zeta's s > 1

OPS += [
    _binary("igamma", "pos", "pos", tol=1e-4),
    _binary("igammac", "pos", "pos", tol=1e-4),
    _binary("igamma_grad_a", "pos", "pos", tol=1e-4, grad=False),  # JAX: no JVP rule
    # JAX composes random_gamma_grad from while loops; here it is one primitive
    _binary("random_gamma_grad", "pos", "pos", tol=1e-4, grad=False, jaxpr=False),
    _binary("zeta", "gt1.5", "pos", tol=1e-4, grad=False),  # JAX: no JVP rule
    _binary("polygamma", "order", "pos", tol=1e-4, grad=False),  # JAX raises for m
    _op(
        "polygamma_x",
        lambda L, x: L.polygamma(1.0, x),
        [S],
        domains=["pos"],
        tol=1e-4,
        elementwise=True,
    ),
    _op(
        "betainc",
        lambda L, a, b, x: L.betainc(a, b, x),
        [S, S, S],
        domains=["pos", "pos", "prob"],
        tol=1e-4,
        grad=False,  # JAX raises for a and b
        elementwise=True,
    ),
    _op(
        "betainc_x",
        lambda L, x: L.betainc(np.float32(2.5), np.float32(1.5), x),
        [S],
        domains=["prob"],
        tol=1e-4,
        elementwise=True,
    ),
    _unary("bessel_i0e", "real", tol=1e-5),
    _unary("bessel_i1e", "real", tol=1e-5),
    _op(
        "reduce_precision",
        lambda L, x: L.reduce_precision(x, 5, 10),
        [S],
        elementwise=True,
    ),
    _op("reciprocal", lambda L, x: L.reciprocal(x), [S], domains=["nonzero"], elementwise=True),
    _binary("mulhi", "int", "int", i32, grad=False),
]
_SPECIAL_PRIMITIVES = frozenset(
    """
    igamma igammac igamma_grad_a random_gamma_grad zeta polygamma regularized_incomplete_beta
    bessel_i0e bessel_i1e reduce_precision mulhi
""".split()
)

# The domain tables, one module each (built with ``_op``; they may add samplers).
_DOMAIN_PRIMITIVES = frozenset()
_DOMAINS = (
    op_specs_linalg,
    op_specs_spectral,
    op_specs_solves,
    op_specs_fft,
    op_specs_conv,
    op_specs_window,
)
for _module in _DOMAINS:
    _specs, _prims = _module.specs(_op, SAMPLERS)
    OPS += _specs
    _DOMAIN_PRIMITIVES |= _prims

OPS_BY_NAME = {spec.name: spec for spec in OPS}
assert len(OPS_BY_NAME) == len(OPS), "op spec names must be unique"

# The primitives the table must exercise (JAX's names).
REQUIRED_PRIMITIVES = frozenset(
    """
    neg sign floor ceil round abs exp exp2 log log1p expm1 sqrt rsqrt cbrt sin cos tan asin acos
    atan sinh cosh tanh asinh acosh atanh logistic erf erf_inv lgamma digamma square integer_pow
    pow add sub mul div rem max min atan2 eq ne lt le gt ge and or not xor select_n clamp
    convert_element_type broadcast_in_dim reshape squeeze transpose rev pad concatenate slice
    dynamic_slice dynamic_update_slice gather scatter scatter-add iota reduce_sum reduce_max
    reduce_min reduce_prod reduce_and reduce_or argmax argmin cumsum cumprod cummax cummin
    dot_general sort stop_gradient copy split
""".split()
)
REQUIRED_PRIMITIVES |= _SPECIAL_PRIMITIVES | _DOMAIN_PRIMITIVES


def is_float(dtype):
    return jax.numpy.issubdtype(dtype, np.floating)
