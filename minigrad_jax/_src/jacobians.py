"""jacfwd and jacrev: whole Jacobians from one *batched* jvp or vjp.

As in JAX, neither loops in Python over basis vectors. ``jacfwd`` pushes the
whole standard basis of the inputs through one ``vmap``-ed jvp (each basis
vector is one row of the batch); ``jacrev`` pulls the standard basis of the
outputs back through one ``vmap``-ed vjp. The batched result is then split
and reshaped into JAX's output structure: the output pytree outside, the
input pytree (or the tuple of ``argnums``) inside, each leaf of shape
``out_leaf.shape + in_leaf.shape``.
"""

from __future__ import annotations

import functools

import numpy as np
from jax import tree_util

from minigrad_jax._src import core
from minigrad_jax._src.api import _check_callable, _is_complex, jvp, vjp, vmap
from minigrad_jax._src.api_util import normalize_argnums, wraps
from minigrad_jax._src.core import get_aval
from minigrad_jax._src.lax.base import convert_element_type, reshape
from minigrad_jax._src.lax.elementwise import real
from minigrad_jax._src.lax.structural import slice_in_dim
from minigrad_jax._src.traceback_util import api_boundary


@api_boundary
def jacfwd(fun, argnums=0, has_aux=False, holomorphic=False):
    """The Jacobian of ``fun`` by forward mode, like jax.jacfwd.

    Args:
      fun: the function to differentiate (pytrees in and out).
      argnums: int or tuple of ints: the positional arguments to differentiate.
      has_aux: ``fun`` returns ``(output, aux)``; aux is returned as is.

    Returns:
      A function of the same arguments returning the Jacobian (and aux):
      output tree outside, input tree inside, leaves ``out.shape + in.shape``.

    Example:
      >>> import minigrad_jax as mg
      >>> import numpy as np
      >>> mg.jacfwd(lambda x: x * x)(np.array([1.0, 2.0], np.float32))
      Array([[2., 0.],
             [0., 4.]], dtype=float32)
      >>> mg.jacfwd(lambda x, y: x * y, argnums=(0, 1))(2.0, 3.0)
      (Array(3., dtype=float32, weak_type=True), Array(2., dtype=float32, weak_type=True))
    """
    _check_callable(fun)

    @wraps(fun)
    @api_boundary
    def jacfun(*args, **kwargs):
        f_partial, dyn_args = _argnums_partial(fun, argnums, args, kwargs, "jacfwd")
        for i, x in _numbered_leaves(argnums, dyn_args):
            _check_input_jacfwd(x, i, holomorphic)
        push = functools.partial(jvp, f_partial, dyn_args, has_aux=has_aux)
        out_axes = (None, -1, None) if has_aux else (None, -1)
        res = vmap(lambda basis: push(basis), out_axes=out_axes)(_std_basis(dyn_args))
        y, jac = res[0], res[1]
        if holomorphic:
            for leaf in tree_util.tree_leaves(y):
                _check_output_holomorphic("jacfwd", leaf)
        example = dyn_args[0] if isinstance(argnums, int) else dyn_args
        jac_tree = tree_util.tree_map(functools.partial(_jacfwd_unravel, example), y, jac)
        return (jac_tree, res[2]) if has_aux else jac_tree

    return jacfun


@api_boundary
def jacrev(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False):
    """The Jacobian of ``fun`` by reverse mode, like jax.jacrev.

    Args:
      fun: the function to differentiate (pytrees in and out).
      argnums: int or tuple of ints: the positional arguments to differentiate.
      has_aux: ``fun`` returns ``(output, aux)``; aux is returned as is.
      allow_int: allow integer inputs (their Jacobian is float0 zeros).

    Returns:
      A function of the same arguments returning the Jacobian (and aux):
      output tree outside, input tree inside, leaves ``out.shape + in.shape``.

    Example:
      >>> import minigrad_jax as mg
      >>> import numpy as np
      >>> mg.jacrev(lambda x: x * x)(np.array([1.0, 2.0], np.float32))
      Array([[2., 0.],
             [0., 4.]], dtype=float32)
      >>> import minigrad_jax.numpy as mnp
      >>> mg.jacrev(lambda x: mnp.sin(x) * 2.0)(mnp.array([0.0, 1.0]))
      Array([[2.       , 0.       ],
             [0.       , 1.0806046]], dtype=float32)
    """
    _check_callable(fun)

    @wraps(fun)
    @api_boundary
    def jacfun(*args, **kwargs):
        f_partial, dyn_args = _argnums_partial(fun, argnums, args, kwargs, "jacrev")
        for i, x in _numbered_leaves(argnums, dyn_args):
            _check_input_jacrev(x, i, allow_int, holomorphic)
        res = vjp(f_partial, *dyn_args, has_aux=has_aux)
        y, pullback = res[0], res[1]
        for leaf in tree_util.tree_leaves(y):
            _check_output_jacrev(leaf, holomorphic)
        jac = vmap(pullback)(_std_basis(y))
        jac = jac[0] if isinstance(argnums, int) else jac
        example = dyn_args[0] if isinstance(argnums, int) else dyn_args
        jac_tree = tree_util.tree_map(functools.partial(_jacrev_unravel, y), example, jac)
        jac_tree = tree_util.tree_transpose(
            tree_util.tree_structure(example), tree_util.tree_structure(y), jac_tree
        )
        return (jac_tree, res[2]) if has_aux else jac_tree

    return jacfun


