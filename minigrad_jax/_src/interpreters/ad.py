"""Forward mode (JVP) and transposition, the two halves of reverse mode.

``jvp_rules[prim](primals, tangents, **params) -> (primal_out, tangent_out)``
runs with the JVP trace's parent current. Tangents may be symbolic ``Zero``s,
which cost nothing. ``transpose_rules[prim](ct, *args, **params)`` gets the
output cotangent and the inputs, with the linear ones replaced by
``UndefinedPrimal`` markers, and returns one cotangent (or None) per input.
"""

from __future__ import annotations

import jax
import numpy as np

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive, ShapedArray, Tracer
from minigrad_jax._src.interpreters import batching, debug_nans, lowering
from minigrad_jax._src.interpreters.array_ops import ops
from minigrad_jax._src.ir import Literal, Var

jvp_rules: dict = {}
transpose_rules: dict = {}

# Primitives with integer/boolean outputs or piecewise-constant values: their
# tangent is zero everywhere, so they need no JVP rule of their own.
non_differentiable: set = set()


class Zero:
    """A symbolic zero tangent or cotangent of the given abstract value."""

    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"Zero({self.aval.str_short()})"


class UndefinedPrimal:
    """Marks a linear input of an equation being transposed."""

    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"UndefinedPrimal({self.aval.str_short()})"


def is_undefined(x) -> bool:
    return type(x) is UndefinedPrimal


def tangent_aval(aval: ShapedArray) -> ShapedArray:
    """JAX's tangent space: floats keep their dtype, ints and bools get float0."""
    if core.is_float(aval.dtype):
        return aval
    return ShapedArray(aval.shape, core.float0, False)


def zeros_like_aval(aval: ShapedArray):
    if aval.dtype == core.float0:
        return np.zeros(aval.shape, core.float0)
    if aval.weak_type:  # JAX's zeros keep the value's weak type
        return ops.full(aval.shape, core.weak_scalar(0, aval.dtype))
    return ops.full(aval.shape, 0, aval.dtype)


def instantiate(t):
    return zeros_like_aval(t.aval) if type(t) is Zero else t


add_any_p = Primitive("add_any")  # JAX calls this add_jaxvals_p; it prints as add_any


def add_tangents(x, y):
    if type(x) is Zero:
        return y
    if type(y) is Zero:
        return x
    return add_any_p.bind(x, y)


copy_p = Primitive("copy")


# ---------------------------------------------------------------------------
# the JVP trace


class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent", "_aval")

    def __init__(self, trace, primal, tangent):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent
        self._aval = None

    @property
    def aval(self):
        a = self._aval
        if a is None:  # the primal's, worked out once (rules ask for it several times)
            a = self._aval = core.get_aval(self.primal)
        return a

    def concrete_value(self):
        p = self.primal
        return p.concrete_value() if isinstance(p, Tracer) else p

    def _const_inner(self):
        return self.primal if type(self.tangent) is Zero else core.NOT_CONST


class JVPTrace(core.Trace):
    __slots__ = ()
    eager_autodiff = True

    def process_primitive(self, prim, args, params):
        primals, tangents, nonzero = [], [], False
        for a in args:
            if isinstance(a, JVPTracer) and a._trace is self:
                primals.append(a.primal)
                tangents.append(a.tangent)
                nonzero = nonzero or type(a.tangent) is not Zero
            else:
                primals.append(self.check_foreign(a) if isinstance(a, Tracer) else a)
                tangents.append(None)
        if not nonzero:
            out = core.bind_in(self.parent, prim, primals, params)
            if prim.multiple_results:
                return [self.constant(o) for o in out]
            return self.constant(out)
        tangents = [
            Zero(tangent_aval(core.get_aval(p))) if t is None else t
            for p, t in zip(primals, tangents)
        ]
        rule = jvp_rules.get(prim)
        if rule is None:
            raise NotImplementedError(f"Differentiation rule for '{prim.name}' not implemented")
        if core.checking_floats:  # debug_nans: the equations made here record their origin
            primal_out, tangent_out = debug_nans.run_jvp_rule(
                prim, self.parent, rule, primals, tangents, params
            )
        else:
            primal_out, tangent_out = core.call_in(self.parent, rule, primals, tangents, **params)
        if prim.multiple_results:
            return [self.wrap(p, t) for p, t in zip(primal_out, tangent_out)]
        return self.wrap(primal_out, tangent_out)

    def wrap(self, primal, tangent):
        if type(tangent) is Zero:
            return self.constant(primal)
        return JVPTracer(self, primal, tangent)

    def constant(self, primal):
        """A value of the trace below as one of ours, with a symbolic zero tangent."""
        return JVPTracer(self, primal, Zero(tangent_aval(core.get_aval(primal))))

    def lift(self, x):
        return self.constant(x)


