"""lax.associative_scan: JAX's parallel prefix scan, built from slices, pads and concatenates.

Not a primitive: every step is a differentiable, batchable primitive, so the
scan works under every transform, and the JVPs of the cumulative reductions
(reductions.py) are the JVP of this scan, as in JAX.
"""

from __future__ import annotations

import numpy as np
from jax import tree_util

from minigrad_jax._src import core
from minigrad_jax._src.lax.elementwise import add, bitwise_or
from minigrad_jax._src.lax.structural import concatenate, pad, rev, slice_in_dim

__all__ = ["associative_scan"]


def associative_scan(fn, elems, reverse=False, axis=0):
    """Scan ``elems`` with the associative ``fn`` along ``axis``, in parallel (Blelloch).

    ``elems`` may be a pytree of arrays sharing the ``axis`` length; ``fn`` takes
    two such pytrees (slices along ``axis``) and returns one. Element ``k`` of the
    result is ``fn`` folded over the first ``k + 1`` elements (the last ones when
    ``reverse``), as jax.lax.associative_scan.

    Example:
      >>> import minigrad_jax.lax as lax, numpy as np
      >>> lax.associative_scan(lax.add, np.arange(4))
      Array([0, 1, 3, 6], dtype=int32)
      >>> lax.associative_scan(lax.add, np.arange(4), reverse=True)
      Array([6, 6, 5, 3], dtype=int32)
    """
    if not callable(fn):
        raise TypeError("lax.associative_scan: fn argument should be callable.")
    elems_flat, tree = tree_util.tree_flatten(elems)
    if not elems_flat:
        raise ValueError("lax.associative_scan requires at least one array in elems")
    ndim = core.get_aval(elems_flat[0]).ndim
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"lax.associative_scan: axis {axis} is out of bounds for an array of rank {ndim}"
        )
    axis %= ndim
    shapes = [core.get_aval(e).shape for e in elems_flat]
    if any(len(s) <= axis or s[axis] != shapes[0][axis] for s in shapes[1:]):
        raise ValueError(
            f"Array inputs to associative_scan must have the same first dimension. (saw: {shapes})"
        )

    def combine(a_flat, b_flat):
        c = fn(tree_util.tree_unflatten(tree, a_flat), tree_util.tree_unflatten(tree, b_flat))
        c_flat, c_tree = tree_util.tree_flatten(c)
        if c_tree != tree:
            raise TypeError(
                f"lax.associative_scan: fn must return the structure of elems ({tree}), "
                f"got {c_tree}"
            )
        return c_flat

    if reverse:
        elems_flat = [rev(e, (axis,)) for e in elems_flat]
    scans = scan_flat(combine, elems_flat, axis)
    if reverse:
        scans = [rev(s, (axis,)) for s in scans]
    return tree_util.tree_unflatten(tree, scans)


def scan_flat(combine, elems, axis):
    """The odd/even recursion on a flat list of arrays; ``combine`` maps lists to lists."""
    n = core.get_aval(elems[0]).shape[axis]
    if n < 2:
        return list(elems)
    # Combine adjacent pairs, scan the half-size result (the odd elements),
    # then each even element is an odd result combined with the next input.
    reduced = combine(
        [slice_in_dim(e, 0, -1, stride=2, axis=axis) for e in elems],
        [slice_in_dim(e, 1, None, stride=2, axis=axis) for e in elems],
    )
    odd = scan_flat(combine, reduced, axis)
    if n % 2 == 0:
        head = [slice_in_dim(o, 0, -1, axis=axis) for o in odd]
    else:
        head = odd
    even = combine(head, [slice_in_dim(e, 2, None, stride=2, axis=axis) for e in elems])
    even = [
        concatenate([slice_in_dim(e, 0, 1, axis=axis), r], axis)
        for e, r in zip(elems, even, strict=True)
    ]
    return [_interleave(a, b, axis) for a, b in zip(even, odd, strict=True)]


def _interleave(a, b, axis):
    """a[0], b[0], a[1], b[1], ... along ``axis`` (a has as many or one more)."""
    a_aval, b_aval = core.get_aval(a), core.get_aval(b)
    same = a_aval.shape[axis] == b_aval.shape[axis]
    a_pad = [(0, 0, 0)] * a_aval.ndim
    b_pad = [(0, 0, 0)] * b_aval.ndim
    a_pad[axis] = (0, 1 if same else 0, 1)
    b_pad[axis] = (1, 0 if same else 1, 1)
    op = bitwise_or if a_aval.dtype == np.bool_ else add
    return op(pad(a, np.zeros((), a_aval.dtype), a_pad), pad(b, np.zeros((), b_aval.dtype), b_pad))
