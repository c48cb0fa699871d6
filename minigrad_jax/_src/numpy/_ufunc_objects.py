"""``mnp.ufunc`` and ``mnp.frompyfunc``: numpy-style universal functions, as jax.numpy has them.

A ufunc calls a function elementwise and adds numpy's methods: ``reduce``,
``accumulate``, ``at``, ``reduceat`` and ``outer``. As in JAX, a ufunc made by
``frompyfunc`` gets generic methods built from the binary function itself
(``reduce`` and ``reduceat`` are a ``fori_loop`` of it, ``accumulate`` a
``scan``, ``at`` a scan of gather-apply-scatter, ``outer`` a double ``vmap``),
and the ufuncs jax.numpy exports as ufuncs (``add``, ``multiply``,
``maximum``, ...) are wrapped here, at export time, with the matching
reduction where one exists (``add.reduce`` is ``sum``, ``maximum.reduce`` is
``max``, ``logaddexp.reduce`` a logsumexp), so the function modules stay plain
functions. Calling one of them calls our function: ``mnp.add(x, y)`` is
``_ufuncs.add(x, y)`` and traces to the same equations.
"""

from __future__ import annotations

import math
import operator
import sys

import numpy as np
from minigrad_jax import lax
from minigrad_jax._src import core
from minigrad_jax._src.api import eval_shape, vmap
from minigrad_jax._src.numpy import _dtypes, _ufuncs
from minigrad_jax._src.numpy import _util as util
from minigrad_jax._src.numpy._creation import asarray, full
from minigrad_jax._src.numpy._extras import append, vectorize
from minigrad_jax._src.numpy._indexing import _getitem, _IndexUpdateHelper, take
from minigrad_jax._src.numpy._math_extras import logaddexp2 as _logaddexp2
from minigrad_jax._src.numpy._reductions import (
    _reduction,
    cumprod,
    cumsum,
    prod,
)
from minigrad_jax._src.numpy._reductions import max as _max
from minigrad_jax._src.numpy._reductions import sum as _sum
from minigrad_jax._src.numpy._shape import broadcast_to, expand_dims, moveaxis, ravel, reshape
from minigrad_jax._src.traceback_util import public_function

_AT_INPLACE_MESSAGE = (
    "Because JAX arrays are immutable, ufunc.at() cannot operate inplace like "
    "np.ufunc.at(). Instead, pass inplace=False and capture the result; e.g. "
    "arr = mnp.add.at(arr, ind, val, inplace=False)"
)


