"""Render computational graphs as Graphviz DOT, SVG or PNG.

This backs ``mg.draw``: a jaxpr becomes a :class:`Graph` (one node per equation, input,
constant and output nodes, edges for data flow, clusters for the inner graphs of higher-order
equations; an edge's ``label`` is drawn in black with its ``sublabel``, the gradient, in red
below it) and is rendered here.  Only the standard library is needed at import time: the
Graphviz ``dot`` executable is used when it is on PATH, otherwise a small pure-Python layered
(Sugiyama-style) layout is drawn by hand as SVG, or with matplotlib (imported lazily) as PNG.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from bisect import bisect_right, insort
from collections import defaultdict, deque
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace
from xml.sax.saxutils import escape as _sax_escape

__all__ = [
    "Cluster",
    "Edge",
    "Graph",
    "Node",
    "layout",
    "save",
    "to_dot",
    "to_png",
    "to_svg",
]

NODE_KINDS = ("input", "const", "op", "output", "cluster_in", "cluster_out")
EDGE_KINDS = ("forward", "backward")
ENGINES = ("auto", "python", "dot")
SUFFIXES = (".svg", ".png", ".dot", ".gv")

# Geometry, in SVG pixels.  Text is measured as monospace at 12 px: ~7.2 px per character.
_CHAR_W = 7.2
_LINE_H = 16.0
_PAD_X = 12.0
_PAD_Y = 8.0
_MIN_W = 40.0
_ELLIPSE_GROW = 1.42  # ~sqrt(2): an ellipse needs this much slack to enclose a text box
_NODE_GAP = 24.0
_DUMMY_GAP = 12.0
_DUMMY_W = 4.0
_RANK_GAP = 44.0
_CLUSTER_PAD = 12.0
_CLUSTER_LABEL_H = 18.0
_MARGIN = 16.0
_TITLE_H = 30.0
_PORT_STEP = 12.0
_SWEEPS = 4
_RELAX_PASSES = 8
_DOT_TIMEOUT_S = 20

_FORWARD_COLOR = "#444444"
_BACKWARD_COLOR = "#d9480f"
_CLUSTER_FILLS = ("#f8f9fa", "#eef1f5", "#e4e9f0")
_CLUSTER_STROKE = "#868e96"
_NO_PNG_HINT = (
    "PNG output needs either the Graphviz 'dot' executable on PATH or matplotlib; "
    'run `pip install "minigrad_jax[viz]"` or install Graphviz (https://graphviz.org).'
)


# --------------------------------------------------------------------------- data model


@dataclass(slots=True)
class Node:
    """A vertex.  ``label`` may hold several lines separated by ``\\n``."""

    id: str
    label: str
    kind: str = "op"
    tooltip: str = ""

    def __post_init__(self):
        if self.kind not in NODE_KINDS:
            raise ValueError(
                f"Node {self.id!r}: kind must be one of {NODE_KINDS}, got {self.kind!r}"
            )


@dataclass(slots=True)
class Edge:
    """Data flowing from ``src`` to ``dst``; ``backward`` edges are drawn dashed and coloured.
    ``sublabel`` (the gradient flowing back along the edge) is drawn in red below ``label``."""

    src: str
    dst: str
    label: str = ""
    kind: str = "forward"
    sublabel: str = ""

    def __post_init__(self):
        if self.kind not in EDGE_KINDS:
            raise ValueError(f"Edge {self.src!r}->{self.dst!r}: kind must be one of {EDGE_KINDS}")


@dataclass(slots=True)
class Cluster:
    """A boxed group of nodes (e.g. the body of a jit/cond/scan); clusters may nest."""

    id: str
    label: str
    node_ids: list[str] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)


@dataclass(slots=True)
class Graph:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    title: str = ""


@dataclass(frozen=True, slots=True)
class _Style:
    shape: str  # "box", "ellipse" or "double" (double ellipse)
    fill: str
    stroke: str
    dashed: bool = False


_STYLES = {
    "input": _Style("ellipse", "#cfe2ff", "#3d6fb6"),
    "const": _Style("ellipse", "#e9ecef", "#6c757d"),
    "op": _Style("box", "#ffffff", "#343a40"),
    "output": _Style("double", "#d3f9d8", "#2b8a3e"),
    "cluster_in": _Style("box", "#fff9db", "#b08900", dashed=True),
    "cluster_out": _Style("box", "#fff4e6", "#d9480f", dashed=True),
}


# --------------------------------------------------------------------------- validation


@dataclass(slots=True)
class _Info:
    """Validated indexes over a Graph: nodes by id and the cluster tree."""

    nodes: dict[str, Node]
    paths: dict[str, tuple[str, ...]]  # node id -> enclosing cluster ids, outermost first
    cpath: dict[str, tuple[str, ...]] = field(default_factory=dict)  # cluster id -> its path
    label: dict[str, str] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # cluster ids, parents before children


def _analyze(graph: Graph) -> _Info:
    nodes: dict[str, Node] = {}
    for node in graph.nodes:
        if node.id in nodes:
            raise ValueError(f"duplicate node id {node.id!r}")
        nodes[node.id] = node
    info = _Info(nodes, {nid: () for nid in nodes})
    for cluster in graph.clusters:
        _add_cluster(info, cluster, ())
    for edge in graph.edges:
        for end in (edge.src, edge.dst):
            if end not in nodes:
                raise ValueError(f"edge {edge.src!r}->{edge.dst!r} refers to unknown node {end!r}")
    return info


def _add_cluster(info: _Info, cluster: Cluster, parent: tuple[str, ...]) -> None:
    if cluster.id in info.cpath:
        raise ValueError(f"duplicate cluster id {cluster.id!r}")
    path = parent + (cluster.id,)
    info.cpath[cluster.id], info.label[cluster.id] = path, cluster.label
    info.children[cluster.id] = [sub.id for sub in cluster.clusters]
    info.order.append(cluster.id)
    for nid in cluster.node_ids:
        _claim(info, nid, path)
    for sub in cluster.clusters:
        _add_cluster(info, sub, path)


def _claim(info: _Info, nid: str, path: tuple[str, ...]) -> None:
    # Parents are visited first, so a node listed by a cluster and a descendant lands in the
    # innermost one; two unrelated clusters cannot both own it.
    if nid not in info.nodes:
        raise ValueError(f"cluster {path[-1]!r} lists unknown node {nid!r}")
    old = info.paths[nid]
    if path[: len(old)] != old:
        raise ValueError(f"node {nid!r} is in unrelated clusters {old[-1]!r} and {path[-1]!r}")
    info.paths[nid] = path


def _lines(text: str) -> list[str]:
    return str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")


# --------------------------------------------------------------------------- DOT


def _dot_quote(text: str) -> str:
    # Backslashes first, so the escapes added afterwards are not doubled; "\n" centres lines.
    s = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "\\n".join(_lines(s)) + '"'


def _dot_attrs(attrs: dict[str, str]) -> str:
    return ", ".join(f"{key}={_dot_quote(value)}" for key, value in attrs.items())


def _dot_node(node: Node) -> str:
    style = _STYLES[node.kind]
    shape = "box" if style.shape == "box" else "ellipse"
    looks = ["rounded", "filled"] if style.shape == "box" else ["filled"]
    attrs = {
        "label": node.label,
        "shape": shape,
        "style": ",".join(looks + ["dashed"] * style.dashed),
    }
    attrs |= {"fillcolor": style.fill, "color": style.stroke}
    if style.shape == "double":
        attrs["peripheries"] = "2"
    if node.tooltip:
        attrs["tooltip"] = node.tooltip
    return f"{_dot_quote(node.id)} [{_dot_attrs(attrs)}];"


def _dot_html(text: str, color: str = "") -> str:
    body = "<br/>".join(_sax_escape(line) for line in _lines(text))
    return f'<font color="{color}">{body}</font>' if color else body


def _dot_edge(edge: Edge) -> str:
    attrs = {"label": edge.label} if edge.label else {}
    if edge.sublabel:  # an HTML-like label: the gradient in red under the value
        html = _dot_html(edge.label) + "<br/>" * bool(edge.label)
        html += _dot_html(edge.sublabel, _BACKWARD_COLOR)
        tail = f" [label=<{html}>]"
        return f"{_dot_quote(edge.src)} -> {_dot_quote(edge.dst)}{tail};"
    if edge.kind == "backward":
        attrs |= {"style": "dashed", "color": _BACKWARD_COLOR, "fontcolor": _BACKWARD_COLOR}
    tail = f" [{_dot_attrs(attrs)}]" if attrs else ""
    return f"{_dot_quote(edge.src)} -> {_dot_quote(edge.dst)}{tail};"


def _dot_cluster(cluster: Cluster, members: dict, info: _Info, depth: int) -> list[str]:
    pad = "  " * depth
    fill = _CLUSTER_FILLS[(depth - 1) % len(_CLUSTER_FILLS)]
    looks = {"label": cluster.label, "style": "rounded,filled", "fillcolor": fill}
    lines = [f"{pad}subgraph {_dot_quote('cluster_' + cluster.id)} {{"]
    lines += [f"{pad}  {key}={_dot_quote(value)};" for key, value in looks.items()]
    lines.append(f"{pad}  color={_dot_quote(_CLUSTER_STROKE)};")
    lines += [f"{pad}  {_dot_node(info.nodes[nid])}" for nid in members.get(cluster.id, [])]
    for sub in cluster.clusters:
        lines += _dot_cluster(sub, members, info, depth + 1)
    return lines + [f"{pad}}}"]


def to_dot(graph: Graph) -> str:
    """Graphviz DOT text for ``graph`` (top-to-bottom digraph, clusters as subgraphs)."""
    info = _analyze(graph)
    members: dict[str | None, list[str]] = defaultdict(list)
    for node in graph.nodes:  # declare each node inside its innermost cluster
        path = info.paths[node.id]
        members[path[-1] if path else None].append(node.id)
    lines = ["digraph G {", '  graph [rankdir="TB", fontname="monospace", labelloc="t"];']
    if graph.title:
        lines.append(f"  label={_dot_quote(graph.title)};")
    lines.append('  node [fontname="monospace", fontsize="12"];')
    lines.append(f'  edge [fontname="monospace", fontsize="10", color="{_FORWARD_COLOR}"];')
    lines += [f"  {_dot_node(info.nodes[nid])}" for nid in members[None]]
    for cluster in graph.clusters:
        lines += _dot_cluster(cluster, members, info, 1)
    lines += [f"  {_dot_edge(edge)}" for edge in graph.edges]
    return "\n".join(lines + ["}"]) + "\n"


# --------------------------------------------------------------------------- layout


@dataclass(slots=True)
class _Work:
    """Mutable state of one layout run.  Vertices are node ids plus tuple ids for the dummy
    vertices that split long edges ("dummy", edge, rank) and for cluster fillers."""

    graph: Graph
    info: _Info
    rank: dict = field(default_factory=dict)
    paths: dict = field(default_factory=dict)
    size: dict = field(default_factory=dict)
    chains: dict[int, list] = field(default_factory=dict)  # edge index -> vertex chain
    up: dict = field(default_factory=lambda: defaultdict(list))
    down: dict = field(default_factory=lambda: defaultdict(list))
    rows: list[list] = field(default_factory=list)
    span: dict[str, tuple[int, int]] = field(default_factory=dict)  # cluster -> rank range
    x: dict = field(default_factory=dict)
    y: dict = field(default_factory=dict)
    row_top: list[float] = field(default_factory=list)
    row_bottom: list[float] = field(default_factory=list)
    box: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    label_at: dict = field(default_factory=dict)  # edge index -> vertex its label sits by
    room: dict = field(default_factory=dict)  # vertex -> width its labels need on its right
    label_lines: dict = field(default_factory=dict)  # vertex -> label lines stacked by it


def _measure(node: Node) -> tuple[float, float]:
    lines = _lines(node.label)
    text_w, text_h = max(len(line) for line in lines) * _CHAR_W, len(lines) * _LINE_H
    if _STYLES[node.kind].shape == "box":
        return max(_MIN_W, text_w + 2 * _PAD_X), text_h + 2 * _PAD_Y
    grow = 8.0 if node.kind == "output" else 0.0  # room for the second outline
    w = text_w * _ELLIPSE_GROW + 2 * _PAD_X + grow
    return max(_MIN_W + grow, w), text_h * _ELLIPSE_GROW + _PAD_Y + grow


def layout(graph: Graph) -> dict:
    """Pure-Python layered layout of ``graph``; deterministic.

    Returns a dict with ``width``/``height``, ``nodes`` (id -> x, y centre, w, h, rank, kind),
    ``edges`` (src, dst, label, kind, ``path`` = cubic Bezier control points
    [p0, c1, c2, p1, c1, c2, p2, ...], ``label_pos``), ``clusters`` (id -> x0, y0, x1, y1,
    label, depth, parent), ``ranks`` (node ids per rank, left to right) and ``title``.
    """
    work = _Work(graph, _analyze(graph))
    for node in graph.nodes:
        work.paths[node.id] = work.info.paths[node.id]
        work.size[node.id] = _measure(node)
    if graph.nodes:
        _assign_ranks(work)
        _split_long_edges(work)
        _add_fillers(work)
        _order_rows(work)
        _place_x(work)
        _place_y(work)
    return _export(work)


# -- ranks


def _assign_ranks(w: _Work) -> None:
    """Longest path from the sources over forward edges; backward edges and cycle-closing
    edges are left out of the ranking and drawn as free curves instead."""
    ids = [node.id for node in w.graph.nodes]
    forward = {
        i: (e.src, e.dst)
        for i, e in enumerate(w.graph.edges)
        if e.kind == "forward" and e.src != e.dst
    }
    for i in _cycle_edges(ids, forward):
        del forward[i]
    w.rank = _longest_path(ids, forward.values())
    _settle_ends(w, forward.values())
    _compact_ranks(w)
    w.chains = {i: [src, dst] for i, (src, dst) in forward.items()}


def _cycle_edges(ids: list[str], edges: dict[int, tuple[str, str]]) -> set[int]:
    # Iterative DFS in node order; an edge to a vertex still on the stack closes a cycle.
    out = defaultdict(list)
    for i, (src, dst) in edges.items():
        out[src].append((i, dst))
    state, closing = dict.fromkeys(ids, 0), set()  # 0 unseen, 1 on stack, 2 done
    for root in ids:
        stack = [] if state[root] else [(root, iter(out[root]))]
        state[root] = state[root] or 1
        while stack:
            vertex, todo = stack[-1]
            step = next(todo, None)
            if step is None:
                state[vertex] = 2
                stack.pop()
            elif state[step[1]] == 1:
                closing.add(step[0])
            elif state[step[1]] == 0:
                state[step[1]] = 1
                stack.append((step[1], iter(out[step[1]])))
    return closing


def _longest_path(ids: list[str], edges) -> dict[str, int]:
    out, indegree = defaultdict(list), dict.fromkeys(ids, 0)
    for src, dst in edges:
        out[src].append(dst)
        indegree[dst] += 1
    rank = dict.fromkeys(ids, 0)
    queue = deque(v for v in ids if indegree[v] == 0)
    while queue:
        src = queue.popleft()
        for dst in out[src]:
            rank[dst] = max(rank[dst], rank[src] + 1)
            indegree[dst] -= 1
            if indegree[dst] == 0:
                queue.append(dst)
    return rank


def _settle_ends(w: _Work, edges) -> None:
    """Constants sit just above their first use (not at the very top), and outputs that feed
    nothing sit at the bottom of their cluster (or of the graph), as a reader expects."""
    preds, succs = defaultdict(list), defaultdict(list)
    for src, dst in edges:
        preds[dst].append(src)
        succs[src].append(dst)
    for nid, node in w.info.nodes.items():
        if node.kind == "const" and succs[nid] and not preds[nid]:
            w.rank[nid] = min(w.rank[s] for s in succs[nid]) - 1
    bottom: dict[tuple, int] = {}
    for nid, path in w.info.paths.items():
        for k in range(len(path) + 1):
            bottom[path[:k]] = max(bottom.get(path[:k], 0), w.rank[nid])
    for nid, node in w.info.nodes.items():
        if node.kind in ("output", "cluster_out") and not succs[nid]:
            w.rank[nid] = bottom[w.info.paths[nid]]


def _compact_ranks(w: _Work) -> None:
    # Moving constants down can empty a rank; renumbering keeps every edge pointing down.
    index = {r: i for i, r in enumerate(sorted(set(w.rank.values())))}
    w.rank = {v: index[r] for v, r in w.rank.items()}


# -- dummy and filler vertices


def _common_prefix(a: tuple, b: tuple) -> tuple:
    k = 0
    while k < min(len(a), len(b)) and a[k] == b[k]:
        k += 1
    return a[:k]


def _split_long_edges(w: _Work) -> None:
    """Route an edge spanning several ranks through one dummy vertex per rank, placed in the
    innermost cluster holding both ends, so ordering and placement see it like a node."""
    for i, chain in w.chains.items():
        src, dst = chain
        scope = _common_prefix(w.paths[src], w.paths[dst])
        for r in range(w.rank[src] + 1, w.rank[dst]):
            dummy = ("dummy", i, r)
            w.rank[dummy], w.paths[dummy], w.size[dummy] = r, scope, (_DUMMY_W, 0.0)
            chain.insert(-1, dummy)
        for a, b in pairwise(chain):
            w.down[a].append(b)
            w.up[b].append(a)
        _reserve_label(w, i, chain)


def _reserve_label(w: _Work, i: int, chain: list) -> None:
    """An edge's label sits by its source (a short edge) or by a dummy a quarter of the way
    down (a long one); that vertex keeps room on its right so labels do not overlap."""
    edge = w.graph.edges[i]
    text = "\n".join(t for t in (edge.label, edge.sublabel) if t)
    if not text:
        return
    at = chain[0] if len(chain) == 2 else chain[max(1, (len(chain) - 1) // 4)]
    below = w.label_lines.get(at, 0)  # several labels by one vertex are stacked
    w.label_at[i] = (at, below)
    w.label_lines[at] = below + len(_lines(text))
    w.room[at] = max(w.room.get(at, 0.0), _label_width(text) * 10 / 12 + 10)


def _add_fillers(w: _Work) -> None:
    """Give each cluster a vertex on every rank it spans, so that each rank's ordering keeps a
    slot for it and no outside vertex can be placed inside its box."""
    present = defaultdict(set)
    for v, path in w.paths.items():
        for cid in path:
            present[cid].add(w.rank[v])
    for cid in reversed(w.info.order):  # children first: their fillers also serve parents
        if not present[cid]:
            continue
        lo, hi = min(present[cid]), max(present[cid])
        for r in range(lo, hi + 1):
            if r not in present[cid]:
                filler = ("filler", cid, r)
                w.rank[filler], w.paths[filler], w.size[filler] = r, w.info.cpath[cid], (0.0, 0.0)
                for outer in w.info.cpath[cid]:
                    present[outer].add(r)
        w.span[cid] = (lo, hi)
    w.span = {cid: w.span[cid] for cid in w.info.order if cid in w.span}  # parents first


# -- ordering within ranks


def _order_rows(w: _Work) -> None:
    """Barycenter sweeps, alternately down and up; keep the ordering with fewest crossings."""
    rows = [[] for _ in range(max(w.rank.values()) + 1)]
    for v, r in w.rank.items():
        rows[r].append(v)
    keys = [{v: i for i, v in enumerate(row)} for row in rows]
    ckeys = _cluster_keys(w, rows)
    rows = [_group_sort(w, row, key, ckeys) for row, key in zip(rows, keys, strict=True)]
    best, best_cost = rows, _crossings(w, rows)
    for _ in range(_SWEEPS):
        for downward in (True, False):
            rows = _sweep(w, rows, downward)
            cost = _crossings(w, rows)
            if cost < best_cost:
                best, best_cost = rows, cost
    w.rows = best


def _positions(row: list) -> dict:
    # Normalised to (0, 1) so rows of different lengths can be compared.
    return {v: (i + 0.5) / len(row) for i, v in enumerate(row)}


def _sweep(w: _Work, rows: list[list], downward: bool) -> list[list]:
    rows = [list(row) for row in rows]
    ckeys = _cluster_keys(w, rows)
    neighbours, step = (w.up, -1) if downward else (w.down, 1)
    order = range(1, len(rows)) if downward else range(len(rows) - 2, -1, -1)
    # The row the sweep starts from is re-sorted too, by its own order: every row must use
    # this sweep's cluster keys or sibling clusters could swap sides between ranks.
    first = 0 if downward else len(rows) - 1
    rows[first] = _group_sort(w, rows[first], _positions(rows[first]), ckeys)
    for r in order:
        ref, own = _positions(rows[r + step]), _positions(rows[r])
        key = {}
        for v in rows[r]:
            around = [ref[u] for u in neighbours.get(v, ())]
            key[v] = sum(around) / len(around) if around else own[v]
        rows[r] = _group_sort(w, rows[r], key, ckeys)
    return rows


def _cluster_keys(w: _Work, rows: list[list]) -> dict:
    """One left-to-right key per cluster for the whole sweep, so sibling clusters keep the same
    order on every rank (otherwise their boxes would overlap)."""
    found = defaultdict(list)
    for row in rows:
        for v, pos in _positions(row).items():
            for cid in w.paths[v]:
                found[cid].append(pos)
    order = {cid: i for i, cid in enumerate(w.info.order)}
    return {cid: (sum(p) / len(p), order[cid]) for cid, p in found.items()}


def _group_sort(w: _Work, items: list, key: dict, ckeys: dict, depth: int = 0) -> list:
    """Sort by key, keeping each cluster's members contiguous (recursively for nesting)."""
    groups = {}
    for v in items:
        path = w.paths[v]
        groups.setdefault(("c", path[depth]) if len(path) > depth else ("v", v), []).append(v)
    order = sorted(groups, key=lambda g: sum(key[v] for v in groups[g]) / len(groups[g]))
    slots = [i for i, g in enumerate(order) if g[0] == "c"]
    by_cluster = sorted((order[i] for i in slots), key=lambda g: ckeys[g[1]])
    for i, g in zip(slots, by_cluster, strict=True):
        order[i] = g
    out = []
    for g in order:
        out += _group_sort(w, groups[g], key, ckeys, depth + 1) if g[0] == "c" else groups[g]
    return out


