"""``mg.explain_grad``: the backward pass of a function, step by step, in the user's names.

The function is traced to our jaxpr and evaluated once (``evaluate.py``: one ``mg.vjp`` of the
tapped jaxpr), which gives every intermediate's forward value and what flows back along every
edge.  The report lays that out the way a backprop tutorial does:

1. **forward pass**: each equation, named after the user's source line, and its value;
2. **local gradients**: d output / d input of each equation at those values (``mg.jacfwd`` of
   the single equation; for arrays the Jacobian, summarized: its diagonal when diagonal);
3. **backward pass**: in reverse, the adjoint arriving at each equation, what it sends to each
   input, and where a variable used several times has its contributions summed;
4. **inside control flow**: the same for scan / fori bodies per iteration (and where the
   per-iteration adjoints of a loop-invariant input are summed), cond branches and jit calls.

``report.value(name)`` and ``report.cotangent(name)`` give any intermediate's value and
``d loss / d`` it by the user's name; the gradients equal ``mg.grad``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np
from jax import tree_util

from minigrad_jax._src import core
from minigrad_jax._src.api import make_jaxpr
from minigrad_jax._src.ir import Literal, letters
from minigrad_jax._src.teaching import html as html_page
from minigrad_jax._src.teaching.draw import Options, build
from minigrad_jax._src.teaching.evaluate import evaluate, is_diff
from minigrad_jax._src.teaching.model import Model
from minigrad_jax._src.teaching.names import (
    arg_names,
    fmt_value,
    short_params,
    source_of,
    var_names,
)
from minigrad_jax._src.teaching.steps import fan_in, local_gradient, per_iteration, where

__all__ = ["ExplainReport", "explain_grad"]


@dataclass
class ForwardRow:
    step: int
    var: str  # the user's name of the output(s), IR letters where there is none
    label: str  # the user's name ("" when none)
    equation: str  # "y_hat = mul w x"
    source: str  # "file.py:4 (loss)"
    value: str


@dataclass
class LocalRow:
    step: int
    output: str
    input: str
    kind: str  # "partial derivative", "diagonal Jacobian", "Jacobian"
    value: str
    raw: object = field(default=None, repr=False)


@dataclass
class BackwardRow:
    step: int  # the forward step this row undoes
    equation: str
    output: str
    incoming: str  # adjoint of the output(s)
    local: str  # local gradient(s), summarized
    input: str
    outgoing: str  # contribution to the input's adjoint
    accumulated: str  # "" or "x used 2x: 1.0 + 2.0 = 3.0" where the uses are summed
    raw_outgoing: object = field(default=None, repr=False)


@dataclass
class LoopRow:
    where: str  # "scan body (step 2)", "cond branch 1 (step 4)", "jit f (step 1)"
    var: str
    values: str  # per iteration inside loops
    adjoints: str
    summed: str  # "" or how the per-iteration adjoints add up outside


class ExplainReport:
    """The result of ``mg.explain_grad``: ``forward``, ``local``, ``backward`` and ``loops``
    rows, ``grads`` (structured like ``mg.grad``'s), ``value(name)`` and ``cotangent(name)``;
    prints as tables, ``to_html()`` / ``save("x.html")`` give the interactive page."""

    def __init__(self, fun, args, model: Model, title, nums, grads, grad_rows):
        self.fun, self.args, self.model = fun, args, model
        self.title = title
        self.argnums = nums
        self.grads = grads
        self.grad_rows: list[tuple[str, str]] = grad_rows
        self.forward, self.local, self.backward = _rows(model)
        self.loops = _loop_rows(model)

    def value(self, name: str | None = None):
        """The forward value of ``name`` (an argument or an intermediate, by the user's name;
        inside a loop one entry per iteration); without a name, the function's value."""
        if name is None:
            return jnp.asarray(self.model.ev.outputs[0])
        scope, var = self.model.lookup(name)
        return jnp.asarray(scope.values[var])

    def cotangent(self, name: str):
        """``d loss / d name`` for an argument or any intermediate (per iteration inside a
        loop): the adjoint the backward pass computes for it."""
        scope, var = self.model.lookup(name)
        ct = scope.cotangent(var)
        if ct is None:
            raise TypeError(
                f"{name!r} is {var.aval.str_short()}: only float values have a cotangent"
            )
        return jnp.asarray(ct)

    def names(self) -> list[str]:
        return sorted(self.model.index)

    def _sections(self):
        yield (
            "1. Forward pass",
            ["step", "var", "equation", "source", "value"],
            [[r.step, r.var, r.equation, r.source, r.value] for r in self.forward],
        )
        yield (
            "2. Local gradients (d output / d input at the forward values)",
            ["step", "d out / d in", "kind", "value"],
            [[r.step, f"d {r.output} / d {r.input}", r.kind, r.value] for r in self.local],
        )
        yield (
            "3. Backward pass (reverse order; adjoint = d loss / d var)",
            ["step", "equation", "adjoint in", "local grad", "adjoint out", "summed"],
            [
                [
                    r.step,
                    r.equation,
                    f"{r.output}: {r.incoming}",
                    r.local,
                    f"{r.input} += {r.outgoing}",
                    r.accumulated,
                ]
                for r in self.backward
            ],
        )
        if self.loops:
            yield (
                "4. Inside control flow (per iteration: value, adjoint d loss / d var)",
                ["where", "var", "value", "adjoint", "summed"],
                [[r.where, r.var, r.values, r.adjoints, r.summed] for r in self.loops],
            )
        yield ("Gradients", ["argument", "gradient"], [list(g) for g in self.grad_rows])

    def __str__(self):
        out = [self.title, f"value = {fmt_value(self.model.ev.outputs[0])}", ""]
        for name, header, rows in self._sections():
            out += [name, _text_table(header, rows), ""]
        return "\n".join(out).rstrip() + "\n"

    __repr__ = __str__

    def to_markdown(self) -> str:
        out = [f"**{self.title}** (value = `{fmt_value(self.model.ev.outputs[0])}`)", ""]
        for name, header, rows in self._sections():
            out += [f"**{name}**", ""]
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "---|" * len(header))
            for row in rows:
                cells = [str(c).replace("|", "\\|") for c in row]
                out.append("| " + " | ".join(cells) + " |")
            out.append("")
        return "\n".join(out)

    def to_html(self) -> str:
        """One self-contained interactive page (nothing loaded from the network): the drawing
        with values and gradients, a stepper through the passes, the saved residuals."""
        opts = Options(values=True, backward=True)
        drawing = build(self.model, getattr(self.fun, "__name__", "f"), opts)
        nums = self.argnums[0] if len(self.argnums) == 1 else self.argnums
        return html_page.page(
            drawing, self.title, self.fun, self.args, list(self._sections()), argnums=nums
        )

    def _repr_html_(self) -> str:
        return html_page.iframe(self.to_html())

    def save(self, path):
        """Write the page (``.html``), the tables (``.md``, ``.txt``)."""
        return html_page.save_text(
            path, {".html": self.to_html, ".md": self.to_markdown, ".txt": self.__str__}
        )


