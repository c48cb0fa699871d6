"""Reductions (sum, mean, max, var, ...), index reductions and cumulative ops.

``_reduction`` is jax.numpy's ``_reduction``: the same dtype rules (integer
promotion, float16 upcast), ``initial``/``where`` handling and ``keepdims``.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

import numpy as np
from minigrad_jax import lax
from minigrad_jax._src import core
from minigrad_jax._src.numpy import _dtypes
from minigrad_jax._src.numpy import _util as util
from minigrad_jax._src.numpy._creation import full_like
from minigrad_jax._src.numpy._shape import broadcast_to, expand_dims, moveaxis, ravel
from minigrad_jax._src.numpy._ufuncs import isclose, multiply, sqrt, subtract, true_divide


def _init_value(dtype, value):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return np.asarray(value > 0, dtype)
    try:
        with np.errstate(over="raise", invalid="raise"):
            out = np.asarray(value, dtype)
        if _dtypes.is_int(dtype) and not np.isfinite(value):
            raise OverflowError
        return out
    except (OverflowError, FloatingPointError, ValueError):
        info = np.iinfo(dtype)
        return np.asarray(info.min if value < 0 else info.max, dtype)


def _upcast_f16(dtype):
    if np.dtype(dtype) in (np.dtype(np.float16), np.dtype(jnp.bfloat16)):
        return np.dtype(np.float32)
    return np.dtype(dtype)


def _check_where(name, where):
    if where is None:
        return None
    (where,) = util.ensure_arraylike(name, where)
    if util.dtype_of(where) != np.bool_:
        raise ValueError(
            f"mnp.{name}: the 'where' argument must have a boolean dtype, got "
            f"{util.dtype_of(where).name}"
        )
    return where


def _reduction(
    a,
    name,
    reduce_name,
    init_val,
    *,
    op_name,
    bool_reduce_name=None,
    has_identity=True,
    preproc=None,
    upcast_f16=False,
    axis=None,
    dtype=None,
    out=None,
    keepdims=False,
    initial=None,
    where=None,
    promote_integers=False,
):
    util.check_no_unsupported(name, out=out)
    (a,) = util.ensure_arraylike(name, a)
    where = _check_where(name, where)
    if initial is None and not has_identity and where is not None:
        raise ValueError(
            f"reduction operation {name} does not have an identity, so to use a "
            "where mask one has to specify 'initial'"
        )
    a = preproc(a) if preproc else a
    shape = util.shape_of(a)
    dims = util.canonicalize_axes(axis, len(shape))
    if initial is None and not has_identity and 0 in (shape[d] for d in dims):
        raise ValueError(f"zero-size array to reduction operation {name} which has no identity")
    if dtype is None:
        result_dtype = util.dtype_of(a)
        if promote_integers:
            result_dtype = _dtypes.promote_integer_dtype(result_dtype)
    else:
        result_dtype = _dtypes.canonicalize(dtype, name)
    computation_dtype = result_dtype
    if upcast_f16 and _dtypes.is_inexact(result_dtype):
        computation_dtype = _upcast_f16(result_dtype)
    a = lax.convert_element_type(a, computation_dtype)
    is_bool = computation_dtype == np.bool_
    reduce_fn = getattr(lax, bool_reduce_name if is_bool and bool_reduce_name else reduce_name)
    init = _init_value(computation_dtype, init_val)
    if where is not None:
        a = util.where(where, a, init)
    result = reduce_fn(a, dims)
    if initial is not None:
        initial_arr = lax.convert_element_type(util.lift(initial), computation_dtype)
        if util.ndim_of(initial_arr) != 0:
            raise ValueError(
                f"initial value must be a scalar. Got array of shape {util.shape_of(initial_arr)}"
            )
        op = {
            "add": lax.add,
            "mul": lax.mul,
            "max": lax.max,
            "min": lax.min,
            "and": lax.bitwise_and,
            "or": lax.bitwise_or,
        }[op_name if not is_bool else _BOOL_OP[op_name]]
        result = op(initial_arr, result)
    if keepdims:
        result = expand_dims(result, dims)
    return lax.convert_element_type(result, result_dtype)


_BOOL_OP = {"add": "or", "mul": "and", "max": "or", "min": "and", "and": "and", "or": "or"}


@core.jit_when_eager(static_argnames=("axis", "dtype", "out", "keepdims", "promote_integers"))
def sum(  # noqa: A001
    a,
    axis=None,
    dtype=None,
    out=None,
    keepdims=False,
    initial=None,
    where=None,
    promote_integers=True,
):
    """Sum over ``axis`` (bools and small ints accumulate in the default int), like jnp.sum.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.sum(mnp.ones((2, 3)), axis=1)
        Array([3., 3.], dtype=float32)
        >>> mnp.sum(mnp.arange(4))
        Array(6, dtype=int32)
        >>> mnp.sum(mnp.ones((2, 3)), axis=0, keepdims=True)
        Array([[2., 2., 2.]], dtype=float32)
    """
    return _reduction(
        a,
        "sum",
        "reduce_sum",
        0,
        op_name="add",
        bool_reduce_name="reduce_or",
        upcast_f16=True,
        axis=axis,
        dtype=dtype,
        out=out,
        keepdims=keepdims,
        initial=initial,
        where=where,
        promote_integers=promote_integers,
    )


@core.jit_when_eager(static_argnames=("axis", "dtype", "out", "keepdims", "promote_integers"))
def prod(
    a,
    axis=None,
    dtype=None,
    out=None,
    keepdims=False,
    initial=None,
    where=None,
    promote_integers=True,
):
    """Product over ``axis``, like jnp.prod.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.prod(mnp.array([1.0, 2.0, 3.0, 4.0]))
        Array(24., dtype=float32)
    """
    return _reduction(
        a,
        "prod",
        "reduce_prod",
        1,
        op_name="mul",
        bool_reduce_name="reduce_and",
        upcast_f16=True,
        axis=axis,
        dtype=dtype,
        out=out,
        keepdims=keepdims,
        initial=initial,
        where=where,
        promote_integers=promote_integers,
    )


@core.jit_when_eager(static_argnames=("axis", "out", "keepdims"))
def max(a, axis=None, out=None, keepdims=False, initial=None, where=None):  # noqa: A001
    """Maximum over ``axis``, like jnp.max.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.max(mnp.array([[1.0, 5.0], [7.0, 2.0]]))
        Array(7., dtype=float32)
        >>> mnp.max(mnp.array([[1.0, 5.0], [7.0, 2.0]]), axis=0)
        Array([7., 5.], dtype=float32)
    """
    return _reduction(
        a,
        "max",
        "reduce_max",
        -np.inf,
        op_name="max",
        bool_reduce_name="reduce_or",
        has_identity=False,
        axis=axis,
        out=out,
        keepdims=keepdims,
        initial=initial,
        where=where,
    )


@core.jit_when_eager(static_argnames=("axis", "out", "keepdims"))
def min(a, axis=None, out=None, keepdims=False, initial=None, where=None):  # noqa: A001
    """Minimum over ``axis``, like jnp.min."""
    return _reduction(
        a,
        "min",
        "reduce_min",
        np.inf,
        op_name="min",
        bool_reduce_name="reduce_and",
        has_identity=False,
        axis=axis,
        out=out,
        keepdims=keepdims,
        initial=initial,
        where=where,
    )


amax, amin = max, min


def _to_bool(x):
    return x if util.dtype_of(x) == np.bool_ else lax.ne(x, util.const(x, 0))


@core.jit_when_eager(static_argnames=("axis", "out", "keepdims"))
def all(a, axis=None, out=None, keepdims=False, *, where=None):  # noqa: A001
    """True when every element (along ``axis``) is nonzero, like jnp.all.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.all(mnp.array([True, False]))
        Array(False, dtype=bool)
        >>> mnp.all(mnp.array([[1, 0], [1, 1]]), axis=1)
        Array([False,  True], dtype=bool)
    """
    return _reduction(
        a,
        "all",
        "reduce_and",
        True,
        op_name="and",
        preproc=_to_bool,
        axis=axis,
        out=out,
        keepdims=keepdims,
        where=where,
    )


@core.jit_when_eager(static_argnames=("axis", "out", "keepdims"))
def any(a, axis=None, out=None, keepdims=False, *, where=None):  # noqa: A001
    """True when some element (along ``axis``) is nonzero, like jnp.any."""
    return _reduction(
        a,
        "any",
        "reduce_or",
        False,
        op_name="or",
        preproc=_to_bool,
        axis=axis,
        out=out,
        keepdims=keepdims,
        where=where,
    )


def _axis_size(a, axis):
    shape = util.shape_of(a)
    return math.prod(shape[d] for d in util.canonicalize_axes(axis, len(shape)))


@core.jit_when_eager(static_argnames=("axis", "dtype", "out", "keepdims"))
def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """Arithmetic mean over ``axis`` (integers give the default float), like jnp.mean.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.mean(mnp.arange(4))
        Array(1.5, dtype=float32)
        >>> mnp.mean(mnp.array([[1.0, 2.0], [3.0, 5.0]]), axis=0)
        Array([2. , 3.5], dtype=float32)
    """
    util.check_no_unsupported("mean", out=out)
    (a,) = util.ensure_arraylike("mean", a)
    if dtype is None:
        result_dtype = _dtypes.to_inexact_dtype(util.dtype_of(a))
    else:
        result_dtype = _dtypes.canonicalize(dtype, "mean")
    computation_dtype = result_dtype
    if _dtypes.is_inexact(result_dtype):
        computation_dtype = _upcast_f16(result_dtype)
    where = _check_where("mean", where)
    if where is None:
        normalizer = lax.convert_element_type(_axis_size(a, axis), computation_dtype)
    else:
        normalizer = sum(
            broadcast_to(where, util.shape_of(a)), axis, dtype=computation_dtype, keepdims=keepdims
        )
    total = sum(a, axis, dtype=computation_dtype, keepdims=keepdims, where=where)
    return util.cast(lax.div(total, normalizer), result_dtype)


def _var_promote_types(a_dtype, dtype):
    if dtype is not None:
        dtype = _dtypes.canonicalize(dtype, "var")
        if _dtypes.is_complex(a_dtype) and not _dtypes.is_complex(dtype):
            raise ValueError("mnp.var: dtype must be complex for complex inputs")
        computation_dtype = dtype
    elif not _dtypes.is_inexact(a_dtype):
        dtype = computation_dtype = _dtypes.default_float()
    else:
        dtype = np.array(0, a_dtype).real.dtype if _dtypes.is_complex(a_dtype) else a_dtype
        computation_dtype = _upcast_f16(a_dtype)
    return _upcast_f16(computation_dtype), np.dtype(dtype)


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, correction=None):
    """Variance over ``axis`` (``correction``/``ddof`` subtracted from the count), like jnp.var.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.var(mnp.array([1.0, 2.0, 3.0, 4.0]))
        Array(1.25, dtype=float32)
        >>> mnp.var(mnp.array([1.0, 2.0, 3.0, 4.0]), ddof=1)
        Array(1.6666666, dtype=float32)
    """
    util.check_no_unsupported("var", out=out)
    (a,) = util.ensure_arraylike("var", a)
    if correction is None:
        correction = ddof
    elif not isinstance(ddof, int) or ddof != 0:
        raise ValueError("ddof and correction can't be provided simultaneously.")
    return _var(a, axis, dtype, correction, keepdims, where=where)


# As in JAX, the correction is an operand (not folded into the program as a constant).
@core.jit_when_eager(static_argnames=("axis", "dtype", "keepdims"), jit_under_autodiff=True)
def _var(a, axis, dtype, correction, keepdims, *, where):
    computation_dtype, dtype = _var_promote_types(util.dtype_of(a), dtype)
    a = util.cast(a, computation_dtype)
    where = _check_where("var", where)
    a_mean = mean(a, axis, dtype=computation_dtype, keepdims=True, where=where)
    centered = subtract(a, a_mean)
    if _dtypes.is_complex(computation_dtype):  # |c|**2, real, as JAX
        centered = lax.real(lax.mul(centered, lax.conj(centered)))
        computation_dtype = util.dtype_of(centered)
    else:
        centered = lax.square(centered)
    total = sum(centered, axis, dtype=computation_dtype, keepdims=keepdims, where=where)
    if where is None:
        normalizer = lax.convert_element_type(_axis_size(a, axis), computation_dtype)
    else:
        normalizer = sum(
            broadcast_to(where, util.shape_of(a)), axis, dtype=computation_dtype, keepdims=keepdims
        )
    normalizer = subtract(normalizer, lax.convert_element_type(correction, computation_dtype))
    out_ = util.cast(true_divide(total, normalizer), dtype)
    positive = _gt0(normalizer)
    return util.where(positive, out_, np.nan)


def _gt0(x):
    return lax.gt(x, util.const(x, 0))


@core.jit_when_eager(static_argnames=("axis", "dtype", "out", "keepdims"))
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, correction=None):
    """Standard deviation: ``sqrt(var(...))``, like jnp.std."""
    util.check_no_unsupported("std", out=out)

    return sqrt(var(a, axis, dtype, None, ddof, keepdims, where=where, correction=correction))


def _arg_reduction(name, lax_name, a, axis, out, keepdims):
    util.check_no_unsupported(name, out=out)
    (a,) = util.ensure_arraylike(name, a)

    if axis is None:
        dims = tuple(range(util.ndim_of(a)))
        a, axis = ravel(a), 0
    else:
        dims = (util.canonicalize_axis(axis, util.ndim_of(a)),)
    axis = util.canonicalize_axis(axis, util.ndim_of(a))
    if util.shape_of(a)[axis] == 0:
        raise ValueError(f"attempt to get {name} of an empty sequence")
    result = getattr(lax, lax_name)(a, axis, _dtypes.default_int())
    return expand_dims(result, dims) if keepdims else result


@core.jit_when_eager(static_argnames=("axis", "out", "keepdims"))
def argmax(a, axis=None, out=None, keepdims=None):
    """Index of the maximum (first one on ties), like jnp.argmax.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.argmax(mnp.array([1.0, 3.0, 3.0]))
        Array(1, dtype=int32)
        >>> mnp.argmax(mnp.array([[1, 5], [7, 2]]), axis=1)
        Array([1, 0], dtype=int32)
    """
    return _arg_reduction("argmax", "argmax", a, axis, out, keepdims)


@core.jit_when_eager(static_argnames=("axis", "out", "keepdims"))
def argmin(a, axis=None, out=None, keepdims=None):
    """Index of the minimum (first one on ties), like jnp.argmin."""
    return _arg_reduction("argmin", "argmin", a, axis, out, keepdims)


def _cumulative(name, lax_name, a, axis, dtype, out, promote_integers=False):
    util.check_no_unsupported(name, out=out)
    (a,) = util.ensure_arraylike(name, a)
    if axis is None or util.ndim_of(a) == 0:
        a = lax.reshape(a, (util.aval(a).size,))
    if axis is None:
        axis = 0
    axis = util.canonicalize_axis(axis, util.ndim_of(a))
    a_dtype = util.dtype_of(a)
    result_dtype = a_dtype if dtype is None else _dtypes.canonicalize(dtype, name)
    if (dtype is None and promote_integers) or result_dtype == np.bool_:
        result_dtype = _dtypes.promote_integer_dtype(result_dtype)
    if a_dtype != np.bool_ and dtype is not None and np.dtype(dtype) == np.bool_:
        a = _to_bool(a)
    a = lax.convert_element_type(a, result_dtype)
    result = getattr(lax, lax_name)(a, axis)
    if dtype is not None and np.dtype(dtype) == np.bool_:
        result = lax.convert_element_type(result, np.bool_)
    return result


@core.jit_when_eager(static_argnames=("axis", "dtype", "out"))
def cumsum(a, axis=None, dtype=None, out=None):
    """Cumulative sum along ``axis`` (flattened when None), like jnp.cumsum.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.cumsum(mnp.array([1, 2, 3]))
        Array([1, 3, 6], dtype=int32)
        >>> mnp.cumsum(mnp.ones((2, 2)), axis=1)
        Array([[1., 2.],
               [1., 2.]], dtype=float32)
    """
    return _cumulative("cumsum", "cumsum", a, axis, dtype, out)


@core.jit_when_eager(static_argnames=("axis", "dtype", "out"))
def cumprod(a, axis=None, dtype=None, out=None):
    """Cumulative product along ``axis`` (flattened when None), like jnp.cumprod."""
    return _cumulative("cumprod", "cumprod", a, axis, dtype, out)


cumulative_sum = cumsum
cumulative_prod = cumprod


def average(a, axis=None, weights=None, returned=False, keepdims=False):
    """Weighted mean over ``axis``, like jnp.average.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.average(mnp.array([1.0, 2.0]), weights=mnp.array([3.0, 1.0]))
        Array(1.25, dtype=float32)
    """
    (a,) = util.ensure_arraylike("average", a)
    if weights is None:
        avg = mean(a, axis=axis, keepdims=keepdims)
        weights_sum = full_like(avg, _axis_size(a, axis))
    else:
        a, weights = util.promote_dtypes_inexact(a, util.lift(weights))
        a_shape, w_shape = util.shape_of(a), util.shape_of(weights)
        if axis is not None and not isinstance(axis, tuple):
            axis = util.canonicalize_axis(axis, len(a_shape))
        if a_shape != w_shape:
            if len(w_shape) != 1:
                raise ValueError("1D weights expected when shapes of a and weights differ.")
            if axis is None:
                raise ValueError("Axis must be specified when shapes of a and weights differ.")
            if isinstance(axis, tuple):
                raise ValueError("Single axis expected when shapes of a and weights differ")
            if w_shape[0] != a_shape[axis]:
                raise ValueError("Length of weights not compatible with specified axis.")
            weights = broadcast_to(weights, (len(a_shape) - 1) * (1,) + w_shape)
            weights = moveaxis(weights, -1, axis)
        weights_sum = sum(weights, axis=axis, keepdims=keepdims)

        avg = true_divide(sum(multiply(a, weights), axis=axis, keepdims=keepdims), weights_sum)
    if returned:
        if util.shape_of(avg) != util.shape_of(weights_sum):
            weights_sum = broadcast_to(weights_sum, util.shape_of(avg))
        return avg, weights_sum
    return avg


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when every element is close (see :func:`isclose`), like jnp.allclose.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.allclose(mnp.array([1.0, 2.0]), mnp.array([1.0, 2.0 + 1e-7]))
        Array(True, dtype=bool)
        >>> mnp.allclose(1.0, 1.1)
        Array(False, dtype=bool)
    """
    return all(isclose(a, b, rtol, atol, equal_nan))


def count_nonzero(a, axis=None, keepdims=False):
    """Number of nonzero elements along ``axis``, like jnp.count_nonzero."""
    (a,) = util.ensure_arraylike("count_nonzero", a)
    return sum(_to_bool(a), axis=axis, dtype=_dtypes.default_int(), keepdims=keepdims)


def ptp(a, axis=None, out=None, keepdims=False):
    """``max - min`` along ``axis``, like jnp.ptp."""
    util.check_no_unsupported("ptp", out=out)
    return subtract(max(a, axis, keepdims=keepdims), min(a, axis, keepdims=keepdims))