@api_boundary
def hessian(fun, argnums=0, has_aux=False, holomorphic=False):
    """jacfwd(jacrev(fun)), as in JAX.

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> mg.hessian(lambda x: x ** 3)(2.0)
      Array(12., dtype=float32, weak_type=True)
      >>> mg.hessian(lambda x: mnp.sum(x ** 3))(mnp.array([1.0, 2.0]))
      Array([[ 6.,  0.],
             [ 0., 12.]], dtype=float32)
    """
    inner = jacrev(fun, argnums, has_aux, holomorphic)
    return jacfwd(inner, argnums, has_aux, holomorphic)


# ---------------------------------------------------------------------------
# arguments and dtype checks (JAX's messages, plus the argument's position)


def _argnums_partial(fun, argnums, args, kwargs, name):
    _, nums = normalize_argnums(argnums, len(args), name)

    def f_partial(*dyn):
        full = list(args)
        for i, a in zip(nums, dyn, strict=True):
            full[i] = a
        return fun(*full, **kwargs)

    return f_partial, tuple(args[i] for i in nums)


def _numbered_leaves(argnums, dyn_args):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i, a in zip(nums, dyn_args, strict=True):
        for leaf in tree_util.tree_leaves(a):
            yield i, leaf


def _check_input_jacfwd(x, i, holomorphic):
    dtype = get_aval(x).dtype
    if holomorphic:
        if not _is_complex(dtype):
            raise TypeError(
                "jacfwd with holomorphic=True requires inputs with complex dtype, "
                f"but got {dtype.name} for argument {i}."
            )
    elif not np.issubdtype(dtype, np.floating):
        raise TypeError(
            f"jacfwd requires real-valued inputs (input dtype that is a sub-dtype of "
            f"np.floating), but got {dtype.name} for argument {i}. For holomorphic "
            "differentiation, pass holomorphic=True. For differentiation of "
            "non-holomorphic functions involving complex inputs or integer inputs, "
            "use jvp directly."
        )


def _check_output_holomorphic(name, y):
    dtype = get_aval(y).dtype
    if not _is_complex(dtype):
        raise TypeError(
            f"{name} with holomorphic=True requires outputs with complex dtype, "
            f"but got {dtype.name}."
        )


def _check_input_jacrev(x, i, allow_int, holomorphic):
    dtype = get_aval(x).dtype
    if holomorphic and not _is_complex(dtype):
        raise TypeError(
            "jacrev with holomorphic=True requires inputs with complex dtype, "
            f"but got {dtype.name} for argument {i}."
        )
    if not core.is_float(dtype) and not allow_int:
        raise TypeError(
            f"jacrev requires real- or complex-valued inputs (input dtype that is a sub-dtype "
            f"of np.inexact), but got {dtype.name} for argument {i}. If you want to use "
            "Boolean- or integer-valued inputs, use vjp or set allow_int to True."
        )


def _check_output_jacrev(y, holomorphic):
    dtype = get_aval(y).dtype
    if holomorphic:
        _check_output_holomorphic("jacrev", y)
        return
    if _is_complex(dtype):
        raise TypeError(
            f"jacrev requires real-valued outputs (output dtype that is a sub-dtype of "
            f"np.floating), but got {dtype.name}. For holomorphic differentiation, pass "
            "holomorphic=True. For differentiation of non-holomorphic functions involving "
            "complex outputs, use vjp directly."
        )
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(
            f"jacrev requires real-valued outputs (output dtype that is a sub-dtype of "
            f"np.floating), but got {dtype.name}. For differentiation of functions with "
            "integer outputs, use vjp directly."
        )


# ---------------------------------------------------------------------------
# the standard basis and unravelling the batched result


def _std_basis(tree):
    """Each leaf gets shape ``(N, *leaf.shape)``; stacked, they are the identity of size N.

    The basis depends only on shapes and dtypes, so it is a numpy constant even
    when the leaves are tracers (it becomes one constant in a jaxpr).
    """
    leaves, treedef = tree_util.tree_flatten(tree)
    avals = [get_aval(x) for x in leaves]
    n = sum(a.size for a in avals)
    eye = np.eye(n, dtype=np.float64)
    parts = np.split(eye, np.cumsum([a.size for a in avals[:-1]]).astype(int), axis=1)
    basis = [p.reshape((n, *a.shape)).astype(a.dtype) for p, a in zip(parts, avals, strict=True)]
    return tree_util.tree_unflatten(treedef, basis)


def _jacfwd_unravel(inputs, out_leaf, arr):
    """``arr`` is ``(*out.shape, N)``: split N into the input leaves."""
    return _unravel(inputs, get_aval(arr).ndim - 1, get_aval(out_leaf), arr)


def _jacrev_unravel(outputs, in_leaf, arr):
    """``arr`` is ``(N, *in.shape)``: split N into the output leaves."""
    return _unravel(outputs, 0, get_aval(in_leaf), arr)


def _unravel(tree, axis, example, arr):
    leaves, treedef = tree_util.tree_flatten(tree)
    avals = [get_aval(x) for x in leaves]
    shape = get_aval(arr).shape
    parts = _split(arr, [a.size for a in avals], axis)
    out = []
    for part, a in zip(parts, avals, strict=True):
        part = reshape(part, shape[:axis] + a.shape + shape[axis + 1 :])
        # JAX's _possible_downcast: the result takes the example's dtype and weak
        # type, a complex part becoming its real part for a real example.
        if _is_complex(get_aval(part).dtype) and not _is_complex(example.dtype):
            part = real(part)
        part = convert_element_type(part, example.dtype, example.weak_type)
        out.append(part)
    return tree_util.tree_unflatten(treedef, out)


def _split(x, sizes, axis):
    """Split ``x`` along ``axis`` into pieces of the given sizes (JAX uses lax.split)."""
    if len(sizes) == 1:
        return [x]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
    return [
        slice_in_dim(x, int(s), int(s + n), axis=axis) for s, n in zip(starts, sizes, strict=True)
    ]