class ufunc:  # noqa: N801  (numpy's and JAX's name)
    """A universal function: elementwise ``__call__`` plus numpy's ufunc methods (JAX's).

    ``nin``/``nout`` are the numbers of inputs and outputs, ``identity`` the
    value ``reduce`` starts from (None where there is none). ``call``,
    ``reduce``, ``accumulate``, ``at`` and ``reduceat`` override the generic
    implementations built from ``func``.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> x = mnp.array([1, 2, 3, 4])
        >>> mnp.add.nin, mnp.add.nout, mnp.add.identity
        (2, 1, 0)
        >>> mnp.add.reduce(x)
        Array(10, dtype=int32)
        >>> mnp.multiply.accumulate(x)
        Array([ 1,  2,  6, 24], dtype=int32)
        >>> mnp.add.outer(mnp.array([0, 10]), mnp.array([1, 2]))
        Array([[ 1,  2],
               [11, 12]], dtype=int32)
        >>> mnp.add.at(x, mnp.array([0, 0]), 5, inplace=False)
        Array([11,  2,  3,  4], dtype=int32)
        >>> mnp.add.reduceat(x, mnp.array([0, 2]))
        Array([3, 7], dtype=int32)
    """

    def __init__(
        self,
        func,
        /,
        nin,
        nout,
        *,
        name=None,
        nargs=None,
        identity=None,
        call=None,
        reduce=None,
        accumulate=None,
        at=None,
        reduceat=None,
    ):
        self.__doc__ = func.__doc__
        self.__name__ = name or func.__name__
        self.__qualname__ = self.__name__
        # Read-only, as JAX's: a ufunc may be a static argument, so it must not change.
        self.__props = {
            "func": func,
            "nin": operator.index(nin),
            "nout": operator.index(nout),
            "nargs": operator.index(nargs or nin),
            "identity": identity,
            "reduce": reduce,
            "accumulate": accumulate,
            "at": at,
            "reduceat": reduceat,
        }
        self._call = call or self._call_vectorized

    _func = property(lambda self: self.__props["func"])
    nin = property(lambda self: self.__props["nin"])
    nout = property(lambda self: self.__props["nout"])
    nargs = property(lambda self: self.__props["nargs"])
    identity = property(lambda self: self.__props["identity"])

    def _key(self):
        return (self._func, self.__name__, self.identity, self.nin, self.nout, self.nargs)

    def __hash__(self):
        return hash(self._key())

    def __eq__(self, other):
        return isinstance(other, ufunc) and self._key() == other._key()

    def __repr__(self):
        return f"<mnp.ufunc '{self.__name__}'>"

    def __call__(self, *args, **kwargs):
        try:  # an entry point, without a wrapper's frame on the eager path
            if kwargs:
                return self._call_with_options(args, **kwargs)
            return self._call(*args)
        except Exception as e:
            core.public_function_failed(e, sys._getframe(1))
            raise

    core.BOUNDARY_CODES.add(__call__.__code__)

    def _call_with_options(self, args, out=None, where=None):
        util.check_arraylike(self.__name__, *args)
        if out is not None:
            raise NotImplementedError(f"out argument of {self}")
        if where is not None:
            raise NotImplementedError(f"where argument of {self}")
        return self._call(*args)

    def _call_vectorized(self, *args):
        util.check_arraylike(self.__name__, *args)
        return vectorize(self._func)(*args)

    def _check_binary(self, method):
        if self.nin != 2:
            raise ValueError(f"{method} only supported for binary ufuncs")
        if self.nout != 1:
            raise ValueError(f"{method} only supported for functions returning a single value")

    def _result_dtype(self, *args):
        ones = [util.full_like_internal(asarray(a), 1, shape=()) for a in args]
        return eval_shape(self._func, *ones).dtype

    # ----------------------------------------------------------------- reduce

    @public_function
    def reduce(self, a, axis=0, dtype=None, out=None, keepdims=False, initial=None, where=None):
        """Reduce ``a`` along ``axis`` with the binary function, like ``jnp.ufunc.reduce``.

        Example:
            >>> import minigrad_jax.numpy as mnp
            >>> mnp.bitwise_or.reduce(mnp.array([[1, 2, 4], [8, 8, 1]]), axis=1)
            Array([7, 9], dtype=int32)
        """
        util.check_arraylike(f"{self.__name__}.reduce", a)
        self._check_binary("reduce")
        if out is not None:
            raise NotImplementedError(f"out argument of {self.__name__}.reduce()")
        if initial is not None:
            util.check_arraylike(f"{self.__name__}.reduce", initial)
        if where is not None:
            util.check_arraylike(f"{self.__name__}.reduce", where)
            if self.identity is None and initial is None:
                raise ValueError(
                    f"reduction operation {self.__name__!r} does not have an identity, "
                    "so to use a where mask one has to specify 'initial'."
                )
            if util.dtype_of(where) != np.bool_:
                raise ValueError(
                    f"where argument must have dtype=bool; got dtype={util.dtype_of(where)}"
                )
        reduce = self.__props["reduce"] or self._reduce_via_loop
        return reduce(a, axis=axis, dtype=dtype, keepdims=keepdims, initial=initial, where=where)

    def _reduce_via_loop(self, arr, axis=0, dtype=None, keepdims=False, initial=None, where=None):
        arr = asarray(arr)
        if initial is None:
            initial = self.identity
        if dtype is None:
            dtype = self._result_dtype(arr, arr)
        shape = util.shape_of(arr)
        if where is not None:
            where = broadcast_to(where, shape)
        if isinstance(axis, tuple):
            raise NotImplementedError(f"{self.__name__}.reduce: a tuple of axes")
        if axis is None:
            final_shape = (1,) * len(shape) if keepdims else ()
            arr = ravel(arr)
            where = None if where is None else ravel(where)
            axis = 0
        else:
            axis = util.canonicalize_axis(axis, len(shape))
            rest = (*shape[:axis], *shape[axis + 1 :])
            final_shape = (*shape[:axis], 1, *shape[axis + 1 :]) if keepdims else rest
        if axis != 0:
            arr = moveaxis(arr, axis, 0)
            where = None if where is None else moveaxis(where, axis, 0)
        n = util.shape_of(arr)[0]
        if n == 0:
            if initial is None:
                raise ValueError(
                    f"zero-size array to reduction operation {self.__name__} which has no identity"
                )
            return full(final_shape, initial, dtype)

        def body(i, val):
            new = self(val, _getitem(arr, i).astype(dtype))
            return new if where is None else util.where(_getitem(where, i), new, val)

        if initial is None:
            start, init = 1, _getitem(arr, 0)
        else:
            start, init = 0, initial
        init = broadcast_to(asarray(init).astype(dtype), util.shape_of(arr)[1:])
        result = lax.fori_loop(start, n, body, init)
        return reshape(result, final_shape) if keepdims else result

    # ------------------------------------------------------------- accumulate

    @public_function
    def accumulate(self, a, axis=0, dtype=None, out=None):
        """Running reduction along ``axis``, like ``jnp.ufunc.accumulate``.

        Example:
            >>> import minigrad_jax.numpy as mnp
            >>> mnp.maximum.accumulate(mnp.array([1, 3, 2, 5]))
            Array([1, 3, 3, 5], dtype=int32)
        """
        self._check_binary("accumulate")
        if out is not None:
            raise NotImplementedError(f"out argument of {self.__name__}.accumulate()")
        accumulate = self.__props["accumulate"] or self._accumulate_via_scan
        return accumulate(a, axis=axis, dtype=dtype)

    def _accumulate_via_scan(self, arr, axis=0, dtype=None):
        util.check_arraylike(f"{self.__name__}.accumulate", arr)
        arr = asarray(arr)
        if dtype is None:
            dtype = self._result_dtype(arr, arr)
        if axis is None or isinstance(axis, tuple):
            raise ValueError("accumulate does not allow multiple axes")
        axis = util.canonicalize_axis(axis, util.ndim_of(arr))
        if math.prod(util.shape_of(arr)) == 0:
            return full(util.shape_of(arr), 0, dtype)
        arr = moveaxis(arr, axis, 0)
        first = _getitem(arr, 0).astype(dtype)

        def step(carry, _):
            i, x = carry
            y = util.where(
                _ufuncs.equal(i, 0),
                first,
                self(x.astype(dtype), _getitem(arr, i).astype(dtype)),
            )
            return (i + 1, y), y

        _, result = lax.scan(step, (0, first), None, length=util.shape_of(arr)[0])
        return moveaxis(result, 0, axis)

    # --------------------------------------------------------------------- at

    @public_function
    def at(self, a, indices, b=None, /, *, inplace=True):
        """``a`` with the function applied at ``indices`` (``inplace=False`` is required).

        Repeated indices apply repeatedly, as numpy's ``ufunc.at``.

        Example:
            >>> import minigrad_jax.numpy as mnp
            >>> mnp.maximum.at(mnp.zeros(3), mnp.array([0, 2]), 5.0, inplace=False)
            Array([5., 0., 5.], dtype=float32)
        """
        if inplace:
            raise NotImplementedError(_AT_INPLACE_MESSAGE)
        at = self.__props["at"] or self._at_via_scan
        return at(a, indices) if b is None else at(a, indices, b)

    def _at_via_scan(self, a, indices, *args):
        util.check_arraylike(f"{self.__name__}.at", a, *args)
        dtype = self._result_dtype(a, *args)
        a = asarray(a).astype(dtype)
        args = tuple(asarray(arg).astype(dtype) for arg in args)
        if isinstance(indices, list):
            raise TypeError(
                f"{self.__name__}.at: indices must be an array, slice or tuple, not a list"
            )
        indices = indices if isinstance(indices, tuple) else (indices,)
        if not indices:
            return a
        shapes = [np.shape(i) for i in indices if not isinstance(i, slice)]
        shape = util.broadcast_shapes(*shapes) if shapes else ()
        if not shape:
            ref = _IndexUpdateHelper(a)[indices]
            return ref.set(self(ref.get(), *args))
        count = math.prod(shape)
        if args:
            tail = util.shape_of(args[0])[len(shape) :]
            args = (reshape(broadcast_to(args[0], (*shape, *tail)), (count, *tail)),)
        indices = [i if isinstance(i, slice) else ravel(broadcast_to(i, shape)) for i in indices]

        def step(carry, _):
            i, arr = carry
            idx = tuple(ind if isinstance(ind, slice) else _getitem(ind, i) for ind in indices)
            ref = _IndexUpdateHelper(arr)[idx]
            arr = ref.set(self(ref.get(), *(_getitem(arg, i) for arg in args)))
            return (i + 1, arr), None

        (_, out), _ = lax.scan(step, (0, a), None, length=count)
        return out

    # --------------------------------------------------------------- reduceat

    @public_function
    def reduceat(self, a, indices, axis=0, dtype=None, out=None):
        """Reductions of ``a`` between consecutive ``indices`` along ``axis`` (numpy's rule).

        Example:
            >>> import minigrad_jax.numpy as mnp
            >>> mnp.maximum.reduceat(mnp.array([1, 5, 2, 0, 7]), mnp.array([0, 2]))
            Array([5, 7], dtype=int32)
        """
        self._check_binary("reduceat")
        if out is not None:
            raise NotImplementedError(f"out argument of {self.__name__}.reduceat()")
        reduceat = self.__props["reduceat"] or self._reduceat_via_loop
        return reduceat(a, indices, axis=axis, dtype=dtype)

    def _reduceat_via_loop(self, a, indices, axis=0, dtype=None):
        util.check_arraylike(f"{self.__name__}.reduceat", a, indices)
        a = asarray(a)
        indices = asarray(indices)
        if util.ndim_of(a) == 0:
            raise ValueError(f"reduceat: a must have 1 or more dimension, got a.shape={()}")
        if util.ndim_of(indices) != 1:
            raise ValueError(
                f"reduceat: indices must be one-dimensional, got "
                f"indices.shape={util.shape_of(indices)}"
            )
        if axis is None or isinstance(axis, (tuple, list)):
            raise ValueError("reduceat requires a single integer axis.")
        axis = util.canonicalize_axis(axis, util.ndim_of(a))
        out = take(a, indices, axis=axis)
        if dtype is not None:
            out = out.astype(dtype)
        other = tuple(d for d in range(util.ndim_of(out)) if d != axis)
        ind = expand_dims(append(indices, util.shape_of(a)[axis]), other)
        n = util.shape_of(ind)[axis]
        ind_start = lax.slice_in_dim(ind, 0, n - 1, axis=axis)
        ind_end = lax.slice_in_dim(ind, 1, n, axis=axis)

        def body(i, acc):
            inside = _ufuncs.logical_and(_ufuncs.greater(i, ind_start), _ufuncs.less(i, ind_end))
            item = take(a, expand_dims(i, (0,)), axis=axis)
            return util.where(inside, self(acc, item), acc)

        return lax.fori_loop(0, util.shape_of(a)[axis], body, out)

    # ------------------------------------------------------------------ outer

    @public_function
    def outer(self, A, B, /):
        """The function on every pair of elements, shape ``A.shape + B.shape``.

        Example:
            >>> import minigrad_jax.numpy as mnp
            >>> mnp.multiply.outer(mnp.arange(1, 4), mnp.arange(1, 3))
            Array([[1, 2],
                   [2, 4],
                   [3, 6]], dtype=int32)
        """
        self._check_binary("outer")
        util.check_arraylike(f"{self.__name__}.outer", A, B)
        A, B = asarray(A), asarray(B)
        flat_a = reshape(A, (math.prod(util.shape_of(A)),))
        flat_b = reshape(B, (math.prod(util.shape_of(B)),))
        result = vmap(vmap(self, (None, 0)), (0, None))(flat_a, flat_b)
        return reshape(result, (*util.shape_of(A), *util.shape_of(B)))