def _text_table(header, rows) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r):
        return "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), sep] + [line(r) for r in cells[1:]])


# --------------------------------------------------------------------------- rows


def eqn_text(model: Model, scope, eqn) -> str:
    lhs = " ".join(model.name(scope, v) for v in eqn.outvars)
    rhs = " ".join(model.name(scope, a) for a in eqn.invars)
    return f"{lhs} = {short_params(eqn)} {rhs}".rstrip()


def _rows(model: Model):
    scope = model.top
    forward, local, texts = [], [], {}
    printed = var_names(scope.jaxpr)
    for step, eqn in enumerate(scope.jaxpr.eqns, 1):
        vals = ", ".join(fmt_value(scope.values[v]) for v in eqn.outvars)
        outname = " ".join(model.name(scope, v) for v in eqn.outvars)
        labels = model.names[scope]
        user = " ".join(labels[v] for v in eqn.outvars if labels[v] != printed[v])
        forward.append(
            ForwardRow(step, outname, user, eqn_text(model, scope, eqn), source_of(eqn), vals)
        )
        rows = _local_rows(model, scope, step, eqn)
        local += rows
        texts[step] = "; ".join(f"d{r.output}/d{r.input}={r.value}" for r in rows)
    return forward, local, _backward_rows(model, scope, texts)