def _crossings(w: _Work, rows: list[list]) -> int:
    total = 0
    for top, bottom in pairwise(rows):
        pos = {v: i for i, v in enumerate(bottom)}
        pairs = sorted((i, pos[d]) for i, v in enumerate(top) for d in w.down.get(v, ()))
        seen: list[int] = []
        for _, b in pairs:  # count earlier edges that land further right: inversions
            total += len(seen) - bisect_right(seen, b)
            insort(seen, b)
    return total


# -- horizontal placement


class _Cyclic(Exception):
    pass


def _place_x(w: _Work) -> None:
    """Solve separation constraints "x[v] >= x[u] + d" (same-rank neighbours, clusters
    enclosing their members), average the left- and right-packed solutions, then pull each
    vertex towards its neighbours.  Every step keeps all constraints satisfied."""
    try:
        cons, fitted = _separations(w, True) + _containment(w), False
        x = _balanced(_variables(w, True), cons)
    except _Cyclic:  # not expected; fall back to per-rank packing with fitted cluster boxes
        cons, fitted = _separations(w, False), True
        x = _balanced(_variables(w, False), cons)
    _relax(w, x, cons)
    if fitted:
        _fit_clusters(w, x)
    lefts = [x[v] - w.size[v][0] / 2 for row in w.rows for v in row]
    shift = _MARGIN - min(lefts + [x[("L", c)] for c in w.span])
    w.x = {v: value + shift for v, value in x.items()}


