"""Flattening, argnums and static-argument helpers shared by the transforms."""

from __future__ import annotations

import functools
import inspect
import operator

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
    nums = tuple(a % nargs for a in nums)
    if len(set(nums)) != len(nums):
        raise TypeError(  # JAX fails with a TypeError too (deep inside, unexplained)
            f"{fname}: argnums={argnums!r} names the same argument more than once; "
            "each position may appear only once"
        )
    return single, nums


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
    """Static arguments are cache keys; an unhashable one is a ValueError, as in jax.jit."""
    try:
        hash(value)
    except TypeError as e:
        raise ValueError(
            f"Non-hashable static argument {where} of type {type(value).__name__}: {e}. "
            "Static arguments must be hashable (use a tuple instead of a list, or pass "
            "arrays as regular, non-static arguments)."
        ) from None


def fun_signature(fun):
    """``inspect.signature(fun)``, or None for callables without one (some builtins)."""
    try:
        return inspect.signature(fun)
    except (ValueError, TypeError):
        return None


def _as_argnums(argnums):
    if isinstance(argnums, int):
        return (argnums,)
    return tuple(operator.index(i) for i in argnums)  # a str or float is a TypeError, as in JAX


def _as_argnames(argnames):
    return (argnames,) if isinstance(argnames, str) else tuple(argnames)


def infer_argnums_and_argnames(sig, argnums, argnames):
    """Complete argnums from argnames or argnames from argnums through ``sig``.

    As in jax.jit: only the side left as None is inferred (both given: used as
    given), only parameters that can be passed either way map, and a negative
    argnum has no name (it counts from the end of each call's positional args).
    """
    if argnums is None and argnames is None:
        return (), ()
    nums = None if argnums is None else _as_argnums(argnums)
    names = None if argnames is None else _as_argnames(argnames)
    either_way = [] if sig is None else _positional_or_keyword(sig)
    if nums is None:
        nums = tuple(i for i, k in either_way if k in names)
    elif names is None:
        names = tuple(k for i, k in either_way if i in nums)
    return nums, names


def _positional_or_keyword(sig):
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return [(i, k) for i, (k, p) in enumerate(sig.parameters.items()) if p.kind is kind]


def resolve_argnums(argnums, nargs):
    """The positions ``argnums`` name in a call with ``nargs`` positional arguments.

    Negative ones count from the end; ones out of range name nothing (jax.jit
    checks the range against the signature when it is built, not per call).
    """
    return tuple(sorted({i % nargs for i in argnums if -nargs <= i < nargs}))


def avals_of(flat):
    return tuple(core.get_aval(x) for x in flat)


def flatten_axes(name, treedef, axis_tree, kind="in_axes"):
    """Broadcast a prefix tree of axes (ints/None) to the leaves of ``treedef``.

    As JAX does, this walks the axis tree and the treedef's nodes side by side,
    never unflattening the user's classes with placeholder leaves (an unflatten
    that checks or converts its children would reject them).
    """
    out = []
    _broadcast_axes(axis_tree, treedef, out, (name, kind, axis_tree, treedef), ())
    return out


def _broadcast_axes(axes, treedef, out, ctx, path):
    if axes is None or tree_util.treedef_is_leaf(tree_util.tree_structure(axes)):
        out.extend([axes] * treedef.num_leaves)
        return
    children, node = tree_util.tree_flatten(axes, is_leaf=lambda x: x is not axes)
    subtrees = treedef.children()
    if node.node_data() != treedef.node_data() or len(children) != len(subtrees):
        _prefix_error(ctx, path, node, treedef)
    for k, (child, sub) in enumerate(zip(children, subtrees)):
        _broadcast_axes(child, sub, out, ctx, (*path, k))


def _prefix_error(ctx, path, node, treedef):
    name, kind, axis_tree, full = ctx
    at = kind + "".join(f"[{k}]" for k in path)
    what = node.node_data()[0].__name__
    have = "a leaf" if treedef.node_data() is None else f"a {treedef.node_data()[0].__name__}"
    raise ValueError(
        f"{name} {kind} specification must be a tree prefix of the corresponding value: "
        f"{at} is a {what} with {node.num_leaves} entries where the value is {have} with "
        f"{len(treedef.children())} children (got {kind}={axis_tree!r} for a value of "
        f"structure {full})"
    )
