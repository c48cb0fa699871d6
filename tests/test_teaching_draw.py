"""mg.draw at scale (folding keeps any drawing within 4000 x 4000 px) and inside control flow."""

import importlib.util
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax._src.teaching.draw import MAX_SIDE


def _svg_size(svg):
    m = re.search(r'<svg[^>]* width="([\d.]+)" height="([\d.]+)"', svg)
    return float(m.group(1)), float(m.group(2))


def chain(x):
    for _ in range(600):
        x = mnp.sin(x) * 0.9
    return x


def test_600_op_chain_on_one_line_fits():
    assert len(mg.make_jaxpr(chain)(1.0).eqns) >= 600
    d = mg.draw(chain, backward=True, values=True)(1.0)
    w, h = d.size()
    assert w <= MAX_SIDE and h <= MAX_SIDE
    sw, sh = _svg_size(d.to_svg(engine="python"))
    assert abs(sw - w) < 0.1 and abs(sh - h) < 0.1
    assert d.folded > 0 and len(d.graph.nodes) <= 60
    # the gradient written on the input's edge is still d out / d x
    (edge,) = [e for e in d.graph.edges if e.src == "in0"]
    want = jax.grad(lambda x: jax.lax.fori_loop(0, 600, lambda i, x: jnp.sin(x) * 0.9, x))(1.0)
    np.testing.assert_allclose(float(edge.sublabel.split(" = ")[1]), want, rtol=1e-4, atol=1e-30)


def test_600_op_chain_on_600_lines_fits(tmp_path):
    body = "".join(f"    x{i + 1} = mnp.sin(x{i}) * 0.5 + 0.1\n" for i in range(300))
    src = "import minigrad_jax.numpy as mnp\n\n\ndef long(x0):\n" + body + "    return x300\n"
    path = tmp_path / "long_chain.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("long_chain", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert len(mg.make_jaxpr(mod.long)(1.0).eqns) >= 600
    d = mg.draw(mod.long, backward=True, values=True)(1.0)
    w, h = d.size()
    assert w <= MAX_SIDE and h <= MAX_SIDE
    d.save(tmp_path / "long.png", engine="python")
    assert (tmp_path / "long.png").read_bytes()[:4] == b"\x89PNG"


def test_small_graphs_are_not_folded_and_fold_can_be_forced():
    def f(w, x):
        h = mnp.tanh(w * x)
        h = mnp.tanh(h * x)
        return mnp.sum(h)

    d = mg.draw(f)(1.0, 2.0)
    assert d.folded == 0
    labels = [n.label for n in d.graph.nodes]
    assert any(lbl.startswith("h = tanh") for lbl in labels)
    assert any(lbl.startswith("h' = tanh") for lbl in labels)  # assigned again: h'
    folded = mg.draw(chain, fold=True, expand=())(1.0)
    assert folded.folded > 0


def test_control_flow_is_drawn_inside():
    def f(w):
        def step(c, x):
            h = mnp.tanh(c * w + x)
            return h, h

        c, _ = mg.lax.scan(step, 0.5, mnp.arange(3.0))
        return mg.lax.cond(c > 0, lambda a: a * w, lambda a: -a, c)

    d = mg.draw(f, backward=True, values=True)(0.7)
    labels = [c.label for c in d.graph.clusters]
    assert any(lbl.startswith("scan body (3 iterations") for lbl in labels)
    assert any("not taken" in lbl for lbl in labels)
    # inside the scan body the values are per iteration
    inner = [e for e in d.graph.edges if e.label.startswith("h = [")]
    assert inner and inner[0].label.count(";") == 2


def scan3(w, L, xs):
    def step(c, x):
        h = L.tanh(c * w + x)
        return h, h * h

    c, ys = L.scan(step, 0.5, xs)
    return c + L.sum(ys)


_MG = type("L", (), {"scan": staticmethod(mg.lax.scan), "tanh": mnp.tanh, "sum": mnp.sum})
_JAX = type("L", (), {"scan": staticmethod(jax.lax.scan), "tanh": jnp.tanh, "sum": jnp.sum})
XS = np.array([0.0, 1.0, -0.5], np.float32)


def _grad_text(edge):
    op = " += " if " += " in edge.sublabel else " = "
    return float(edge.sublabel.split(op)[1])


def test_unrolled_scan_has_one_body_per_iteration_with_jax_gradients():
    f = lambda w: scan3(w, _MG, XS)  # noqa: E731
    d = mg.draw(f, backward=True, values=True, unroll=True)(0.7)
    (box,) = [c for c in d.graph.clusters if "unrolled" in c.label]
    assert box.label == "scan body (3 iterations, unrolled)"
    assert [c.label for c in box.clusters] == ["iteration 0", "iteration 1", "iteration 2"]
    kinds = {n.id: n for n in d.graph.nodes}
    body = mg.make_jaxpr(f)(0.7).eqns[-3].params["jaxpr"].jaxpr  # the scan's body
    ops = [[kinds[i].label for i in c.node_ids if kinds[i].kind == "op"] for c in box.clusters]
    assert len(ops[0]) == len(body.eqns) and ops[0] == ops[1] == ops[2]
    assert not any(c.label.endswith(", rolled)") for c in d.graph.clusters)
    # the carry entering iteration k: its value and d loss / d carry_k are JAX's (the function
    # split at the carry of iteration k: the rest of the loop from there)
    into = {e.dst: e for e in d.graph.edges}
    for k, c in enumerate(box.clusters):
        (carry,) = [
            i
            for i in c.node_ids
            if kinds[i].kind == "cluster_in" and kinds[i].label.split(" = ")[0] == "c"
        ]
        c_k = jax.lax.scan(lambda c, x: (jnp.tanh(c * 0.7 + x),) * 2, 0.5, XS[:k])[0]
        want = jax.grad(lambda c, k=k: _rest(c, k))(c_k)
        info = d.nodes[carry]
        np.testing.assert_allclose(float(info["value"]["text"]), c_k, rtol=1e-6)
        np.testing.assert_allclose(float(info["cotangent"]["text"]), want, rtol=1e-5)
        if k == 0:  # the initial carry is the literal 0.5, written into the node
            assert carry not in into and kinds[carry].label == "c = 0.5"
            continue
        edge = into[carry]  # from the previous iteration's h
        assert edge.src in box.clusters[k - 1].node_ids
        np.testing.assert_allclose(float(edge.label.split(" = ")[1]), c_k, rtol=1e-6)
        np.testing.assert_allclose(_grad_text(edge), want, rtol=1e-5)
    # w is loop-invariant: it fans out to every iteration and its adjoints are summed (+=)
    w_edges = [e for e in d.graph.edges if e.src == "in0"]
    assert len(w_edges) == 3 and all(" += " in e.sublabel for e in w_edges)
    total = sum(_grad_text(e) for e in w_edges)
    np.testing.assert_allclose(total, jax.grad(lambda w: scan3(w, _JAX, XS))(0.7), rtol=1e-5)
    w, h = d.size()
    assert w <= MAX_SIDE and h <= MAX_SIDE