def make_zero_jvp(prim):
    def rule(primals, tangents, **params):
        out = prim.bind(*primals, **params)
        outs = out if prim.multiple_results else [out]
        zeros = [Zero(tangent_aval(core.get_aval(o))) for o in outs]
        return out, (zeros if prim.multiple_results else zeros[0])

    return rule


def defnondiff(prim):
    non_differentiable.add(prim)
    jvp_rules[prim] = make_zero_jvp(prim)


def not_implemented_jvp(name):
    """The JVP rule of a primitive JAX gives none: differentiating it raises JAX's error."""

    def rule(primals, tangents, **params):
        raise NotImplementedError(f"Differentiation rule for '{name}' not implemented")

    return rule


def jvp_flat(fun, primals, tangents, source_info=None):
    """Run ``fun`` (flat -> flat list) under a new JVP trace."""
    trace = JVPTrace(core.current_trace(), "jvp", source_info)
    args = [JVPTracer(trace, p, t) if type(t) is not Zero else p for p, t in zip(primals, tangents)]
    with core.new_trace(trace):
        outs = fun(*args)
    return unpack_outputs(trace, outs)


def unpack_outputs(trace, outs):
    """(primals, tangents) of a JVP trace's outputs; a Zero where one carries none."""
    out_p, out_t = [], []
    for o in outs:
        if isinstance(o, JVPTracer) and o._trace is trace:
            out_p.append(o.primal)
            out_t.append(o.tangent)
        else:
            out_p.append(o)
            out_t.append(Zero(tangent_aval(core.get_aval(o))))
    return out_p, out_t


# ---------------------------------------------------------------------------
# rule combinators


def defjvp(prim, *jvp_fns):
    """One function per input: ``fn(g, *primals, **params)`` -> its tangent term."""

    def rule(primals, tangents, **params):
        out = prim.bind(*primals, **params)
        t_out = None
        for fn, t in zip(jvp_fns, tangents):
            if fn is not None and type(t) is not Zero:
                term = fn(t, *primals, **params)
                t_out = term if t_out is None else add_tangents(t_out, term)
        return out, _zero_of(out) if t_out is None else t_out

    jvp_rules[prim] = rule


def _zero_of(out):
    return Zero(tangent_aval(core.get_aval(out)))


def defbilinear(prim):
    """The JVP of a primitive linear in each of its two operands: ``f(dx, y) + f(x, dy)``."""
    defjvp(
        prim,
        lambda g, x, y, **p: prim.bind(g, y, **p),
        lambda g, x, y, **p: prim.bind(x, g, **p),
    )


def defjvp2(prim, *jvp_fns):
    """Like defjvp, but each function also gets the output: ``fn(g, ans, *primals)``."""

    def rule(primals, tangents, **params):
        out = prim.bind(*primals, **params)
        t_out = None
        for fn, t in zip(jvp_fns, tangents):
            if fn is not None and type(t) is not Zero:
                term = fn(t, out, *primals, **params)
                t_out = term if t_out is None else add_tangents(t_out, term)
        return out, _zero_of(out) if t_out is None else t_out

    jvp_rules[prim] = rule


def deflinear(prim, transpose_rule):
    """A primitive linear in all its inputs: its JVP is itself on the tangents."""

    def rule(primals, tangents, **params):
        out = prim.bind(*primals, **params)
        if all(type(t) is Zero for t in tangents):
            return out, Zero(tangent_aval(core.get_aval(out)))
        return out, prim.bind(*map(instantiate, tangents), **params)

    jvp_rules[prim] = rule
    transpose_rules[prim] = transpose_rule


# ---------------------------------------------------------------------------
# transposition: the backward pass over a linear jaxpr


