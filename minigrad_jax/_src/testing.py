"""Checking derivatives: finite differences, and the same program under JAX.

``check_grads`` is the numerical oracle (JAX's jax.test_util.check_grads,
rewritten here): it compares jvp and vjp with central differences along one
random direction, and recurses for higher orders. ``compare_with_jax`` is the
JAX oracle: it runs one program through minigrad_jax and through JAX and
reports, per transform, whether they agree.
"""

from __future__ import annotations

import functools
import types

import jax
import jax.numpy as jnp
import numpy as np
from jax import tree_util

from minigrad_jax import numpy as mnp  # the public module: programs test `np_ is mnp`
from minigrad_jax._src import api, jacobians

_DEFAULT_TOL = {
    np.dtype(np.float16): 1e-2,
    np.dtype(jax.numpy.bfloat16): 1e-1,
    np.dtype(np.float32): 2e-3,
    np.dtype(np.float64): 1e-5,
}
# Central differences: the step balances truncation (eps**2) against roundoff
# (machine epsilon / eps) for each dtype.
_DEFAULT_EPS = {
    np.dtype(np.float16): 1e-2,
    np.dtype(jax.numpy.bfloat16): 1e-1,
    np.dtype(np.float32): 1e-3,
    np.dtype(np.float64): 1e-6,
}


# ---------------------------------------------------------------------------
# check_grads


def check_grads(f, args, order=2, modes=("fwd", "rev"), atol=None, rtol=None, eps=None):
    """Check ``f``'s derivatives up to ``order`` against finite differences.

    Forward mode compares ``mg.jvp(f)`` with a central difference along a
    random direction; reverse mode checks that ``<vjp(ct), t> == <ct, jvp(t)>``
    for random ``t`` and ``ct`` (with the jvp taken numerically). For order > 1
    the same checks are applied to the jvp and vjp functions themselves, as
    jax.test_util.check_grads does.

    Args:
      f: the function (pytrees of floating-point arrays in and out).
      args: tuple of arguments.
      order: highest derivative order to check.
      modes: any of ``"fwd"`` and ``"rev"``.
      atol, rtol: tolerances (default by dtype: 2e-3 for float32, 1e-5 for float64).
      eps: finite-difference step (default by dtype: 1e-3 for float32, 1e-6 for float64).

    Raises:
      AssertionError naming the check (e.g. ``JVP of VJP``) that failed.

    Example:
      >>> import numpy as np
      >>> import minigrad_jax as mg
      >>> from minigrad_jax.testing import check_grads
      >>> check_grads(mg.numpy.sin, (np.float32(0.5),), order=2)
      >>> check_grads(lambda x, y: (x * mg.numpy.tanh(y)).sum(),
      ...             (np.ones(3, np.float32), np.arange(3.0, dtype=np.float32)), order=2)

      A wrong custom derivative is caught:

      >>> @mg.custom_jvp
      ... def bad_sin(x):
      ...     return mg.numpy.sin(x)
      >>> _ = bad_sin.defjvp(lambda p, t: (bad_sin(*p), 2.0 * t[0]))
      >>> check_grads(bad_sin, (np.float32(0.5),), order=1, modes=("fwd",))
      Traceback (most recent call last):
        ...
      AssertionError: JVP: tangent output vs finite differences: not close ...
    """
    args = tuple(args)
    bad = [m for m in modes if m not in ("fwd", "rev")]
    if bad:
        raise ValueError(f"check_grads: modes must be 'fwd' and/or 'rev', got {modes!r}")
    tols = functools.partial(_merge, atol=atol, rtol=rtol)

    def check(f, args, order, what):
        if "fwd" in modes:
            name = f"JVP of {what}" if what else "JVP"
            _check_jvp(f, args, tols, eps, name)
            if order > 1:
                check(functools.partial(api.jvp, f), (args, args), order - 1, name)
        if "rev" in modes:
            name = f"VJP of {what}" if what else "VJP"
            _check_vjp(f, args, tols, eps, name)
            if order > 1:

                def f_vjp(*a):
                    out, pullback = api.vjp(f, *a)
                    return pullback(out)

                check(f_vjp, args, order - 1, name)

    check(f, args, order, "")


