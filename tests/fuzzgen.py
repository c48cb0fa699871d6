"""A differential fuzzer: random programs run by minigrad_jax and by JAX must agree.

Each program is generated as Python *source text*, a function

    def prog(np, lax, T, x[, y]): ...

written once against a generic namespace and exec'd once; it is then called with
``np=minigrad_jax.numpy, lax=minigrad_jax.lax, T=minigrad_jax`` and with
``np=jax.numpy, lax=jax.lax, T=jax`` under each transform of ``TRANSFORMS``
(value, grad, jvp, vmap, jit, jit(grad), hessian, grad of vmap). Results must agree
in structure, shape, dtype and value (tolerances relative to the float type and the
result's magnitude); if both libraries raise, the error classes must be compatible.

A program is a random DAG of 3-12 ops over 1-2 float inputs of small random shapes;
shapes are tracked while generating so every program is valid. The ops cover the
op table's families through the numpy API (and some lax wrappers): elementwise
unary, broadcasting binaries (with Python scalars mixed in), reductions with axes,
shape ops, basic/advanced indexing and ``.at[]`` updates, dot/matmul/einsum,
cumulative ops, sort/argsort, lax.cond/switch/fori_loop/scan/while_loop whose bodies
close over traced values, transforms nested inside the program (grad, vmap, jit,
jvp), constants made inside the function (zeros, ones, arange, full, eye, linspace)
and module-level (closed-over) numpy arrays.

Programs are kept well-defined so that a disagreement is a real bug (JAX is
ill-defined at ties, kinks and singularities; see ``_tb`` and the op templates):
  * max/min reductions, cummax, sort, argmax and binary maximum/minimum get a
    tie-breaker (a distinct offset per element) so no two compared values are equal;
  * log/sqrt/pow/division/arc* only see arguments bounded away from their
    singularities (``x*x + 0.5``, ``0.9*tanh(x)``, ...);
  * values that could grow (products, powers, exp, contractions) are squashed with
    tanh first; inputs are uniform in [-1.5, 1.5], never exactly at a kink;
  * ``.at[].set`` with an index array uses unique indices (which duplicate wins is
    unspecified in JAX).

Reproduce one program: ``python tests/fuzzgen.py --seed S --n 1 -v``; its source is
printed with every failure and can be pasted into a regression test with ``check``.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import random
import re
import sys
import time
import traceback
from collections import Counter

import numpy as onp

TRANSFORMS = ("value", "grad", "jvp", "vmap", "jit", "jit_grad", "hessian", "grad_vmap")
BATCH = 3  # the vmapped axis' size

# ---------------------------------------------------------------------------
# the generator


@dataclasses.dataclass
class Val:
    name: str
    shape: tuple
    kind: str  # "f" (float) or "i" (integer)
    mag: float  # a rough bound on |value|, to keep magnitudes in check


def _size(shape):
    return int(math.prod(shape))


def _bshape(*shapes):
    try:
        return tuple(onp.broadcast_shapes(*shapes))
    except ValueError:
        return None


def _fmt(x):
    """A float literal for the source (short, exact enough)."""
    return repr(round(float(x), 4))


class Gen:
    """Builds one program's source, op by op, from ``random.Random(seed)``."""

    MAX_SIZE = 48  # elements per value
    MAX_NDIM = 4

    def __init__(self, seed):
        self.seed = seed
        self.r = random.Random(seed)
        self.lines = []  # body lines, indented
        self.globals = []  # module-level lines (closed-over arrays)
        self.vals = []
        self.counter = 0
        self.nconst = 0
        self.used = Counter()  # op family -> count

    # -- bookkeeping -------------------------------------------------------

    def fresh(self, prefix="v"):
        self.counter += 1
        return f"{prefix}{self.counter}"

    def emit(self, expr, shape, kind="f", mag=1.0, family=None):
        name = self.fresh()
        self.lines.append(f"    {name} = {expr}")
        v = Val(name, tuple(shape), kind, float(mag))
        self.vals.append(v)
        if family:
            self.used[family] += 1
        return v

    def pick(self, kind="f", pred=None, recent=True):
        cands = [v for v in self.vals if v.kind == kind and (pred is None or pred(v))]
        if not cands:
            return None
        if recent and self.r.random() < 0.6:
            return cands[-1] if self.r.random() < 0.5 else self.r.choice(cands[-3:])
        return self.r.choice(cands)

    def tame(self, v, limit=3.0):
        """``v`` or ``tanh(v)``: an operand whose magnitude is at most ``limit``."""
        if v.kind == "f" and v.mag > limit:
            return self.emit(f"np.tanh({v.name})", v.shape, "f", 1.0)
        return v

    def rand_shape(self, max_ndim=3):
        nd = self.r.choice([0, 1, 1, 2, 2, 2, 3][: 3 + 2 * max_ndim - 2])
        nd = min(nd, max_ndim)
        return tuple(self.r.choice([1, 2, 2, 3, 3, 4]) for _ in range(nd))

    def closed_const(self, shape, kind="f"):
        """A module-level numpy array the program closes over."""
        self.nconst += 1
        name = f"C{self.nconst}"
        if kind == "f":
            data = onp.round(
                onp.random.RandomState(self.seed + 7 * self.nconst).uniform(-1, 1, shape), 3
            )
            self.globals.append(f"{name} = onp.array({data.tolist()!r}, dtype=FDT)")
        else:
            data = onp.random.RandomState(self.seed + 7 * self.nconst).randint(-3, 4, shape)
            self.globals.append(f"{name} = onp.array({data.tolist()!r}, dtype=onp.int32)")
        return name

    def tb(self, v):
        """``v.name + tie-breaker``: distinct offsets per element, so no ties anywhere."""
        if v.shape == ():
            return v.name
        return f"({v.name} + 0.0137 * np.arange({_size(v.shape)}).reshape({v.shape}))"

    def axis(self, v, allow_none=True, allow_tuple=True):
        nd = len(v.shape)
        opts = []
        if allow_none:
            opts.append(None)
        if nd:
            opts += [self.r.randrange(nd), -1 - self.r.randrange(nd)]
            if allow_tuple and nd >= 2:
                k = self.r.randint(1, nd)
                opts.append(tuple(sorted(self.r.sample(range(nd), k))))
        return self.r.choice(opts) if opts else None

    def partner(self, shape, kind="f", exclude=None):
        """A value broadcast-compatible with ``shape`` (result not too large)."""

        def ok(v):
            b = _bshape(shape, v.shape)
            return b is not None and _size(b) <= self.MAX_SIZE and len(b) <= self.MAX_NDIM

        cands = [v for v in self.vals if v.kind == kind and ok(v)]
        if exclude is not None and len(cands) > 1 and self.r.random() < 0.7:
            cands = [v for v in cands if v.name != exclude.name] or cands
        return self.r.choice(cands) if cands else None

    # -- expressions used inside closures -----------------------------------

    UNARY_EXPRS = [
        "np.sin({})",
        "np.cos({})",
        "np.tanh({})",
        "np.arctan({})",
        "(0.5 * {})",
        "np.exp(np.tanh({}))",
        "np.log1p({0} * {0})",
        "np.sqrt({0} * {0} + 0.25)",
    ]

    def unary_expr(self, name, depth=None):
        depth = self.r.randint(1, 2) if depth is None else depth
        e = name
        for _ in range(depth):
            e = self.r.choice(self.UNARY_EXPRS).format(e)
        return e

    def closure_term(self, exclude=None):
        """A scalar expression of some other (traced) value, for a body to close over."""
        v = self.pick("f", pred=lambda v: exclude is None or v.name != exclude.name, recent=False)
        if v is None:
            return "0.25"
        return self.r.choice(
            [
                f"0.1 * np.mean({v.name})",
                f"0.2 * np.tanh(np.sum({v.name}))",
                f"0.3 * np.sin({v.name}).mean()",
            ]
        )

    # -- op families ----------------------------------------------------------

    # (template, magnitude of the result given the operand's, operand limit or None)
    UNARY = [
        ("np.sin({a})", lambda m: 1, None),
        ("np.cos({a})", lambda m: 1, None),
        ("np.tanh({a})", lambda m: 1, None),
        ("np.arctan({a})", lambda m: 1.6, None),
        ("np.exp(np.tanh({a}))", lambda m: 2.8, None),
        ("np.exp({a})", lambda m: math.exp(m), 2.0),
        ("np.log({a} * {a} + 0.5)", lambda m: 1 + 2 * math.log1p(m), None),
        ("np.log1p({a} * {a})", lambda m: 2 * math.log1p(m), None),
        ("np.log2(np.abs({a}) + 0.5)", lambda m: 1 + math.log1p(m) * 1.5, None),
        ("np.sqrt({a} * {a} + 0.25)", lambda m: m + 0.5, None),
        ("np.expm1(np.tanh({a}))", lambda m: 1.8, None),
        ("np.sinh({a})", lambda m: math.sinh(m), 2.0),
        ("np.cosh({a})", lambda m: math.cosh(m), 2.0),
        ("np.arcsinh({a})", lambda m: 1 + math.log1p(m), None),
        ("np.arctanh(0.9 * np.tanh({a}))", lambda m: 1.5, None),
        ("np.arcsin(0.9 * np.tanh({a}))", lambda m: 1.2, None),
        ("np.arccos(0.9 * np.tanh({a}))", lambda m: 2.7, None),
        ("np.tan(0.7 * np.tanh({a}))", lambda m: 0.9, None),
        ("np.square({a})", lambda m: m * m, 3.0),
        ("{a} ** 2", lambda m: m * m, 3.0),
        ("{a} ** 3", lambda m: m**3, 2.0),
        ("np.power({a} * {a} + 0.5, 1.5)", lambda m: (m * m + 0.5) ** 1.5, 2.0),
        ("np.abs({a})", lambda m: m, None),
        ("-{a}", lambda m: m, None),
        ("np.negative({a})", lambda m: m, None),
        ("1.0 / ({a} * {a} + 1.0)", lambda m: 1, None),
        ("np.reciprocal({a} * {a} + 0.5)", lambda m: 2, None),
        ("np.cbrt({a})", lambda m: m ** (1 / 3) + 1, None),  # x != 0 (inputs never are)
        ("np.exp2(np.tanh({a}))", lambda m: 2, None),
        ("np.floor(3.0 * {a})", lambda m: 3 * m + 1, None),
        ("np.round(2.0 * {a})", lambda m: 2 * m + 1, None),
        ("np.sign({a})", lambda m: 1, None),
        ("np.clip({a}, -0.7, 0.6)", lambda m: 0.7, None),
        ("np.where({a} > 0.2, {a}, np.sin({a}))", lambda m: max(m, 1), None),
        ("lax.logistic({a})", lambda m: 1, None),
        ("lax.erf({a})", lambda m: 1, None),
        ("lax.integer_pow({a}, 3)", lambda m: m**3, 2.0),
        ("lax.rsqrt({a} * {a} + 0.5)", lambda m: 1.5, None),
        ("lax.stop_gradient({a})", lambda m: m, None),
        ("np.logaddexp({a}, 0.3)", lambda m: m + 1, None),
        ("{a}.astype({a}.dtype) * 1.5", lambda m: 1.5 * m, None),
    ]

    def op_unary(self):
        a = self.pick("f")
        if a is None:
            return None
        tmpl, magf, lim = self.r.choice(self.UNARY)
        if lim is not None:
            a = self.tame(a, lim)
        return self.emit(tmpl.format(a=a.name), a.shape, "f", magf(a.mag), "unary")

    BINARY = [
        ("{a} + {b}", lambda ma, mb: ma + mb, None),
        ("{a} - {b}", lambda ma, mb: ma + mb, None),
        ("np.add({a}, {b})", lambda ma, mb: ma + mb, None),
        ("np.subtract({b}, {a})", lambda ma, mb: ma + mb, None),
        ("{a} * {b}", lambda ma, mb: ma * mb, 3.0),
        ("np.multiply({a}, {b})", lambda ma, mb: ma * mb, 3.0),
        ("{a} / ({b} * {b} + 0.5)", lambda ma, mb: 2 * ma, 3.0),
        ("np.divide({a}, 1.5 + np.tanh({b}))", lambda ma, mb: 2 * ma, None),
        ("np.maximum({a}, {b} + 0.0371)", lambda ma, mb: max(ma, mb) + 0.1, None),
        ("np.minimum({a}, {b} - 0.0293)", lambda ma, mb: max(ma, mb) + 0.1, None),
        ("np.arctan2({a}, {b} * {b} + 0.5)", lambda ma, mb: 1.6, 3.0),
        ("np.power({a} * {a} + 0.5, np.tanh({b}))", lambda ma, mb: max(ma * ma + 0.5, 2), 3.0),
        ("np.where({a} > {b}, {a}, 0.5 * {b})", lambda ma, mb: max(ma, mb), None),
        ("np.hypot({a}, {b} + 0.5)", lambda ma, mb: ma + mb + 1, None),
    ]
    LAX_BINARY = [
        ("lax.add({a}, {b})", lambda ma, mb: ma + mb, None),
        ("lax.mul({a}, {b})", lambda ma, mb: ma * mb, 3.0),
        ("lax.sub({a}, {b})", lambda ma, mb: ma + mb, None),
        ("lax.max({a}, {b} + 0.0371)", lambda ma, mb: max(ma, mb) + 0.1, None),
        ("lax.atan2({a}, {b} * {b} + 0.5)", lambda ma, mb: 1.6, 3.0),
    ]

    def op_binary(self):
        a = self.pick("f")
        if a is None:
            return None
        b = self.partner(a.shape, "f", exclude=a)
        if b is None:
            return None
        table = self.BINARY
        if b.shape == a.shape and self.r.random() < 0.25:
            table = self.LAX_BINARY
        tmpl, magf, lim = self.r.choice(table)
        if lim is not None:
            a, b = self.tame(a, lim), self.tame(b, lim)
        if self.r.random() < 0.5:  # either operand order
            a, b = (b, a) if "{a} > {b}" not in tmpl else (a, b)
        shape = _bshape(a.shape, b.shape)
        return self.emit(tmpl.format(a=a.name, b=b.name), shape, "f", magf(a.mag, b.mag), "binary")

    def op_scalar(self):
        """A Python scalar (float or int) mixed with a traced value."""
        a = self.pick("f")
        if a is None:
            return None
        a = self.tame(a, 3.0)
        s = self.r.choice([2.0, 0.5, -1.5, 3, 2, -1, 0.25])
        forms = [
            (f"{a.name} * {s!r}", abs(s) * a.mag),
            (f"{s!r} * {a.name}", abs(s) * a.mag),
            (f"{s!r} - {a.name}", abs(s) + a.mag),
            (f"{a.name} + {s!r}", abs(s) + a.mag),
            (f"{a.name} / {s!r}", a.mag / abs(s)),
            (f"2.0 ** np.tanh({a.name})", 2.0),
            (f"np.float32({s!r}) * {a.name}", abs(s) * a.mag),
            (f"np.maximum({a.name}, 0.3)", a.mag + 0.3),  # ties only where a == 0.3
            (f"np.add({a.name}, {s!r})", abs(s) + a.mag),
        ]
        expr, mag = self.r.choice(forms)
        return self.emit(expr, a.shape, "f", mag, "scalar")

    def op_int(self):
        """Integer values: from comparisons, argmax/argsort, arange, and back to float."""
        i = self.pick("i")
        a = self.pick("f")
        r = self.r.random()
        if i is not None and a is not None and r < 0.35:
            # an integer array mixed with a float one
            if _bshape(i.shape, a.shape) is not None and _size(_bshape(i.shape, a.shape)) <= 48:
                expr = self.r.choice(
                    [
                        f"{a.name} + 0.1 * {i.name}",
                        f"{a.name} * ({i.name} % 3)",
                        f"{i.name} - {a.name}",
                    ]
                )
                mag = a.mag * 3 + (0 if "%" in expr else 0.1 * 64 + 64 * ("-" in expr))
                return self.emit(expr, _bshape(i.shape, a.shape), "f", mag, "int")
        if i is not None and r < 0.6:
            expr = self.r.choice(
                [
                    f"{i.name} * 2 + 1",
                    f"{i.name} % 3",
                    f"np.sum({i.name})",
                    f"np.maximum({i.name}, 1)",
                    f"{i.name}.astype(np.float32) * 0.25",
                ]
            )
            shape = () if "np.sum" in expr else i.shape
            kind = "f" if "float32" in expr else "i"
            return self.emit(expr, shape, kind, 64, "int")
        if a is not None:
            expr = self.r.choice(
                [
                    f"({a.name} > 0.1).astype(np.int32)",
                    f"np.where({a.name} < -0.2, 1, 0)",
                    f"np.sum({a.name} > 0)",
                ]
            )
            shape = () if "np.sum" in expr else a.shape
            return self.emit(expr, shape, "i", _size(a.shape), "int")
        return None

    def op_reduce(self):
        a = self.pick("f", pred=lambda v: v.shape != () or self.r.random() < 0.2)
        if a is None:
            return None
        ax = self.axis(a)
        keep = self.r.random() < 0.3
        kd = ", keepdims=True" if keep else ""
        axs = "" if ax is None else f", axis={ax!r}"
        axes = (
            tuple(range(len(a.shape)))
            if ax is None
            else tuple(x % len(a.shape) for x in (ax if isinstance(ax, tuple) else (ax,)))
        )
        shape = tuple((1 if keep else None) if i in axes else d for i, d in enumerate(a.shape))
        shape = tuple(d for d in shape if d is not None)
        n = _size([a.shape[i] for i in axes])
        kind = self.r.choice(["sum", "mean", "max", "min", "prod", "var", "arg", "method"])
        if kind == "sum":
            return self.emit(f"np.sum({a.name}{axs}{kd})", shape, "f", a.mag * n, "reduce")
        if kind == "mean":
            return self.emit(f"np.mean({a.name}{axs}{kd})", shape, "f", a.mag, "reduce")
        if kind in ("max", "min"):
            f = self.r.choice(["np." + kind, "np.a" + kind])
            return self.emit(f"{f}({self.tb(a)}{axs}{kd})", shape, "f", a.mag + 1, "reduce")
        if kind == "prod":
            a2 = self.tame(a, 1.5)
            return self.emit(
                f"np.prod({a2.name}{axs}{kd})", shape, "f", a2.mag ** min(n, 6), "reduce"
            )
        if kind == "var":
            return self.emit(f"np.var({a.name}{axs}{kd})", shape, "f", a.mag * a.mag, "reduce")
        if kind == "arg":
            if ax is None or isinstance(ax, tuple):
                if not a.shape:
                    return None
                ax = self.r.randrange(len(a.shape))
            f = self.r.choice(["np.argmax", "np.argmin"])
            shape = a.shape[: ax % len(a.shape)] + a.shape[ax % len(a.shape) + 1 :]
            return self.emit(f"{f}({self.tb(a)}, axis={ax})", shape, "i", a.shape[ax], "reduce")
        m = self.r.choice(["sum", "mean", "max"])
        src = self.tb(a) if m == "max" else a.name
        margs = ", ".join(x for x in (axs[2:], kd[2:]) if x)
        return self.emit(f"{src}.{m}({margs})", shape, "f", a.mag * n, "reduce")

    def _reshape_target(self, shape):
        n = _size(shape)
        dims = []
        rest = n
        while rest > 1 and len(dims) < 3:
            divs = [d for d in range(1, rest + 1) if rest % d == 0]
            d = self.r.choice(divs)
            dims.append(d)
            rest //= d
        if rest > 1:
            dims.append(rest)
        if self.r.random() < 0.3:
            dims.insert(self.r.randrange(len(dims) + 1), 1)
        self.r.shuffle(dims)
        return tuple(dims)

    def op_shape(self):
        a = self.pick("f")
        if a is None:
            return None
        nd = len(a.shape)
        kind = self.r.choice(
            [
                "reshape",
                "reshape",
                "transpose",
                "expand",
                "squeeze",
                "concat",
                "stack",
                "flip",
                "broadcast_to",
                "swap",
                "ravel",
                "tile",
            ]
        )
        if kind == "reshape":
            tgt = self._reshape_target(a.shape)
            spelled = list(tgt)
            if spelled and self.r.random() < 0.4:
                spelled[self.r.randrange(len(spelled))] = -1
            spelled = tuple(spelled)
            expr = self.r.choice(
                [f"np.reshape({a.name}, {spelled})", f"{a.name}.reshape({spelled})"]
            )
            if len(tgt) > self.MAX_NDIM:
                return None
            return self.emit(expr, tgt, "f", a.mag, "shape")
        if kind == "transpose":
            if nd < 2:
                return None
            perm = list(range(nd))
            self.r.shuffle(perm)
            if self.r.random() < 0.3:
                return self.emit(f"{a.name}.T", a.shape[::-1], "f", a.mag, "shape")
            return self.emit(
                f"np.transpose({a.name}, {tuple(perm)})",
                tuple(a.shape[p] for p in perm),
                "f",
                a.mag,
                "shape",
            )
        if kind == "swap":
            if nd < 2:
                return None
            i, j = self.r.sample(range(nd), 2)
            s = list(a.shape)
            if self.r.random() < 0.5:
                s[i], s[j] = s[j], s[i]
                return self.emit(f"np.swapaxes({a.name}, {i}, {j})", s, "f", a.mag, "shape")
            d = s.pop(i)
            s.insert(j, d)
            return self.emit(f"np.moveaxis({a.name}, {i}, {j})", s, "f", a.mag, "shape")
        if kind == "expand":
            if nd >= self.MAX_NDIM:
                return None
            ax = self.r.randint(-nd - 1, nd)
            s = list(a.shape)
            s.insert(ax % (nd + 1), 1)
            form = self.r.random()
            if form < 0.5:
                expr = f"np.expand_dims({a.name}, {ax})"
            elif form < 0.75:
                expr, s = f"{a.name}[None]", [1, *a.shape]
            else:
                expr, s = f"{a.name}[..., None]", [*a.shape, 1]
            return self.emit(expr, s, "f", a.mag, "shape")
        if kind == "squeeze":
            ones = [i for i, d in enumerate(a.shape) if d == 1]
            if not ones:
                return None
            if self.r.random() < 0.4:
                return self.emit(
                    f"np.squeeze({a.name})", [d for d in a.shape if d != 1], "f", a.mag, "shape"
                )
            ax = self.r.choice(ones)
            s = [d for i, d in enumerate(a.shape) if i != ax]
            return self.emit(f"np.squeeze({a.name}, axis={ax})", s, "f", a.mag, "shape")
        if kind in ("concat", "stack"):
            if kind == "concat" and nd == 0:
                return None
            ax = self.r.randrange(nd) if kind == "concat" else self.r.randint(0, nd)

            def fits(v):
                if kind == "stack":
                    return v.shape == a.shape
                return len(v.shape) == nd and all(
                    d == e for i, (d, e) in enumerate(zip(v.shape, a.shape)) if i != ax
                )

            others = [v for v in self.vals if v.kind == "f" and fits(v)]
            parts = [a]
            for _ in range(self.r.randint(1, 2)):
                parts.append(self.r.choice(others))
            names = [p.name for p in parts]
            if self.r.random() < 0.3:  # a constant made inside the function
                cshape = list(a.shape)
                if kind == "concat":
                    cshape[ax] = self.r.randint(1, 2)
                names.append(self.r.choice(["np.zeros", "np.ones"]) + f"({tuple(cshape)})")
                parts.append(Val("c", tuple(cshape), "f", 1.0))
            if kind == "concat":
                s = list(a.shape)
                s[ax] = sum(p.shape[ax] for p in parts)
            else:
                s = list(a.shape)
                s.insert(ax, len(parts))
            if _size(s) > self.MAX_SIZE or len(s) > self.MAX_NDIM:
                return None
            fn = "np.concatenate" if kind == "concat" else "np.stack"
            return self.emit(
                f"{fn}([{', '.join(names)}], axis={ax})",
                s,
                "f",
                max(p.mag for p in parts),
                "shape",
            )
        if kind == "flip":
            if nd == 0:
                return None
            ax = self.axis(a, allow_tuple=False)
            axs = "" if ax is None else f", axis={ax}"
            return self.emit(f"np.flip({a.name}{axs})", a.shape, "f", a.mag, "shape")
        if kind == "broadcast_to":
            s = (self.r.choice([2, 3]),) + tuple(
                self.r.choice([d, 2]) if d == 1 else d for d in a.shape
            )
            if _size(s) > self.MAX_SIZE or len(s) > self.MAX_NDIM:
                return None
            return self.emit(f"np.broadcast_to({a.name}, {s})", s, "f", a.mag, "shape")
        if kind == "ravel":
            return self.emit(
                self.r.choice([f"np.ravel({a.name})", f"{a.name}.ravel()"]),
                (_size(a.shape),),
                "f",
                a.mag,
                "shape",
            )
        if kind == "tile":
            if nd == 0:
                return None
            if self.r.random() < 0.5:
                reps = tuple(self.r.choice([1, 2]) for _ in range(nd))
                s = tuple(d * k for d, k in zip(a.shape, reps))
                expr = f"np.tile({a.name}, {reps})"
            else:
                ax = self.r.randrange(nd)
                s = tuple(d * 2 if i == ax else d for i, d in enumerate(a.shape))
                expr = f"np.repeat({a.name}, 2, axis={ax})"
            if _size(s) > self.MAX_SIZE:
                return None
            return self.emit(expr, s, "f", a.mag, "shape")
        return None

    def rand_basic_index(self, shape):
        """A basic index (ints, slices, None, ...) and its result's shape (never empty)."""
        for _ in range(20):
            idx, s = self._rand_basic_index(shape)
            if 0 not in s:
                return idx, s
        return "...", tuple(shape)

    def _rand_basic_index(self, shape):
        parts = []
        nd = len(shape)
        k = self.r.randint(1, nd) if nd else 0
        for d in shape[:k]:
            c = self.r.random()
            if c < 0.3:
                parts.append(str(self.r.randint(-d, d - 1)))
            elif c < 0.45:
                parts.append(":")
            else:
                start = self.r.choice(["", str(self.r.randint(-d, d - 1))])
                stop = self.r.choice(["", str(self.r.randint(-d, d))])
                step = self.r.choice(["", "", "2", "-1"])
                parts.append(f"{start}:{stop}" + (f":{step}" if step else ""))
        if self.r.random() < 0.15:
            parts.insert(self.r.randint(0, len(parts)), "None")
        if not parts:
            parts = ["None"] if self.r.random() < 0.5 else ["..."]
        idx = ", ".join(parts)
        s = eval(f"_d[{idx}]", {"_d": onp.zeros(shape)}).shape
        return idx, s

    def rand_array_index(self, d, unique=False):
        """An integer index array (closed-over numpy or made with np.array) into an axis of d."""
        n = self.r.randint(1, 4)
        if unique:
            vals = self.r.sample(range(d), min(n, d))
        else:
            vals = [self.r.randint(0, d - 1) for _ in range(n)]
        vals = [x - d if self.r.random() < 0.3 else x for x in vals]
        if self.r.random() < 0.5:
            name = self.closed_const((len(vals),), "i")
            self.globals[-1] = f"{name} = onp.array({vals!r}, dtype=onp.int32)"
            return name, len(vals)
        return f"np.array({vals!r})", len(vals)

    def op_index(self):
        a = self.pick("f", pred=lambda v: v.shape != ())
        if a is None:
            return None
        c = self.r.random()
        if c < 0.45:
            idx, s = self.rand_basic_index(a.shape)
            return self.emit(f"{a.name}[{idx}]", s, "f", a.mag, "index")
        ax = self.r.randrange(len(a.shape))
        arr, n = self.rand_array_index(a.shape[ax])
        s = a.shape[:ax] + (n,) + a.shape[ax + 1 :]
        if c < 0.7:
            pre = ":, " * ax
            return self.emit(f"{a.name}[{pre}{arr}]", s, "f", a.mag, "index")
        if c < 0.85:
            return self.emit(f"np.take({a.name}, {arr}, axis={ax})", s, "f", a.mag, "index")
        # a traced integer index (from argsort / argmax), kept in range with %
        i = self.pick("i", pred=lambda v: len(v.shape) <= 1)
        if i is None:
            return None
        s = a.shape[:ax] + i.shape + a.shape[ax + 1 :]
        if _size(s) > self.MAX_SIZE:
            return None
        return self.emit(
            f"np.take({a.name}, {i.name} % {a.shape[ax]}, axis={ax})", s, "f", a.mag, "index"
        )

    def op_at(self):
        a = self.pick("f", pred=lambda v: v.shape != ())
        const_base = self.r.random() < 0.25
        if a is None:
            return None
        method = self.r.choice(["set", "add", "multiply", "min", "max", "get"])
        if const_base:
            base_shape = a.shape
            base = self.r.choice([f"np.zeros({a.shape})", f"np.ones({a.shape})"])
            base_mag = 1.0
        else:
            base_shape, base, base_mag = a.shape, a.name, a.mag
        array_idx = self.r.random() >= 0.5
        if not array_idx:
            idx, s = self.rand_basic_index(base_shape)
        else:
            ax = self.r.randrange(len(base_shape))
            # unique indices for set (which duplicate wins is unspecified in JAX) and
            # multiply (JAX has no derivative of scatter_mul with repeated indices)
            arr, n = self.rand_array_index(base_shape[ax], unique=method in ("set", "multiply"))
            idx = ":, " * ax + arr
            s = base_shape[:ax] + (n,) + base_shape[ax + 1 :]
        if method == "get":
            return self.emit(f"{base}.at[{idx}].get()", s, "f", base_mag, "at")
        # the update: a Python scalar or a traced value that broadcasts to base[idx]
        u = self.partner(s, "f")
        if u is not None and _bshape(u.shape, s) != tuple(s):
            u = None
        if const_base and u is None:
            u = a if _bshape(a.shape, s) == tuple(s) else None
        if u is None or self.r.random() < 0.2:
            upd, umag = self.r.choice(["0.5", "-1.25", "2.0"]), 2.0
        else:
            if method == "multiply":
                u = self.tame(u, 1.5)
            upd, umag = u.name, u.mag
        if method == "max":
            upd = f"{upd} + 0.0417"  # never equal to the value it is compared with
        if method == "min":
            upd = f"{upd} - 0.0389"
        mag = base_mag * umag if method == "multiply" else base_mag + umag
        if method == "multiply" and array_idx:
            # JAX differentiates scatter_mul only when told the indices are unique
            # (ours are); without the flag JAX raises NotImplementedError (we don't)
            upd += ", unique_indices=True"
        return self.emit(f"{base}.at[{idx}].{method}({upd})", base_shape, "f", mag, "at")

    def op_contract(self):
        a = self.pick("f")
        if a is None:
            return None
        a = self.tame(a, 2.0)
        c = self.r.random()
        if c < 0.4 and a.shape:
            # matmul / dot with an existing value, a constant, or a transpose of a itself
            fn = self.r.choice(["{} @ {}", "np.matmul({}, {})", "np.dot({}, {})", "{}.dot({})"])
            np_fn = onp.dot if "dot" in fn else onp.matmul

            def shape_of(sb):
                try:
                    s = np_fn(onp.zeros(a.shape), onp.zeros(sb)).shape
                except ValueError:
                    return None
                return s if _size(s) <= self.MAX_SIZE and len(s) <= self.MAX_NDIM else None

            cands = [v for v in self.vals if v.kind == "f" and v.shape and shape_of(v.shape)]
            r = self.r.random()
            if cands and r < 0.5:
                b = self.tame(self.r.choice(cands), 2.0)
                bn = b.name
                sb = b.shape
            else:
                k = a.shape[-1]
                sb = (k, self.r.choice([1, 2, 3])) if self.r.random() < 0.7 else (k,)
                if self.r.random() < 0.5:
                    bn = self.closed_const(sb)
                else:
                    bn = self.r.choice(
                        [
                            f"np.ones({sb})",
                            f"np.full({sb}, 0.5)",
                            f"np.arange({_size(sb)}).reshape({sb}) * 0.1",
                        ]
                    )
                    if len(sb) == 2 and sb[0] == sb[1] and self.r.random() < 0.5:
                        bn = f"np.eye({sb[0]})"
                if shape_of(sb) is None:
                    return None
            s = shape_of(sb)
            if self.r.random() < 0.2 and len(sb) == 1 and "dot" in fn:
                # the constant on the left: np.ones(k).dot(x)
                if len(a.shape) == 1:
                    return self.emit(f"{bn}.dot({a.name})", (), "f", a.mag * a.shape[-1], "dot")
            return self.emit(fn.format(a.name, bn), s, "f", a.mag * 3 * a.shape[-1], "dot")
        # einsum over one or two operands
        letters = "abcdefgh"
        la = letters[: len(a.shape)]
        pool = list(letters[len(a.shape) :])
        ops = [a]
        specs = [la]
        sizes = dict(zip(la, a.shape))
        if self.r.random() < 0.75:
            b = self.pick("f", recent=False)
            b = self.tame(b, 2.0)
            lb = ""
            for d in b.shape:
                share = [ch for ch in la if sizes[ch] == d and ch not in lb]
                if share and self.r.random() < 0.6:
                    lb += self.r.choice(share)
                else:
                    ch = pool.pop(0)
                    sizes[ch] = d
                    lb += ch
            ops.append(b)
            specs.append(lb)
        allch = sorted(set("".join(specs)))
        out = [ch for ch in allch if self.r.random() < 0.5]
        self.r.shuffle(out)
        s = tuple(sizes[ch] for ch in out)
        if _size(s) > self.MAX_SIZE or len(s) > self.MAX_NDIM:
            return None
        eq = ",".join(specs) + "->" + "".join(out)
        mag = math.prod(v.mag for v in ops) * _size(a.shape)
        names = ", ".join(v.name for v in ops)
        return self.emit(f"np.einsum({eq!r}, {names})", s, "f", mag, "einsum")

    def op_cumulative(self):
        a = self.pick("f", pred=lambda v: v.shape != ())
        if a is None:
            return None
        nd = len(a.shape)
        ax = self.r.randrange(nd)
        c = self.r.choice(["cumsum", "cumprod", "cumsum_flat", "lax_cumsum", "lax_cummax"])
        if c == "cumsum":
            return self.emit(
                f"np.cumsum({a.name}, axis={ax - nd if self.r.random() < 0.3 else ax})",
                a.shape,
                "f",
                a.mag * a.shape[ax],
                "cumulative",
            )
        if c == "cumprod":
            a = self.tame(a, 1.5)
            return self.emit(
                f"np.cumprod({a.name}, axis={ax})", a.shape, "f", a.mag ** a.shape[ax], "cumulative"
            )
        if c == "cumsum_flat":
            return self.emit(
                f"np.cumsum({a.name})", (_size(a.shape),), "f", a.mag * _size(a.shape), "cumulative"
            )
        if c == "lax_cumsum":
            rev = self.r.random() < 0.5
            return self.emit(
                f"lax.cumsum({a.name}, axis={ax}, reverse={rev})",
                a.shape,
                "f",
                a.mag * a.shape[ax],
                "cumulative",
            )
        return self.emit(
            f"lax.cummax({self.tb(a)}, axis={ax})", a.shape, "f", a.mag + 1, "cumulative"
        )

    def op_sort(self):
        a = self.pick("f", pred=lambda v: v.shape != ())
        if a is None:
            return None
        nd = len(a.shape)
        ax = self.r.randrange(-nd, nd)
        c = self.r.random()
        if c < 0.5:
            return self.emit(f"np.sort({self.tb(a)}, axis={ax})", a.shape, "f", a.mag + 1, "sort")
        if c < 0.7:
            return self.emit(
                f"np.argsort({self.tb(a)}, axis={ax})", a.shape, "i", a.shape[ax], "sort"
            )
        if c < 0.85:
            return self.emit(
                f"lax.sort({self.tb(a)}, dimension={ax % nd})", a.shape, "f", a.mag + 1, "sort"
            )
        b = self.pick("f", pred=lambda v: v.shape == a.shape)
        return self.emit(
            f"lax.sort_key_val({self.tb(a)}, {b.name}, dimension={ax % nd})[1]",
            a.shape,
            "f",
            b.mag,
            "sort",
        )

    def op_constant(self):
        """A constant made in the function (or closed over), combined with a traced value."""
        a = self.pick("f")
        if a is None:
            return None
        s = a.shape
        n = _size(s)
        c = self.r.choice(["zeros", "ones", "full", "arange", "linspace", "closed", "eye", "like"])
        if c == "zeros":
            const = f"np.zeros({s})"
        elif c == "ones":
            const = f"np.ones({s}, dtype={a.name}.dtype)"
        elif c == "full":
            const = f"np.full({s}, 0.75)"
        elif c == "arange":
            const = f"np.arange({n}).reshape({s})"
        elif c == "linspace":
            const = f"np.linspace(-1.0, 1.0, {n}).reshape({s})"
        elif c == "eye":
            if len(s) != 2:
                return None
            const = f"np.eye({s[0]}, {s[1]})"
        elif c == "like":
            const = self.r.choice([f"np.ones_like({a.name})", f"np.zeros_like({a.name})"])
        else:
            const = self.closed_const(s)
        op = self.r.choice(["+", "*", "-"])
        # the constant on either side: a NumPy-ish value meeting a traced one
        expr = f"{const} {op} {a.name}" if self.r.random() < 0.5 else f"{a.name} {op} {const}"
        mag = a.mag * n if op == "*" else a.mag + n
        return self.emit(expr, s, "f", mag, "constant")

    def op_cond(self):
        a = self.pick("f")
        if a is None:
            return None
        p = self.pick("f", recent=False)
        pred = self.r.choice([f"np.sum({p.name}) > 0.1", f"np.mean({p.name}) < 0.05"])
        clos = self.closure_term(exclude=a)
        b1 = self.unary_expr("o") + f" + {clos}"
        b2 = self.unary_expr("o")
        if self.r.random() < 0.5:
            lines = [
                f"    def {n}(o):\n        return {e}"
                for n, e in ((f"t{self.counter}", b1), (f"f{self.counter}", b2))
            ]
            self.lines.extend(lines)
            call = f"lax.cond({pred}, t{self.counter}, f{self.counter}, {a.name})"
        else:
            call = f"lax.cond({pred}, lambda o: {b1}, lambda o: {b2}, {a.name})"
        return self.emit(call, a.shape, "f", a.mag + 3, "cond")

    def op_switch(self):
        a = self.pick("f")
        if a is None:
            return None
        i = self.pick("i", pred=lambda v: v.shape == ())
        if i is None or self.r.random() < 0.4:
            p = self.pick("f", recent=False)
            index = self.r.choice(
                [
                    f"np.sum({p.name} > 0)",
                    f"np.argmax({self.tb(p)})",
                    f"(np.sum({p.name}) > 0).astype(np.int32)",
                ]
            )
        else:
            index = i.name
        nb = self.r.randint(2, 4)
        branches = []
        for k in range(nb):
            e = self.unary_expr("o")
            if k == 1:
                e += f" + {self.closure_term(exclude=a)}"
            branches.append(f"lambda o: {e}")
        return self.emit(
            f"lax.switch({index}, [{', '.join(branches)}], {a.name})",
            a.shape,
            "f",
            a.mag + 3,
            "switch",
        )

    def op_fori(self):
        a = self.pick("f")
        if a is None:
            return None
        n = self.r.randint(1, 4)
        clos = self.closure_term(exclude=a)
        body = self.r.choice(
            [
                f"0.5 * c + 0.5 * {self.unary_expr('c', 1)} + i * 0.1",
                f"np.tanh(c * 0.9 + {clos})",
                "c * 0.8 - 0.1 * np.sin(c + i)",
            ]
        )
        lo = self.r.choice([0, 1])
        return self.emit(
            f"lax.fori_loop({lo}, {lo + n}, lambda i, c: {body}, {a.name})",
            a.shape,
            "f",
            a.mag + 3,
            "fori",
        )

    def op_scan(self):
        xs = self.pick("f", pred=lambda v: v.shape != ())
        if xs is None:
            return None
        xs = self.tame(xs, 2.0)
        row = xs.shape[1:]
        init_v = self.partner(row, "f", exclude=xs) if self.r.random() < 0.6 else None
        if init_v is not None and _bshape(init_v.shape, row) != row:
            init_v = None
        init = f"np.zeros({row})" if init_v is None else f"np.tanh({init_v.name})"
        clos = self.closure_term()
        name = f"step{self.counter}"
        self.lines.append(
            f"    def {name}(c, r):\n"
            f"        c2 = np.tanh(0.7 * c + r * {clos} + 0.3 * r)\n"
            f"        return c2, c * r"
        )
        rev = self.r.random() < 0.3
        v = self.fresh()
        ys = self.fresh()
        self.lines.append(
            f"    {v}, {ys} = lax.scan({name}, {init}, {xs.name}"
            + (", reverse=True)" if rev else ")")
        )
        self.vals.append(Val(v, row, "f", 1.0))
        self.vals.append(Val(ys, xs.shape, "f", xs.mag))
        self.used["scan"] += 1
        return self.vals[-1] if self.r.random() < 0.5 else self.vals[-2]

    def op_while(self):
        a = self.pick("f")
        if a is None:
            return None
        n = self.r.randint(1, 3)
        clos = self.closure_term(exclude=a)
        body = f"(s[0] + 1, np.tanh(s[1] * 0.8 + {clos}))"
        return self.emit(
            f"lax.while_loop(lambda s: s[0] < {n}, lambda s: {body}, (0, {a.name}))[1]",
            a.shape,
            "f",
            1.0,
            "while",
        )

    def op_nested(self):
        """A transform applied inside the program, closing over another traced value."""
        a = self.pick("f")
        if a is None:
            return None
        a = self.tame(a, 2.0)
        c = self.partner(a.shape, "f", exclude=a)
        cn = "1.0" if c is None or _bshape(c.shape, a.shape) != a.shape else f"np.tanh({c.name})"
        kind = self.r.choice(["grad", "vmap", "jit", "jvp"])
        if kind == "grad":
            e = self.unary_expr("u")
            return self.emit(
                f"T.grad(lambda u: np.sum({e} * {cn}))({a.name})", a.shape, "f", 4.0, "nested"
            )
        if kind == "vmap":
            if not a.shape:
                return None
            e = self.unary_expr("u") + f" + {self.closure_term(exclude=a)}"
            return self.emit(f"T.vmap(lambda u: {e})({a.name})", a.shape, "f", 4.0, "nested")
        if kind == "jit":
            e = self.unary_expr("u")
            return self.emit(
                f"T.jit(lambda u, w: {e} * w)({a.name}, {cn})", a.shape, "f", 3.0, "nested"
            )
        e = self.unary_expr("u")
        return self.emit(
            f"T.jvp(lambda u: {e} * {cn}, ({a.name},), (np.ones_like({a.name}),))[1]",
            a.shape,
            "f",
            4.0,
            "nested",
        )

    FAMILIES = [
        ("unary", 10),
        ("binary", 10),
        ("scalar", 4),
        ("int", 3),
        ("reduce", 6),
        ("shape", 7),
        ("index", 5),
        ("at", 5),
        ("contract", 5),
        ("cumulative", 3),
        ("sort", 3),
        ("constant", 3),
        ("cond", 2),
        ("switch", 2),
        ("fori", 2),
        ("scan", 2),
        ("while", 1),
        ("nested", 3),
    ]

    def generate(self):
        r = self.r
        n_in = r.choice([1, 2, 2])
        sx = self.rand_shape()
        shapes = [sx]
        if n_in == 2:
            c = r.random()
            if c < 0.3:
                shapes.append(sx)
            elif c < 0.6:
                shapes.append(
                    tuple(d if r.random() < 0.5 else 1 for d in sx[r.randint(0, len(sx)) :])
                )
            else:
                shapes.append(self.rand_shape())
        names = ["x", "y"][:n_in]
        for nm, s in zip(names, shapes):
            self.vals.append(Val(nm, s, "f", 1.5))
        n_ops = r.randint(3, 12)
        fams, weights = zip(*self.FAMILIES)
        done = 0
        tries = 0
        while done < n_ops and tries < 200:
            tries += 1
            fam = r.choices(fams, weights)[0]
            if self.vals and _size(self.vals[-1].shape) > self.MAX_SIZE:
                break
            v = getattr(self, "op_" + fam)()
            if v is None:
                continue
            if _size(v.shape) > self.MAX_SIZE or len(v.shape) > self.MAX_NDIM:
                # keep the program small: drop the oversized value (and its line)
                self.vals = [w for w in self.vals if w.name != v.name]
                self.lines = [ln for ln in self.lines if not ln.startswith(f"    {v.name} = ")]
                continue
            done += 1
        out = self.output()
        body = "\n".join(self.lines)
        src = "\n".join(self.globals + [f"def prog(np, lax, T, {', '.join(names)}):", body])
        src += f"\n    return {out.name}\n"
        return Program(self.seed, src, tuple(shapes), out.shape, dict(self.used))

    def output(self):
        """The result: the last value (as float), sometimes plus a reduction of another."""
        last = self.vals[-1]
        if last.kind == "i":
            last = self.emit(f"{last.name} * 0.5", last.shape, "f", last.mag)
        last = self.tame(last, 50.0)
        # values nothing reads (dead ends of the DAG) join the output, so all of it is live
        text = "\n".join(self.lines)
        unread = [
            v
            for v in self.vals[:-1]
            if v.kind == "f"
            and v.name not in ("x", "y")
            and len(re.findall(rf"\b{v.name}\b", text)) == 1
        ]
        for o in self.r.sample(unread, min(len(unread), self.r.randint(1, 3))):
            last = self.emit(
                f"{last.name} + 0.1 * np.tanh(np.sum({o.name}))", last.shape, "f", last.mag
            )
        if not re.search(r"\bx\b", "\n".join(self.lines)):
            last = self.emit(f"{last.name} + 0.0 * np.sum(x)", last.shape, "f", last.mag)
        return last


