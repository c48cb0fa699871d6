"""mg.jit: our jaxpr compiled by XLA through jax.jit, and the jit primitive.

At the top level ``mg.jit(f)(*args)`` is one call of a ``jax.jit``-ed
function whose body traces ``f`` to *our* jaxpr and replays it with the
jax.lax lowering rules. JAX's C++ dispatch path therefore caches and runs
the executable: a steady-state call costs what a ``jax.jit`` call costs, and
our tracer runs exactly when JAX retraces (new shapes, dtypes, static values
or structure). Inside another transform, jit is the primitive ``jit`` that
carries its jaxpr, with jvp, partial-eval, transpose and batching rules, so
``grad(jit(f))`` and ``jit(grad(f))`` both work and the boundary shows.

As in JAX, the caches belong to the function, not to the wrapper: every
``mg.jit(f, **options)`` of one ``f`` with the same options shares one
``_JitState`` (the ``jax.jit`` object, our traced jaxprs, the trace count),
so ``mg.jit(f)(x)`` written inline in a loop traces and compiles once. The
states live in a dictionary keyed weakly on ``f``: dropping ``f`` frees them.
"""

from __future__ import annotations

import collections
import functools
import inspect
import logging
import types
import weakref

import jax
from jax import tree_util

from minigrad_jax._src import (
    core,
    leak_checker,  # noqa: F401  (installs check_tracer_leaks)
)
from minigrad_jax._src.api import _bind_static
from minigrad_jax._src.api_util import (
    avals_of,
    check_hashable,
    flatten_call,
    fun_signature,
    infer_argnums_and_argnames,
    resolve_argnums,
    wraps,
)
from minigrad_jax._src.config import config
from minigrad_jax._src.interpreters import debug_nans, lowering
from minigrad_jax._src.interpreters import partial_eval as pe
from minigrad_jax._src.pjit import bind_jit
from minigrad_jax._src.traceback_util import api_boundary

logger = logging.getLogger("minigrad_jax")

# fun -> {options: _JitState}. Weak on fun; a state reaches its function only
# through weak references, or the entry would keep its own key alive forever.
_STATES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MAX_TRACES = 4096  # traced jaxprs kept per state (they hold static args alive)
_MAX_SEEN = 64  # signatures kept for the retrace reason


# ---------------------------------------------------------------------------
# retrace reasons (log_compiles) and cache-miss explanations (explain_cache_misses)
#
# A signature (the cache key) is (in_tree, avals, static_key, context): the
# treedef of the traced arguments ``((positional...), {keyword...})``, the
# avals of its leaves, ``(position or name, type, value)`` per static argument
# and the options tracing reads. Everything here runs only when our tracer
# runs, never on a cache hit (that is jax.jit's C++ dispatch).

# The options a trace reads, as _trace_context() returns them.
_CONTEXT = (
    ("jax_enable_x64", "JAX config"),
    ("jax_numpy_dtype_promotion", "JAX config"),
    ("jax_numpy_rank_promotion", "JAX config"),
    ("debug_nans", "mg.config"),  # a jaxpr traced with these records NaN provenance
    ("debug_infs", "mg.config"),
    ("in scope", "named axes"),  # vmap(axis_name=) / shard_map: collectives read their sizes
)
_MAX_ITEMS = 8  # differences listed per explanation

_WEAK_HINT = (
    "a weakly typed value is a Python scalar (or computed from one only) and takes the "
    "dtype of what it meets; pass the same kind every call (e.g. always a typed array)"
)
_KEYWORD_HINT = (
    "an argument passed by keyword and the same one passed by position are different "
    "signatures, as in jax.jit; pass each argument the same way every call"
)


def _trace_context():
    """The options our tracer reads: a jaxpr traced under other values is another jaxpr."""
    c = jax.config
    return (
        c.jax_enable_x64,
        c.jax_numpy_dtype_promotion,
        c.jax_numpy_rank_promotion,
        config.debug_nans,
        config.debug_infs,
        core._state.axis_env,
        jax.sharding.get_abstract_mesh(),  # jax.set_mesh: a shard_map's mesh, P(...) specs
    )


