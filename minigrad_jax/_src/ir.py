"""The IR: variables, literals, equations, jaxprs; evaluation, checking, printing."""

from __future__ import annotations

import enum

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
        v = self.val.item() if hasattr(self.val, "item") else self.val
        if isinstance(v, bool) or self.aval.dtype == np.bool_:
            text = str(bool(v))
        elif isinstance(v, float) or core.is_float(self.aval.dtype):
            text = repr(float(v))
        else:
            text = str(v)
        return f"{text}:{self.aval.str_short()}"


class JaxprEqn:
    __slots__ = ("invars", "outvars", "primitive", "params", "source_info")

    def __init__(self, invars, outvars, primitive, params, source_info=None):
        self.invars = invars
        self.outvars = outvars
        self.primitive = primitive
        self.params = params
        self.source_info = source_info

    def replace(self, **kw):
        new = JaxprEqn(self.invars, self.outvars, self.primitive, self.params, self.source_info)
        for k, v in kw.items():
            setattr(new, k, v)
        return new

    def __repr__(self):
        return pp_eqn(self, _Namer())


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

    for eqn in jaxpr.eqns:
        outs = eqn.primitive.bind(*map(read, eqn.invars), **eqn.params)
        if eqn.primitive.multiple_results:
            for v, x in zip(eqn.outvars, outs):
                env[v] = x
        else:
            env[eqn.outvars[0]] = outs
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


class _Namer:
    def __init__(self):
        self.names = {}
        self.dropped = set()

    def __call__(self, v):
        if type(v) is Literal:
            return str(v)
        if v in self.dropped:
            return "_"
        name = self.names.get(v)
        if name is None:
            name = self.names[v] = letters(len(self.names)) + v.suffix
        return name


def letters(n: int) -> str:
    """Jaxpr-style variable names: a, b, ..., z, ba, bb, ..."""
    s = ""
    while True:
        s = chr(ord("a") + n % 26) + s
        n = n // 26 - 1
        if n < 0:
            return s


# Params JAX leaves out of its printout because they add nothing to read
# (always, or when None / empty).
_HIDDEN_PARAMS = {"broadcast_in_dim": ("shape", "sharding")}
_HIDDEN_IF_EMPTY = {
    "broadcast_in_dim": ("broadcast_dimensions",),
    "dot_general": ("precision", "preferred_element_type", "out_sharding"),
    "mul": ("out_dtype",),
}


def _shown(prim_name, k, v):
    if k in _HIDDEN_PARAMS.get(prim_name, ()):
        return False
    if k == "accuracy" and v is None:
        return False
    return not (k in _HIDDEN_IF_EMPTY.get(prim_name, ()) and (v is None or v == ()))


def _pp_dims(dn):
    (lc, rc), (lb, rb) = dn
    return f"(({list(lc)}, {list(rc)}), ({list(lb)}, {list(rb)}))"


def _pp_value(prim_name, k, v, indent):
    if prim_name == "dot_general" and k == "dimension_numbers":
        return _pp_dims(v)
    return _pp_param(v, indent)


def _pp_param(v, indent):
    if isinstance(v, ClosedJaxpr):
        return pp_jaxpr(v.jaxpr, indent)
    if isinstance(v, Jaxpr):
        return pp_jaxpr(v, indent)
    if isinstance(v, np.dtype):
        return v.name
    if isinstance(v, type) and issubclass(v, np.generic):
        return np.dtype(v).name
    if isinstance(v, enum.Enum):
        return v.name
    if isinstance(v, tuple) and v and isinstance(v[0], (ClosedJaxpr, Jaxpr)):
        inner = "".join(" " * (indent + 2) + _pp_param(j, indent + 2) + "\n" for j in v)
        return "(\n" + inner + " " * indent + ")"
    if callable(v) and not isinstance(v, tuple):
        return getattr(v, "__name__", type(v).__name__)
    return str(v)


def pp_eqn(eqn: JaxprEqn, name, indent: int = 4) -> str:
    params = [(k, v) for k, v in eqn.params.items() if _shown(eqn.primitive.name, k, v)]
    lhs = " ".join(name(v) + ":" + v.aval.str_short() for v in eqn.outvars)
    rhs = " ".join(name(a) for a in eqn.invars)
    if not params:
        return f"{lhs} = {eqn.primitive.name} {rhs}".rstrip()
    has_jaxpr = any(
        isinstance(v, (Jaxpr, ClosedJaxpr, tuple)) and _is_jaxpr_param(v) for _, v in params
    )
    if has_jaxpr:
        inner = "".join(f"\n{' ' * (indent + 2)}{k}={_pp_param(v, indent + 2)}" for k, v in params)
        return f"{lhs} = {eqn.primitive.name}[{inner}\n{' ' * indent}] {rhs}".rstrip()
    ps = " ".join(f"{k}={_pp_value(eqn.primitive.name, k, v, indent)}" for k, v in sorted(params))
    return f"{lhs} = {eqn.primitive.name}[{ps}] {rhs}".rstrip()


def _is_jaxpr_param(v):
    if isinstance(v, (Jaxpr, ClosedJaxpr)):
        return True
    return isinstance(v, tuple) and bool(v) and isinstance(v[0], (Jaxpr, ClosedJaxpr))


def pp_jaxpr(jaxpr: Jaxpr, indent: int = 0) -> str:
    name = _Namer()
    used = _used_vars(jaxpr)
    for eqn in jaxpr.eqns:
        for v in eqn.outvars:
            if v not in used:
                name.dropped.add(v)
    consts = " ".join(f"{name(v)}:{v.aval.str_short()}" for v in jaxpr.constvars)
    ins = " ".join(f"{name(v)}:{v.aval.str_short()}" for v in jaxpr.invars)
    eqns = [pp_eqn(e, name, indent + 4) for e in jaxpr.eqns]
    outs = ", ".join(name(v) for v in jaxpr.outvars)
    outs = f"({outs},)" if len(jaxpr.outvars) == 1 else f"({outs})"
    head = f"{{ lambda {consts}; {ins}. let"
    one_line = f"{head} {'; '.join(eqns)} in {outs} }}"
    if "\n" not in one_line and len(one_line) + indent <= 80:
        return one_line
    pad = " " * (indent + 4)
    body = "".join(f"\n{pad}{e}" for e in eqns)
    return f"{head}{body}\n{' ' * (indent + 2)}in {outs} }}"


def _used_vars(jaxpr: Jaxpr):
    used = {v for v in jaxpr.outvars if type(v) is Var}
    for eqn in jaxpr.eqns:
        used.update(v for v in eqn.invars if type(v) is Var)
    return used