def frompyfunc(func, /, nin, nout, *, identity=None):
    """A ufunc from a scalar function of ``nin`` inputs and ``nout`` outputs, like jnp's.

    The call vectorizes ``func`` (``mnp.vectorize``); ``reduce``, ``accumulate``,
    ``at``, ``reduceat`` and ``outer`` loop or map the function itself.

    Example:
        >>> import operator
        >>> import minigrad_jax.numpy as mnp
        >>> add = mnp.frompyfunc(operator.add, nin=2, nout=1, identity=0)
        >>> x = mnp.arange(4)
        >>> add(x, 10)
        Array([10, 11, 12, 13], dtype=int32)
        >>> add.reduce(x)
        Array(6, dtype=int32)
        >>> add.accumulate(x)
        Array([0, 1, 3, 6], dtype=int32)
    """
    return ufunc(func, nin, nout, identity=identity)


# ---------------------------------------------------------------------------
# The reductions and scatters jax.numpy's ufuncs use (JAX's ``binary_ufunc``).


def _bitwise_reduction(name, reduce_name, init, op_name, preproc):
    def reduce(a, axis=None, dtype=None, keepdims=False, initial=None, where=None):
        kwargs = dict(axis=axis, dtype=dtype, keepdims=keepdims, where=where)
        if op_name is not None:  # _reduction folds ``initial`` in itself
            return _reduction(
                a,
                name,
                reduce_name,
                init,
                op_name=op_name,
                preproc=preproc,
                initial=initial,
                **kwargs,
            )
        result = _reduction(a, name, reduce_name, init, op_name="or", preproc=preproc, **kwargs)
        if initial is None:
            return result
        initial = lax.convert_element_type(asarray(initial), util.dtype_of(result))
        return _ufuncs.bitwise_xor(initial, result)

    return reduce


