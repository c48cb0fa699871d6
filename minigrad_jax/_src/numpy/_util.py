"""Argument checking, dtype promotion and broadcasting shared by the numpy layer.

These mirror jax._src.numpy.util (``promote_args``, ``promote_shapes``,
``_where``...), written with our lax wrappers so that the values, dtypes and
weak types match jax.numpy's.
"""

from __future__ import annotations

import operator

import jax
import jax.numpy as jnp

import numpy as np
from minigrad_jax import lax
from minigrad_jax._src import core
from minigrad_jax._src import dtypes as _promotion
from minigrad_jax._src.numpy import _dtypes

# ---------------------------------------------------------------------------
# inspecting arguments


def aval(x) -> core.ShapedArray:
    return core.get_aval(x)


def shape_of(x) -> tuple:
    return aval(x).shape


def ndim_of(x) -> int:
    return aval(x).ndim


def dtype_of(x) -> np.dtype:
    return aval(x).dtype


def is_arraylike(x) -> bool:
    return isinstance(x, (core.Tracer, jax.Array, np.ndarray, np.generic)) or core.is_python_scalar(
        x
    )


def is_concrete(x) -> bool:
    """True for values known now (not a tracer of an ongoing transform)."""
    if isinstance(x, core.Tracer):
        return x.concrete_value() is not None
    return not isinstance(x, jax.core.Tracer)


def concrete(x):
    """The concrete value of ``x`` (a tracer with a known value is unwrapped)."""
    if isinstance(x, core.Tracer):
        return x.concrete_value()
    return x


def check_arraylike(name, *args):
    for i, a in enumerate(args):
        if not is_arraylike(a):
            raise TypeError(
                f"{name} requires ndarray or scalar arguments, got "
                f"{type(a).__name__} at position {i}."
            )


def constant(value, dtype=None):
    """A concrete jax.Array constant (concrete even while jax.jit traces mg.jit's body)."""
    with jax.ensure_compile_time_eval():
        return jnp.asarray(value, dtype=dtype)


def lift(x):
    """numpy values become jax.Arrays with JAX's canonical dtype; others are kept.

    Python scalars stay Python scalars: they are weakly typed and become
    literals where a primitive uses them, as in JAX.
    """
    if type(x) is core.WeakArray:
        return x
    if isinstance(x, (np.ndarray, np.generic)):
        if not x.ndim and x.dtype != object:
            # A numpy scalar stays a numpy value (a literal where it is used), in
            # JAX's canonical dtype: no device transfer, as in JAX's tracing.
            return np.asarray(x, core.canonical_dtype(x.dtype))
        return constant(x)
    return x


def ensure_arraylike(name, *args):
    check_arraylike(name, *args)
    return [lift(a) for a in args]


def canonicalize_axis(axis, num_dims) -> int:
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"axis must be an integer, got {axis!r}") from None
    if not -num_dims <= axis < num_dims:
        raise np.exceptions.AxisError(axis, num_dims)
    return axis % num_dims if num_dims else 0


def canonicalize_axes(axis, num_dims, name="axis") -> tuple:
    """A reduction's ``axis`` argument as a tuple of non-negative ints (order kept)."""
    if axis is None:
        return tuple(range(num_dims))
    axes = tuple(axis) if isinstance(axis, (tuple, list, np.ndarray)) else (axis,)
    out = tuple(canonicalize_axis(a, num_dims) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"duplicate value in '{name}': {axis}")
    return out


def index_dtype(shape=()):
    """int32 for indices into ``shape`` unless a dimension needs 64 bits (as in JAX)."""
    if any(s >= np.iinfo(np.int32).max for s in shape):
        return core.canonical_dtype(np.int64)
    return np.dtype(np.int32)


# ---------------------------------------------------------------------------
# dtype promotion (JAX's rules, weak types included)


def cast(x, dtype, weak_type=False):
    """Convert ``x`` to (dtype, weak_type) unless it already is; scalars stay literals."""
    dtype = np.dtype(dtype)
    if core.is_python_scalar(x):
        if weak_type and core.is_top_level():
            # Eagerly, a weak scalar must be a weak jax.Array so results stay weak.
            arr = constant(x)
            if arr.dtype == dtype:
                return arr
        v = _python_scalar(x, dtype)
        return core.weak_scalar(v, dtype) if weak_type else v
    if _is_concrete_scalar_array(x) and not core.is_top_level():
        # A constant scalar converts on the spot (a literal), as JAX folds it.
        v = np.asarray(x).astype(dtype)
        return core.weak_scalar(v, dtype) if weak_type else v
    a = aval(x)
    if a.dtype == dtype and a.weak_type == weak_type:
        return x
    return lax.convert_element_type(x, dtype, weak_type)


