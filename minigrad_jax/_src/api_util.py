"""Flattening, argnums and static-argument helpers shared by the transforms."""

from __future__ import annotations

import functools

from jax import tree_util

from minigrad_jax._src import core


def wraps(fun):
    """functools.wraps without copying ``__dict__`` (a wrapped JitWrapped's state must
    not leak into the wrapper)."""
    return functools.wraps(fun, updated=())


class FlatFun:
    """``fun`` taking and returning flat lists; remembers the output treedef."""

    __slots__ = ("fun", "in_tree", "out_tree")

    def __init__(self, fun, in_tree):
        self.fun, self.in_tree, self.out_tree = fun, in_tree, None

    def __call__(self, *flat_args):
        args, kwargs = tree_util.tree_unflatten(self.in_tree, flat_args)
        out = self.fun(*args, **kwargs)
        flat, self.out_tree = tree_util.tree_flatten(out)
        return flat


def flatten_call(fun, args, kwargs=None):
    flat, in_tree = tree_util.tree_flatten((tuple(args), dict(kwargs or {})))
    return FlatFun(fun, in_tree), flat


def normalize_argnums(argnums, nargs, fname):
    """Turn ``argnums`` (int or sequence, negatives allowed) into a checked tuple."""
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    for a in nums:
        if not isinstance(a, int) or not -nargs <= a < nargs:
            raise TypeError(  # JAX raises TypeError here too
                f"{fname}: argnums={argnums!r} is out of range for a function called with "
                f"{nargs} positional argument(s); differentiating with respect to argument "
                f"{a} requires at least {a + 1 if a >= 0 else -a} positional arguments"
            )
    return single, tuple(a % nargs for a in nums)


def split_static(args, static_argnums, fname):
    """Separate static positional args (hashable, part of the cache key)."""
    nargs = len(args)
    static = []
    for i in static_argnums:
        if not -nargs <= i < nargs:
            raise ValueError(
                f"{fname}: static_argnums={tuple(static_argnums)} refers to argument {i}, but "
                f"the function was called with {nargs} positional argument(s)"
            )
        static.append(i % nargs)
    return tuple(sorted(set(static)))


def check_hashable(value, where):
    try:
        hash(value)
    except TypeError as e:
        raise TypeError(
            f"Non-hashable static argument {where} of type {type(value).__name__}: {e}. "
            "Static arguments must be hashable (use a tuple instead of a list, or pass "
            "arrays as regular, non-static arguments)."
        ) from None


def avals_of(flat):
    return tuple(core.get_aval(x) for x in flat)


def flatten_axes(name, treedef, axis_tree, kind="in_axes"):
    """Broadcast a prefix tree of axes (ints/None) to the leaves of ``treedef``."""
    proxy = tree_util.tree_unflatten(treedef, [object()] * treedef.num_leaves)
    out = []

    def add_leaves(ax, sub):
        n = tree_util.tree_structure(sub).num_leaves
        out.extend([ax] * n)

    try:
        tree_util.tree_map(add_leaves, axis_tree, proxy, is_leaf=lambda x: x is None)
    except ValueError:
        raise ValueError(
            f"{name} {kind} specification must be a tree prefix of the corresponding value, "
            f"got {kind}={axis_tree!r} for a value of structure {treedef}"
        ) from None
    return out