def backward_pass(jaxpr, consts, args, cts_out):
    """Transpose ``jaxpr`` with respect to the ``UndefinedPrimal`` entries of ``args``.

    Non-linear equations (those reading no linear variable) are evaluated
    forward first; the linear ones are then walked in reverse, each rule
    turning output cotangents into input cotangents, summed with add_any
    where a variable has several uses. Returns one cotangent per input
    (``Zero`` where nothing flowed, None for non-linear inputs).
    """
    primal_env = dict(zip(jaxpr.constvars, consts))
    for v, a in zip(jaxpr.invars, args):
        if not is_undefined(a):
            primal_env[v] = a

    def is_known(a):
        return type(a) is Literal or a in primal_env

    def read(a):
        return a.val if type(a) is Literal else primal_env.get(a, None)

    linear_eqns = []
    for eqn in jaxpr.eqns:
        if all(map(is_known, eqn.invars)):
            outs = eqn.primitive.bind(*map(read, eqn.invars), **eqn.params)
            outs = outs if eqn.primitive.multiple_results else [outs]
            primal_env.update(zip(eqn.outvars, outs))
        else:
            linear_eqns.append(eqn)

    ct_env = {}
    src = core._state.src
    checking = core.checking_floats
    via_select = set()  # debug_nans: variables whose cotangent came through a select_n

    def write_ct(v, ct):
        if type(v) is Var and v not in primal_env and ct is not None and type(ct) is not Zero:
            ct_env[v] = add_tangents(ct_env[v], ct) if v in ct_env else ct

    for v, ct in zip(jaxpr.outvars, cts_out):
        write_ct(v, ct)
    for eqn in reversed(linear_eqns):
        cts = [_or_zero(ct_env.pop(v, None), v.aval) for v in eqn.outvars]
        if all(type(c) is Zero for c in cts):
            continue
        invals = [read(a) if is_known(a) else UndefinedPrimal(a.aval) for a in eqn.invars]
        rule = transpose_rules.get(eqn.primitive)
        if rule is None:
            raise NotImplementedError(
                f"Transpose rule (for reverse-mode differentiation) "
                f"for '{eqn.primitive.name}' not implemented"
            )
        ct_arg = cts if eqn.primitive.multiple_results else cts[0]
        core._state.src = eqn.source_info or src  # the transposed equations keep its line
        try:
            if checking:
                sel = any(v in via_select for v in eqn.outvars)
                cts_in = debug_nans.run_transpose_rule(eqn, rule, ct_arg, invals, sel)
                if sel or eqn.primitive.name == "select_n":
                    via_select.update(v for v in eqn.invars if type(v) is Var)
            else:
                cts_in = rule(ct_arg, *invals, **eqn.params)
        finally:
            core._state.src = src
        for v, ct in zip(eqn.invars, cts_in):
            write_ct(v, ct)
    return [
        _or_zero(ct_env.get(v), v.aval) if is_undefined(a) else None
        for v, a in zip(jaxpr.invars, args)
    ]


def _or_zero(ct, aval):
    return Zero(aval) if ct is None else ct


# add_any and copy: the accumulation primitive and the identity.


def _add_any_transpose(ct, x, y):
    return [ct, ct]


def _copy_transpose(ct, x):
    return [copy_p.bind(ct)]


def _add_any_abstract(x, y):
    if x.shape != y.shape and x.ndim and y.ndim:
        raise TypeError(f"add_any of different shapes {x.shape} and {y.shape}")
    return x if x.ndim >= y.ndim else y


core.abstract_eval_rules[add_any_p] = _add_any_abstract
core.abstract_eval_rules[copy_p] = lambda x: x
deflinear(add_any_p, _add_any_transpose)
deflinear(copy_p, _copy_transpose)


def _add_any_batch(axis_size, args, dims):
    # Both terms are tangents of one value: give the unmapped one the batch axis
    # so the sum has the full shape (never a scalar beside a batched array).
    x, y = args
    dx, dy = dims
    d = dx if dx is not None else dy
    x = batching.matchaxis(x, dx, d, axis_size) if dx != d else x
    y = batching.matchaxis(y, dy, d, axis_size) if dy != d else y
    return add_any_p.bind(x, y), d


lowering.register(add_any_p, jax.lax.add)
lowering.register(copy_p, lambda x: jax.numpy.array(x, copy=True))
batching.batch_rules[add_any_p] = _add_any_batch
batching.defvectorized(copy_p)