@dataclasses.dataclass
class Program:
    seed: int
    source: str
    in_shapes: tuple
    out_shape: tuple
    families: dict

    def compile(self, fdt):
        """The ``prog`` function, exec'd from the source with the float dtype ``fdt``."""
        ns = {"onp": onp, "FDT": fdt}
        exec(compile(self.source, f"<fuzz program {self.seed}>", "exec"), ns)
        return ns["prog"]

    def repro_source(self, fdt_name="float32"):
        return f"import numpy as onp\nFDT = onp.{fdt_name}\n{self.source}"


def generate(seed):
    return Gen(seed).generate()


# ---------------------------------------------------------------------------
# the runner


class Failure(Exception):
    pass


def _libs():
    import jax
    import jax.numpy as jnp
    from jax import lax as jlax

    import minigrad_jax as mg
    import minigrad_jax.numpy as mnp
    from minigrad_jax import lax as mlax

    return {"mg": (mnp, mlax, mg), "jax": (jnp, jlax, jax)}


_BUILTIN_ERRORS = (
    TypeError,
    ValueError,
    IndexError,
    KeyError,
    NotImplementedError,
    AttributeError,
    ZeroDivisionError,
    ArithmeticError,
    RuntimeError,
    AssertionError,
)


def compatible_errors(e_mg, e_jax):
    """Both raised: do the errors belong to the same family (same class name, or a common
    builtin base such as TypeError/ValueError)?"""
    if type(e_mg).__name__ == type(e_jax).__name__:
        return True
    return any(isinstance(e_mg, b) and isinstance(e_jax, b) for b in _BUILTIN_ERRORS)


