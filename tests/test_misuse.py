"""Misuse answered as JAX answers it: the same error class (ours also subclasses
JAX's where JAX has its own), or the same value where JAX computes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax._src.errors import MinigradError


def lax_of(lib):
    return jax.lax if lib is jax else mg.lax


CASES = {
    "int8*2**40": lambda L, N: N.ones(3, N.int8) * 2**40,
    "uint8-1": lambda L, N: N.ones(3, N.uint8) - 1,
    "uint8+(-1)": lambda L, N: N.ones(3, N.uint8) + (-1),
    "int8+1000": lambda L, N: N.ones(3, N.int8) + 1000,
    "int32*2**31": lambda L, N: N.ones(3, N.int32) * 2**31,
    "float16*1e6": lambda L, N: N.ones(3, N.float16) * 1e6,
    "grad int input": lambda L, N: L.grad(lambda x: x * 2)(3),
    "grad nonscalar": lambda L, N: L.grad(lambda x: x * 2)(N.ones(3)),
    "grad argnums str": lambda L, N: L.grad(lambda x: x, argnums="0")(1.0),
    "grad argnums oob": lambda L, N: L.grad(lambda x: x, argnums=3)(1.0),
    "grad has_aux bad": lambda L, N: L.grad(lambda x: x, has_aux=True)(1.0),
    "vmap size mismatch": lambda L, N: L.vmap(lambda x, y: x + y)(N.ones(3), N.ones(4)),
    "vmap axis oob": lambda L, N: L.vmap(lambda x: x, in_axes=2)(N.ones(3)),
    "vmap scalar": lambda L, N: L.vmap(lambda x: x)(1.0),
    "vmap in_axes len": lambda L, N: L.vmap(lambda x, y: x, in_axes=(0,))(N.ones(3), N.ones(3)),
    "jit static oob": lambda L, N: L.jit(lambda x: x, static_argnums=3)(1.0),
    "jit string arg": lambda L, N: L.jit(lambda x: x)("a"),
    "jvp mismatched": lambda L, N: L.jvp(lambda x: x, (1.0,), (N.ones(3),)),
    "jvp dtype": lambda L, N: L.jvp(lambda x: x, (1.0,), (1,)),
    "jvp list": lambda L, N: L.jvp(lambda x: x, [1.0], [1.0]),
    "matmul shapes": lambda L, N: N.ones((2, 3)) @ N.ones((2, 3)),
    "add shapes": lambda L, N: N.ones(2) + N.ones(3),
    "concat ndim": lambda L, N: N.concatenate([N.ones(2), N.ones((2, 2))]),
    "sum axis oob": lambda L, N: N.sum(N.ones(2), axis=3),
    "index oob static": lambda L, N: N.ones(3)[5],
    "index float": lambda L, N: N.ones(3)[1.0],
    "index too many": lambda L, N: N.ones(3)[0, 0],
    "at float idx": lambda L, N: N.ones(3).at[1.0].set(2.0),
    "reshape -1 -1": lambda L, N: N.ones(6).reshape(-1, -1),
    "astype bad": lambda L, N: N.ones(3).astype("foo"),
    "zeros neg": lambda L, N: N.zeros(-1),
    "cond pred shape": lambda L, N: lax_of(L).cond(N.ones(2) > 0, lambda: 1.0, lambda: 2.0),
    "cond branch types": lambda L, N: lax_of(L).cond(True, lambda: 1.0, lambda: N.ones(2)),
    "scan carry change": lambda L, N: lax_of(L).scan(
        lambda c, x: (c * N.ones(2), x), 1.0, N.ones(3)
    ),
    "while cond nonbool": lambda L, N: lax_of(L).while_loop(lambda c: c, lambda c: c - 1.0, 3.0),
    "fori body dtype": lambda L, N: lax_of(L).fori_loop(0, 3, lambda i, c: c * 1.5, 1),
    "transpose perm": lambda L, N: N.transpose(N.ones((2, 3)), (0, 0)),
    "dot_general bad": lambda L, N: lax_of(L).dot_general(
        N.ones((2, 3)), N.ones((2, 3)), (((1,), (1,)), ((0,), (1,)))
    ),
    "split uneven": lambda L, N: N.split(N.ones(5), 2),
    "broadcast_to bad": lambda L, N: N.broadcast_to(N.ones(3), (2, 2)),
    "mean int axis tuple dup": lambda L, N: N.mean(N.ones((2, 2)), axis=(0, 0)),
    "squeeze non1": lambda L, N: N.squeeze(N.ones((2, 3)), axis=0),
    "expand dup": lambda L, N: N.expand_dims(N.ones(2), (0, 0)),
    "moveaxis oob": lambda L, N: N.moveaxis(N.ones(2), 0, 3),
    "take bad mode": lambda L, N: N.take(N.ones(3), 1, mode="foo"),
    "grad of list output": lambda L, N: L.grad(lambda x: [x])(1.0),
    "vjp wrong ct shape": lambda L, N: L.vjp(lambda x: x * 2, N.ones(3))[1](N.ones(2)),
    "vjp wrong ct dtype": lambda L, N: L.vjp(lambda x: x * 2, N.ones(3))[1](N.ones(3, N.int32)),
    "jacfwd int": lambda L, N: L.jacfwd(lambda x: x)(1),
    "hessian nonscalar": lambda L, N: L.hessian(lambda x: x)(N.ones(2)),
    "bool of array": lambda L, N: bool(N.ones(3)),
    "len scalar": lambda L, N: len(N.ones(())),
    "iter scalar": lambda L, N: list(N.ones(())),
    "jit bool traced": lambda L, N: L.jit(lambda x: 1 if x > 0 else 2)(1.0),
    "grad bool traced": lambda L, N: L.grad(lambda x: x if x > 0 else -x)(1.0),
    "vmap bool traced": lambda L, N: L.vmap(lambda x: x if x > 0 else -x)(N.ones(2)),
    "jit reshape traced": lambda L, N: L.jit(lambda x, n: x.reshape(n))(N.ones(4), 4),
    "jit arange traced": lambda L, N: L.jit(lambda n: N.arange(n))(3),
    "jit zeros traced": lambda L, N: L.jit(lambda n: N.zeros(n))(3),
    "vmap out_axes bad": lambda L, N: L.vmap(lambda x: x, out_axes=3)(N.ones(2)),
    "vmap out_axes none mapped": lambda L, N: L.vmap(lambda x: x, out_axes=None)(N.ones(2)),
    "dup argnums": lambda L, N: L.grad(lambda x, y: x * y, argnums=(0, 0))(1.0, 2.0),
    "dup argnums jacfwd": lambda L, N: L.jacfwd(lambda x, y: x * y, argnums=(0, 0))(1.0, 2.0),
    "vmap kwargs": lambda L, N: L.vmap(lambda x, y: x * y)(N.ones(3), y=N.arange(3.0)),
    "fori array bounds grad": lambda L, N: L.grad(
        lambda x, n: lax_of(L).fori_loop(0, n, lambda i, c: c * x, 1.0)
    )(2.0, N.array(3)),
    "fori unequal bound types": lambda L, N: lax_of(L).fori_loop(
        N.array(0, N.int16), N.array(3, N.int8), lambda i, c: c, 1.0
    ),
    "unhashable static": lambda L, N: L.jit(lambda x, s: x, static_argnums=1)(1.0, [1]),
    "unhashable static name": lambda L, N: L.jit(lambda x, s: x, static_argnames="s")(1.0, s=[1]),
    "reshape size": lambda L, N: N.reshape(N.ones(6), (4, 2)),
    "jvp int output": lambda L, N: L.jvp(lambda x: (x * 2).astype(N.int32), (1.0,), (1.0,)),
    "int8*300": lambda L, N: N.ones(3, N.int8) * 300,
    "jit int8+300": lambda L, N: L.jit(lambda x: x + 300)(N.ones(3, N.int8)),
    "jit uint8-1": lambda L, N: L.jit(lambda x: x - 1)(N.ones(3, N.uint8)),
    "jit float*2**31": lambda L, N: L.jit(lambda x: x * 2**31)(N.ones(3)),
    "vmap int32*2**31": lambda L, N: L.vmap(lambda x: x * 2**31)(N.ones(3, N.int32)),
    "grad float*2**40": lambda L, N: L.grad(lambda x: x * 2**40)(1.0),
}


def _run(case, lib):
    try:
        return CASES[case](lib, jnp if lib is jax else mnp), None
    except Exception as e:  # noqa: BLE001  (the error is what we compare)
        return None, e


@pytest.mark.parametrize("case", CASES)
def test_misuse_answered_as_jax(case):
    theirs, their_err = _run(case, jax)
    ours, our_err = _run(case, mg)
    if their_err is not None:
        assert our_err is not None, f"JAX raises {type(their_err).__name__}: {their_err}"
        assert isinstance(our_err, type(their_err)), (our_err, their_err)
        # ours is deliberate: typed, and never one of Python's internal-bug classes
        assert isinstance(our_err, MinigradError) or type(our_err) in (
            TypeError,
            ValueError,
            IndexError,
            OverflowError,  # JAX's for a Python int outside the default integer type
            np.exceptions.AxisError,
        ), repr(our_err)
        return
    assert our_err is None, f"JAX computes {theirs!r}; we raise {our_err!r}"
    o_leaves, o_tree = jax.tree_util.tree_flatten(ours)
    t_leaves, t_tree = jax.tree_util.tree_flatten(theirs)
    assert o_tree == t_tree
    for a, b in zip(o_leaves, t_leaves):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape
        if a.dtype.kind != "V":
            np.testing.assert_allclose(a, b, rtol=1e-6)


def test_scatter_mul_gradient_with_repeated_indices_matches_finite_differences():
    # JAX refuses (NotImplementedError unless unique_indices=True); ours is exact,
    # so we keep it and check it against central differences instead.
    x = np.array([1.0, 2.0, 3.0], np.float32)

    def f(x):
        return mnp.sum(mnp.sin(mnp.asarray(x).at[np.array([0, 0, 2])].multiply(2.0 * x)))

    eps = np.float32(1e-2)
    basis = np.eye(3, dtype=np.float32)
    fd = [(f(x + eps * basis[i]) - f(x - eps * basis[i])) / (2 * eps) for i in range(3)]
    np.testing.assert_allclose(mg.grad(f)(x), np.array(fd), rtol=5e-3)