def _check_jvp(f, args, tols, eps, name):
    rng = np.random.RandomState(0)
    tangent = tree_util.tree_map(functools.partial(_rand_like, rng), args)
    out, t_out = api.jvp(f, args, tangent)
    _assert_close(out, f(*args), tols, f"{name}: primal output")
    expected = _numerical_jvp(f, args, tangent, eps)
    _assert_close(t_out, expected, tols, f"{name}: tangent output vs finite differences")


def _check_vjp(f, args, tols, eps, name):
    rng = np.random.RandomState(0)
    out, pullback = api.vjp(f, *args)
    _assert_close(out, f(*args), tols, f"{name}: primal output")
    tangent = tree_util.tree_map(functools.partial(_rand_like, rng), args)
    t_out = _numerical_jvp(f, args, tangent, eps)
    ct = tree_util.tree_map(functools.partial(_rand_like, rng), out)
    ct_in = pullback(ct)
    got = _inner(tangent, ct_in)
    want = _inner(t_out, ct)
    _assert_close(got, want, tols, f"{name}: <vjp(ct), t> vs <ct, jvp(t)> (finite differences)")


def _shape_dtype(x):
    """Shape and (canonical) dtype of an array, a Python scalar or a ShapeDtypeStruct."""
    if not (hasattr(x, "shape") and hasattr(x, "dtype")):
        x = np.asarray(x)
    return tuple(x.shape), jax.dtypes.canonicalize_dtype(x.dtype)


def _rand_like(rng, x):
    shape, dtype = _shape_dtype(x)
    if not np.issubdtype(dtype, np.inexact):
        return np.zeros(shape, jax.dtypes.float0)
    return np.asarray(rng.randn(*shape), dtype)


def _numerical_jvp(f, args, tangents, eps):
    def step(sign):
        def move(x, t):
            x = np.asarray(x)
            if t.dtype == jax.dtypes.float0:
                return x
            return (x + sign * _eps(x.dtype, eps) * t).astype(x.dtype)

        return f(*tree_util.tree_map(move, args, tangents))

    leaves = [np.asarray(x) for x in tree_util.tree_leaves(args)]
    h = _eps(
        next((x.dtype for x in leaves if np.issubdtype(x.dtype, np.inexact)), np.dtype(np.float32)),
        eps,
    )
    pos, neg = step(1.0), step(-1.0)
    return tree_util.tree_map(lambda a, b: (np.asarray(a) - np.asarray(b)) / (2 * h), pos, neg)


def _eps(dtype, eps):
    return eps if eps is not None else _DEFAULT_EPS.get(np.dtype(dtype), 1e-4)


def _inner(xs, ys):
    """Sum of elementwise products, accumulated in float64 but typed (for the
    tolerance) as the least precise of the operands."""
    total, dtype = 0.0, np.dtype(np.float64)
    for x, y in zip(tree_util.tree_leaves(xs), tree_util.tree_leaves(ys), strict=True):
        x, y = np.asarray(x), np.asarray(y)
        if x.dtype == jax.dtypes.float0 or y.dtype == jax.dtypes.float0:
            continue
        total += float(np.sum(x.astype(np.float64) * y.astype(np.float64)))
        dtype = min(dtype, x.dtype, y.dtype, key=lambda d: np.finfo(d).bits)
    return np.asarray(total).astype(dtype)


def _merge(dtype, atol, rtol):
    default = _DEFAULT_TOL.get(np.dtype(dtype), 1e-5)
    return (default if atol is None else atol), (default if rtol is None else rtol)


