"""Array constructors: array, asarray, zeros, full, arange, linspace, eye, ...

Concrete data becomes a ``jax.Array`` (via jax.numpy, which is only used on
constants here); anything built from traced values goes through our lax
wrappers, so constructors work both eagerly and inside every transform.
"""

from __future__ import annotations

import operator

import jax

import numpy as np
from minigrad_jax._src import core
from minigrad_jax._src import dtypes as _promotion
from minigrad_jax._src.numpy import _dtypes
from minigrad_jax._src.numpy import _util as util
from minigrad_jax._src.numpy._lax import lax


def canonicalize_shape(shape, name="shape"):
    """A shape argument (int or sequence of ints) as a tuple of Python ints."""
    try:
        dims = tuple(shape) if isinstance(shape, (tuple, list)) else (operator.index(shape),)
        dims = tuple(operator.index(d) for d in dims)
    except TypeError:
        raise TypeError(f"{name} must be an int or a sequence of ints, got {shape!r}") from None
    if any(d < 0 for d in dims):
        raise ValueError(f"{name} must not have negative dimensions, got {dims}")
    return dims


def materialize(val):
    """A concrete 0-d constant as a jax.Array (weak Python scalars stay weak)."""
    if isinstance(val, (core.Tracer, jax.Array)):
        return val
    if type(val) is core.WeakArray:
        arr = util.constant(val.item())
        return arr if arr.dtype == val.dtype else util.constant(np.asarray(val))
    return util.constant(val)


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
        return materialize(val)
    return lax.broadcast_in_dim(val, shape, ())


def full(shape, fill_value, dtype=None, *, device=None):
    """An array of ``shape`` filled with ``fill_value``, like jnp.full.

    Example:
        >>> mnp.full((2, 3), 7.0)
    """
    util.check_no_unsupported("full", device=device)
    if not util.is_arraylike(fill_value):
        fill_value = asarray(fill_value)
    if util.ndim_of(fill_value) == 0:
        return _lax_full(shape, fill_value, dtype)
    from minigrad_jax._src.numpy._shape import broadcast_to

    return broadcast_to(asarray(fill_value, dtype=dtype), canonicalize_shape(shape))


def zeros(shape, dtype=None, *, device=None):
    """An array of zeros (default dtype float32), like jnp.zeros."""
    util.check_no_unsupported("zeros", device=device)
    return _lax_full(shape, 0, _dtypes.canonicalize(dtype) or _dtypes.default_float())


def ones(shape, dtype=None, *, device=None):
    """An array of ones (default dtype float32), like jnp.ones."""
    util.check_no_unsupported("ones", device=device)
    return _lax_full(shape, 1, _dtypes.canonicalize(dtype) or _dtypes.default_float())


empty = zeros


def full_like(a, fill_value, dtype=None, shape=None, *, device=None):
    """An array shaped like ``a`` filled with ``fill_value``, like jnp.full_like."""
    util.check_no_unsupported("full_like", device=device)
    (a,) = util.ensure_arraylike("full_like", a)
    if not util.is_arraylike(fill_value):
        fill_value = asarray(fill_value)
    av = util.aval(a)
    shape = av.shape if shape is None else canonicalize_shape(shape)
    if util.ndim_of(fill_value) != 0:
        from minigrad_jax._src.numpy._shape import broadcast_to

        return broadcast_to(asarray(fill_value, dtype=dtype or av.dtype), shape)
    weak = dtype is None and av.weak_type
    dtype = av.dtype if dtype is None else _dtypes.canonicalize(dtype)
    val = util.cast(util.lift(fill_value), dtype, weak)
    if not shape:
        return materialize(val)
    return lax.broadcast_in_dim(val, shape, ())


def zeros_like(a, dtype=None, shape=None, *, device=None):
    """Zeros shaped like ``a`` (its dtype and weak type by default), like jnp.zeros_like."""
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


def _stack_nested(obj, dtype, weak):
    if isinstance(obj, (list, tuple)):
        from minigrad_jax._src.numpy._shape import stack

        return stack([_stack_nested(o, dtype, weak) for o in obj])
    return util.cast(util.lift(obj), dtype, weak)


