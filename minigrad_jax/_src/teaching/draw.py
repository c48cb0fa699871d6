"""``mg.draw``: the computational graph of a function, drawn the way backprop tutorials do.

Operations are nodes (``y_hat = w * x``: the user's names, IR letters only where the user gave
none; literals are written into the operation); inputs are named after the parameters.  Each
edge carries one value: with ``values=True`` its forward value is written on it, and with
``backward=True`` the gradient ``d loss / d`` that value in red below it (``+=`` where the
value has several uses: what flows back along this edge, summed at the producer).  There is
no second set of backward edges.  All numbers come from the one evaluation of ``evaluate.py``.

Higher-order equations keep their node and their inner jaxprs are drawn as clusters: a scan
body once (rolled), with per-iteration values; each cond branch (the one not taken says so); a
jit call's body.  With ``unroll=`` a scan / fori loop is drawn unrolled instead: one copy of
the body per iteration with that iteration's values and gradients, the carries flowing from
one iteration into the next, and a loop-invariant input fanning out to every iteration (its
gradient, ``+=`` on each edge, is summed across them).  An unrolled drawing too big for the
bound shows its first and last iterations and folds the middle ones into one node.

Beyond ``max_nodes`` nodes (about 60) the drawing folds: equations are grouped by source line,
then by user function, then into runs of consecutive equations, until the picture fits in
4000 x 4000 px; ``expand=`` keeps chosen lines or functions open.
"""

from __future__ import annotations

import numpy as np
from jax import tree_util

from minigrad_jax._src import core
from minigrad_jax._src.api import make_jaxpr
from minigrad_jax._src.ir import Literal
from minigrad_jax._src.teaching import html as html_page
from minigrad_jax._src.teaching import render
from minigrad_jax._src.teaching.evaluate import OUT, Evaluation, evaluate, is_diff, scope_tree
from minigrad_jax._src.teaching.model import Model, operand_map
from minigrad_jax._src.teaching.names import arg_names, fmt_value, short_params, source_text
from minigrad_jax._src.teaching.render import Cluster, Edge, Graph, Node
from minigrad_jax._src.teaching.steps import fan_in, local_gradient, per_iteration, where

__all__ = ["Drawing", "draw"]

MAX_SIDE = 4000.0  # px: a folded drawing fits in MAX_SIDE x MAX_SIDE
MAX_UNROLLED = 16  # iterations of a loop drawn unrolled at most (the others fold into a node)
_LABEL_CHARS = 44

_INFIX = {"mul": "*", "add": "+", "add_any": "+", "sub": "-", "div": "/", "pow": "**"}
_INFIX |= {"max": "max", "min": "min"}
_INFIX |= {"gt": ">", "lt": "<", "ge": ">=", "le": "<=", "eq": "==", "ne": "!="}


class Drawing:
    """The computational graph of a function: ``.graph`` (a render.Graph), ``.to_dot()``,
    ``.to_svg()``, ``.to_html()``, ``.save(path)`` (.svg, .png, .dot, .html) and Jupyter
    display.  ``.nodes`` maps node ids to what the page shows when one is clicked."""

    def __init__(
        self, graph: Graph, nodes=None, model=None, fun=None, args=None, folded=0, builder=None
    ):
        self.graph = graph
        self.nodes = nodes or {}
        self.model, self.fun, self.args = model, fun, args
        self.folded = folded  # equations hidden inside folded groups
        self._members = dict(builder.members) if builder is not None else {}
        self._opts = builder.o if builder is not None else None
        self._groups: dict | None = None

    def groups(self) -> dict:
        """The inside of every folded group, opened: ``{group node id: Graph}`` (a group of
        more than ``max_nodes`` equations is folded again, into runs; those are here too).
        Built on first use; the nodes' click data joins ``.nodes``."""
        if self._groups is None:
            self._groups = {}
            todo = list(self._members.items())
            while todo:
                gid, (scope, ks) = todo.pop(0)
                graph, members = _group_graph(self.model, self._opts, scope, ks, gid, self.nodes)
                self._groups[gid] = graph
                todo += members.items()
        return self._groups

    def to_dot(self) -> str:
        return render.to_dot(self.graph)

    def to_svg(self, engine: str = "auto") -> str:
        return render.to_svg(self.graph, engine=engine)

    def size(self) -> tuple[float, float]:
        """(width, height) in px of the pure-Python layout."""
        lay = render.layout(self.graph)
        return lay["width"], lay["height"]

    def to_html(self) -> str:
        """One self-contained interactive page (nothing loaded from the network)."""
        return html_page.page(self, self.graph.title, fun=self.fun, args=self.args or ())

    def save(self, path, engine: str = "auto"):
        if str(path).lower().endswith(".html"):
            return html_page.save_text(path, {".html": self.to_html})
        return render.save(self.graph, path, engine=engine)

    def _repr_svg_(self) -> str:
        return self.to_svg()

    def _repr_html_(self) -> str:
        return html_page.iframe(self.to_html())

    def __repr__(self):
        g = self.graph
        return f"<Drawing {g.title!r}: {len(g.nodes)} nodes, {len(g.edges)} edges>"