def _assert_close(got, want, tols, what):
    g_leaves, g_tree = tree_util.tree_flatten(got)
    w_leaves, w_tree = tree_util.tree_flatten(want)
    if g_tree != w_tree:
        raise AssertionError(f"{what}: structures differ: {g_tree} vs {w_tree}")
    for g, w in zip(g_leaves, w_leaves, strict=True):
        g, w = np.asarray(g), np.asarray(w)
        if g.dtype == jax.dtypes.float0:
            continue
        dtypes = [d for d in (g.dtype, w.dtype) if np.issubdtype(d, np.inexact)]
        atol, rtol = tols(min(dtypes, key=lambda d: np.finfo(d).bits) if dtypes else np.float64)
        if g.shape != w.shape:
            raise AssertionError(f"{what}: shapes differ: {g.shape} vs {w.shape}")
        g64, w64 = g.astype(np.float64), w.astype(np.float64)
        if not np.allclose(g64, w64, atol=atol, rtol=rtol, equal_nan=True):
            err = np.max(np.abs(g64 - w64)) if g.size else 0.0
            raise AssertionError(
                f"{what}: not close (atol={atol}, rtol={rtol}); max abs difference {err:.3g}\n"
                f"  got:      {g}\n  expected: {w}"
            )


# ---------------------------------------------------------------------------
# compare_with_jax


class Row:
    """One line of a comparison: a transform, whether both agree, how far apart."""

    __slots__ = ("transform", "ok", "max_abs_diff", "detail")

    def __init__(self, transform, ok, max_abs_diff=None, detail=""):
        self.transform, self.ok = transform, ok
        self.max_abs_diff, self.detail = max_abs_diff, detail

    def __repr__(self):
        return (
            f"Row({self.transform!r}, ok={self.ok}, max_abs_diff={self.max_abs_diff}, "
            f"detail={self.detail!r})"
        )


class Report:
    """The result of compare_with_jax: ``.rows``, ``.ok``; ``str()`` is a table."""

    def __init__(self, rows, name="program"):
        self.rows, self.name = list(rows), name

    @property
    def ok(self):
        return all(r.ok for r in self.rows)

    def __getitem__(self, transform):
        for r in self.rows:
            if r.transform == transform:
                return r
        raise KeyError(
            f"no row for transform {transform!r}; rows: {[r.transform for r in self.rows]}"
        )

    def __str__(self):
        head = ("transform", "agree", "max |mg - jax|", "detail")
        body = [
            (
                r.transform,
                "yes" if r.ok else "NO",
                "-" if r.max_abs_diff is None else f"{r.max_abs_diff:.3g}",
                r.detail,
            )
            for r in self.rows
        ]
        widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(3)]
        lines = [f"compare_with_jax({self.name}): {'all agree' if self.ok else 'DIFFERENCES'}"]
        for row in [head, *body]:
            cells = [str(c).ljust(w) for c, w in zip(row[:3], widths, strict=True)]
            lines.append("  ".join(cells + [str(row[3])]).rstrip())
        return "\n".join(lines)

    __repr__ = __str__


_TRANSFORMS = ("value", "jvp", "grad", "hessian", "jacfwd", "jacrev")


