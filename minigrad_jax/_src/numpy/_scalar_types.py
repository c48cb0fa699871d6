"""The scalar types of the numpy namespace: ``mnp.float32`` and friends.

Each is usable as a dtype and callable like JAX's (``mnp.float32(x)`` is
``mnp.asarray(x, dtype=mnp.float32)``), so this module sits above the array
constructors.
"""

from __future__ import annotations

import jax.numpy as jnp

import numpy as np
from minigrad_jax._src.numpy._creation import asarray


class _ScalarMeta(type):
    """A scalar type like ``mnp.float32``: usable as a dtype and callable like JAX's."""

    def __hash__(cls):
        return hash(cls.dtype.type)

    def __eq__(cls, other):
        return cls is other or cls.dtype.type == other

    def __ne__(cls, other):
        return not cls == other

    def __call__(cls, x):
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