def _leaves(tree):
    import jax

    return jax.tree_util.tree_leaves(tree)


def compare(got, want, rtol):
    g_l, w_l = _leaves(got), _leaves(want)
    if len(g_l) != len(w_l):
        raise Failure(f"{len(g_l)} outputs, JAX has {len(w_l)}")
    for k, (g, w) in enumerate(zip(g_l, w_l)):
        g, w = onp.asarray(g), onp.asarray(w)
        if g.shape != w.shape or g.dtype != w.dtype:
            raise Failure(f"output {k}: {g.dtype}{list(g.shape)} vs JAX's {w.dtype}{list(w.shape)}")
        if not onp.issubdtype(w.dtype, onp.inexact):
            if not onp.array_equal(g, w):
                raise Failure(f"output {k}: ours {g!r}\n JAX's {w!r}")
            continue
        fin = w[onp.isfinite(w)]
        scale = max(1.0, float(onp.max(onp.abs(fin)))) if fin.size else 1.0
        if not onp.allclose(g, w, rtol=rtol, atol=rtol * scale, equal_nan=True):
            err = onp.max(onp.abs(g.astype(onp.float64) - w))
            raise Failure(
                f"output {k}: max abs error {err:.3g} (scale {scale:.3g})\n"
                f" ours  {g!r}\n JAX's {w!r}"
            )


