"""Array constructors: array, asarray, zeros, full, arange, linspace, eye, ...

Concrete data becomes a ``jax.Array`` (via jax.numpy, which is only used on
constants here); anything built from traced values goes through our lax
wrappers, so constructors work both eagerly and inside every transform.
"""

from __future__ import annotations

import operator

import jax

import numpy as np
from minigrad_jax import lax
from minigrad_jax._src import core
from minigrad_jax._src import dtypes as _promotion
from minigrad_jax._src.numpy import _dtypes
from minigrad_jax._src.numpy import _util as util
from minigrad_jax._src.numpy._ufuncs import add, multiply, subtract, true_divide


def canonicalize_shape(shape, name="shape"):
    """A shape argument (int or sequence of ints) as a tuple of Python ints."""
    try:
        dims = tuple(shape) if isinstance(shape, (tuple, list)) else (operator.index(shape),)
        dims = tuple(operator.index(d) for d in dims)
    except TypeError:
        raise TypeError(f"{name} must be an int or a sequence of ints, got {shape!r}") from None
    if any(d < 0 for d in dims):
        raise TypeError(  # JAX's class: broadcast_in_dim's shape check
            f"{name} must not have negative dimensions, got {dims}"
        )
    return dims


def _is_weak(x) -> bool:
    return core.is_python_scalar(x) or util.aval(x).weak_type


def _lax_full(shape, fill_value, dtype=None):
    """lax.full with JAX's weak-type rule (a weak scalar fill keeps its weak type)."""
    shape = canonicalize_shape(shape)
    fill_value = util.lift(fill_value)
    if util.ndim_of(fill_value) != 0:
        raise TypeError(f"full: fill_value must be a scalar, got shape {util.shape_of(fill_value)}")
    weak = dtype is None and _is_weak(fill_value)
    dtype = util.dtype_of(fill_value) if dtype is None else _dtypes.canonicalize(dtype)
    val = util.cast(fill_value, dtype, weak)
    if not shape:
        return util.materialize(val)
    return lax.broadcast_in_dim(val, shape, ())


def full(shape, fill_value, dtype=None, *, device=None, out_sharding=None):
    """An array of ``shape`` filled with ``fill_value``, like jnp.full.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.full((2, 3), 7.0)
        Array([[7., 7., 7.],
               [7., 7., 7.]], dtype=float32, weak_type=True)
        >>> mnp.full(2, 3, dtype=mnp.int32)
        Array([3, 3], dtype=int32)
    """
    util.check_no_unsupported("full", device=device, out_sharding=out_sharding)
    if not util.is_arraylike(fill_value):
        fill_value = asarray(fill_value)
    if util.ndim_of(fill_value) == 0:
        return _lax_full(shape, fill_value, dtype)
    return util.broadcast_to_shape(asarray(fill_value, dtype=dtype), canonicalize_shape(shape))


def zeros(shape, dtype=None, *, device=None):
    """An array of zeros (default dtype float32), like jnp.zeros.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.zeros((2, 2))
        Array([[0., 0.],
               [0., 0.]], dtype=float32)
        >>> mnp.zeros(3, dtype=mnp.int32)
        Array([0, 0, 0], dtype=int32)
    """
    util.check_no_unsupported("zeros", device=device)
    return _lax_full(shape, 0, _dtypes.canonicalize(dtype) or _dtypes.default_float())


def ones(shape, dtype=None, *, device=None):
    """An array of ones (default dtype float32), like jnp.ones.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.ones(3)
        Array([1., 1., 1.], dtype=float32)
    """
    util.check_no_unsupported("ones", device=device)
    return _lax_full(shape, 1, _dtypes.canonicalize(dtype) or _dtypes.default_float())


empty = zeros