def draw(
    fun,
    backward: bool = False,
    values: bool = False,
    static_argnums=(),
    *,
    local: bool = False,
    fold=None,
    max_nodes: int = 60,
    expand=(),
    unroll=False,
):
    """The computational graph of ``fun`` at the given arguments.

    Args:
      fun: the function (pytrees in and out, as for ``mg.make_jaxpr``).
      backward: write on each edge, in red, the gradient d loss / d that value; ``fun`` must
        then return a single float scalar.
      values: write the forward values on the edges.
      static_argnums: as for ``mg.make_jaxpr``.
      local: also write each edge's local gradient d (consumer) / d (edge value).
      fold: group repeated structure (None: only beyond ``max_nodes`` nodes).
      max_nodes: the most nodes drawn unfolded.
      expand: source line numbers or function names whose equations stay unfolded.
      unroll: draw scan / fori loops unrolled, one copy of the body per iteration: True for
        every loop, or source line numbers (of the loop call) or names of body functions for
        some.  Rolled (one body, per-iteration values) is the default; a while loop is
        drawn whole.  Too big for 4000 x 4000 px, fewer iterations are drawn (the middle ones
        folded into one node), then fewer nesting levels, then the loops rolled.

    Returns:
      A function of ``fun``'s arguments returning a :class:`Drawing`.

    Example:
      >>> import minigrad_jax as mg
      >>> def f(w, x):
      ...     y = w * x
      ...     return y
      >>> d = mg.draw(f, backward=True, values=True)(2.0, 3.0)
      >>> [n.label for n in d.graph.nodes]
      ['w', 'x', 'y = w * x', 'y']
      >>> [e.sublabel for e in d.graph.edges]
      ['dy/dw = 3.0', 'dy/dx = 2.0', 'dy/dy = 1.0']
    """

    def drawn(*args, **kwargs):
        closed = make_jaxpr(fun, static_argnums=static_argnums)(*args, **kwargs)
        statics = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
        dyn = [a for i, a in enumerate(args) if i not in statics]
        flat = tree_util.tree_leaves((tuple(dyn), kwargs))
        names = arg_names(fun, args, kwargs)
        if statics:
            names = _dynamic_names(fun, args, kwargs, statics)
        if backward:
            _check_scalar(closed)
        ev = evaluate(closed, flat, backward) if values or backward or local else None
        model = Model(ev, names) if ev is not None else _structure_model(closed, names)
        opts = Options(values, backward, local, fold, max_nodes, tuple(expand), unroll)
        return build(model, getattr(fun, "__name__", "f"), opts, fun=fun, args=args)

    return drawn


def _check_scalar(closed):
    outs = closed.jaxpr.outvars
    if len(outs) != 1 or outs[0].aval.shape != () or not core.is_float(outs[0].aval.dtype):
        shapes = [v.aval.str_short() for v in outs]
        raise TypeError(
            "draw(backward=True) requires a function with a single float scalar output "
            f"(like mg.grad); got outputs {shapes}"
        )


def _structure_model(closed, names):
    """Names and scopes without numbers (a drawing with neither values nor gradients)."""
    return Model(Evaluation(scope_tree(closed), None, []), names)


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


class Options:
    """What a drawing shows (see ``draw``'s arguments)."""

    def __init__(
        self,
        values=False,
        backward=False,
        local=False,
        fold=None,
        max_nodes=60,
        expand=(),
        unroll=False,
    ):
        self.values, self.backward, self.local = values, backward, local
        self.fold, self.max_nodes, self.expand = fold, max_nodes, expand
        if not isinstance(unroll, bool):
            try:
                unroll = frozenset(unroll)
            except TypeError:
                raise TypeError(
                    "unroll must be True/False or a collection of source line numbers and "
                    f"body function names; got {type(unroll).__name__}"
                ) from None
        self.unroll = unroll


