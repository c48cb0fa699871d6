"""mg.saved_residuals / mg.print_saved_residuals: what reverse mode keeps for the backward pass.

The residuals of ``vjp(f, *args)`` are the consts of the linear jaxpr that
``linearize`` stages (see ``api.linearize_flat``). Tracing a function that runs
``linearize_flat`` and returns those consts gives a jaxpr whose outputs are the
residuals and whose equations are the forward pass that computes them; each
output is then traced back to what made it:

- an input of the jaxpr: one of the user's arguments, saved as it is;
- a const or literal of the jaxpr: a constant the function closed over;
- an equation: the primitive and the user's source line (``eqn.source_info``).
  The output of a ``jit`` or checkpoint equation is followed into the call's
  jaxpr, and the output of a ``scan`` into its body (the residual then holds one
  value per iteration, stacked), down to the equation that made it.

``saved_residuals`` returns JAX's shape, a list of ``(aval, description)``
pairs, so code written for ``jax.ad_checkpoint.saved_residuals`` runs as it is;
each pair is a ``Residual``, a 2-tuple that also carries ``nbytes``,
``source``, ``primitive``, ``is_argument``, ``argument``, ``iterations`` and
``within``. ``print_saved_residuals`` prints them as a table with the totals,
in all and per source line.
"""

from __future__ import annotations

import math

import numpy as np
from jax import tree_util

from minigrad_jax._src import core
from minigrad_jax._src.api import _check_callable, linearize_flat
from minigrad_jax._src.api_util import avals_of, flatten_call, fun_signature
from minigrad_jax._src.checkpoint import checkpoint_p
from minigrad_jax._src.checkpoint_policies import name_p
from minigrad_jax._src.interpreters.partial_eval import trace_to_jaxpr
from minigrad_jax._src.ir import Literal
from minigrad_jax._src.lax.control_flow.loops import scan_p
from minigrad_jax._src.lax.special import reduce_precision_p
from minigrad_jax._src.pjit import jit_p
from minigrad_jax._src.traceback_util import api_boundary

__all__ = ["Residual", "saved_residuals", "print_saved_residuals"]


class Residual(tuple):
    """One saved residual: the pair ``(aval, description)``, as in JAX, with details.

    Unpacks and compares as the 2-tuple JAX returns. The attributes:

    - ``aval``: the residual's abstract value (shape, dtype);
    - ``description``: where it comes from, in words (JAX's phrasing where JAX has one);
    - ``nbytes``: the bytes it holds (all iterations, for a value saved per iteration);
    - ``source``: the user's line that computed it (``file``, ``line``, ``function``),
      or None for an argument or a constant;
    - ``primitive``: the name of the primitive that computed it, or None;
    - ``is_argument``: whether it is one of the function's arguments, saved as it is;
    - ``argument``: that argument's name (``params[0]['w']``), or None;
    - ``iterations``: for a value saved once per iteration of a scan, the number of
      values stacked (the product of the lengths of nested scans), else None;
    - ``within``: the enclosing jit, checkpoint and scan equations, outermost first,
      as text (``"scan from rnn.py:9 (rnn)"``).
    """

    def __new__(cls, aval, description, **details):
        self = super().__new__(cls, (aval, description))
        self.__dict__.update(details)
        return self

    @property
    def aval(self):
        return self[0]

    @property
    def description(self):
        return self[1]


def _nbytes(aval):
    return math.prod(aval.shape) * np.dtype(aval.dtype).itemsize


def _arg_names(fun, in_tree, n):
    """JAX's names for the flat arguments: ``x``, ``params[0][1]``, ``kwargs['y']``."""
    sig = fun_signature(fun)
    named, star = [], None
    if sig is not None:
        for p in sig.parameters.values():
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                named.append(p.name)
            elif p.kind is p.VAR_POSITIONAL:
                star = p.name
    paths = [
        p
        for p, _ in tree_util.tree_flatten_with_path(tree_util.tree_unflatten(in_tree, range(n)))[0]
    ]
    names = []
    for path in paths:
        rest = tree_util.keystr(path[2:])
        if path[0].idx == 1:  # a keyword argument
            names.append(f"{path[1].key}{rest}")
            continue
        k = path[1].idx
        if k < len(named):
            names.append(f"{named[k]}{rest}")
        elif star is not None:
            names.append(f"{star}[{k - len(named)}]{rest}")
        else:
            names.append(f"args[{k}]{rest}")
    return names


class _Origin:
    """What made one residual, found by walking back through call and scan equations."""

    __slots__ = ("what", "primitive", "source", "argument", "iterations", "within", "note")

    def __init__(self):
        self.what, self.primitive, self.source, self.argument = None, None, None, None
        self.iterations, self.within, self.note = None, [], ""


