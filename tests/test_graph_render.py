"""Tests for the graph renderer behind mg.draw: DOT text, pure-Python layout, SVG and PNG."""

import itertools
import random
import re
import stat
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest

from minigrad_jax._src.teaching import render as gr
from minigrad_jax._src.teaching.render import Cluster, Edge, Graph, Node

SVG = "{http://www.w3.org/2000/svg}"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- sample graphs


def chain_graph(title="loss = (x*2 - 1)**2"):
    nodes = [
        Node("x", "x\nf32[3]", "input"),
        Node("two", "2.0", "const"),
        Node("mul", "mul\nf32[3]", "op", tooltip="a = mul x 2.0"),
        Node("sub", "sub", "op"),
        Node("pow", "integer_pow\ny=2", "op"),
        Node("loss", "loss", "output"),
    ]
    edges = [
        Edge("x", "mul", "f32[3]"),
        Edge("two", "mul"),
        Edge("mul", "sub"),
        Edge("sub", "pow"),
        Edge("pow", "loss"),
    ]
    return Graph(nodes, edges, [], title)


def diamond_graph():
    nodes = [Node("a", "a", "input"), Node("b", "sin"), Node("c", "cos"), Node("d", "add")]
    nodes.append(Node("out", "out", "output"))
    edges = [Edge("a", "b"), Edge("a", "c"), Edge("b", "d"), Edge("c", "d"), Edge("d", "out")]
    return Graph(nodes, edges, [], "diamond")


def nested_graph():
    """x -> jit{ xin -> sin -> cond{ cin -> cos -> cout } -> mul -> jout } -> y."""
    ids = {"x": "input", "xin": "cluster_in", "sin": "op", "cin": "cluster_in", "cos": "op"}
    ids |= {"cout": "cluster_out", "mul": "op", "jout": "cluster_out", "y": "output"}
    nodes = [Node(nid, nid, kind) for nid, kind in ids.items()]
    pairs = ["x xin", "xin sin", "sin cin", "cin cos", "cos cout", "cout mul", "xin mul"]
    edges = [Edge(*p.split()) for p in pairs + ["mul jout", "jout y"]]
    inner = Cluster("cond0", "cond[branch 0]", ["cin", "cos", "cout"])
    outer = Cluster("jit0", "pjit[name=f]", ["xin", "sin", "mul", "jout"], [inner])
    return Graph(nodes, edges, [outer], "nested")


def backward_graph():
    g = chain_graph("with gradients")
    g.nodes.append(Node("gx", "dloss/dx", "output"))
    g.edges += [
        Edge("loss", "pow", "ct", "backward"),
        Edge("pow", "sub", "", "backward"),
        Edge("sub", "mul", "", "backward"),
        Edge("mul", "gx", "", "backward"),
    ]
    return g


def siblings_graph():
    """Two sibling clusters side by side plus outside nodes at the same ranks."""
    nodes = [Node("a", "a", "input"), Node("b", "b", "input"), Node("free", "free_op")]
    nodes += [Node(f"{p}{i}", f"{p}_op_{i}") for p in "pq" for i in range(3)]
    nodes += [Node("out", "out", "output")]
    edges = [Edge("a", "p0"), Edge("p0", "p1"), Edge("p1", "p2"), Edge("b", "q0")]
    edges += [Edge("q0", "q1"), Edge("q1", "q2"), Edge("a", "free"), Edge("free", "out")]
    edges += [Edge("p2", "out"), Edge("q2", "out"), Edge("b", "p1")]
    clusters = [Cluster("P", "scan", ["p0", "p1", "p2"]), Cluster("Q", "while", ["q0", "q1", "q2"])]
    return Graph(nodes, edges, clusters, "siblings")


ALL_GRAPHS = [chain_graph, diamond_graph, nested_graph, backward_graph, siblings_graph]


# --------------------------------------------------------------------------- helpers

QUOTED = r'"((?:[^"\\]|\\.)*)"'
NODE_LINE = re.compile(rf"^\s*{QUOTED} \[(.*)\];$")
EDGE_LINE = re.compile(rf"^\s*{QUOTED} -> {QUOTED}(?: \[(.*)\])?;$")
CLUSTER_OPEN = re.compile(rf"^\s*subgraph {QUOTED} {{$")