def build(model: Model, title: str, opts: Options, fun=None, args=None) -> Drawing:
    """The drawing of ``model``, folded as much as needed to fit in MAX_SIDE x MAX_SIDE."""
    eqns = model.top.jaxpr.eqns
    n_nodes = sum(len(s.jaxpr.eqns) for s in model.top.walk())
    if opts.backward:
        title += " (forward values; gradients in red)"
    elif opts.local:
        title += " (forward values; local gradients in red)"
    elif opts.values:
        title += " (forward values)"
    fold = opts.fold if opts.fold is not None else n_nodes > opts.max_nodes
    if opts.unroll and not opts.fold:  # unrolled as asked, smaller until it fits
        scans = [s for s in model.top.walk() if s.kind == "scan"]
        longest = max((s.parent.jaxpr.eqns[s.eqn_index].params["length"] for s in scans), default=0)
        nested = max((_loop_depth(s) for s in scans), default=0)
        for depth in range(nested, 0, -1):  # all loops unrolled, then fewer nesting levels
            shown = min(longest, MAX_UNROLLED)
            while shown >= 2:  # then fewer iterations (the middle ones fold into a node)
                b = _Builder(model, opts, shown, depth)
                graph = b.build(title, None)
                lay = render.layout(graph)
                if lay["width"] <= MAX_SIDE and lay["height"] <= MAX_SIDE:
                    return Drawing(graph, b.info, model, fun, args, builder=b)
                shown = 2 if shown == 3 else shown // 2
        fold = fold or n_nodes > opts.max_nodes  # too big even so: rolled (and folded)
        o = opts
        opts = Options(o.values, o.backward, o.local, o.fold, o.max_nodes, o.expand)
    if not fold:
        b = _Builder(model, opts)
        return Drawing(b.build(title, None), b.info, model, fun, args, builder=b)
    limit = opts.max_nodes
    while True:
        groups = _groups(eqns, limit, opts.expand)
        b = _Builder(model, opts)
        graph = b.build(title, groups)
        lay = render.layout(graph)
        if (lay["width"] <= MAX_SIDE and lay["height"] <= MAX_SIDE) or limit <= 1:
            hidden = sum(len(g) - 1 for g in groups if len(g) > 1)
            return Drawing(graph, b.info, model, fun, args, folded=hidden, builder=b)
        limit = max(1, limit // 2)


# --------------------------------------------------------------------------- folding


def _groups(eqns, limit, expand) -> list[list[int]]:
    """Equation indices in groups: by source line, else user function, else consecutive
    runs, whichever first gives at most ``limit`` groups (``expand`` lines stay single)."""
    for key in (_line_key, _function_key):
        groups = _group_by(eqns, key, expand)
        if len(groups) <= limit:
            return groups
    size = -(-len(eqns) // max(limit, 1))
    return [list(range(i, min(i + size, len(eqns)))) for i in range(0, len(eqns), size)]


def _subgroups(scope, ks, limit) -> list[list[int]]:
    """A folded group's equations ``ks`` in at most ``limit`` smaller groups."""
    eqns = [scope.jaxpr.eqns[k] for k in ks]
    groups = _groups(eqns, limit, ())
    if len(groups) == 1:  # one source line: consecutive runs
        size = -(-len(ks) // max(limit, 2))
        groups = [list(range(i, min(i + size, len(ks)))) for i in range(0, len(ks), size)]
    return [[ks[i] for i in g] for g in groups]


def _group_graph(model, opts, scope, ks, gid, info) -> tuple[Graph, dict]:
    """The inside of folded group ``gid``, fitted in MAX_SIDE x MAX_SIDE like the drawing;
    also returns the groups folded inside it."""
    limit = opts.max_nodes
    while True:
        b = _Builder(model, opts)
        b.info = {}
        graph = b.group(scope, ks, gid, None if len(ks) <= limit else _subgroups(scope, ks, limit))
        lay = render.layout(graph)
        if (lay["width"] <= MAX_SIDE and lay["height"] <= MAX_SIDE) or limit <= 2:
            info.update(b.info)
            return graph, b.members
        limit = max(2, limit // 2)


def _line_key(eqn):
    si = eqn.source_info
    return None if si is None else (si.file, si.line, si.function)


def _function_key(eqn):
    si = eqn.source_info
    return None if si is None else (si.file, si.function)


def _group_by(eqns, key, expand) -> list[list[int]]:
    groups: dict = {}
    order: list = []
    for k, eqn in enumerate(eqns):
        kk = key(eqn)
        si = eqn.source_info
        if kk is None or (si is not None and (si.line in expand or si.function in expand)):
            kk = ("eqn", k)
        if kk not in groups:
            groups[kk] = []
            order.append(kk)
        groups[kk].append(k)
    return [groups[kk] for kk in order]


# --------------------------------------------------------------------------- the builder


def _short(text: str, limit: int = _LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _loop_depth(scope) -> int:
    """How many scan bodies ``scope`` is in (itself included)."""
    depth = 0
    while scope is not None:
        depth += scope.kind == "scan"
        scope = scope.parent
    return depth


def _shown_iterations(n: int, most: int | None) -> list[int]:
    """The iterations of an n-step loop drawn unrolled: all, or the first and last few."""
    if most is None or n <= most:
        return list(range(n))
    head = (most + 1) // 2
    return [*range(head), *range(n - (most - head), n)]


class _Builder:
    def __init__(self, model: Model, opts: Options, shown: int | None = None, depth=None):
        self.m, self.o = model, opts
        self.shown = shown  # unrolled loops: the most iterations drawn (None: all)
        self.depth = depth  # unrolled loops: the deepest nesting level unrolled (None: all)
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.clusters: list[Cluster] = []
        self.info: dict = {}  # node id -> what the interactive page shows
        self.members: dict = {}  # folded group node id -> (scope, its equation indices)
        self.src: dict = {}  # (scope, var) -> producing node id
        top = model.top
        out = top.jaxpr.outvars
        self.loss = model.name(top, out[0]) if len(out) == 1 else "out"
        if len(out) == 1 and type(out[0]) is not Literal and out[0] in top.jaxpr.invars:
            self.loss = "out"

    def node(self, nid, label, kind, container, tooltip="", info=None):
        self.nodes.append(Node(nid, label, kind, tooltip))
        if container is not None:
            container.node_ids.append(nid)
        if info is not None:
            self.info[nid] = info
        return nid

    # -- texts

    def value_text(self, scope, var) -> str | None:
        if scope.values and var in scope.values:
            return per_iteration(scope, scope.values[var])
        return None

    def edge_labels(self, scope, atom, key, consumer_eqn=None, pos=None):
        if type(atom) is Literal:
            return "", ""
        ct = scope.edges.get(key) if self.o.backward else None
        label, sub = self.labels(scope, atom, ct, len(fan_in(scope, atom)) > 1)
        if self.o.local and consumer_eqn is not None and scope.values and scope.loops == 0:
            local = self.local_text(scope, consumer_eqn, pos)
            if local:
                sub = (sub + "\n" if sub else "") + local
        return label, sub

    def labels(self, scope, var, ct, summed=False, name=None):
        """(value text, gradient text) of an edge carrying ``var`` and sending ``ct`` back
        (``+=`` when ``summed``: one of several contributions added at the producer)."""
        name = name or self.m.name(scope, var)
        label = ""
        if self.o.values:
            val = self.value_text(scope, var)
            label = f"{name} = {_short(val, 36)}" if val is not None else name
        elif not self.o.backward:
            label = name
        sub = ""
        if ct is not None:
            op = "+=" if summed else "="
            sub = f"d{self.loss}/d{name} {op} {_short(per_iteration(scope, ct), 30)}"
        return label, sub

    def local_text(self, scope, eqn, pos) -> str:
        if not any(is_diff(v.aval) for v in eqn.outvars) or not is_diff(eqn.invars[pos].aval):
            return ""
        invals = [a.val if type(a) is Literal else scope.values[a] for a in eqn.invars]
        _, text, _ = local_gradient(eqn, invals, pos)
        out = self.m.name(scope, eqn.outvars[0])
        return f"local d{out}/d{self.m.name(scope, eqn.invars[pos])} = {_short(text, 24)}"

    def op_text(self, scope, eqn) -> str:
        outs = ", ".join(self.m.name(scope, v) for v in eqn.outvars)
        args = [self.m.name(scope, a) for a in eqn.invars]
        prim = eqn.primitive.name
        if prim in _INFIX and len(args) == 2:
            expr = f"{args[0]} {_INFIX[prim]} {args[1]}"
        elif prim == "integer_pow":
            expr = f"{args[0]} ** {eqn.params['y']}"
        elif prim == "dot_general" and len(args) == 2:
            expr = f"{args[0]} @ {args[1]}"
        elif prim in ("reduce_sum", "reduce_max", "reduce_min") and len(args) == 1:
            expr = f"{prim[7:]}({args[0]}, axes={tuple(eqn.params.get('axes', ()))})"
        elif prim == "convert_element_type":
            expr = f"{np.dtype(eqn.params['new_dtype']).name}({args[0]})"
        elif prim == "neg":
            expr = f"-{args[0]}"
        else:
            expr = f"{short_params(eqn, 20)}({', '.join(args)})"
        return _short(f"{outs} = {expr}")

    def type_text(self, eqn) -> str:
        types = ", ".join(v.aval.str_short() for v in eqn.outvars if v.aval.shape)
        return types

    # -- the graph

    def build(self, title, groups) -> Graph:
        top = self.m.top
        j = top.jaxpr
        for i, v in enumerate(j.constvars):
            label = f"{self.m.name(top, v)}\n{v.aval.str_short()}"
            self.src[(top, v)] = self.node(f"const{i}", label, "const", None)
        for i, v in enumerate(j.invars):
            label = self.m.name(top, v)
            if v.aval.shape:
                label += f"\n{v.aval.str_short()}"
            nid = self.node(f"in{i}", label, "input", None, info=self.var_info(top, v, None))
            self.src[(top, v)] = nid
        if groups is None:
            self.eqns(top, "", None)
        else:
            self.folded(top, groups)
        for i, v in enumerate(j.outvars):
            name = self.loss if len(j.outvars) == 1 else f"out[{i}]"
            label = name
            if type(v) is not Literal and v.aval.shape:
                label += f"\n{v.aval.str_short()}"
            info = self.var_info(top, v, None) if type(v) is not Literal else None
            oid = self.node(f"out{i}", label, "output", None, info=info)
            self.connect(top, v, oid, (OUT, i), None)
        return Graph(self.nodes, self.edges, self.clusters, title)

    def connect(self, scope, atom, dst, key, container, eqn=None, pos=None):
        if type(atom) is Literal:
            return
        src = self.src.get((scope, atom))
        if src is None:
            return
        label, sub = self.edge_labels(scope, atom, key, eqn, pos)
        self.edges.append(Edge(src, dst, label, "forward", sub))

    def eqns(self, scope, prefix, container, only=None):
        for k in range(len(scope.jaxpr.eqns)) if only is None else only:
            eqn = scope.jaxpr.eqns[k]
            nid = f"{prefix}eqn{k}"
            label = self.op_text(scope, eqn)
            types = self.type_text(eqn)
            if types:
                label += f"\n{types}"
            tip = str(eqn.source_info) if eqn.source_info is not None else ""
            self.node(nid, label, "op", container, tooltip=tip, info=self.eqn_info(scope, k))
            fed: set = set()
            for kid in scope.children.get(k, []):
                fed |= self.cluster(scope, k, eqn, kid, nid, prefix, container)
            for i, atom in enumerate(eqn.invars):
                if i not in fed:
                    self.connect(scope, atom, nid, (k, i), container, eqn, i)
            for v in eqn.outvars:
                self.src[(scope, v)] = nid

    def unrolls(self, eqn, kid) -> bool:
        u = self.o.unroll
        if kid.kind != "scan" or not u or not eqn.params["length"]:
            return False
        if self.depth is not None and _loop_depth(kid) > self.depth:
            return False
        if u is True:
            return True
        si = eqn.source_info
        lines = {si.line} if si is not None else set()
        funcs = {e.source_info.function for e in kid.jaxpr.eqns if e.source_info is not None}
        return bool((lines | funcs) & u)

    def cluster(self, scope, k, eqn, kid, eqn_id, prefix, container) -> set:
        if self.unrolls(eqn, kid):
            return self.unrolled(scope, k, eqn, kid, eqn_id, prefix, container)
        j = scope.children[k].index(kid)
        cprefix = f"{prefix}eqn{k}_{j}/"
        label = where(self.m, kid).split(" (")[0] if kid.kind != "scan" else "scan body"
        if kid.kind == "scan":
            label += f" ({eqn.params['length']} iterations, rolled)"
        taken = kid.taken() if kid.values else None
        if taken is not None and not np.any(taken):
            label += " (not taken)"
        cluster = Cluster(f"{prefix}c{k}_{j}", label)
        (container.clusters if container is not None else self.clusters).append(cluster)
        ij = kid.jaxpr
        ops = operand_map(eqn, kid)
        for i, v in enumerate(ij.invars):
            label = self.m.name(kid, v)
            nid = self.node(
                f"{cprefix}in{i}", label, "cluster_in", cluster, info=self.var_info(kid, v, None)
            )
            self.src[(kid, v)] = nid
            if ops is not None:
                outer = eqn.invars[ops[i]]
                self.connect(scope, outer, nid, (k, ops[i]), container, None, None)
        for i, v in enumerate(ij.constvars):
            self.src[(kid, v)] = self.node(
                f"{cprefix}const{i}", self.m.name(kid, v), "const", cluster
            )
        self.eqns(kid, cprefix, cluster)
        for i, v in enumerate(ij.outvars):
            oid = self.node(f"{cprefix}out{i}", f"out[{i}]", "cluster_out", cluster)
            self.connect(kid, v, oid, (OUT, i), cluster)
            self.edges.append(Edge(oid, eqn_id))
        return set(ops or ())

    def unrolled(self, scope, k, eqn, kid, eqn_id, prefix, container) -> set:
        """A scan drawn unrolled: a cluster per iteration holding a copy of the body."""
        j = scope.children[k].index(kid)
        p = eqn.params
        n, nc, nk = p["length"], p["num_consts"], p["num_carry"]
        box = Cluster(f"{prefix}c{k}_{j}", f"scan body ({n} iterations, unrolled)")
        (container.clusters if container is not None else self.clusters).append(box)
        ij = kid.jaxpr
        outer = [self.src.get((scope, a)) if type(a) is not Literal else None for a in eqn.invars]
        carry = outer[nc : nc + nk]  # the node each carry comes from, iteration to iteration
        shown = _shown_iterations(n, self.shown)
        last = None
        for pos, i in enumerate(shown):
            if pos and i != shown[pos - 1] + 1:
                carry = self.skipped(kid, eqn, shown[pos - 1] + 1, i, carry, outer, box, eqn_id)
            it = self.m.iteration(kid, i)
            cl = Cluster(f"{prefix}c{k}_{j}_it{i}", f"iteration {i}")
            box.clusters.append(cl)
            ip = f"{prefix}eqn{k}_{j}/it{i}/"
            for q, v in enumerate(ij.invars):
                src = carry[q - nc] if nc <= q < nc + nk else outer[q]
                label = self.m.name(it, v)
                if src is None and type(eqn.invars[q]) is Literal:  # e.g. an initial carry 0.5
                    label += f" = {self.m.name(scope, eqn.invars[q])}"
                info = self.var_info(it, v, None)
                nid = self.node(f"{ip}in{q}", label, "cluster_in", cl, info=info)
                self.src[(it, v)] = nid
                if src is not None:
                    ct = it.cotangent(v) if self.o.backward and it.edges else None
                    label, sub = self.labels(it, v, ct, summed=q < nc)
                    self.edges.append(Edge(src, nid, label, "forward", sub))
            for q, v in enumerate(ij.constvars):
                self.src[(it, v)] = self.node(f"{ip}const{q}", self.m.name(it, v), "const", cl)
            self.eqns(it, ip, cl)
            carry = [
                self.src.get((it, v)) if type(v) is not Literal else None for v in ij.outvars[:nk]
            ]
            for q in range(nk, len(ij.outvars)):  # this iteration's ys, stacked by the scan
                self.out_edge(it, ij.outvars[q], q, self.src.get((it, ij.outvars[q])), eqn_id)
            last = it
        for q in range(nk):  # the final carries
            self.out_edge(last, ij.outvars[q], q, carry[q], eqn_id)
        return set(range(len(eqn.invars)))

    def out_edge(self, it, v, q, src, dst):
        if src is None or type(v) is Literal:
            return
        ct = it.edges.get((OUT, q)) if self.o.backward else None
        label, sub = self.labels(it, v, ct)
        self.edges.append(Edge(src, dst, label, "forward", sub))

    def skipped(self, kid, eqn, a, b, carry, outer, box, eqn_id) -> list:
        """Iterations a..b-1 of an unrolled scan folded into one node; returns its carries."""
        p = eqn.params
        nc, nk = p["num_consts"], p["num_carry"]
        nid = f"{box.id}_it{a}-{b - 1}"
        label = f"iterations {a}..{b - 1}\n(folded: {len(kid.jaxpr.eqns)} ops each)"
        self.node(nid, label, "op", box, tooltip=f"iterations {a} to {b - 1} of {p['length']}")
        first = self.m.iteration(kid, a)
        for q, v in enumerate(kid.jaxpr.invars):
            src = carry[q - nc] if nc <= q < nc + nk else outer[q]
            if src is None or q >= nc + nk:
                continue
            ct = None
            if self.o.backward and first.edges:
                cts = [self.m.iteration(kid, i).cotangent(v) for i in range(a, b)]
                ct = cts[0] if q >= nc else sum(cts[1:], cts[0])
            label, sub = self.labels(first, v, ct, summed=q < nc)
            self.edges.append(Edge(src, nid, label, "forward", sub))
        if any(q >= nc + nk for q in range(len(kid.jaxpr.invars))) and outer[nc + nk :]:
            xs = next((s for s in outer[nc + nk :] if s is not None), None)
            if xs is not None:
                self.edges.append(Edge(xs, nid, f"xs[{a}:{b}]"))
        if len(kid.jaxpr.outvars) > nk:
            self.edges.append(Edge(nid, eqn_id, f"ys[{a}:{b}]"))
        return [nid] * nk

    def group(self, scope, ks, gid, groups) -> Graph:
        """The inside of a folded group: the values it reads, its equations (``groups``: in
        folded groups again) and the values it hands on."""
        j = scope.jaxpr
        prefix = f"{gid}/"
        made = {v for k in ks for v in j.eqns[k].outvars}
        n = 0
        for k in ks:
            for a in j.eqns[k].invars:
                if type(a) is Literal or a in made or (scope, a) in self.src:
                    continue
                label = self.m.name(scope, a) + (f"\n{a.aval.str_short()}" if a.aval.shape else "")
                info = self.var_info(scope, a, None)
                self.src[(scope, a)] = self.node(
                    f"{prefix}in{n}", label, "cluster_in", None, info=info
                )
                n += 1
        if groups is None:
            self.eqns(scope, prefix, None, only=ks)
        else:
            self.folded(scope, groups, prefix)
        inside = set(ks)
        used = {a for q, e in enumerate(j.eqns) if q not in inside for a in e.invars}
        used |= set(j.outvars)
        outs = [v for k in ks for v in j.eqns[k].outvars if v in used]
        for q, v in enumerate(outs):
            oid = self.node(f"{prefix}out{q}", self.m.name(scope, v), "cluster_out", None)
            ct = scope.cotangent(v) if self.o.backward and scope.edges else None
            label, sub = self.labels(scope, v, ct, summed=len(fan_in(scope, v)) > 1)
            self.edges.append(Edge(self.src[(scope, v)], oid, label, "forward", sub))
        return Graph(self.nodes, self.edges, self.clusters, "")

    def folded(self, scope, groups, prefix=""):
        j = scope.jaxpr
        for g, ks in enumerate(groups):
            if len(ks) == 1:
                k = ks[0]
                eqn = j.eqns[k]
                label = self.op_text(scope, eqn)
                nid = f"{prefix}eqn{k}"
                self.node(nid, label, "op", None, info=self.eqn_info(scope, k))
            else:
                nid = f"{prefix}group{g}"
                self.members[nid] = (scope, ks)
                first = j.eqns[ks[0]]
                si = first.source_info
                where_ = f"line {si.line} ({si.function})" if si is not None else "no source"
                text = _short(source_text(first), 40)
                prims = sorted({j.eqns[k].primitive.name for k in ks})
                label = f"{where_}: {len(ks)} ops\n{text}\n{_short(', '.join(prims), 40)}"
                tip = "folded: " + "; ".join(self.op_text(scope, j.eqns[k]) for k in ks[:8])
                self.node(
                    nid, label, "op", None, tooltip=tip, info=self.eqn_info(scope, ks[-1], group=ks)
                )
            seen: set = set()
            for k in ks:
                for i, atom in enumerate(j.eqns[k].invars):
                    if type(atom) is Literal:
                        continue
                    src = self.src.get((scope, atom))
                    if src is None or src == nid or (src, nid) in seen:
                        continue
                    seen.add((src, nid))
                    label, sub = self.edge_labels(scope, atom, (k, i))
                    self.edges.append(Edge(src, nid, label, "forward", sub))
            for k in ks:
                for v in j.eqns[k].outvars:
                    self.src[(scope, v)] = nid

    # -- what a click shows

    def var_info(self, scope, var, eqn_index):
        if type(var) is Literal:
            return None
        info = {"name": self.m.name(scope, var), "type": var.aval.str_short()}
        info["where"] = "top level" if scope.parent is None else where(self.m, scope)
        if scope.values and var in scope.values:
            info["value"] = _array_info(scope.values[var], scope.loops)
            ct = scope.cotangent(var) if scope.edges else None
            if ct is not None:
                info["cotangent"] = _array_info(ct, scope.loops)
                uses = fan_in(scope, var)
                info["fan_in"] = [(self.use_text(scope, key), fmt_value(c)) for key, c in uses]
            if scope.loops:
                info["iterations"] = _iteration_rows(scope.values[var], ct, scope.loops)
        return info

    def use_text(self, scope, key) -> str:
        k, i = key
        if k == OUT:
            return f"output {i}"
        return self.op_text(scope, scope.jaxpr.eqns[k])

    def eqn_info(self, scope, k, group=None):
        eqn = scope.jaxpr.eqns[k]
        outs = [v for v in eqn.outvars]
        info = self.var_info(scope, outs[0], k) or {}
        info["op"] = self.op_text(scope, eqn)
        info["source"] = str(eqn.source_info) if eqn.source_info is not None else ""
        info["line"] = source_text(eqn)
        if group is not None:
            info["folded"] = [self.op_text(scope, scope.jaxpr.eqns[q]) for q in group[:50]]
        if self.o.backward and scope.edges and scope.values:
            info["chain"] = self.chain_steps(scope, k)
        return info

    def chain_steps(self, scope, k) -> list:
        """[(input, incoming adjoint, local gradient, contribution)] for equation ``k``."""
        eqn = scope.jaxpr.eqns[k]
        cts = [scope.cotangent(v) for v in eqn.outvars]
        incoming = ", ".join("0" if c is None else per_iteration(scope, c) for c in cts)
        steps = []
        for i, a in enumerate(eqn.invars):
            if (k, i) not in scope.edges:
                continue
            local = ""
            if scope.loops == 0 and not scope.children.get(k):
                local = self.local_text(scope, eqn, i).split(" = ", 1)[-1]
            contrib = per_iteration(scope, scope.edges[(k, i)])
            steps.append((self.m.name(scope, a), incoming, local, contrib))
        return steps


def _array_info(x, loops) -> dict:
    """A value for the page: its summary, and a small heatmap grid for arrays."""
    a = np.asarray(x)
    out = {"text": fmt_value(a) if loops == 0 else _loops_text(a), "shape": list(a.shape)}
    if a.ndim >= 1 and a.size > 1 and a.dtype.kind in "fiub":
        grid = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(1, -1)
        grid = grid[:32, :32].astype(np.float64)
        out["heat"] = [[round(float(v), 5) for v in row] for row in grid]
    return out


MAX_ITERATION_ROWS = 256  # rows of the page's per-iteration table


def _iteration_rows(value, ct, loops) -> list:
    """[iteration, value, cotangent] per iteration (index tuples for nested loops)."""
    v = np.asarray(value)
    rows = []
    for idx in np.ndindex(*v.shape[:loops]):
        if len(rows) == MAX_ITERATION_ROWS:
            rows.append(["...", f"{int(np.prod(v.shape[:loops])) - len(rows)} more", ""])
            break
        label = idx[0] if loops == 1 else ", ".join(map(str, idx))
        rows.append(
            [label, fmt_value(v[idx]), "" if ct is None else fmt_value(np.asarray(ct)[idx])]
        )
    return rows


def _loops_text(a) -> str:
    items = [fmt_value(a[i]) for i in range(min(len(a), 8))]
    return "per iteration: [" + "; ".join(items) + ("; ..." if len(a) > 8 else "") + "]"