def full_like(a, fill_value, dtype=None, shape=None, *, device=None, out_sharding=None):
    """An array shaped like ``a`` filled with ``fill_value``, like jnp.full_like."""
    util.check_no_unsupported("full_like", device=device, out_sharding=out_sharding)
    (a,) = util.ensure_arraylike("full_like", a)
    if not util.is_arraylike(fill_value):
        fill_value = asarray(fill_value)
    av = util.aval(a)
    shape = av.shape if shape is None else canonicalize_shape(shape)
    if util.ndim_of(fill_value) != 0:
        return util.broadcast_to_shape(asarray(fill_value, dtype=dtype or av.dtype), shape)
    weak = dtype is None and av.weak_type
    dtype = av.dtype if dtype is None else _dtypes.canonicalize(dtype)
    val = util.cast(util.lift(fill_value), dtype, weak)
    if not shape:
        return util.materialize(val)
    return lax.broadcast_in_dim(val, shape, ())


def zeros_like(a, dtype=None, shape=None, *, device=None):
    """Zeros shaped like ``a`` (its dtype and weak type by default), like jnp.zeros_like.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.zeros_like(mnp.array([1, 2]))
        Array([0, 0], dtype=int32)
        >>> mnp.zeros_like(2.0)
        Array(0., dtype=float32, weak_type=True)
    """
    return full_like(a, 0, dtype, shape, device=device)


def ones_like(a, dtype=None, shape=None, *, device=None):
    """Ones shaped like ``a`` (its dtype and weak type by default), like jnp.ones_like."""
    return full_like(a, 1, dtype, shape, device=device)


empty_like = zeros_like


# ---------------------------------------------------------------------------
# array / asarray


def _leaves(obj):
    if isinstance(obj, (list, tuple)):
        out = []
        for o in obj:
            out.extend(_leaves(o))
        return out
    return [obj]


def _has_tracer(obj) -> bool:
    return any(isinstance(leaf, core.Tracer) for leaf in _leaves(obj))


def _stack_nested(obj, dtype):
    """Nested lists (with tracers) as one strongly typed array, as in JAX: jnp.stack
    of the converted leaves.

    The leaves already share one dtype, so jnp.stack comes down to its lax
    equations: a broadcast_in_dim adding the leading axis, then concatenate.
    """
    if not isinstance(obj, (list, tuple)):
        return util.cast(util.lift(obj), dtype, False)
    # each part converted and given its leading axis in turn, as JAX orders them
    parts = [lax.expand_dims(_stack_nested(o, dtype), (0,)) for o in obj]
    if any(util.shape_of(p) != util.shape_of(parts[0]) for p in parts):
        raise ValueError("All input arrays must have the same shape.")
    return util.concatenate_chunked(parts, 0)


def array(object, dtype=None, copy=True, order="K", ndmin=0, *, device=None):  # noqa: A002
    """An array from an array, a scalar or (nested) lists of them, like jnp.array.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.array([[1, 2], [3, 4]], dtype=mnp.float32)
        Array([[1., 2.],
               [3., 4.]], dtype=float32)
        >>> mnp.array([1, 2, 3])
        Array([1, 2, 3], dtype=int32)
        >>> mnp.array(1.5)
        Array(1.5, dtype=float32, weak_type=True)
    """
    util.check_no_unsupported("array", device=device)
    if order not in ("K", "C", "A", None):
        raise NotImplementedError(f"mnp.array: order={order!r} is not supported")
    dtype = _dtypes.canonicalize(dtype, "array")
    if isinstance(object, (list, tuple)) and _has_tracer(object):
        leaves = [util.lift(x) for x in _leaves(object)]
        util.check_arraylike("array", *leaves)
        leaf_dtype, _ = _promotion.result_type(*leaves)
        # as in JAX, a list's array is not weakly typed, whatever its leaves are
        out = _stack_nested(object, dtype or leaf_dtype)
    elif isinstance(object, core.Tracer) or isinstance(object, jax.Array):
        out = object if dtype is None else util.cast(object, dtype)
    elif isinstance(object, (list, tuple)) and not _leaves(object):
        out = util.constant(np.asarray(object, dtype=dtype or _dtypes.default_float()))
    else:
        try:
            out = util.constant(object, dtype=dtype)
        except TypeError as e:
            raise TypeError(
                f"mnp.array: cannot convert {type(object).__name__} to an array: {e}"
            ) from None
    nd = util.ndim_of(out)
    if ndmin > nd:
        out = lax.broadcast_in_dim(
            out, (1,) * (ndmin - nd) + util.shape_of(out), tuple(range(ndmin - nd, ndmin))
        )
    return core.lift(out)  # under a transform, one of its values (see Trace.lift)