class _Walker:
    """Walks a residual back to what made it, through jit, checkpoint and scan equations.

    The walk keeps a stack of frames ``(enclosing jaxpr, equation)``, one per
    equation it has entered; an input of an inner jaxpr is that equation's operand.
    """

    def __init__(self, top, arg_names):
        self.top = top.jaxpr
        self.args = {v: name for v, name in zip(self.top.invars, arg_names)}
        self.made = {}  # id(jaxpr) -> {var: (eqn, output index)}

    def producer(self, jaxpr, v):
        made = self.made.get(id(jaxpr))
        if made is None:
            made = {v: (e, i) for e in jaxpr.eqns for i, v in enumerate(e.outvars)}
            self.made[id(jaxpr)] = made
        return made.get(v)

    def describe(self, atom):
        o, jaxpr, frames = _Origin(), self.top, []
        for _ in range(1000):  # a bound: carries that only swap places never end
            if type(atom) is Literal:
                o.what = "literal"
                return o
            if not frames and atom in self.args:
                o.what, o.argument = "argument", self.args[atom]
                return o
            made = self.producer(jaxpr, atom)
            if made is None and (not frames or atom not in jaxpr.invars):
                o.what = "constant"  # a constvar: a constant the function closed over
                return o
            if made is None:
                atom, jaxpr = self._operand(atom, jaxpr, frames, o)
                continue
            eqn, i = made
            if eqn.primitive is reduce_precision_p:
                atom = eqn.invars[0]  # a policy-saved value's own format: look through it
                continue
            if eqn.primitive is name_p:
                o.what, o.argument, o.source = "named", eqn.params["name"], eqn.source_info
                return o
            inner = self._inner(eqn)
            if inner is None:
                o.what, o.primitive, o.source = "equation", eqn.primitive.name, eqn.source_info
                return o
            frames.append((jaxpr, eqn))
            o.within.append(self._label(eqn))
            if eqn.primitive is scan_p and i >= eqn.params["num_carry"]:
                o.iterations = (o.iterations or 1) * eqn.params["length"]
            atom, jaxpr = inner.outvars[i], inner
        o.what = "loop"
        return o

    @staticmethod
    def _inner(eqn):
        if eqn.primitive in (jit_p, checkpoint_p, scan_p):
            return eqn.params["jaxpr"].jaxpr
        return None

    @staticmethod
    def _label(eqn):
        if eqn.primitive is jit_p:
            return f"jit '{eqn.params['name']}' from {eqn.source_info}"
        name = "checkpoint" if eqn.primitive is checkpoint_p else "scan"
        return f"{name} from {eqn.source_info}"

    def _operand(self, atom, inner, frames, o):
        """An input of ``inner``: the operand of the equation that carries it."""
        jaxpr, eqn = frames[-1]
        k = inner.invars.index(atom)
        if eqn.primitive is scan_p:
            nc, nk = eqn.params["num_consts"], eqn.params["num_carry"]
            if nc <= k < nc + nk:
                out = inner.outvars[k - nc]
                if out is not atom:  # each iteration's carry: what the last one made
                    o.note = o.note or ": the carry each iteration starts from"
                    return out, inner
            elif k < nc and o.iterations is not None:
                o.note = o.note or ": copied to every iteration"
        frames.pop()
        o.within.pop()
        return eqn.invars[k], jaxpr


def _text(o):
    if o.what == "argument":
        text = f"from the argument {o.argument}"
    elif o.what == "constant":
        text = "from a constant"
    elif o.what == "literal":
        text = "from a literal"
    elif o.what == "named":
        text = f"named '{o.argument}' from {o.source}"
    elif o.what == "loop":
        text = "a loop carry that only changes places"
    else:
        text = f"output of {o.primitive} from {o.source}"
    if o.within:
        text += " in " + " in ".join(reversed(o.within))
    if o.iterations is not None:
        text += f", one per iteration ({o.iterations} stacked)"
    return text + o.note


def _residuals(fun, args, kwargs):
    _check_callable(fun)
    flat_fun, flat = flatten_call(fun, args, kwargs)

    def consts_of_vjp(*primals):
        _, linear, _ = linearize_flat(flat_fun, primals, core.user_frame_info(), "vjp")
        return list(linear.consts)

    closed = trace_to_jaxpr(consts_of_vjp, avals_of(flat), "saved_residuals")
    names = _arg_names(fun, flat_fun.in_tree, len(flat))
    walker = _Walker(closed, names)
    j = closed.jaxpr
    # JAX's order: literals, constants, arguments, then outputs in equation order.
    rank = {v: (1, k) for k, v in enumerate(j.constvars)}
    rank.update((v, (2, k)) for k, v in enumerate(j.invars))
    rank.update((v, (3, k, i)) for k, e in enumerate(j.eqns) for i, v in enumerate(e.outvars))
    atoms, seen = [], set()
    for atom in j.outvars:
        if type(atom) is Literal:
            atoms.append(((0,), atom))
        elif atom not in seen:  # one buffer, saved once
            seen.add(atom)
            atoms.append((rank[atom], atom))
    atoms.sort(key=lambda ra: ra[0])
    out = []
    for _, atom in atoms:
        o = walker.describe(atom)
        out.append(
            Residual(
                atom.aval,
                _text(o),
                nbytes=_nbytes(atom.aval),
                source=o.source,
                primitive=o.primitive,
                is_argument=o.what == "argument",
                argument=o.argument,
                iterations=o.iterations,
                within=list(o.within),
            )
        )
    return out