def _variables(w: _Work, clusters: bool) -> list:
    bounds = [(side, c) for c in w.span for side in "LR"] if clusters else []
    return [v for row in w.rows for v in row] + bounds


def _gap(a, b) -> float:
    # Dummy vertices (tuple ids) only carry edges, so they may pack closer than real nodes.
    return _NODE_GAP if isinstance(a, str) and isinstance(b, str) else _DUMMY_GAP


def _separations(w: _Work, clusters: bool) -> list[tuple]:
    cons = []
    for row in w.rows:
        for a, b in pairwise(row):
            pa, pb = w.paths[a], w.paths[b]
            k = len(_common_prefix(pa, pb)) if clusters else max(len(pa), len(pb))
            # Beyond the shared clusters, a and b are separated as whole groups.
            left, dl = (("R", pa[k]), 0.0) if len(pa) > k else (a, w.size[a][0] / 2)
            right, dr = (("L", pb[k]), 0.0) if len(pb) > k else (b, w.size[b][0] / 2)
            gap = _NODE_GAP if len(pa) > k or len(pb) > k else _gap(a, b)
            if len(pa) <= k:  # a's edge labels are written to its right
                gap = max(gap, w.room.get(a, 0.0) - dl + _DUMMY_GAP)
            cons.append((left, right, dl + gap + dr))
    return cons