def _build(prog, lib, transform, in_axes, w, wb, outer_jit=False):
    fn = _build_eager(prog, lib, transform, in_axes, w, wb)
    # JAX, the reference, always runs as one jitted program: its eager transforms
    # would compile each operation, which is most of a check's time.
    reference = lib[2].__name__ == "jax"
    if (outer_jit or reference) and transform not in ("jit", "jit_grad"):
        return lib[2].jit(fn)
    return fn


def _build_eager(prog, lib, transform, in_axes, w, wb):
    np_, lax_, T = lib

    def f(*xs):
        return prog(np_, lax_, T, *xs)

    def loss(*xs):
        return np_.sum(f(*xs) * w)

    n = len(in_axes)
    argnums = tuple(range(n))
    if transform == "value":
        return f
    if transform == "grad":
        return T.grad(loss, argnums=argnums)
    if transform == "jvp":
        return lambda xs, ts: T.jvp(f, xs, ts)
    if transform == "vmap":
        return T.vmap(f, in_axes=in_axes)
    if transform == "jit":
        return T.jit(f)
    if transform == "jit_grad":
        return T.jit(T.grad(loss, argnums=argnums))
    if transform == "hessian":
        return T.hessian(loss, argnums=argnums)
    if transform == "grad_vmap":
        return T.grad(lambda *xs: np_.sum(T.vmap(f, in_axes=in_axes)(*xs) * wb), argnums=argnums)
    raise ValueError(transform)


