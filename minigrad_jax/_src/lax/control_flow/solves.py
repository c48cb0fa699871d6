"""custom_linear_solve and custom_root: implicit differentiation on the rule kit.

``custom_linear_solve{const_lengths, jaxprs}`` (JAX's primitive, named as JAX
names it) carries four closed jaxprs, ``_LinearSolveTuple(matvec, vecmat, solve,
transpose_solve)`` with their consts hoisted to leading operands (counted by
``const_lengths``), then the right-hand side ``b``. It computes ``solve(b)``:

- jvp: ``x_dot = solve(b_dot - matvec_dot(x))``, one more custom_linear_solve;
- transpose (only ``b`` is linear): the same primitive on the transposed tuple,
  ``(vecmat, matvec, transpose_solve, solve)``;
- batching: which of x and b are batched is found with ``fixpoint`` over the four
  jaxprs, so that they agree, then each is batched with ``batch_jaxpr``;
- partial evaluation and dead code: the default rules (the equation is staged
  whole when an operand is unknown), as in JAX.

``custom_root`` is a custom_jvp construct in JAX (``_custom_root``, an equation
``custom_jvp_call``). The custom_jvp machinery lives above lax, so here it is a
small jaxpr-carrying primitive of its own, ``custom_root{const_lengths, jaxprs}``
with ``_RootTuple(f, solve, l_and_s)``: it evaluates ``solve``, and its JVP rule is
JAX's implicit differentiation rule (the tangent of ``f`` at the solution with
respect to its closed-over values, solved with ``tangent_solve`` of ``f``
linearized at the solution).
"""

from __future__ import annotations

import collections

from jax import tree_util

from minigrad_jax._src.core import Primitive, get_aval
from minigrad_jax._src.interpreters import ad, batching, higher_order, lowering
from minigrad_jax._src.interpreters import jaxpr_util as ju
from minigrad_jax._src.interpreters.ad import Zero, is_undefined
from minigrad_jax._src.ir import eval_jaxpr
from minigrad_jax._src.lax import base
from minigrad_jax._src.lax import elementwise as ew
from minigrad_jax._src.lax.control_flow.common import trace_fun
from minigrad_jax._src.traceback_util import api_boundary

__all__ = ["custom_linear_solve", "custom_root"]


class _LinearSolveTuple(
    collections.namedtuple("_LinearSolveTuple", "matvec, vecmat, solve, transpose_solve")
):
    __slots__ = ()

    def transpose(self):
        return type(self)(self.vecmat, self.matvec, self.transpose_solve, self.solve)


_RootTuple = collections.namedtuple("_RootTuple", "f, solve, l_and_s")


def _split(args, const_lengths, kind):
    """(a ``kind`` tuple of the const groups, the remaining operands)."""
    groups = ju.Groups(
        **dict(zip(kind._fields, const_lengths)), rest=len(args) - sum(const_lengths)
    )
    parts = groups.split(list(args))
    rest = parts.pop("rest")
    return kind(**parts), rest


def _flatten(groups):
    return [x for g in groups for x in g]


def _run(closed, *args):
    """Evaluate a hoisted jaxpr (consts as leading operands) in the current trace."""
    return eval_jaxpr(closed.jaxpr, closed.consts, *args)


def _check_tree(func_name, expected_name, actual_tree, expected_tree, has_aux=False):
    if has_aux:
        children = actual_tree.children()
        if len(children) != 2:
            raise ValueError(
                f"{func_name}() produced a pytree with structure {actual_tree}, but a pytree "
                "tuple with auxiliary output was expected because has_aux was set to True."
            )
        actual_tree = children[0]
    if actual_tree != expected_tree:
        raise TypeError(
            f"{func_name}() output pytree structure must match {expected_name}, "
            f"got {actual_tree} and {expected_tree}."
        )


def _check_shapes(func_name, expected_name, actual, expected):
    actual_shapes = [tuple(get_aval(x).shape) for x in tree_util.tree_leaves(actual)]
    expected_shapes = [tuple(get_aval(x).shape) for x in expected]
    if actual_shapes != expected_shapes:
        raise ValueError(
            f"{func_name}() output shapes must match {expected_name}, "
            f"got {actual_shapes} and {expected_shapes}"
        )


def _trace(fun, in_tree, avals, what):
    """(hoisted jaxpr, its consts, out_tree): an equation's jaxpr param and operands."""
    closed, out_tree = trace_fun(fun, in_tree, avals, what)
    hoisted, consts = ju.hoist_consts(closed)
    return hoisted, consts, out_tree


def _zeros_like(x):
    return Zero(ad.tangent_aval(get_aval(x)))


