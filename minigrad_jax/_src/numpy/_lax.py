"""Finds our lax wrappers by their jax.lax name, wherever their stanza lives.

The numpy layer calls only these wrappers (never jax.numpy on traced values).
Looking them up by name keeps this package independent of how the lax
primitives are split across modules, and a missing one fails with a clear
NotImplementedError instead of an AttributeError deep inside a call.
"""

from __future__ import annotations

import importlib

_MODULES = (
    "elementwise",
    "structural",
    "reductions",
    "indexing",
    "sorting",
    "linalg",
    "control_flow",
)
_found: dict = {}
_missing: set = set()  # looked up once; the lax modules are complete once imported


def lax_fn(name: str):
    """The minigrad_jax.lax wrapper called ``name`` (as in jax.lax)."""
    fn = _found.get(name)
    if fn is not None:
        return fn
    if name in _missing:
        raise NotImplementedError(f"lax.{name} is not implemented in minigrad_jax yet")
    for module in _MODULES:
        path = f"minigrad_jax._src.lax.{module}"
        try:
            mod = importlib.import_module(path)
        except ModuleNotFoundError as e:
            if e.name != path:
                raise
            continue
        fn = getattr(mod, name, None)
        if callable(fn):
            _found[name] = fn
            return fn
    _missing.add(name)
    raise NotImplementedError(f"lax.{name} is not implemented in minigrad_jax yet")


def has_lax_fn(name: str) -> bool:
    try:
        lax_fn(name)
    except NotImplementedError:
        return False
    return True


class _LaxNamespace:
    """``lax.add(...)``-style access to :func:`lax_fn` for readable call sites."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return lax_fn(name)


lax = _LaxNamespace()
