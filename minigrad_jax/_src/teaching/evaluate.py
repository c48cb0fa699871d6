"""The one evaluation behind ``mg.explain_grad`` and ``mg.draw``.

Every number the teaching tools show (the forward value of each intermediate and
``d loss / d`` it) comes from a single ``mg.vjp`` of ``ir.eval_jaxpr`` over a *tapped* copy of
the function's jaxpr, the way one asks JAX for intermediate gradients: each use of a float
variable (an edge of the graph) reads ``v + eps`` with an extra input ``eps = 0``, and every
variable is also returned as an extra output.  Then

- the extra outputs are the forward values;
- the cotangent of an edge's ``eps`` is what flows back along that edge (the incoming adjoint
  times the local gradient), and a variable's cotangent ``d loss / d v`` is the sum over its
  uses (the fan-in sum the tutorial shows).

The rewrite reaches inside ``scan`` bodies (the taps become extra scanned inputs and the values
extra stacked outputs, so both are per iteration: a leading axis per enclosing loop), ``cond``
branches (a branch not taken returns zeros) and ``jit`` calls.  Other higher-order equations
(``while``, custom rules, checkpoint) are evaluated whole: their inside is not tapped, so their
custom derivative rules still apply.  The tapped program is evaluated by the existing
interpreters (eval_jaxpr, vjp, scan/cond/jit's own rules): no interpreter loop of our own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from minigrad_jax._src import core
from minigrad_jax._src.api import vjp
from minigrad_jax._src.interpreters import jaxpr_util as ju
from minigrad_jax._src.interpreters.ad import add_any_p
from minigrad_jax._src.interpreters.partial_eval import trace_to_jaxpr
from minigrad_jax._src.ir import ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, eval_jaxpr
from minigrad_jax._src.lax import base
from minigrad_jax._src.lax.control_flow.conditionals import cond_p
from minigrad_jax._src.lax.control_flow.loops import scan_p
from minigrad_jax._src.pjit import jit_p

__all__ = ["Scope", "evaluate"]

OUT = "out"  # the consumer of a jaxpr's outputs, in an edge key (consumer, position)


def is_diff(aval) -> bool:
    return core.is_float(aval.dtype)


@dataclass(eq=False)
class Scope:
    """One jaxpr as the user sees it (the top level, a scan body, a cond branch, a jit body)
    and what the evaluation found in it.

    ``values[var]`` and ``edges[(consumer, position)]`` (consumer: an equation index or
    ``OUT``) hold arrays with one leading axis per enclosing scan (``loops`` of them);
    inside a cond branch, iterations where the branch was not taken hold zeros (``taken``).
    """

    closed: ClosedJaxpr
    path: tuple = ()  # ((equation index, param key), ...) from the top level
    loops: int = 0
    kind: str = "top"  # "top", "scan", "cond", "jit"
    parent: Scope | None = None
    eqn_index: int | None = None  # the equation of ``parent`` that holds this scope
    branch: int | None = None
    values: dict = field(default_factory=dict)
    edges: dict = field(default_factory=dict)
    children: dict = field(default_factory=dict)  # equation index -> [Scope]
    _uses: dict | None = field(default=None, repr=False)

    @property
    def jaxpr(self) -> Jaxpr:
        return self.closed.jaxpr

    def uses(self, var) -> list:
        """The edge keys that read ``var`` (one per use, in equation order)."""
        if self._uses is None:
            self._uses = {}
            j = self.jaxpr
            reads = [(k, e.invars) for k, e in enumerate(j.eqns)] + [(OUT, j.outvars)]
            for k, atoms in reads:
                for i, a in enumerate(atoms):
                    if type(a) is not Literal:
                        self._uses.setdefault(a, []).append((k, i))
        return self._uses.get(var, [])

    def cotangent(self, var):
        """``d loss / d var``: the sum of what flows back along its uses (None: no float)."""
        cts = [self.edges[k] for k in self.uses(var) if k in self.edges]
        if not cts:
            if not is_diff(var.aval) or var not in self.values:
                return None
            return np.zeros_like(self.values[var])
        total = cts[0]
        for c in cts[1:]:
            total = total + c
        return total

    def taken(self):
        """For a cond branch: bool per iteration (a scalar at loops == 0) that it ran."""
        if self.kind != "cond":
            return None
        idx = self.parent.jaxpr.eqns[self.eqn_index].invars[0]
        val = idx.val if type(idx) is Literal else self.parent.values[idx]
        return np.asarray(val) == self.branch

    def iteration(self, i: int, axis: int | None = None, parent: Scope | None = None) -> Scope:
        """This loop body (or a scope inside it) at iteration ``i`` of the loop whose axis is
        ``axis`` (default: this scope's own, the innermost): the same jaxpr with every
        per-iteration array indexed there, one loop fewer; children likewise."""
        if axis is None:
            if self.kind != "scan" or self.loops < 1:
                raise TypeError(f"only a scan body has iterations; this is a {self.kind} scope")
            axis = self.loops - 1
        at = (slice(None),) * axis + (i,)
        new = Scope(
            self.closed,
            (*self.path, ("iteration", i)),
            self.loops - 1,
            self.kind,
            self.parent if parent is None else parent,
            self.eqn_index,
            self.branch,
            {v: x[at] for v, x in self.values.items()},
            {k: x[at] for k, x in self.edges.items()},
        )
        for k, kids in self.children.items():
            new.children[k] = [kid.iteration(i, axis, new) for kid in kids]
        return new

    def walk(self):
        yield self
        for kids in self.children.values():
            for kid in kids:
                yield from kid.walk()


@dataclass
class Evaluation:
    top: Scope
    grads: list | None  # cotangent per flat argument (None: forward only)
    outputs: list


# --------------------------------------------------------------------------- the rewrite


@dataclass
class _Slots:
    """Extra inputs (taps) and outputs (values) of a tapped jaxpr, in order."""

    eps: list = field(default_factory=list)  # (scope, edge key)
    vals: list = field(default_factory=list)  # (scope, var)
    eps_avals: list = field(default_factory=list)
    val_avals: list = field(default_factory=list)


def _lift(aval, n):
    return aval if n is None else core.ShapedArray((n, *aval.shape), aval.dtype, aval.weak_type)


class _Rewriter:
    """Builds the tapped jaxpr of one scope: orig invars + taps -> orig outvars + values."""

    def __init__(self, scope: Scope):
        self.scope = scope
        j = scope.jaxpr
        self.constvars, self.consts = list(j.constvars), list(scope.closed.consts)
        self.eqns: list = []
        self.slots = _Slots()
        self.eps_vars: list = []
        self.val_vars: list = []

    def const(self, value):
        v = Var(core.get_aval(value))
        self.constvars.append(v)
        self.consts.append(value)
        return v

    def tap(self, atom, key):
        if type(atom) is Literal or not is_diff(atom.aval):
            return atom
        eps, tapped = Var(atom.aval), Var(atom.aval)
        self.eqns.append(JaxprEqn([atom, eps], [tapped], add_any_p, {}))
        self._add_eps(eps, (self.scope, key), atom.aval)
        return tapped

    def _add_eps(self, var, slot, aval):
        self.eps_vars.append(var)
        self.slots.eps.append(slot)
        self.slots.eps_avals.append(aval)

    def _add_val(self, var, slot):
        self.val_vars.append(var)
        self.slots.vals.append(slot)
        self.slots.val_avals.append(var.aval)

    def adopt(self, child: _Slots, length=None):
        """Outer vars for a child scope's taps and values (stacked by a scan of ``length``)."""
        ins = []
        for slot, aval in zip(child.eps, child.eps_avals, strict=True):
            v = Var(_lift(aval, length))
            self._add_eps(v, slot, v.aval)
            ins.append(v)
        outs = []
        for slot, aval in zip(child.vals, child.val_avals, strict=True):
            v = Var(_lift(aval, length))
            self._add_val(v, slot)
            outs.append(v)
        return ins, outs

    def run(self):
        j = self.scope.jaxpr
        for v in j.invars:
            self._add_val(v, (self.scope, v))
        for k, eqn in enumerate(j.eqns):
            invars = [self.tap(a, (k, i)) for i, a in enumerate(eqn.invars)]
            rule = _children.get(eqn.primitive)
            if rule is None:
                self.eqns.append(eqn.replace(invars=invars))
                _opaque_children(self.scope, k, eqn)
            else:
                rule(self, k, eqn, invars)
            for v in eqn.outvars:
                self._add_val(v, (self.scope, v))
        outvars = [self.tap(a, (OUT, i)) for i, a in enumerate(j.outvars)]
        jaxpr = Jaxpr(
            self.constvars, [*j.invars, *self.eps_vars], [*outvars, *self.val_vars], self.eqns
        )
        return ClosedJaxpr(jaxpr, self.consts), self.slots


def _tap_scope(scope: Scope):
    return _Rewriter(scope).run()


def _child(rw: _Rewriter, k, closed, kind, key, branch=None, loops=0):
    s = rw.scope
    scope = Scope(closed, (*s.path, (k, key)), s.loops + loops, kind, s, k, branch)
    s.children.setdefault(k, []).append(scope)
    return scope, *_tap_scope(scope)


def _opaque_children(scope: Scope, k, eqn):
    """Inner jaxprs evaluated whole (while, custom rules, checkpoint): drawn, not tapped."""
    for key, v in sorted(eqn.params.items()):
        items = v if isinstance(v, (tuple, list)) else [v]
        for j, inner in enumerate(items):
            if isinstance(inner, Jaxpr):
                inner = ClosedJaxpr(inner, [])
            if isinstance(inner, ClosedJaxpr):
                name = key if items is not v else f"{key}[{j}]"
                kid = Scope(inner, (*scope.path, (k, name)), scope.loops, "opaque", scope, k)
                scope.children.setdefault(k, []).append(kid)


def _hoisted_operands(rw: _Rewriter, closed: ClosedJaxpr):
    hj, hc = ju.hoist_consts(closed)
    return hj, [rw.const(c) for c in hc]


def _scan_rule(rw: _Rewriter, k, eqn, invars):
    p = eqn.params
    _, tapped, slots = _child(rw, k, p["jaxpr"], "scan", "jaxpr", loops=1)
    hj, hvars = _hoisted_operands(rw, tapped)
    ins, outs = rw.adopt(slots, p["length"])
    params = dict(p, jaxpr=hj, num_consts=p["num_consts"] + len(hvars))
    rw.eqns.append(
        eqn.replace(invars=[*hvars, *invars, *ins], outvars=[*eqn.outvars, *outs], params=params)
    )


def _jit_rule(rw: _Rewriter, k, eqn, invars):
    _, tapped, slots = _child(rw, k, eqn.params["jaxpr"], "jit", "jaxpr")
    hj, hvars = _hoisted_operands(rw, tapped)
    ins, outs = rw.adopt(slots)
    params = dict(eqn.params, jaxpr=hj)
    rw.eqns.append(
        eqn.replace(invars=[*hvars, *invars, *ins], outvars=[*eqn.outvars, *outs], params=params)
    )


def _cond_rule(rw: _Rewriter, k, eqn, invars):
    branches = eqn.params["branches"]
    taps = [
        _child(rw, k, b, "cond", f"branches[{j}]", branch=j)[1:] for j, b in enumerate(branches)
    ]
    n_ops, n_out = len(invars) - 1, len(eqn.outvars)
    eps_avals = [a for _, s in taps for a in s.eps_avals]
    val_avals = [a for _, s in taps for a in s.val_avals]
    in_avals = [*(a.aval for a in eqn.invars[1:]), *eps_avals]
    new_branches = []
    e0 = v0 = 0
    for tapped, slots in taps:
        ne, nv = len(slots.eps), len(slots.vals)
        new_branches.append(
            trace_to_jaxpr(_branch_fn(tapped, n_ops, n_out, e0, ne, v0, nv, val_avals), in_avals)
        )
        e0, v0 = e0 + ne, v0 + nv
    joined, consts = ju.join_consts(new_branches)
    cvars = [rw.const(c) for c in consts]
    merged = _Slots()
    for _, s in taps:
        merged.eps += s.eps
        merged.vals += s.vals
        merged.eps_avals += s.eps_avals
        merged.val_avals += s.val_avals
    ins, outs = rw.adopt(merged)
    rw.eqns.append(
        eqn.replace(
            invars=[invars[0], *cvars, *invars[1:], *ins],
            outvars=[*eqn.outvars, *outs],
            params=dict(eqn.params, branches=tuple(joined)),
        )
    )


def _branch_fn(tapped, n_ops, n_out, e0, ne, v0, nv, val_avals):
    """Branch j of the tapped cond: reads its own taps, returns zeros for the others' values."""

    def branch(*xs):
        ops, eps = xs[:n_ops], xs[n_ops:]
        outs = eval_jaxpr(tapped.jaxpr, tapped.consts, *ops, *eps[e0 : e0 + ne])
        zeros = [base.full(a.shape, 0, a.dtype) for a in val_avals]
        return [*outs[:n_out], *zeros[:v0], *outs[n_out:], *zeros[v0 + nv :]]

    return branch


_children = {scan_p: _scan_rule, jit_p: _jit_rule, cond_p: _cond_rule}


# --------------------------------------------------------------------------- evaluation


def scope_tree(closed: ClosedJaxpr) -> Scope:
    """The scopes of ``closed`` (what a drawing without numbers needs), not evaluated."""
    top = Scope(closed)
    _tap_scope(top)
    return top


def evaluate(closed: ClosedJaxpr, flat_args, backward: bool) -> Evaluation:
    """Forward values of every variable and, with ``backward``, the cotangent of every edge
    (d output[0] / d that use), from one ``vjp`` of the tapped jaxpr."""
    top = Scope(closed)
    tapped, slots = _tap_scope(top)
    n_args, n_out = len(flat_args), len(closed.jaxpr.outvars)
    eps = [np.zeros(a.shape, a.dtype) for a in slots.eps_avals]
    diff = [i for i, v in enumerate(closed.jaxpr.invars) if is_diff(v.aval)]

    def run(*xs):
        full = list(flat_args)
        for i, x in zip(diff, xs[: len(diff)], strict=True):
            full[i] = x
        return eval_jaxpr(tapped.jaxpr, tapped.consts, *full, *xs[len(diff) :])

    grads = None
    if backward:
        outs, pullback = vjp(run, *[flat_args[i] for i in diff], *eps)
        seed = [_zeros_ct(o) for o in outs]
        seed[0] = np.ones(np.shape(outs[0]), np.asarray(outs[0]).dtype)
        cts = pullback(seed)
        grads = [None] * n_args
        for i, g in zip(diff, cts[: len(diff)], strict=True):
            grads[i] = np.asarray(g)
        for (scope, key), c in zip(slots.eps, cts[len(diff) :], strict=True):
            scope.edges[key] = np.asarray(c)
    else:
        outs = run(*[flat_args[i] for i in diff], *eps)
    for (scope, var), x in zip(slots.vals, outs[n_out:], strict=True):
        scope.values[var] = np.asarray(x)
    return Evaluation(top, grads, [np.asarray(o) for o in outs[:n_out]])


def _zeros_ct(x):
    a = np.asarray(x)
    dt = a.dtype if core.is_float(a.dtype) else core.float0
    return np.zeros(a.shape, dt)
