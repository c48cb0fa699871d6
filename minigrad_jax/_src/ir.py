"""The IR: variables, literals, equations, jaxprs; evaluation, checking, printing."""

from __future__ import annotations

import re

import numpy as np

from minigrad_jax._src import core
from minigrad_jax._src.core import ShapedArray


class Var:
    """A jaxpr variable. Hashes by identity; its name is given when printed."""

    __slots__ = ("aval", "suffix")

    def __init__(self, aval: ShapedArray, suffix: str = ""):
        self.aval = aval
        self.suffix = suffix

    def __repr__(self):
        return f"Var({self.aval.str_short()})"


class Literal:
    """A scalar constant written inline in an equation (``2.0:f32[]``)."""

    __slots__ = ("val", "aval")

    def __init__(self, val, aval: ShapedArray):
        self.val, self.aval = val, aval

    def __repr__(self):
        return f"Literal({self.val!r})"

    def __str__(self):
        return f"{_literal_text(self.val, self.aval)}:{self.aval.str_short()}"


def _literal_text(val, aval) -> str:
    """As JAX prints a literal: the scalar's Python value; a weakly typed Python float
    keeps the value the user wrote (``0.1``, not its float32 rounding)."""
    if np.shape(val):
        return "[...]"
    py = getattr(val, "py_value", None)
    if py is not None and aval.dtype == core.weak_default_dtype(aval.dtype.kind):
        return str(complex(py) if aval.dtype.kind == "c" else py)
    return str(np.asarray(val, aval.dtype).item())


class JaxprEqn:
    # origin: under debug_nans, the derivative rule that made this equation (debug_nans.Origin)
    __slots__ = ("invars", "outvars", "primitive", "params", "source_info", "origin")

    def __init__(self, invars, outvars, primitive, params, source_info=None, origin=None):
        self.invars = invars
        self.outvars = outvars
        self.primitive = primitive
        self.params = params
        self.source_info = source_info
        self.origin = origin

    def replace(self, **kw):
        new = JaxprEqn(
            self.invars, self.outvars, self.primitive, self.params, self.source_info, self.origin
        )
        for k, v in kw.items():
            setattr(new, k, v)
        return new

    def __repr__(self):
        return pp_eqn(self)


class Jaxpr:
    __slots__ = ("constvars", "invars", "outvars", "eqns", "__weakref__")

    def __init__(self, constvars, invars, outvars, eqns):
        self.constvars = list(constvars)
        self.invars = list(invars)
        self.outvars = list(outvars)
        self.eqns = list(eqns)

    @property
    def in_avals(self):
        return [v.aval for v in self.invars]

    @property
    def out_avals(self):
        return [v.aval for v in self.outvars]

    def __str__(self):
        return pp_jaxpr(self)

    __repr__ = __str__


class ClosedJaxpr:
    """A jaxpr together with the values of its constvars."""

    __slots__ = ("jaxpr", "consts", "_cache", "__weakref__")

    def __init__(self, jaxpr: Jaxpr, consts):
        self.jaxpr = jaxpr
        self.consts = list(consts)
        self._cache = {}  # per-jaxpr memo for compiled / transformed versions

    in_avals = property(lambda self: self.jaxpr.in_avals)
    out_avals = property(lambda self: self.jaxpr.out_avals)
    eqns = property(lambda self: self.jaxpr.eqns)

    def __str__(self):
        return pp_jaxpr(self.jaxpr)

    __repr__ = __str__

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)


# ---------------------------------------------------------------------------
# evaluation: the same little interpreter every pass uses


