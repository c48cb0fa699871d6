"""``mg.draw``: the computational graph of a function, built from its jaxpr.

Nodes: one per input (named after ``f``'s parameters), one per constant (closed-over arrays and
the literals written inline in equations), one per equation (primitive, short params, output
type) and one per output.  Edges carry data: each is labelled with the jaxpr variable it
carries (and its forward value with ``values=True``).

Higher-order equations (``jit``, ``cond``, ``scan``, ``while``, ...: any equation with a
jaxpr-valued param) keep their own node, which collects the results, and each inner jaxpr is
drawn as a cluster: its inputs (``cluster_in`` nodes, fed from the operands), its equations
and its outputs (``cluster_out`` nodes, flowing into the equation's node).

``backward=True`` adds the backward graph: for every forward edge that carries a variable
into an equation, a dashed edge goes back from that equation to the variable's producer,
labelled with the adjoint contribution it sends (``dL/d<var>``).  These are computed exactly
as ``mg.explain_grad`` does: the forward jaxpr is walked in reverse and each equation is
pulled back with ``mg.vjp`` of that single equation at the recorded forward values; where a
variable is used several times, its producer receives several dashed edges whose labels sum
to its adjoint.  We chose this over drawing the transposed linear jaxpr because it keeps the
picture of the tutorial: the same nodes, with the adjoints flowing back along the same edges.
Higher-order equations are pulled back as a whole (no backward edges inside clusters).
"""

from __future__ import annotations

import numpy as np
from jax import tree_util

from minigrad_jax._src import core, graph_render
from minigrad_jax._src.api import make_jaxpr
from minigrad_jax._src.explain import (
    arg_names,
    eqn_vjp,
    fmt_value,
    read_env,
    record_forward,
    short_params,
    user_labels,
    var_names,
)
from minigrad_jax._src.graph_render import Cluster, Edge, Graph, Node
from minigrad_jax._src.ir import ClosedJaxpr, Jaxpr, Literal

__all__ = ["Drawing", "draw"]

# Higher-order primitives whose inner jaxpr receives exactly the operands (so forward values
# can be shown inside the cluster too).
_CALL_LIKE = (
    "jit",
    "pjit",
    "closed_call",
    "core_call",
    "checkpoint",
    "remat",
    "custom_jvp_call",
    "custom_vjp_call",
)


class Drawing:
    """The computational graph of a function: ``.graph`` (a graph_render.Graph),
    ``.to_dot()``, ``.to_svg()``, ``.save(path)`` (.svg, .png, .dot) and Jupyter display."""

    def __init__(self, graph: Graph):
        self.graph = graph

    def to_dot(self) -> str:
        return graph_render.to_dot(self.graph)

    def to_svg(self, engine: str = "auto") -> str:
        return graph_render.to_svg(self.graph, engine=engine)

    def save(self, path, engine: str = "auto"):
        return graph_render.save(self.graph, path, engine=engine)

    def _repr_svg_(self) -> str:
        return self.to_svg()

    def __repr__(self):
        g = self.graph
        return f"<Drawing {g.title!r}: {len(g.nodes)} nodes, {len(g.edges)} edges>"


def draw(fun, backward: bool = False, values: bool = False, static_argnums=()):
    """The computational graph of ``fun`` at the given arguments.

    Args:
      fun: the function (pytrees in and out, as for ``mg.make_jaxpr``).
      backward: also draw the backward pass (dashed edges labelled with adjoints);
        ``fun`` must then return a single float scalar.
      values: label the edges with the forward values.
      static_argnums: as for ``mg.make_jaxpr``.

    Returns:
      A function of ``fun``'s arguments returning a :class:`Drawing`.

    Example:
      >>> import minigrad_jax as mg
      >>> d = mg.draw(lambda w, x: w * x)(2.0, 3.0)
      >>> "mul" in d.to_dot()
      True
    """

    def drawn(*args, **kwargs):
        closed = make_jaxpr(fun, static_argnums=static_argnums)(*args, **kwargs)
        statics = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
        dyn = [a for i, a in enumerate(args) if i not in statics]
        flat = tree_util.tree_leaves((tuple(dyn), kwargs))
        names = arg_names(fun, args, kwargs)
        if statics:
            names = _dynamic_names(fun, args, kwargs, statics)
        title = getattr(fun, "__name__", "f")
        if backward:
            outs = closed.jaxpr.outvars
            if len(outs) != 1 or outs[0].aval.shape != () or not core.is_float(outs[0].aval.dtype):
                shapes = [v.aval.str_short() for v in outs]
                raise TypeError(
                    "draw(backward=True) requires a function with a single float scalar output "
                    f"(like mg.grad); got outputs {shapes}"
                )
        need_values = values or backward
        builder = _Builder(values=values)
        graph = builder.build(closed, names, flat if need_values else None, backward, title)
        return Drawing(graph)

    return drawn


