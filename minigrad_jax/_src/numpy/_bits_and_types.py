"""Bit packing, the remaining scalar types and dtype aliases, and ``mnp.ndarray``.

``packbits``/``unpackbits`` are jax.numpy's (same steps, same dtypes). The
narrow and float8 scalar types are made like ``mnp.float32`` (see
``_scalar_types``); the names jax.numpy re-exports from NumPy (``object_``,
``character``, ``flexible``, ``ComplexWarning``) are NumPy's objects here too.
``mnp.ndarray`` is what ``jnp.ndarray`` is to JAX: the type for ``isinstance``
checks, true for ``jax.Array`` values and, inside our transforms, for our
tracers, without making our tracers a virtual ``jax.Array`` (JAX code would
then take them for its own arrays).
"""

from __future__ import annotations

import abc
import operator

import jax
import jax.numpy as jnp

import numpy as np
from minigrad_jax import lax
from minigrad_jax._src import core
from minigrad_jax._src.numpy import _dtypes
from minigrad_jax._src.numpy import _util as util
from minigrad_jax._src.numpy._creation import arange
from minigrad_jax._src.numpy._reductions import sum as _sum
from minigrad_jax._src.numpy._scalar_types import _scalar_type, bool_, float32, float64, uint64
from minigrad_jax._src.numpy._shape import expand_dims, pad, ravel, reshape, swapaxes
from minigrad_jax._src.numpy._ufuncs import bitwise_and, greater, left_shift, not_equal

# ---------------------------------------------------------------------------
# packbits / unpackbits


def _check_bitorder(bitorder):
    if bitorder not in ("little", "big"):
        raise ValueError("'order' must be either 'little' or 'big'")


