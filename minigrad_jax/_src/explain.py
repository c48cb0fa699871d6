"""``mg.explain_grad``: the backward pass of a function, step by step.

The function is traced to our jaxpr and then run by hand, the way a backprop tutorial does it:

1. **forward pass**: every equation is evaluated on concrete values (``eqn.primitive.bind``
   at the top level), and every variable's value is recorded;
2. **local gradients**: for each equation, the derivative of its output with respect to each
   input, at the recorded values.  For scalars this is the partial derivative (one ``mg.jvp``
   of the single equation with a one-hot tangent).  For arrays it is the local Jacobian,
   computed with ``mg.jacfwd`` of the single equation and *summarized* (its diagonal when it
   is diagonal, as for elementwise operations; otherwise its shape and range);
3. **backward pass**: the equations are walked in reverse; the adjoint of each equation's
   outputs is pulled back to its inputs with ``mg.vjp`` of that single equation (exact for
   arrays too), and where a variable is used several times the contributions are summed.

The gradients at the end are what ``mg.grad`` returns (tests assert it, and compare with
``jax.grad``).
"""

from __future__ import annotations

import html
import inspect
import linecache
import re
from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np
from jax import tree_util

from minigrad_jax._src import core
from minigrad_jax._src.api import make_jaxpr, vjp
from minigrad_jax._src.ir import ClosedJaxpr, Jaxpr, Literal, _pp_param, letters
from minigrad_jax._src.jacobians import jacfwd

__all__ = ["ExplainReport", "explain_grad"]

# --------------------------------------------------------------------------- shared helpers
# (also used by viz.py; names come from the printer's ir.letters)


def var_names(jaxpr) -> dict:
    """Names as ``str(jaxpr)`` prints them: constvars, invars, then each equation's outputs."""
    names: dict = {}
    for v in [*jaxpr.constvars, *jaxpr.invars]:
        names[v] = letters(len(names)) + v.suffix
    for eqn in jaxpr.eqns:
        for v in eqn.outvars:
            names[v] = letters(len(names)) + v.suffix
    return names