def parse_dot(text):
    """Node ids with their enclosing cluster stack, and edges with their attribute text."""
    nodes, edges, stack = {}, [], []
    for line in text.splitlines():
        if m := CLUSTER_OPEN.match(line):
            stack.append(m.group(1))
        elif line.strip() == "}" and stack:
            stack.pop()
        elif m := EDGE_LINE.match(line):
            edges.append((m.group(1), m.group(2), m.group(3) or ""))
        elif m := NODE_LINE.match(line):
            assert m.group(1) not in nodes, f"node {m.group(1)} declared twice"
            nodes[m.group(1)] = tuple(stack)
    return nodes, edges


def svg_groups(svg_text, cls):
    root = ET.fromstring(svg_text)
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == cls]


def texts(element):
    return ["".join(t.itertext()) for t in element.iter(f"{SVG}text")]


def overlaps(a, b, slack=0.5):
    """Boxes (x0, y0, x1, y1) sharing more than `slack` pixels of area in both directions."""
    return (
        a[0] < b[2] - slack and b[0] < a[2] - slack and a[1] < b[3] - slack and b[1] < a[3] - slack
    )


def node_box(n):
    return (n["x"] - n["w"] / 2, n["y"] - n["h"] / 2, n["x"] + n["w"] / 2, n["y"] + n["h"] / 2)


def cluster_box(c):
    return (c["x0"], c["y0"], c["x1"], c["y1"])


def near(point, box, slack=1.0):
    return (
        box[0] - slack <= point[0] <= box[2] + slack
        and box[1] - slack <= point[1] <= box[3] + slack
    )


def inside(inner, outer):
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and inner[2] <= outer[2]
        and inner[3] <= outer[3]
    )


@pytest.fixture
def no_dot(monkeypatch):
    """Pretend Graphviz is not installed."""
    monkeypatch.setattr(gr.shutil, "which", lambda name: None)


@pytest.fixture
def fake_dot(tmp_path, monkeypatch):
    """A fake `dot` on PATH that records its stdin and argv; returns a configurator."""

    def install(output=b"<svg xmlns='http://www.w3.org/2000/svg'><!--fake--></svg>", status=0):
        script = tmp_path / "bin" / "dot"
        script.parent.mkdir(exist_ok=True)
        script.write_text(
            textwrap.dedent(f"""\
            #!{sys.executable}
            import sys, pathlib
            here = pathlib.Path(__file__).parent
            (here / "stdin.txt").write_bytes(sys.stdin.buffer.read())
            (here / "argv.txt").write_text(" ".join(sys.argv[1:]))
            sys.stdout.buffer.write({output!r})
            sys.stderr.write("fake dot error")
            sys.exit({status})
            """)
        )
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        monkeypatch.setenv("PATH", str(script.parent))
        return script.parent

    return install


# --------------------------------------------------------------------------- DOT


@pytest.mark.parametrize("make", ALL_GRAPHS)
def test_dot_has_exactly_the_graph_nodes_and_edges(make):
    g = make()
    nodes, edges = parse_dot(gr.to_dot(g))
    assert set(nodes) == {n.id for n in g.nodes}
    assert sorted(e[:2] for e in edges) == sorted((e.src, e.dst) for e in g.edges)


def test_dot_header_shapes_and_labels():
    text = gr.to_dot(chain_graph())
    assert text.startswith("digraph G {") and text.rstrip().endswith("}")
    assert 'rankdir="TB"' in text
    assert 'label="loss = (x*2 - 1)**2";' in text
    lines = {m.group(1): m.group(2) for m in map(NODE_LINE.match, text.splitlines()) if m}
    assert 'shape="ellipse"' in lines["x"] and "#cfe2ff" in lines["x"]
    assert 'shape="ellipse"' in lines["two"] and "#e9ecef" in lines["two"]
    assert 'shape="box"' in lines["mul"] and "rounded" in lines["mul"]
    assert 'peripheries="2"' in lines["loss"]
    assert 'label="integer_pow\\ny=2"' in lines["pow"]
    assert 'tooltip="a = mul x 2.0"' in lines["mul"]
    assert '"x" -> "mul" [label="f32[3]"];' in text