def _label_width(text: str) -> float:
    return max(len(line) for line in _lines(text)) * _CHAR_W


def _containment(w: _Work) -> list[tuple]:
    cons = []
    for row in w.rows:
        for v in row:
            if w.paths[v]:
                inner, half = w.paths[v][-1], w.size[v][0] / 2
                cons += [
                    (("L", inner), v, _CLUSTER_PAD + half),
                    (v, ("R", inner), _CLUSTER_PAD + half),
                ]
    for cid in w.span:
        path = w.info.cpath[cid]
        if len(path) > 1:
            cons += [(("L", path[-2]), ("L", cid), _CLUSTER_PAD)]
            cons += [(("R", cid), ("R", path[-2]), _CLUSTER_PAD)]
        width = _label_width(w.info.label[cid]) + 2 * _CLUSTER_PAD
        cons.append((("L", cid), ("R", cid), width))
    return cons


def _solve(variables: list, cons: list[tuple]) -> dict:
    """Smallest non-negative solution of x[v] >= x[u] + d: longest paths in topological order."""
    out, indegree = defaultdict(list), dict.fromkeys(variables, 0)
    for u, v, d in cons:
        out[u].append((v, d))
        indegree[v] += 1
    x = dict.fromkeys(variables, 0.0)
    queue, done = deque(v for v in variables if indegree[v] == 0), 0
    while queue:
        u, done = queue.popleft(), done + 1
        for v, d in out[u]:
            x[v] = max(x[v], x[u] + d)
            indegree[v] -= 1
            if indegree[v] == 0:
                queue.append(v)
    if done != len(variables):
        raise _Cyclic
    return x


