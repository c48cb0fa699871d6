"""Small shared pieces of the explanation: local gradients, fan-in, per-iteration texts."""

from __future__ import annotations

import numpy as np

from minigrad_jax._src import core
from minigrad_jax._src.jacobians import jacfwd, jacrev
from minigrad_jax._src.teaching.names import fmt_value

__all__ = ["fan_in", "local_gradient", "per_iteration", "where"]

MAX_JACOBIAN = 4096  # entries; larger local Jacobians are described, not formed


def local_gradient(eqn, invals, i):
    """(kind, summary, raw) of d eqn.outvars[*] / d eqn.invars[i] at ``invals``."""
    in_size = int(np.size(invals[i]))
    out_size = sum(int(np.prod(v.aval.shape)) for v in eqn.outvars)
    if in_size * out_size > MAX_JACOBIAN:
        shapes = [list(v.aval.shape) for v in eqn.outvars]
        return f"Jacobian (out {shapes} x in {list(np.shape(invals[i]))})", "not formed", None

    def single(x):
        full = list(invals)
        full[i] = x
        out = eqn.primitive.bind(*full, **eqn.params)
        return list(out) if eqn.primitive.multiple_results else out

    try:
        jac = jacfwd(single)(invals[i])
    except TypeError:  # a custom_vjp rule has no forward mode: its reverse rule then
        jac = jacrev(single)(invals[i])
    jacs = jac if eqn.primitive.multiple_results else [jac]
    in_shape = np.shape(invals[i])
    kinds, texts = [], []
    for v, j in zip(eqn.outvars, jacs, strict=True):
        j = np.asarray(j)
        out_shape = v.aval.shape
        if j.dtype == core.float0:
            kinds.append("zero (integer output)")
            texts.append("0")
        elif not out_shape and not in_shape:
            kinds.append("partial derivative")
            texts.append(fmt_value(j))
        elif out_shape == in_shape:
            n = int(np.prod(in_shape))
            m = j.reshape(n, n)
            diag = np.diagonal(m)
            if np.array_equal(m, np.diag(diag)):
                kinds.append("diagonal Jacobian (elementwise)")
                texts.append("diag " + fmt_value(diag.reshape(in_shape)))
            else:
                kinds.append(f"Jacobian {list(j.shape)}")
                texts.append(fmt_value(j))
        else:
            kinds.append(f"Jacobian {list(j.shape)} (out {list(out_shape)} x in {list(in_shape)})")
            texts.append(fmt_value(j))
    return "; ".join(kinds), "; ".join(texts), jac


def fan_in(scope, var) -> list:
    """[(edge key, contribution)] of every use of ``var`` that sends an adjoint back."""
    return [(k, scope.edges[k]) for k in scope.uses(var) if k in scope.edges]


def where(model, scope) -> str:
    """``scan body (step 2)``: how the report names an inner scope."""
    parent = scope.parent
    eqn = parent.jaxpr.eqns[scope.eqn_index]
    step = f"step {scope.eqn_index + 1}"
    if parent.parent is not None:
        step = f"{where(model, parent)}, {step}"
    if scope.kind == "scan":
        return f"scan body ({step}, {eqn.params['length']} iterations)"
    if scope.kind == "cond":
        return f"cond branch {scope.branch} ({step})"
    if scope.kind == "opaque":
        return f"{eqn.primitive.name} {scope.path[-1][1]} ({step}, evaluated whole)"
    return f"jit {eqn.params.get('name', '')} ({step})".replace("  ", " ")


def per_iteration(scope, x) -> str:
    a = np.asarray(x)
    if scope.loops == 0 or a.ndim == 0:
        return fmt_value(a)
    items = [compact(a[i]) for i in range(min(len(a), 6))]
    more = ", ..." if len(a) > 6 else ""
    return "[" + "; ".join(items) + more + "]"


def compact(x) -> str:
    a = np.asarray(x)
    if a.ndim == 0 and a.dtype.kind == "f":
        return f"{a.item():.4g}"
    return fmt_value(a)
