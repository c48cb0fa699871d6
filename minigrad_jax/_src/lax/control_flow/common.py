"""What cond, while and scan share: tracing user functions, type checks, outputs."""

from __future__ import annotations

from jax import tree_util

from minigrad_jax._src.core import get_aval
from minigrad_jax._src.interpreters import partial_eval as pe


def trace_fun(fun, in_tree, in_avals, what):
    """Trace ``fun`` over pytree args (flattened as ``in_tree``): (ClosedJaxpr, out_tree)."""
    store = {}

    def flat(*args):
        out = fun(*tree_util.tree_unflatten(in_tree, args))
        leaves, store["tree"] = tree_util.tree_flatten(out)
        for leaf in leaves:
            get_aval(leaf)  # a clear TypeError for a non-array output
        return leaves

    closed = pe.trace_to_jaxpr(flat, list(in_avals), what)
    return closed, store["tree"]


def avals_str(avals):
    return "(" + ", ".join(a.str_short() + ("{weak}" if a.weak_type else "") for a in avals) + ")"


def same_types(a, b, weak=True):
    return len(a) == len(b) and all(
        x.shape == y.shape and x.dtype == y.dtype and (not weak or x.weak_type == y.weak_type)
        for x, y in zip(a, b)
    )