def _dynamic_names(fun, args, kwargs, statics):
    all_names = arg_names(fun, [0] * len(args), kwargs)  # one name per positional argument
    out = []
    for i, a in enumerate(args):
        if i in statics:
            continue
        base = all_names[i]
        for path, _ in tree_util.tree_flatten_with_path(a)[0]:
            out.append(base + tree_util.keystr(path))
    return out + arg_names(fun, [], kwargs)


def _inner_jaxprs(eqn):
    """[(param name, index or None, ClosedJaxpr | Jaxpr)] for jaxpr-valued params."""
    found = []
    for k, v in eqn.params.items():
        if isinstance(v, (ClosedJaxpr, Jaxpr)):
            found.append((k, None, v))
        elif isinstance(v, (tuple, list)):
            for j, item in enumerate(v):
                if isinstance(item, (ClosedJaxpr, Jaxpr)):
                    found.append((k, j, item))
    return found


def _operand_map(eqn, key, inner: Jaxpr):
    """Indices of the outer operands feeding ``inner``'s invars, or None when unknown."""
    n_in, n_ops = len(inner.invars), len(eqn.invars)
    p = eqn.params
    if eqn.primitive.name == "while" and "cond_nconsts" in p and "body_nconsts" in p:
        cn, bn = p["cond_nconsts"], p["body_nconsts"]
        carry = list(range(cn + bn, n_ops))
        idx = list(range(cn)) + carry if key == "cond_jaxpr" else list(range(cn, cn + bn)) + carry
        return idx if len(idx) == n_in else None
    if n_in <= n_ops:
        return list(range(n_ops - n_in, n_ops))
    return None