class _Slot:
    """One argument of a call as a signature sees it: traced (a subtree of leaves) or static."""

    __slots__ = ("name", "keyword", "static", "tree", "offset", "value")

    def __init__(self, name, keyword, static, tree=None, offset=0, value=None):
        self.name, self.keyword, self.static = name, keyword, static
        self.tree, self.offset, self.value = tree, offset, value

    @property
    def key(self):
        return (self.name, self.keyword)

    def shown(self):
        return f"{self.name}=" if self.keyword else self.name


def _slots(sig, signature):
    """The arguments of signature ``sig``, named as the function's parameters where known."""
    in_tree, _, static_key, _ = sig
    args_tree, kw_tree = in_tree.children()
    static_pos = {k: (t, v) for k, t, v in static_key if type(k) is int}
    static_kw = {k: (t, v) for k, t, v in static_key if type(k) is not int}
    dyn_pos = args_tree.children()
    kw_names = kw_tree.node_data()[1] if kw_tree.node_data() is not None else []
    kw_trees = dict(zip(kw_names, kw_tree.children()))
    out, offset, dyn = [], 0, iter(dyn_pos)
    for i in range(len(dyn_pos) + len(static_pos)):
        name = _positional_name(signature, i)
        if i in static_pos:
            out.append(_Slot(name, False, True, value=static_pos[i]))
        else:
            tree = next(dyn)
            out.append(_Slot(name, False, False, tree, offset))
            offset += tree.num_leaves
    for k in sorted([*kw_trees, *static_kw]):
        name = _keyword_name(signature, k)
        if k in static_kw:
            out.append(_Slot(name, True, True, value=static_kw[k]))
        else:
            out.append(_Slot(name, True, False, kw_trees[k], offset))
            offset += kw_trees[k].num_leaves
    return out


def _positional_name(signature, i):
    if signature is not None:
        params = list(signature.parameters.values())
        positional = [p for p in params if p.kind in (_POSITIONAL_ONLY, _POSITIONAL_OR_KEYWORD)]
        if i < len(positional):
            return positional[i].name
        star = [p for p in params if p.kind is _VAR_POSITIONAL]
        if star:
            return f"{star[0].name}[{i - len(positional)}]"
    return f"args[{i}]"


def _keyword_name(signature, k):
    if signature is not None:
        params = signature.parameters
        if k in params and params[k].kind in (_POSITIONAL_OR_KEYWORD, _KEYWORD_ONLY):
            return k
        star = [p for p in params.values() if p.kind is _VAR_KEYWORD]
        if star:
            return f"{star[0].name}[{k!r}]"
    return f"kwargs[{k!r}]"


_POSITIONAL_ONLY = inspect.Parameter.POSITIONAL_ONLY
_POSITIONAL_OR_KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD
_VAR_POSITIONAL = inspect.Parameter.VAR_POSITIONAL
_KEYWORD_ONLY = inspect.Parameter.KEYWORD_ONLY
_VAR_KEYWORD = inspect.Parameter.VAR_KEYWORD


def _differences(sig, old, signature, leaf_paths):
    """What differs between signature ``sig`` (now) and ``old``: a list of ``_Diff``."""
    items = []
    now, was = _slots(sig, signature), _slots(old, signature)
    if [s.key for s in now] != [s.key for s in was]:
        items += _argument_changes(now, was)
    before = {s.key: s for s in was}
    for s in now:
        b = before.get(s.key)
        if b is None:
            continue
        if s.static != b.static:
            items.append(_Diff(f"{s.name}: {_kind(s)} now (was {_kind(b)})"))
        elif s.static:
            if not _same_static(s.value, b.value):
                items.append(_Diff(f"{s.name}: static value {_static_text(s.value, b.value)}"))
        elif s.tree != b.tree:
            items.append(_tree_change(s.name, s.tree, b.tree))
        else:
            for j in range(s.tree.num_leaves):
                a, c = sig[1][s.offset + j], old[1][b.offset + j]
                if a != c:
                    items.append(_aval_change(s.name + leaf_paths[s.offset + j], a, c))
    for (name, where), a, b in zip(_CONTEXT, sig[3], old[3]):
        if a != b:
            items.append(_Diff(f"{where} {name}: {a!r} (was {b!r})"))
    return items


