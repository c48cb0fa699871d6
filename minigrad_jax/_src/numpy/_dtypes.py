"""dtype facts and constants of the numpy namespace.

The scalar types (``mnp.float32``, ...) are callables that build arrays, so
they live above the constructors, in _scalar_types.py.

Dtype *facts* (finfo, promotion tables) come from jax.numpy / jax.dtypes, so
they are JAX's by construction; only values flow through our lax wrappers.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

import numpy as np
from minigrad_jax._src import core
from minigrad_jax._src import dtypes as _promotion

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
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.result_type(mnp.int32, 1.0)
        dtype('float32')
        >>> mnp.result_type(mnp.int32, mnp.float32)
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