def asarray(a, dtype=None, order=None, *, copy=None, device=None):
    """``a`` as an array (no copy when it already is one), like jnp.asarray.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.asarray([1.0, 2.0])
        Array([1., 2.], dtype=float32)
        >>> mnp.asarray(3)
        Array(3, dtype=int32, weak_type=True)
    """
    util.check_no_unsupported("asarray", device=device)
    if copy is False and not isinstance(a, (core.Tracer, jax.Array)):
        raise ValueError("mnp.asarray: copy=False is not possible for a non-array input")
    return array(a, dtype=dtype, order=order or "K")


# ---------------------------------------------------------------------------
# ranges


def iota(dtype, shape, dimension):
    """lax.broadcasted_iota (an iota along ``dimension`` of ``shape``)."""
    return lax.broadcasted_iota(np.dtype(dtype), tuple(shape), dimension)


def _concrete_scalar(x, name):
    if isinstance(x, core.Tracer):
        val = x._concretize(f"the {name} argument of mnp.arange")
        return np.asarray(val).item()
    return x


def arange(start, stop=None, step=None, dtype=None, *, device=None):
    """Evenly spaced values in ``[start, stop)``; ``arange(n)`` is an iota, as in JAX.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.arange(5)
        Array([0, 1, 2, 3, 4], dtype=int32)
        >>> mnp.arange(1.0, 2.0, 0.25)
        Array([1.  , 1.25, 1.5 , 1.75], dtype=float32)
    """
    util.check_no_unsupported("arange", device=device)
    # arange(n): n is the stop, and JAX names it so
    start = _concrete_scalar(start, "start" if stop is not None else "stop")
    stop = None if stop is None else _concrete_scalar(stop, "stop")
    step = None if step is None else _concrete_scalar(step, "step")
    if dtype is None:
        dtype = _dtypes.result_type(*(x for x in (start, stop, step) if x is not None))
    dtype = _dtypes.canonicalize(dtype, "arange")
    if stop is None and step is None:
        n = start
        if not _dtypes.is_int(np.asarray(n).dtype):
            n = int(np.ceil(n))
        return iota(dtype, (max(int(n), 0),), 0)
    if step is None and np.ndim(start) == 0 and start == 0:
        return iota(dtype, (max(int(np.ceil(stop)), 0),), 0)
    return util.constant(np.arange(start, stop, step, dtype=dtype))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *, device=None):
    """``num`` evenly spaced samples from ``start`` to ``stop`` (JAX's formula).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.linspace(0.0, 1.0, 5)
        Array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32)
        >>> mnp.linspace(0.0, 1.0, 4, endpoint=False)
        Array([0.  , 0.25, 0.5 , 0.75], dtype=float32)
    """
    util.check_no_unsupported("linspace", device=device)
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    start, stop = asarray(start), asarray(stop)
    if dtype is None:
        dtype = _dtypes.to_inexact_dtype(_dtypes.result_type(start, stop, float))
    dtype = _dtypes.canonicalize(dtype)
    computation_dtype = _dtypes.to_inexact_dtype(dtype)
    start, stop = util.cast(start, computation_dtype), util.cast(stop, computation_dtype)
    # The shapes below are static, so jnp.broadcast_to/reshape/expand_dims/concatenate
    # reduce to their lax equations (this module is below _shape).
    bounds_shape = list(util.broadcast_shapes(util.shape_of(start), util.shape_of(stop)))
    b_start = util.broadcast_to_shape(start, bounds_shape)
    b_stop = util.broadcast_to_shape(stop, bounds_shape)
    axis = len(bounds_shape) + axis + 1 if axis < 0 else axis
    bounds_shape.insert(axis, 1)
    div = (num - 1) if endpoint else num
    delta = None
    if num > 1:
        delta = true_divide(subtract(stop, start), np.asarray(div, computation_dtype))
        iota_shape = [1] * len(bounds_shape)
        iota_shape[axis] = div
        real_dtype = np.dtype(_dtypes.finfo(computation_dtype).dtype)
        step = lax.div(
            lax.reshape(iota(real_dtype, (div,), 0), tuple(iota_shape)),
            np.asarray(div, real_dtype),
        )
        step = util.cast(step, computation_dtype)
        out = add(
            multiply(lax.reshape(b_start, tuple(bounds_shape)), subtract(1, step)),
            multiply(lax.reshape(b_stop, tuple(bounds_shape)), step),
        )
        if endpoint:
            out = lax.concatenate([out, lax.expand_dims(b_stop, (axis,))], axis)
    elif num == 1:
        out = lax.reshape(b_start, tuple(bounds_shape))
    else:
        empty_shape = list(util.broadcast_shapes(util.shape_of(start), util.shape_of(stop)))
        empty_shape.insert(axis, 0)
        out = zeros(empty_shape, dtype)
    if _dtypes.is_int(dtype) and not _dtypes.is_int(util.dtype_of(out)):
        out = lax.floor(out)
    out = util.cast(out, dtype)
    if retstep:
        return out, (delta if delta is not None else util.constant(np.nan, computation_dtype))
    return out