def compare_with_jax(
    program,
    *args,
    transforms=("value", "jvp", "grad", "hessian"),
    argnums=0,
    atol=1e-5,
    rtol=1e-5,
    jaxpr=False,
    seed=0,
):
    """Run ``program`` through minigrad_jax and through JAX and compare, per transform.

    ``program(np_, *args)`` takes a numpy-like module as its first argument:
    it is called with ``minigrad_jax.numpy`` on one side and ``jax.numpy`` on
    the other, so one definition serves both.

    Transforms (all with respect to ``args[argnums]``):
      - ``"value"``: the outputs.
      - ``"jvp"``: primal and tangent outputs along a random tangent (seeded).
      - ``"grad"``: ``grad`` for a scalar output; for any other output the vjp
        of a random cotangent (seeded), i.e. the gradient of ``<ct, out>``.
      - ``"hessian"``: ``hessian`` of the scalar output (or of ``<ct, out>``).
      - ``"jacfwd"``, ``"jacrev"``: the Jacobians.
    With ``jaxpr=True`` two more rows compare the primitive sequences of
    ``make_jaxpr`` of the program and of its gradient.

    Args:
      program: ``program(np_, *args)``, written against the numpy-like ``np_``.
      *args: the arguments (arrays or Python scalars; pytrees allowed).
      transforms: which transforms to compare.
      argnums: int or tuple: the arguments to differentiate.
      atol, rtol: tolerances of the comparison (as in numpy.allclose).
      jaxpr: also compare the jaxprs' primitive sequences.
      seed: seed of the random tangent and cotangent.

    Returns:
      A Report: ``.ok``, ``.rows`` (transform, ok, max_abs_diff, detail),
      ``report["grad"]`` for one row, and ``print(report)`` for a table.
      When JAX raises for a transform, the row agrees only if minigrad_jax
      raises too.

    Example:
      >>> import numpy as np
      >>> from minigrad_jax.testing import compare_with_jax
      >>> def loss(np_, w, x):
      ...     return np_.sum(np_.sin(w * x) ** 2)
      >>> w, x = np.float32(0.5), np.arange(3, dtype=np.float32)
      >>> report = compare_with_jax(loss, w, x)
      >>> report.ok
      True
      >>> report["grad"].ok
      True
      >>> print(report)
      compare_with_jax(loss): all agree
      transform  agree  max |mg - jax|  detail
      value      yes    ...
      jvp        yes    ...
      grad       yes    ...
      hessian    yes    ...
      >>> r = compare_with_jax(lambda np_, x: np_.tanh(x), np.float32(0.3),
      ...                      transforms=("value", "jacrev"), jaxpr=True)
      >>> [(row.transform, row.ok) for row in r.rows]
      [('value', True), ('jacrev', True), ('jaxpr(value)', True), ('jaxpr(grad)', True)]
    """
    unknown = [t for t in transforms if t not in _TRANSFORMS]
    if unknown:
        raise ValueError(
            f"compare_with_jax: unknown transform(s) {unknown}; choose from {_TRANSFORMS}"
        )
    f_mg = functools.partial(program, mnp)
    f_jax = functools.partial(program, jnp)
    ctx = _Context(args, argnums, seed)
    rows = []
    for t in transforms:
        mg_side, jax_side = _SIDES[t](_MG, f_mg, ctx), _SIDES[t](jax, f_jax, ctx)
        rows.append(_compare(t, mg_side, jax_side, atol, rtol))
    if jaxpr:
        rows.append(
            _compare_jaxprs("jaxpr(value)", _MG.make_jaxpr(f_mg), jax.make_jaxpr(f_jax), args)
        )
        rows.append(
            _compare_jaxprs(
                "jaxpr(grad)",
                _MG.make_jaxpr(_grad_fn(_MG, f_mg, ctx)),
                jax.make_jaxpr(_grad_fn(jax, f_jax, ctx)),
                args,
            )
        )
    return Report(rows, getattr(program, "__name__", "program"))


# The minigrad_jax side of compare_with_jax, spelled as ``jax`` is on the other
# side (``lib.grad``, ``lib.numpy.sum``), so one table of transforms serves both.
_MG = types.SimpleNamespace(
    eval_shape=api.eval_shape,
    grad=api.grad,
    hessian=jacobians.hessian,
    jacfwd=jacobians.jacfwd,
    jacrev=jacobians.jacrev,
    jvp=api.jvp,
    make_jaxpr=api.make_jaxpr,
    numpy=mnp,
)


class _Context:
    """Seeded random tangents and output cotangents shared by both sides."""

    def __init__(self, args, argnums, seed):
        self.args, self.argnums, self.seed = args, argnums, seed
        nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        rng = np.random.RandomState(seed)
        self.tangents = tuple(
            tree_util.tree_map(functools.partial(_rand_like, rng), a)
            if i in nums
            else tree_util.tree_map(_zero_tangent, a)
            for i, a in enumerate(args)
        )
        self._ct = None

    def cotangent(self, out):
        if self._ct is None:
            rng = np.random.RandomState(self.seed + 1)
            self._ct = tree_util.tree_map(functools.partial(_rand_like, rng), out)
        return self._ct


def _zero_tangent(x):
    shape, dtype = _shape_dtype(x)
    return np.zeros(shape, dtype if np.issubdtype(dtype, np.inexact) else jax.dtypes.float0)


def _is_scalar_out(out):
    leaves = tree_util.tree_leaves(out)
    return len(leaves) == 1 and np.shape(leaves[0]) == ()