def _python_scalar(x, dtype):
    """A Python scalar as a NumPy value of ``dtype``, as JAX converts it: an int
    must fit the default integer type (else OverflowError, as in JAX), then it
    wraps around in a narrower one (``int8_array + 300`` adds 44)."""
    if type(x) is int:
        default = core.weak_default_dtype("i")
        info = np.iinfo(default)
        if not info.min <= x <= info.max:
            raise OverflowError(f"Python int {x} too large to convert to {default}")
        return np.asarray(x, default).astype(dtype)
    return np.asarray(x, dtype)


def _promote_to(args, to_dtype):
    dtype, weak = _promotion.result_type(*args)
    return [cast(a, to_dtype(dtype), weak) for a in args]


def _is_concrete_scalar_array(x) -> bool:
    if type(x) is np.ndarray:
        return x.ndim == 0
    return isinstance(x, jax.Array) and not isinstance(x, jax.core.Tracer) and x.ndim == 0


def promote_dtypes(*args):
    args = [lift(a) for a in args]
    if len(args) == 1 and not core.is_python_scalar(args[0]):
        return args
    return _promote_to(args, lambda d: d)


def promote_dtypes_inexact(*args):
    return _promote_to([lift(a) for a in args], _dtypes.to_inexact_dtype)


def promote_dtypes_numeric(*args):
    return _promote_to([lift(a) for a in args], _dtypes.to_numeric_dtype)


def broadcast_shapes(*shapes):
    try:
        return lax.broadcast_shapes(*shapes)  # plain Python: it runs for each binary op
    except TypeError:  # not sequences of integers: numpy's rules, numpy's error
        return tuple(np.broadcast_shapes(*shapes))


def broadcast_to_shape(x, shape):
    """Broadcast ``x`` to ``shape`` (numpy rules), with one broadcast_in_dim."""
    s = shape_of(x)
    shape = tuple(int(d) for d in shape)
    if s == shape:
        return x
    lead = len(shape) - len(s)
    if lead < 0 or any(a not in (1, b) for a, b in zip(s, shape[lead:], strict=False)):
        raise ValueError(f"Incompatible shapes for broadcasting: {s} and requested shape {shape}")
    return lax.broadcast_in_dim(x, shape, tuple(range(lead, len(shape))))


def promote_shapes(name, *args):
    """numpy broadcasting as JAX does it: only ranks are promoted here (leading size-1
    dimensions); lax broadcasts size-1 dimensions and rank-0 operands by itself.
    """
    if len(args) < 2:
        return list(args)
    shapes = [shape_of(a) for a in args]
    if all(s == shapes[0] for s in shapes[1:]):
        return list(args)
    rank = len(broadcast_shapes(*shapes))
    nonscalar_ranks = {len(s) for s in shapes if s}
    if len(nonscalar_ranks) < 2:
        return list(args)  # equal ranks: rely on lax (rank-0 operands included)
    return [_to_rank(a, s, rank) for a, s in zip(args, shapes, strict=False)]


def _to_rank(x, shape, rank):
    lead = rank - len(shape)
    if not lead:
        return x
    return lax.broadcast_in_dim(x, (1,) * lead + tuple(shape), tuple(range(lead, rank)))


# dtype kind -> the Python scalar types a weak scalar of which takes that dtype
# unchanged (lax then makes the scalar a literal of the array's dtype).
_ABSORBED = {"f": (float, int), "c": (float, int, complex), "b": (bool,)}
_INT_ABSORBERS = (np.dtype(np.int32), np.dtype(np.int64))