def _tri_mask(n, m, k, compare):
    rows = iota(np.int32, (n, m), 0)
    shifted = lax.add(rows, np.asarray(k, np.int32))
    cols = iota(np.int32, (n, m), 1)
    return compare(shifted, cols)


def eye(N, M=None, k=0, dtype=None, *, device=None):  # noqa: N803
    """The ``N x M`` matrix with ones on diagonal ``k``, like jnp.eye.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.eye(3, k=1)
        Array([[0., 1., 0.],
               [0., 0., 1.],
               [0., 0., 0.]], dtype=float32)
        >>> mnp.eye(2, dtype=mnp.int32)
        Array([[1, 0],
               [0, 1]], dtype=int32)
    """
    util.check_no_unsupported("eye", device=device)
    n = operator.index(N)
    m = n if M is None else operator.index(M)
    if n < 0 or m < 0:
        raise ValueError(f"negative dimensions are not allowed, got {n} and {m}")
    dtype = _dtypes.canonicalize(dtype) or _dtypes.default_float()
    rows = iota(np.int32, (n, m), 0)
    cols = iota(np.int32, (n, m), 1)
    mask = lax.eq(lax.add(rows, np.asarray(operator.index(k), np.int32)), cols)
    return lax.convert_element_type(mask, dtype)


def identity(n, dtype=None):
    """The ``n x n`` identity matrix, like jnp.identity."""
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):  # noqa: N803
    """Ones at and below diagonal ``k``, like jnp.tri."""
    n = operator.index(N)
    m = n if M is None else operator.index(M)
    dtype = _dtypes.canonicalize(dtype) or _dtypes.default_float()
    mask = _tri_mask(n, m, operator.index(k), lax.ge)
    return util.cast(mask, dtype)


def tril(m, k=0):
    """``m`` with the elements above diagonal ``k`` zeroed, like jnp.tril."""
    (m,) = util.ensure_arraylike("tril", m)
    shape = util.shape_of(m)
    if len(shape) < 2:
        raise ValueError("Argument to mnp.tril must be at least 2D")
    mask = _tri_mask(shape[-2], shape[-1], operator.index(k), lax.ge)
    mask = lax.broadcast_in_dim(mask, shape, (len(shape) - 2, len(shape) - 1))
    return lax.select_n(mask, zeros_like(m), m)


def triu(m, k=0):
    """``m`` with the elements below diagonal ``k`` zeroed, like jnp.triu.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.triu(mnp.ones((3, 3)))
        Array([[1., 1., 1.],
               [0., 1., 1.],
               [0., 0., 1.]], dtype=float32)
    """
    (m,) = util.ensure_arraylike("triu", m)
    shape = util.shape_of(m)
    if len(shape) < 2:
        raise ValueError("Argument to mnp.triu must be at least 2D")
    mask = _tri_mask(shape[-2], shape[-1], operator.index(k) - 1, lax.ge)
    mask = lax.broadcast_in_dim(mask, shape, (len(shape) - 2, len(shape) - 1))
    return lax.select_n(mask, m, zeros_like(m))
