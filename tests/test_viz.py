"""mg.draw: the graph matches the jaxpr; SVG/PNG are produced; figures are fresh."""

import os
import re
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
from minigrad_jax._src.ir import Literal
from minigrad_jax._src.lax import elementwise as ew
from minigrad_jax._src.teaching.draw import draw

ROOT = Path(__file__).resolve().parent.parent
FIGURES = (
    "linreg_graph",
    "linreg_forward",
    "linreg_local",
    "linreg_backward",
    "mlp_backward",
)


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
    # operations are nodes, plus one per input and output; literals are written into the ops
    want = len(jaxpr.eqns) + len(jaxpr.invars) + len(jaxpr.outvars)
    assert len(nodes) == want == len(d.graph.nodes)
    # edges: one per (var use in an equation) plus one per output
    producer = {v: f"in{i}" for i, v in enumerate(jaxpr.invars)}
    want_edges = []
    for k, eqn in enumerate(jaxpr.eqns):
        for a in eqn.invars:
            if type(a) is not Literal:
                want_edges.append((producer[a], f"eqn{k}"))
        for v in eqn.outvars:
            producer[v] = f"eqn{k}"
    want_edges += [(producer[v], f"out{i}") for i, v in enumerate(jaxpr.outvars)]
    got = [(s, t) for s, t, _ in _dot_edges(dot)]
    assert sorted(got) == sorted(want_edges)
    assert all(e.kind == "forward" for e in d.graph.edges)
    labels = {n.id: n.label for n in d.graph.nodes}
    assert labels["in0"] == "w" and labels["in2"] == "y"
    assert labels["eqn0"] == "y_hat = w * x" and labels["eqn2"] == "loss = e ** 2"
    assert labels["out0"] == "loss"


def test_literals_are_written_into_the_operation():
    f = lambda w: (w * 1.0 - 2.0) ** 2  # noqa: E731
    d = draw(f)(1.0)
    assert not [n for n in d.graph.nodes if n.kind == "const"]
    labels = [n.label for n in d.graph.nodes if n.kind == "op"]
    assert any("* 1.0" in lbl for lbl in labels) and any("- 2.0" in lbl for lbl in labels)
    closed = mg.make_jaxpr(f)(1.0)
    assert len(d.graph.nodes) == len(closed.eqns) + 1 + 1


def test_values_on_edges():
    d = draw(linreg, values=True)(1.0, 1.0, 2.0)
    labels = {(e.src, e.dst): e.label for e in d.graph.edges}
    assert labels[("eqn0", "eqn1")] == "y_hat = 1.0"  # y_hat = w * x = 1
    assert labels[("eqn1", "eqn2")] == "e = -1.0"  # y_hat - y
    assert labels[("eqn2", "out0")] == "loss = 1.0"
    assert all(not e.sublabel for e in d.graph.edges)  # no gradients unless asked
    arr = draw(lambda x: ew.sin(x), values=True)(np.arange(10, dtype=np.float32))
    (edge,) = [e for e in arr.graph.edges if e.dst == "eqn0"]
    assert "f32[10]" in edge.label and "min=0" in edge.label and "max=9" in edge.label


def test_gradients_are_written_under_the_values_no_backward_edges():
    d = draw(linreg, backward=True, values=True)(1.0, 1.0, 2.0)
    assert all(e.kind == "forward" for e in d.graph.edges)  # one set of edges
    sub = {(e.src, e.dst): e.sublabel for e in d.graph.edges}
    want_w = jax.grad(lambda w, x, y: (w * x - y) ** 2)(1.0, 1.0, 2.0)
    assert sub[("in0", "eqn0")] == f"dloss/dw = {float(want_w)}"
    d_yhat = jax.grad(lambda y_hat: (y_hat - 2.0) ** 2)(1.0)  # the rest of loss from y_hat
    assert sub[("eqn0", "eqn1")] == f"dloss/dy_hat = {float(d_yhat)}"
    assert sub[("eqn2", "out0")] == "dloss/dloss = 1.0"
    assert "<font color=" in d.to_dot()
    svg = d.to_svg(engine="python")
    assert "dloss/dy_hat = -2.0" in svg and "#d9480f" in svg


def test_gradient_fan_in_is_marked_and_sums_to_the_gradient():
    def f(x):
        return ew.sin(x) * x

    d = draw(f, backward=True)(0.5)
    from_x = [e for e in d.graph.edges if e.src == "in0"]
    assert len(from_x) == 2 and all("+=" in e.sublabel for e in from_x)
    total = sum(float(e.sublabel.split("+= ")[1]) for e in from_x)
    np.testing.assert_allclose(total, mg.grad(f)(0.5), rtol=1e-6)
    np.testing.assert_allclose(total, jax.grad(lambda x: jnp.sin(x) * x)(0.5), rtol=1e-6)


def test_local_gradients_on_request():
    d = draw(linreg, backward=True, values=True, local=True)(1.0, 1.0, 2.0)
    sub = {(e.src, e.dst): e.sublabel for e in d.graph.edges}
    assert "local dy_hat/dw = 1.0" in sub[("in0", "eqn0")]  # d (w * x) / d w = x = 1
    assert "local de/dy = -1.0" in sub[("in2", "eqn1")]


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
    want = f"{float(jnp.sin(jnp.float32(1.0))):.6f}"[:7]
    assert any(lbl.split(" = ")[1].startswith(want) for lbl in inner_vals)  # sin(1.0)


def test_svg_png_dot_files(tmp_path):
    d = draw(linreg, backward=True, values=True)(1.0, 1.0, 2.0)
    svg = d.to_svg(engine="python")
    assert svg.lstrip().startswith(("<svg", "<?xml")) and "loss = e ** 2" in svg
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
    with pytest.raises(TypeError, match=r"f32\[3\]"):
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