# ---------------------------------------------------------------------------
# custom_linear_solve

linear_solve_p = Primitive("custom_linear_solve", multiple_results=True)


def _linear_solve_abstract(*avals, const_lengths, jaxprs):
    # x has b's types; solve's extra outputs (has_aux) follow with their own
    b_avals = list(avals[sum(const_lengths) :])
    return b_avals + list(jaxprs.solve.out_avals[len(b_avals) :])


def _linear_solve_impl(*args, const_lengths, jaxprs):
    params, b = _split(args, const_lengths, _LinearSolveTuple)
    return lowering.replay_closed(jaxprs.solve, *params.solve, *b)


def _tangent_linear_map(closed, params, params_dot, x):
    """``∂A @ x`` for the map ``closed(*params, *x) = A @ x`` (linear in ``x``)."""
    _, out_t = ad.jvp_flat(
        lambda *a: _run(closed, *a), [*params, *x], [*params_dot, *map(_zeros_like, x)]
    )
    return out_t


def _linear_solve_jvp(primals, tangents, *, const_lengths, jaxprs):
    # A x = b  =>  ∂A x + A ∂x = ∂b  =>  ∂x = A^{-1} (∂b - ∂A x)
    kw = dict(const_lengths=const_lengths, jaxprs=jaxprs)
    x = linear_solve_p.bind(*primals, **kw)
    params, _ = _split(primals, const_lengths, _LinearSolveTuple)
    params_dot, b_dot = _split(tangents, const_lengths, _LinearSolveTuple)
    nb = len(b_dot)
    x_leaves = x[:nb]
    rhs = list(b_dot)
    if any(type(t) is not Zero for t in params_dot.matvec):
        mt = _tangent_linear_map(jaxprs.matvec, params.matvec, params_dot.matvec, x_leaves)
        rhs = [ad.add_tangents(b, t if type(t) is Zero else ew.neg(t)) for b, t in zip(rhs, mt)]
    if all(type(t) is Zero for t in rhs):  # solve is linear: solve(0) = 0
        return x, [_zeros_like(v) for v in x]
    x_dot = linear_solve_p.bind(*_flatten(params), *map(ad.instantiate, rhs), **kw)
    return x, [*x_dot[:nb], *map(_zeros_like, x[nb:])]


def _linear_solve_transpose(cts, *args, const_lengths, jaxprs):
    if jaxprs.transpose_solve is None:
        raise TypeError(
            "transpose_solve required for backwards mode automatic differentiation of "
            "custom_linear_solve"
        )
    params, b = _split(args, const_lengths, _LinearSolveTuple)
    if any(is_undefined(p) for p in _flatten(params)):
        raise ValueError(
            "custom_linear_solve can only be transposed with respect to b, not with respect "
            "to the values matvec or solve close over"
        )
    nb = len(b)
    x_ct = cts[:nb]
    if all(type(ct) is Zero for ct in x_ct):
        return [None] * len(args)
    b_ct = linear_solve_p.bind(
        *_flatten(params.transpose()),
        *map(ad.instantiate, x_ct),
        const_lengths=const_lengths.transpose(),
        jaxprs=jaxprs.transpose(),
    )[:nb]
    # A known entry of b (a zero made concrete, say) gets no cotangent.
    b_ct = [ct if is_undefined(v) else None for ct, v in zip(b_ct, b)]
    return [None] * sum(const_lengths) + b_ct


def _dims(flags):
    return [0 if f else None for f in flags]


def _linear_solve_batch(axis_size, args, dims, *, const_lengths, jaxprs):
    params, b = _split(args, const_lengths, _LinearSolveTuple)
    pdims, b_dims = _split(dims, const_lengths, _LinearSolveTuple)
    nb, nx = len(b), len(jaxprs.solve.out_avals)
    num_aux = nx - nb
    orig_b_bat = [d is not None for d in b_dims]

    def batch(which, in_flags, inst):
        closed = getattr(jaxprs, which)
        return ju.batch_jaxpr(
            closed, axis_size, [*getattr(pdims, which), *_dims(in_flags)], list(inst)
        )

    def step(flags):
        # flags: which parts of x (solve's outputs, aux included) and of b are batched
        x_bat, b_bat = flags[:nx], flags[nx:]
        x_out = list(batch("solve", b_bat, x_bat)[1])
        if jaxprs.vecmat is not None:
            x_out = [
                a or v for a, v in zip(x_out, batch("vecmat", b_bat, b_bat)[1] + [True] * num_aux)
            ]
        b_out = [a or o for a, o in zip(batch("matvec", x_out[:nb], b_bat)[1], orig_b_bat)]
        if jaxprs.transpose_solve is not None:
            st_out = batch("transpose_solve", x_out[:nb], x_out)[1][:nb]
            b_out = [a or s for a, s in zip(b_out, st_out)]
        return x_out + b_out

    flags = ju.fixpoint(step, [False] * nx + orig_b_bat)
    x_bat, b_bat = flags[:nx], flags[nx:]
    new = _LinearSolveTuple(
        batch("matvec", x_bat[:nb], b_bat)[0],
        None if jaxprs.vecmat is None else batch("vecmat", b_bat, b_bat)[0],
        batch("solve", b_bat, x_bat)[0],
        None if jaxprs.transpose_solve is None else batch("transpose_solve", x_bat[:nb], x_bat)[0],
    )
    new_b = [
        batching.matchaxis(v, d, 0, axis_size) if now else v for v, d, now in zip(b, b_dims, b_bat)
    ]
    outs = linear_solve_p.bind(*_flatten(params), *new_b, const_lengths=const_lengths, jaxprs=new)
    return outs, _dims(x_bat)


