"""debug_nans / debug_infs: the first primitive that makes a NaN or an Inf, and why.

With ``mg.config.update("debug_nans", True)`` (or ``"debug_infs"``) every primitive
evaluated eagerly has its outputs checked (``core.float_check``, called by the
EvalTrace). A primitive that carries a jaxpr (a jit, a scan, a checkpoint) runs
compiled; when its outputs hold a NaN it is re-run *equation by equation*
(``deopt_rules``), so the error names the primitive inside it that made the NaN
and that equation's source line, as JAX's de-optimized re-run does.

Beyond JAX, the error says where a NaN of the **backward pass** came from. While a
flag is on, each JVP rule runs with an ``Origin`` naming the forward primitive
and the user's line, and every equation staged meanwhile records it
(``JaxprEqn.origin``); the backward pass transposes each linear equation under
an Origin naming that equation and, through its own origin, the forward
primitive whose derivative it is. A NaN made by ``0 * inf`` in the backward pass
whose zero cotangent came through a ``select_n`` is the where-trick, and the
message suggests the double-where fix.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from minigrad_jax._src import core
from minigrad_jax._src.ir import ClosedJaxpr, Literal

# prim -> rule(args, params): re-run an equation that carries a jaxpr, one inner
# equation at a time, so that the check below meets the inner culprit. Registered
# with the primitive's other rules (``higher_order.register(..., deopt=)``); a call
# primitive's is ``call_deopt``.
deopt_rules: dict = {}


class Origin:
    """Which derivative rule made an equation: the JVP of a forward primitive, or
    the transpose of a linear equation (whose own origin names the forward one)."""

    __slots__ = ("kind", "prim", "source_info", "parent", "via_select")

    def __init__(self, kind, prim, source_info, parent=None, via_select=False):
        self.kind = kind  # "jvp" or "transpose"
        self.prim = prim
        self.source_info = source_info
        self.parent = parent
        self.via_select = via_select  # the cotangent came through a select_n (a where)

    def forward(self):
        """The forward primitive and line whose derivative this is (innermost JVP)."""
        o = self
        while o is not None and o.kind != "jvp":
            o = o.parent
        return o

    def backward(self):
        """The transpose this is part of, if any."""
        o = self
        while o is not None and o.kind != "transpose":
            o = o.parent
        return o


def run_jvp_rule(prim, parent, rule, primals, tangents, params):
    """Run ``prim``'s JVP rule with an Origin naming ``prim`` and the user's line."""
    st = core._state
    prev = st.origin
    st.origin = Origin("jvp", prim, core.user_frame_info(), prev)
    try:
        return core.call_in(parent, rule, primals, tangents, **params)
    finally:
        st.origin = prev


def run_transpose_rule(eqn, rule, ct, invals, via_select):
    """Transpose the linear equation ``eqn`` with an Origin naming it."""
    st = core._state
    prev = st.origin
    via_select = via_select or (prev is not None and prev.via_select)
    st.origin = Origin("transpose", eqn.primitive, eqn.source_info, eqn.origin, via_select)
    try:
        return rule(ct, *invals, **eqn.params)
    finally:
        st.origin = prev


def select_seen():
    """Whether the backward pass now running was entered through a select_n's transpose."""
    o = core._state.origin
    return o is not None and o.via_select


# ---------------------------------------------------------------------------
# the check


def _float_leaves(out):
    outs = out if isinstance(out, (list, tuple)) else [out]
    for o in outs:
        dt = getattr(o, "dtype", None)
        if dt is not None and not core.is_extended(dt) and dt != core.float0 and core.is_float(dt):
            yield o


def _bad_kind(out):
    """ "nan" or "inf" if an output holds one that a flag watches, else None."""
    nans, infs = core.float_kinds
    for o in _float_leaves(out):
        if nans and bool(jnp.isnan(o).any()):
            return "nan"
        if infs and bool(jnp.isinf(o).any()):
            return "inf"
    return None


def check(prim, args, params, out):
    """``core.float_check``: raise FloatingPointError if ``out`` has a NaN/Inf."""
    kind = _bad_kind(out)
    if kind is None:
        return
    rule = deopt_rules.get(prim)
    if rule is not None:
        rule(args, params)  # raises at the inner culprit when it finds one
    raise FloatingPointError(message(kind, prim, args, out))


def call_deopt(key):
    """The re-run rule of a call primitive: evaluate its ``params[key]`` ClosedJaxpr."""

    def rule(args, params):
        j = params[key]
        if isinstance(j, ClosedJaxpr):
            eval_deopt(j, args)

    return rule


def eval_deopt(closed: ClosedJaxpr, args):
    """Evaluate ``closed`` eagerly, one equation at a time, each checked."""
    return eval_jaxpr_deopt(closed.jaxpr, closed.consts, args)