def eval_jaxpr(jaxpr: Jaxpr, consts, *args):
    """Evaluate ``jaxpr`` by binding each equation in the current trace."""
    env = {}
    for v, x in zip(jaxpr.constvars, consts):
        env[v] = x
    for v, x in zip(jaxpr.invars, args):
        env[v] = x

    def read(a):
        return a.val if type(a) is Literal else env[a]

    st = core._state
    prev, prev_origin = st.src, st.origin
    checking = core.checking_floats
    try:
        for eqn in jaxpr.eqns:
            # what this equation makes keeps its line (the user frame is our caller's)
            st.src = eqn.source_info or prev
            if checking:  # and, under debug_nans, the derivative rule that made it
                st.origin = eqn.origin or prev_origin
            outs = eqn.primitive.bind(*map(read, eqn.invars), **eqn.params)
            if eqn.primitive.multiple_results:
                for v, x in zip(eqn.outvars, outs):
                    env[v] = x
            else:
                env[eqn.outvars[0]] = outs
    finally:
        st.src, st.origin = prev, prev_origin
    return [read(v) for v in jaxpr.outvars]


# ---------------------------------------------------------------------------
# type checking


class JaxprTypeError(TypeError):
    pass


def check_jaxpr(jaxpr: Jaxpr):
    """Check that every variable is defined once before use and avals agree."""
    defined = set()

    def define(v):
        if v in defined:
            raise JaxprTypeError(f"variable {v} defined twice")
        defined.add(v)

    def check_atom(a):
        if type(a) is not Literal and a not in defined:
            raise JaxprTypeError(f"variable {a} used before it is defined")

    for v in jaxpr.constvars + jaxpr.invars:
        define(v)
    for eqn in jaxpr.eqns:
        for a in eqn.invars:
            check_atom(a)
        in_avals = [a.aval for a in eqn.invars]
        out = core.abstract_eval(eqn.primitive, in_avals, eqn.params)
        out = out if eqn.primitive.multiple_results else [out]
        for v, aval in zip(eqn.outvars, out):
            if (v.aval.shape, v.aval.dtype) != (aval.shape, aval.dtype):
                raise JaxprTypeError(
                    f"{eqn.primitive}: output typed {v.aval.str_short()} "
                    f"but the rule gives {aval.str_short()}"
                )
            define(v)
    for a in jaxpr.outvars:
        check_atom(a)


# ---------------------------------------------------------------------------
# printing in JAX's text format
#
# A small "strictly pretty" printer (Lindig 2000), the layout algorithm JAX's
# printer uses: a group is laid out flat when its own contents fit in what is
# left of the line, else its breaks become newlines. Jaxprs, equations and
# params are built as documents with the same groups as JAX's, so lines break
# where JAX's do; one naming context covers the whole printout, nested jaxprs
# included, and a call's jaxpr reuses the names of the call's operands.

_TEXT, _CONCAT, _BREAK, _GROUP, _NEST = range(5)
_NIL = (_CONCAT, ())
_WIDTH = 80


def _text(s):
    return (_TEXT, s)


def _concat(*docs):
    return (_CONCAT, docs)


def _brk(s=" "):
    return (_BREAK, s)


def _group(doc):
    return (_GROUP, doc)


def _nest(n, doc):
    return (_NEST, n, doc)


def _join(sep, docs):
    out = []
    for d in docs:
        out += (sep, d) if out else (d,)
    return (_CONCAT, tuple(out))


def _format(doc, width=_WIDTH) -> str:
    out, col = [], 0
    stack = [(0, False, doc)]  # (indent, flat, doc); the root is in break mode
    while stack:
        indent, flat, d = stack.pop()
        kind = d[0]
        if kind == _TEXT or (kind == _BREAK and flat):
            out.append(d[1])
            col += len(d[1])
        elif kind == _BREAK:
            out.append("\n" + " " * indent)
            col = indent
        elif kind == _CONCAT:
            stack.extend((indent, flat, c) for c in reversed(d[1]))
        elif kind == _NEST:
            stack.append((indent + d[1], flat, d[2]))
        else:
            stack.append((indent, flat or _fits(d[1], width - col), d[1]))
    return "".join(out)