def test_dot_escapes_quotes_backslashes_and_newlines():
    tricky = 'say "hi"\\n\nnext <f32[2]>'
    g = Graph([Node('we"ird\\id', tricky), Node("b", "b")], [Edge('we"ird\\id', "b", 'l"b')])
    text = gr.to_dot(g)
    assert '"we\\"ird\\\\id" [label="say \\"hi\\"\\\\n\\nnext <f32[2]>"' in text
    assert '"we\\"ird\\\\id" -> "b" [label="l\\"b"];' in text
    # Every line still tokenises: quotes balanced once escapes are removed.
    for line in text.splitlines():
        assert re.sub(r"\\.", "", line).count('"') % 2 == 0, line


def test_dot_nested_clusters_contain_their_nodes():
    nodes, _ = parse_dot(gr.to_dot(nested_graph()))
    assert nodes["x"] == () and nodes["y"] == ()
    assert nodes["sin"] == ("cluster_jit0",) and nodes["jout"] == ("cluster_jit0",)
    assert nodes["cos"] == ("cluster_jit0", "cluster_cond0")
    text = gr.to_dot(nested_graph())
    assert 'label="pjit[name=f]";' in text and 'label="cond[branch 0]";' in text


def test_dot_backward_edges_are_dashed_and_coloured():
    _, edges = parse_dot(gr.to_dot(backward_graph()))
    attrs = {(s, d): a for s, d, a in edges}
    assert 'style="dashed"' in attrs[("loss", "pow")] and "#d9480f" in attrs[("loss", "pow")]
    assert 'label="ct"' in attrs[("loss", "pow")]
    assert "dashed" not in attrs[("pow", "loss")]
    assert "constraint" not in gr.to_dot(backward_graph())


@pytest.mark.parametrize(
    "graph, message",
    [
        (Graph([Node("a", "a"), Node("a", "b")]), "duplicate node"),
        (Graph([Node("a", "a")], [Edge("a", "zz")]), "unknown node 'zz'"),
        (Graph([Node("a", "a")], [], [Cluster("c", "c", ["nope"])]), "unknown node 'nope'"),
        (
            Graph([Node("a", "a")], [], [Cluster("c", "c", ["a"]), Cluster("d", "d", ["a"])]),
            "unrelated clusters",
        ),
        (Graph([Node("a", "a")], [], [Cluster("c", "c"), Cluster("c", "d")]), "duplicate cluster"),
    ],
)
def test_invalid_graphs_are_rejected(graph, message):
    with pytest.raises(ValueError, match=message):
        gr.to_dot(graph)
    with pytest.raises(ValueError, match=message):
        gr.layout(graph)


def test_invalid_kinds_are_rejected():
    with pytest.raises(ValueError, match="kind"):
        Node("a", "a", "operator")
    with pytest.raises(ValueError, match="kind"):
        Edge("a", "b", kind="sideways")


# --------------------------------------------------------------------------- layout


@pytest.mark.parametrize("make", ALL_GRAPHS)
def test_layout_ranks_follow_forward_edges(make):
    g = make()
    lay = gr.layout(g)
    assert set(lay["nodes"]) == {n.id for n in g.nodes}
    for e in g.edges:
        if e.kind == "forward":
            src, dst = lay["nodes"][e.src], lay["nodes"][e.dst]
            assert src["rank"] < dst["rank"], (e.src, e.dst)
            assert src["y"] < dst["y"], (e.src, e.dst)
    flat = [nid for row in lay["ranks"] for nid in row]
    assert sorted(flat) == sorted(n.id for n in g.nodes)
    for r, row in enumerate(lay["ranks"]):
        assert all(lay["nodes"][nid]["rank"] == r for nid in row)
        xs = [lay["nodes"][nid]["x"] for nid in row]
        assert xs == sorted(xs)


def test_layout_chain_ranks_and_ends():
    lay = gr.layout(chain_graph())
    ranks = {nid: n["rank"] for nid, n in lay["nodes"].items()}
    # The constant sits just above its consumer; the output is at the bottom.
    assert ranks == {"x": 0, "two": 0, "mul": 1, "sub": 2, "pow": 3, "loss": 4}
    g = Graph([Node("x", "x", "input"), Node("s", "sin"), Node("c", "c", "const")], [])
    g.nodes += [Node("m", "mul"), Node("o", "o", "output")]
    g.edges = [Edge("x", "s"), Edge("s", "m"), Edge("c", "m"), Edge("m", "o")]
    assert gr.layout(g)["nodes"]["c"]["rank"] == 1