def _argument_changes(now, was):
    """Other arguments: the keywords given or left out, or (positions changed) both lists."""
    pos_now = [s.key for s in now if not s.keyword]
    pos_was = [s.key for s in was if not s.keyword]
    kw_now = {s.name: s for s in now if s.keyword}
    kw_was = {s.name: s for s in was if s.keyword}
    if pos_now == pos_was and not (set(kw_now) | set(kw_was)) & {n for n, _ in pos_now}:
        # other arguments are further apart than other values of the same arguments
        items = [
            _Diff(f"{k}: passed now, as {_slot_value(kw_now[k])} (was not passed)", None, 2.0)
            for k in kw_now
            if k not in kw_was
        ]
        items += [
            _Diff(f"{k}: not passed now (was passed, as {_slot_value(kw_was[k])})", None, 2.0)
            for k in kw_was
            if k not in kw_now
        ]
        return items
    shown = lambda slots: "(" + ", ".join(s.shown() for s in slots) + ")"  # noqa: E731
    same_names = sorted(s.name for s in now) == sorted(s.name for s in was)
    text = f"the arguments: {shown(now)} (was {shown(was)})"
    return [_Diff(text, _KEYWORD_HINT if same_names else None, 2.0)]


def _slot_value(slot):
    if slot.static:
        return f"static value {_short_repr(slot.value[1])}"
    if slot.tree.num_leaves == 1 and slot.tree.node_data() is None:
        return "a traced array"
    return f"a traced pytree {_tree_text(slot.tree)}"


class _Diff(collections.namedtuple("_Diff", "text hint cost", defaults=(None, 1.0))):
    """One difference between two signatures: its line, a hint, and how far apart it puts
    them (to find the closest earlier signature)."""


def _kind(slot):
    return "static" if slot.static else "traced"


def _same_static(a, b):
    try:
        return a[0] is b[0] and bool(a[1] == b[1])
    except Exception:  # a static value whose == does not give a bool
        return a[0] is b[0] and a[1] is b[1]


def _static_text(now, was):
    if now[0] is was[0]:
        return f"{_short_repr(now[1])} (was {_short_repr(was[1])})"
    # 1, 1.0 and True are equal but trace differently: say the types
    return (
        f"{_short_repr(now[1])} of type {now[0].__name__} "
        f"(was {_short_repr(was[1])} of type {was[0].__name__})"
    )


def _short_repr(x, limit=80):
    r = repr(x)
    return r if len(r) <= limit else r[: limit - 3] + "..."


def _aval_text(aval):
    return aval.str_short() + ("{weak_type=True}" if aval.weak_type else "")


def _aval_change(name, a, b):
    kinds = [
        k
        for k, differs in (
            ("shape", a.shape != b.shape),
            ("dtype", a.dtype != b.dtype),
            ("weak type", a.weak_type != b.weak_type),
        )
        if differs
    ]
    hint = _WEAK_HINT if a.weak_type != b.weak_type else None
    text = f"{name}: {' and '.join(kinds)} {_aval_text(a)} (was {_aval_text(b)})"
    return _Diff(text, hint, 1.0 + (len(kinds) - 1) / 4)


def _tree_change(name, now, was):
    """``name``'s structure changed: both structures, and the node where they first part.
    Trees that agree further down are closer (a dict that gained a key deep inside is
    closer than another dict altogether)."""
    path, depth, a, b = _where_trees_part(now, was, "", 0)
    text = f"{name}: pytree structure {_tree_text(now)} (was {_tree_text(was)})"
    keys = _dict_keys_change(a, b)
    if keys:
        text += f"; at {name}{path}, {keys}"
    elif path:
        text += f"; they part at {name}{path}: {_node_text(a)} (was {_node_text(b)})"
    return _Diff(text, None, 1.0 + 1.0 / (2 + depth))


def _dict_keys_change(now, was):
    """ "key 's' added" (and/or removed) where two dicts part, else None."""
    na, nb = now.node_data(), was.node_data()
    if na is None or nb is None or na[0] is not dict or nb[0] is not dict:
        return None
    added = [k for k in na[1] if k not in nb[1]]
    removed = [k for k in nb[1] if k not in na[1]]
    said = lambda ks, what: f"key{'s' * (len(ks) > 1)} {', '.join(map(repr, ks))} {what}"  # noqa: E731
    parts = ([said(added, "added")] if added else []) + (
        [said(removed, "removed")] if removed else []
    )
    return " and ".join(parts) or None