higher_order.register(
    linear_solve_p,
    abstract_eval=_linear_solve_abstract,
    jvp=_linear_solve_jvp,
    transpose=_linear_solve_transpose,
    batch=_linear_solve_batch,
    lower=_linear_solve_impl,
)


def _vecmat_jaxpr(matvec_closed, n_consts):
    """The transpose of matvec (linear in its non-const inputs), as a ClosedJaxpr."""
    linear = [False] * n_consts + [True] * (len(matvec_closed.in_avals) - n_consts)
    return ju.transpose_jaxpr(matvec_closed, linear)


@api_boundary
def custom_linear_solve(matvec, b, solve, transpose_solve=None, symmetric=False, has_aux=False):
    """Solve ``matvec(x) == b`` with ``solve``, differentiated implicitly at the solution.

    Gradients do not go through ``solve``: the tangent is another solve,
    ``x_dot = solve(matvec, b_dot - matvec_dot(x))``, and reverse mode solves the
    transposed system with ``transpose_solve`` (``solve`` when ``symmetric``).

    Args:
      matvec: the linear map (a function of one pytree like ``b``); must be
        differentiable.
      b: the right-hand side, any pytree of arrays.
      solve: ``solve(matvec, b)`` returns ``x`` with ``matvec(x) == b`` (not
        checked); it need not be differentiable.
      transpose_solve: ``transpose_solve(vecmat, b)`` for the transposed map
        (``vecmat`` is computed by transposing ``matvec``); needed for reverse mode.
      symmetric: the map is symmetric, so ``vecmat == matvec`` and ``solve``
        serves as ``transpose_solve``.
      has_aux: ``solve`` and ``transpose_solve`` return ``(x, aux)``.

    Returns:
      ``solve(matvec, b)`` (with ``aux`` when ``has_aux``).

    Example:
      >>> import numpy as np
      >>> import minigrad_jax as mg
      >>> from minigrad_jax import lax
      >>> a = np.array([[2.0, 1.0], [1.0, 3.0]], np.float32)
      >>> a_inv = np.linalg.inv(a)
      >>> def solve(matvec, b):  # any solver; this one knows the inverse
      ...     return lax.dot(a_inv, b)
      >>> def f(b):
      ...     return lax.custom_linear_solve(lambda x: lax.dot(a, x), b, solve, symmetric=True)
      >>> f(np.array([3.0, 4.0], np.float32))
      Array([1., 1.], dtype=float32)
      >>> mg.grad(lambda b: f(b)[0])(np.array([3.0, 4.0], np.float32))
      Array([ 0.6, -0.2], dtype=float32)
    """
    if transpose_solve is None and symmetric:
        transpose_solve = solve
    b_flat, in_tree = tree_util.tree_flatten((b,))
    tree = in_tree.children()[0]
    b_avals = [get_aval(x) for x in b_flat]

    def shape_checked(fun, name, aux):
        def f(x):
            y = fun(x)
            if aux and not (isinstance(y, (tuple, list)) and len(y) == 2):
                _check_tree(name, "b", tree_util.tree_structure(y), tree, True)
            _check_shapes(name, "b", y[0] if aux else y, b_flat)
            return y

        return f

    what = "custom_linear_solve"
    mv_j, mv_c, out_tree = _trace(shape_checked(matvec, "matvec", False), in_tree, b_avals, what)
    _check_tree("matvec", "b", out_tree, tree)

    def solve_fn(x):
        return solve(matvec, x)

    s_j, s_c, solve_tree = _trace(shape_checked(solve_fn, "solve", has_aux), in_tree, b_avals, what)
    _check_tree("solve", "b", solve_tree, tree, has_aux)

    if transpose_solve is None:
        vm_j = ts_j = None
        vm_c = ts_c = []
    else:
        if symmetric:
            vecmat, vm_j, vm_c = matvec, mv_j, mv_c
        else:
            # ``matvec`` transposed, traced as JAX traces jax.linear_transpose(matvec, b).
            transposed = _vecmat_jaxpr(mv_j, len(mv_c))

            def vecmat(y):
                y_flat, y_tree = tree_util.tree_flatten(y)
                if y_tree != tree:
                    raise TypeError(
                        f"vecmat: argument pytree structure must match b, got {y_tree} and {tree}"
                    )
                return tree_util.tree_unflatten(tree, _run(transposed, *mv_c, *y_flat))

            vm_j, vm_c, _ = _trace(vecmat, in_tree, b_avals, what)

        def t_solve_fn(x):
            return transpose_solve(vecmat, x)

        ts_j, ts_c, ts_tree = _trace(
            shape_checked(t_solve_fn, "transpose_solve", has_aux), in_tree, b_avals, what
        )
        _check_tree("transpose_solve", "b", ts_tree, tree, has_aux)

    all_consts = [mv_c, vm_c, s_c, ts_c]
    const_lengths = _LinearSolveTuple(*map(len, all_consts))
    jaxprs = _LinearSolveTuple(mv_j, vm_j, s_j, ts_j)
    outs = linear_solve_p.bind(
        *_flatten(all_consts), *b_flat, const_lengths=const_lengths, jaxprs=jaxprs
    )
    return tree_util.tree_unflatten(solve_tree, lowering.as_jax_arrays(outs))