@api_boundary
def saved_residuals(fun, *args, **kwargs):
    """The residuals reverse mode saves for ``vjp(fun, *args, **kwargs)``'s backward pass.

    Returns JAX's list of ``(aval, description)`` pairs (``jax.ad_checkpoint``'s
    ``saved_residuals``); each pair is a :class:`Residual`, which also carries the
    bytes, the user's source line that computed it, and whether it is an argument.
    A value a ``scan`` saves once per iteration is followed into the loop body to
    the equation that computes it; so is one a ``jit`` or ``checkpoint`` returns.

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> def f(x, y):
      ...     return mnp.sum(mnp.sin(x) * y)
      >>> res = mg.saved_residuals(f, mnp.ones(3), mnp.ones(3))
      >>> for aval, what in res:
      ...     print(aval.str_short(), what)
      f32[3] from the argument y
      f32[3] output of sin from <doctest ...>:2 (f)
      f32[3] output of cos from <doctest ...>:2 (f)
      >>> [(r.nbytes, r.is_argument, r.primitive) for r in res]
      [(12, True, None), (12, False, 'sin'), (12, False, 'cos')]
    """
    return _residuals(fun, args, kwargs)


def _fmt_bytes(n):
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


@api_boundary
def print_saved_residuals(fun, *args, **kwargs):
    """Print what reverse mode saves for ``fun``'s backward pass, with the totals.

    One line per residual (type, bytes, where it comes from), then the total, and
    the bytes per source line of the user's code (arguments and constants apart).

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> from minigrad_jax import lax
      >>> def f(w, xs):
      ...     def step(h, x):
      ...         return mnp.tanh(w * h + x), None
      ...     return lax.scan(step, mnp.zeros(3), xs)[0].sum()
      >>> mg.print_saved_residuals(f, mnp.ones(3), mnp.ones((4, 3)))
      f32[3]    12 B  from the argument w
      f32[4,3]  48 B  output of tanh from <doctest ...>:3 (step) in scan from <doctest ...>:4 (f),
                      one per iteration (4 stacked): the carry each iteration starts from
      f32[4,3]  48 B  output of tanh from <doctest ...>:3 (step) in scan from <doctest ...>:4 (f),
                      one per iteration (4 stacked)
      f32[4,3]  48 B  output of sub from <doctest ...>:3 (step) in scan from <doctest ...>:4 (f),
                      one per iteration (4 stacked)
      4 residuals, 156 B (12 B of them arguments)
      by source line:
        <doctest ...>:3 (step)  3 residuals  144 B
        arguments               1 residual   12 B
    """
    res = _residuals(fun, args, kwargs)
    print(_table(res))


def _table(res):
    types = [r.aval.str_short() for r in res]
    sizes = [_fmt_bytes(r.nbytes) for r in res]
    wt, ws = max(map(len, types), default=0), max(map(len, sizes), default=0)
    lines = [f"{t:<{wt}}  {s:>{ws}}  {r.description}" for t, s, r in zip(types, sizes, res)]
    total = sum(r.nbytes for r in res)
    in_args = sum(r.nbytes for r in res if r.is_argument)
    n = len(res)
    plural = "s" * (n != 1)
    lines.append(
        f"{n} residual{plural}, {_fmt_bytes(total)} ({_fmt_bytes(in_args)} of them arguments)"
    )
    groups = {}
    for r in res:
        key = (
            str(r.source) if r.source is not None else "arguments" if r.is_argument else "constants"
        )
        c, b = groups.get(key, (0, 0))
        groups[key] = (c + 1, b + r.nbytes)
    if groups:
        lines.append("by source line:")
        order = sorted(groups, key=lambda k: (k in ("arguments", "constants"), -groups[k][1]))
        wk = max(map(len, order))
        for k in order:
            c, b = groups[k]
            count = f"{c} residual{'s' * (c != 1)}"
            lines.append(f"  {k:<{wk}}  {count:<12} {_fmt_bytes(b):>{ws}}")
    return "\n".join(lines)