def _tree_text(tree, limit=120):
    text = str(tree)
    text = text[len("PyTreeDef(") : -1] if text.startswith("PyTreeDef(") else text
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _where_trees_part(now, was, path, depth):
    na, nb = now.node_data(), was.node_data()
    same_node = (
        na is not None
        and nb is not None
        and na[0] is nb[0]
        and _same_aux(na[1], nb[1])
        and len(now.children()) == len(was.children())
    )
    if not same_node:
        return path, depth, now, was
    pairs = list(zip(now.children(), was.children()))
    differ = [i for i, (a, b) in enumerate(pairs) if a != b]
    if len(differ) != 1:
        return path, depth, now, was
    i = differ[0]
    return _where_trees_part(*pairs[i], path + _child_key(na, i), depth + 1)


def _same_aux(a, b):
    try:
        return bool(a == b)
    except Exception:
        return a is b


def _child_key(node_data, i):
    typ, aux = node_data
    if typ is dict:
        return f"[{aux[i]!r}]"
    fields = getattr(typ, "_fields", None)  # a namedtuple
    if fields is not None:
        return f".{fields[i]}"
    return f"[{i}]"


def _node_text(tree):
    data = tree.node_data()
    if data is None:
        return "an array (a leaf)"
    typ, aux = data
    n = len(tree.children())
    if typ is type(None):
        return "None"
    if typ is dict:
        return f"a dict with keys {tuple(aux)!r}"
    if typ in (tuple, list):
        return f"a {typ.__name__} of length {n}"
    return f"a {typ.__name__} with {n} children"


def _leaf_paths(args, kwargs, statics, static_names):
    """The path of each traced leaf of a call inside its argument (``['w']``, ``[0]``)."""
    dyn = {i: a for i, a in enumerate(args) if i not in statics}
    kw = {k: v for k, v in kwargs.items() if k not in static_names}
    return [tree_util.keystr(p[2:]) for p, _ in tree_util.tree_flatten_with_path((dyn, kw))[0]]


def _closest(seen, sig, signature, leaf_paths):
    """(index in ``seen``, differences) of the earlier signature closest to ``sig``; the
    latest among equally close ones."""
    best = None
    for k in range(len(seen) - 1, -1, -1):
        items = _differences(sig, seen[k], signature, leaf_paths)
        cost = sum(d.cost for d in items)
        if best is None or cost < best[0]:
            best = (cost, k, items)
    return best[1:]


def _retrace_reason(seen, sig, signature=None, leaf_paths=None, cache_full=False):
    """Why ``sig`` traces again: "first call", or what differs from the closest earlier
    signature (one line, for log_compiles)."""
    return _miss_summary(seen, sig, signature, leaf_paths, cache_full)[0]


def _miss_summary(seen, sig, signature, leaf_paths, cache_full):
    """(one-line reason, [(difference, hint)]) for a trace of signature ``sig``."""
    if not seen:
        return "first call", []
    if sig in seen:
        why = (
            "the jaxprs cache was full and dropped it"
            if cache_full
            else "its jaxpr closed over a traced value of an enclosing transform, so it "
            "was not kept (each such call traces again)"
        )
        return f"the same signature was traced before, but {why}", []
    if leaf_paths is None:
        leaf_paths = [f"[leaf {i}]" for i in range(len(sig[1]))]
    _, items = _closest(seen, sig, signature, leaf_paths)
    if not items:  # cannot happen for a new signature; say so rather than nothing
        return "a new signature", []
    return "new " + "; ".join(d.text for d in items), items


