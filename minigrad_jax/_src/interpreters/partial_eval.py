"""Staging into jaxprs: make_jaxpr's trace and partial evaluation.

One trace class does both jobs. With ``stage_all=True`` every primitive is
recorded as an equation (make_jaxpr, jit). With ``stage_all=False`` a
primitive whose inputs hold none of this trace's tracers is *known*: it is
forwarded to the parent trace and computed there, and only the *unknown* part
is recorded. That is partial evaluation, and it is how ``linearize`` splits a
JVP into its primal computation and its linear tangent jaxpr: the tangent
inputs are the unknowns, so the known values the recorded equations read are
exactly the residuals, which become the jaxpr's constvars.
"""

from __future__ import annotations

import jax
import numpy as np

from minigrad_jax._src import core
from minigrad_jax._src.core import Tracer, bind_in, get_aval
from minigrad_jax._src.ir import ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, eval_jaxpr, has_effects

# Rules for higher-order primitives whose inputs are partly unknown.
# rule(trace, args, params) -> outputs (known values and/or trace tracers).
partial_eval_rules: dict = {}

# Rules for primitives whose params must change when staged (a custom rule's function
# becomes a jaxpr only then). rule(trace, args, params) -> outputs.
staging_rules: dict = {}


class JaxprTracer(Tracer):
    # ``aval`` a plain slot (read on every staged operand); not "var": the array method
    __slots__ = ("aval", "_var", "source_info")

    def __init__(self, trace, aval, var, source_info=None):
        self._trace = trace
        self.aval = aval
        self._var = var
        self.source_info = source_info


def is_unknown(trace, x) -> bool:
    """Whether ``x`` is one of ``trace``'s own (unknown, staged) values."""
    return isinstance(x, JaxprTracer) and x._trace is trace


def _is_literalable(x, jax_arrays: bool) -> bool:
    if core.is_python_scalar(x):
        return True
    if isinstance(x, (np.ndarray, np.generic)):
        return np.shape(x) == ()
    # make_jaxpr inlines concrete scalar arrays as JAX does; partial evaluation
    # keeps them as constvars, since those are the residuals.
    return (
        jax_arrays
        and isinstance(x, jax.Array)
        and not isinstance(x, jax.core.Tracer)
        and x.shape == ()
        and not core.is_extended(x.dtype)  # a PRNG key is never a literal, as in JAX
    )


class JaxprTrace(core.Trace):
    __slots__ = ("eqns", "invars", "const_vars", "const_vals", "stage_all")

    def __init__(self, parent, stage_all=True, transform_name="make_jaxpr", source_info=None):
        super().__init__(parent, transform_name, source_info)
        self.eqns = []
        self.invars = []
        self.const_vars = {}  # id(value) -> Var
        self.const_vals = []  # keeps the values alive and ordered
        self.stage_all = stage_all

    @property
    def eager_autodiff(self):
        return not self.stage_all  # partial evaluation (linearize), not staging

    def new_arg(self, aval) -> JaxprTracer:
        var = Var(aval)
        self.invars.append(var)
        return JaxprTracer(self, aval, var)

    def lift(self, x):
        if not self.stage_all or _is_literalable(x, True):
            return x  # partial evaluation keeps known values; Python scalars stay as they are
        return JaxprTracer(self, get_aval(x), self.to_atom(x))  # a scalar's atom: a literal

    def to_atom(self, x):
        # A jax.Array under partial evaluation (a residual, the hot case) is never a
        # literal: straight to its constvar.
        if self.stage_all or type(x) not in core.JAX_ARRAY_TYPES:
            if isinstance(x, JaxprTracer) and x._trace is self:
                return x._var
            if _is_literalable(x, self.stage_all):
                aval = get_aval(x)
                if not (core.is_python_scalar(x) or type(x) is core.WeakArray):
                    # a weak jax.Array (mnp.asarray(1.5)) stays weak as a literal
                    x = core.weak_scalar(x, aval.dtype) if aval.weak_type else np.asarray(x)
                return Literal(x, aval)
        var = self.const_vars.get(id(x))
        if var is None:
            var = self.const_vars[id(x)] = Var(get_aval(x))
            self.const_vals.append((var, x))
        return var

    def process_primitive(self, prim, args, params):
        own = False
        for i, a in enumerate(args):
            if isinstance(a, Tracer):
                if a._trace is self:
                    own = True
                else:
                    b = self.check_foreign(a)
                    if b is not a:  # a constant that outlived its transform
                        args = (*args[:i], b, *args[i + 1 :])
        if not self.stage_all:
            if not own:
                return bind_in(self.parent, prim, args, params)
            rule = partial_eval_rules.get(prim)
            if rule is not None:
                return rule(self, args, params)
        rule = staging_rules.get(prim)
        if rule is not None:
            return rule(self, args, params)
        return self.stage(prim, args, params)

    def stage(self, prim, args, params, out_avals=None):
        """Record one equation and return tracers for its outputs."""
        # Own tracers inline (this runs once per staged operand); the types are checked
        # before any constant is given a constvar.
        if out_avals is None:
            avals = [a.aval if type(a) is JaxprTracer else get_aval(a) for a in args]
            out_avals = core.abstract_eval(prim, avals, params)
        invars = [
            a._var if type(a) is JaxprTracer and a._trace is self else self.to_atom(a) for a in args
        ]
        src = core.user_frame_info()
        origin = core._state.origin if core.checking_floats else None
        if prim.multiple_results:
            outvars = [Var(a) for a in out_avals]
            self.eqns.append(JaxprEqn(invars, outvars, prim, params, src, origin))
            return [JaxprTracer(self, v.aval, v, src) for v in outvars]
        var = Var(out_avals)
        self.eqns.append(JaxprEqn(invars, [var], prim, params, src, origin))
        return JaxprTracer(self, out_avals, var, src)

    def to_jaxpr(self, outs, dce=False) -> ClosedJaxpr:
        outvars = [self.to_atom(x) for x in outs]
        constvars = [v for v, _ in self.const_vals]
        consts = [x for _, x in self.const_vals]
        jaxpr = Jaxpr(constvars, self.invars, outvars, self.eqns)
        if dce:
            jaxpr = dce_jaxpr(jaxpr)
            keep = set(jaxpr.constvars)
            consts = [c for v, c in zip(constvars, consts) if v in keep]
        return ClosedJaxpr(jaxpr, consts)