# ---------------------------------------------------------------------------
# custom_root

custom_root_p = Primitive("custom_root", multiple_results=True)


def _root_abstract(*avals, const_lengths, jaxprs):
    return list(jaxprs.solve.out_avals)


def _root_impl(*args, const_lengths, jaxprs):
    params, guess = _split(args, const_lengths, _RootTuple)
    return lowering.replay_closed(jaxprs.solve, *params.solve, *guess)


def _root_jvp(primals, tangents, *, const_lengths, jaxprs):
    # F(m, u*(m)) = 0  =>  ∂u*(m)[v] = -(∂_1 F)^{-1} [∂_0 F [v]]: the tangent of f with
    # respect to its closed-over values m at the solution, solved by tangent_solve.
    sol = custom_root_p.bind(*primals, const_lengths=const_lengths, jaxprs=jaxprs)
    params, _ = _split(primals, const_lengths, _RootTuple)
    params_dot, _ = _split(tangents, const_lengths, _RootTuple)
    n = len(jaxprs.f.out_avals)
    solution, aux = sol[:n], sol[n:]
    aux_dot = [_zeros_like(a) for a in aux]
    if all(type(t) is Zero for t in params_dot.f):
        return sol, [*map(_zeros_like, solution), *aux_dot]
    _, rhs = ad.jvp_flat(
        lambda *p: _run(jaxprs.f, *p, *solution), list(params.f), list(params_dot.f)
    )
    sol_dot = _run(jaxprs.l_and_s, *params.l_and_s, *solution, *map(ad.instantiate, rhs))
    return sol, [*map(ew.neg, sol_dot), *aux_dot]


def _root_batch(axis_size, args, dims, *, const_lengths, jaxprs):
    # Every solution (and so every value f, its linearization and tangent_solve see)
    # is batched: the jaxprs then agree on their inputs in any composition.
    params, guess = _split(args, const_lengths, _RootTuple)
    pdims, gdims = _split(dims, const_lengths, _RootTuple)
    nx = len(guess)
    solve_b, _ = ju.batch_jaxpr(jaxprs.solve, axis_size, [*pdims.solve, *gdims], True)
    f_b, _ = ju.batch_jaxpr(jaxprs.f, axis_size, [*pdims.f, *[0] * nx], True)
    ls_b, _ = ju.batch_jaxpr(jaxprs.l_and_s, axis_size, [*pdims.l_and_s, *[0] * (2 * nx)], True)
    outs = custom_root_p.bind(
        *args, const_lengths=const_lengths, jaxprs=_RootTuple(f_b, solve_b, ls_b)
    )
    return outs, [0] * len(outs)


higher_order.register(
    custom_root_p,
    abstract_eval=_root_abstract,
    jvp=_root_jvp,
    batch=_root_batch,
    lower=_root_impl,
)