def _explanation(state, sig, seen, call_site, fun, signature, leaf_paths):
    """The explain_cache_misses message for a trace of ``sig`` by ``state``."""
    where = "an unknown line" if call_site is None else _site_text(call_site)
    defined = _defined_at(fun)
    lines = [
        f"TRACING CACHE MISS at {where}:",
        f"  for jit({state.name})"
        + (f" defined at {defined}" if defined else "")
        + f" (trace #{state.trace_count})",
    ]
    reason, items = _miss_summary(
        seen, sig, signature, leaf_paths, len(state.traces) >= _MAX_TRACES
    )
    if not items:
        lines.append("  never traced before" if reason == "first call" else f"  {reason}")
        return "\n".join(lines)
    n = len(seen)
    earlier = (
        "the signature traced before"
        if n == 1
        else f"the closest of the {n} signatures traced before"
    )
    lines.append(f"  differs from {earlier} in:")
    lines += [f"  * {d.text}" for d in items[:_MAX_ITEMS]]
    if len(items) > _MAX_ITEMS:
        lines.append(f"  * ... and {len(items) - _MAX_ITEMS} more")
    hints = dict.fromkeys(d.hint for d in items[:_MAX_ITEMS] if d.hint)
    lines += [f"  note: {h}" for h in hints]
    return "\n".join(lines)


def _site_text(src):
    return f"{src.file}:{src.line} ({src.function})"


def _defined_at(fun):
    while isinstance(fun, functools.partial):
        fun = fun.func
    fun = inspect.unwrap(fun)  # a decorated function: where it was written
    code = getattr(fun, "__code__", None)
    if code is None:  # a callable object: its class's __call__
        code = getattr(vars(type(fun)).get("__call__"), "__code__", None)
    return None if code is None else f"{code.co_filename}:{code.co_firstlineno}"


def _holds_tracers(closed):
    # A const that is a tracer (ours, or JAX's inside a jax.jit trace) belongs to one
    # trace; a jaxpr holding one must not be reused.
    return any(isinstance(c, (core.Tracer, jax.core.Tracer)) for c in closed.consts)


# ---------------------------------------------------------------------------
# what every wrapper of one function with one set of options shares


def _fun_name(fun):
    """The name jax.jit gives ``fun``: a partial's function's, else ``__name__``."""
    while isinstance(fun, functools.partial):
        fun = fun.func
    return getattr(fun, "__name__", "<unnamed function>")


def _strong_ref(obj):
    return lambda: obj


