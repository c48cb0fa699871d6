"""The few array operations the interpreters emit themselves.

A symbolic zero made concrete needs ``full``; vmap moves and creates batch
axes with ``transpose``, ``broadcast_in_dim`` and ``reshape``. Those are lax
primitives, and lax builds on the interpreters, so lax registers them here when
it is imported (JAX does the same with ``ad_util.aval_zeros_likers``): the
interpreters never import lax.
"""

from __future__ import annotations


class _ArrayOps:
    __slots__ = ("full", "transpose", "broadcast_in_dim", "reshape")

    def __init__(self):
        for name in self.__slots__:
            setattr(self, name, _unregistered(name))


def _unregistered(name):
    def missing(*args, **kwargs):
        raise NotImplementedError(f"the array operation {name!r} is not registered yet")

    return missing


ops = _ArrayOps()


def register(**fns):
    """``register(full=..., transpose=..., ...)``: called once, by lax/structural.py."""
    for name, fn in fns.items():
        setattr(ops, name, fn)