def _promoted_already(args, kinds=None):
    """The common binary case under one of our transforms, done without the general
    promotion: two tracers of one dtype and weak type with equal shapes (or one rank
    0) stay as they are; a tracer and a Python scalar its dtype absorbs give the
    tracer and the scalar cast as promotion casts it. None where this does not
    apply. ``kinds``: the dtype kinds the result may have (inexact promotion)."""
    if len(args) != 2:
        return None
    x, y = args
    swap = not isinstance(x, core.Tracer)
    if swap:
        x, y = y, x
        if not isinstance(x, core.Tracer):
            return None
    a = x.aval
    dtype = a.dtype
    kind = getattr(dtype, "kind", None)  # PRNG key dtypes have none: the general path
    if kind is None or (kinds is not None and kind not in kinds):
        return None
    if isinstance(y, core.Tracer):
        b = y.aval
        if (
            b.dtype == dtype
            and b.weak_type == a.weak_type
            and (b.shape == a.shape or not b.shape or not a.shape)
        ):
            return list(args)
        return None
    t = type(y)
    if t is int and dtype in _INT_ABSORBERS:
        if not -(2**31) <= y < 2**31:
            return None
    elif t not in _ABSORBED.get(kind, ()):
        return None
    y = cast(y, dtype, a.weak_type)
    return [y, x] if swap else [x, y]


def promote_args(name, *args):
    done = _promoted_already(args)
    if done is not None:
        return done
    check_arraylike(name, *args)
    return promote_shapes(name, *promote_dtypes(*args))


def promote_args_inexact(name, *args):
    if len(args) == 1:  # the common unary case: a float array is already promoted
        (x,) = args
        if type(x) in core.JAX_ARRAY_TYPES or isinstance(x, core.Tracer):
            kind = core.get_aval(x).dtype.kind
            if kind == "f" or kind == "c":
                return [x]
    else:
        done = _promoted_already(args, "fc")
        if done is not None:
            return done
    check_arraylike(name, *args)
    return promote_shapes(name, *promote_dtypes_inexact(*args))


def promote_args_numeric(name, *args):
    check_arraylike(name, *args)
    return promote_shapes(name, *promote_dtypes_numeric(*args))


def broadcast_arrays(*args):
    """Broadcast every argument (scalars too) to the common shape."""
    result = broadcast_shapes(*(shape_of(a) for a in args))
    return [broadcast_to_shape(a, result) for a in args]


def const(x, value):
    """A constant with ``x``'s dtype (JAX's ``_constant_like``): a literal in jaxprs."""
    return np.asarray(value, dtype_of(x))


def where(condition, x, y):
    """jnp.where's three-argument form (JAX's ``util._where``)."""
    check_arraylike("where", condition, x, y)
    condition = lift(condition)
    if dtype_of(condition) != np.bool_:
        condition = lax.ne(condition, const(condition, 0))
    x, y = promote_dtypes(x, y)
    condition, x, y = broadcast_arrays(condition, x, y)
    if 0 in shape_of(x):
        return x
    return lax.select_n(condition, y, x)


def full_like_internal(x, value, dtype=None, shape=None):
    """lax.full_like: ``x``'s shape and dtype, and its weak type unless ``dtype`` is given."""
    a = aval(x)
    weak = dtype is None and a.weak_type
    dtype = a.dtype if dtype is None else np.dtype(dtype)
    shape = a.shape if shape is None else tuple(shape)
    val = cast(value, dtype, weak)
    if not shape:
        return materialize(val)
    return lax.broadcast_in_dim(val, shape, ())


def materialize(val):
    """A concrete 0-d constant as a jax.Array (weak Python scalars stay weak)."""
    if isinstance(val, (core.Tracer, jax.Array)):
        return val
    if type(val) is core.WeakArray:
        arr = constant(val.item())
        return arr if arr.dtype == val.dtype else constant(np.asarray(val))
    return constant(val)


def concatenate_chunked(arrays, axis):
    """One lax.concatenate of ``arrays``, as a tree of at most 16 operands each.

    Like JAX: a tree of concatenations keeps very wide ones cheap to compile.
    """
    k = 16
    while len(arrays) > 1:
        arrays = [
            lax.concatenate(arrays[i : i + k], axis) if len(arrays[i : i + k]) > 1 else arrays[i]
            for i in range(0, len(arrays), k)
        ]
    return arrays[0]


def check_no_unsupported(name, **kwargs):
    """Raise NotImplementedError for the arguments JAX supports but we do not."""
    for key, value in kwargs.items():
        if value is not None:
            raise NotImplementedError(f"The '{key}' argument to mnp.{name} is not supported.")