def _batched(rng, x, ax, fdt):
    if ax is None:
        return x
    s = list(x.shape)
    s.insert(ax % (len(s) + 1), BATCH)
    return rng.uniform(-1.5, 1.5, s).astype(fdt)


def check(program, x64=False, transforms=TRANSFORMS, rtol=None, outer_jit=False):
    """Run ``program`` under each transform in both libraries.

    ``outer_jit`` wraps every transform of ours in jit too (JAX's always is: one
    compile instead of one per eager op); faster, but our eager paths go untested.
    Returns ``(failures, stats)``; ``failures`` is a list of ``(transform, message)``,
    ``stats`` counts "both_error" and "nonfinite" outcomes per transform."""
    fdt = onp.float64 if x64 else onp.float32
    rtol = (1e-8 if x64 else 2e-3) if rtol is None else rtol
    rng = onp.random.RandomState(program.seed % (2**32))
    xs = [rng.uniform(-1.5, 1.5, s).astype(fdt) for s in program.in_shapes]
    ts = [rng.standard_normal(s).astype(fdt) for s in program.in_shapes]
    w = rng.standard_normal(program.out_shape).astype(fdt)
    in_axes = []
    for x in xs:
        opts = [0, None] + ([-1, x.ndim] if x.ndim else [])
        in_axes.append(rng.choice(len(opts)))
        in_axes[-1] = opts[in_axes[-1]]
    if all(a is None for a in in_axes):
        in_axes[0] = 0
    in_axes = tuple(in_axes)
    xbs = [_batched(rng, x, a, fdt) for x, a in zip(xs, in_axes)]
    wb = rng.standard_normal((BATCH, *program.out_shape)).astype(fdt)
    prog = program.compile(fdt)
    libs = _libs()
    failures, stats = [], Counter()
    for t in transforms:
        if t == "jvp":
            args = (tuple(xs), tuple(ts))
        elif t in ("vmap", "grad_vmap"):
            args = tuple(xbs)
        else:
            args = tuple(xs)
        res = {}
        for name, lib in libs.items():
            try:
                res[name] = (True, _build(prog, lib, t, in_axes, w, wb, outer_jit)(*args))
            except Exception as e:  # noqa: BLE001 - any error is compared with JAX's
                res[name] = (False, e)
        (ok_m, r_m), (ok_j, r_j) = res["mg"], res["jax"]
        if ok_m and ok_j:
            if any(not onp.all(onp.isfinite(onp.asarray(v))) for v in _leaves(r_j)):
                stats[f"nonfinite:{t}"] += 1
            try:
                compare(r_m, r_j, rtol)
            except Failure as e:
                failures.append((t, str(e)))
        elif ok_j:
            tb = "".join(traceback.format_exception(r_m)[-6:])
            failures.append((t, f"only minigrad_jax raised: {type(r_m).__name__}: {r_m}\n{tb}"))
        elif ok_m:
            failures.append((t, f"only JAX raised: {type(r_j).__name__}: {r_j}"))
        else:
            stats[f"both_error:{t}"] += 1
            if not compatible_errors(r_m, r_j):
                failures.append(
                    (
                        t,
                        f"different errors: ours {type(r_m).__name__}: {r_m}\n"
                        f" JAX's {type(r_j).__name__}: {r_j}",
                    )
                )
    in_desc = ", ".join(f"{n}: {s}" for n, s in zip("xy", program.in_shapes))
    stats["in_axes"] = str(in_axes)
    stats["inputs"] = in_desc
    return failures, stats


