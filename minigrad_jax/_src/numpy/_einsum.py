"""einsum and einsum_path, as jax.numpy computes them.

The contraction order comes from ``opt_einsum.contract_path`` called exactly
as jnp.einsum calls it, so the path (and every intermediate's index order) is
JAX's. Each step of the path is then lowered the way jnp.einsum lowers it:

- one operand: indices found only in it are summed with one ``reduce_sum``;
  an index repeated within it (a diagonal or trace) is masked with a Kronecker
  delta (``iota``/``eq``/``select_n``) and summed;
- two operands: size-1 dimensions that broadcast against a larger one are
  squeezed, indices found in one side only are summed first, and the rest is
  one ``dot_general`` (contracting and batch dimensions), trying the
  ``(rhs, lhs)`` order first to avoid a transpose;
- a ``transpose`` puts the result's axes in the step's output order.

So ``make_jaxpr`` of our einsum has the equations of JAX's (which JAX traces
inside an inlined jit).
"""

from __future__ import annotations

import collections
import functools

import opt_einsum

import numpy as np
from minigrad_jax import lax
from minigrad_jax._src import dtypes as _promotion
from minigrad_jax._src.numpy import _dtypes
from minigrad_jax._src.numpy import _util as util


class _Unoptimized(opt_einsum.paths.PathOptimizer):
    """``optimize=False``: contract the operands left to right, as JAX does."""

    def __call__(self, inputs, *args, **kwargs):
        return [(0, 1)] * (len(inputs) - 1)


def _path_type(optimize):
    if optimize is True:
        return "optimal"
    if optimize is False:
        return _Unoptimized()
    return optimize


def _convert(op):
    m = getattr(op, "__jax_array__", None)
    return m() if m is not None else op


def _describe(args):
    """The operands' shapes (and the subscripts) for an error message."""
    parts = []
    for a in args:
        if isinstance(a, str):
            parts.append(repr(a))
        elif hasattr(a, "shape"):
            parts.append(f"shape {tuple(a.shape)}")
        elif isinstance(a, (list, tuple)):
            parts.append(repr(list(a)))
        else:
            parts.append(f"shape {np.shape(a)}")
    return ", ".join(parts)


class EinsumOutputIndexError(KeyError, ValueError):
    """An output index that no input has, in a form where opt_einsum (hence
    jnp.einsum) raises a bare KeyError: a ValueError here too, as numpy's
    AxisError is both a ValueError and an IndexError."""

    def __str__(self):
        return str(self.args[0])


def _contract_path(name, args, **kwargs):
    """opt_einsum.contract_path on ``args``; its errors name the operands' shapes."""
    try:
        return opt_einsum.contract_path(*args, **kwargs)
    except KeyError as e:
        raise EinsumOutputIndexError(
            f"{name}: output index {e.args[0]!r} appears in no input (arguments: {_describe(args)})"
        ) from None
    except (ValueError, TypeError) as e:
        raise type(e)(f"{name}: {e} (arguments: {_describe(args)})") from None