def _local_rows(model, scope, step, eqn) -> list[LocalRow]:
    if not any(is_diff(v.aval) for v in eqn.outvars) or scope.children.get(step - 1):
        return []
    invals = [a.val if type(a) is Literal else scope.values[a] for a in eqn.invars]
    rows = []
    for i, a in enumerate(eqn.invars):
        if type(a) is Literal or not is_diff(a.aval):
            continue
        kind, text, raw = local_gradient(eqn, invals, i)
        out = model.name(scope, eqn.outvars[0])
        rows.append(LocalRow(step, out, model.name(scope, a), kind, text, raw))
    return rows


def _backward_rows(model, scope, local_texts) -> list[BackwardRow]:
    rows = []
    eqns = scope.jaxpr.eqns
    for k in range(len(eqns) - 1, -1, -1):
        eqn = eqns[k]
        if not any(is_diff(v.aval) for v in eqn.outvars):
            continue
        cts = [scope.cotangent(v) for v in eqn.outvars]
        incoming = ", ".join("0" if c is None else fmt_value(c) for c in cts)
        outname = " ".join(model.name(scope, v) for v in eqn.outvars)
        for i, a in enumerate(eqn.invars):
            if (k, i) not in scope.edges:
                continue
            c = scope.edges[(k, i)]
            summed = ""
            uses = fan_in(scope, a)
            if len(uses) > 1 and uses[0][0] == (k, i):  # its earliest use: the last to arrive
                parts = " + ".join(fmt_value(u) for _, u in reversed(uses))
                total = fmt_value(scope.cotangent(a))
                summed = f"{model.name(scope, a)} used {len(uses)}x: {parts} = {total}"
            rows.append(
                BackwardRow(
                    k + 1,
                    eqn_text(model, scope, eqn),
                    outname,
                    incoming,
                    local_texts.get(k + 1, ""),
                    model.name(scope, a),
                    fmt_value(c),
                    summed,
                    c,
                )
            )
    return rows


def _loop_rows(model: Model) -> list[LoopRow]:
    rows = []
    for scope in model.top.walk():
        if scope.parent is None:
            continue
        label = where(model, scope)
        if scope.kind == "opaque":
            rows.append(LoopRow(label, "", "(inside not tapped)", "", ""))
            continue
        taken = scope.taken()
        if taken is not None and not np.any(taken):
            rows.append(LoopRow(label, "", "not taken", "", ""))
            continue
        j = scope.jaxpr
        for v in [*j.invars, *(u for e in j.eqns for u in e.outvars)]:
            if v not in scope.values:
                continue
            ct = scope.cotangent(v)
            summed = _summed_outside(model, scope, v, ct)
            rows.append(
                LoopRow(
                    label,
                    model.name(scope, v),
                    per_iteration(scope, scope.values[v]),
                    "" if ct is None else per_iteration(scope, ct),
                    summed,
                )
            )
    return rows


def _summed_outside(model, scope, v, ct) -> str:
    """For a loop-invariant input of a scan body: its per-iteration adjoints are summed into
    the adjoint that the scan sends to the outer operand."""
    if scope.kind != "scan" or ct is None:
        return ""
    j, eqn = scope.jaxpr, scope.parent.jaxpr.eqns[scope.eqn_index]
    pos = j.invars.index(v) if v in j.invars else None
    nc, nk = eqn.params["num_consts"], eqn.params["num_carry"]
    if pos is None:
        return ""
    outer = model.name(scope.parent, eqn.invars[pos])
    total = np.sum(np.asarray(ct), axis=0)
    if pos < nc:
        return f"summed over iterations: {fmt_value(total)} -> d loss / d {outer}"
    if pos < nc + nk:
        first = np.asarray(ct)[-1 if eqn.params["reverse"] else 0]
        return f"first iteration's: {fmt_value(first)} -> d loss / d {outer}"
    return f"iteration i's -> d loss / d {outer}[i]"