def _rest(c, k):
    """scan3's output as a function of the carry entering iteration k (w = 0.7)."""
    ys_before = jax.lax.scan(lambda c, x: (jnp.tanh(c * 0.7 + x),) * 2, 0.5, XS[:k])[1]
    c_out, ys = jax.lax.scan(lambda c, x: (jnp.tanh(c * 0.7 + x),) * 2, c, XS[k:])
    return c_out + jnp.sum(ys_before**2) + jnp.sum(ys**2)


def test_unroll_is_per_loop_and_rolled_is_the_default():
    def f(w):
        c, _ = mg.lax.scan(lambda c, x: (c * w + x, c), 0.5, mnp.arange(3.0))
        return mg.lax.fori_loop(0, 2, lambda i, c: mnp.sin(c) * w, c)

    labels = [c.label for c in mg.draw(f)(0.7).graph.clusters]
    assert sum("rolled" in lbl for lbl in labels) == 2 and not any("unrolled" in x for x in labels)
    jaxpr = mg.make_jaxpr(f)(0.7)
    scans = [e for e in jaxpr.eqns if e.primitive.name == "scan"]
    line = scans[1].source_info.line  # the fori loop's line
    labels = [c.label for c in mg.draw(f, unroll=[line])(0.7).graph.clusters]
    assert labels == ["scan body (3 iterations, rolled)", "scan body (2 iterations, unrolled)"]
    with pytest.raises(TypeError, match="unroll must be"):
        mg.draw(f, unroll=3)(0.7)


def test_long_unrolled_loop_folds_its_middle_iterations_within_bounds():
    def f(w):
        return mg.lax.fori_loop(0, 200, lambda i, c: mnp.sin(c) * w + 1.0, w)

    d = mg.draw(f, backward=True, values=True, unroll=True)(0.7)
    w, h = d.size()
    assert w <= MAX_SIDE and h <= MAX_SIDE
    (box,) = d.graph.clusters
    its = [c.label for c in box.clusters]
    assert its[0] == "iteration 0" and its[-1] == "iteration 199" and len(its) < 200
    folded = [n for n in d.graph.nodes if n.label.startswith("iterations ")]
    assert len(folded) == 1
    # the adjoints of w summed over all iterations (drawn and folded) are d out / d w
    w_edges = [e for e in d.graph.edges if e.src == "in0" and " += " in e.sublabel]
    want = jax.grad(lambda w: jax.lax.fori_loop(0, 200, lambda i, c: jnp.sin(c) * w + 1.0, w))(0.7)
    init = [e for e in d.graph.edges if e.src == "in0" and " += " not in e.sublabel]
    total = sum(_grad_text(e) for e in w_edges + init)
    np.testing.assert_allclose(total, want, rtol=1e-4)


def nested_loss(w, L):
    def outer(c, x):
        d, _ = L.scan(lambda d, y: (L.sin(d * w + y), d), c, L.arange(2.0) + x)
        e = L.cond(d > 0.5, lambda a: a * w, lambda a: -a, d)
        return e, e

    c, ys = L.scan(outer, 0.3, L.arange(3.0))
    return c + L.sum(ys)


def test_nested_loops_unrolled_within_bounds_sum_to_jax_gradient():
    fns = ("sin", "arange", "sum")
    L = type(
        "L", (), {"scan": mg.lax.scan, "cond": mg.lax.cond} | {n: getattr(mnp, n) for n in fns}
    )
    J = type(
        "J", (), {"scan": jax.lax.scan, "cond": jax.lax.cond} | {n: getattr(jnp, n) for n in fns}
    )
    d = mg.draw(lambda w: nested_loss(w, L), backward=True, values=True, unroll=True)(0.7)
    w, h = d.size()
    assert w <= MAX_SIDE and h <= MAX_SIDE
    assert any("unrolled" in c.label for c in d.graph.clusters)
    # w fans out to every outer iteration (drawn or folded); the adjoints sum to JAX's
    w_edges = [e for e in d.graph.edges if e.src == "in0"]
    assert len(w_edges) == 3 and all(" += " in e.sublabel for e in w_edges)
    total = sum(_grad_text(e) for e in w_edges)
    np.testing.assert_allclose(total, jax.grad(lambda w: nested_loss(w, J))(0.7), rtol=1e-5)