def eval_jaxpr_deopt(jaxpr, consts, args):
    env = dict(zip(jaxpr.constvars, consts))
    env.update(zip(jaxpr.invars, args))

    def read(a):
        return a.val if type(a) is Literal else env[a]

    st = core._state
    for eqn in jaxpr.eqns:
        prev_eqn, prev_origin = st.eqn, st.origin
        st.eqn, st.origin = eqn, eqn.origin
        try:
            outs = eqn.primitive.bind(*map(read, eqn.invars), **eqn.params)
        finally:
            st.eqn, st.origin = prev_eqn, prev_origin
        env.update(zip(eqn.outvars, outs if eqn.primitive.multiple_results else [outs]))
    return [read(v) for v in jaxpr.outvars]


class Where:
    """Context for a re-run loop: ``with Where("iteration 3 of scan"):``."""

    __slots__ = ("text",)
    stack: list = []

    def __init__(self, text):
        self.text = text

    def __enter__(self):
        Where.stack.append(self.text)

    def __exit__(self, *exc):
        Where.stack.pop()


def check_outputs(outs, rerun, what):
    """At the end of a compiled call (``mg.jit``): if ``outs`` hold a NaN/Inf, ``rerun()``
    equation by equation (it raises at the culprit); else raise naming ``what``."""
    kind = _bad_kind(jax.tree_util.tree_leaves(outs))
    if kind is None:
        return
    rerun()
    raise FloatingPointError(
        f"invalid value ({kind}) encountered in the output of {what}; re-running it equation "
        "by equation did not reproduce it"
    )


# ---------------------------------------------------------------------------
# the message


def _summary(x) -> str:
    aval = core.get_aval(x)
    try:
        a = np.asarray(x)
    except Exception:  # a value with no host copy (a key): its type says enough
        return aval.str_short()
    if a.dtype.kind not in "fciub" or a.size == 0:
        return aval.str_short()
    if a.ndim == 0:
        return f"{aval.str_short()} = {a.item()!r}"
    text = f"{aval.str_short()}"
    if a.dtype.kind in "fc":
        finite = a[np.isfinite(a)]
        nan, inf = int(np.isnan(a).sum()), int(np.isinf(a).sum())
        parts = []
        if finite.size:
            parts.append(f"min {finite.min().real:.4g}, max {finite.max().real:.4g}")
        if nan:
            parts.append(f"{nan} nan")
        if inf:
            parts.append(f"{inf} inf")
        zeros = int((a == 0).sum())
        if zeros:
            parts.append(f"{zeros} zero")
        return f"{text} ({', '.join(parts)})"
    return f"{text} (min {a.min()}, max {a.max()})"


def _zero_times_inf(prim, args):
    """For a mul/div that made a NaN: is it 0 * inf (or 0 / 0)? Returns the text or None."""
    if prim.name not in ("mul", "div") or len(args) != 2:
        return None
    try:
        a, b = (np.asarray(x) for x in args)
    except Exception:
        return None
    if prim.name == "mul":
        a, b = np.broadcast_arrays(a, b)
        hit = ((a == 0) & np.isinf(b)) | (np.isinf(a) & (b == 0))
        return "0 * inf" if hit.any() else None
    a, b = np.broadcast_arrays(a, b)
    if ((a == 0) & (b == 0)).any():
        return "0 / 0"
    if (np.isinf(a) & np.isinf(b)).any():
        return "inf / inf"
    return None


def message(kind, prim, args, out) -> str:
    st = core._state
    eqn = st.eqn if st.eqn is not None and st.eqn.primitive is prim else None
    src = eqn.source_info if eqn is not None else core.user_frame_info()
    origin = st.origin
    lines = [f"invalid value ({kind}) encountered in {prim.name}"]
    ins = ", ".join(_summary(a) for a in args)
    lines.append(f"  {prim.name}({ins})")
    for w in reversed(Where.stack):
        lines.append(f"  in {w}")
    back = origin.backward() if origin is not None else None
    fwd = origin.forward() if origin is not None else None
    if back is None and fwd is not None and fwd.prim is prim:
        src, fwd = fwd.source_info, None  # the primal value of the rule's own primitive
    if back is not None:
        text = f"  in the backward pass: the transpose of `{back.prim.name}`"
        if fwd is not None:
            text += f", a term of the derivative of `{fwd.prim.name}` at {fwd.source_info}"
        elif back.source_info is not None:
            text += f" (recorded at {back.source_info})"
        lines.append(text)
    elif fwd is not None:
        lines.append(f"  in the derivative of `{fwd.prim.name}` at {fwd.source_info}")
    elif src is not None:
        lines.append(f"  at {src}")
    how = _zero_times_inf(prim, args) if kind == "nan" else None
    if how is not None and back is not None and fwd is not None:
        f = fwd.prim.name
        lines.append(
            f"  The NaN is {how}: the cotangent reaching this point is 0, and the derivative "
            f"of {f} here is infinite (or undefined)."
        )
        if back.via_select:
            lines.append(
                f"  This is the where-trick: mnp.where(x > 0, {f}(x), 0.) still differentiates "
                f"{f} at the points the where discards, and 0 times an infinite derivative is "
                "NaN. Use the double where, so the discarded branch only sees safe values: "
                f"mnp.where(x > 0, {f}(mnp.where(x > 0, x, 1.)), 0.)"
            )
    return "\n".join(lines)


core.float_check = check