def _balanced(variables: list, cons: list[tuple]) -> dict:
    # The mean of two feasible solutions is feasible; left and right packings average out to
    # a centred drawing instead of everything hugging the left margin.
    left = _solve(variables, cons)
    right = _solve(variables, [(v, u, d) for u, v, d in cons])
    span = max(left.values(), default=0.0)
    return {v: (left[v] + span - right[v]) / 2 for v in variables}


def _relax(w: _Work, x: dict, cons: list[tuple]) -> None:
    ins, outs = defaultdict(list), defaultdict(list)
    for u, v, d in cons:
        ins[v].append((u, d))
        outs[u].append((v, d))
    for sweep in range(_RELAX_PASSES):
        for row in w.rows if sweep % 2 == 0 else reversed(w.rows):
            for v in row:
                around = w.up.get(v, []) + w.down.get(v, [])
                if around:
                    _move(x, v, sum(x[u] for u in around) / len(around), ins, outs)
    for cid in reversed(w.span):  # children first: shrink-wrap boxes around their contents
        if ("L", cid) in x:
            _move(x, ("L", cid), math.inf, ins, outs)
            _move(x, ("R", cid), -math.inf, ins, outs)


def _move(x: dict, v, target: float, ins: dict, outs: dict) -> None:
    lo = max((x[u] + d for u, d in ins.get(v, ())), default=-math.inf)
    hi = min((x[u] - d for u, d in outs.get(v, ())), default=math.inf)
    if lo <= hi:  # always true for a feasible x; guards against rounding
        x[v] = min(max(target, lo), hi)


def _fit_clusters(w: _Work, x: dict) -> None:
    # Fallback boxes: bounding box of the members (children first), widened for the label.
    for cid in reversed(w.span):
        direct = [v for row in w.rows for v in row if w.paths[v][-1:] == (cid,)]
        spans = [(x[v] - w.size[v][0] / 2, x[v] + w.size[v][0] / 2) for v in direct]
        spans += [(x[("L", k)], x[("R", k)]) for k in w.info.children[cid] if k in w.span]
        lo = min(a for a, _ in spans) - _CLUSTER_PAD
        hi = max(b for _, b in spans) + _CLUSTER_PAD
        x[("L", cid)] = lo
        x[("R", cid)] = max(hi, lo + _label_width(w.info.label[cid]) + 2 * _CLUSTER_PAD)


# -- vertical placement


def _stack_depths(w: _Work, end: int) -> dict[str, int]:
    """How many cluster borders pile up at a cluster's first (end=0) or last (end=1) rank:
    nested clusters starting on the same rank need one label band each."""
    depth: dict[str, int] = {}
    for cid in reversed(w.span):  # children first
        kids = [k for k in w.info.children[cid] if k in w.span]
        same = [depth[k] for k in kids if w.span[k][end] == w.span[cid][end]]
        depth[cid] = 1 + max(same, default=0)
    return depth


def _place_y(w: _Work) -> None:
    """Stack the ranks top to bottom; the gap above a rank grows by one label band per
    cluster opening there and by one padding per cluster closing just before it."""
    head, foot = _stack_depths(w, 0), _stack_depths(w, 1)
    opening, closing = defaultdict(int), defaultdict(int)
    for cid, (lo, hi) in w.span.items():
        opening[lo] = max(opening[lo], head[cid])
        closing[hi] = max(closing[hi], foot[cid])
    y = _MARGIN + (_TITLE_H if w.graph.title else 0.0)
    gaps = _label_gaps(w)
    for r, row in enumerate(w.rows):
        y += (gaps.get(r, _RANK_GAP) if r else 0.0) + opening[r] * (_CLUSTER_PAD + _CLUSTER_LABEL_H)
        y += closing[r - 1] * _CLUSTER_PAD
        height = max(w.size[v][1] for v in row)
        w.row_top.append(y)
        w.row_bottom.append(y + height)
        w.y.update({v: y + height / 2 for v in row})
        y += height
    _cluster_boxes(w, head, foot)


def _label_gaps(w: _Work) -> dict[int, float]:
    """The gap above a rank: room for the tallest label of an edge ending there."""
    gaps: dict[int, float] = {}
    for i, edge in enumerate(w.graph.edges):
        n = len(_lines(edge.label)) * bool(edge.label) + len(_lines(edge.sublabel)) * bool(
            edge.sublabel
        )
        if i in w.chains and n:
            r = w.rank[w.chains[i][1]]
            at, below = w.label_at.get(i, (None, 0))
            lines = n + below if len(w.chains[i]) == 2 else n
            gaps[r] = max(gaps.get(r, _RANK_GAP), lines * _LINE_H * 10 / 12 * 1.5 + 16)
    return gaps


def _cluster_boxes(w: _Work, head: dict[str, int], foot: dict[str, int]) -> None:
    for cid, (lo, hi) in w.span.items():
        top = w.row_top[lo] - head[cid] * (_CLUSTER_PAD + _CLUSTER_LABEL_H)
        bottom = w.row_bottom[hi] + foot[cid] * _CLUSTER_PAD
        w.box[cid] = (w.x[("L", cid)], top, w.x[("R", cid)], bottom)


# -- edge routing


def _outline_offset(w: _Work, v: str, dx: float, half_h: float) -> float:
    """Vertical distance from the centre to the outline at horizontal offset dx."""
    if _STYLES[w.info.nodes[v].kind].shape == "box":
        return half_h
    return half_h * math.sqrt(max(0.0, 1.0 - (2.0 * dx / w.size[v][0]) ** 2))


def _port(w: _Work, v: str, j: int, count: int, bottom: bool) -> tuple[float, float]:
    # Spread the edges leaving (or entering) one node over part of its width, in the
    # left-to-right order of their other ends, so they do not all meet in one point.
    spread = min(w.size[v][0] * 0.5, _PORT_STEP * (count - 1))
    dx = spread * (j / (count - 1) - 0.5) if count > 1 else 0.0
    dy = _outline_offset(w, v, dx, w.size[v][1] / 2)
    return (w.x[v] + dx, w.y[v] + dy if bottom else w.y[v] - dy)


def _ports(w: _Work) -> tuple[dict, dict]:
    leaving, entering = defaultdict(list), defaultdict(list)
    for i, chain in w.chains.items():
        leaving[chain[0]].append((w.x[chain[1]], i))
        entering[chain[-1]].append((w.x[chain[-2]], i))
    starts, ends = {}, {}
    for ports, table, bottom in ((starts, leaving, True), (ends, entering, False)):
        for v, others in table.items():
            for j, (_, i) in enumerate(sorted(others)):
                ports[i] = _port(w, v, j, len(others), bottom)
    return starts, ends


