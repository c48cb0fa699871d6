"""mg.draw: the graph matches the jaxpr; SVG/PNG are produced; figures are fresh."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad_jax as mg
from minigrad_jax._src.ir import Literal
from minigrad_jax._src.lax import elementwise as ew
from minigrad_jax._src.viz import draw

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ("linreg_graph", "linreg_forward", "linreg_backward", "mlp_backward")


def linreg(w, x, y):
    y_hat = w * x
    loss = (y_hat - y) ** 2
    return loss


def _dot_nodes(dot):
    return re.findall(r'^\s*"([^"]+)" \[label=', dot, flags=re.M)


def _dot_edges(dot):
    return re.findall(r'^\s*"([^"]+)" -> "([^"]+)"(.*);$', dot, flags=re.M)


def _count_literals(jaxpr):
    return sum(type(a) is Literal for e in jaxpr.eqns for a in e.invars) + sum(
        type(v) is Literal for v in jaxpr.outvars
    )


def test_dot_structure_matches_jaxpr():
    closed = mg.make_jaxpr(linreg)(1.0, 1.0, 2.0)
    jaxpr = closed.jaxpr
    d = draw(linreg)(1.0, 1.0, 2.0)
    dot = d.to_dot()
    nodes = _dot_nodes(dot)
    want = len(jaxpr.eqns) + len(jaxpr.invars) + len(jaxpr.outvars) + _count_literals(jaxpr)
    assert len(nodes) == want == len(d.graph.nodes)
    # edges: one per (var use in an equation) plus one per output
    producer = {v: f"in{i}" for i, v in enumerate(jaxpr.invars)}
    want_edges = []
    for k, eqn in enumerate(jaxpr.eqns):
        for a in eqn.invars:
            want_edges.append((producer[a], f"eqn{k}"))
        for v in eqn.outvars:
            producer[v] = f"eqn{k}"
    want_edges += [(producer[v], f"out{i}") for i, v in enumerate(jaxpr.outvars)]
    got = [(s, t) for s, t, _ in _dot_edges(dot)]
    assert sorted(got) == sorted(want_edges)
    assert all(e.kind == "forward" for e in d.graph.edges)
    labels = {n.id: n.label for n in d.graph.nodes}
    assert labels["in0"].startswith("w\n") and labels["in2"].startswith("y\n")
    assert labels["eqn2"].startswith("integer_pow[y=2]\n") and "f32[]" in labels["eqn2"]


def test_literals_become_const_nodes():
    f = lambda w: (w * 1.0 - 2.0) ** 2  # noqa: E731
    d = draw(f)(1.0)
    consts = [n for n in d.graph.nodes if n.kind == "const"]
    assert sorted(n.label for n in consts) == ["1.0", "2.0"]
    closed = mg.make_jaxpr(f)(1.0)
    assert len(d.graph.nodes) == len(closed.eqns) + 1 + 1 + 2


def test_values_on_edges():
    d = draw(linreg, values=True)(1.0, 1.0, 2.0)
    labels = {(e.src, e.dst): e.label for e in d.graph.edges}
    assert labels[("eqn0", "eqn1")] == "d = 1.0"  # y_hat = w * x = 1
    assert labels[("eqn1", "eqn2")] == "e = -1.0"  # y_hat - y
    assert labels[("eqn2", "out0")] == "f = 1.0"  # the loss
    arr = draw(lambda x: ew.sin(x), values=True)(np.arange(10, dtype=np.float32))
    (edge,) = [e for e in arr.graph.edges if e.dst == "eqn0"]
    assert "f32[10]" in edge.label and "min=0" in edge.label and "max=9" in edge.label


def test_backward_edges_carry_adjoints():
    d = draw(linreg, backward=True)(1.0, 1.0, 2.0)
    back = {(e.src, e.dst): e.label for e in d.graph.edges if e.kind == "backward"}
    fwd = [(e.src, e.dst) for e in d.graph.edges if e.kind == "forward"]
    assert len(back) == len(fwd)  # one adjoint per data edge (all inputs are float)
    assert back[("eqn1", "eqn0")].endswith("= -2.0")  # dloss/dyhat
    assert back[("eqn0", "in0")].endswith("= -2.0")  # dloss/dw == mg.grad
    assert float(mg.grad(linreg)(1.0, 1.0, 2.0)) == -2.0
    assert 'style="dashed"' in d.to_dot()


def test_backward_shows_summation_for_reused_variable():
    def f(x):
        return ew.sin(x) * x

    d = draw(f, backward=True)(0.5)
    into_x = [e for e in d.graph.edges if e.kind == "backward" and e.dst == "in0"]
    assert len(into_x) == 2 and all("+=" in e.label for e in into_x)
    total = sum(float(e.label.split("+= ")[1]) for e in into_x)
    np.testing.assert_allclose(total, mg.grad(f)(0.5), rtol=1e-6)


def test_jit_is_a_cluster():
    @mg.jit
    def inner(a):
        return ew.sin(a) * 2.0

    d = draw(lambda x: inner(x) + 1.0, values=True)(1.0)
    (cluster,) = d.graph.clusters
    assert cluster.label.startswith("jit") and "inner" in cluster.label
    kinds = {n.id: n.kind for n in d.graph.nodes}
    members = [kinds[i] for i in cluster.node_ids]
    assert members.count("op") == 2  # sin, mul
    assert "cluster_in" in members and "cluster_out" in members
    dot = d.to_dot()
    assert 'subgraph "cluster_' in dot
    # data flows outer input -> cluster input, cluster output -> the jit equation's node
    edges = {(e.src, e.dst) for e in d.graph.edges}
    cin = next(i for i in cluster.node_ids if kinds[i] == "cluster_in")
    cout = next(i for i in cluster.node_ids if kinds[i] == "cluster_out")
    assert ("in0", cin) in edges and (cout, "eqn0") in edges
    inner_vals = [e.label for e in d.graph.edges if e.src in cluster.node_ids and "=" in e.label]
    assert any(lbl.startswith("b = 0.84147") for lbl in inner_vals)  # sin(1.0)


def test_svg_png_dot_files(tmp_path):
    d = draw(linreg, backward=True, values=True)(1.0, 1.0, 2.0)
    svg = d.to_svg(engine="python")
    assert svg.lstrip().startswith(("<svg", "<?xml")) and "integer_pow" in svg
    assert d._repr_svg_().count("<svg") == 1
    d.save(tmp_path / "g.svg")
    d.save(tmp_path / "g.dot")
    d.save(tmp_path / "g.png", engine="python")
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "g.dot").read_text().startswith("digraph")
    assert "<svg" in (tmp_path / "g.svg").read_text()


def test_backward_requires_scalar_output():
    with pytest.raises(TypeError, match="single float scalar output"):
        draw(lambda x: x * 2.0, backward=True)(np.ones(3, np.float32))


def test_committed_figures_exist():
    for name in FIGURES:
        for suffix in (".svg", ".png"):
            path = ROOT / "docs" / "figures" / f"{name}{suffix}"
            assert path.is_file() and path.stat().st_size > 0, path
    tutorial = (ROOT / "docs" / "tutorial.md").read_text()
    for name in FIGURES:
        assert f"figures/{name}.svg" in tutorial


def test_make_figures_runs_and_matches_committed(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), MINIGRAD_FIGURES_OUT=str(tmp_path))
    subprocess.run(
        [sys.executable, str(ROOT / "docs" / "make_figures.py")],
        check=True,
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=240,
    )
    for name in FIGURES:
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        # Numbers (coordinates, float values) are masked so the check is about what the picture
        # shows (nodes, labels, edges), not last-digit float or layout differences.
        fresh = _NUM.sub("#", (tmp_path / f"{name}.svg").read_text())
        committed = _NUM.sub("#", (ROOT / "docs" / "figures" / f"{name}.svg").read_text())
        assert fresh == committed, f"docs/figures/{name}.svg is stale: run docs/make_figures.py"


_NUM = re.compile(r"-?\d+(\.\d+)?(e-?\d+)?")
