"""Whole-jaxpr transforms: the rule kit's building blocks for jaxpr-carrying primitives.

Each transform traces a small function that runs an existing interpreter over
the jaxpr, so there is one definition of jvp, batching and transposition: the
per-primitive rules. Results are memoized on the ClosedJaxpr, so a primitive
transformed again (a jitted function under grad in a loop) reuses its jaxprs
and, through them, its compiled executables.

- ``hoist_consts`` / ``join_consts``: consts become leading inputs (what an
  equation carries; several jaxprs of one equation share them);
- ``jvp_jaxpr``: (primals, nonzero tangents) -> (outputs, nonzero tangents);
- ``batch_jaxpr``: outputs that stay unmapped stay unmapped, unless forced;
- ``transpose_jaxpr``: (non-linear inputs, output cotangents) -> cotangents;
- ``partial_eval_jaxpr`` and ``dce_jaxpr`` (memoized versions of partial_eval's);
- ``forward_residuals``: residuals that are known inputs, passed on, not returned;
- ``Groups``: named groups of a flat list of inputs or outputs;
- ``fixpoint``: iterate a loop body's flags until they are stable.
"""

from __future__ import annotations

from minigrad_jax._src import core
from minigrad_jax._src.core import ShapedArray, get_aval
from minigrad_jax._src.interpreters import ad, batching
from minigrad_jax._src.interpreters import partial_eval as pe
from minigrad_jax._src.interpreters.ad import UndefinedPrimal, Zero
from minigrad_jax._src.interpreters.partial_eval import trace_to_jaxpr
from minigrad_jax._src.ir import ClosedJaxpr, Jaxpr, Var, eval_jaxpr


def memo(closed, key, make):
    """``make()`` once per (jaxpr, key); never for a jaxpr closing over tracers."""
    hit = closed._cache.get(key)
    if hit is None:
        hit = make()
        if not any(isinstance(c, core.Tracer) for c in closed.consts):
            closed._cache[key] = hit
    return hit


def _as_list(flag, n):
    return [flag] * n if isinstance(flag, bool) else list(flag)


# ---------------------------------------------------------------------------
# named groups of a flat list


class Groups:
    """Named, ordered groups of a flat list: ``Groups(consts=2, carry=1, xs=3)``.

    ``split(xs)`` gives a dict of lists, and ``order(names)`` the permutation
    taking a list laid out as ``self`` to the named groups in a new order.
    """

    __slots__ = ("sizes",)

    def __init__(self, **sizes):
        self.sizes = {k: int(v) for k, v in sizes.items()}

    def __len__(self):
        return sum(self.sizes.values())

    def split(self, xs):
        out, i = {}, 0
        for name, n in self.sizes.items():
            out[name] = list(xs[i : i + n])
            i += n
        return out

    def positions(self):
        out, i = {}, 0
        for name, n in self.sizes.items():
            out[name] = list(range(i, i + n))
            i += n
        return out

    def order(self, names):
        """Indices into a list laid out as ``self`` that read the groups ``names`` in order."""
        pos = self.positions()
        return [i for name in names for i in pos[name]]


def permute(closed: ClosedJaxpr, in_order=None, out_order=None):
    """Reorder a jaxpr's inputs/outputs: new position k holds old ``order[k]``."""
    j = closed.jaxpr
    invars = j.invars if in_order is None else [j.invars[i] for i in in_order]
    outvars = j.outvars if out_order is None else [j.outvars[i] for i in out_order]
    return ClosedJaxpr(Jaxpr(j.constvars, invars, outvars, j.eqns), closed.consts)


def insert_invars(closed: ClosedJaxpr, at, avals):
    """A jaxpr taking extra unused inputs of ``avals``, inserted at position ``at``."""
    j = closed.jaxpr
    invars = [*j.invars[:at], *(Var(a) for a in avals), *j.invars[at:]]
    return ClosedJaxpr(Jaxpr(j.constvars, invars, j.outvars, j.eqns), closed.consts)


def with_invars(closed: ClosedJaxpr, before=(), after=()):
    """A jaxpr taking extra unused inputs of avals ``before`` (leading) and ``after``."""
    return insert_invars(insert_invars(closed, len(closed.in_avals), after), 0, before)


def drop_invars(closed: ClosedJaxpr, drop):
    """A jaxpr without the inputs flagged in ``drop`` (they must be unused)."""
    j = closed.jaxpr
    invars = [v for v, d in zip(j.invars, drop) if not d]
    return ClosedJaxpr(Jaxpr(j.constvars, invars, j.outvars, j.eqns), closed.consts)


def fixpoint(step, flags):
    """Iterate ``flags = flags | step(flags)`` until stable (loop-carried facts)."""
    flags = list(flags)
    while True:
        new = [a or b for a, b in zip(flags, step(flags))]
        if new == flags:
            return flags
        flags = new


def select(xs, flags, keep=True):
    """The entries of ``xs`` whose flag is ``keep``."""
    return [x for x, f in zip(xs, flags) if bool(f) == keep]