def test_layout_backward_edges_do_not_change_ranks():
    plain = gr.layout(chain_graph())
    both = gr.layout(backward_graph())
    for nid, n in plain["nodes"].items():
        assert both["nodes"][nid]["rank"] == n["rank"]
    loop = Graph(
        [Node("a", "a"), Node("b", "b")], [Edge("a", "b"), Edge("b", "a", kind="backward")]
    )
    assert [gr.layout(loop)["nodes"][v]["rank"] for v in "ab"] == [0, 1]


def test_layout_node_sizes_follow_labels():
    lay = gr.layout(chain_graph())
    mul, sub, pow_ = (lay["nodes"][k] for k in ("mul", "sub", "pow"))
    assert pow_["w"] > mul["w"] > 0 and mul["h"] == pow_["h"] > sub["h"]
    assert pow_["w"] >= len("integer_pow") * 7.2


@pytest.mark.parametrize("make", ALL_GRAPHS)
def test_layout_has_no_overlapping_nodes(make):
    lay = gr.layout(make())
    for (a, na), (b, nb) in itertools.combinations(lay["nodes"].items(), 2):
        assert not overlaps(node_box(na), node_box(nb)), (a, b)
    assert all(
        0 <= box[0] and box[2] <= lay["width"] for box in map(node_box, lay["nodes"].values())
    )


@pytest.mark.parametrize("make", [nested_graph, siblings_graph])
def test_layout_clusters_enclose_members_and_exclude_others(make):
    g = make()
    lay = gr.layout(g)
    members = {}

    def collect(cluster):
        members[cluster.id] = set(cluster.node_ids)
        for sub in cluster.clusters:
            collect(sub)
            members[cluster.id] |= members[sub.id]

    for c in g.clusters:
        collect(c)
    assert set(lay["clusters"]) == set(members)
    for cid, c in lay["clusters"].items():
        box = cluster_box(c)
        for nid, n in lay["nodes"].items():
            if nid in members[cid]:
                assert inside(node_box(n), box), (nid, cid)
                assert n["y"] - n["h"] / 2 >= c["y0"] + 18, "no room for the cluster label"
            else:
                assert not overlaps(node_box(n), box), (nid, cid)
        if c["parent"]:
            assert inside(box, cluster_box(lay["clusters"][c["parent"]]))
    assert 0 <= min(c["x0"] for c in lay["clusters"].values())


def test_layout_sibling_clusters_do_not_overlap():
    lay = gr.layout(siblings_graph())
    p, q = (cluster_box(lay["clusters"][k]) for k in "PQ")
    assert not overlaps(p, q)


def test_layout_barycenter_removes_avoidable_crossing():
    # Declared in an order that crosses (a->d, b->c with c before d); sweeps must untangle it.
    nodes = [Node(v, v, "input") for v in "ab"] + [Node(v, v) for v in "cd"]
    lay = gr.layout(Graph(nodes, [Edge("a", "d"), Edge("b", "c")]))
    x = {k: n["x"] for k, n in lay["nodes"].items()}
    assert (x["a"] < x["b"]) == (x["d"] < x["c"])


KINDS = ["input", "const", "op", "op", "op", "output", "cluster_in", "cluster_out"]


def all_members(cluster):
    return set(cluster.node_ids).union(*map(all_members, cluster.clusters))


def random_clusters(rng, lo, hi, tag, depth=0):
    """Randomly nested clusters over runs of consecutive node indices in [lo, hi)."""
    clusters, i = [], lo
    while i < hi:
        if depth < 3 and hi - i > 2 and rng.random() < 0.15:
            size = rng.randint(2, min(12, hi - i))
            cluster = Cluster(f"{tag}_{i}", f"cluster {i}")
            cluster.clusters = random_clusters(rng, i, i + size, cluster.id, depth + 1)
            taken = set().union(*map(all_members, cluster.clusters))
            cluster.node_ids = [f"n{k}" for k in range(i, i + size) if f"n{k}" not in taken]
            clusters.append(cluster)
            i += size
        else:
            i += 1
    return clusters