def _require_integer(name):
    def check(a):
        if not _dtypes.is_int(util.dtype_of(a)) and util.dtype_of(a) != np.bool_:
            raise ValueError(f"integer argument required; got dtype={util.dtype_of(a)}")
        return a

    check.__name__ = name
    return check


def _cast_to_bool(a):
    if util.dtype_of(a) == np.bool_:
        return a
    if _dtypes.is_complex(util.dtype_of(a)):
        a = _ufuncs.real(a)
    return lax.convert_element_type(a, np.bool_)


def _reduce_bitwise_and(a, axis=None, dtype=None, keepdims=False, initial=None, where=None):
    arr = asarray(a)
    init = np.array(-1).astype(dtype or util.dtype_of(arr))
    reduce = _bitwise_reduction(
        "reduce_bitwise_and", "reduce_and", init, "and", _require_integer("bitwise_and")
    )
    return reduce(arr, axis, dtype, keepdims, initial, where)


_reduce_bitwise_or = _bitwise_reduction(
    "reduce_bitwise_or", "reduce_or", 0, "or", _require_integer("bitwise_or")
)
_reduce_bitwise_xor = _bitwise_reduction(
    "reduce_bitwise_xor", "reduce_xor", 0, None, _require_integer("bitwise_xor")
)
_reduce_logical_and = _bitwise_reduction(
    "reduce_logical_and", "reduce_and", True, "and", _cast_to_bool
)
_reduce_logical_or = _bitwise_reduction(
    "reduce_logical_or", "reduce_or", False, "or", _cast_to_bool
)
_reduce_logical_xor = _bitwise_reduction(
    "reduce_logical_xor", "reduce_xor", False, None, _cast_to_bool
)