def describe_failure(program, failures, stats, x64=False):
    out = [
        f"=== seed {program.seed} ({'float64' if x64 else 'float32'}); inputs {stats['inputs']}, "
        f"vmap in_axes {stats['in_axes']}",
        program.repro_source("float64" if x64 else "float32"),
    ]
    for t, msg in failures:
        out.append(f"--- {t}: {msg}")
    return "\n".join(out)


def pick_transforms(seed, transforms, sample):
    """The transforms one program runs: all, or ``sample`` of them chosen by its seed."""
    if not sample or sample >= len(transforms):
        return tuple(transforms)
    return tuple(random.Random(seed * 7919 + 1).sample(list(transforms), sample))


def check_seed(seed, x64=False, transforms=TRANSFORMS, sample=0, outer_jit=False):
    """Generate the program of ``seed`` and check it. The caller sets jax_enable_x64."""
    p = generate(seed)
    ts = pick_transforms(seed, transforms, sample)
    try:
        failures, stats = check(p, x64=x64, transforms=ts, outer_jit=outer_jit)
    except Exception as e:  # noqa: BLE001 - a bug of the generator or runner itself
        tb = "".join(traceback.format_exception(e)[-4:])
        failures, stats = [("generator", f"{type(e).__name__}: {e}\n{tb}")], {}
        stats = {"inputs": str(p.in_shapes), "in_axes": "?"}
    return p, failures, dict(stats), ts