def random_graph(rng, n):
    """A random DAG (edges run from lower to higher index, like jaxpr equations) with a few
    backward edges and random nested clusters."""
    labels = [f"op{i}" + "\nf32[3]" * (rng.random() < 0.3) for i in range(n)]
    nodes = [Node(f"n{i}", labels[i], rng.choice(KINDS)) for i in range(n)]
    edges = [Edge(f"n{rng.randrange(j)}", f"n{j}") for j in range(1, n) for _ in range(3)]
    edges = [e for e in edges if rng.random() < 0.5]
    edges += [Edge(f"n{rng.randrange(n)}", f"n{rng.randrange(n)}", kind="backward") for _ in "ab"]
    return Graph(nodes, edges, random_clusters(rng, 0, n, "c"))


def check_geometry(g, lay):
    """No overlapping nodes; clusters hold their members, exclude others, nest properly."""
    for (a, na), (b, nb) in itertools.combinations(lay["nodes"].items(), 2):
        assert not overlaps(node_box(na), node_box(nb)), (a, b)
    members, stack = {}, list(g.clusters)
    while stack:
        cluster = stack.pop()
        members[cluster.id] = all_members(cluster)
        stack += cluster.clusters
    for cid, c in lay["clusters"].items():
        for nid, n in lay["nodes"].items():
            if nid in members[cid]:
                assert inside(node_box(n), cluster_box(c)), (nid, cid)
            else:
                assert not overlaps(node_box(n), cluster_box(c)), (nid, cid)
    for (a, ca), (b, cb) in itertools.combinations(lay["clusters"].items(), 2):
        nested = members[a] <= members[b] or members[b] <= members[a]
        assert nested or not overlaps(cluster_box(ca), cluster_box(cb)), (a, b)


@pytest.fixture
def strict_clusters(monkeypatch):
    """Fail if cluster placement constraints turn out cyclic (the fitted-box fallback)."""

    def no_fallback(*args):
        raise AssertionError("cluster placement constraints were cyclic")

    monkeypatch.setattr(gr, "_fit_clusters", no_fallback)


def test_layout_sibling_clusters_keep_their_order_on_every_rank(strict_clusters):
    # Regression (found by fuzzing, then shrunk): each sweep left the row it starts from
    # sorted by the previous sweep's cluster keys, so clusters C and S swapped sides between
    # rank 0 and rank 1; the placement constraints became cyclic and the boxes overlapped.
    order = [0, 1, 3, 6, 7, 9, 12, 13, 14, 15, 16, 22, 24, 26, 29, 30, 32, 39]
    pairs = "0-1 1-3 0-3 3-6 3-9 1-13 14-16 16-22 12-26 26-29 15-30 7-32 13-32 22-39"
    nodes = [Node(f"n{i}", f"n{i}") for i in order]
    edges = [Edge(*(f"n{i}" for i in pair.split("-"))) for pair in pairs.split()]
    inner = Cluster("C7", "inner", ["n7"])
    clusters = [Cluster("C", "outer", ["n6", "n9"], [inner]), Cluster("S", "other", ["n15", "n16"])]
    g = Graph(nodes, edges, clusters)
    check_geometry(g, gr.layout(g))


def test_layout_random_graphs(strict_clusters):
    rng = random.Random(1234)
    for _ in range(300):
        g = random_graph(rng, rng.randint(1, 40))
        lay = gr.layout(g)
        for e in g.edges:
            if e.kind == "forward":
                assert lay["nodes"][e.src]["rank"] < lay["nodes"][e.dst]["rank"]
        check_geometry(g, lay)


def test_layout_fallback_when_cluster_constraints_are_cyclic(monkeypatch):
    containment = gr._containment

    def cyclic(w):
        return containment(w) + [(("R", cid), ("L", cid), 1.0) for cid in w.span]

    monkeypatch.setattr(gr, "_containment", cyclic)
    lay = gr.layout(nested_graph())
    jit, cond = (cluster_box(lay["clusters"][k]) for k in ("jit0", "cond0"))
    assert inside(cond, jit) and inside(node_box(lay["nodes"]["cos"]), cond)
    assert inside(node_box(lay["nodes"]["sin"]), jit)