class _Builder:
    def __init__(self, values: bool):
        self.values = values
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.clusters: list[Cluster] = []

    # -- helpers

    def _node(self, nid, label, kind, container, tooltip=""):
        self.nodes.append(Node(nid, label, kind, tooltip))
        if container is not None:
            container.node_ids.append(nid)
        return nid

    def _edge_label(self, name, env, atom):
        if self.values and env is not None and type(atom) is not Literal and atom in env:
            return f"{name} = {fmt_value(env[atom])}"
        return name

    # -- construction

    def build(self, closed: ClosedJaxpr, in_names, flat_args, backward, title) -> Graph:
        jaxpr = closed.jaxpr
        env = record_forward(jaxpr, closed.consts, flat_args) if flat_args is not None else None
        src: dict = {}
        names = var_names(jaxpr)
        labels = user_labels(jaxpr)
        for i, v in enumerate(jaxpr.constvars):
            text = f"const {names[v]}\n{v.aval.str_short()}\n{fmt_value(closed.consts[i])}"
            src[v] = self._node(f"const{i}", text, "const", None)
        for i, v in enumerate(jaxpr.invars):
            nm = in_names[i] if i < len(in_names) else names[v]
            label = f"{nm}\n{v.aval.str_short()}"
            if self.values and env is not None:
                label += f"\n= {fmt_value(env[v])}"
            src[v] = self._node(f"in{i}", label, "input", None, tooltip=f"jaxpr var {names[v]}")
        uses = self._eqns(jaxpr, names, labels, env, src, "", None)
        outs = []
        for i, v in enumerate(jaxpr.outvars):
            name = "out" if len(jaxpr.outvars) == 1 else f"out[{i}]"
            label = f"{name}\n{v.aval.str_short()}"
            if self.values and env is not None:
                label += f"\n= {fmt_value(read_env(env, v))}"
            oid = self._node(f"out{i}", label, "output", None)
            outs.append(oid)
            self._connect(v, oid, names, env, src, f"outlit{i}", None)
        if backward:
            self._backward(jaxpr, names, env, src, uses, outs[0])
            title += " (forward and backward)"
        return Graph(self.nodes, self.edges, self.clusters, title)

    def _connect(self, atom, dst, names, env, src, lit_id, container):
        """Forward edge bringing ``atom`` (a Var with a producer, or a Literal) to ``dst``."""
        if type(atom) is Literal:
            lid = self._node(lit_id, str(atom).split(":")[0], "const", container, tooltip=str(atom))
            self.edges.append(Edge(lid, dst))
            return
        self.edges.append(Edge(src[atom], dst, self._edge_label(names[atom], env, atom)))

    def _eqns(self, jaxpr, names, labels, env, src, prefix, container):
        """Add the equations of ``jaxpr``; returns [(eqn, node id)] in order."""
        placed = []
        for k, eqn in enumerate(jaxpr.eqns):
            nid = f"{prefix}eqn{k}"
            types = ", ".join(v.aval.str_short() for v in eqn.outvars)
            outn = ", ".join(
                names[v] + (f" ({labels[v]})" if v in labels else "") for v in eqn.outvars
            )
            label = f"{short_params(eqn)}\n{outn}: {types}"
            tip = str(eqn.source_info) if eqn.source_info is not None else ""
            inners = _inner_jaxprs(eqn)
            self._node(nid, label, "op", container, tooltip=tip)
            mapped: set = set()
            for j, (key, idx, inner) in enumerate(inners):
                mapped |= self._cluster(
                    eqn, k, j, key, idx, inner, names, env, src, nid, prefix, container
                )
            for i, atom in enumerate(eqn.invars):
                if i not in mapped:
                    self._connect(atom, nid, names, env, src, f"{nid}_lit{i}", container)
            for v in eqn.outvars:
                src[v] = nid
            placed.append((eqn, nid))
        return placed

    def _cluster(self, eqn, k, j, key, idx, inner, names, env, src, eqn_id, prefix, container):
        closed = inner if isinstance(inner, ClosedJaxpr) else ClosedJaxpr(inner, [])
        ij = closed.jaxpr
        cprefix = f"{prefix}eqn{k}_{j}/"
        name = eqn.params.get("name")
        title = f"{eqn.primitive.name} {key}" + (f"[{idx}]" if idx is not None else "")
        if isinstance(name, str):
            title += f" ({name})"
        cluster = Cluster(f"{prefix}c{k}_{j}", title)
        (container.clusters if container is not None else self.clusters).append(cluster)
        opmap = _operand_map(eqn, key, ij)
        inner_env = self._inner_env(eqn, idx, closed, opmap, env)
        inames = var_names(ij)
        isrc: dict = {}
        for i, v in enumerate(ij.constvars):
            text = f"const {inames[v]}\n{v.aval.str_short()}\n{fmt_value(closed.consts[i])}"
            isrc[v] = self._node(f"{cprefix}const{i}", text, "const", cluster)
        for i, v in enumerate(ij.invars):
            label = f"{inames[v]}\n{v.aval.str_short()}"
            isrc[v] = self._node(f"{cprefix}in{i}", label, "cluster_in", cluster)
            if opmap is not None:
                self._connect(
                    eqn.invars[opmap[i]], isrc[v], names, env, src, f"{cprefix}inlit{i}", container
                )
        self._eqns(ij, inames, user_labels(ij), inner_env, isrc, cprefix, cluster)
        for i, v in enumerate(ij.outvars):
            oid = self._node(
                f"{cprefix}out{i}", f"out[{i}]\n{v.aval.str_short()}", "cluster_out", cluster
            )
            self._connect(v, oid, inames, inner_env, isrc, f"{cprefix}outlit{i}", cluster)
            self.edges.append(Edge(oid, eqn_id))
        return set(opmap or ())

    def _inner_env(self, eqn, idx, closed, opmap, env):
        """Forward values inside a call-like or cond equation's jaxpr (None otherwise)."""
        if env is None or opmap is None:
            return None
        name = eqn.primitive.name
        if name == "cond" and idx is not None and eqn.invars:
            taken = int(read_env(env, eqn.invars[0]))
            if taken != idx:
                return None
        elif name not in _CALL_LIKE:
            return None
        args = [read_env(env, eqn.invars[i]) for i in opmap]
        return record_forward(closed.jaxpr, closed.consts, args)

    def _backward(self, jaxpr, names, env, src, placed, out_id):
        outvar = jaxpr.outvars[0]
        if type(outvar) is Literal:
            return
        ct: dict = {outvar: np.ones((), outvar.aval.dtype)}
        n_uses: dict = {}
        for eqn, _ in placed:
            for a in eqn.invars:
                n_uses[a] = n_uses.get(a, 0) + 1
        self.edges.append(Edge(out_id, src[outvar], f"d out/d {names[outvar]} = 1.0", "backward"))
        for eqn, nid in reversed(placed):
            out_cts = [ct.get(v) for v in eqn.outvars]
            if all(c is None for c in out_cts):
                continue
            invals = [read_env(env, a) for a in eqn.invars]
            in_cts = eqn_vjp(eqn, invals, out_cts)
            for a, c in zip(eqn.invars, in_cts, strict=True):
                if c is None or type(a) is Literal:
                    continue
                ct[a] = ct[a] + c if a in ct else c
                op = "+=" if n_uses.get(a, 0) > 1 else "="
                label = f"d out/d {names[a]} {op} {fmt_value(c)}"
                self.edges.append(Edge(nid, src[a], label, "backward"))