class _JitState:
    """The jax.jit object, our traced jaxprs and the trace log of one (function, options)."""

    __slots__ = (
        "_refs",
        "name",
        "static_argnums",
        "static_argnames",
        "donate_argnums",
        "donate_argnames",
        "jitted",
        "trace_count",
        "seen",
        "traces",
        "last_jaxpr",
        "signature",
        "__weakref__",
    )

    def __init__(self, fun, options, weak):
        static_nums, static_names, donate_nums, donate_names, in_sh, out_sh, dev, backend = options
        sig = self.signature = fun_signature(fun)  # once per state, not per wrapper or call
        self.static_argnums, self.static_argnames = infer_argnums_and_argnames(
            sig, static_nums, static_names
        )
        self.donate_argnums, self.donate_argnames = infer_argnums_and_argnames(
            sig, donate_nums, donate_names
        )
        self._refs = [weakref.ref(fun) if weak else _strong_ref(fun)]
        self.name = _fun_name(fun)
        self.trace_count = 0
        self.seen = []
        self.traces = {}
        self.last_jaxpr = None
        body = _make_body(self, self.name, getattr(fun, "__qualname__", self.name), sig)
        self.jitted = jax.jit(
            body,
            # both given, so JAX uses ours as they are (and checks them against sig)
            static_argnums=self.static_argnums,
            static_argnames=self.static_argnames,
            donate_argnums=donate_nums,
            donate_argnames=donate_names,
            **_sharding_kwargs(in_sh, out_sh, dev, backend),
        )

    # -- the function, held weakly ---------------------------------------------

    def adopt(self, fun):
        """Share with ``fun``, equal to (but maybe not) the function this state was made for.

        Equal callables share a state, as in JAX; each is remembered weakly so a
        retrace still finds a live one after the first is gone.
        """
        if self._refs[0]() is fun:
            return
        self._refs = [r for r in self._refs if r() is not None]
        if not any(r() is fun for r in self._refs):
            self._refs.append(weakref.ref(fun))

    def live_fun(self):
        for r in self._refs:
            fun = r()
            if fun is not None:
                return fun
        raise RuntimeError(f"jit({self.name}): the jitted function no longer exists")

    # -- static arguments --------------------------------------------------------

    def check_statics(self, args, kwargs):
        nargs = len(args)
        for i in self.static_argnums:
            if -nargs <= i < nargs:
                check_hashable(args[i], f"at position {i % nargs} (static_argnums)")
        for k in self.static_argnames:
            if k in kwargs:
                check_hashable(kwargs[k], f"{k!r} (static_argnames)")

    def split(self, fun, args, kwargs):
        """(flat function of the dynamic leaves, the leaves, the cache key)."""
        statics = resolve_argnums(self.static_argnums, len(args))
        static_kw = {k: kwargs[k] for k in self.static_argnames if k in kwargs}
        f, dyn = _bind_static(fun, args, statics)
        if static_kw:
            f = functools.partial(f, **static_kw)
            kwargs = {k: v for k, v in kwargs.items() if k not in static_kw}
        flat_fun, flat = flatten_call(f, dyn, kwargs)
        # the type too: 1, 1.0 and True are equal but trace differently (as in JAX)
        static_key = tuple((i, type(args[i]), args[i]) for i in statics) + tuple(
            (k, type(v), v) for k, v in sorted(static_kw.items())
        )
        key = (
            flat_fun.in_tree,
            self._avals(flat, args, statics, kwargs),
            static_key,
            _trace_context(),
        )
        return flat_fun, flat, key

    def _avals(self, flat, args, statics, kwargs):
        try:
            return avals_of(flat)
        except TypeError:  # say which argument, and that it may be made static (as JAX)
            dyn = {i: a for i, a in enumerate(args) if i not in statics}  # by call position
            for path, leaf in tree_util.tree_flatten_with_path((dyn, kwargs))[0]:
                try:
                    core.get_aval(leaf)
                except TypeError:
                    raise TypeError(
                        f"Error interpreting argument to jit({self.name}) as an abstract array: "
                        f"the value of type {type(leaf).__name__} at {_arg_path(path)} is not "
                        "an array. Mark it static with static_argnums or static_argnames if it "
                        "is a Python value."
                    ) from None
            raise

    # -- our jaxprs, one per signature -------------------------------------------

    def jaxpr(self, fun, args, kwargs):
        """(ClosedJaxpr, out_tree, flat dynamic args); one ClosedJaxpr per signature, so
        the jit primitive's rules, memoized on it, are computed once."""
        flat_fun, flat, key = self.split(fun, args, kwargs)
        hit = self.traces.get(key)
        if hit is None:
            self._log(key, fun, args, kwargs)
            closed = pe.trace_to_jaxpr(flat_fun, key[1], f"jit({self.name})")
            hit = (closed, flat_fun.out_tree)
            if not _holds_tracers(closed):
                self._remember(key, hit)
        return hit[0], hit[1], flat

    def _remember(self, key, hit):
        if len(self.traces) >= _MAX_TRACES:
            del self.traces[next(iter(self.traces))]  # the oldest
        self.traces[key] = hit

    def _log(self, sig, fun, args, kwargs):
        """Count a trace of signature ``sig``; log why (log_compiles, explain_cache_misses)."""
        seen = list(self.seen)
        self.seen.append(sig)
        del self.seen[:-_MAX_SEEN]
        self.trace_count += 1
        if not (config.log_compiles or config.explain_cache_misses):
            return
        statics = resolve_argnums(self.static_argnums, len(args))
        paths = _leaf_paths(args, kwargs, statics, self.static_argnames)
        full = len(self.traces) >= _MAX_TRACES
        if config.log_compiles:
            reason = _retrace_reason(seen, sig, self.signature, paths, full)
            logger.warning("Compiling %s (trace #%d): %s", self.name, self.trace_count, reason)
        if config.explain_cache_misses:
            site = core.user_frame_info()  # the line that called the jitted function
            logger.warning("%s", _explanation(self, sig, seen, site, fun, self.signature, paths))

    def run_in_jax_trace(self, args, kwargs):
        """The body jax.jit traces: our jaxpr replayed with jax.lax on JAX's tracers."""
        closed, out_tree, flat = self.jaxpr(self.live_fun(), args, kwargs)
        self.last_jaxpr = closed
        return tree_util.tree_unflatten(out_tree, lowering.replay_closed(closed, *flat))