def _extremum_reduction(name, reduce_name, init, bool_reduce_name):
    def reduce(a, axis=None, dtype=None, keepdims=False, initial=None, where=None):
        return _reduction(
            a,
            name,
            reduce_name,
            init,
            op_name=name,
            bool_reduce_name=bool_reduce_name,
            has_identity=False,
            axis=axis,
            dtype=dtype,
            keepdims=keepdims,
            initial=initial,
            where=where,
        )

    return reduce


_reduce_max = _extremum_reduction("max", "reduce_max", -np.inf, "reduce_or")
_reduce_min = _extremum_reduction("min", "reduce_min", np.inf, "reduce_and")


def _logsumexp(a, axis=None, dtype=None, keepdims=False, initial=None, where=None):
    """``log(sum(exp(a)))`` stabilized by the stop-gradient max (``dtype`` is unused, as in JAX)."""
    del dtype
    (a,) = util.promote_args_inexact("logaddexp.reduce", asarray(a))
    dims = util.canonicalize_axes(axis, util.ndim_of(a))
    amax = _max(_ufuncs.real(a), axis=dims, keepdims=keepdims, where=where, initial=-np.inf)
    finite = lax.is_finite(amax)
    amax = lax.stop_gradient(lax.select_n(finite, util.full_like_internal(amax, 0), amax))
    amax_with_dims = amax if keepdims else expand_dims(amax, dims)
    exp_a = lax.exp(lax.sub(a, amax_with_dims.astype(util.dtype_of(a))))
    sumexp = _sum(exp_a, axis=dims, keepdims=keepdims, where=where)
    result = lax.add(lax.log(sumexp), amax.astype(util.dtype_of(sumexp)))
    return result if initial is None else _ufuncs.logaddexp(initial, result)