def _vertical_spline(points: list[tuple]) -> list[tuple]:
    # One cubic per hop with vertical tangents at both ends: smooth S-shaped links.
    path = [points[0]]
    for (x0, y0), (x1, y1) in pairwise(points):
        half = (y1 - y0) / 2
        path += [(x0, y0 + half), (x1, y1 - half), (x1, y1)]
    return path


def _label_point(w: _Work, i: int, points: list[tuple]) -> tuple[float, float]:
    found = w.label_at.get(i)
    if found is None:
        return _midpoint(points)
    at, below = found
    shift = below * _LINE_H * 10 / 12
    if len(points) == 2:  # under the source, a third of the way down
        (x0, y0), (_, y1) = points
        return (x0, y0 + (y1 - y0) / 3 + shift)
    return (w.x[at], w.y[at] + shift)


def _midpoint(points: list[tuple]) -> tuple[float, float]:
    n = len(points)
    if n % 2:
        return points[n // 2]
    (x0, y0), (x1, y1) = points[n // 2 - 1], points[n // 2]
    return ((x0 + x1) / 2, (y0 + y1) / 2)


def _right_side(w: _Work, v: str, dy: float) -> tuple[float, float]:
    half_w, half_h = w.size[v][0] / 2, w.size[v][1] / 2
    if _STYLES[w.info.nodes[v].kind].shape != "box":
        half_w *= math.sqrt(max(0.0, 1.0 - (dy / half_h) ** 2))
    return (w.x[v] + half_w, w.y[v] + dy)


def _side_curve(w: _Work, edge: Edge) -> list[tuple]:
    """Edges outside the ranking (backward, cycle-closing, self loops) bulge out to the right
    of both ends so they stay clear of the downward flow."""
    if edge.src == edge.dst:
        half = w.size[edge.src][1] / 2
        p0, p3 = _right_side(w, edge.src, -half / 2), _right_side(w, edge.src, half / 2)
        reach = p0[0] + 36.0
        return [p0, (reach, p0[1] - half), (reach, p3[1] + half), p3]
    p0, p3 = _right_side(w, edge.src, 0.0), _right_side(w, edge.dst, 0.0)
    reach = max(p0[0], p3[0]) + 30.0 + 0.2 * abs(p3[1] - p0[1])
    return [p0, (reach, p0[1]), (reach, p3[1]), p3]


def _bezier_mid(path: list[tuple]) -> tuple[float, float]:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = path[:4]
    return ((x0 + 3 * x1 + 3 * x2 + x3) / 8, (y0 + 3 * y1 + 3 * y2 + y3) / 8)


def _edge_geometry(w: _Work) -> list[dict]:
    starts, ends = _ports(w)
    out = []
    for i, edge in enumerate(w.graph.edges):
        if i in w.chains:
            inner = [(w.x[d], w.y[d]) for d in w.chains[i][1:-1]]
            points = [starts[i], *inner, ends[i]]
            path, mid = _vertical_spline(points), _label_point(w, i, points)
        else:
            path = _side_curve(w, edge)
            mid = _bezier_mid(path)
        info = {"src": edge.src, "dst": edge.dst, "label": edge.label, "kind": edge.kind}
        info["sublabel"] = edge.sublabel
        out.append(info | {"path": path, "label_pos": mid})
    return out


# -- export


def _export(w: _Work) -> dict:
    nodes = {}
    for node in w.graph.nodes:
        if w.rows:
            (width, height), x, y = w.size[node.id], w.x[node.id], w.y[node.id]
            nodes[node.id] = {"x": x, "y": y, "w": width, "h": height}
            nodes[node.id] |= {"rank": w.rank[node.id], "kind": node.kind}
    clusters = {}
    for cid, (x0, y0, x1, y1) in w.box.items():
        path = w.info.cpath[cid]
        clusters[cid] = {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "label": w.info.label[cid]}
        clusters[cid] |= {"depth": len(path) - 1, "parent": path[-2] if len(path) > 1 else None}
    edges = _edge_geometry(w) if w.rows else []
    ranks = [[v for v in row if isinstance(v, str)] for row in w.rows]
    result = {"nodes": nodes, "edges": edges, "clusters": clusters, "ranks": ranks}
    return result | _extent(nodes, clusters, edges, w.graph.title)


def _extent(nodes: dict, clusters: dict, edges: list[dict], title: str) -> dict:
    xs, ys = [0.0], [0.0]
    for n in nodes.values():
        xs.append(n["x"] + n["w"] / 2)
        ys.append(n["y"] + n["h"] / 2)
    xs += [c["x1"] for c in clusters.values()]
    ys += [c["y1"] for c in clusters.values()]
    for e in edges:
        text = "\n".join(t for t in (e["label"], e["sublabel"]) if t)
        xs += [p[0] for p in e["path"]] + [e["label_pos"][0] + _label_width(text) * 0.85]
        ys += [p[1] for p in e["path"]]
    title_w = len(title) * _CHAR_W * 14 / 12 + 2 * _MARGIN
    width = max(max(xs) + _MARGIN, title_w, 2 * _MARGIN)
    height = max(ys) + _MARGIN if nodes else 2 * _MARGIN + (_TITLE_H if title else 0.0)
    return {"width": width, "height": height, "title": title}


# --------------------------------------------------------------------------- SVG (pure Python)

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"


def _xml(text) -> str:
    # Characters XML 1.0 forbids outright are replaced rather than producing a broken file.
    return _XML_INVALID.sub("\ufffd", _sax_escape(str(text), {'"': "&quot;"}))


def _f(value: float) -> str:
    return f"{value:.1f}"


def _svg_text(x: float, y: float, text: str, size: float, anchor: str, extra: str = "") -> str:
    lines = _lines(text)
    step = size * _LINE_H / 12
    first = y - (len(lines) - 1) * step / 2
    spans = "".join(
        f'<tspan x="{_f(x)}" y="{_f(first + i * step)}">{_xml(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    head = f'<text text-anchor="{anchor}" dominant-baseline="central" font-size="{size:g}"'
    return f"{head}{extra}>{spans}</text>"


def _svg_markers() -> str:
    markers = []
    for kind, color in (("forward", _FORWARD_COLOR), ("backward", _BACKWARD_COLOR)):
        markers.append(
            f'<marker id="mg-arrow-{kind}" viewBox="0 0 10 10" refX="9" refY="5" '
            'markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto">'
            f'<path d="M0,1 L10,5 L0,9 z" fill="{color}"/></marker>'
        )
    return "<defs>" + "".join(markers) + "</defs>"


def _svg_cluster(cid: str, c: dict) -> str:
    fill = _CLUSTER_FILLS[c["depth"] % len(_CLUSTER_FILLS)]
    rect = (
        f'<rect x="{_f(c["x0"])}" y="{_f(c["y0"])}" width="{_f(c["x1"] - c["x0"])}" '
        f'height="{_f(c["y1"] - c["y0"])}" rx="8" fill="{fill}" stroke="{_CLUSTER_STROKE}"/>'
    )
    label_y = c["y0"] + _CLUSTER_PAD / 2 + _CLUSTER_LABEL_H / 2
    label = _svg_text(
        c["x0"] + _CLUSTER_PAD, label_y, c["label"], 12, "start", ' font-weight="bold"'
    )
    return f'<g class="cluster" data-id="{_xml(cid)}">{rect}{label}</g>'


def _svg_path_d(path: list[tuple]) -> str:
    d = [f"M{_f(path[0][0])},{_f(path[0][1])}"]
    for k in range(1, len(path), 3):
        d.append("C" + " ".join(f"{_f(px)},{_f(py)}" for px, py in path[k : k + 3]))
    return " ".join(d)


def _label_blocks(e: dict, color: str) -> list[tuple[str, str, float]]:
    """(text, colour, vertical offset of its centre) for the label and, below it in red, the
    sublabel, stacked around the label position."""
    blocks = [(t, c) for t, c in ((e["label"], color), (e["sublabel"], _BACKWARD_COLOR)) if t]
    sizes = [len(_lines(t)) for t, _ in blocks]
    step, total, out, top = _LINE_H * 10 / 12, sum(sizes), [], 0
    for (text, c), n in zip(blocks, sizes, strict=True):
        out.append((text, c, (top + n / 2 - total / 2) * step))
        top += n
    return out


def _svg_edge_label(e: dict, color: str) -> str:
    # A white plate behind the text keeps it legible over lines; sized from the monospace
    # metrics (10 px font) rather than paint-order halos, which not every renderer supports.
    text = "\n".join(t for t in (e["label"], e["sublabel"]) if t)
    x, y = e["label_pos"][0] + 4, e["label_pos"][1]
    w, h = _label_width(text) * 10 / 12 + 4, len(_lines(text)) * _LINE_H * 10 / 12 + 2
    plate = (
        f'<rect x="{_f(x - 2)}" y="{_f(y - h / 2)}" width="{_f(w)}" height="{_f(h)}" '
        'fill="white" fill-opacity="0.85"/>'
    )
    parts = [
        _svg_text(x, y + dy, t, 10, "start", f' fill="{c}"') for t, c, dy in _label_blocks(e, color)
    ]
    return plate + "".join(parts)


def _svg_edge(e: dict) -> str:
    color = _BACKWARD_COLOR if e["kind"] == "backward" else _FORWARD_COLOR
    dash = ' stroke-dasharray="6,4"' if e["kind"] == "backward" else ""
    line = (
        f'<path d="{_svg_path_d(e["path"])}" fill="none" stroke="{color}" stroke-width="1.2"'
        f'{dash} marker-end="url(#mg-arrow-{e["kind"]})"/>'
    )
    label = _svg_edge_label(e, color) if e["label"] or e["sublabel"] else ""
    ends = f'data-src="{_xml(e["src"])}" data-dst="{_xml(e["dst"])}" data-kind="{e["kind"]}"'
    return f'<g class="edge" {ends}>{line}{label}</g>'


def _svg_shape(style: _Style, n: dict) -> str:
    paint = f'fill="{style.fill}" stroke="{style.stroke}" stroke-width="1.2"'
    paint += ' stroke-dasharray="4,3"' if style.dashed else ""
    cx, cy, rx, ry = n["x"], n["y"], n["w"] / 2, n["h"] / 2
    if style.shape == "box":
        corner = f'x="{_f(cx - rx)}" y="{_f(cy - ry)}" width="{_f(n["w"])}" height="{_f(n["h"])}"'
        return f'<rect {corner} rx="6" {paint}/>'
    outer = f'<ellipse cx="{_f(cx)}" cy="{_f(cy)}" rx="{_f(rx)}" ry="{_f(ry)}" {paint}/>'
    if style.shape == "ellipse":
        return outer
    inner = f'cx="{_f(cx)}" cy="{_f(cy)}" rx="{_f(rx - 4)}" ry="{_f(ry - 4)}"'
    return outer + f'<ellipse {inner} fill="none" stroke="{style.stroke}" stroke-width="1.2"/>'


def _svg_node(node: Node, n: dict) -> str:
    shape = _svg_shape(_STYLES[node.kind], n)
    text = _svg_text(n["x"], n["y"], node.label, 12, "middle", ' fill="#212529"')
    tip = f"<title>{_xml(node.tooltip or node.label)}</title>"
    return (
        f'<g class="node" data-id="{_xml(node.id)}" data-kind="{node.kind}">{tip}{shape}{text}</g>'
    )


def _python_svg(graph: Graph) -> str:
    lay = layout(graph)
    width, height = _f(lay["width"]), _f(lay["height"])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{_FONT}">',
        _svg_markers(),
        '<rect class="background" width="100%" height="100%" fill="white"/>',
    ]
    if graph.title:
        title_y = _MARGIN + _TITLE_H / 2 - 4
        bold = ' font-weight="bold" class="title"'
        parts.append(_svg_text(lay["width"] / 2, title_y, graph.title, 14, "middle", bold))
    parts += [_svg_cluster(cid, c) for cid, c in lay["clusters"].items()]  # parents first
    parts += [_svg_edge(e) for e in lay["edges"]]
    parts += [_svg_node(node, lay["nodes"][node.id]) for node in graph.nodes]
    return "\n".join(parts + ["</svg>"]) + "\n"


# --------------------------------------------------------------------------- Graphviz


class _DotFailed(Exception):
    pass


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")


def _run_dot(exe: str, dot_text: str, fmt: str) -> bytes:
    try:
        proc = subprocess.run(
            [exe, f"-T{fmt}"],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=_DOT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise _DotFailed(str(exc)) from exc
    if proc.returncode != 0 or not proc.stdout:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise _DotFailed(f"exit status {proc.returncode}: {err or 'no output'}")
    return proc.stdout


def _with_dot(graph: Graph, fmt: str, engine: str) -> bytes | None:
    """Output of ``dot -T<fmt>``, or None when the pure-Python path should be used instead."""
    _check_engine(engine)
    dot_text = to_dot(graph)  # validates the graph whichever engine draws it
    exe = shutil.which("dot") if engine != "python" else None
    if exe is None:
        if engine == "dot":
            raise RuntimeError(
                "engine='dot' was requested but the Graphviz 'dot' executable is not on PATH; "
                "install Graphviz or use engine='python'"
            )
        return None
    try:
        return _run_dot(exe, dot_text, fmt)
    except _DotFailed as exc:
        if engine == "dot":
            raise RuntimeError(f"Graphviz 'dot -T{fmt}' failed: {exc}") from exc
        return None


def to_svg(graph: Graph, *, engine: str = "auto") -> str:
    """SVG text for ``graph``.

    ``engine="auto"`` uses Graphviz ``dot`` when it is on PATH and works, else the pure-Python
    layout; ``"python"`` always uses the latter; ``"dot"`` requires Graphviz (RuntimeError).
    """
    out = _with_dot(graph, "svg", engine)
    return _python_svg(graph) if out is None else out.decode("utf-8")


# --------------------------------------------------------------------------- PNG (matplotlib)

_PT = 0.72  # points per layout pixel: figures are laid out at 100 layout pixels per inch


def _import_matplotlib() -> SimpleNamespace:
    try:
        # matplotlib is an optional dependency, needed only for PNG output.
        from matplotlib import figure, patches, path
        from matplotlib.backends import backend_agg  # optional, as above
    except ImportError as exc:
        raise ImportError(_NO_PNG_HINT) from exc
    return SimpleNamespace(
        patches=patches, Canvas=backend_agg.FigureCanvasAgg, Figure=figure.Figure, Path=path.Path
    )


_LEFT = {"ha": "left", "va": "center"}
_CENTRE = {"ha": "center", "va": "center"}


def _mpl_text(ax, xy: tuple[float, float], text: str, size: float, **kw) -> None:
    ax.text(*xy, text, fontsize=size * _PT, family="monospace", linespacing=1.33, **kw)


def _mpl_cluster(ax, mpl, c: dict) -> None:
    fill = _CLUSTER_FILLS[c["depth"] % len(_CLUSTER_FILLS)]
    size = (c["x1"] - c["x0"], c["y1"] - c["y0"])
    style = "round,pad=0,rounding_size=8"
    box = mpl.patches.FancyBboxPatch((c["x0"], c["y0"]), *size, boxstyle=style, zorder=1)
    box.set(facecolor=fill, edgecolor=_CLUSTER_STROKE, linewidth=1.0)
    ax.add_patch(box)
    xy = (c["x0"] + _CLUSTER_PAD, c["y0"] + _CLUSTER_PAD / 2 + _CLUSTER_LABEL_H / 2)
    _mpl_text(ax, xy, c["label"], 12, weight="bold", zorder=1.5, **_LEFT)


def _mpl_edge(ax, mpl, e: dict) -> None:
    # FancyArrowPatch (what annotate() draws with) follows the Bezier path and adds the head.
    backward = e["kind"] == "backward"
    color = _BACKWARD_COLOR if backward else _FORWARD_COLOR
    codes = [mpl.Path.MOVETO] + [mpl.Path.CURVE4] * (len(e["path"]) - 1)
    line = {"color": color, "linewidth": 1.2, "linestyle": (0, (5, 3)) if backward else "-"}
    arrow = {"arrowstyle": "-|>", "mutation_scale": 10, "zorder": 2}
    ax.add_patch(mpl.patches.FancyArrowPatch(path=mpl.Path(e["path"], codes), **arrow, **line))
    plate = {"facecolor": "white", "edgecolor": "none", "pad": 0.5}
    for text, c, dy in _label_blocks(e, color):
        xy = (e["label_pos"][0] + 4, e["label_pos"][1] + dy)
        _mpl_text(ax, xy, text, 10, color=c, bbox=plate, zorder=3, **_LEFT)


def _mpl_node(ax, mpl, node: Node, n: dict) -> None:
    style = _STYLES[node.kind]
    paint = {"facecolor": style.fill, "edgecolor": style.stroke, "linewidth": 1.2, "zorder": 4}
    paint["linestyle"] = (0, (4, 3)) if style.dashed else "-"
    corner, centre = (n["x"] - n["w"] / 2, n["y"] - n["h"] / 2), (n["x"], n["y"])
    if style.shape == "box":
        rounded = "round,pad=0,rounding_size=6"
        ax.add_patch(mpl.patches.FancyBboxPatch(corner, n["w"], n["h"], boxstyle=rounded, **paint))
    else:
        ax.add_patch(mpl.patches.Ellipse(centre, n["w"], n["h"], **paint))
    if style.shape == "double":
        paint |= {"facecolor": "none", "linestyle": "-"}
        ax.add_patch(mpl.patches.Ellipse(centre, n["w"] - 8, n["h"] - 8, **paint))
    _mpl_text(ax, centre, node.label, 12, zorder=5, **_CENTRE)


def _mpl_axes(mpl, width: float, height: float, dpi: float):
    fig = mpl.Figure(figsize=(width / 100, height / 100), dpi=dpi)
    mpl.Canvas(fig)  # Agg canvas attached directly: pyplot's global backend stays untouched
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)  # SVG-style coordinates: y grows downwards
    ax.set_axis_off()
    return fig, ax


def _matplotlib_png(graph: Graph, path: Path, dpi: float) -> None:
    mpl = _import_matplotlib()
    lay = layout(graph)
    width, height = lay["width"], lay["height"]
    dpi = min(dpi, 30000 * 100 / max(width, height))  # Agg refuses images over 2**16 pixels
    fig, ax = _mpl_axes(mpl, width, height, dpi)
    for c in lay["clusters"].values():  # parents first, so children are drawn on top
        _mpl_cluster(ax, mpl, c)
    for e in lay["edges"]:
        _mpl_edge(ax, mpl, e)
    for node in graph.nodes:
        _mpl_node(ax, mpl, node, lay["nodes"][node.id])
    if graph.title:
        xy = (width / 2, _MARGIN + _TITLE_H / 2 - 4)
        _mpl_text(ax, xy, graph.title, 14, weight="bold", **_CENTRE)
    fig.savefig(path, format="png", dpi=dpi, facecolor="white")


# --------------------------------------------------------------------------- files


def to_png(graph: Graph, path, *, engine: str = "auto", dpi: float = 100) -> Path:
    """Write ``graph`` as PNG to ``path``: Graphviz when available (unless engine="python"),
    else matplotlib; ImportError when neither can be used."""
    path = Path(path)
    out = _with_dot(graph, "png", engine)
    if out is None:
        _matplotlib_png(graph, path, dpi)
    else:
        path.write_bytes(out)
    return path


def save(graph: Graph, path, *, engine: str = "auto") -> Path:
    """Write ``graph`` to ``path``; the suffix picks the format (.svg, .png, .dot or .gv)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(
            f"cannot save a graph as {path.suffix or '(no suffix)'!r}; "
            f"supported suffixes: {', '.join(SUFFIXES)}"
        )
    if suffix == ".png":
        return to_png(graph, path, engine=engine)
    text = to_svg(graph, engine=engine) if suffix == ".svg" else to_dot(graph)
    path.write_text(text, encoding="utf-8")
    return path