def merge(flags, when_true, when_false):
    """Interleave two lists back by ``flags`` (the inverse of two ``select`` calls)."""
    t, f = iter(when_true), iter(when_false)
    return [next(t) if fl else next(f) for fl in flags]


# ---------------------------------------------------------------------------
# consts


def hoist_consts(closed: ClosedJaxpr):
    """(jaxpr whose consts are leading invars, the consts): what an equation carries."""
    if not closed.consts:
        return closed, []

    def make():
        j = closed.jaxpr
        return ClosedJaxpr(Jaxpr([], j.constvars + j.invars, j.outvars, j.eqns), [])

    return memo(closed, "hoisted", make), list(closed.consts)


def join_consts(closeds):
    """Hoist each jaxpr's consts; every jaxpr then takes all of them (leading, in
    order). A value several jaxprs close over is passed once, as JAX passes the
    common consts of a cond's branches."""
    hoisted = [hoist_consts(c) for c in closeds]
    if len(closeds) == 1:
        return [hoisted[0][0]], list(hoisted[0][1])
    all_consts, slot_of, slots = [], {}, []
    for _, cs in hoisted:
        mine = []
        for c in cs:
            i = slot_of.get(id(c))
            if i is None or i in mine:  # a value one jaxpr holds twice keeps two slots
                i = slot_of[id(c)] = len(all_consts)
                all_consts.append(c)
            mine.append(i)
        slots.append(mine)
    avals = [get_aval(c) for c in all_consts]
    out = []
    for (h, cs), mine in zip(hoisted, slots):
        j = h.jaxpr
        own = dict(zip(mine, j.invars[: len(cs)]))
        invars = [own[i] if i in own else Var(a) for i, a in enumerate(avals)]
        out.append(ClosedJaxpr(Jaxpr([], invars + j.invars[len(cs) :], j.outvars, j.eqns), []))
    return out, all_consts


# ---------------------------------------------------------------------------
# jvp


def jvp_jaxpr(closed: ClosedJaxpr, nonzeros, instantiate=False):
    """Jaxpr of (primals, nonzero tangents) -> (outputs, nonzero output tangents).

    Returns (jaxpr, out_nonzeros). A float output's tangent is present when it
    is not a symbolic zero or ``instantiate`` asks for it; integer outputs
    never carry one (their tangent is float0).
    """
    inst = tuple(_as_list(instantiate, len(closed.out_avals)))

    def make():
        n = len(closed.in_avals)
        t_avals = [ad.tangent_aval(a) for a, nz in zip(closed.in_avals, nonzeros) if nz]
        out_nz = []

        def f(*args):
            primals, nz_t = args[:n], iter(args[n:])
            tangents = [
                next(nz_t) if nz else Zero(ad.tangent_aval(a))
                for a, nz in zip(closed.in_avals, nonzeros)
            ]
            outs, touts = ad.jvp_flat(
                lambda *a: eval_jaxpr(closed.jaxpr, closed.consts, *a), primals, tangents
            )
            out_nz[:] = [
                core.is_float(a.dtype) and (i or type(t) is not Zero)
                for a, t, i in zip(closed.out_avals, touts, inst)
            ]
            return [*outs, *(ad.instantiate(t) for t, nz in zip(touts, out_nz) if nz)]

        jj = trace_to_jaxpr(f, [*closed.in_avals, *t_avals], "jvp")
        return jj, list(out_nz)

    return memo(closed, ("jvp", tuple(nonzeros), inst), make)


def jvp_out_nonzeros(closed: ClosedJaxpr, nonzeros):
    """Which outputs get a nonzero tangent from these nonzero input tangents."""
    return jvp_jaxpr(closed, nonzeros)[1]


def tangents_out(out_nz, tangents, out_avals):
    """The full tangent list: the given ones where ``out_nz``, symbolic zeros elsewhere."""
    ts = iter(tangents)
    return [next(ts) if nz else Zero(ad.tangent_aval(a)) for nz, a in zip(out_nz, out_avals)]


def nonzero_tangents(tangents):
    """(flags, instantiated nonzero tangents)."""
    flags = [type(t) is not Zero for t in tangents]
    return flags, [t for t in tangents if type(t) is not Zero]


# ---------------------------------------------------------------------------
# batching


def batched_aval(aval: ShapedArray, dim, axis_size):
    if dim is None:
        return aval
    shape = list(aval.shape)
    shape.insert(dim, axis_size)
    return ShapedArray(shape, aval.dtype, aval.weak_type)