def trace_to_jaxpr(fun, in_avals, transform_name="make_jaxpr", dce=False):
    """Trace ``fun`` (flat args -> flat list of outputs) to a ClosedJaxpr."""
    trace = JaxprTrace(core.current_trace(), True, transform_name, core.user_frame_info())
    args = [trace.new_arg(a) for a in in_avals]
    with core.gc_paused(), core.new_trace(trace):
        outs = fun(*args)
    return trace.to_jaxpr(outs, dce=dce)


# ---------------------------------------------------------------------------
# dead-code elimination


# Rules for higher-order primitives: prune inside the equation too.
# rule(used_outputs, eqn) -> (used_inputs, new eqn)
dce_rules: dict = {}


def dce_jaxpr(jaxpr: Jaxpr, used_outputs=None, prune_invars=False):
    """Drop equations whose outputs are unused, unless they have an effect (a callback).

    An equation of a higher-order primitive with a ``dce_rules`` entry is
    pruned inside as well (unused outputs and the inputs only they read).
    With ``prune_invars`` also drop unused invars; then returns (jaxpr, used_invars).
    """
    outvars = jaxpr.outvars
    if used_outputs is not None:
        outvars = [v for v, u in zip(outvars, used_outputs) if u]
    live = {v for v in outvars if type(v) is Var}
    effects = bool(core.effectful)  # no effectful primitive registered: nothing to look for
    kept = []
    for eqn in reversed(jaxpr.eqns):
        used = [v in live for v in eqn.outvars]
        if not any(used) and not (effects and has_effects(eqn)):
            continue
        rule = dce_rules.get(eqn.primitive)
        if rule is not None and not all(used):
            used_in, new_eqn = rule(used, eqn)
        else:
            used_in, new_eqn = [True] * len(eqn.invars), eqn
        kept.append(new_eqn)
        live.update(v for v, u in zip(eqn.invars, used_in) if u and type(v) is Var)
    constvars = [v for v in jaxpr.constvars if v in live]
    if not prune_invars:
        return Jaxpr(constvars, jaxpr.invars, outvars, kept[::-1])
    used_in = [v in live for v in jaxpr.invars]
    invars = [v for v in jaxpr.invars if v in live]
    return Jaxpr(constvars, invars, outvars, kept[::-1]), used_in


# ---------------------------------------------------------------------------
# partial evaluation of a whole jaxpr (for higher-order primitives)


def partial_eval_jaxpr(closed: ClosedJaxpr, in_unknowns, instantiate=False):
    """Split ``closed`` into a known jaxpr and an unknown (staged) jaxpr.

    Returns (known, unknown, out_unknowns, num_res): ``known`` maps the known
    inputs to the known outputs followed by the residuals; ``unknown`` maps
    the residuals followed by the unknown inputs to the unknown outputs.
    ``instantiate`` (bool or list) forces outputs to be unknown.
    """
    in_avals = closed.in_avals
    known_trace = JaxprTrace(core.current_trace(), True, "partial_eval")
    pe = JaxprTrace(known_trace, False, "partial_eval")
    args = [pe.new_arg(a) if u else known_trace.new_arg(a) for a, u in zip(in_avals, in_unknowns)]
    with core.new_trace(known_trace, deactivate=False):
        with core.new_trace(pe):
            outs = core.call_in(pe, _eval_for_pe, closed, args)
    if isinstance(instantiate, bool):
        instantiate = [instantiate] * len(outs)
    outs = [force_unknown(pe, x) if inst else x for x, inst in zip(outs, instantiate)]
    out_unknowns = [isinstance(x, JaxprTracer) and x._trace is pe for x in outs]
    unknown = pe.to_jaxpr([x for x, u in zip(outs, out_unknowns) if u], dce=True)
    residuals = unknown.consts
    # The unknown jaxpr's constvars become its leading invars (the residuals).
    uj = unknown.jaxpr
    unknown_jaxpr = Jaxpr([], uj.constvars + uj.invars, uj.outvars, uj.eqns)
    known_outs = [x for x, u in zip(outs, out_unknowns) if not u] + residuals
    known = known_trace.to_jaxpr(known_outs)
    known_trace.active = False
    return known, ClosedJaxpr(unknown_jaxpr, []), out_unknowns, len(residuals)


def _eval_for_pe(closed, args):
    return eval_jaxpr(closed.jaxpr, closed.consts, *args)


def force_unknown(pe: JaxprTrace, x):
    """``x`` as one of ``pe``'s (unknown) values: a known one is read as a constvar or
    literal of the staged jaxpr, with no equation (JAX: instantiate_const)."""
    if isinstance(x, JaxprTracer) and x._trace is pe:
        return x
    return JaxprTracer(pe, get_aval(x), pe.to_atom(x))