def test_layout_is_deterministic():
    for make in ALL_GRAPHS:
        assert gr.layout(make()) == gr.layout(make())
        assert gr.to_svg(make(), engine="python") == gr.to_svg(make(), engine="python")


def test_layout_survives_cycles_self_loops_and_empty_graphs():
    g = Graph([Node(v, v) for v in "abc"], [Edge("a", "b"), Edge("b", "c"), Edge("c", "a")])
    g.edges.append(Edge("b", "b", "self"))
    lay = gr.layout(g)
    assert set(lay["nodes"]) == set("abc") and len(lay["edges"]) == 4
    assert len({n["rank"] for n in lay["nodes"].values()}) == 3
    empty = gr.layout(Graph(title="nothing"))
    assert empty["nodes"] == {} and empty["width"] > 0 and empty["height"] > 0
    ET.fromstring(gr.to_svg(Graph(), engine="python"))


def test_layout_edge_paths_are_cubic_and_join_their_nodes():
    lay = gr.layout(backward_graph())
    for e in lay["edges"]:
        path = e["path"]
        assert len(path) >= 4 and (len(path) - 1) % 3 == 0
        src, dst = node_box(lay["nodes"][e["src"]]), node_box(lay["nodes"][e["dst"]])
        assert near(path[0], src) and near(path[-1], dst), e


# --------------------------------------------------------------------------- SVG


@pytest.mark.parametrize("make", ALL_GRAPHS)
def test_python_svg_is_well_formed_with_one_shape_per_node_and_path_per_edge(make):
    g = make()
    svg = gr.to_svg(g, engine="python")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and float(root.get("width")) > 0
    node_groups = svg_groups(svg, "node")
    assert sorted(x.get("data-id") for x in node_groups) == sorted(n.id for n in g.nodes)
    for group in node_groups:
        shapes = list(group.iter(f"{SVG}rect")) + list(group.iter(f"{SVG}ellipse"))
        assert shapes, group.get("data-id")
    edge_groups = svg_groups(svg, "edge")
    assert len(edge_groups) == len(g.edges)
    assert all(len(list(e.iter(f"{SVG}path"))) == 1 for e in edge_groups)
    pairs = sorted((e.get("data-src"), e.get("data-dst")) for e in edge_groups)
    assert pairs == sorted((e.src, e.dst) for e in g.edges)
    assert g.title in texts(root)


def test_python_svg_node_shapes_by_kind():
    svg = gr.to_svg(chain_graph(), engine="python")
    shape = {}
    for group in svg_groups(svg, "node"):
        tags = [child.tag.removeprefix(SVG) for child in group if child.tag != f"{SVG}title"]
        shape[group.get("data-id")] = tags[:-1]  # last child is the label text
    assert shape["x"] == ["ellipse"] and shape["two"] == ["ellipse"]
    assert shape["mul"] == ["rect"] and shape["loss"] == ["ellipse", "ellipse"]


def test_python_svg_clusters_and_labels():
    svg = gr.to_svg(nested_graph(), engine="python")
    clusters = svg_groups(svg, "cluster")
    assert [c.get("data-id") for c in clusters] == ["jit0", "cond0"]
    assert texts(clusters[0]) == ["pjit[name=f]"] and texts(clusters[1]) == ["cond[branch 0]"]
    assert all(len(list(c.iter(f"{SVG}rect"))) == 1 for c in clusters)


def test_python_svg_escapes_text_and_keeps_multiline_labels():
    label = 'a<b> & "c"\nsecond line'
    g = Graph(
        [Node("n&1", label, tooltip="tip <x>"), Node("o", "o", "output")], [Edge("n&1", "o", "<e>")]
    )
    svg = gr.to_svg(g, engine="python")
    (node,) = [x for x in svg_groups(svg, "node") if x.get("data-id") == "n&1"]
    spans = [s.text for s in node.iter(f"{SVG}tspan")]
    assert spans == ['a<b> & "c"', "second line"]
    assert node.find(f"{SVG}title").text == "tip <x>"
    (edge,) = svg_groups(svg, "edge")
    assert texts(edge) == ["<e>"]


