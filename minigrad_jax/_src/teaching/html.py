"""One self-contained interactive page for a drawing or an explain_grad report.

The page holds the drawing (inline SVG from the pure-Python layout), the data of every node
(JSON in a ``<script type="application/json">``) and a little inline JavaScript: clicking a
node shows its source line, forward value and cotangent (with a heatmap for arrays) and the
chain-rule step (incoming adjoint times local gradient, per input; the fan-in sum); inside a
rolled loop body, a table of the values and cotangents of every iteration.  A folded group
opens by clicking it (the page holds the inside of every group, folded again when big) and
closes by clicking it again.  A stepper
walks through the passes (jaxpr, jvp, partial evaluation, transpose) with each pass's jaxpr
text, and a table lists what reverse mode saves for the backward pass, in bytes.  Nothing is
loaded from the network.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
from jax import tree_util

from minigrad_jax._src import core
from minigrad_jax._src.api import grad, jvp, linearize, make_jaxpr, vjp
from minigrad_jax._src.residuals import saved_residuals
from minigrad_jax._src.teaching import render

__all__ = ["iframe", "page", "passes", "save_text"]


def save_text(path, makers: dict) -> Path:
    """Write ``makers[suffix]()`` to ``path``; the suffix picks the maker."""
    path = Path(path)
    maker = makers.get(path.suffix.lower())
    if maker is None:
        raise ValueError(
            f"cannot save as {path.suffix or '(no suffix)'!r}; supported: {', '.join(makers)}"
        )
    path.write_text(maker(), encoding="utf-8")
    return path


def iframe(page_text: str, height: int = 640) -> str:
    """The page inside an iframe (``_repr_html_``): its script and style stay its own."""
    return (
        f'<iframe srcdoc="{html.escape(page_text, quote=True)}" '
        f'style="width:100%;height:{height}px;border:1px solid #ddd"></iframe>'
    )


# --------------------------------------------------------------------------- the passes


def _tangents(args):
    def one(x):
        a = np.asarray(x)
        return np.ones(a.shape, a.dtype) if core.is_float(a.dtype) else np.zeros(a.shape, a.dtype)

    return tree_util.tree_map(one, tuple(args))


def passes(fun, args, argnums=0) -> list[tuple[str, str, str]]:
    """[(name, what it is, jaxpr text)] for the stepper: the traced jaxpr, its jvp, the linear
    part left by partial evaluation, and the transposed (backward) pass."""
    if fun is None:
        return []
    args = tuple(args)
    tangents = _tangents(args)
    steps = [
        ("1. jaxpr", "the function traced to our IR", lambda: make_jaxpr(fun)(*args)),
        (
            "2. jvp",
            "forward mode: primal and tangent equations side by side",
            lambda: make_jaxpr(lambda p, t: jvp(fun, p, t))(args, tangents),
        ),
        (
            "3. partial evaluation",
            "linearize: the known primal part runs, the linear tangent part is staged",
            lambda: make_jaxpr(linearize(fun, *args)[1])(*tangents),
        ),
        (
            "4. transpose",
            "the linear jaxpr transposed: the backward pass (vjp seeded with 1.0)",
            lambda: make_jaxpr(lambda *a: vjp(fun, *a)[1](np.float32(1.0)))(*args),
        ),
        (
            "5. grad",
            "forward and backward together, as mg.grad runs them",
            lambda: make_jaxpr(grad(fun, argnums))(*args),
        ),
    ]
    out = []
    for name, what, make in steps:
        try:
            text = str(make())
        except (TypeError, ValueError, NotImplementedError) as err:  # e.g. a non-scalar output
            text = f"(not available for this function: {type(err).__name__}: {err})"
        out.append((name, what, text))
    return out


def _residuals(fun, args) -> dict:
    if fun is None:
        return {"rows": [], "total": 0}
    try:
        res = saved_residuals(fun, *args)
    except (TypeError, ValueError, NotImplementedError) as err:
        return {"rows": [], "total": 0, "error": str(err)}
    rows = [[r.aval.str_short(), r.description, int(r.nbytes)] for r in res]
    return {"rows": rows, "total": sum(r[2] for r in rows)}


# --------------------------------------------------------------------------- the page


def page(drawing, title: str, fun=None, args=(), tables=(), argnums=0) -> str:
    """The page for ``drawing`` (a teaching Drawing); ``tables`` are a report's sections."""
    groups = drawing.groups()  # also adds the click data of the nodes inside to drawing.nodes
    data = {
        "title": title,
        "nodes": drawing.nodes,
        "groups": sorted(groups),
        "passes": passes(fun, args, argnums),
        "residuals": _residuals(fun, args),
    }
    blob = json.dumps(data, default=_jsonable).replace("</", "<\\/")
    svg = drawing.to_svg(engine="python")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        '<p class="hint">Click a node: its source line, value, d loss / d value and the '
        "chain-rule step appear on the right. Click a folded group to open it, and again to "
        "close it.</p>",
        '<div id="main"><div id="graph">',
        svg,
        *(_group_view(gid, g) for gid, g in sorted(groups.items())),
        '</div><div id="panel"><p class="hint">No node selected.</p></div></div>',
        '<h2>The passes</h2><div id="stepper"><button id="prev">&larr;</button> '
        '<span id="pass-name"></span> <button id="next">&rarr;</button>'
        '<p id="pass-what"></p><pre id="pass-text"></pre></div>',
        '<h2>Saved for the backward pass</h2><div id="residuals"></div>',
    ]
    for name, header, rows in tables:
        parts.append(f"<h2>{html.escape(name)}</h2>{_table(header, rows)}")
    parts += [
        f'<script type="application/json" id="mg-data">{blob}</script>',
        f"<script>{_JS}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _group_view(gid: str, graph) -> str:
    """The opened inside of a folded group, hidden until its node is clicked."""
    from_svg = render.to_svg(graph, engine="python")
    head = f'<div class="group-head">inside {html.escape(gid)} (click the group to close)</div>'
    return f'<div class="group-view" data-group="{html.escape(gid)}" hidden>{head}{from_svg}</div>'


def _jsonable(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def _table(header, rows) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


_CSS = """
body { font-family: sans-serif; margin: 16px; color: #212529; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 24px; }
#main { display: flex; gap: 16px; align-items: flex-start; }
#graph { overflow: auto; max-width: 70%; max-height: 80vh; border: 1px solid #dee2e6; }
#panel { flex: 1; min-width: 280px; font-size: 13px; }
#panel .val { font-family: monospace; white-space: pre-wrap; }
#panel .ct { font-family: monospace; color: #d9480f; white-space: pre-wrap; }
g.node { cursor: pointer; } g.node.selected rect, g.node.selected ellipse { stroke-width: 3; }
pre { background: #f8f9fa; padding: 8px; overflow: auto; max-height: 50vh; }
table { border-collapse: collapse; font-size: 12px; }
td, th { border: 1px solid #dee2e6; padding: 2px 6px; text-align: left; font-family: monospace; }
.hint { color: #6c757d; font-size: 12px; }
.group-view { border-top: 2px solid #868e96; margin-top: 8px; }
.group-head { font-size: 12px; color: #495057; background: #e9ecef; padding: 2px 6px; }
g.node.open rect, g.node.open ellipse { stroke: #1c7ed6; stroke-width: 3; }
canvas { image-rendering: pixelated; border: 1px solid #ced4da; margin: 4px 0; }
"""

_JS = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("mg-data").textContent);
  var panel = document.getElementById("panel");

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function heatmap(grid) {
    var rows = grid.length, cols = grid[0].length, lo = Infinity, hi = -Infinity;
    grid.forEach(function (r) {
      r.forEach(function (v) { lo = Math.min(lo, v); hi = Math.max(hi, v); });
    });
    var scale = Math.max(4, Math.floor(160 / Math.max(rows, cols)));
    var c = el("canvas");
    c.width = cols * scale; c.height = rows * scale;
    var ctx = c.getContext("2d"), span = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    grid.forEach(function (r, i) {
      r.forEach(function (v, j) {
        var t = v / span, red = t > 0 ? 255 : Math.round(255 * (1 + t));
        var blue = t < 0 ? 255 : Math.round(255 * (1 - t));
        var green = Math.round(255 * (1 - Math.abs(t)));
        ctx.fillStyle = "rgb(" + red + "," + green + "," + blue + ")";
        ctx.fillRect(j * scale, i * scale, scale, scale);
      });
    });
    c.title = "min " + lo + ", max " + hi;
    return c;
  }

  function value(label, v, cls) {
    panel.appendChild(el("div", cls, label + v.text));
    if (v.heat) { panel.appendChild(heatmap(v.heat)); }
  }

  function show(id) {
    var info = data.nodes[id];
    document.querySelectorAll("g.node.selected").forEach(function (g) {
      g.classList.remove("selected");
    });
    var g = document.querySelector('g.node[data-id="' + id + '"]');
    if (g) { g.classList.add("selected"); }
    panel.innerHTML = "";
    if (!info) { panel.appendChild(el("p", "hint", "Nothing recorded for this node.")); return; }
    panel.appendChild(el("h3", "", info.op || info.name));
    if (info.where && info.where !== "top level") {
      panel.appendChild(el("div", "hint", "in " + info.where));
    }
    if (info.source) { panel.appendChild(el("div", "hint", info.source)); }
    if (info.line) { panel.appendChild(el("pre", "", info.line)); }
    panel.appendChild(el("div", "", info.name + " : " + info.type));
    if (info.value) { value("value = ", info.value, "val"); }
    if (info.cotangent) { value("d loss / d " + info.name + " = ", info.cotangent, "ct"); }
    if (info.fan_in && info.fan_in.length > 1) {
      var uses = info.fan_in.length;
      panel.appendChild(el("h4", "", "fan-in: " + info.name + " is used " + uses + " times"));
      var parts = info.fan_in.map(function (u) { return u[1]; });
      panel.appendChild(el("div", "ct", parts.join(" + ") + " = " + info.cotangent.text));
      info.fan_in.forEach(function (u) {
        panel.appendChild(el("div", "hint", "via " + u[0] + ": " + u[1]));
      });
    }
    if (info.chain && info.chain.length) {
      panel.appendChild(el("h4", "", "chain rule (backward step)"));
      var t = el("table"), head = el("tr");
      ["to", "adjoint in", "x local grad", "= sent back"].forEach(function (h) {
        head.appendChild(el("th", "", h));
      });
      t.appendChild(head);
      info.chain.forEach(function (s) {
        var r = el("tr");
        s.forEach(function (c) { r.appendChild(el("td", "", c)); });
        t.appendChild(r);
      });
      panel.appendChild(t);
    }
    if (info.iterations && info.iterations.length) {
      panel.appendChild(el("h4", "", "per iteration"));
      var it = el("table", "iterations"), ih = el("tr");
      ["iteration", "value", "d loss / d " + info.name].forEach(function (h) {
        ih.appendChild(el("th", "", h));
      });
      it.appendChild(ih);
      info.iterations.forEach(function (row) {
        var r = el("tr");
        row.forEach(function (c) { r.appendChild(el("td", "", String(c))); });
        it.appendChild(r);
      });
      panel.appendChild(it);
    }
    if (info.folded) {
      panel.appendChild(el("h4", "", "folded equations"));
      panel.appendChild(el("pre", "", info.folded.join("\n")));
    }
  }

  var groups = {};
  document.querySelectorAll("div.group-view").forEach(function (v) {
    groups[v.getAttribute("data-group")] = v;
  });

  function toggle(id) {
    var view = groups[id];
    if (!view) { return; }
    var opening = view.hidden;
    Object.keys(groups).forEach(function (gid) {  // closing a group closes those inside it
      if (!opening && (gid === id || gid.indexOf(id + "/") === 0)) {
        groups[gid].hidden = true;
        document.querySelectorAll('g.node[data-id="' + gid + '"]').forEach(function (g) {
          g.classList.remove("open");
        });
      }
    });
    if (opening) {
      view.hidden = false;
      document.querySelectorAll('g.node[data-id="' + id + '"]').forEach(function (g) {
        g.classList.add("open");
      });
      view.scrollIntoView({block: "nearest"});
    }
  }

  document.querySelectorAll("g.node").forEach(function (g) {
    g.addEventListener("click", function () {
      var id = g.getAttribute("data-id");
      show(id);
      toggle(id);
    });
  });

  var k = 0, passes = data.passes;
  function step(d) {
    if (!passes.length) {
      document.getElementById("pass-text").textContent = "(no passes recorded)";
      return;
    }
    k = (k + d + passes.length) % passes.length;
    document.getElementById("pass-name").textContent = passes[k][0];
    document.getElementById("pass-what").textContent = passes[k][1];
    document.getElementById("pass-text").textContent = passes[k][2];
  }
  document.getElementById("prev").addEventListener("click", function () { step(-1); });
  document.getElementById("next").addEventListener("click", function () { step(1); });
  step(0);

  var res = data.residuals, box = document.getElementById("residuals");
  if (res.error) { box.appendChild(el("p", "hint", res.error)); }
  var t = el("table"), head = el("tr");
  ["value", "what", "bytes"].forEach(function (h) { head.appendChild(el("th", "", h)); });
  t.appendChild(head);
  res.rows.forEach(function (r) {
    var tr = el("tr");
    r.forEach(function (c) { tr.appendChild(el("td", "", String(c))); });
    t.appendChild(tr);
  });
  box.appendChild(t);
  box.appendChild(el("p", "", "total: " + res.total + " bytes saved for the backward pass"));
})();
"""