def _fits(doc, room) -> bool:
    """Whether ``doc`` laid out flat takes at most ``room`` columns (only the group itself)."""
    stack = [doc]
    while stack and room >= 0:
        d = stack.pop()
        if d[0] in (_TEXT, _BREAK):
            room -= len(d[1])
        elif d[0] == _CONCAT:
            stack.extend(d[1])
        else:
            stack.append(d[-1])
    return room >= 0


def letters(n: int) -> str:
    """Jaxpr-style variable names, JAX's: a, b, ..., z, ba, bb, ... (base 26, a = 0)."""
    s = chr(97 + n % 26)
    while n >= 26:
        n //= 26
        s = chr(97 + n % 26) + s
    return s


class _Context:
    """Variable names for one printout; shared jaxprs are printed once, by name."""

    def __init__(self, names=None):
        self.names = dict(names or {})
        self.shared = {}  # Jaxpr -> its name in ``let name = { ... } in``
        self._count = 0

    def fresh(self):
        taken = set(self.shared.values())
        while True:
            name = letters(self._count)
            self._count += 1
            if name not in taken:
                return name

    def __call__(self, v):
        if type(v) is Literal:
            return str(v)
        name = self.names.get(v)
        if name is None:
            name = self.names[v] = self.fresh() + v.suffix
        return name

    def alias(self, inner, outer):
        """Name a call's inner variables after the outer atoms they stand for."""
        if len(inner) != len(outer):
            return
        used = set()
        for iv, ov in zip(inner, outer):
            if type(ov) is Var and ov not in used and type(iv) is Var and iv not in self.names:
                used.add(ov)
                self.names[iv] = self(ov)


def _dropvars(jaxpr: Jaxpr):
    """Top-level variables nothing reads print as ``_``."""
    used = _used_vars(jaxpr)
    return {v: "_" for eqn in jaxpr.eqns for v in eqn.outvars if v not in used}


def _used_vars(jaxpr: Jaxpr):
    used = {v for v in jaxpr.outvars if type(v) is Var}
    for eqn in jaxpr.eqns:
        used.update(v for v in eqn.invars if type(v) is Var)
    return used


# -- which jaxprs are pulled to the top as ``let name = { ... } in`` (as JAX does: one
# used more than once, or a nested one of more than 10 equations)


def _jaxprs_in_params(params):
    for val in params.values():
        for v in val if isinstance(val, tuple) else (val,):
            if isinstance(v, Jaxpr):
                yield v
            elif isinstance(v, ClosedJaxpr):
                yield v.jaxpr


def has_effects(eqn) -> bool:
    """Whether ``eqn`` has a side effect: an effectful primitive, or one in a jaxpr it carries."""
    if eqn.primitive in core.effectful:
        return True
    return any(jaxpr_has_effects(j) for j in _jaxprs_in_params(eqn.params))


def jaxpr_has_effects(jaxpr: Jaxpr) -> bool:
    return any(has_effects(e) for e in jaxpr.eqns)


def _call_name(eqn):
    if eqn.primitive.name in ("custom_jvp_call", "custom_vjp_call"):
        return None  # JAX's versions of these carry no name param
    name = eqn.params.get("name")
    return name.strip("<>") if isinstance(name, str) else None


def _count_jaxprs(top: Jaxpr):
    counts, names, queue = {}, {}, [top]
    for jaxpr in queue:  # breadth first; the queue grows as we go
        counts[jaxpr] = counts.get(jaxpr, 0) + 1 + (jaxpr is not top and len(jaxpr.eqns) > 10)
        for eqn in jaxpr.eqns:
            name = _call_name(eqn)
            for sub in _jaxprs_in_params(eqn.params):
                queue.append(sub)
                if name is not None:
                    names.setdefault(sub, name)
    return counts, names


def _shared_jaxprs(top: Jaxpr):
    counts, names = _count_jaxprs(top)
    taken, shared = {}, {}
    for jaxpr, count in counts.items():
        if count == 1:
            continue
        name = names.get(jaxpr, "jaxpr")
        n = taken.get(name, 0)
        taken[name] = n + 1
        if n:
            name += str(n)
            taken[name] = taken.get(name, 0) + 1
        shared[jaxpr] = name
    return shared