def array(object, dtype=None, copy=True, order="K", ndmin=0, *, device=None):  # noqa: A002
    """An array from an array, a scalar or (nested) lists of them, like jnp.array.

    Example:
        >>> mnp.array([[1, 2], [3, 4]], dtype=mnp.float32)
    """
    util.check_no_unsupported("array", device=device)
    if order not in ("K", "C", "A", None):
        raise NotImplementedError(f"mnp.array: order={order!r} is not supported")
    dtype = _dtypes.canonicalize(dtype, "array")
    if isinstance(object, (list, tuple)) and _has_tracer(object):
        leaves = [util.lift(x) for x in _leaves(object)]
        util.check_arraylike("array", *leaves)
        leaf_dtype, weak = _promotion.result_type(*leaves)
        out = _stack_nested(object, dtype or leaf_dtype, weak and dtype is None)
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
    return out


def asarray(a, dtype=None, order=None, *, copy=None, device=None):
    """``a`` as an array (no copy when it already is one), like jnp.asarray."""
    util.check_no_unsupported("asarray", device=device)
    if copy is False and not isinstance(a, (core.Tracer, jax.Array)):
        raise ValueError("mnp.asarray: copy=False is not possible for a non-array input")
    return array(a, dtype=dtype, order=order or "K")


# ---------------------------------------------------------------------------
# ranges


def iota(dtype, shape, dimension):
    """lax.broadcasted_iota (an iota along ``dimension`` of ``shape``)."""
    from minigrad_jax._src.numpy._lax import has_lax_fn

    dtype, shape = np.dtype(dtype), tuple(shape)
    if has_lax_fn("broadcasted_iota"):
        return lax.broadcasted_iota(dtype, shape, dimension)
    line = lax.iota(dtype, shape[dimension])
    return line if len(shape) == 1 else lax.broadcast_in_dim(line, shape, (dimension,))


def _concrete_scalar(x, name):
    if isinstance(x, core.Tracer):
        val = x._concretize(f"the {name} argument of mnp.arange")
        return np.asarray(val).item()
    return x


def arange(start, stop=None, step=None, dtype=None, *, device=None):
    """Evenly spaced values in ``[start, stop)``; ``arange(n)`` is an iota, as in JAX.

    Example:
        >>> mnp.arange(5)
    """
    util.check_no_unsupported("arange", device=device)
    start = _concrete_scalar(start, "start")
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
        >>> mnp.linspace(0.0, 1.0, 5)
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
    from minigrad_jax._src.numpy._shape import broadcast_to, expand_dims, reshape

    bounds_shape = list(util.broadcast_shapes(util.shape_of(start), util.shape_of(stop)))
    b_start, b_stop = broadcast_to(start, bounds_shape), broadcast_to(stop, bounds_shape)
    axis = len(bounds_shape) + axis + 1 if axis < 0 else axis
    bounds_shape.insert(axis, 1)
    div = (num - 1) if endpoint else num
    from minigrad_jax._src.numpy._ufuncs import add, multiply, subtract, true_divide

    delta = None
    if num > 1:
        delta = true_divide(subtract(stop, start), np.asarray(div, computation_dtype))
        iota_shape = [1] * len(bounds_shape)
        iota_shape[axis] = div
        real_dtype = np.dtype(_dtypes.finfo(computation_dtype).dtype)
        step = lax.div(
            reshape(iota(real_dtype, (div,), 0), iota_shape), np.asarray(div, real_dtype)
        )
        step = util.cast(step, computation_dtype)
        out = add(
            multiply(reshape(b_start, bounds_shape), subtract(1, step)),
            multiply(reshape(b_stop, bounds_shape), step),
        )
        if endpoint:
            from minigrad_jax._src.numpy._shape import concatenate

            out = concatenate([out, expand_dims(b_stop, axis)], axis)
    elif num == 1:
        out = reshape(b_start, bounds_shape)
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
        >>> mnp.eye(3, k=1)
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
    """``m`` with the elements below diagonal ``k`` zeroed, like jnp.triu."""
    (m,) = util.ensure_arraylike("triu", m)
    shape = util.shape_of(m)
    if len(shape) < 2:
        raise ValueError("Argument to mnp.triu must be at least 2D")
    mask = _tri_mask(shape[-2], shape[-1], operator.index(k) - 1, lax.ge)
    mask = lax.broadcast_in_dim(mask, shape, (len(shape) - 2, len(shape) - 1))
    return lax.select_n(mask, m, zeros_like(m))