def einsum(
    subscripts,
    /,
    *operands,
    out=None,
    optimize="auto",
    precision=None,
    preferred_element_type=None,
    _dot_general=lax.dot_general,
    out_sharding=None,
):
    """Einstein summation, like jnp.einsum (subscripts string or operand/sublist form).

    ``optimize`` is ``"auto"`` (opt_einsum's choice, as in JAX), ``True``
    (``"optimal"``), ``False`` (left to right), any opt_einsum strategy name, or
    an explicit path such as the one :func:`einsum_path` returns.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> mnp.einsum("bij,bjk->bik", mnp.ones((2, 3, 4)), mnp.ones((2, 4, 5))).shape
        (2, 3, 5)
        >>> mnp.einsum("i,j->ij", mnp.arange(2.0), mnp.arange(3.0))
        Array([[0., 0., 0.],
               [0., 1., 2.]], dtype=float32)
        >>> mnp.einsum("ii", mnp.arange(9.0).reshape(3, 3))
        Array(12., dtype=float32)
        >>> mnp.einsum(mnp.ones((2, 3)), [0, 1], mnp.ones(3), [1], [0])
        Array([3., 3.], dtype=float32)
    """
    if out is not None:
        raise NotImplementedError("The 'out' argument to mnp.einsum is not supported.")
    util.check_no_unsupported("einsum", out_sharding=out_sharding)
    args = tuple(_convert(op) for op in (subscripts, *operands))
    arrays, contractions = _contract_path(
        "einsum", args, einsum_call=True, use_blas=True, optimize=_path_type(optimize)
    )
    contractions = tuple((a, frozenset(b), c) for a, b, c, *_ in contractions)
    arrays = list(util.ensure_arraylike("einsum", *arrays))
    return _einsum(arrays, contractions, precision, preferred_element_type, _dot_general)


def einsum_path(subscripts, /, *operands, optimize="auto"):
    """The contraction path einsum would take, like jnp.einsum_path: ``(path, info)``.

    Forwarded to ``opt_einsum.contract_path``; only the operands' shapes are read.

    Example:
        >>> import minigrad_jax.numpy as mnp
        >>> x, y, z = mnp.ones((2, 3)), mnp.ones((3, 100)), mnp.ones((100, 5))
        >>> path, info = mnp.einsum_path("ij,jk,kl", x, y, z, optimize="optimal")
        >>> path
        [(1, 2), (0, 1)]
    """
    return _contract_path("einsum_path", (subscripts, *operands), optimize=_path_type(optimize))


def _removechars(s, chars):
    return s.translate(str.maketrans(dict.fromkeys(chars)))


def _delta(shape, axes):
    """A bool array of ``shape``: True where the ``axes`` indices are all equal."""
    base = tuple(shape[a] for a in axes)
    iotas = [lax.broadcasted_iota(np.uint32, base, i) for i in range(len(base))]
    eyes = [lax.eq(i1, i2) for i1, i2 in zip(iotas[:-1], iotas[1:], strict=False)]
    return lax.broadcast_in_dim(functools.reduce(lax.bitwise_and, eyes), shape, axes)