def test_python_svg_backward_edges_dashed_with_their_own_marker():
    svg = gr.to_svg(backward_graph(), engine="python")
    for group in svg_groups(svg, "edge"):
        path = group.find(f"{SVG}path")
        backward = group.get("data-kind") == "backward"
        assert (path.get("stroke-dasharray") is not None) == backward
        assert path.get("marker-end") == f"url(#mg-arrow-{group.get('data-kind')})"
        assert path.get("d").startswith("M") and "C" in path.get("d")
    ids = {m.get("id") for m in ET.fromstring(svg).iter(f"{SVG}marker")}
    assert ids == {"mg-arrow-forward", "mg-arrow-backward"}


def test_engine_python_never_calls_dot(monkeypatch, fake_dot):
    fake_dot()

    def boom(*args, **kwargs):
        raise AssertionError("dot must not run for engine='python'")

    monkeypatch.setattr(gr.subprocess, "run", boom)
    assert svg_groups(gr.to_svg(chain_graph(), engine="python"), "node")


def test_auto_uses_dot_when_installed(fake_dot):
    where = fake_dot()
    g = chain_graph()
    assert "<!--fake-->" in gr.to_svg(g)
    assert (where / "stdin.txt").read_text() == gr.to_dot(g)
    assert (where / "argv.txt").read_text() == "-Tsvg"


def test_auto_falls_back_when_dot_fails_or_is_missing(fake_dot, monkeypatch):
    fake_dot(output=b"", status=1)
    assert len(svg_groups(gr.to_svg(chain_graph()), "node")) == 6
    with pytest.raises(RuntimeError, match="fake dot error"):
        gr.to_svg(chain_graph(), engine="dot")
    monkeypatch.setattr(gr.shutil, "which", lambda name: None)
    assert len(svg_groups(gr.to_svg(chain_graph()), "node")) == 6


def test_engine_dot_without_graphviz_raises(no_dot):
    with pytest.raises(RuntimeError, match="Graphviz 'dot' executable is not on PATH"):
        gr.to_svg(chain_graph(), engine="dot")
    with pytest.raises(ValueError, match="engine"):
        gr.to_svg(chain_graph(), engine="cairo")


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize("make", ALL_GRAPHS)
def test_save_png_with_matplotlib(tmp_path, make):
    pytest.importorskip("matplotlib")
    out = gr.save(make(), tmp_path / "graph.png", engine="python")
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000


def test_save_png_auto_without_dot_uses_matplotlib(tmp_path, no_dot):
    pytest.importorskip("matplotlib")
    had_pyplot = "matplotlib.pyplot" in sys.modules
    assert gr.to_png(nested_graph(), tmp_path / "g.png").read_bytes().startswith(PNG_MAGIC)
    # pyplot would switch global backend state; the renderer uses an Agg canvas directly.
    assert ("matplotlib.pyplot" in sys.modules) == had_pyplot


def test_save_png_uses_dot_when_installed(tmp_path, fake_dot):
    where = fake_dot(output=PNG_MAGIC + b"from-dot")
    assert (tmp_path / "g.png") == gr.save(chain_graph(), tmp_path / "g.png")
    assert (tmp_path / "g.png").read_bytes() == PNG_MAGIC + b"from-dot"
    assert (where / "argv.txt").read_text() == "-Tpng"


def test_png_without_matplotlib_or_dot_explains_how_to_fix(tmp_path, monkeypatch, no_dot):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.patches", "matplotlib.path"):
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ImportError, match=r'pip install "minigrad_jax\[viz\]"'):
        gr.save(chain_graph(), tmp_path / "g.png")
    assert not (tmp_path / "g.png").exists()


def test_save_svg_and_dot_files(tmp_path, no_dot):
    g = nested_graph()
    svg_path = gr.save(g, tmp_path / "g.SVG")
    assert svg_groups(svg_path.read_text(), "cluster")
    for suffix in (".dot", ".gv"):
        assert gr.save(g, tmp_path / f"g{suffix}").read_text() == gr.to_dot(g)


@pytest.mark.parametrize("name", ["g.jpg", "g.pdf", "graph"])
def test_save_rejects_unknown_suffix(tmp_path, name):
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.dot, \.gv") as info:
        gr.save(chain_graph(), tmp_path / name)
    assert (name.rpartition(".")[2] if "." in name else "no suffix") in str(info.value)
    assert not (tmp_path / name).exists()