def _linearized(f_closed, n_consts):
    """(known, unknown) halves of f's JVP: f linearized, as jax.linearize splits it.

    ``known(consts, x)`` gives f's outputs then the residuals; ``unknown(residuals, t)``
    gives the tangent outputs.
    """
    n_in = len(f_closed.in_avals)
    nz = [False] * n_consts + [True] * (n_in - n_consts)
    jj, _ = ju.jvp_jaxpr(f_closed, nz, True)
    n_out = len(f_closed.out_avals)
    unknowns = [False] * n_in + [True] * (n_in - n_consts)
    known, unknown, out_uk, _ = ju.partial_eval_jaxpr(
        jj, unknowns, [False] * n_out + [True] * n_out
    )
    return known, unknown, sum(not u for u in out_uk)


@api_boundary
def custom_root(f, initial_guess, solve, tangent_solve, has_aux=False):
    """Find a root of ``f`` with ``solve``; differentiate it by the implicit function theorem.

    Gradients flow to the values ``f`` closes over, assuming
    ``f(solve(f, initial_guess)) == 0``; ``solve`` itself is not differentiated.

    Args:
      f: the function whose root is sought (a pytree in, the same structure out).
      initial_guess: the starting point, a pytree.
      solve: ``solve(f, initial_guess)`` returns the root (``(root, aux)`` when
        ``has_aux``).
      tangent_solve: ``tangent_solve(g, y)`` solves ``g(x) == y`` for the linear
        map ``g`` (``f`` linearized at the root); for a scalar, ``lambda g, y: y / g(1.0)``.
      has_aux: ``solve`` returns auxiliary data as a second output.

    Returns:
      ``solve(f, initial_guess)``.

    Example:
      >>> import minigrad_jax as mg
      >>> from minigrad_jax import lax
      >>> def newton(f, x0):
      ...     df = mg.grad(f)
      ...     return lax.fori_loop(0, 10, lambda i, x: x - f(x) / df(x), x0)
      >>> def sqrt(a):
      ...     return lax.custom_root(lambda x: x * x - a, 1.0, newton, lambda g, y: y / g(1.0))
      >>> sqrt(2.0)
      Array(1.4142135, dtype=float32, weak_type=True)
      >>> mg.grad(sqrt)(2.0)  # 1 / (2 sqrt(2))
      Array(0.35355338, dtype=float32, weak_type=True)
    """
    guess_flat, in_tree = tree_util.tree_flatten((initial_guess,))
    tree = in_tree.children()[0]
    avals = [get_aval(x) for x in guess_flat]
    what = "custom_root"
    f_j, f_c, f_tree = _trace(f, in_tree, avals, what)
    _check_tree("f", "initial_guess", f_tree, tree)

    def solve_fn(x):
        return solve(f, x)

    s_j, s_c, solution_tree = _trace(solve_fn, in_tree, avals, what)
    _check_tree("solve", "initial_guess", solution_tree, tree, has_aux)

    known, unknown, n_out = _linearized(f_j, len(f_c))
    t_avals = [ad.tangent_aval(a) for a in avals]

    def f_jvp(residuals):
        def g(t):
            t_flat, t_tree = tree_util.tree_flatten(t)
            if t_tree != tree:
                raise TypeError(
                    "custom_root: the linearized f takes a pytree like initial_guess, "
                    f"got {t_tree} and {tree}"
                )
            t_flat = [_as_tangent(v, a) for v, a in zip(t_flat, t_avals)]
            return tree_util.tree_unflatten(tree, _run(unknown, *residuals, *t_flat))

        return g

    def linearize_and_solve(x, b):
        x_flat = tree_util.tree_leaves(x)
        residuals = _run(known, *f_c, *x_flat)[n_out:]
        return tangent_solve(f_jvp(residuals), b)

    pair_tree = tree_util.tree_structure((initial_guess, initial_guess))
    ls_j, ls_c, ls_tree = _trace(linearize_and_solve, pair_tree, avals * 2, what)
    _check_tree("tangent_solve", "x", ls_tree, tree)

    all_consts = [f_c, s_c, ls_c]
    outs = custom_root_p.bind(
        *_flatten(all_consts),
        *guess_flat,
        const_lengths=_RootTuple(*map(len, all_consts)),
        jaxprs=_RootTuple(f_j, s_j, ls_j),
    )
    return tree_util.tree_unflatten(solution_tree, lowering.as_jax_arrays(outs))


def _as_tangent(v, aval):
    """A tangent the user gave (``g(1.0)``) in the dtype of the value it perturbs."""
    v_aval = get_aval(v)
    if v_aval.dtype != aval.dtype or (v_aval.weak_type and not aval.weak_type):
        return base.convert_element_type(v, aval.dtype)
    return v