def _einsum(operands, contractions, precision, preferred_element_type, _dot_general):
    if preferred_element_type is None:
        preferred_element_type, output_weak_type = _promotion.result_type(*operands)
    else:
        preferred_element_type = _dtypes.canonicalize(preferred_element_type, "einsum")
        output_weak_type = False

    def sum_axes(x, axes):
        if _dtypes.result_type(x, preferred_element_type) != util.dtype_of(x):
            x = util.cast(x, preferred_element_type)
        if util.dtype_of(x) == np.bool_:
            return lax.reduce_or(x, axes)
        return lax.reduce_sum(x, axes)

    def sum_uniques(operand, names, uniques):
        if uniques:
            axes = [names.index(name) for name in uniques]
            operand = sum_axes(operand, axes)
            names = _removechars(names, uniques)
        return operand, names

    def sum_repeats(operand, names, counts, keep_names):
        for name, count in counts.items():
            if count > 1:
                axes = [i for i, n in enumerate(names) if n == name]
                eye = _delta(util.shape_of(operand), axes)
                operand = lax.select(eye, operand, lax.full_like(operand, 0))
                if name not in keep_names:
                    operand = sum_axes(operand, axes)
                    names = names.replace(name, "")
                else:
                    operand = sum_axes(operand, axes[:-1])
                    names = names.replace(name, "", count - 1)
        return operand, names

    def filter_singleton_dims(operand, names, other_shape, other_names):
        # A size-1 dimension whose index has a larger size in the other operand
        # broadcasts: drop it, and the index is the other operand's alone.
        shape = util.shape_of(operand)
        keep = [
            shape[i] != 1 or j == -1 or other_shape[j] == 1
            for i, j in enumerate(map(other_names.find, names))
        ]
        squeeze = tuple(i for i, k in enumerate(keep) if not k)
        if not squeeze:  # (a constant scalar operand would otherwise get a squeeze)
            return operand, names
        kept = "".join(n for n, k in zip(names, keep, strict=True) if k)
        return lax.squeeze(operand, squeeze), kept

    for operand_indices, contracted_names_set, einstr in contractions:
        contracted_names = sorted(contracted_names_set)
        input_str, result_names = einstr.split("->")
        input_names = input_str.split(",")

        if len(operand_indices) == 1:
            operand = operands.pop(operand_indices[0])
            (names,) = input_names
            counts = collections.Counter(names)
            uniques = [name for name in contracted_names if counts[name] == 1]
            operand, names = sum_uniques(operand, names, uniques)
            operand, names = sum_repeats(operand, names, counts, result_names)
        elif len(operand_indices) == 2:
            lhs, rhs = map(operands.pop, operand_indices)
            lhs_names, rhs_names = input_names
            lhs, lhs_names = filter_singleton_dims(lhs, lhs_names, util.shape_of(rhs), rhs_names)
            rhs, rhs_names = filter_singleton_dims(rhs, rhs_names, util.shape_of(lhs), lhs_names)
            lhs_counts = collections.Counter(lhs_names)
            rhs_counts = collections.Counter(rhs_names)
            lhs_uniques = [n for n in contracted_names if lhs_counts[n] == 1 and rhs_counts[n] == 0]
            lhs, lhs_names = sum_uniques(lhs, lhs_names, lhs_uniques)
            rhs_uniques = [n for n in contracted_names if rhs_counts[n] == 1 and lhs_counts[n] == 0]
            rhs, rhs_names = sum_uniques(rhs, rhs_names, rhs_uniques)
            lhs, lhs_names = sum_repeats(lhs, lhs_names, lhs_counts, result_names + rhs_names)
            rhs, rhs_names = sum_repeats(rhs, rhs_names, rhs_counts, result_names + lhs_names)

            either = set(lhs_names) | set(rhs_names)
            contracted_names = [n for n in contracted_names if n in either]
            both = set(lhs_names) & set(rhs_names)
            batch_names = "".join(n for n in result_names if n in both)
            lhs_batch = tuple(lhs_names.find(n) for n in batch_names)
            rhs_batch = tuple(rhs_names.find(n) for n in batch_names)
            lhs_cont = tuple(lhs_names.index(n) for n in contracted_names)
            rhs_cont = tuple(rhs_names.index(n) for n in contracted_names)
            deleted = batch_names + "".join(contracted_names)
            rest_lhs = _removechars(lhs_names, deleted)
            rest_rhs = _removechars(rhs_names, deleted)
            # opt_einsum tends to contract right to left, so (rhs, lhs) is the
            # order most likely to need no transpose (JAX tries it first too).
            names = batch_names + rest_rhs + rest_lhs
            if names == result_names:
                operand = _dot_general(
                    rhs,
                    lhs,
                    ((rhs_cont, lhs_cont), (rhs_batch, lhs_batch)),
                    precision,
                    preferred_element_type=preferred_element_type,
                )
            else:
                names = batch_names + rest_lhs + rest_rhs
                operand = _dot_general(
                    lhs,
                    rhs,
                    ((lhs_cont, rhs_cont), (lhs_batch, rhs_batch)),
                    precision,
                    preferred_element_type=preferred_element_type,
                )
        else:
            raise NotImplementedError(
                "mnp.einsum does not support simultaneous contraction of 3 or more "
                f"operands (step {operand_indices} of the path); pass a path of pairs "
                "to optimize"
            )

        if names != result_names:
            perm = tuple(names.index(name) for name in result_names)
            operand = lax.transpose(operand, perm)
        operands.append(operand)
    return util.cast(operands[0], preferred_element_type, output_weak_type)
