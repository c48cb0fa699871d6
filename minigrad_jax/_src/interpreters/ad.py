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
from minigrad_jax._src.interpreters import partial_eval as pe
from minigrad_jax._src.interpreters.array_ops import ops
from minigrad_jax._src.ir import JaxprEqn, Literal, Var

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
    # replays: eager linearize (a partial-evaluation trace over the eval trace), where
    # each rule's run is recorded once per operand types and then replayed
    __slots__ = ("replays",)
    eager_autodiff = True

    def __init__(self, parent, transform_name="jvp", source_info=None):
        super().__init__(parent, transform_name, source_info)
        self.replays = (
            type(parent) is pe.JaxprTrace
            and not parent.stage_all
            and parent.parent is core.EVAL_TRACE
        )

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
        if self.replays and not core.checking_floats:
            out = replay_rule(self, prim, primals, tangents, params)
            if out is not None:
                return out
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
# eager autodiff: a rule's run recorded once, then replayed
#
# Under eager grad/vjp/linearize a JVP rule runs on concrete primals over a
# partial-evaluation trace: its operations on primals run at once, those on tangents
# are staged into the linear jaxpr; then each linear equation's transpose rule runs on
# concrete cotangents. What a rule does is fixed by what its operands are (types,
# shapes, dtypes, weak types, which tangents are zero or which inputs are linear, the
# values of Python scalars), as it must be for the rule to work under jit. So the
# first run for such operands is recorded as a straight-line program; later runs
# replay it: the known operations go to the eval trace in the same order, the staged
# equations are written with the types recorded, and neither the rule, nor bind, nor
# a shape rule runs again.

_KNOWN, _STAGED = 0, 1
# key -> _Program, or False where the rule's run cannot be replayed (it read an array
# it did not compute, or bound a higher-order primitive)
_programs: dict = {}
_SCALAR_TYPES = frozenset((bool, int, float, complex))
# Elementwise primitives whose transpose rule ran as at most one bind when first
# recorded: they run as written.
_light_transposes: set = set()


class _Program:
    """A recorded rule run: ``steps`` over slots numbered operands, then ``consts``,
    then the steps' outputs; ``outs`` the outputs' slots (a Zero or None kept as is)."""

    __slots__ = ("consts", "steps", "outs")

    def __init__(self, consts, steps, outs):
        self.consts, self.steps, self.outs = consts, steps, outs


def _key_of(key, x):
    """Add what a rule may branch on about operand ``x`` to ``key``; False if ``x`` is
    not a value a recorded run can take."""
    tp = type(x)
    if tp in core.JAX_ARRAY_TYPES:
        a = x.aval
        key += (a.shape, a.dtype, a.weak_type)
    elif tp in _SCALAR_TYPES:
        key += (tp, x)
    elif tp is core.WeakArray or tp is np.ndarray:
        key += (tp, x.shape, x.dtype)
    else:
        return False
    return True


def _recordable(prim, params) -> bool:
    return not (
        prim in pe.partial_eval_rules
        or prim in pe.staging_rules
        or prim in core.effectful
        or not all(core._plain(v) for v in params.values())
    )


def _lookup(key):
    try:
        key = tuple(key)
        return key, _programs.get(key)
    except TypeError:  # an unhashable param
        return None, False


def _store(key, rec, outs):
    if rec.aliased:
        return  # an operand passed twice: not a program for distinct ones
    prog = rec.program(outs)
    if len(_programs) > 65536:
        _programs.clear()
    _programs[key] = False if prog is None else prog


def _run_program(prog, vals, own):
    """Replay ``prog`` on the operands ``vals`` (a fresh list, extended in place);
    staged steps are written into ``own``. Returns the outputs."""
    src = unset = vals  # the user's line, found at the first staged equation
    state = core._state
    prev, state.trace = state.trace, core.EVAL_TRACE
    eval_primitive = core.EVAL_TRACE.process_primitive
    vals += prog.consts
    try:
        for kind, prim, params, idx, aval in prog.steps:
            if kind is _KNOWN:
                out = eval_primitive(prim, [vals[i] for i in idx], params)
                if prim.multiple_results:
                    vals.extend(out)
                else:
                    vals.append(out)
                continue
            if src is unset:
                src = core.user_frame_info()
            invars = []
            for i in idx:
                a = vals[i]
                invars.append(
                    a._var if type(a) is pe.JaxprTracer and a._trace is own else own.to_atom(a)
                )
            if prim.multiple_results:
                outvars = [Var(a) for a in aval]
                own.eqns.append(JaxprEqn(invars, outvars, prim, params, src))
                vals.extend(pe.JaxprTracer(own, v.aval, v, src) for v in outvars)
            else:
                var = Var(aval)
                own.eqns.append(JaxprEqn(invars, [var], prim, params, src))
                vals.append(pe.JaxprTracer(own, aval, var, src))
    finally:
        state.trace = prev
    return [vals[r] if type(r) is int else r for r in prog.outs]


