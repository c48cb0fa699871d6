"""minigrad_jax.numpy and nn functions under mg.vmap, against jax.vmap and a Python loop.

Each case maps its first array argument (at axis 0, 1 or -1, rotating) and leaves the
others unmapped; binary array pairs are mapped on both sides. All cases run in one
mg.jit and one jax.jit program, because XLA compilation dominates the time.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.nn as mnn
import minigrad_jax.numpy as mnp
from tests.test_nn import ACTIVATIONS
from tests.test_numpy import BINARY, PAIRS, REDUCTIONS, SHAPES, UNARY

SIZE = 3


def _stack(a, axis):
    """A batch of SIZE different arrays of a's shape and dtype, stacked at ``axis``."""
    a = jnp.asarray(a)
    flat = a.ravel()
    variants = [a, jnp.roll(flat, 1).reshape(a.shape), jnp.roll(flat, 2).reshape(a.shape)]
    return jnp.stack(variants, axis=axis % (a.ndim + 1))


def _cases():
    cases = [(mnp, name, (x,), {}) for name, x in UNARY]
    for name in BINARY:
        for key in ("f32,f32", "f32,pyint"):
            cases.append((mnp, name, PAIRS[key], {}))
    cases += [(mnp, name, args, kw) for name, args, kw in REDUCTIONS + SHAPES]
    x = UNARY[0][1]
    cases += [(mnn, name, (x,), kw) for name, kw in ACTIVATIONS]
    return cases


def _mapped(case, k):
    """(function of the mapped args, batched args, in_axes) for case number k."""
    mod, name, args, kw = case
    arrays = [i for i, a in enumerate(args) if isinstance(a, jax.Array)]
    mapped = arrays if len(arrays) == 2 and mod is mnp and name in BINARY else arrays[:1]
    axis = (0, -1, 1)[k % 3] if all(jnp.ndim(args[i]) for i in mapped) else 0

    def bind(module):
        fn = getattr(module, name)

        def f(*m):
            full = list(args)
            for i, v in zip(mapped, m):
                full[i] = v
            return fn(*full, **kw)

        return f

    batched = [_stack(args[i], axis) for i in mapped]
    return bind, batched, axis


CASES = [c for c in _cases() if any(isinstance(a, jax.Array) for a in c[2])]


def test_numpy_and_nn_functions_under_vmap():
    prepared = [_mapped(c, k) for k, c in enumerate(CASES)]
    jnn = {mnp: jnp, mnn: jax.nn}

    def run(vmap, pick):
        return [
            vmap(bind(pick(CASES[k][0])), in_axes=axis)(*batched)
            for k, (bind, batched, axis) in enumerate(prepared)
        ]

    ours = mg.jit(lambda: run(mg.vmap, lambda m: m))()
    theirs = jax.jit(lambda: run(jax.vmap, lambda m: jnn[m]))()
    failures = []
    for k, (case, o, t) in enumerate(zip(CASES, ours, theirs)):
        what = f"{case[0].__name__}.{case[1]}{case[3] or ''} #{k}"
        try:
            for a, b in zip(jax.tree_util.tree_leaves(o), jax.tree_util.tree_leaves(t)):
                _close(a, b, what)
        except AssertionError as e:
            failures.append(str(e))
    assert not failures, f"{len(failures)} failing case(s):\n" + "\n".join(failures)


@pytest.mark.parametrize("k", range(0, len(CASES), 9))
def test_vmap_equals_a_python_loop(k):
    bind, batched, axis = _mapped(CASES[k], k)
    ours = mg.vmap(bind(CASES[k][0]), in_axes=axis)(*batched)
    outs = [bind(CASES[k][0])(*[jnp.take(b, i, axis=axis) for b in batched]) for i in range(SIZE)]
    loop = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *outs)
    jax.tree_util.tree_map(lambda a, b: _close(a, b, f"{CASES[k][1]} loop"), ours, loop)


def _close(a, b, what):
    a, b = np.asarray(a), np.asarray(b)
    got, want = (a.dtype, a.shape), (b.dtype, b.shape)
    assert got == want, f"{what}: {got} vs {want}"
    tol = 1e-2 if a.dtype == np.float16 else 2e-5
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=what)
