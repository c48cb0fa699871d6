"""linear_transpose: the transpose of a linear function, like jax.linear_transpose.

``fun`` is traced by partial evaluation with every input unknown: whatever
does not depend on the inputs is computed on the spot (it becomes the
jaxpr's constants) and the rest is staged into a jaxpr. That jaxpr must be
linear in its inputs, which we check equation by equation before handing it
to the same backward pass that ``vjp`` uses.
"""

from __future__ import annotations

import numpy as np
from jax import tree_util

from minigrad_jax._src import core
from minigrad_jax._src.api_util import FlatFun
from minigrad_jax._src.core import get_aval
from minigrad_jax._src.interpreters import ad, lowering
from minigrad_jax._src.interpreters.partial_eval import JaxprTrace

# Primitives with a transpose rule that are linear only in some operands:
# "one" means exactly one operand may depend on the inputs (a product);
# a tuple lists the operand positions that may.
_PARTLY_LINEAR = {
    "mul": "one",
    "dot_general": "one",
    "div": (0,),
    "select_n": "cases",
    "dynamic_slice": (0,),
    "dynamic_update_slice": (0, 1),
    "gather": (0,),
    "scatter-add": (0, 2),
    "scatter_add": (0, 2),
    "scatter-sub": (0, 2),
    "scatter-mul": "one",
    "scatter": (0, 2),
}


def linear_transpose(fun, *primals):
    """The transpose of the linear function ``fun``, like jax.linear_transpose.

    Args:
      fun: a function linear in its arguments (pytrees in and out).
      *primals: example arguments; only their shapes and dtypes are used.

    Returns:
      A function taking a cotangent shaped like ``fun``'s output and returning
      the tuple of cotangents of ``fun``'s arguments. Raises ValueError when
      ``fun`` is not linear, naming the primitive and the source line that
      makes it so. As in JAX, constant offsets (``x + 1.0``) are not detected
      and are dropped.

    Example:
      >>> import minigrad_jax as mg
      >>> import numpy as np
      >>> f_t = mg.linear_transpose(lambda x: 2.0 * x.sum(), np.ones(3, np.float32))
      >>> f_t(1.0)
      (Array([2., 2., 2.], dtype=float32),)
      >>> mg.linear_transpose(lambda x, y: x + 2.0 * y, 1.0, 1.0)(1.0)
      (Array(1., dtype=float32, weak_type=True), Array(2., dtype=float32, weak_type=True))
      >>> import minigrad_jax.numpy as mnp
      >>> mg.linear_transpose(mnp.cumsum, mnp.ones(3))(mnp.array([1.0, 2.0, 3.0]))
      (Array([6., 5., 3.], dtype=float32),)
    """
    flat, in_tree = tree_util.tree_flatten(primals)
    in_avals = [core.shaped_abstractify(x) for x in flat]
    flat_fun = FlatFun(lambda *a: fun(*a), tree_util.tree_structure((primals, {})))
    closed = _trace_linear(flat_fun, in_avals)
    out_tree, out_avals = flat_fun.out_tree, closed.out_avals
    _check_dtypes(in_avals, out_avals)
    _check_linear(closed.jaxpr)

    def transposed(out_cotangent):
        flat_ct, ct_tree = tree_util.tree_flatten(out_cotangent)
        if ct_tree != out_tree:
            raise TypeError(
                "linear_transpose: cotangent tree does not match the function's output, "
                f"expected {out_tree} but got {ct_tree}"
            )
        flat_ct = [_check_ct(c, a) for c, a in zip(flat_ct, out_avals, strict=True)]
        dummies = [ad.UndefinedPrimal(a) for a in in_avals]
        cts = ad.backward_pass(closed.jaxpr, closed.consts, dummies, flat_ct)
        cts = [
            ad.zeros_like_aval(a) if type(c) is ad.Zero else c
            for c, a in zip(cts, in_avals, strict=True)
        ]
        # always arrays, as jax.linear_transpose's are
        return tree_util.tree_unflatten(in_tree, lowering.as_jax_arrays(cts))

    return transposed


def _trace_linear(flat_fun, in_avals):
    """Partial evaluation with all inputs unknown: the known part runs now."""
    pe = JaxprTrace(core.current_trace(), False, "linear_transpose", core.user_frame_info())
    args = [pe.new_arg(a) for a in in_avals]
    with core.new_trace(pe):
        outs = flat_fun(*args)
    return pe.to_jaxpr(outs, dce=True)


def _check_dtypes(in_avals, out_avals):
    dtypes = [a.dtype for a in in_avals + out_avals]
    if not (
        all(core.is_float(d) for d in dtypes) or all(np.issubdtype(d, np.integer) for d in dtypes)
    ):
        raise TypeError(
            "linear_transpose only supports [float or complex] -> [float or complex], and "
            f"integer -> integer functions, but got {[a.dtype.name for a in in_avals]} -> "
            f"{[a.dtype.name for a in out_avals]}."
        )


def _check_linear(jaxpr):
    linear = set(jaxpr.invars)
    for eqn in jaxpr.eqns:
        lin = [i for i, v in enumerate(eqn.invars) if v in linear]
        if lin:
            _check_eqn(eqn, lin)
            linear.update(eqn.outvars)


def _check_eqn(eqn, lin):
    name = eqn.primitive.name
    at = f" at {eqn.source_info}" if eqn.source_info is not None else ""
    if eqn.primitive not in ad.transpose_rules:
        raise ValueError(
            f"linear_transpose: the function is not linear in its inputs: primitive "
            f"'{name}'{at} is applied to a value that depends on them, and '{name}' is not "
            "a linear primitive (it has no transpose rule)."
        )
    allowed = _PARTLY_LINEAR.get(name)
    if allowed == "one":
        ok = len(lin) == 1
    elif allowed == "cases":
        ok = 0 not in lin
    else:
        ok = allowed is None or set(lin) <= set(allowed)
    if not ok:
        raise ValueError(
            f"linear_transpose: the function is not linear in its inputs: primitive "
            f"'{name}'{at} combines operands {lin} that all depend on them (a product of "
            "inputs is not linear)"
            if allowed == "one"
            else f"linear_transpose: the function is not linear in its inputs: operand(s) "
            f"{lin} of primitive '{name}'{at} depend on them, but '{name}' is linear only "
            "in its other operands."
        )


def _check_ct(ct, aval):
    if core.is_python_scalar(ct):
        # A Python scalar is itself weakly typed; keep it so for a weak output.
        return ct if aval.weak_type else np.asarray(ct, aval.dtype)
    ca = get_aval(ct)
    if ca.shape != aval.shape or ca.dtype != aval.dtype:
        raise TypeError(
            "linear_transpose: cotangent type does not match the function's output, expected "
            f"{aval.str_short()} but got {ca.str_short()}"
        )
    return ct
