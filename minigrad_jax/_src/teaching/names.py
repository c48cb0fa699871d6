"""The user's names for what a jaxpr computes, and short texts for values and equations.

Arguments are named after the function's parameters; an equation's output after the left-hand
side of its source line (``y_hat = w * x`` names the last equation of that line ``y_hat``;
``return ...`` names it after the function).  Only the one source line is read (linecache) and
parsed (``ast``).  Where the user wrote no name, the printer's letters are used.
"""

from __future__ import annotations

import ast
import inspect
import linecache

import numpy as np
from jax import tree_util

from minigrad_jax._src import core
from minigrad_jax._src.ir import ClosedJaxpr, Jaxpr, Literal, _pp_param, letters

__all__ = ["arg_names", "fmt_value", "short_params", "user_labels", "var_names"]


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
        for path, _ in tree_util.tree_flatten_with_path(arg)[0]:
            names.append(base + tree_util.keystr(path))
    for key in sorted(kwargs or {}):
        for path, _ in tree_util.tree_flatten_with_path(kwargs[key])[0]:
            names.append(key + tree_util.keystr(path))
    return names


def source_of(eqn) -> str:
    si = eqn.source_info
    return str(si) if si is not None else ""


def source_text(eqn) -> str:
    si = eqn.source_info
    if si is None:
        return ""
    return linecache.getline(si.file, si.line).strip()


def assigned_names(line: str, function: str | None) -> list[str] | None:
    """The names a source line assigns (``a = ...``, ``a, b = ...``, ``a += ...``), the
    function's name for ``return ...`` (when ``function`` is given), else None."""
    try:
        stmt = ast.parse(line).body
    except SyntaxError:
        return None
    if len(stmt) != 1:
        return None
    node = stmt[0]
    if isinstance(node, ast.Return):  # the function's value, unless it returns a tuple
        plain = node.value is not None and not isinstance(node.value, ast.Tuple)
        return [function] if plain and function and function.isidentifier() else None
    target = None
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        target = node.target
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple) and all(isinstance(t, ast.Name) for t in target.elts):
        return [t.id for t in target.elts]
    return None


def user_labels(jaxpr) -> dict:
    """Var -> the user's name, for the outputs of the last equation on each named line."""
    last_on_line: dict = {}
    for eqn in jaxpr.eqns:
        si = eqn.source_info
        if si is not None:
            last_on_line[(si.file, si.line, si.function)] = eqn
    labels = {}
    main = main_source(jaxpr)
    for (file, _, function), eqn in last_on_line.items():
        # a return line names the value of this jaxpr's own function only (a loop body's
        # bookkeeping may sit on the enclosing function's return line)
        own = main is not None and (file, function) == (main.file, main.function)
        names = assigned_names(source_text(eqn), function if own else None)
        if names is None:
            continue
        if len(names) == len(eqn.outvars):
            labels.update(zip(eqn.outvars, names, strict=True))
        elif len(eqn.outvars) == 1 and len(names) == 1:
            labels[eqn.outvars[0]] = names[0]
    return labels


def main_source(jaxpr):
    """A source line of the user function most of ``jaxpr``'s equations came from (ties: the
    later one, the innermost code: a library loop's own bookkeeping is attributed to the line
    that called the loop), or None."""
    infos = [e.source_info for e in jaxpr.eqns if e.source_info is not None]
    if not infos:
        return None
    counts: dict = {}
    for i in infos:
        counts[(i.file, i.function)] = counts.get((i.file, i.function), 0) + 1
    best = max(counts.values())
    return next(i for i in reversed(infos) if counts[(i.file, i.function)] == best)


def function_params(jaxpr) -> list[str] | None:
    """The parameter names of the user function an inner jaxpr (a loop body, a branch) was
    traced from: read from its ``def`` line (searched upwards from its main source line) or
    from the one ``lambda`` on that line.  None when not found."""
    si = main_source(jaxpr)
    if si is None:
        return None
    if si.function == "<lambda>":
        try:
            tree = ast.parse(linecache.getline(si.file, si.line).strip())
        except SyntaxError:
            return None
        lambdas = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)]
        return _arg_list(lambdas[0].args) if len(lambdas) == 1 else None
    for line in range(si.line, max(si.line - 200, 0), -1):
        text = linecache.getline(si.file, line).strip()
        if text.startswith(f"def {si.function}("):
            return _def_params(si.file, line)
    return None


def _def_params(file, line) -> list[str] | None:
    header = ""
    for k in range(line, line + 20):  # a signature may span lines
        header += linecache.getline(file, k).strip() + " "
        try:
            tree = ast.parse(header.rstrip() + " pass")
        except SyntaxError:
            continue
        node = tree.body[0]
        return _arg_list(node.args) if isinstance(node, ast.FunctionDef) else None
    return None


def _arg_list(args: ast.arguments) -> list[str] | None:
    if args.vararg or args.kwarg or args.kwonlyargs:
        return None
    return [a.arg for a in [*args.posonlyargs, *args.args]]


# --------------------------------------------------------------------------- texts


def fmt_value(x, max_items: int = 4) -> str:
    """Scalars in full; small arrays in full; larger ones as shape + min/max/mean."""
    a = np.asarray(x)
    if a.dtype == core.float0:
        return "0 (float0)"
    if a.ndim == 0:
        return str(a[()])  # numpy scalar: shortest repr in its own precision (f32: 0.7780732)
    if a.size <= max_items:
        flat = ", ".join(_num(v) for v in a.ravel())
        return f"[{flat}]" if a.ndim == 1 else f"{dtype_short(a.dtype)}{list(a.shape)} [{flat}]"
    head = f"{dtype_short(a.dtype)}{list(a.shape)}"
    if a.dtype == np.bool_ or a.size == 0:
        return f"{head} [{', '.join(_num(v) for v in a.ravel()[:max_items])}, ...]"
    return f"{head} min={_num(a.min())} max={_num(a.max())} mean={_num(a.mean())}"


def _num(v) -> str:
    v = np.asarray(v).item()
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def dtype_short(dtype) -> str:
    return core.ShapedArray((), np.dtype(dtype)).str_short().split("[")[0]


def short_params(eqn, limit: int = 32) -> str:
    """``name[k=v ...]`` without jaxpr-valued params, shortened to ``limit`` characters."""
    parts = []
    for k, v in sorted(eqn.params.items()):
        if holds_jaxpr(v) or v is None or k in ("out_sharding", "sharding", "accuracy"):
            continue
        text = f"{k}={_pp_param(v, 0)}"
        parts.append(text if len(text) <= limit else text[: limit - 3] + "...")
    name = eqn.primitive.name
    return f"{name}[{' '.join(parts)}]" if parts else name


def holds_jaxpr(v) -> bool:
    if isinstance(v, (Jaxpr, ClosedJaxpr)):
        return True
    return isinstance(v, (tuple, list)) and any(isinstance(j, (Jaxpr, ClosedJaxpr)) for j in v)


def atom_text(atom, names) -> str:
    return str(atom).split(":")[0] if type(atom) is Literal else names[atom]