def _arg_path(path):
    """``args[0]['w']`` / ``kwargs['d']`` for a path into ``({position: arg}, kwargs)``."""
    return ("args", "kwargs")[path[0].idx] + tree_util.keystr(path[1:])


def _make_body(state, name, qualname, sig):
    """The function handed to jax.jit. It must not reference the user's function (the
    state's key); it carries the signature, so JAX names arguments in its errors."""

    def body(*args, **kwargs):
        return state.run_in_jax_trace(args, kwargs)

    body.__name__ = name  # XLA module and profiler names
    body.__qualname__ = qualname
    if sig is not None:
        body.__signature__ = sig
    return body


def _sharding_kwargs(in_shardings, out_shardings, device, backend):
    if device is not None or backend is not None:
        # jax.jit's device=/backend= are deprecated: pin with a single-device sharding.
        dev = device if device is not None else jax.devices(backend)[0]
        pinned = jax.sharding.SingleDeviceSharding(dev)
        in_shardings = pinned if in_shardings is None else in_shardings
        out_shardings = pinned if out_shardings is None else out_shardings
    kwargs = {}
    if in_shardings is not None:
        kwargs["in_shardings"] = in_shardings
    if out_shardings is not None:
        kwargs["out_shardings"] = out_shardings
    return kwargs


def _shared_state(fun, options):
    try:
        per_fun = _STATES.get(fun)
        if per_fun is None:
            per_fun = _STATES[fun] = {}
        state = per_fun.get(options)
    except TypeError:  # fun not weakly referenceable or not hashable, or options unhashable
        return _JitState(fun, options, weak=False)
    if state is None:
        state = per_fun[options] = _JitState(fun, options, weak=True)
    else:
        state.adopt(fun)
    return state


# ---------------------------------------------------------------------------
# the user-facing wrapper


class Lowered:
    """What ``mg.jit(f).lower(*args)`` returns: our jaxpr and JAX's lowering of it."""

    def __init__(self, jax_lowered, jaxpr):
        self._lowered = jax_lowered
        self.jaxpr = jaxpr

    def as_text(self, dialect=None):
        """The StableHLO text XLA compiles."""
        return self._lowered.as_text() if dialect is None else self._lowered.as_text(dialect)

    def compile(self):
        """The compiled executable (with ``cost_analysis()``), callable like the function."""
        return self._lowered.compile()