def replay_rule(trace, prim, primals, tangents, params):
    """A JVP rule's outputs (``trace``'s tracers) from its recorded run, or None where
    the rule runs as written. ``tangents``: None where an operand is not a tracer."""
    own = trace.parent
    key = [prim, jax.config.jax_enable_x64, core._state.axis_env]
    for p, t in zip(primals, tangents):
        if not _key_of(key, p):
            return None
        if t is None or type(t) is Zero:
            key.append(None)
        elif type(t) is pe.JaxprTracer and t._trace is own:
            a = t.aval
            key += (a.shape, a.dtype, a.weak_type)
        else:
            return None
    key += params.items()
    key, prog = _lookup(key)
    if prog is False:
        return None
    multiple = prim.multiple_results
    if prog is None:
        if not _recordable(prim, params):
            return None
        rule = jvp_rules.get(prim)
        if rule is None:
            return None  # the rule's own path raises
        zs = [
            Zero(tangent_aval(core.get_aval(p))) if t is None else t
            for p, t in zip(primals, tangents)
        ]
        rec = _Recorder(own, [*primals, *zs])
        try:
            primal_out, tangent_out = core.call_in(rec, rule, primals, zs, **params)
        finally:
            rec.active = False
        outs = [*primal_out, *tangent_out] if multiple else [primal_out, tangent_out]
        _store(key, rec, outs)
    else:
        outs = _run_program(prog, [*primals, *tangents], own)
    if multiple:
        n = len(outs) // 2
        return [trace.wrap(p, t) for p, t in zip(outs[:n], outs[n:])]
    return trace.wrap(outs[0], outs[1])


def replay_transpose(prim, ct, invals, params):
    """A transpose rule's input cotangents from its recorded run at the top level, or
    None where the rule runs as written (``invals``: UndefinedPrimal for the linear)."""
    if prim in _light_transposes:
        return None
    key = [prim, jax.config.jax_enable_x64, core._state.axis_env]
    operands = []
    for x in invals:
        if type(x) is UndefinedPrimal:
            a = x.aval
            key += (UndefinedPrimal, a.shape, a.dtype, a.weak_type)
        elif _key_of(key, x):
            operands.append(x)
        else:
            return None
    cts = ct if prim.multiple_results else [ct]
    for c in cts:
        if type(c) is Zero:
            key.append(None)
        elif not _key_of(key, c):
            return None
    key += params.items()
    key, prog = _lookup(key)
    if prog is False:
        return None
    if prog is None:
        if not _recordable(prim, params):
            return None
        rec = _Recorder(core.EVAL_TRACE, [*operands, *cts])
        try:
            outs = core.call_in(rec, transpose_rules[prim], ct, *invals, **params)
        finally:
            rec.active = False
        if len(rec.steps) < 2 and prim in batching.elementwise:
            # An elementwise rule of one bind or none (mul, add, neg): it costs less
            # than a replay's bookkeeping (about a microsecond).
            _light_transposes.add(prim)
        else:
            _store(key, rec, list(outs))
        return outs
    return _run_program(prog, [*operands, *cts], None)