def packbits(a, axis=None, bitorder="big"):
    """Pack the truthiness of ``a`` into uint8 bytes, 8 elements per byte, like jnp.packbits.

    The last byte along ``axis`` is zero-padded; ``axis=None`` packs the flattened array.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.packbits(mnp.array([1, 0, 1, 1, 0, 0, 0, 0, 1]))
        Array([176, 128], dtype=uint8)
        >>> mnp.packbits(mnp.array([1, 0, 1, 1]), bitorder="little")
        Array([13], dtype=uint8)
    """
    (arr,) = util.ensure_arraylike("packbits", a)
    dtype = util.dtype_of(arr)
    if not (_dtypes.is_int(dtype) or dtype == np.bool_):
        raise TypeError(
            f"packbits expected an input array of integer or boolean data type, got {dtype.name}"
        )
    _check_bitorder(bitorder)
    arr = not_equal(arr, 0).astype(np.uint8)
    bits = arange(8, dtype=np.uint8)
    if bitorder == "big":
        bits = bits[::-1]
    if axis is None:
        arr = ravel(arr)
        axis = 0
    arr = swapaxes(arr, axis, -1)
    shape = util.shape_of(arr)
    remainder = shape[-1] % 8
    if remainder:
        arr = pad(arr, [(0, 0)] * (len(shape) - 1) + [(0, 8 - remainder)])
        shape = util.shape_of(arr)
    arr = reshape(arr, (*shape[:-1], shape[-1] // 8, 8))
    bits = expand_dims(bits, tuple(range(util.ndim_of(arr) - 1)))
    packed = _sum(left_shift(arr, bits), axis=-1).astype(np.uint8)
    return swapaxes(packed, axis, -1)


def unpackbits(a, axis=None, count=None, bitorder="big"):
    """Unpack uint8 bytes into their bits (uint8 0/1), like jnp.unpackbits.

    ``count`` keeps the first ``count`` bits along ``axis`` (zero-padding when it
    is larger than ``8 * a.shape[axis]``).

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.unpackbits(mnp.array([176], dtype=mnp.uint8))
        Array([1, 0, 1, 1, 0, 0, 0, 0], dtype=uint8)
        >>> mnp.unpackbits(mnp.array([13], dtype=mnp.uint8), count=4, bitorder="little")
        Array([1, 0, 1, 1], dtype=uint8)
    """
    (arr,) = util.ensure_arraylike("unpackbits", a)
    if util.dtype_of(arr) != np.uint8:
        raise TypeError(
            "unpackbits expected an input array of unsigned byte data type, got "
            f"{util.dtype_of(arr).name}"
        )
    _check_bitorder(bitorder)
    bits = left_shift(np.uint8(1), arange(8, dtype=np.uint8))
    if bitorder == "big":
        bits = bits[::-1]
    if axis is None:
        arr = ravel(arr)
        axis = 0
    arr = swapaxes(arr, axis, -1)
    bits = expand_dims(bits, tuple(range(util.ndim_of(arr))))
    unpacked = greater(bitwise_and(expand_dims(arr, -1), bits), 0).astype(np.uint8)
    shape = util.shape_of(unpacked)
    unpacked = reshape(unpacked, (*shape[:-2], shape[-2] * shape[-1]))
    if count is not None:
        count = operator.index(count)
        size = util.shape_of(unpacked)[-1]
        if count > size:
            unpacked = pad(unpacked, [(0, 0)] * (util.ndim_of(unpacked) - 1) + [(0, count - size)])
        else:
            unpacked = lax.slice_in_dim(unpacked, 0, count, axis=util.ndim_of(unpacked) - 1)
    return swapaxes(unpacked, axis, -1)


# ---------------------------------------------------------------------------
# scalar types and aliases

bool = bool_  # noqa: A001  (jnp.bool is jnp.bool_)
single = float32
double = float64
uint = uint64  # like jnp.uint: canonicalized to uint32 unless x64 is enabled

int1 = _scalar_type("int1", jnp.int1.dtype)
int2 = _scalar_type("int2", jnp.int2.dtype)
int4 = _scalar_type("int4", jnp.int4.dtype)
uint1 = _scalar_type("uint1", jnp.uint1.dtype)
uint2 = _scalar_type("uint2", jnp.uint2.dtype)
uint4 = _scalar_type("uint4", jnp.uint4.dtype)
float4_e2m1fn = _scalar_type("float4_e2m1fn", jnp.float4_e2m1fn.dtype)
float6_e2m3fn = _scalar_type("float6_e2m3fn", jnp.float6_e2m3fn.dtype)
float6_e3m2fn = _scalar_type("float6_e3m2fn", jnp.float6_e3m2fn.dtype)
float8_e3m4 = _scalar_type("float8_e3m4", jnp.float8_e3m4.dtype)
float8_e4m3 = _scalar_type("float8_e4m3", jnp.float8_e4m3.dtype)
float8_e4m3b11fnuz = _scalar_type("float8_e4m3b11fnuz", jnp.float8_e4m3b11fnuz.dtype)
float8_e4m3fn = _scalar_type("float8_e4m3fn", jnp.float8_e4m3fn.dtype)
float8_e4m3fnuz = _scalar_type("float8_e4m3fnuz", jnp.float8_e4m3fnuz.dtype)
float8_e5m2 = _scalar_type("float8_e5m2", jnp.float8_e5m2.dtype)
float8_e5m2fnuz = _scalar_type("float8_e5m2fnuz", jnp.float8_e5m2fnuz.dtype)
float8_e8m0fnu = _scalar_type("float8_e8m0fnu", jnp.float8_e8m0fnu.dtype)

# Plain NumPy objects in jax.numpy as well.
object_ = np.object_
character = np.character
flexible = np.flexible
ComplexWarning = np.exceptions.ComplexWarning

# ---------------------------------------------------------------------------
# ndarray


class _ArrayMeta(abc.ABCMeta):
    """``isinstance(x, mnp.ndarray)``: a jax.Array, or one of our tracers."""

    def __instancecheck__(cls, instance):
        return isinstance(instance, (jax.Array, core.Tracer))

    def __subclasscheck__(cls, subclass):
        return cls is subclass or issubclass(subclass, (jax.Array, core.Tracer))


class ndarray(metaclass=_ArrayMeta):  # noqa: N801  (jax.numpy's name)
    """The array type, as ``jnp.ndarray`` (``jax.Array``) is: for ``isinstance`` checks.

    Values are ``jax.Array``; inside ``grad``, ``vmap``, ``jit``... they are our
    tracers, and both are instances. NumPy arrays and Python scalars are not.

    Example:
        >>> import numpy as np
        >>> import minigrad_jax as mg
        >>> import minigrad_jax.numpy as mnp
        >>> isinstance(mnp.ones(3), mnp.ndarray), isinstance(np.ones(3), mnp.ndarray)
        (True, False)
        >>> mg.grad(lambda x: isinstance(x, mnp.ndarray) * x)(1.0)
        Array(1., dtype=float32, weak_type=True)
    """

    __slots__ = ()

    def __new__(cls, *args, **kwargs):
        raise TypeError(
            "mnp.ndarray cannot be instantiated (as jax.Array): use mnp.array or mnp.asarray"
        )
