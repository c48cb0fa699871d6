"""dtype objects, dtype facts and constants of the numpy namespace.

Dtype *facts* (finfo, promotion tables) come from jax.numpy / jax.dtypes, so
they are JAX's by construction; only values flow through our lax wrappers.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

import numpy as np
from minigrad_jax._src import core
from minigrad_jax._src import dtypes as _promotion


class _ScalarMeta(type):
    """A scalar type like ``mnp.float32``: usable as a dtype and callable like JAX's."""

    def __hash__(cls):
        return hash(cls.dtype.type)

    def __eq__(cls, other):
        return cls is other or cls.dtype.type == other

    def __ne__(cls, other):
        return not cls == other

    def __call__(cls, x):
        from minigrad_jax._src.numpy._creation import asarray

        return asarray(x, dtype=cls.dtype)

    def __instancecheck__(cls, instance):
        return isinstance(instance, cls.dtype.type)

    def __repr__(cls):
        return f"<class 'minigrad_jax.numpy.{cls.__name__}'>"


def _scalar_type(name, np_type):
    return _ScalarMeta(name, (object,), {"dtype": np.dtype(np_type)})


bool_ = _scalar_type("bool", np.bool_)
int8 = _scalar_type("int8", np.int8)
int16 = _scalar_type("int16", np.int16)
int32 = _scalar_type("int32", np.int32)
int64 = _scalar_type("int64", np.int64)
uint8 = _scalar_type("uint8", np.uint8)
uint16 = _scalar_type("uint16", np.uint16)
uint32 = _scalar_type("uint32", np.uint32)
uint64 = _scalar_type("uint64", np.uint64)
float16 = _scalar_type("float16", np.float16)
bfloat16 = _scalar_type("bfloat16", jnp.bfloat16)
float32 = _scalar_type("float32", np.float32)
float64 = _scalar_type("float64", np.float64)
complex64 = _scalar_type("complex64", np.complex64)
complex128 = _scalar_type("complex128", np.complex128)
int_ = int64  # like jnp.int_: canonicalized to int32 unless x64 is enabled
float_ = float64
complex_ = complex128

# The abstract scalar hierarchy is numpy's, as in jax.numpy.
generic, number, inexact, floating = np.generic, np.number, np.inexact, np.floating
integer, signedinteger, unsignedinteger = np.integer, np.signedinteger, np.unsignedinteger
complexfloating = np.complexfloating
dtype = np.dtype

finfo = jnp.finfo
iinfo = jnp.iinfo
issubdtype = jnp.issubdtype
promote_types = jnp.promote_types
can_cast = jnp.can_cast

pi = np.pi
e = np.e
euler_gamma = np.euler_gamma
inf = np.inf
nan = np.nan
newaxis = None


def _is_array_like(x) -> bool:
    return isinstance(x, (core.Tracer, jax.Array, np.ndarray, np.generic)) or core.is_python_scalar(
        x
    )


def result_type(*args):
    """The dtype JAX's promotion gives ``args`` (arrays, scalars or dtypes).

    Example:
        >>> mnp.result_type(mnp.int32, 1.0)
        dtype('float32')
    """
    proxies = []
    for a in args:
        if any(a is t for t in (bool, int, float, complex)):
            proxies.append(a)  # Python scalar types promote weakly, as in JAX
        elif _is_array_like(a) and not isinstance(a, type):
            dt, weak = _promotion.result_type(a)
            proxies.append(_promotion._proxy((dt, weak)))
        else:
            proxies.append(np.dtype(a))
    return core.canonical_dtype(jnp.result_type(*proxies))


def canonicalize(dt, name="dtype"):
    """A user dtype argument as the dtype JAX would use (None stays None)."""
    if dt is None:
        return None
    try:
        return core.canonical_dtype(np.dtype(dt))
    except TypeError:
        raise TypeError(f"{name}: {dt!r} is not a valid dtype") from None


def default_float():
    return core.canonical_dtype(np.float64)


def default_int():
    return core.canonical_dtype(np.int64)


def default_uint():
    return core.canonical_dtype(np.uint64)


# JAX's table (jax._src.dtypes._dtype_to_inexact): integers up to 32 bits become
# float32 and 64-bit ones float64, whatever the x64 setting.
_TO_INEXACT = {
    np.dtype(k): np.dtype(v)
    for k, v in [
        ("bool", "float32"),
        ("uint8", "float32"),
        ("int8", "float32"),
        ("uint16", "float32"),
        ("int16", "float32"),
        ("uint32", "float32"),
        ("int32", "float32"),
        ("uint64", "float64"),
        ("int64", "float64"),
    ]
}


def to_inexact_dtype(dt):
    dt = np.dtype(dt)
    return core.canonical_dtype(_TO_INEXACT.get(dt, dt))


def to_numeric_dtype(dt):
    dt = np.dtype(dt)
    return np.dtype(np.int32) if dt == np.bool_ else dt


def is_float(dt) -> bool:
    return jnp.issubdtype(dt, np.floating)


def is_inexact(dt) -> bool:
    return jnp.issubdtype(dt, np.inexact)


def is_int(dt) -> bool:
    return jnp.issubdtype(dt, np.integer)


def is_unsigned(dt) -> bool:
    return jnp.issubdtype(dt, np.unsignedinteger)


def is_complex(dt) -> bool:
    return jnp.issubdtype(dt, np.complexfloating)


def promote_integer_dtype(dt):
    """Small integers and bools accumulate in the default int, as jnp.sum does."""
    dt = np.dtype(dt)
    if dt == np.bool_:
        return default_int()
    if is_unsigned(dt):
        du = default_uint()
        return du if np.iinfo(dt).bits < np.iinfo(du).bits else dt
    if is_int(dt):
        di = default_int()
        return di if np.iinfo(dt).bits < np.iinfo(di).bits else dt
    return dt