def _scalarized(lib, f, ctx):
    """``f`` itself when its output is one scalar, else ``<ct, f(...)>``."""
    out = lib.eval_shape(f, *ctx.args)
    if _is_scalar_out(out):
        return f
    ct = ctx.cotangent(out)

    def g(*a):
        total = 0.0
        for o, c in zip(tree_util.tree_leaves(f(*a)), tree_util.tree_leaves(ct), strict=True):
            total = total + lib.numpy.sum(o * c)
        return total

    return g


def _grad_fn(lib, f, ctx):
    return lib.grad(_scalarized(lib, f, ctx), argnums=ctx.argnums)


_SIDES = {
    "value": lambda lib, f, ctx: _run(f, *ctx.args),
    "jvp": lambda lib, f, ctx: _run(lib.jvp, f, ctx.args, ctx.tangents),
    "grad": lambda lib, f, ctx: _run(_grad_fn(lib, f, ctx), *ctx.args),
    "hessian": lambda lib, f, ctx: _run(
        lib.hessian(_scalarized(lib, f, ctx), argnums=ctx.argnums), *ctx.args
    ),
    "jacfwd": lambda lib, f, ctx: _run(lib.jacfwd(f, argnums=ctx.argnums), *ctx.args),
    "jacrev": lambda lib, f, ctx: _run(lib.jacrev(f, argnums=ctx.argnums), *ctx.args),
}


def _run(fn, *args):
    try:
        return True, fn(*args)
    except Exception as e:  # noqa: BLE001  (reported in the table, not raised)
        return False, e


def _compare(name, mg_side, jax_side, atol, rtol):
    (mg_ok, mg_val), (jax_ok, jax_val) = mg_side, jax_side
    if not jax_ok:
        if mg_ok:
            return Row(name, False, None, f"JAX raised {_short(jax_val)}; minigrad_jax did not")
        return Row(name, True, None, f"both raised (JAX: {_short(jax_val)})")
    if not mg_ok:
        return Row(name, False, None, f"minigrad_jax raised {_short(mg_val)}")
    mg_leaves, mg_tree = tree_util.tree_flatten(mg_val)
    jax_leaves, jax_tree = tree_util.tree_flatten(jax_val)
    if mg_tree != jax_tree:
        return Row(name, False, None, f"output structures differ: {mg_tree} vs {jax_tree}")
    worst, problems = 0.0, []
    for i, (a, b) in enumerate(zip(mg_leaves, jax_leaves, strict=True)):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            problems.append(f"leaf {i}: {a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}")
            continue
        if a.dtype == jax.dtypes.float0 or a.size == 0:
            continue
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        both_nan = np.isnan(a64) & np.isnan(b64)
        diff = np.where(both_nan, 0.0, np.abs(a64 - b64))
        diff = np.where(a64 == b64, 0.0, diff)  # equal infinities
        worst = max(worst, float(np.max(diff)))
        if not np.allclose(a64, b64, atol=atol, rtol=rtol, equal_nan=True):
            problems.append(f"leaf {i} differs")
    return Row(name, not problems, worst, "; ".join(problems))


def _short(e):
    msg = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {msg[:60]}"


def _compare_jaxprs(name, mg_make, jax_make, args):
    ok_mg, mg_j = _run(mg_make, *args)
    ok_jax, jax_j = _run(jax_make, *args)
    if not (ok_mg and ok_jax):
        return Row(
            name,
            ok_mg == ok_jax,
            None,
            f"tracing raised: {_short(mg_j) if not ok_mg else _short(jax_j)}",
        )
    mine = [e.primitive.name for e in mg_j.eqns]
    theirs = [str(e.primitive) for e in jax_j.eqns]
    if mine == theirs:
        return Row(name, True, None, f"{len(mine)} equations, same primitives")
    pairs = enumerate(zip(mine, theirs, strict=False))
    k = next((i for i, (a, b) in pairs if a != b), min(len(mine), len(theirs)))
    return Row(
        name,
        False,
        None,
        f"first difference at equation {k}: {mine[k : k + 3]} vs {theirs[k : k + 3]} "
        f"({len(mine)} vs {len(theirs)} equations)",
    )
