"""Host-only functions, forwarded to jax.numpy unchanged.

They read or write files, buffers, iterators and print settings, so they work
on concrete values only (never under a transform) and return jax.Arrays:
``load``, ``save``, ``savez``, ``fromfile``, ``frombuffer``, ``fromstring``,
``fromiter``, ``from_dlpack``, ``printoptions``, ``get_printoptions``,
``set_printoptions``, ``array_repr``, ``array_str``.

Example:
    >>> import minigrad_jax.numpy as mnp
    >>> mnp.fromstring("1 2 3", dtype=mnp.int32, sep=" ")
    Array([1, 2, 3], dtype=int32)
"""

from __future__ import annotations

import jax.numpy as jnp

load = jnp.load
save = jnp.save
savez = jnp.savez
fromfile = jnp.fromfile
frombuffer = jnp.frombuffer
fromstring = jnp.fromstring
fromiter = jnp.fromiter
from_dlpack = jnp.from_dlpack
printoptions = jnp.printoptions
get_printoptions = jnp.get_printoptions
set_printoptions = jnp.set_printoptions
array_repr = jnp.array_repr
array_str = jnp.array_str
