"""JAX's dtype promotion, taken from jax.dtypes rather than re-derived."""

from __future__ import annotations

import jax

from minigrad_jax._src import core

_WEAK_PROXY = {"b": bool, "i": int, "u": int, "f": float, "c": complex, "V": float}
_cache: dict = {}


def _key(x):
    if core.is_python_scalar(x):
        return (type(x), None)
    a = x if isinstance(x, core.ShapedArray) else core.get_aval(x)
    if core.is_extended(a.dtype):
        raise TypeError(
            f"arrays of dtype {a.dtype} (PRNG keys) take no part in arithmetic or type "
            "promotion: pass them to mg.random functions (mg.random.key_data gives the "
            "raw uint32 data)"
        )
    return (a.dtype, a.weak_type)


def _proxy(key):
    kind, weak = key
    if weak is None:
        return kind  # a Python scalar type
    return _WEAK_PROXY[kind.kind] if weak else kind


def result_type(*args):
    """(dtype, weak_type) of JAX's promotion of ``args`` (values, tracers or avals)."""
    keys = tuple(_key(a) for a in args)
    x64 = jax.config.jax_enable_x64
    hit = _cache.get((keys, x64))
    if hit is None:
        dtype, weak = jax.dtypes.result_type(*map(_proxy, keys), return_weak_type_flag=True)
        hit = _cache[(keys, x64)] = (core.canonical_dtype(dtype), weak)
    return hit