def _logsumexp2(a, axis=None, dtype=None, keepdims=False, initial=None, where=None):
    """``log2(sum(2 ** a))`` via ``_logsumexp``, as JAX's."""
    ln2 = float(np.log(2))
    if initial is not None:
        initial = _ufuncs.multiply(initial, ln2)
    a = _ufuncs.multiply(asarray(a), ln2)
    out = _logsumexp(a, axis=axis, dtype=dtype, keepdims=keepdims, initial=initial, where=where)
    return _ufuncs.true_divide(out, ln2)


def _bool_safe_at(method):
    """``a.at[indices].<method>(b)``; booleans go through int32, as jnp.add.at's."""

    def at(a, indices, b):
        ref_of = _IndexUpdateHelper
        if util.dtype_of(a) == np.bool_:
            a = lax.convert_element_type(a, np.int32)
            b = lax.convert_element_type(lax.convert_element_type(asarray(b), np.bool_), np.int32)
            out = getattr(ref_of(a)[indices], method)(b)
            return lax.convert_element_type(out, np.bool_)
        return getattr(ref_of(a)[indices], method)(b)

    return at


def _subtract_at(a, indices, b):
    return _IndexUpdateHelper(a)[indices].subtract(b)


def _sum_reduce(a, axis=None, dtype=None, keepdims=False, initial=None, where=None):
    return _sum(a, axis=axis, dtype=dtype, keepdims=keepdims, initial=initial, where=where)


def _prod_reduce(a, axis=None, dtype=None, keepdims=False, initial=None, where=None):
    return prod(a, axis=axis, dtype=dtype, keepdims=keepdims, initial=initial, where=where)


def _direct_call(func, nin, **kwargs):
    """A ufunc whose call *is* ``func``: a subclass with ``__call__ = staticmethod(func)``.

    Calling it costs one type-slot lookup more than calling ``func`` (no Python
    frame of ours), so ``mnp.add(x, y)`` is as fast as the plain function was,
    and, like it, takes no ``out``/``where`` keywords.
    """
    cls = type("ufunc", (ufunc,), {"__call__": staticmethod(func), "__module__": __name__})
    cls.__qualname__ = "ufunc"
    return cls(func, nin=nin, nout=1, name=func.__name__, call=func, **kwargs)


def _binary(func, identity, **methods):
    return _direct_call(func, 2, identity=identity, **methods)


def _unary(func):
    return _direct_call(func, 1)


# The names jax.numpy exports as ufunc instances (jax 0.10), with JAX's methods.
add = _binary(_ufuncs.add, 0, reduce=_sum_reduce, accumulate=cumsum, at=_bool_safe_at("add"))
multiply = _binary(
    _ufuncs.multiply, 1, reduce=_prod_reduce, accumulate=cumprod, at=_bool_safe_at("multiply")
)
subtract = _binary(_ufuncs.subtract, None, at=_subtract_at)
bitwise_and = _binary(_ufuncs.bitwise_and, -1, reduce=_reduce_bitwise_and)
bitwise_or = _binary(_ufuncs.bitwise_or, 0, reduce=_reduce_bitwise_or)
bitwise_xor = _binary(_ufuncs.bitwise_xor, 0, reduce=_reduce_bitwise_xor)
maximum = _binary(_ufuncs.maximum, None, reduce=_reduce_max)
minimum = _binary(_ufuncs.minimum, None, reduce=_reduce_min)
logical_and = _binary(_ufuncs.logical_and, True, reduce=_reduce_logical_and)
logical_or = _binary(_ufuncs.logical_or, False, reduce=_reduce_logical_or)
logical_xor = _binary(_ufuncs.logical_xor, False, reduce=_reduce_logical_xor)
logaddexp = _binary(_ufuncs.logaddexp, -np.inf, reduce=_logsumexp)
negative = _unary(_ufuncs.negative)
logaddexp2 = _binary(_logaddexp2, -np.inf, reduce=_logsumexp2)