def batch_jaxpr(closed: ClosedJaxpr, axis_size, in_dims, instantiate=False):
    """Jaxpr over batched inputs (mapped at ``in_dims``, None for unmapped).

    Mapped outputs come out mapped at axis 0; outputs that do not depend on a
    mapped input stay unmapped unless ``instantiate`` (bool or per output)
    forces them (broadcast). Returns (jaxpr, out_batched). Called by a batching
    rule, it batches over that rule's named axis (``batching.current_axis_name``),
    so collectives inside see it.
    """
    inst = tuple(_as_list(instantiate, len(closed.out_avals)))
    in_dims = tuple(in_dims)
    axis_name = batching.current_axis_name()
    spmd_axis_name = batching.current_spmd_axis_name()

    def make():
        avals = [batched_aval(a, d, axis_size) for a, d in zip(closed.in_avals, in_dims)]
        out_batched = []

        def f(*args):
            outs, dims = batching.vmap_flat(
                lambda *a: eval_jaxpr(closed.jaxpr, closed.consts, *a),
                args,
                in_dims,
                axis_size,
                axis_name=axis_name,
                spmd_axis_name=spmd_axis_name,
            )
            out_batched[:] = [d is not None or i for d, i in zip(dims, inst)]
            return [
                batching.matchaxis(o, d, 0, axis_size) if b else o
                for o, d, b in zip(outs, dims, out_batched)
            ]

        bj = trace_to_jaxpr(f, avals, "vmap")
        return bj, list(out_batched)

    return memo(closed, ("batch", axis_size, in_dims, inst, axis_name, spmd_axis_name), make)


def out_dims_of(out_batched):
    return [0 if b else None for b in out_batched]


# ---------------------------------------------------------------------------
# transposition


def transpose_jaxpr(closed: ClosedJaxpr, linear):
    """Jaxpr of (non-linear inputs, output cotangents) -> cotangents of the linear inputs."""
    linear = tuple(linear)

    def make():
        nonlin_avals = [a for a, lin in zip(closed.in_avals, linear) if not lin]
        n = len(nonlin_avals)

        def f(*args):
            nonlin, cts = iter(args[:n]), args[n:]
            full = [
                UndefinedPrimal(a) if lin else next(nonlin)
                for a, lin in zip(closed.in_avals, linear)
            ]
            cts_in = ad.backward_pass(closed.jaxpr, closed.consts, full, list(cts))
            return [ad.instantiate(ct) for ct, lin in zip(cts_in, linear) if lin]

        return trace_to_jaxpr(f, [*nonlin_avals, *closed.out_avals], "transpose")

    return memo(closed, ("transpose", linear), make)


# ---------------------------------------------------------------------------
# partial evaluation and dead code, memoized


def partial_eval_jaxpr(closed: ClosedJaxpr, unknowns, instantiate=False):
    """pe.partial_eval_jaxpr, memoized: (known, unknown, out_unknowns, num_res)."""
    inst = tuple(_as_list(instantiate, len(closed.out_avals)))
    key = ("pe", tuple(unknowns), inst)
    return memo(closed, key, lambda: pe.partial_eval_jaxpr(closed, list(unknowns), list(inst)))


def out_unknowns(closed: ClosedJaxpr, unknowns):
    return partial_eval_jaxpr(closed, unknowns)[2]


def forward_residuals(known: ClosedJaxpr, num_res, forwardable=True):
    """Residuals that are inputs of ``known``, passed on as they are (JAX: ``in_fwd_res``).

    ``known`` is a known jaxpr of ``partial_eval_jaxpr`` (its last ``num_res`` outputs
    are the residuals). Returns (the jaxpr without the forwarded residual outputs,
    ``fwd``): ``fwd[r]`` is the index of the known input the r-th residual is, or None
    for a residual it computes. ``forwardable`` (flags per input) limits which inputs
    may be forwarded (a loop's carry may not: its residual is one value per iteration).
    """
    flags = tuple(_as_list(forwardable, len(known.in_avals)))

    def make():
        j = known.jaxpr
        n_out = len(j.outvars) - num_res
        pos = {v: i for i, v in enumerate(j.invars) if flags[i]}
        fwd = [pos.get(v) if type(v) is Var else None for v in j.outvars[n_out:]]
        if all(f is None for f in fwd):
            return known, fwd
        kept = [v for v, f in zip(j.outvars[n_out:], fwd) if f is None]
        jaxpr = Jaxpr(j.constvars, j.invars, j.outvars[:n_out] + kept, j.eqns)
        return ClosedJaxpr(jaxpr, known.consts), fwd

    return memo(known, ("fwd_res", num_res, flags), make)


def dce_jaxpr(closed: ClosedJaxpr, used_outputs, prune_invars=True):
    """(jaxpr computing only the used outputs, used_inputs); inputs pruned if asked."""
    key = ("dce", tuple(used_outputs), prune_invars)

    def make():
        j, used_in = pe.dce_jaxpr(closed.jaxpr, list(used_outputs), prune_invars=True)
        if not prune_invars:
            j = Jaxpr(j.constvars, closed.jaxpr.invars, j.outvars, j.eqns)
        keep = set(j.constvars)
        consts = [c for v, c in zip(closed.jaxpr.constvars, closed.consts) if v in keep]
        return ClosedJaxpr(j, consts), used_in

    return memo(closed, key, make)