_WORKER_X64 = None


def _worker_init(x64):
    global _WORKER_X64
    import jax

    jax.config.update("jax_enable_x64", bool(x64))
    _WORKER_X64 = x64


def _worker(job):
    seed, transforms, sample, outer_jit = job
    import jax

    res = check_seed(seed, _WORKER_X64, transforms, sample, outer_jit)
    if seed % 100 == 99:
        jax.clear_caches()
    return res


def run(
    seeds,
    x64=False,
    transforms=TRANSFORMS,
    sample=0,
    outer_jit=False,
    jobs=1,
    verbose=False,
    out=sys.stdout,
    clear_every=100,
):
    """Generate and check each seed (in ``jobs`` processes); print failures and a summary.
    Returns the list of failing ``(program, failures, stats)``."""
    import contextlib

    import jax

    @contextlib.contextmanager
    def maybe_x64():
        prev = jax.config.jax_enable_x64
        jax.config.update("jax_enable_x64", bool(x64))
        try:
            yield
        finally:
            jax.config.update("jax_enable_x64", prev)

    def results():
        if jobs > 1:
            import multiprocessing as mp

            ctx = mp.get_context("spawn")
            with ctx.Pool(jobs, initializer=_worker_init, initargs=(x64,)) as pool:
                work = [(s, tuple(transforms), sample, outer_jit) for s in seeds]
                yield from pool.imap_unordered(_worker, work, chunksize=4)
            return
        with maybe_x64():
            for k, seed in enumerate(seeds):
                yield check_seed(seed, x64, transforms, sample, outer_jit)
                if clear_every and (k + 1) % clear_every == 0:
                    jax.clear_caches()  # bounded memory over long runs

    bad = []
    totals = Counter()
    fams = Counter()
    t0 = time.time()
    n = 0
    for p, failures, stats, ts in results():
        fams.update(p.families)
        n += 1
        totals.update(f"ran:{t}" for t in ts)
        for key, v in stats.items():
            if isinstance(v, int):
                totals[key] += v
        if failures:
            bad.append((p, failures, stats))
            for t, _ in failures:
                totals[f"fail:{t}"] += 1
            print(describe_failure(p, failures, stats, x64), file=out, flush=True)
        elif verbose:
            print(f"seed {p.seed}: ok\n{p.source}", file=out, flush=True)
    dt = time.time() - t0
    mode = "jit-wrapped" if outer_jit else "eager"
    print(
        f"\n{n} programs in {dt:.1f}s ({n / max(dt, 1e-9):.3f} programs/s, {jobs} process(es)), "
        f"{'float64' if x64 else 'float32'}, {mode}, transforms {','.join(transforms)}"
        + (f" ({sample} per program)" if sample else ""),
        file=out,
    )
    print(f"failing programs: {len(bad)}", file=out)
    for key in sorted(totals):
        print(f"  {key}: {totals[key]}", file=out)
    print(
        "op families generated: " + ", ".join(f"{f}={c}" for f, c in sorted(fams.items())),
        file=out,
    )
    if bad:
        print("failing seeds: " + " ".join(str(p.seed) for p, _, _ in bad), file=out)
    return bad


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100, help="number of programs")
    ap.add_argument("--seed", type=int, default=0, help="first seed (programs use seed..seed+n-1)")
    ap.add_argument("--x64", action="store_true", help="float64 (jax_enable_x64)")
    ap.add_argument(
        "--transforms", default=",".join(TRANSFORMS), help=f"comma list from {','.join(TRANSFORMS)}"
    )
    ap.add_argument(
        "--sample", type=int, default=0, help="run only this many transforms per program"
    )
    ap.add_argument("--jit", action="store_true", help="wrap every transform in jit (faster)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every program")
    ap.add_argument("--show", action="store_true", help="print the programs, run nothing")
    a = ap.parse_args(argv)
    seeds = range(a.seed, a.seed + a.n)
    if a.show:
        for s in seeds:
            print(f"# seed {s}\n{generate(s).source}")
        return 0
    transforms = tuple(t for t in a.transforms.split(",") if t)
    bad = run(
        seeds,
        x64=a.x64,
        transforms=transforms,
        sample=a.sample,
        outer_jit=a.jit,
        jobs=a.jobs,
        verbose=a.verbose,
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
