"""mg.draw at scale (folding keeps any drawing within 4000 x 4000 px) and inside control flow."""

import importlib.util
import re

import jax
import jax.numpy as jnp
import numpy as np

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