class _Recorder(core.Trace):
    """Current while a rule runs to be recorded: hands every bind to ``target`` (the
    partial-evaluation trace, or the eval trace), as the rule's own run does, and writes
    each down (known or staged) with where its operands came from."""

    __slots__ = ("target", "inputs", "index", "slots", "consts", "outs", "steps", "ok", "aliased")
    eager_autodiff = True

    def __init__(self, target, inputs):
        super().__init__(target, target.transform_name, target.source_info)
        self.target, self.inputs = target, inputs
        # slot n: ("in", i) the i-th operand, ("const", j) a constant the rule made,
        # ("out", k) the k-th output of a bind; all kept alive, so ids stay unique
        self.slots = [("in", i) for i in range(len(inputs))]
        self.index = {id(x): i for i, x in enumerate(inputs)}
        self.aliased = len(self.index) < len(inputs)
        self.consts, self.outs, self.steps, self.ok = [], [], [], True

    def lift(self, x):
        return x  # as partial evaluation does: known values stay as they are

    def _slot(self, x):
        n = self.index.get(id(x))
        if n is not None:
            if self._is_zero_input(n):
                self.ok = False  # a symbolic zero is not an operand
            return n
        if type(x) in _SCALAR_TYPES or isinstance(x, (np.ndarray, np.generic)):
            self.slots.append(("const", len(self.consts)))
            self.consts.append(x)
        else:
            self.ok = False  # an array the rule did not compute here
            self.slots.append(("const", -1))
        self.index[id(x)] = n = len(self.slots) - 1
        return n

    def _is_zero_input(self, n):
        kind, i = self.slots[n]
        return kind == "in" and type(self.inputs[i]) is Zero

    def process_primitive(self, prim, args, params):
        idx = tuple(self._slot(a) for a in args)
        target = self.target
        eqns = getattr(target, "eqns", ())
        n = len(eqns)
        out = core.bind_in(target, prim, args, params)
        outs = out if prim.multiple_results else [out]
        staged = [type(o) is pe.JaxprTracer and o._trace is target for o in outs]
        new = eqns[n:]
        # a step: (kind, primitive, params, operand slots, output aval(s) if staged)
        aval = None
        if not any(staged) and not new:
            kind = _KNOWN
        elif all(staged) and len(new) == 1 and new[0].outvars == [o._var for o in outs]:
            kind = _STAGED
            aval = [o.aval for o in outs] if prim.multiple_results else outs[0].aval
        else:
            kind, self.ok = None, False
        if not _recordable(prim, params):
            self.ok = False
        self.steps.append((kind, prim, params, idx, aval))
        for o in outs:
            self.slots.append(("out", len(self.outs)))
            self.outs.append(o)
            self.index[id(o)] = len(self.slots) - 1
        return out

    def program(self, outs):
        """The recorded run as a _Program whose outputs are ``outs``, or None where it
        cannot be replayed."""
        if not self.ok:
            return None
        base = {"in": 0, "const": len(self.inputs), "out": len(self.inputs) + len(self.consts)}
        final = [base[kind] + i for kind, i in self.slots]
        steps = tuple(
            (kind, prim, params, tuple(final[i] for i in idx), aval)
            for kind, prim, params, idx, aval in self.steps
        )
        refs = []
        for x in outs:
            if x is None or type(x) is Zero:
                refs.append(x)  # kept as is: no value, or a symbolic zero of fixed type
                continue
            n = self.index.get(id(x))
            if n is None or self._is_zero_input(n):
                return None
            refs.append(final[n])
        return _Program(tuple(self.consts), steps, tuple(refs))


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
    state = core._state
    src = state.src
    checking = core.checking_floats
    # at the top level, each transpose rule's run is recorded once and then replayed
    replays = state.trace is core.EVAL_TRACE
    via_select = set()  # debug_nans: variables whose cotangent came through a select_n

    def write_ct(v, ct):
        if type(v) is Var and v not in primal_env and ct is not None and type(ct) is not Zero:
            prev = ct_env.get(v)
            ct_env[v] = ct if prev is None else add_tangents(prev, ct)

    for v, ct in zip(jaxpr.outvars, cts_out):
        write_ct(v, ct)
    pop = ct_env.pop
    for eqn in reversed(linear_eqns):
        prim = eqn.primitive
        if prim.multiple_results:
            cts = [pop(v, None) for v in eqn.outvars]
            if all(c is None for c in cts):
                continue  # (ct_env never holds a Zero)
            ct_arg = [Zero(v.aval) if c is None else c for v, c in zip(eqn.outvars, cts)]
        else:
            ct_arg = pop(eqn.outvars[0], None)
            if ct_arg is None:
                continue
        invals = []
        for a in eqn.invars:
            x = read(a)  # (None: not a primal value, so linear)
            invals.append(UndefinedPrimal(a.aval) if x is None else x)
        rule = transpose_rules.get(prim)
        if rule is None:
            raise NotImplementedError(
                "Transpose rule (for reverse-mode differentiation) "
                f"for '{prim.name}' not implemented"
            )
        state.src = eqn.source_info or src  # the transposed equations keep its line
        try:
            if checking:
                sel = any(v in via_select for v in eqn.outvars)
                cts_in = debug_nans.run_transpose_rule(eqn, rule, ct_arg, invals, sel)
                if sel or prim.name == "select_n":
                    via_select.update(v for v in eqn.invars if type(v) is Var)
            elif replays:
                cts_in = replay_transpose(prim, ct_arg, invals, eqn.params)
                if cts_in is None:
                    cts_in = rule(ct_arg, *invals, **eqn.params)
            else:
                cts_in = rule(ct_arg, *invals, **eqn.params)
        finally:
            state.src = src
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
batching.elementwise.add(add_any_p)
batching.defvectorized(copy_p)