# -- documents


def _pp_vars(vs, ctx, sep="", shapes=False):
    items = [_text(ctx(v) + (":" + v.aval.str_short() if shapes else "")) for v in vs]
    return _nest(2, _group(_join(_concat(_text(sep), _group(_brk())), items)))


def _pp_skeleton(jaxpr: Jaxpr, ctx):
    consts = _pp_vars(jaxpr.constvars, ctx, shapes=True)
    ins = _pp_vars(jaxpr.invars, ctx, shapes=True)
    eqns = _join(_brk("; "), [_pp_eqn(e, ctx) for e in jaxpr.eqns])
    outs = _pp_vars(jaxpr.outvars, ctx, sep=",")
    head = (_text("{ lambda "), consts, _text("; "), ins, _text(". let"))
    tail = (_brk(), _text("in ("), outs, _text(",)" if len(jaxpr.outvars) == 1 else ")"))
    body = _concat(*head, _nest(2, _concat(_brk(), eqns)), *tail)
    return _group(_concat(_nest(2, body), _text(" }")))


def _pp_jaxpr_doc(jaxpr: Jaxpr, ctx):
    shared = ctx.shared.get(jaxpr)
    return _text(shared) if shared is not None else _pp_skeleton(jaxpr, ctx)


def _pp_eqn(eqn: JaxprEqn, ctx):
    params = _PARAM_RULES.get(eqn.primitive.name, _sorted_params)(eqn, ctx)
    lhs = _pp_vars(eqn.outvars, ctx, shapes=True)
    rhs = (
        _text(eqn.primitive.name),
        _pp_kv_pairs(params, ctx),
        _concat(_text(" "), _pp_vars(eqn.invars, ctx)),
    )
    return _concat(lhs, _text(" = "), *rhs) if eqn.outvars else _concat(*rhs)


def _pp_kv_pairs(params, ctx):
    if not params:
        return _NIL
    items = [_concat(_text(f"{k}="), _pp_value(v, ctx)) for k, v in params]
    inner = _nest(2, _concat(_text("["), _brk(""), _join(_brk(), items)))
    return _group(_concat(inner, _brk(""), _text("]")))


def _pp_value(v, ctx):
    if type(v) is tuple and all(isinstance(j, (Jaxpr, ClosedJaxpr)) for j in v):
        docs = [_pp_jaxpr_doc(j.jaxpr if isinstance(j, ClosedJaxpr) else j, ctx) for j in v]
        inner = _nest(2, _concat(_text("("), _brk(""), _join(_brk(), docs)))
        return _group(_concat(inner, _brk(""), _text(")")))
    if isinstance(v, ClosedJaxpr):
        return _pp_jaxpr_doc(v.jaxpr, ctx)
    if isinstance(v, Jaxpr):
        return _pp_jaxpr_doc(v, ctx)
    return _text(_pp_param(v))


def _pp_param(v, indent=0) -> str:
    """A non-jaxpr param value as JAX prints it (``str``, with addresses masked)."""
    if isinstance(v, (Jaxpr, ClosedJaxpr)):
        return str(v)
    if isinstance(v, type) and issubclass(v, np.generic):
        return np.dtype(v).name  # JAX's params hold np.dtype objects
    if isinstance(v, frozenset):
        return f"frozenset({{{', '.join(repr(e) for e in sorted(v))}}})"
    return _ADDRESS.sub(lambda m: " at 0x" + "X" * len(m.group(1)), str(v))


_ADDRESS = re.compile(r" at 0x([0-9a-fA-F]+)")


# -- per-primitive params, as JAX's printing rules show them


def _is_none(v):
    return v is None


def _always(v):
    return True


def _is_empty(v):
    return v is None or v == ()


def _falsy(v):
    return not v


def _all_unspecified(v):
    return all(s is None or type(s).__name__ == "UnspecifiedValue" for s in v)