class JitWrapped:
    """A function compiled with XLA; see ``jit``. Cheap to make: the caches are shared."""

    def __init__(self, fun, options):
        self.fun = fun
        state = self._state = _shared_state(fun, options)
        self.name = state.name
        self._jitted = state.jitted
        self._has_statics = bool(state.static_argnums or state.static_argnames)
        wraps(fun)(self)
        if not hasattr(fun, "__name__"):  # a partial or a callable object: JAX's name
            self.__name__ = self.__qualname__ = state.name

    @api_boundary
    def __call__(self, *args, **kwargs):
        if self._has_statics:
            self._state.check_statics(args, kwargs)
        if core._state.trace is core.EVAL_TRACE:
            try:
                out = self._jitted(*args, **kwargs)
            except (ValueError, RuntimeError) as e:
                self._explain_donation(args, kwargs, e)
                raise
            if core.checking_floats:
                self._check_floats(args, kwargs, out)
            return out
        return self._staged(args, kwargs)

    def _check_floats(self, args, kwargs, out):
        """debug_nans: a NaN/Inf in the outputs re-runs our jaxpr equation by equation."""

        def rerun():
            closed, _, flat = self._state.jaxpr(self.fun, args, kwargs)
            debug_nans.eval_deopt(closed, flat)

        debug_nans.check_outputs(out, rerun, f"jit({self.name})")

    def __get__(self, obj, objtype=None):
        # A method decorated with mg.jit binds its instance, as jax.jit's does.
        return self if obj is None else types.MethodType(self, obj)

    # -- the shared state, read through ------------------------------------------

    trace_count = property(lambda self: self._state.trace_count, doc="our tracer's runs")
    seen = property(lambda self: self._state.seen)
    last_jaxpr = property(lambda self: self._state.last_jaxpr)
    static_argnums = property(lambda self: self._state.static_argnums)
    static_argnames = property(lambda self: self._state.static_argnames)
    donate_argnums = property(lambda self: self._state.donate_argnums)
    donate_argnames = property(lambda self: self._state.donate_argnames)

    def _explain_donation(self, args, kwargs, err):
        st = self._state
        donated = [(i, args[i]) for i in resolve_argnums(st.donate_argnums, len(args))]
        donated += [(repr(k), kwargs[k]) for k in st.donate_argnames if k in kwargs]
        for where, arg in donated:
            if any(_is_deleted(x) for x in tree_util.tree_leaves(arg)):
                raise ValueError(
                    f"jit({self.name}): argument {where} was donated to an earlier call "
                    f"(donate_argnums={st.donate_argnums}, donate_argnames={st.donate_argnames})"
                    " and its buffer has been deleted; a donated array must not be used again. "
                    "Use the returned array instead."
                ) from err

    # -- inside another transform: the jit primitive ------------------------

    def _staged(self, args, kwargs):
        closed, out_tree, flat = self._state.jaxpr(self.fun, args, kwargs)
        outs = bind_jit(closed, flat, self.name)
        return tree_util.tree_unflatten(out_tree, outs)

    # -- introspection -------------------------------------------------------

    def lower(self, *args, **kwargs):
        """Lower for these arguments: ``.as_text()`` (StableHLO), ``.compile()``, ``.jaxpr``."""
        lowered = self._jitted.lower(*args, **kwargs)
        return Lowered(lowered, self._state.last_jaxpr)

    def trace(self, *args, **kwargs):
        """Our jaxpr for these arguments (static ones included); the cached one if traced."""
        return self._state.jaxpr(self.fun, args, kwargs)[0]

    def _cache_size(self):
        return self._jitted._cache_size()


def _is_deleted(x):
    return getattr(x, "is_deleted", lambda: False)()


def _hashable(x):
    # lists are accepted for argnums/argnames; a tuple lets equal options share a state
    return tuple(x) if type(x) is list else x


def jit(
    fun=None,
    *,
    static_argnums=None,
    static_argnames=None,
    donate_argnums=None,
    donate_argnames=None,
    in_shardings=None,
    out_shardings=None,
    device=None,
    backend=None,
):
    """Compile ``fun`` with XLA (CPU, GPU or TPU), like jax.jit.

    Args:
      fun: the function; pytrees in and out. A method decorated with ``mg.jit``
        binds its instance (make ``self`` static with ``static_argnums=0``).
      static_argnums / static_argnames: arguments passed as hashable Python values;
        a new value retraces. Given one, the other is inferred from the signature,
        so a static argument may be passed by position or by name.
      donate_argnums / donate_argnames: arguments whose buffers XLA may reuse for
        outputs (inferred from each other the same way).
      in_shardings / out_shardings: passed to jax.jit; device / backend pin the
        computation to one device (as a single-device sharding).

    Returns:
      A callable; ``.lower(*args)`` gives ``.as_text()`` and ``.compile()``;
      ``.trace_count`` counts traces. Every ``mg.jit`` of the same function with
      the same options shares its caches and count, as jax.jit's do.

    Example:
      >>> import minigrad_jax as mg
      >>> mg.jit(lambda x: x * 2.0)(3.0)
      Array(6., dtype=float32, weak_type=True)
    """
    if fun is None:
        return functools.partial(
            jit,
            static_argnums=static_argnums,
            static_argnames=static_argnames,
            donate_argnums=donate_argnums,
            donate_argnames=donate_argnames,
            in_shardings=in_shardings,
            out_shardings=out_shardings,
            device=device,
            backend=backend,
        )
    if not callable(fun):
        raise TypeError(f"jit expects a callable, got {type(fun).__name__}")
    options = (
        _hashable(static_argnums),
        _hashable(static_argnames),
        _hashable(donate_argnums),
        _hashable(donate_argnames),
        in_shardings,
        out_shardings,
        device,
        backend,
    )
    return JitWrapped(fun, options)


def _jit_for_autodiff(fun, static_argnames):
    return jit(fun, static_argnames=static_argnames or None)


core.jit_for_autodiff = _jit_for_autodiff