# --------------------------------------------------------------------------- explain_grad


def explain_grad(fun, argnums=0):
    """The backward pass of ``fun`` step by step, as an :class:`ExplainReport`.

    Args:
      fun: a function returning a scalar float (like ``mg.grad``'s argument).
      argnums: int or tuple of ints: which positional arguments to differentiate.

    Returns:
      A function of the same arguments returning the report; ``report.grads`` equals
      ``mg.grad(fun, argnums)(*args)``, ``report.cotangent("y_hat")`` is d loss / d y_hat.

    Example:
      >>> import minigrad_jax as mg
      >>> def loss(w, x, y):
      ...     y_hat = w * x
      ...     return (y_hat - y) ** 2
      >>> rep = mg.explain_grad(loss)(1.0, 1.0, 2.0)
      >>> float(rep.grads), float(rep.cotangent("y_hat")), float(rep.value("loss"))
      (-2.0, -2.0, 1.0)
    """
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in nums):
        raise TypeError(f"explain_grad: argnums must be an int or tuple of ints, got {argnums!r}")

    def explained(*args):
        for n in nums:
            if not -len(args) <= n < len(args):
                raise ValueError(
                    f"explain_grad: argnums {argnums!r} out of range for {len(args)} arguments"
                )
        nums_pos = tuple(n % len(args) for n in nums)
        closed = make_jaxpr(fun)(*args)
        jaxpr = closed.jaxpr
        flat_args = tree_util.tree_leaves(args)
        if len(jaxpr.outvars) != 1 or jaxpr.outvars[0].aval.shape != ():
            shapes = [v.aval.str_short() for v in jaxpr.outvars]
            raise TypeError(
                f"explain_grad requires a function with a single scalar output; got {shapes}"
            )
        out_aval = jaxpr.outvars[0].aval
        if not core.is_float(out_aval.dtype):
            raise TypeError(
                "explain_grad requires real scalar-valued outputs (float dtype); got "
                f"{out_aval.str_short()}"
            )
        spans, start = [], 0
        for a in args:
            n = len(tree_util.tree_leaves(a))
            spans.append((start, start + n))
            start += n
        for n in nums_pos:
            for k in range(*spans[n]):
                aval = core.get_aval(flat_args[k])
                if not core.is_float(aval.dtype):
                    raise TypeError(
                        "explain_grad requires real- or complex-valued inputs (input dtype that "
                        f"is a sub-dtype of np.inexact), but got {aval.dtype.name} for argument "
                        f"{n}"
                    )
        return _explain(fun, closed, args, flat_args, spans, nums_pos, single)

    return explained


def _explain(fun, closed, args, flat_args, spans, nums, single) -> ExplainReport:
    jaxpr = closed.jaxpr
    argn = arg_names(fun, args)
    model = Model(evaluate(closed, flat_args, backward=True), argn)
    grads, grad_rows = [], []
    for n in nums:
        leaves = []
        for k in range(*spans[n]):
            v = jaxpr.invars[k]
            g = model.ev.grads[k]
            g = np.zeros(v.aval.shape, v.aval.dtype) if g is None else g.astype(v.aval.dtype)
            leaves.append(g)
            grad_rows.append((f"d loss / d {argn[k]}", fmt_value(g)))
        tree = tree_util.tree_structure(args[n])
        grads.append(tree_util.tree_unflatten(tree, [jnp.asarray(x) for x in leaves]))
    fname = getattr(fun, "__name__", "f")
    wrt = []
    for n in nums:
        lo, hi = spans[n]
        wrt.append(argn[lo].split("[")[0] if hi > lo else letters(n))
    title = f"explain_grad({fname}) with respect to " + ", ".join(wrt)
    return ExplainReport(
        fun, args, model, title, nums, grads[0] if single else tuple(grads), grad_rows
    )