def _empty_mesh(v):
    return getattr(v, "empty", v is None)


_ACCURACY = {"accuracy": _is_none}
_HIDDEN = {
    "broadcast_in_dim": {"shape": _always, "sharding": _always, "broadcast_dimensions": _is_empty},
    "convert_element_type": {"sharding": _always},
    "dot_general": {"out_sharding": _always, "precision": _is_none},
    "mul": {"out_dtype": _is_none},
    "custom_jvp_call": {"num_consts": _falsy},
    "custom_vjp_call": {"num_consts": _falsy, "out_trees": _always},
    "jit": {
        "inline": _always,
        "donated_invars": lambda v: not any(v),
        "in_shardings": _all_unspecified,
        "out_shardings": _all_unspecified,
        "in_layouts": _all_unspecified,
        "out_layouts": _all_unspecified,
        "keep_unused": _falsy,
        "ctx_mesh": _empty_mesh,
        "compiler_options_kvs": _falsy,
    },
    **dict.fromkeys(
        ("exp", "exp2", "log", "expm1", "log1p", "tanh", "logistic", "sin", "cos", "tan")
        + ("sqrt", "rsqrt", "cbrt"),
        _ACCURACY,
    ),
}
_HIDDEN["dot_general"]["preferred_element_type"] = _is_none


def _shown(eqn):
    hidden = _HIDDEN.get(eqn.primitive.name, {})
    return {k: v for k, v in eqn.params.items() if k not in hidden or not hidden[k](v)}


def _sorted_params(eqn, ctx):
    return sorted(_shown(eqn).items(), key=lambda kv: kv[0])


def _name_first(params):
    """``name=`` first, to make the equation easier to scan (JAX's order for calls)."""
    rest = sorted((kv for kv in params.items() if kv[0] != "name"), key=lambda kv: kv[0])
    return ([("name", params["name"])] if "name" in params else []) + rest


def _jit_params(eqn, ctx):
    inner = eqn.params.get("jaxpr")
    inner = inner.jaxpr if isinstance(inner, ClosedJaxpr) else inner
    if isinstance(inner, Jaxpr) and inner not in ctx.shared:
        ctx.alias(inner.invars, eqn.invars)
        ctx.alias(inner.outvars, eqn.outvars)
    return _name_first(_shown(eqn))


def _dot_general_params(eqn, ctx):
    params = _shown(eqn)
    (lc, rc), (lb, rb) = params["dimension_numbers"]
    params["dimension_numbers"] = ((list(lc), list(rc)), (list(lb), list(rb)))
    return sorted(params.items(), key=lambda kv: kv[0])


def _fun_name(f):
    return getattr(f, "__name__", None) or type(f).__name__


def _custom_call_params(*rule_keys):
    def rule(eqn, ctx):
        params = _shown(eqn)
        for k in rule_keys:
            if k in params and callable(params[k]):
                params[k] = _fun_name(params[k])
        return _name_first(params)

    return rule


_PARAM_RULES = {
    "jit": _jit_params,
    "dot_general": _dot_general_params,
    "custom_jvp_call": _custom_call_params("jvp"),
    "custom_vjp_call": _custom_call_params("fwd", "bwd"),
}


def pp_eqn(eqn: JaxprEqn) -> str:
    """One equation as JAX prints it, with fresh names."""
    return _format(_pp_eqn(eqn, _Context()))


def pp_jaxpr(jaxpr: Jaxpr) -> str:
    """The whole printout of a top-level jaxpr, shared sub-jaxprs first, as JAX prints it."""
    ctx = _Context(_dropvars(jaxpr))
    ctx.shared = _shared_jaxprs(jaxpr)
    docs = [
        _concat(_text(f"let {n} = "), _pp_skeleton(j, ctx), _text(" in"), _brk())
        for j, n in ctx.shared.items()
    ]
    return _format(_concat(*docs, _pp_jaxpr_doc(jaxpr, ctx)))