def arg_names(fun, args, kwargs=None) -> list[str]:
    """One display name per flattened argument leaf: the parameter names of ``fun`` (from
    inspect.signature) with the pytree path appended, else a, b, c, ..."""
    try:
        params = [
            p.name
            for p in inspect.signature(fun).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    names = []
    for i, arg in enumerate(args):
        base = params[i] if i < len(params) else letters(i)
        leaves = tree_util.tree_flatten_with_path(arg)[0]
        for path, _ in leaves:
            names.append(base + tree_util.keystr(path))
    for key in sorted(kwargs or {}):
        for path, _ in tree_util.tree_flatten_with_path(kwargs[key])[0]:
            names.append(key + tree_util.keystr(path))
    return names


def fmt_value(x, max_items: int = 4) -> str:
    """Scalars in full; small arrays in full; larger ones as shape + min/max/mean."""
    a = np.asarray(x)
    if a.dtype == core.float0:
        return "0 (float0)"
    if a.ndim == 0:
        return str(a[()])  # numpy scalar: shortest repr in its own precision (f32: 0.7780732)
    if a.size <= max_items:
        flat = ", ".join(_num(v) for v in a.ravel())
        return f"[{flat}]" if a.ndim == 1 else f"{_dtype_short(a.dtype)}{list(a.shape)} [{flat}]"
    head = f"{_dtype_short(a.dtype)}{list(a.shape)}"
    if a.dtype == np.bool_ or a.size == 0:
        return f"{head} [{', '.join(_num(v) for v in a.ravel()[:max_items])}, ...]"
    return f"{head} min={_num(a.min())} max={_num(a.max())} mean={_num(a.mean())}"


def _num(v) -> str:
    v = np.asarray(v).item()
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _dtype_short(dtype) -> str:
    return core.ShapedArray((), np.dtype(dtype)).str_short().split("[")[0]


def _is_diff(aval) -> bool:
    return core.is_float(aval.dtype)


def read_env(env: dict, atom):
    return atom.val if type(atom) is Literal else env[atom]


def record_forward(jaxpr, consts, args) -> dict:
    """Evaluate ``jaxpr`` on concrete values, returning every variable's value."""
    env: dict = {}
    for v, x in zip(jaxpr.constvars, consts, strict=True):
        env[v] = x
    for v, x in zip(jaxpr.invars, args, strict=True):
        env[v] = x
    for eqn in jaxpr.eqns:
        outs = bind_eqn(eqn, [read_env(env, a) for a in eqn.invars])
        for v, x in zip(eqn.outvars, outs, strict=True):
            env[v] = x
    return env


def bind_eqn(eqn, invals) -> list:
    out = eqn.primitive.bind(*invals, **eqn.params)
    return list(out) if eqn.primitive.multiple_results else [out]


def eqn_vjp(eqn, invals, out_cts) -> list:
    """Cotangents of ``eqn``'s inputs (None for literals / non-float inputs) given the
    cotangents of its outputs (None where no adjoint arrives), via ``mg.vjp`` of the single
    equation bound on the recorded input values."""
    diff = [i for i, a in enumerate(eqn.invars) if type(a) is not Literal and _is_diff(a.aval)]
    if not diff:
        return [None] * len(eqn.invars)

    def single(*xs):
        full = list(invals)
        for i, x in zip(diff, xs, strict=True):
            full[i] = x
        out = eqn.primitive.bind(*full, **eqn.params)
        return list(out) if eqn.primitive.multiple_results else out

    _, pullback = vjp(single, *[invals[i] for i in diff])
    cts = []
    for v, ct in zip(eqn.outvars, out_cts, strict=True):
        if ct is None:
            dt = v.aval.dtype if _is_diff(v.aval) else core.float0
            ct = np.zeros(v.aval.shape, dt)
        cts.append(ct)
    in_cts = pullback(cts if eqn.primitive.multiple_results else cts[0])
    result: list = [None] * len(eqn.invars)
    for i, ct in zip(diff, in_cts, strict=True):
        result[i] = ct
    return result


def source_of(eqn) -> str:
    si = eqn.source_info
    return str(si) if si is not None else ""


def source_text(eqn) -> str:
    si = eqn.source_info
    if si is None:
        return ""
    return linecache.getline(si.file, si.line).strip()


_ASSIGN = re.compile(r"^([A-Za-z_]\w*)\s*=[^=]")


def user_labels(jaxpr) -> dict:
    """Friendly names for equation outputs taken from the user's source: when a source line
    reads ``name = ...``, the last equation on that line produces ``name``."""
    last_on_line: dict = {}
    for eqn in jaxpr.eqns:
        si = eqn.source_info
        if si is not None and len(eqn.outvars) == 1 and si.function != "<lambda>":
            last_on_line[(si.file, si.line, si.function)] = eqn
    labels = {}
    for eqn in last_on_line.values():
        m = _ASSIGN.match(source_text(eqn))
        if m:
            labels[eqn.outvars[0]] = m.group(1)
    return labels


def short_params(eqn, limit: int = 32) -> str:
    """``name[k=v ...]`` without jaxpr-valued params, shortened to ``limit`` characters."""
    parts = []
    for k, v in sorted(eqn.params.items()):
        if _holds_jaxpr(v) or v is None or k in ("out_sharding", "sharding", "accuracy"):
            continue
        text = f"{k}={_pp_param(v, 0)}"
        parts.append(text if len(text) <= limit else text[: limit - 3] + "...")
    name = eqn.primitive.name
    return f"{name}[{' '.join(parts)}]" if parts else name


def _holds_jaxpr(v) -> bool:
    if isinstance(v, (Jaxpr, ClosedJaxpr)):
        return True
    return isinstance(v, (tuple, list)) and any(isinstance(j, (Jaxpr, ClosedJaxpr)) for j in v)


# --------------------------------------------------------------------------- report rows


@dataclass
class ForwardRow:
    step: int
    var: str  # jaxpr name(s) of the output(s), e.g. "d"
    label: str  # friendly name, e.g. "y_hat" ("" when none)
    equation: str  # "d = mul a b"
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
    accumulated: str  # "" or "a = 1.0 + 2.0 = 3.0" when several uses are summed
    raw_outgoing: object = field(default=None, repr=False)


class ExplainReport:
    """The result of ``mg.explain_grad``: ``forward``, ``local``, ``backward`` rows and
    ``grads`` (same structure as ``mg.grad``); prints as a table."""

    def __init__(self, title, forward, local, backward, grads, grad_rows, value):
        self.title = title
        self.forward: list[ForwardRow] = forward
        self.local: list[LocalRow] = local
        self.backward: list[BackwardRow] = backward
        self.grads = grads
        self.grad_rows: list[tuple[str, str]] = grad_rows
        self.value = value

    def _sections(self):
        yield (
            "1. Forward pass",
            ["step", "var", "equation", "source", "value"],
            [[r.step, _named(r.var, r.label), r.equation, r.source, r.value] for r in self.forward],
        )
        yield (
            "2. Local gradients (d output / d input at the forward values)",
            ["step", "d out / d in", "kind", "value"],
            [[r.step, f"d{r.output}/d{r.input}", r.kind, r.value] for r in self.local],
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
        yield ("Gradients", ["argument", "gradient"], [list(g) for g in self.grad_rows])

    def __str__(self):
        out = [self.title, f"value = {self.value}", ""]
        for name, header, rows in self._sections():
            out += [name, _text_table(header, rows), ""]
        return "\n".join(out).rstrip() + "\n"

    __repr__ = __str__

    def to_markdown(self) -> str:
        out = [f"**{self.title}** (value = `{self.value}`)", ""]
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
        out = [f"<div><p><b>{html.escape(self.title)}</b> (value = {html.escape(self.value)})</p>"]
        for name, header, rows in self._sections():
            out.append(f"<p><b>{html.escape(name)}</b></p><table>")
            out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
            for row in rows:
                cells = "".join(f"<td>{html.escape(str(c))}</td>" for c in row)
                out.append(f"<tr>{cells}</tr>")
            out.append("</table>")
        return "\n".join(out + ["</div>"])

    _repr_html_ = to_html


def _named(var: str, label: str) -> str:
    return f"{var} ({label})" if label else var


def _text_table(header, rows) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r):
        return "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), sep] + [line(r) for r in cells[1:]])


# --------------------------------------------------------------------------- local gradients


def _local_gradient(eqn, invals, i):
    """(kind, summary, raw) of d eqn.outvars[*] / d eqn.invars[i] at ``invals``."""

    def single(x):
        full = list(invals)
        full[i] = x
        out = eqn.primitive.bind(*full, **eqn.params)
        return list(out) if eqn.primitive.multiple_results else out

    jac = jacfwd(single)(invals[i])
    jacs = jac if eqn.primitive.multiple_results else [jac]
    in_shape = np.shape(invals[i])
    kinds, texts = [], []
    for v, j in zip(eqn.outvars, jacs, strict=True):
        j = np.asarray(j)
        out_shape = v.aval.shape
        if j.dtype == core.float0:
            kinds.append("zero (integer output)")
            texts.append("0")
        elif not out_shape and not in_shape:
            kinds.append("partial derivative")
            texts.append(fmt_value(j))
        elif out_shape == in_shape:
            n = int(np.prod(in_shape))
            m = j.reshape(n, n)
            diag = np.diagonal(m)
            if np.array_equal(m, np.diag(diag)):
                kinds.append("diagonal Jacobian (elementwise)")
                texts.append("diag " + fmt_value(diag.reshape(in_shape)))
            else:
                kinds.append(f"Jacobian {list(j.shape)}")
                texts.append(fmt_value(j))
        else:
            kinds.append(f"Jacobian {list(j.shape)} (out {list(out_shape)} x in {list(in_shape)})")
            texts.append(fmt_value(j))
    return "; ".join(kinds), "; ".join(texts), jac


# --------------------------------------------------------------------------- explain_grad


def explain_grad(fun, argnums=0):
    """The backward pass of ``fun`` step by step, as an :class:`ExplainReport`.

    Args:
      fun: a function returning a scalar float (like ``mg.grad``'s argument).
      argnums: int or tuple of ints: which positional arguments to differentiate.

    Returns:
      A function of the same arguments returning the report; ``report.grads`` equals
      ``mg.grad(fun, argnums)(*args)``.

    Example:
      >>> import minigrad_jax as mg
      >>> rep = mg.explain_grad(lambda w, x, y: (w * x - y) ** 2)(1.0, 1.0, 2.0)
      >>> float(rep.grads)
      -2.0
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
        # which flat leaves belong to which argument
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
    names = var_names(jaxpr)
    labels = user_labels(jaxpr)
    argn = arg_names(fun, args)
    for v, nm in zip(jaxpr.invars, argn, strict=True):
        labels[v] = nm
    env = record_forward(jaxpr, closed.consts, flat_args)

    def show(atom):
        if type(atom) is Literal:
            return str(atom)
        return _named(names[atom], labels.get(atom, ""))

    def eqn_text(eqn):
        lhs = " ".join(names[v] for v in eqn.outvars)
        rhs = " ".join(str(a) if type(a) is Literal else names[a] for a in eqn.invars)
        return f"{lhs} = {short_params(eqn)} {rhs}".rstrip()

    forward, local = [], []
    local_by_eqn: dict = {}
    for step, eqn in enumerate(jaxpr.eqns, 1):
        vals = ", ".join(fmt_value(env[v]) for v in eqn.outvars)
        outname = " ".join(names[v] for v in eqn.outvars)
        label = " ".join(labels.get(v, "") for v in eqn.outvars).strip()
        forward.append(ForwardRow(step, outname, label, eqn_text(eqn), source_of(eqn), vals))
        invals = [read_env(env, a) for a in eqn.invars]
        texts = []
        for i, a in enumerate(eqn.invars):
            if type(a) is Literal or not _is_diff(a.aval):
                continue
            if not any(_is_diff(v.aval) for v in eqn.outvars):
                continue
            kind, text, raw = _local_gradient(eqn, invals, i)
            local.append(LocalRow(step, show(eqn.outvars[0]), show(a), kind, text, raw))
            texts.append(f"d{names[eqn.outvars[0]]}/d{names[a]}={text}")
        local_by_eqn[id(eqn)] = "; ".join(texts)

    # backward pass
    ct: dict = {jaxpr.outvars[0]: np.ones((), jaxpr.outvars[0].aval.dtype)}
    uses: dict = {}
    backward = []
    for step in range(len(jaxpr.eqns), 0, -1):
        eqn = jaxpr.eqns[step - 1]
        out_cts = [ct.get(v) for v in eqn.outvars]
        if all(c is None for c in out_cts):
            continue
        invals = [read_env(env, a) for a in eqn.invars]
        in_cts = eqn_vjp(eqn, invals, out_cts)
        incoming = ", ".join(fmt_value(c) if c is not None else "0" for c in out_cts)
        outname = " ".join(show(v) for v in eqn.outvars)
        for a, c in zip(eqn.invars, in_cts, strict=True):
            if c is None or type(a) is Literal:
                continue
            summed = ""
            if a in ct:
                old = ct[a]
                new = ct[a] = old + c
                uses[a] = uses.get(a, 1) + 1
                summed = (
                    f"{names[a]} used {uses[a]}x: {fmt_value(old)} + {fmt_value(c)} "
                    f"= {fmt_value(new)}"
                )
            else:
                ct[a] = c
            backward.append(
                BackwardRow(
                    step,
                    eqn_text(eqn),
                    outname,
                    incoming,
                    local_by_eqn[id(eqn)],
                    show(a),
                    fmt_value(c),
                    summed,
                    c,
                )
            )

    # gradients per argument, structured like mg.grad's
    grads, grad_rows = [], []
    for n in nums:
        leaves = []
        for k in range(*spans[n]):
            v = jaxpr.invars[k]
            g = ct.get(v)
            if g is None:
                g = np.zeros(v.aval.shape, v.aval.dtype)
            g = np.asarray(g).astype(v.aval.dtype)
            leaves.append(g)
            grad_rows.append((f"d loss / d {argn[k]}", fmt_value(g)))
        tree = tree_util.tree_structure(args[n])
        grads.append(tree_util.tree_unflatten(tree, [_as_jax(x) for x in leaves]))
    fname = getattr(fun, "__name__", "f")
    title = f"explain_grad({fname}) with respect to " + ", ".join(argn_for(spans, argn, nums))
    value = fmt_value(env[jaxpr.outvars[0]])
    return ExplainReport(
        title, forward, local, backward, grads[0] if single else tuple(grads), grad_rows, value
    )


def argn_for(spans, argn, nums):
    out = []
    for n in nums:
        lo, hi = spans[n]
        out.append(argn[lo].split("[")[0] if hi > lo else letters(n))
    return out


def _as_jax(x):
    return jnp.asarray(x)
